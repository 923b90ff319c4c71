//! What every account measured on one day shares, worked out once for all of them: the
//! periods' first days and each scorecard's weights. Measuring is then arithmetic on the
//! account's columns.

use super::{numbers_with, AccountInput, Measurement, ScoreNumbers};
use crate::config::ScoringConfig;
use crate::decline;
use crate::facts::{self, AccountFacts, LifecycleStage};
use crate::outlook;
use crate::peers::PeerBenchmarks;
use crate::scorecard::{self, CardWeights};
use crate::signals::{self, Measured, Signal, SIGNAL_COUNT};
use crate::tally::{self, Periods, Spans};
use crate::window::{UsageWindow, USAGE_ROW};
use chrono::{Datelike, NaiveDate};

/// How many accounts [`DayPlan::measure_batch`] warms at a time, one group ahead: enough
/// reads to keep many loads in flight together, few enough to stay in cache until used.
const WARM_GROUP: usize = 8;

/// One scoring day under one configuration.
#[derive(Debug, Clone)]
pub struct DayPlan<'c> {
    config: &'c ScoringConfig,
    periods: Periods,
    /// By scorecard index.
    weights: Vec<CardWeights>,
    /// The lengths of the tier names the configuration matches on (scorecards, tier points),
    /// as bits (the last bit for 63 bytes and longer). Tiers compare by length first, so an
    /// account's tier is only read when its length is among these.
    tier_lengths: u64,
}

/// The bit of [`DayPlan::tier_lengths`] for a tier name of `len` bytes.
fn tier_length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

impl<'c> DayPlan<'c> {
    pub fn new(config: &'c ScoringConfig, as_of: NaiveDate) -> DayPlan<'c> {
        let spans = Spans {
            lookback: config.lookback_days,
            short: config.decline.short_days,
            long: config.decline.long_days,
        };
        DayPlan {
            config,
            periods: Periods::new(as_of, spans),
            weights: config
                .scorecards
                .iter()
                .map(|c| CardWeights::of(Some(c)))
                .collect(),
            tier_lengths: config
                .scorecards
                .iter()
                .flat_map(|c| &c.when.tiers)
                .chain(config.contract.tier_points.keys())
                .fold(0, |bits, tier| bits | tier_length_bit(tier.len())),
        }
    }

    pub fn as_of(&self) -> NaiveDate {
        self.periods.as_of
    }

    /// [`crate::measure`] of each account, in order.
    pub fn measure_batch(&self, accounts: &[AccountInput<'_>]) -> Vec<Measurement> {
        let mut measured = Vec::with_capacity(accounts.len());
        self.measure_each(accounts, |_, m| measured.push(*m));
        measured
    }

    /// Measures each account in order and hands `visit` its index and measurement.
    ///
    /// The accounts' windows are usually not in cache, and each sits behind pointers, so on
    /// its own every account would wait on memory several times in a row. Safe Rust has no
    /// prefetch instruction; instead, every [`WARM_GROUP`] accounts this reads one word of
    /// each cache line the next group will need (`DayPlan::warm`). Those reads are
    /// independent, so they wait on memory together, once per group, instead of one after
    /// another.
    pub fn measure_each(
        &self,
        accounts: &[AccountInput<'_>],
        mut visit: impl FnMut(usize, &Measurement),
    ) {
        let mut warmed = self.warm_group(accounts);
        for (i, a) in accounts.iter().enumerate() {
            if i % WARM_GROUP == 0 {
                let next = accounts.get(i + WARM_GROUP..).unwrap_or_default();
                warmed = warmed.wrapping_add(self.warm_group(next));
            }
            visit(i, &self.measure(a.facts, a.window));
        }
        // Keeps the warming reads from being optimised away.
        std::hint::black_box(warmed);
    }

    fn warm_group(&self, accounts: &[AccountInput<'_>]) -> u32 {
        accounts
            .iter()
            .take(WARM_GROUP)
            .fold(0, |sum, a| sum.wrapping_add(self.warm(a)))
    }

    /// One word from each cache line of `a` that [`DayPlan::measure`] probably reads, summed
    /// ([`warm_window`]); the tier when the scorecards or tier points may compare its bytes.
    fn warm(&self, a: &AccountInput<'_>) -> u32 {
        let sum = warm_window(a, &self.periods);
        match a.facts.tier_or_plan() {
            Some(tier) if self.tier_lengths & tier_length_bit(tier.len()) != 0 => {
                sum.wrapping_add(u32::from(tier.bytes().next().unwrap_or(0)))
            }
            _ => sum,
        }
    }

    /// First pass: measures every signal and the decline rule for one account.
    pub fn measure(&self, facts: &AccountFacts, window: &UsageWindow) -> Measurement {
        let config = self.config;
        let as_of = self.periods.as_of;
        let lookback = self.periods.lookback;
        let active_users = signals::active_users(window, lookback);
        let usage = tally::tally_periods(&window.days, &self.periods);
        let first_active = window
            .first_active
            .or_else(|| window.days.first_date())
            .filter(|d| *d <= as_of);
        let has_history = first_active.is_some();
        let start = facts::account_start(facts, first_active);
        let stage = facts::lifecycle_stage(start, as_of, config.onboarding.days);
        // An account that started within the look-back is judged on the days it has had: one
        // busy first day is not a month of one active day in thirty.
        let observed_days = start
            .and_then(|s| u32::try_from((as_of - s).num_days() + 1).ok())
            .filter(|d| *d > 0)
            .map_or(config.lookback_days, |d| d.min(config.lookback_days));
        let decline = if stage == LifecycleStage::Onboarding {
            decline::against_benchmark(
                &usage,
                &config.decline,
                &config.onboarding,
                start,
                facts.seats(),
                as_of,
            )
        } else {
            decline::against_own_history(&usage, &config.decline, first_active, as_of)
        };
        let seats = signals::seat_basis(facts, active_users);
        let engaged = tally::tally_engagement(&window.signal_days, as_of, config.engagement.days);
        let engagement_seen = window.engagement_since.is_some_and(|d| d <= as_of);
        let invoices_known = window.invoices_since.is_some_and(|d| d <= as_of);
        let overdue = signals::overdue_invoices(facts, &engaged, invoices_known);
        let days_to_renewal = facts.renewal_date.map(|r| (r - as_of).num_days());
        let days_since_champion = signals::days_since_champion(facts, window, as_of);

        let mut measured = [Measured::MISSING; SIGNAL_COUNT];
        measured[Signal::UsageDepth.index()] =
            signals::usage_depth(&usage, &config.targets, seats, observed_days, has_history);
        measured[Signal::Breadth.index()] = signals::breadth(config, window, lookback, has_history);
        measured[Signal::SeatAdoption.index()] =
            signals::seat_adoption(facts, active_users, &config.targets, has_history);
        measured[Signal::Trend.index()] = signals::trend(decline.ratio, &config.targets);
        measured[Signal::Engagement.index()] =
            signals::engagement(&engaged, &config.engagement, engagement_seen);
        measured[Signal::Sentiment.index()] =
            signals::sentiment(window, as_of, config.sentiment_days);
        measured[Signal::Contract.index()] =
            signals::contract(facts, &config.contract, days_to_renewal, overdue);
        measured[Signal::ChampionActivity.index()] =
            signals::champion_activity(facts, &config.champion, days_since_champion);

        Measurement {
            as_of,
            stage,
            start,
            scorecard: scorecard::choose_scorecard(config, facts, stage).unwrap_or(0),
            signals: measured,
            decline,
            usage,
            active_users,
            days_to_renewal,
            time_to_value_days: outlook::time_to_value(
                start,
                window.first_value_on.filter(|d| *d <= as_of),
            ),
            nps: signals::net_promoter_score(window, as_of, config.sentiment_days),
            days_since_champion,
            overdue_invoices: overdue,
        }
    }

    /// Second pass, numbers only: [`crate::score_numbers`] with the weights read out once.
    pub fn score_numbers(&self, m: &Measurement, peers: Option<&PeerBenchmarks>) -> ScoreNumbers {
        match self.weights.get(m.scorecard) {
            Some(weights) => numbers_with(self.config, weights, m, peers),
            None => numbers_with(self.config, &CardWeights::of(None), m, peers),
        }
    }
}

/// One word from each cache line of `a`'s window that [`DayPlan::measure`] probably reads,
/// summed: the days where the periods start and end (where a window active through the
/// scoring day has them, and the few days after, for quiet days), and the user and feature
/// days when their recent counts do not cover the look-back.
fn warm_window(a: &AccountInput<'_>, periods: &Periods) -> u32 {
    const PER_LINE: usize = 64 / std::mem::size_of::<u32>();
    let days = &a.window.days;
    let (numbers, users, usage) = (days.day_numbers(), days.users_totals(), days.usage_totals());
    let at = |column: &[u32], i: usize| column.get(i).copied().unwrap_or(0);
    let n = days.len();
    let last = n.saturating_sub(1);
    let mut sum = at(numbers, last).wrapping_add(at(users, last));
    sum = sum.wrapping_add(at(usage, USAGE_ROW * last));
    let [lookback, short, decline] = periods.spans_in_days();
    for span in [lookback, short, decline] {
        // The day a period starts on in a window active every day, the total before it,
        // and the days a quiet stretch moves it by.
        let first = n.saturating_sub(span);
        for i in [first.saturating_sub(1), first + tally::GAP_WALK] {
            sum = sum.wrapping_add(at(numbers, i)).wrapping_add(at(users, i));
        }
    }
    let first = n.saturating_sub(lookback);
    let rows = USAGE_ROW * first.saturating_sub(1)..USAGE_ROW * (first + tally::GAP_WALK + 1);
    for i in rows.step_by(PER_LINE) {
        sum = sum.wrapping_add(at(usage, i));
    }
    for seen in [&a.window.users_last_active, &a.window.features_last_used] {
        if seen.counts_cover(&periods.lookback) {
            // Counted from the counts that come with the window: the days are not read.
            continue;
        }
        // A date is four bytes.
        for d in seen.days().iter().step_by(PER_LINE) {
            sum = sum.wrapping_add(d.ordinal0());
        }
    }
    sum
}

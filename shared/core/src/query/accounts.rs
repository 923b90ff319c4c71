//! Account rows for lists (the accounts endpoint, the dashboard's at-risk and expansion lists):
//! the filters, the sort orders, and the one-line reason an account needs attention.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use vitals_scoring::{DeclineSeverity, RiskLevel};

use crate::lifecycle::{record_state, AccountState, Lifecycle};
use crate::model::{AccountRecord, Band, ProvisionalScore};

/// One account in a list. Also what the daily run stores per account in a segment's listing
/// ([`crate::model::SegmentListing`]); `days_to_renewal` is brought up to date when read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRow {
    pub account_id: String,
    pub name: Option<String>,
    pub owner: Option<String>,
    pub tier: Option<String>,
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_line: Option<String>,
    pub mrr: Option<f64>,
    /// Absent until the account has been scored once.
    pub score: Option<f64>,
    pub band: Option<Band>,
    pub confidence: Option<f64>,
    /// Score change since the previous run.
    pub change: Option<f64>,
    /// Score change over the last 7 and 30 days (from the account's score trail, at scoring
    /// time); absent when the account has no score that old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_7d: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_30d: Option<f64>,
    pub decline: Option<DeclineSeverity>,
    pub renewal_date: Option<NaiveDate>,
    pub days_to_renewal: Option<i64>,
    pub renewal_risk: Option<RiskLevel>,
    /// Probability of churning within the churn model's horizon, from the model the listing's
    /// run had (absent before a model is fitted, and for an account that is not active).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churn_risk: Option<f64>,
    pub expansion: bool,
    /// Why the account is where it is, in a sentence (decline, what changed, weakest signal).
    pub reason: String,
    pub as_of: Option<NaiveDate>,
    /// Active, churned or not started on the listing's day. A row that is not active has no
    /// band, decline, renewal or expansion: its score is the last one, frozen.
    #[serde(default, skip_serializing_if = "Lifecycle::is_active")]
    pub lifecycle: Lifecycle,
    /// The churn day of a churned account (its `mrr` is the last MRR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churned_on: Option<NaiveDate>,
    /// A "today so far" score newer than `as_of`, when events arrived since the last daily
    /// run. Filters and sorts use the daily values above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisional: Option<ProvisionalRow>,
}

/// A list row's provisional score (the row's `provisional`): a day that has not ended, scored
/// so far, with when it was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvisionalRow {
    /// The UTC day it covers so far.
    pub day: NaiveDate,
    pub computed_at: DateTime<Utc>,
    pub score: f64,
    pub band: Band,
    /// Change since the last daily score.
    pub change: Option<f64>,
}

impl From<&ProvisionalScore> for ProvisionalRow {
    fn from(p: &ProvisionalScore) -> Self {
        ProvisionalRow {
            day: p.day,
            computed_at: p.computed_at,
            score: p.score.health.score,
            band: p.score.health.band,
            change: p.score.change.as_ref().map(|c| c.delta),
        }
    }
}

impl AccountRow {
    pub fn from_record(record: &AccountRecord, today: NaiveDate) -> Self {
        let p = &record.profile;
        let state = record_state(record, today);
        let active = state.is_active();
        let churned_on = match state {
            AccountState::Churned { on, .. } => Some(on),
            _ => None,
        };
        let s = record.score.as_ref().map(|s| &s.score);
        // What only an active account has: a band, a decline, a renewal ahead, expansion.
        let live = s.filter(|_| active);
        AccountRow {
            account_id: record.account_id.to_string(),
            name: p.name.clone(),
            owner: p.owner.clone(),
            tier: p.tier.clone().or_else(|| p.plan.clone()),
            region: p.region.clone(),
            product_line: p.product_line.clone(),
            mrr: p.mrr,
            score: s.map(|s| s.health.score),
            band: live.map(|s| s.health.band),
            confidence: s.map(|s| s.health.confidence),
            change: live.and_then(|s| s.change.as_ref()).map(|c| c.delta),
            change_7d: live.and_then(|_| change_over(record, 7)),
            change_30d: live.and_then(|_| change_over(record, 30)),
            decline: live.and_then(|s| s.decline.severity()),
            renewal_date: p.renewal_date.filter(|_| active),
            days_to_renewal: p
                .renewal_date
                .filter(|_| active)
                .map(|d| (d - today).num_days()),
            renewal_risk: live.and_then(|s| s.renewal).map(|r| r.level),
            churn_risk: None,
            expansion: live.is_some_and(|s| s.expansion.candidate),
            reason: match state {
                AccountState::Active => reason(record),
                other => lifecycle_reason(&other),
            },
            as_of: record.score.as_ref().map(|s| s.as_of),
            lifecycle: Lifecycle::from(&state),
            churned_on,
            provisional: record
                .current_provisional()
                .filter(|_| active)
                .map(ProvisionalRow::from),
        }
    }

    /// The row as seen on `today` (a stored row's days to renewal count from its run's day).
    pub fn on(mut self, today: NaiveDate) -> Self {
        self.days_to_renewal = self.renewal_date.map(|d| (d - today).num_days());
        self
    }
}

/// The score's change over `days` days: today's score against the trail's score of that day
/// (or the latest one before it, when the account was not scored that day).
fn change_over(record: &AccountRecord, days: u64) -> Option<f64> {
    let scored = record.score.as_ref()?;
    let then = scored.as_of.checked_sub_days(chrono::Days::new(days))?;
    let old = record.trail.points().iter().rev().find(|p| p.day <= then)?;
    // Trail scores are whole points; so is the change.
    Some((scored.score.health.score - f64::from(old.score)).round())
}

/// The sentence of an account that is not active: when it churned and what it paid, or that it
/// has not started yet.
pub fn lifecycle_reason(state: &AccountState) -> String {
    match state {
        AccountState::Churned { on, last_mrr } => match last_mrr {
            Some(mrr) => format!("churned on {on} (last MRR {mrr:.0})"),
            None => format!("churned on {on}"),
        },
        AccountState::NotStarted => "not started yet".into(),
        AccountState::Active => String::new(),
    }
}

/// Why the account stands where it does: a decline first (seed 002's rule), then what changed
/// since the previous run, then expansion reasons, then its weakest signal.
pub fn reason(record: &AccountRecord) -> String {
    let Some(scored) = record.score.as_ref().map(|s| &s.score) else {
        return "not scored yet".into();
    };
    if let (Some(severity), Some(ratio)) = (scored.decline.severity(), scored.decline.ratio) {
        let word = match severity {
            DeclineSeverity::Severe => "severe",
            DeclineSeverity::Moderate => "moderate",
        };
        return format!(
            "{word} usage decline: 14-day activity at {:.0}% of its 90-day average",
            ratio * 100.0
        );
    }
    if scored.expansion.candidate {
        let reasons: Vec<String> = scored
            .expansion
            .reasons
            .iter()
            .map(|r| r.describe())
            .collect();
        return format!("expansion signal: {}", reasons.join(", "));
    }
    if let Some(change) = scored.change.as_ref().filter(|c| c.delta.abs() >= 1.0) {
        return change.sentence();
    }
    let weakest = scored
        .health
        .signals
        .iter()
        .filter_map(|s| s.value.map(|v| (s, v)))
        .filter(|(s, _)| s.weight > 0.0)
        .min_by(|a, b| a.1.total_cmp(&b.1));
    match weakest {
        Some((signal, value)) => format!(
            "weakest signal: {} at {value:.0}/100",
            vitals_scoring::labels::label(&signal.name)
        ),
        None => format!("score {:.0}", scored.health.score),
    }
}

/// Which declines to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineFilter {
    /// Any decline (moderate or severe).
    Any,
    Moderate,
    Severe,
    /// Not declining.
    None,
}

impl DeclineFilter {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "any" => Some(DeclineFilter::Any),
            "moderate" => Some(DeclineFilter::Moderate),
            "severe" => Some(DeclineFilter::Severe),
            "none" => Some(DeclineFilter::None),
            _ => None,
        }
    }
}

/// Filters of the account list; every one set must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountFilter {
    pub band: Option<Band>,
    /// Owner email, case-insensitive.
    pub owner: Option<String>,
    /// Tier (or plan when no tier), case-insensitive.
    pub tier: Option<String>,
    pub region: Option<String>,
    /// Product line, case-insensitive.
    pub product_line: Option<String>,
    /// Words that must all appear in the account's name or id, case-insensitive.
    pub search: Option<String>,
    /// Renewal date within this many days from today (lapsed renewals included).
    pub renewal_within_days: Option<i64>,
    pub decline: Option<DeclineFilter>,
    pub expansion: Option<bool>,
    /// Which lifecycle states to list; `None` lists active accounts only (churned accounts and
    /// those not started yet are asked for by name).
    pub lifecycle: Option<LifecycleFilter>,
}

/// Which accounts to list by lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleFilter {
    Only(Lifecycle),
    All,
}

impl LifecycleFilter {
    pub const NAMES: [&'static str; 4] = ["active", "churned", "not_started", "all"];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "all" => Some(LifecycleFilter::All),
            other => Lifecycle::parse(other).map(LifecycleFilter::Only),
        }
    }

    fn admits(self, lifecycle: Lifecycle) -> bool {
        match self {
            LifecycleFilter::All => true,
            LifecycleFilter::Only(want) => want == lifecycle,
        }
    }
}

impl AccountFilter {
    pub fn matches(&self, row: &AccountRow) -> bool {
        self.matches_with(row, row.days_to_renewal)
    }

    /// [`AccountFilter::matches`] for the row as of `today` (what [`AccountRow::on`] would
    /// give), without copying it.
    pub fn matches_on(&self, row: &AccountRow, today: NaiveDate) -> bool {
        self.matches_with(row, row.renewal_date.map(|d| (d - today).num_days()))
    }

    fn matches_with(&self, row: &AccountRow, days_to_renewal: Option<i64>) -> bool {
        let text = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        let tested = Tested {
            lifecycle: row.lifecycle,
            band: row.band,
            decline: row.decline,
            expansion: row.expansion,
            days_to_renewal,
        };
        self.matches_tested(&tested)
            && text(&self.owner, &row.owner)
            && text(&self.tier, &row.tier)
            && text(&self.region, &row.region)
            && text(&self.product_line, &row.product_line)
            && self.search.as_ref().is_none_or(|s| search_matches(s, row))
    }

    /// The filters on a row's states and dates (all but the text ones: owner, tier, region,
    /// product line, search), which a kept listing also tests from packed facts.
    pub(crate) fn matches_tested(&self, row: &Tested) -> bool {
        let lifecycle = self
            .lifecycle
            .unwrap_or(LifecycleFilter::Only(Lifecycle::Active));
        if !lifecycle.admits(row.lifecycle) {
            return false;
        }
        // A churned (or not started) account is never listed by band: never "at risk".
        if self.band.is_some() && (row.band != self.band || !row.lifecycle.is_active()) {
            return false;
        }
        if let Some(days) = self.renewal_within_days {
            if row.days_to_renewal.is_none_or(|d| d > days) {
                return false;
            }
        }
        if let Some(decline) = self.decline {
            let ok = match decline {
                DeclineFilter::Any => row.decline.is_some(),
                DeclineFilter::Moderate => row.decline == Some(DeclineSeverity::Moderate),
                DeclineFilter::Severe => row.decline == Some(DeclineSeverity::Severe),
                DeclineFilter::None => row.decline.is_none(),
            };
            if !ok {
                return false;
            }
        }
        self.expansion.is_none_or(|e| row.expansion == e)
    }
}

/// What [`AccountFilter::matches_tested`] reads of a row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tested {
    pub lifecycle: Lifecycle,
    pub band: Option<Band>,
    pub decline: Option<DeclineSeverity>,
    pub expansion: bool,
    pub days_to_renewal: Option<i64>,
}

/// Whether every word of `search` is in the row's name or id (case-insensitive).
fn search_matches(search: &str, row: &AccountRow) -> bool {
    let haystack =
        format!("{} {}", row.name.as_deref().unwrap_or(""), row.account_id).to_lowercase();
    search
        .split_whitespace()
        .all(|word| haystack.contains(&word.to_lowercase()))
}

fn risk_rank(row: &AccountRow) -> Option<u8> {
    row.renewal_risk.map(|r| match r {
        RiskLevel::Low => 0,
        RiskLevel::Medium => 1,
        RiskLevel::High => 2,
    })
}

/// Sort orders of the account list. Ties break by account id, so pages are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccountSort {
    /// Lowest score first (worst first): the default, what a CSM looks at each morning.
    #[default]
    ScoreAsc,
    ScoreDesc,
    /// Biggest drop since the previous run first.
    Change,
    /// Biggest drop over 7 days first.
    Change7d,
    /// Biggest drop over 30 days first.
    Change30d,
    /// Highest churn risk (the churn model's probability) first, then highest renewal risk.
    Risk,
    /// Soonest renewal first.
    Renewal,
    /// Highest MRR first.
    Mrr,
    Name,
    AccountId,
}

impl AccountSort {
    pub const NAMES: [&'static str; 10] = [
        "score",
        "-score",
        "change",
        "change_7d",
        "change_30d",
        "risk",
        "renewal",
        "-mrr",
        "name",
        "account_id",
    ];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "score" => Some(AccountSort::ScoreAsc),
            "-score" => Some(AccountSort::ScoreDesc),
            "change" => Some(AccountSort::Change),
            "change_7d" => Some(AccountSort::Change7d),
            "change_30d" => Some(AccountSort::Change30d),
            "risk" => Some(AccountSort::Risk),
            "renewal" => Some(AccountSort::Renewal),
            "-mrr" => Some(AccountSort::Mrr),
            "name" => Some(AccountSort::Name),
            "account_id" => Some(AccountSort::AccountId),
            _ => None,
        }
    }

    /// The parameter value that asks for this order.
    pub fn name(self) -> &'static str {
        match self {
            AccountSort::ScoreAsc => "score",
            AccountSort::ScoreDesc => "-score",
            AccountSort::Change => "change",
            AccountSort::Change7d => "change_7d",
            AccountSort::Change30d => "change_30d",
            AccountSort::Risk => "risk",
            AccountSort::Renewal => "renewal",
            AccountSort::Mrr => "-mrr",
            AccountSort::Name => "name",
            AccountSort::AccountId => "account_id",
        }
    }

    /// Sorts rows; accounts missing the sort field go last.
    pub fn sort<R: std::borrow::Borrow<AccountRow>>(self, rows: &mut [R]) {
        self.sort_by_row(rows, |r| r.borrow());
    }

    /// Sorts items by their rows ([`AccountSort::sort`]).
    pub fn sort_by_row<T>(self, items: &mut [T], row: impl Fn(&T) -> &AccountRow) {
        use std::cmp::Ordering;
        fn opt<T: PartialOrd>(a: Option<T>, b: Option<T>, desc: bool) -> Ordering {
            match (a, b) {
                (Some(a), Some(b)) => {
                    let o = a.partial_cmp(&b).unwrap_or(Ordering::Equal);
                    if desc {
                        o.reverse()
                    } else {
                        o
                    }
                }
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
        }
        items.sort_by(|a, b| {
            let (a, b) = (row(a), row(b));
            let primary = match self {
                AccountSort::ScoreAsc => opt(a.score, b.score, false),
                AccountSort::ScoreDesc => opt(a.score, b.score, true),
                AccountSort::Change => opt(a.change, b.change, false),
                AccountSort::Change7d => opt(a.change_7d, b.change_7d, false),
                AccountSort::Change30d => opt(a.change_30d, b.change_30d, false),
                AccountSort::Risk => opt(a.churn_risk, b.churn_risk, true)
                    .then_with(|| opt(risk_rank(a), risk_rank(b), true)),
                AccountSort::Renewal => opt(a.renewal_date, b.renewal_date, false),
                AccountSort::Mrr => opt(a.mrr, b.mrr, true),
                AccountSort::Name => opt(
                    a.name.as_ref().map(|n| n.to_lowercase()),
                    b.name.as_ref().map(|n| n.to_lowercase()),
                    false,
                ),
                AccountSort::AccountId => Ordering::Equal,
            };
            primary.then_with(|| a.account_id.cmp(&b.account_id))
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(id: &str, score: Option<f64>) -> AccountRow {
        AccountRow {
            account_id: id.into(),
            name: None,
            owner: Some("ana@example.com".into()),
            tier: Some("Enterprise".into()),
            region: None,
            product_line: None,
            mrr: None,
            score,
            band: score.map(|s| {
                if s < 40.0 {
                    Band::AtRisk
                } else {
                    Band::Monitor
                }
            }),
            confidence: None,
            change: None,
            change_7d: None,
            change_30d: None,
            decline: None,
            renewal_date: None,
            days_to_renewal: Some(20),
            renewal_risk: None,
            churn_risk: None,
            expansion: false,
            reason: String::new(),
            as_of: None,
            lifecycle: Lifecycle::Active,
            churned_on: None,
            provisional: None,
        }
    }

    #[test]
    fn rows_carry_the_change_over_7_and_30_days_from_the_score_trail() {
        use crate::model::{AccountId, ScoreRecord};
        use vitals_scoring::{score_account, AccountFacts, ScoringConfig, UsageWindow};
        let today = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        let mut record = AccountRecord::new(AccountId::new("a").unwrap());
        let score = score_account(
            &ScoringConfig::default(),
            &AccountFacts::default(),
            &UsageWindow::default(),
            today,
            None,
        );
        let now = score.health.score;
        record.score = Some(ScoreRecord {
            account_id: record.account_id.clone(),
            as_of: today,
            computed_at: DateTime::<Utc>::default(),
            score,
        });
        // Scored 40 days ago and 8 days ago (not 7 nor 30: the latest day before counts).
        record
            .trail
            .record(today - chrono::Days::new(40), 90.0, Band::Healthy);
        record
            .trail
            .record(today - chrono::Days::new(8), 70.0, Band::Monitor);
        let row = AccountRow::from_record(&record, today);
        assert_eq!(row.change_7d, Some((now - 70.0).round()));
        assert_eq!(row.change_30d, Some((now - 90.0).round()));
        // Without a score that old, no change.
        let mut young = record.clone();
        young.trail = Default::default();
        young
            .trail
            .record(today - chrono::Days::new(2), 50.0, Band::Monitor);
        let row = AccountRow::from_record(&young, today);
        assert_eq!((row.change_7d, row.change_30d), (None, None));
    }

    #[test]
    fn search_needs_every_word_in_the_name_or_id() {
        let mut r = row("acct-17", Some(50.0));
        r.name = Some("Acme Rockets".into());
        let search = |q: &str| AccountFilter {
            search: Some(q.into()),
            ..Default::default()
        };
        assert!(search("rockets ACME").matches(&r));
        assert!(search("acct-17").matches(&r));
        assert!(!search("acme widgets").matches(&r));
    }

    #[test]
    fn default_sort_puts_worst_first_and_unscored_last() {
        let mut rows = vec![row("b", Some(70.0)), row("c", None), row("a", Some(20.0))];
        AccountSort::ScoreAsc.sort(&mut rows);
        let ids: Vec<_> = rows.iter().map(|r| r.account_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }

    #[test]
    fn filters_are_case_insensitive_and_all_must_hold() {
        let r = row("a", Some(20.0));
        let filter = AccountFilter {
            band: Some(Band::AtRisk),
            owner: Some("ANA@example.com".into()),
            tier: Some("enterprise".into()),
            renewal_within_days: Some(30),
            ..Default::default()
        };
        assert!(filter.matches(&r));
        let filter = AccountFilter {
            renewal_within_days: Some(10),
            ..filter
        };
        assert!(!filter.matches(&r));
    }
}

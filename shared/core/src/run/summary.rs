//! The portfolio summary, accumulated account by account during the run (per segment, kept in
//! the segment's checkpoint) and merged at the end, so dashboards never scan accounts.
//!
//! Only accounts active on the day ([`crate::lifecycle`]) count in bands, the distribution, MRR
//! at risk and the KPIs; churned accounts count in the churn figures (logo and revenue churn),
//! accounts not started yet only in their own count.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use vitals_scoring::{AccountScore, Band, RiskLevel};

use crate::lifecycle::{record_state, AccountState};
use crate::model::{
    AccountProfile, AccountRecord, BookDay, BookFigures, OutcomeKind, PortfolioSummary,
};

/// Summary key: accounts with a recorded churn outcome.
pub const CHURNED_ACCOUNTS_KEY: &str = "churned_accounts";
use crate::query::portfolio::{
    CHURNED_12M_KEY, CHURNED_12M_MRR_KEY, LIFECYCLE_CHURNED_KEY, LIFECYCLE_CHURNED_MRR_KEY,
    NOT_STARTED_KEY,
};

/// Adds one account to a (partial) summary as it stands on `day`: an active, scored account
/// counts everywhere; a churned one only in the churn figures; one not started yet only in
/// [`NOT_STARTED_KEY`].
pub fn add_account(summary: &mut PortfolioSummary, record: &AccountRecord, day: NaiveDate) {
    if record.account_id.as_str() == crate::model::AccountId::UNATTRIBUTED {
        return;
    }
    count_recorded_churn(summary, &record.profile);
    match record_state(record, day) {
        AccountState::NotStarted => bump(&mut summary.extra, NOT_STARTED_KEY, 1.0),
        AccountState::Churned { on, last_mrr } => {
            bump(&mut summary.extra, LIFECYCLE_CHURNED_KEY, 1.0);
            bump(
                &mut summary.extra,
                LIFECYCLE_CHURNED_MRR_KEY,
                last_mrr.unwrap_or(0.0),
            );
            if (day - on).num_days() < 365 {
                bump(&mut summary.extra, CHURNED_12M_KEY, 1.0);
                bump(
                    &mut summary.extra,
                    CHURNED_12M_MRR_KEY,
                    last_mrr.unwrap_or(0.0),
                );
            }
        }
        AccountState::Active => {
            if let Some(s) = &record.score {
                add_active(summary, &record.profile, &s.score);
                if let Some(owner) = record.profile.owner.as_deref() {
                    let book = summary
                        .by_owner
                        .entry(BookDay::owner_key(owner))
                        .or_default();
                    add_to_book(book, &record.profile, &s.score);
                }
            }
        }
    }
}

/// An upper bound of the churns the churn model could learn from on this day (an outcome may
/// be dated later in a backfill): the refit skips its history reads below the minimum.
fn count_recorded_churn(summary: &mut PortfolioSummary, profile: &AccountProfile) {
    if profile
        .outcomes
        .iter()
        .any(|o| o.kind == OutcomeKind::Churned)
    {
        bump(&mut summary.extra, CHURNED_ACCOUNTS_KEY, 1.0);
    }
}

/// Adds one active, scored account to its owner's book.
fn add_to_book(book: &mut BookFigures, profile: &AccountProfile, scored: &AccountScore) {
    book.add(&BookFigures {
        accounts: 1,
        at_risk: u64::from(scored.health.band == Band::AtRisk),
        mrr_at_risk: if scored.health.band == Band::AtRisk {
            profile.mrr.unwrap_or(0.0)
        } else {
            0.0
        },
        expansion_candidates: u64::from(scored.expansion.candidate),
        score_sum: scored.health.score,
    });
}

/// The day's books, one per owner, taken out of the merged summary (they are stored apart).
pub fn take_books(summary: &mut PortfolioSummary, day: NaiveDate) -> Vec<BookDay> {
    std::mem::take(&mut summary.by_owner)
        .into_iter()
        .map(|(owner, figures)| BookDay {
            owner,
            day,
            figures,
        })
        .collect()
}

/// Adds one active, scored account.
fn add_active(summary: &mut PortfolioSummary, profile: &AccountProfile, scored: &AccountScore) {
    let score = scored.health.score;
    let n = summary.accounts as f64;
    summary.mean_score = (summary.mean_score * n + score) / (n + 1.0);
    summary.accounts += 1;
    *summary
        .bands
        .entry(scored.health.band.as_str().to_string())
        .or_default() += 1;
    if summary.histogram.len() != 10 {
        summary.histogram = vec![0; 10];
    }
    let bucket = ((score / 10.0).floor() as usize).min(9);
    summary.histogram[bucket] += 1;
    if scored.health.band == Band::AtRisk {
        summary.mrr_at_risk += profile.mrr.unwrap_or(0.0);
    }
    if scored.expansion.candidate {
        summary.expansion_candidates += 1;
    }
    if let Some(severity) = scored.decline.severity() {
        let key = format!("declining_{}", format!("{severity:?}").to_lowercase());
        bump(&mut summary.extra, &key, 1.0);
    }
    bump(&mut summary.extra, "mrr_total", profile.mrr.unwrap_or(0.0));
    // KPI sums (means are computed when read, so partial summaries merge by adding).
    if let Some(seats) = scored.adoption.seats {
        bump(&mut summary.extra, "adoption_seats_sum", seats);
        bump(&mut summary.extra, "adoption_seats_n", 1.0);
    }
    if let Some(features) = scored.adoption.features {
        bump(&mut summary.extra, "adoption_features_sum", features);
        bump(&mut summary.extra, "adoption_features_n", 1.0);
    }
    if let Some(days) = scored.time_to_value_days {
        bump(&mut summary.extra, "ttv_days_sum", days as f64);
        bump(&mut summary.extra, "ttv_n", 1.0);
    }
    let level = scored.renewal.map(|r| r.level);
    let high = if level == Some(RiskLevel::High) {
        1.0
    } else {
        0.0
    };
    let medium = if level == Some(RiskLevel::Medium) {
        1.0
    } else {
        0.0
    };
    bump(&mut summary.extra, "renewal_risk_high", high);
    bump(&mut summary.extra, "renewal_risk_medium", medium);
}

/// Merges partial summaries (one per segment) into the portfolio's.
pub fn merge(parts: impl IntoIterator<Item = PortfolioSummary>) -> PortfolioSummary {
    let mut total = PortfolioSummary {
        histogram: vec![0; 10],
        ..Default::default()
    };
    let mut weighted = 0.0;
    for part in parts {
        weighted += part.mean_score * part.accounts as f64;
        total.accounts += part.accounts;
        for (band, count) in part.bands {
            *total.bands.entry(band).or_default() += count;
        }
        for (i, count) in part.histogram.iter().enumerate().take(10) {
            total.histogram[i] += count;
        }
        total.mrr_at_risk += part.mrr_at_risk;
        total.expansion_candidates += part.expansion_candidates;
        total.unattributed_events += part.unattributed_events;
        for (key, value) in part.extra {
            bump(&mut total.extra, &key, value.as_f64().unwrap_or(0.0));
        }
        for (owner, book) in part.by_owner {
            total.by_owner.entry(owner).or_default().add(&book);
        }
    }
    if total.accounts > 0 {
        total.mean_score = ((weighted / total.accounts as f64) * 10.0).round() / 10.0;
    }
    total
}

fn bump(extra: &mut BTreeMap<String, serde_json::Value>, key: &str, by: f64) {
    let now = extra
        .get(key)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(0.0)
        + by;
    extra.insert(key.to_string(), serde_json::json!(now));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Checkpoint;

    fn with_unattributed(n: u64) -> PortfolioSummary {
        PortfolioSummary {
            unattributed_events: n,
            ..PortfolioSummary::default()
        }
    }

    #[test]
    fn unattributed_events_of_the_segments_merge_to_their_sum() {
        let merged = merge([
            with_unattributed(3),
            with_unattributed(4),
            PortfolioSummary::default(),
        ]);
        assert_eq!(merged.unattributed_events, 7);
        assert!(merged.extra.is_empty(), "{:?}", merged.extra);
    }

    #[test]
    fn a_summary_stored_with_the_count_in_extra_reads_back_with_it() {
        let old = r#"{"as_of":"2026-03-10","computed_at":null,"accounts":2,
            "bands":{"healthy":2},"histogram":[0,0,0,0,0,0,0,0,1,1],"mean_score":85.0,
            "mrr_at_risk":0.0,"expansion_candidates":0,
            "extra":{"mrr_total":500.0,"unattributed_events":5.0}}"#;
        let summary: PortfolioSummary = serde_json::from_str(old).unwrap();
        assert_eq!(summary.unattributed_events, 5);
        assert_eq!(summary.accounts, 2);
        assert_eq!(
            summary.extra.get("mrr_total"),
            Some(&serde_json::json!(500.0))
        );
        assert!(!summary.extra.contains_key("unattributed_events"));
        // A segment's partial summary in an old checkpoint merges with a new one.
        let checkpoint = format!(
            r#"{{"run_id":"daily:2026-03-10","segment":3,"done":true,"last_account":null,
            "accounts_scored":2,"events_emitted":0,"updated_at":"2026-03-11T06:00:00Z",
            "summary":{old}}}"#
        );
        let checkpoint: Checkpoint = serde_json::from_str(&checkpoint).unwrap();
        let merged = merge([checkpoint.summary, with_unattributed(2)]);
        assert_eq!(merged.unattributed_events, 7);
    }

    #[test]
    fn the_count_is_stored_in_its_own_field_and_left_out_when_none() {
        let some = serde_json::to_value(with_unattributed(2)).unwrap();
        assert_eq!(some["unattributed_events"], 2);
        assert!(some["extra"].get("unattributed_events").is_none());
        let back: PortfolioSummary = serde_json::from_value(some).unwrap();
        assert_eq!(back, with_unattributed(2));
        let none = serde_json::to_value(PortfolioSummary::default()).unwrap();
        assert!(none.get("unattributed_events").is_none(), "{none}");
    }
}

//! The precomputed account listing: each segment's list rows as its latest scoring run left
//! them ([`ListingBuilder`], used by the daily run), and today's provisional scores merged in
//! ([`with_provisional`]); readers keep them indexed ([`super::listed_rows::ListedRows`]).
//! The account list and the dashboard's lists read these in one request instead of scanning
//! every account record (BRIEF §5: ≤ 2 requests per view).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;

use super::accounts::AccountRow;
use crate::churn::{account_churn_risk, ChurnModelRecord};
use crate::model::{AccountId, AccountRecord, ProvisionalListing, SegmentListing};
use crate::segment::Segment;

/// One segment's rows, kept up to date while the run scores its accounts.
#[derive(Debug, Clone)]
pub struct ListingBuilder {
    segment: Segment,
    as_of: NaiveDate,
    rows: BTreeMap<String, AccountRow>,
    /// The churn model whose probability each row carries (the list's churn-risk column).
    churn_model: Option<Arc<ChurnModelRecord>>,
}

impl ListingBuilder {
    /// Starts from the segment's accounts as stored: an account the run does not score again
    /// (scored by an earlier attempt of a resumed run) keeps this row.
    pub fn new<'r>(
        segment: Segment,
        as_of: NaiveDate,
        records: impl IntoIterator<Item = &'r AccountRecord>,
    ) -> Self {
        Self::with_churn_model(segment, as_of, records, None)
    }

    /// [`ListingBuilder::new`] whose rows carry each account's churn risk under `model`.
    pub fn with_churn_model<'r>(
        segment: Segment,
        as_of: NaiveDate,
        records: impl IntoIterator<Item = &'r AccountRecord>,
        model: Option<Arc<ChurnModelRecord>>,
    ) -> Self {
        let mut builder = ListingBuilder {
            segment,
            as_of,
            rows: BTreeMap::new(),
            churn_model: model,
        };
        for record in records {
            builder.add(record);
        }
        builder
    }

    /// Puts the account's row, replacing the one it had.
    pub fn add(&mut self, record: &AccountRecord) {
        if record.account_id.as_str() == AccountId::UNATTRIBUTED {
            return;
        }
        let mut row = AccountRow::from_record(record, self.as_of);
        if row.lifecycle.is_active() {
            row.churn_risk = account_churn_risk(record, self.churn_model.as_deref())
                .ok()
                .map(|risk| risk.probability);
        }
        self.rows.insert(record.account_id.to_string(), row);
    }

    pub fn finish(self) -> SegmentListing {
        SegmentListing {
            segment: self.segment,
            as_of: self.as_of,
            rows: self.rows.into_values().collect(),
        }
    }
}

/// The listing's rows with today's provisional scores merged in: a row gets its account's
/// provisional score when it is newer than the row's daily score, and an account no run has
/// listed yet (new today) gets the provisional row itself.
pub fn with_provisional(
    mut rows: Vec<AccountRow>,
    provisional: Option<ProvisionalListing>,
) -> Vec<AccountRow> {
    let Some(provisional) = provisional else {
        return rows;
    };
    let at: HashMap<String, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.account_id.clone(), i))
        .collect();
    for row in provisional.rows {
        match at.get(&row.account_id) {
            Some(&i) => {
                let listed = &mut rows[i];
                if listed.as_of.is_none_or(|d| d < provisional.day) {
                    listed.provisional = row.provisional;
                }
            }
            None => rows.push(row),
        }
    }
    rows
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::AccountProfile;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn record(id: &str, owner: &str, name: &str) -> AccountRecord {
        let mut record = AccountRecord::new(AccountId::new(id).unwrap());
        record.profile = AccountProfile {
            name: Some(name.into()),
            owner: Some(owner.into()),
            renewal_date: Some(day(31)),
            ..AccountProfile::default()
        };
        record
    }

    #[test]
    fn a_rescored_account_replaces_its_row_and_unattributed_events_get_none() {
        let stored = [
            record("b", "ana@example.com", "Before"),
            record("a", "ana@example.com", "Alpha"),
            record(AccountId::UNATTRIBUTED, "ana@example.com", "nobody"),
        ];
        let mut builder = ListingBuilder::new(Segment(3), day(1), &stored);
        builder.add(&record("b", "bob@example.com", "After"));
        let listing = builder.finish();
        assert_eq!(listing.segment, Segment(3));
        let rows: Vec<_> = listing
            .rows
            .iter()
            .map(|r| (r.account_id.as_str(), r.name.as_deref().unwrap()))
            .collect();
        assert_eq!(rows, [("a", "Alpha"), ("b", "After")]);
    }

    #[test]
    fn provisional_rows_join_rows_scored_before_their_day_and_add_new_accounts() {
        use crate::query::accounts::ProvisionalRow;
        let listed = ListingBuilder::new(
            Segment(0),
            day(9),
            &[record("a", "x", "A"), record("b", "x", "B")],
        )
        .finish()
        .rows;
        let mut scored_today = listed[1].clone();
        scored_today.as_of = Some(day(10));
        let rows = vec![listed[0].clone(), scored_today];
        let mark = |id: &str| {
            let mut row = AccountRow::from_record(&record(id, "x", id), day(10));
            row.provisional = Some(ProvisionalRow {
                day: day(10),
                computed_at: day(10).and_hms_opt(9, 30, 0).unwrap().and_utc(),
                score: 61.0,
                band: crate::model::Band::Monitor,
                change: None,
            });
            row
        };
        let provisional = ProvisionalListing {
            day: day(10),
            rows: vec![mark("a"), mark("b"), mark("new")],
        };
        let merged = with_provisional(rows, Some(provisional));
        let shown: Vec<(&str, bool)> = merged
            .iter()
            .map(|r| (r.account_id.as_str(), r.provisional.is_some()))
            .collect();
        // b's daily score of the 10th supersedes its provisional one.
        assert_eq!(shown, [("a", true), ("b", false), ("new", true)]);
    }
}

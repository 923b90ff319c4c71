//! Which index, partition and sort-key range each listing reads. Listings never scan: each is
//! one Query on one partition.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use std::collections::HashMap;
use vitals_core::model::{AccountId, AlertQuery};
use vitals_core::segment::Segment;
use vitals_core::StoreError;

use super::{attribute_value, keys, Index, STATUS};

/// The sort-key part of a key condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortRange {
    All,
    /// Inclusive on both ends.
    Between(String, String),
    BeginsWith(String),
}

/// One Query: a partition of an index, a sort-key range, optional equality filters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QuerySpec {
    pub index: Index,
    pub partition: String,
    pub range: SortRange,
    /// `attribute = value` conditions applied after the key condition (they thin pages).
    pub filters: Vec<(&'static str, AttributeValue)>,
    pub newest_first: bool,
    pub consistent: bool,
}

/// The expressions of a Query, placeholders resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueryExpressions {
    pub key_condition: String,
    pub filter: Option<String>,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl QuerySpec {
    fn new(index: Index, partition: String) -> Self {
        QuerySpec {
            index,
            partition,
            range: SortRange::All,
            filters: Vec::new(),
            newest_first: false,
            consistent: false,
        }
    }

    fn range(mut self, range: SortRange) -> Self {
        self.range = range;
        self
    }

    fn newest_first(mut self) -> Self {
        self.newest_first = true;
        self
    }

    fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    pub(crate) fn expressions(&self) -> QueryExpressions {
        let mut names =
            HashMap::from([("#p".to_owned(), self.index.partition_attribute().to_owned())]);
        let mut values =
            HashMap::from([(":p".to_owned(), AttributeValue::S(self.partition.clone()))]);
        let sort = self.index.sort_attribute().to_owned();
        let key_condition = match &self.range {
            SortRange::All => "#p = :p".to_owned(),
            SortRange::Between(lo, hi) => {
                names.insert("#s".into(), sort);
                values.insert(":lo".into(), AttributeValue::S(lo.clone()));
                values.insert(":hi".into(), AttributeValue::S(hi.clone()));
                "#p = :p AND #s BETWEEN :lo AND :hi".to_owned()
            }
            SortRange::BeginsWith(prefix) => {
                names.insert("#s".into(), sort);
                values.insert(":prefix".into(), AttributeValue::S(prefix.clone()));
                "#p = :p AND begins_with(#s, :prefix)".to_owned()
            }
        };
        let mut conditions = Vec::new();
        for (i, (attribute, value)) in self.filters.iter().enumerate() {
            names.insert(format!("#f{i}"), (*attribute).to_owned());
            values.insert(format!(":f{i}"), value.clone());
            conditions.push(format!("#f{i} = :f{i}"));
        }
        QueryExpressions {
            key_condition,
            filter: (!conditions.is_empty()).then(|| conditions.join(" AND ")),
            names,
            values,
        }
    }
}

pub(crate) fn chunks_of_segment_day(segment: Segment, day: NaiveDate) -> QuerySpec {
    QuerySpec::new(Index::Table, keys::chunk_pk(day, segment))
}

pub(crate) fn accounts_of_segment(segment: Segment) -> QuerySpec {
    QuerySpec::new(Index::Table, keys::accounts_pk(segment))
}

pub(crate) fn users_of_account(account: &AccountId) -> QuerySpec {
    QuerySpec::new(Index::Gsi1, keys::account_users_gsi1pk(account))
        .range(SortRange::BeginsWith(keys::USER_GSI1SK_PREFIX.to_owned()))
}

pub(crate) fn crm_pushed(crm: &str) -> QuerySpec {
    QuerySpec::new(Index::Table, keys::crm_pushed_pk(crm))
}

/// `None` when the range is empty (`from > to`): DynamoDB refuses such a BETWEEN.
pub(crate) fn history(account: &AccountId, from: NaiveDate, to: NaiveDate) -> Option<QuerySpec> {
    (from <= to).then(|| {
        QuerySpec::new(Index::Table, keys::history_pk(account))
            .range(SortRange::Between(keys::date(from), keys::date(to)))
    })
}

/// Every alert on the alerts index, or one account's on its activity index (never a filter
/// over every alert).
pub(crate) fn alerts(query: &AlertQuery) -> Result<QuerySpec, StoreError> {
    let mut spec = match &query.account_id {
        None => QuerySpec::new(Index::Gsi1, keys::ALERTS_GSI1PK.to_owned()),
        Some(account) => account_activity_of_kind(account, keys::ALERT_GSI2SK_PREFIX),
    }
    .newest_first();
    if let Some(status) = query.status {
        spec.filters.push((STATUS, attribute_value(&status)?));
    }
    Ok(spec)
}

pub(crate) fn interventions(account: Option<&AccountId>) -> QuerySpec {
    match account {
        None => QuerySpec::new(Index::Gsi1, keys::INTERVENTIONS_GSI1PK.to_owned()),
        Some(account) => account_activity_of_kind(account, keys::INTERVENTION_GSI2SK_PREFIX),
    }
    .newest_first()
}

fn account_activity_of_kind(account: &AccountId, prefix: &str) -> QuerySpec {
    QuerySpec::new(Index::Gsi2, keys::activity_gsi2pk(account))
        .range(SortRange::BeginsWith(prefix.to_owned()))
}

/// One account's alerts, interventions and audit entries, each kind newest first (alerts,
/// then interventions, then audit entries).
pub(crate) fn account_activity(account: &AccountId) -> QuerySpec {
    QuerySpec::new(Index::Gsi2, keys::activity_gsi2pk(account)).newest_first()
}

/// Every audit entry, oldest first (to give older entries their activity keys).
pub(crate) fn every_audit_entry() -> QuerySpec {
    QuerySpec::new(Index::Table, keys::AUDIT_PK.to_owned())
}

/// Every alert (or intervention) on its index, oldest first.
pub(crate) fn every_alert() -> QuerySpec {
    QuerySpec::new(Index::Gsi1, keys::ALERTS_GSI1PK.to_owned())
}

pub(crate) fn every_intervention() -> QuerySpec {
    QuerySpec::new(Index::Gsi1, keys::INTERVENTIONS_GSI1PK.to_owned())
}

pub(crate) fn audit(account: Option<&AccountId>) -> QuerySpec {
    match account {
        None => QuerySpec::new(Index::Table, keys::AUDIT_PK.to_owned()),
        Some(account) => QuerySpec::new(Index::Gsi1, keys::audit_gsi1pk(account)),
    }
    .newest_first()
}

pub(crate) fn config_versions_newest_first() -> QuerySpec {
    QuerySpec::new(Index::Table, keys::CONFIG_PK.to_owned())
        .newest_first()
        .consistent()
}

pub(crate) fn checkpoints(run_id: &str) -> QuerySpec {
    QuerySpec::new(Index::Table, keys::run_pk(run_id)).consistent()
}

pub(crate) fn latest_summary() -> QuerySpec {
    QuerySpec::new(Index::Table, keys::SUMMARY_PK.to_owned()).newest_first()
}

pub(crate) fn latest_churn_model() -> QuerySpec {
    QuerySpec::new(Index::Table, keys::CHURN_MODEL_PK.to_owned()).newest_first()
}

/// Every late-event mark, or those of one day.
pub(crate) fn late_marks(day: Option<NaiveDate>) -> QuerySpec {
    let spec = QuerySpec::new(Index::Table, keys::LATE_PK.to_owned()).consistent();
    match day {
        Some(day) => spec.range(SortRange::BeginsWith(keys::late_marks_of_day_prefix(day))),
        None => spec,
    }
}

/// The touch marks of one refresh interval.
pub(crate) fn touch_marks(interval: &chrono::DateTime<chrono::Utc>) -> QuerySpec {
    QuerySpec::new(Index::Table, keys::touched_pk(interval))
}

/// `None` when the range is empty (`from > to`).
pub(crate) fn summaries(from: NaiveDate, to: NaiveDate) -> Option<QuerySpec> {
    (from <= to).then(|| {
        QuerySpec::new(Index::Table, keys::SUMMARY_PK.to_owned())
            .range(SortRange::Between(keys::date(from), keys::date(to)))
    })
}

/// One owner's books with `from <= day <= to`.
pub(crate) fn book_days(owner: &str, from: NaiveDate, to: NaiveDate) -> Option<QuerySpec> {
    (from <= to).then(|| {
        QuerySpec::new(Index::Table, keys::book_pk(owner))
            .range(SortRange::Between(keys::date(from), keys::date(to)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_core::model::AlertStatus;

    #[test]
    fn alert_listing_filters_status_and_reads_one_accounts_alerts_from_its_activity() {
        let mut query = AlertQuery {
            status: Some(AlertStatus::Open),
            account_id: None,
        };
        let spec = alerts(&query).unwrap();
        assert_eq!(spec.index, Index::Gsi1);
        assert!(spec.newest_first);
        let e = spec.expressions();
        assert_eq!(e.key_condition, "#p = :p");
        assert_eq!(e.filter.as_deref(), Some("#f0 = :f0"));
        assert_eq!(e.names["#p"], "gsi1pk");
        assert_eq!(e.names["#f0"], "status");
        assert_eq!(e.values[":f0"], AttributeValue::S("open".into()));

        query.account_id = Some(AccountId::new("acme").unwrap());
        let spec = alerts(&query).unwrap();
        assert_eq!(spec.index, Index::Gsi2);
        let e = spec.expressions();
        assert_eq!(e.key_condition, "#p = :p AND begins_with(#s, :prefix)");
        assert_eq!(e.names["#p"], "gsi2pk");
        assert_eq!(e.values[":p"], AttributeValue::S("ACTIVITY#acme".into()));
        assert_eq!(e.values[":prefix"], AttributeValue::S("3#ALERT#".into()));
        assert_eq!(e.filter.as_deref(), Some("#f0 = :f0"));
    }

    #[test]
    fn history_reads_an_inclusive_date_range() {
        let a = AccountId::new("acme").unwrap();
        let spec = history(
            &a,
            "2026-01-01".parse().unwrap(),
            "2026-01-31".parse().unwrap(),
        )
        .unwrap();
        let e = spec.expressions();
        assert_eq!(e.key_condition, "#p = :p AND #s BETWEEN :lo AND :hi");
        assert_eq!(e.values[":p"], AttributeValue::S("HISTORY#acme".into()));
        assert_eq!(e.values[":lo"], AttributeValue::S("2026-01-01".into()));
        assert_eq!(e.filter, None);
    }

    #[test]
    fn an_inverted_date_range_reads_nothing() {
        let a = AccountId::new("acme").unwrap();
        let from = "2026-02-01".parse().unwrap();
        let to = "2026-01-01".parse().unwrap();
        assert!(history(&a, from, to).is_none());
        assert!(summaries(from, to).is_none());
    }
}

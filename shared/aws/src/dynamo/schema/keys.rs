//! Key formats of every item in the table, as `docs/architecture.md` fixes them. The SAM
//! template and any other reader of the table rely on these exact strings.

use chrono::{DateTime, Days, NaiveDate, Utc};
use vitals_core::model::AccountId;
use vitals_core::segment::Segment;

/// Timestamps in keys: fixed width so they sort as strings.
pub(crate) fn timestamp(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Dates in keys: `YYYY-MM-DD`.
pub(crate) fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// TTL (`expires_at`, epoch seconds) of an item dated `day`, kept `days` days.
pub(crate) fn expiry_of_day(day: NaiveDate, days: u32) -> i64 {
    let end = day
        .checked_add_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MAX);
    end.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(i64::MAX)
}

/// TTL (`expires_at`, epoch seconds) of an item written at `at`, kept `days` days.
pub(crate) fn expiry_of_time(at: &DateTime<Utc>, days: u32) -> i64 {
    at.checked_add_days(Days::new(u64::from(days)))
        .map(|t| t.timestamp())
        .unwrap_or(i64::MAX)
}

pub(crate) fn chunk_pk(day: NaiveDate, segment: Segment) -> String {
    format!("CHUNK#{}#{segment}", date(day))
}

/// A pack of chunks, named by a digest of what it holds (32 hex digits). Items of the first
/// layout, `{account_id}#{chunk_id}` with a 24-digit chunk id, can never collide with it.
pub(crate) fn chunk_pack_sk(digest: &str) -> String {
    format!("PACK#{digest}")
}

pub(crate) fn accounts_pk(segment: Segment) -> String {
    format!("ACCOUNTS#{segment}")
}

pub(crate) fn account_sk(account: &AccountId) -> String {
    format!("ACCOUNT#{account}")
}

pub(crate) fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

pub(crate) const USER_SK: &str = "USER";

/// GSI partition of the users linked to an account.
pub(crate) fn account_users_gsi1pk(account: &AccountId) -> String {
    format!("ACCOUNT#{account}")
}

pub(crate) fn user_gsi1sk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

pub(crate) const USER_GSI1SK_PREFIX: &str = "USER#";

pub(crate) fn history_pk(account: &AccountId) -> String {
    format!("HISTORY#{account}")
}

pub(crate) fn alert_pk(id: &str) -> String {
    format!("ALERT#{id}")
}

pub(crate) const ALERT_SK: &str = "ALERT";

/// GSI partition holding every alert, sorted by opening time.
pub(crate) const ALERTS_GSI1PK: &str = "ALERTS";

pub(crate) fn alert_gsi1sk(opened_at: &DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", timestamp(opened_at))
}

pub(crate) fn intervention_pk(id: &str) -> String {
    format!("INTERVENTION#{id}")
}

pub(crate) const INTERVENTION_SK: &str = "INTERVENTION";

/// GSI partition holding every intervention, sorted by creation time.
pub(crate) const INTERVENTIONS_GSI1PK: &str = "INTERVENTIONS";

pub(crate) fn intervention_gsi1sk(created_at: &DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", timestamp(created_at))
}

pub(crate) const AUDIT_PK: &str = "AUDIT";

pub(crate) fn audit_sk(at: &DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", timestamp(at))
}

/// The marker that an audit entry id was appended, whatever the entry's time.
pub(crate) fn audit_id_pk(id: &str) -> String {
    format!("AUDITID#{id}")
}

pub(crate) const AUDIT_ID_SK: &str = "AUDITID";

pub(crate) fn audit_gsi1pk(account: &AccountId) -> String {
    format!("AUDIT#{account}")
}

/// The partition of `gsi2` holding one account's alerts, interventions and audit entries.
pub(crate) fn activity_gsi2pk(account: &AccountId) -> String {
    format!("ACTIVITY#{account}")
}

/// Sort-key prefixes of the kinds of activity, in the order a newest-first Query reads them:
/// alerts, then interventions, then the audit entries (the most numerous, read last so a page
/// can stop once it has enough of them).
pub(crate) const ALERT_GSI2SK_PREFIX: &str = "3#ALERT#";
pub(crate) const INTERVENTION_GSI2SK_PREFIX: &str = "2#INTERVENTION#";
pub(crate) const AUDIT_GSI2SK_PREFIX: &str = "1#AUDIT#";

pub(crate) fn alert_gsi2sk(opened_at: &DateTime<Utc>, id: &str) -> String {
    format!("{ALERT_GSI2SK_PREFIX}{}#{id}", timestamp(opened_at))
}

pub(crate) fn intervention_gsi2sk(created_at: &DateTime<Utc>, id: &str) -> String {
    format!("{INTERVENTION_GSI2SK_PREFIX}{}#{id}", timestamp(created_at))
}

pub(crate) fn audit_gsi2sk(at: &DateTime<Utc>, id: &str) -> String {
    format!("{AUDIT_GSI2SK_PREFIX}{}#{id}", timestamp(at))
}

/// The marker that every alert, intervention and audit entry carries its `gsi2` keys (items
/// written before the index existed are given them once, see `DynamoStore::index_activity`).
pub(crate) const SCHEMA_PK: &str = "SCHEMA";
pub(crate) const ACTIVITY_INDEXED_SK: &str = "ACTIVITY_INDEXED";

pub(crate) const CONFIG_PK: &str = "CONFIG";

pub(crate) fn config_sk(version: u64) -> String {
    format!("V#{version:010}")
}

pub(crate) fn run_pk(run_id: &str) -> String {
    format!("RUN#{run_id}")
}

pub(crate) fn segment_sk(segment: Segment) -> String {
    format!("SEG#{segment}")
}

/// Checkpoints are kept this long after their last update.
pub(crate) const CHECKPOINT_RETENTION_DAYS: u32 = 90;

pub(crate) const SUMMARY_PK: &str = "SUMMARY";

/// One owner's books (a CSM's portfolio trend), sorted by day.
pub(crate) fn book_pk(owner: &str) -> String {
    format!("BOOK#{owner}")
}

/// Churn model fits, sorted by the run day they were fitted on.
pub(crate) const CHURN_MODEL_PK: &str = "CHURNMODEL";

/// Late-event marks, sorted by day then mark id.
pub(crate) const LATE_PK: &str = "LATE";

pub(crate) fn late_mark_sk(day: NaiveDate, id: &str) -> String {
    format!("{}#{id}", date(day))
}

/// The sort-key prefix of one day's late-event marks.
pub(crate) fn late_marks_of_day_prefix(day: NaiveDate) -> String {
    format!("{}#", date(day))
}

/// What was last written to one CRM, one item per account under the CRM's partition.
pub(crate) fn crm_pushed_pk(crm: &str) -> String {
    format!("CRM#{crm}")
}

/// How far one CRM's activity log has been written: one item per CRM.
pub(crate) fn crm_activity_mark_key(crm: &str) -> (String, String) {
    (format!("CRMLOG#{crm}"), "MARK".to_string())
}

/// Touch marks of one refresh interval, sorted by mark id.
pub(crate) fn touched_pk(interval: &DateTime<Utc>) -> String {
    format!("TOUCHED#{}", timestamp(interval))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn acct(s: &str) -> AccountId {
        AccountId::new(s).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn keys_follow_the_storage_design() {
        let a = acct("acme");
        let d = day("2026-03-04");
        assert_eq!(chunk_pk(d, Segment(7)), "CHUNK#2026-03-04#07");
        assert_eq!(chunk_pack_sk("0123abcd"), "PACK#0123abcd");
        assert_eq!(accounts_pk(Segment(42)), "ACCOUNTS#42");
        assert_eq!(account_sk(&a), "ACCOUNT#acme");
        assert_eq!(user_pk("u1"), "USER#u1");
        assert_eq!(account_users_gsi1pk(&a), "ACCOUNT#acme");
        assert_eq!(user_gsi1sk("u1"), "USER#u1");
        assert_eq!(history_pk(&a), "HISTORY#acme");
        assert_eq!(alert_pk("al-1"), "ALERT#al-1");
        assert_eq!(audit_gsi1pk(&a), "AUDIT#acme");
        assert_eq!(intervention_pk("w:e"), "INTERVENTION#w:e");
        assert_eq!(audit_id_pk("e1"), "AUDITID#e1");
        assert_eq!(config_sk(42), "V#0000000042");
        assert_eq!(run_pk("r1"), "RUN#r1");
        assert_eq!(segment_sk(Segment(3)), "SEG#03");
        assert_eq!(date(d), "2026-03-04");
        assert_eq!(late_mark_sk(d, "ab12"), "2026-03-04#ab12");
        assert_eq!(late_marks_of_day_prefix(d), "2026-03-04#");
        let interval = d.and_hms_opt(10, 15, 0).unwrap().and_utc();
        assert_eq!(touched_pk(&interval), "TOUCHED#2026-03-04T10:15:00.000000Z");
    }

    #[test]
    fn timestamps_in_keys_have_fixed_width_and_sort_as_strings() {
        let whole = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let later = whole + chrono::Duration::microseconds(1);
        assert_eq!(timestamp(&whole), "2026-01-02T03:04:05.000000Z");
        assert_eq!(timestamp(&later), "2026-01-02T03:04:05.000001Z");
        assert!(timestamp(&whole) < timestamp(&later));
        assert_eq!(alert_gsi1sk(&whole, "a1"), "2026-01-02T03:04:05.000000Z#a1");
        assert_eq!(audit_sk(&whole, "e1"), "2026-01-02T03:04:05.000000Z#e1");
    }

    #[test]
    fn config_versions_sort_numerically_as_strings() {
        assert!(config_sk(9) < config_sk(10));
        assert!(config_sk(99) < config_sk(100));
    }

    #[test]
    fn expiry_is_retention_days_after_the_item_date() {
        let expires = expiry_of_day(day("2026-01-01"), 730);
        let expected = Utc
            .with_ymd_and_hms(2028, 1, 1, 0, 0, 0)
            .unwrap()
            .timestamp();
        assert_eq!(expires, expected);
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        assert_eq!(expiry_of_time(&at, 90), at.timestamp() + 90 * 86_400);
    }
}

//! Item shapes: each domain record as stored, keys and TTL included. Items are made and read
//! by `serde_dynamo` from these private structs; the domain types are flattened in, so their
//! fields are top-level attributes (`status`, `version`, `account_id` are used in expressions).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use vitals_core::history::{codec, HistoryDay};
use vitals_core::model::{
    AccountId, AccountProfile, AccountRecord, Alert, AuditEntry, Checkpoint, ConfigVersion,
    Intervention, PortfolioSummary, ProvisionalScore, ScoreRecord, ScoreTrail, UserProfile,
};
use vitals_core::segment::Segment;

use super::packed::{Bytes, Packed};
use vitals_core::StoreError;

use super::{keys, Item};

type StoreResult<T> = Result<T, StoreError>;

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    pub(crate) fn to_item(&self) -> StoreResult<Item> {
        encode(self)
    }
}

pub(crate) fn encode<T: Serialize>(record: &T) -> StoreResult<Item> {
    serde_dynamo::to_item(record).map_err(|e| StoreError::Rejected(format!("encode item: {e}")))
}

pub(crate) fn decode<T: DeserializeOwned>(item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(format!("decode item: {e}")))
}

// ---- accounts ----

/// An account item as read; its halves are written by separate updates
/// ([`super::set_profile`], [`super::set_scoring_state`]), so either may be missing.
#[derive(Deserialize)]
struct AccountItem {
    account_id: AccountId,
    #[serde(default)]
    profile: Option<AccountProfile>,
    #[serde(default)]
    window: Option<Packed<vitals_core::model::UsageWindow>>,
    #[serde(default)]
    score: Option<Packed<ScoreRecord>>,
    /// Absent on items written before the trail existed: they read as an empty trail.
    #[serde(default)]
    trail: Option<Packed<ScoreTrail>>,
    /// Written by the provisional refresh only ([`super::set_provisional`]).
    #[serde(default)]
    provisional: Option<Packed<ProvisionalScore>>,
}

pub(crate) fn account_key(account: &AccountId) -> Key {
    Key::new(
        keys::accounts_pk(account.segment()),
        keys::account_sk(account),
    )
}

pub(crate) fn decode_account(item: Item) -> StoreResult<AccountRecord> {
    let stored: AccountItem = decode(item)?;
    Ok(AccountRecord {
        account_id: stored.account_id,
        profile: stored.profile.unwrap_or_default(),
        window: stored.window.map(|w| w.0).unwrap_or_default(),
        score: stored.score.map(|s| s.0),
        trail: stored.trail.map(|t| t.0).unwrap_or_default(),
        provisional: stored.provisional.map(|p| p.0),
    })
}

// ---- users ----

#[derive(Serialize)]
struct UserItem<'a> {
    pk: String,
    sk: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    #[serde(flatten)]
    user: &'a UserProfile,
}

pub(crate) fn user_key(user_id: &str) -> Key {
    Key::new(keys::user_pk(user_id), keys::USER_SK)
}

pub(crate) fn encode_user(user: &UserProfile) -> StoreResult<Item> {
    let linked = user.account_id.as_ref();
    encode(&UserItem {
        pk: keys::user_pk(&user.user_id),
        sk: keys::USER_SK,
        gsi1pk: linked.map(keys::account_users_gsi1pk),
        gsi1sk: linked.map(|_| keys::user_gsi1sk(&user.user_id)),
        user,
    })
}

pub(crate) fn decode_user(item: Item) -> StoreResult<UserProfile> {
    decode(item)
}

// ---- score history ----

/// A history entry: its [`codec`] bytes in `entry`. Entries written by an older version hold
/// the whole score record as deflated JSON in `record`; they still read.
#[derive(Serialize)]
struct HistoryItem {
    pk: String,
    sk: String,
    expires_at: i64,
    entry: Bytes,
}

#[derive(Deserialize)]
struct HistoryRead {
    sk: String,
    entry: Option<Bytes>,
    record: Option<Packed<ScoreRecord>>,
}

pub(crate) fn history_key(account: &AccountId, day: chrono::NaiveDate) -> Key {
    Key::new(keys::history_pk(account), keys::date(day))
}

pub(crate) fn encode_history(entry: &HistoryDay, retention_days: u32) -> StoreResult<(Key, Item)> {
    let key = history_key(&entry.account_id, entry.as_of);
    let item = encode(&HistoryItem {
        pk: key.pk.clone(),
        sk: key.sk.clone(),
        expires_at: keys::expiry_of_day(entry.as_of, retention_days),
        entry: Bytes(codec::encode(entry)?),
    })?;
    Ok((key, item))
}

pub(crate) fn decode_history(account: &AccountId, item: Item) -> StoreResult<HistoryDay> {
    let read = decode::<HistoryRead>(item)?;
    match (read.entry, read.record) {
        (Some(bytes), _) => codec::decode_keyed(account, &read.sk, &bytes.0),
        (None, Some(record)) => Ok(HistoryDay::of(&record.0)),
        (None, None) => Err(StoreError::Corrupt("history item without an entry".into())),
    }
}

// ---- alerts and interventions ----

/// An alert or an intervention as stored: its own partition, its place in the global list
/// (`gsi1`) and in its account's activity (`gsi2`).
#[derive(Serialize)]
struct ListedItem<'a, T> {
    pk: String,
    sk: &'static str,
    gsi1pk: &'static str,
    gsi1sk: String,
    gsi2pk: String,
    gsi2sk: String,
    #[serde(flatten)]
    record: &'a T,
}

pub(crate) fn alert_key(id: &str) -> Key {
    Key::new(keys::alert_pk(id), keys::ALERT_SK)
}

pub(crate) fn encode_alert(alert: &Alert) -> StoreResult<Item> {
    encode(&ListedItem {
        pk: keys::alert_pk(&alert.id),
        sk: keys::ALERT_SK,
        gsi1pk: keys::ALERTS_GSI1PK,
        gsi1sk: keys::alert_gsi1sk(&alert.opened_at, &alert.id),
        gsi2pk: keys::activity_gsi2pk(&alert.account_id),
        gsi2sk: keys::alert_gsi2sk(&alert.opened_at, &alert.id),
        record: alert,
    })
}

pub(crate) fn decode_alert(item: Item) -> StoreResult<Alert> {
    decode(item)
}

pub(crate) fn intervention_key(id: &str) -> Key {
    Key::new(keys::intervention_pk(id), keys::INTERVENTION_SK)
}

pub(crate) fn encode_intervention(intervention: &Intervention) -> StoreResult<Item> {
    encode(&ListedItem {
        pk: keys::intervention_pk(&intervention.id),
        sk: keys::INTERVENTION_SK,
        gsi1pk: keys::INTERVENTIONS_GSI1PK,
        gsi1sk: keys::intervention_gsi1sk(&intervention.created_at, &intervention.id),
        gsi2pk: keys::activity_gsi2pk(&intervention.account_id),
        gsi2sk: keys::intervention_gsi2sk(&intervention.created_at, &intervention.id),
        record: intervention,
    })
}

pub(crate) fn decode_intervention(item: Item) -> StoreResult<Intervention> {
    decode(item)
}

// ---- audit log ----

#[derive(Serialize)]
struct AuditItem<'a> {
    pk: &'static str,
    sk: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi2sk: Option<String>,
    expires_at: i64,
    #[serde(flatten)]
    entry: &'a AuditEntry,
}

/// Claims an audit entry id: written in one transaction with the entry, on the condition that
/// it does not exist, so a retried action stamped with a later time is not logged twice.
#[derive(Serialize)]
struct AuditIdItem<'a> {
    pk: String,
    sk: &'static str,
    /// Sort key of the entry that claimed the id.
    entry_sk: &'a str,
    expires_at: i64,
}

/// The entry item and its id marker item.
pub(crate) fn encode_audit(entry: &AuditEntry, retention_days: u32) -> StoreResult<(Item, Item)> {
    let sk = keys::audit_sk(&entry.at, &entry.id);
    let account = entry.account_id.as_ref();
    let expires_at = keys::expiry_of_time(&entry.at, retention_days);
    let marker = encode(&AuditIdItem {
        pk: keys::audit_id_pk(&entry.id),
        sk: keys::AUDIT_ID_SK,
        entry_sk: &sk,
        expires_at,
    })?;
    let item = encode(&AuditItem {
        pk: keys::AUDIT_PK,
        gsi1pk: account.map(keys::audit_gsi1pk),
        gsi1sk: account.map(|_| sk.clone()),
        gsi2pk: account.map(keys::activity_gsi2pk),
        gsi2sk: account.map(|_| keys::audit_gsi2sk(&entry.at, &entry.id)),
        sk,
        expires_at,
        entry,
    })?;
    Ok((item, marker))
}

pub(crate) fn decode_audit(item: Item) -> StoreResult<AuditEntry> {
    decode(item)
}

// ---- the account page ----

/// An item of the account page's `BatchGetItem`: the account or one of its history records.
/// Moved straight into the page, never stored, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum PageItem {
    Account(AccountRecord),
    History(HistoryDay),
}

pub(crate) fn decode_page_item(account: &AccountId, item: Item) -> StoreResult<PageItem> {
    let history = item
        .get(super::PK)
        .and_then(|v| v.as_s().ok())
        .is_some_and(|pk| *pk == keys::history_pk(account));
    Ok(if history {
        PageItem::History(decode_history(account, item)?)
    } else {
        PageItem::Account(decode_account(item)?)
    })
}

/// An item of an account's activity index.
pub(crate) enum ActivityItem {
    Alert(Alert),
    Intervention(Intervention),
    Audit(AuditEntry),
}

fn activity_sort_key(item: &Item) -> Option<&str> {
    item.get(super::GSI2_SK)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// Whether an activity item is an audit entry (without decoding it).
pub(crate) fn is_audit_activity(item: &Item) -> bool {
    activity_sort_key(item).is_some_and(|s| s.starts_with(keys::AUDIT_GSI2SK_PREFIX))
}

/// The marker that items written before the activity index were placed on it.
pub(crate) fn activity_indexed_marker() -> Key {
    Key::new(keys::SCHEMA_PK, keys::ACTIVITY_INDEXED_SK)
}

pub(crate) fn encode_activity_indexed_marker(
    at: chrono::DateTime<chrono::Utc>,
) -> StoreResult<Item> {
    #[derive(Serialize)]
    struct Marker {
        pk: &'static str,
        sk: &'static str,
        indexed_at: chrono::DateTime<chrono::Utc>,
    }
    encode(&Marker {
        pk: keys::SCHEMA_PK,
        sk: keys::ACTIVITY_INDEXED_SK,
        indexed_at: at,
    })
}

pub(crate) fn decode_activity(item: Item) -> StoreResult<ActivityItem> {
    let sort = activity_sort_key(&item).unwrap_or_default();
    if sort.starts_with(keys::ALERT_GSI2SK_PREFIX) {
        Ok(ActivityItem::Alert(decode_alert(item)?))
    } else if sort.starts_with(keys::INTERVENTION_GSI2SK_PREFIX) {
        Ok(ActivityItem::Intervention(decode_intervention(item)?))
    } else if sort.starts_with(keys::AUDIT_GSI2SK_PREFIX) {
        Ok(ActivityItem::Audit(decode_audit(item)?))
    } else {
        Err(StoreError::Corrupt(format!(
            "account activity item with sort key {sort:?}"
        )))
    }
}

/// Which kind of item [`activity_keys_for`] gives activity keys to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ActivityKind {
    Alert,
    Intervention,
    Audit,
}

/// For an item written before the account activity index existed: its key and the update
/// placing it there. `None` when it is placed already, or has no account (some audit entries).
pub(crate) fn activity_keys_for(
    kind: ActivityKind,
    item: Item,
) -> StoreResult<Option<(Key, super::Expr)>> {
    if activity_sort_key(&item).is_some() {
        return Ok(None);
    }
    let key: Key = decode(item.clone())?;
    let (account, sort) = match kind {
        ActivityKind::Alert => {
            let a = decode_alert(item)?;
            let sort = keys::alert_gsi2sk(&a.opened_at, &a.id);
            (a.account_id, sort)
        }
        ActivityKind::Intervention => {
            let i = decode_intervention(item)?;
            let sort = keys::intervention_gsi2sk(&i.created_at, &i.id);
            (i.account_id, sort)
        }
        ActivityKind::Audit => {
            let e = decode_audit(item)?;
            let Some(account) = e.account_id else {
                return Ok(None);
            };
            (account, keys::audit_gsi2sk(&e.at, &e.id))
        }
    };
    let update = super::set_activity_keys(&keys::activity_gsi2pk(&account), &sort)?;
    Ok(Some((key, update)))
}

// ---- configuration versions ----

#[derive(Serialize)]
struct ConfigItem<'a> {
    pk: &'static str,
    sk: String,
    #[serde(flatten)]
    version: &'a ConfigVersion,
}

pub(crate) fn config_key(version: u64) -> Key {
    Key::new(keys::CONFIG_PK, keys::config_sk(version))
}

pub(crate) fn encode_config(version: &ConfigVersion) -> StoreResult<Item> {
    encode(&ConfigItem {
        pk: keys::CONFIG_PK,
        sk: keys::config_sk(version.version),
        version,
    })
}

pub(crate) fn decode_config(item: Item) -> StoreResult<ConfigVersion> {
    decode(item)
}

// ---- checkpoints ----

#[derive(Serialize)]
struct CheckpointItem<'a> {
    pk: String,
    sk: String,
    expires_at: i64,
    #[serde(flatten)]
    checkpoint: &'a Checkpoint,
}

pub(crate) fn checkpoint_key(run_id: &str, segment: Segment) -> Key {
    Key::new(keys::run_pk(run_id), keys::segment_sk(segment))
}

pub(crate) fn encode_checkpoint(checkpoint: &Checkpoint) -> StoreResult<Item> {
    encode(&CheckpointItem {
        pk: keys::run_pk(&checkpoint.run_id),
        sk: keys::segment_sk(checkpoint.segment),
        expires_at: keys::expiry_of_time(&checkpoint.updated_at, keys::CHECKPOINT_RETENTION_DAYS),
        checkpoint,
    })
}

pub(crate) fn decode_checkpoint(item: Item) -> StoreResult<Checkpoint> {
    decode(item)
}

// ---- portfolio summaries ----

#[derive(Serialize)]
struct SummaryItem<'a> {
    pk: &'static str,
    sk: String,
    #[serde(flatten)]
    summary: &'a PortfolioSummary,
}

pub(crate) fn encode_summary(summary: &PortfolioSummary) -> StoreResult<Item> {
    let as_of = summary
        .as_of
        .ok_or_else(|| StoreError::Rejected("portfolio summary without as_of".into()))?;
    encode(&SummaryItem {
        pk: keys::SUMMARY_PK,
        sk: keys::date(as_of),
        summary,
    })
}

pub(crate) fn decode_summary(item: Item) -> StoreResult<PortfolioSummary> {
    decode(item)
}

// ---- owners' books ----

#[derive(Serialize)]
struct BookItem<'a> {
    pk: String,
    sk: String,
    /// A book is kept as long as the score history it summarises.
    expires_at: i64,
    #[serde(flatten)]
    book: &'a vitals_core::model::BookDay,
}

pub(crate) fn encode_book_day(
    book: &vitals_core::model::BookDay,
    retention_days: u32,
) -> StoreResult<(Key, Item)> {
    let key = Key {
        pk: keys::book_pk(&book.owner),
        sk: keys::date(book.day),
    };
    let item = encode(&BookItem {
        pk: key.pk.clone(),
        sk: key.sk.clone(),
        expires_at: keys::expiry_of_day(book.day, retention_days),
        book,
    })?;
    Ok((key, item))
}

pub(crate) fn decode_book_day(item: Item) -> StoreResult<vitals_core::model::BookDay> {
    decode(item)
}

// ---- churn model fits ----

#[derive(Serialize)]
struct ChurnModelItem<'a> {
    pk: &'static str,
    sk: String,
    #[serde(flatten)]
    model: &'a vitals_core::churn::ChurnModelRecord,
}

pub(crate) fn encode_churn_model(
    model: &vitals_core::churn::ChurnModelRecord,
) -> StoreResult<Item> {
    encode(&ChurnModelItem {
        pk: keys::CHURN_MODEL_PK,
        sk: keys::date(model.as_of),
        model,
    })
}

pub(crate) fn decode_churn_model(item: Item) -> StoreResult<vitals_core::churn::ChurnModelRecord> {
    decode(item)
}

// ---- late-event marks ----

/// A mark as stored: its day and id in the key and as attributes, its accounts packed.
#[derive(Serialize, Deserialize)]
struct LateMarkItem {
    pk: String,
    sk: String,
    day: chrono::NaiveDate,
    id: String,
    accounts: Packed<Vec<AccountId>>,
}

pub(crate) fn late_mark_key(mark: &vitals_core::run::LateMark) -> Key {
    Key::new(keys::LATE_PK, keys::late_mark_sk(mark.day, &mark.id))
}

pub(crate) fn encode_late_mark(mark: &vitals_core::run::LateMark) -> StoreResult<(Key, Item)> {
    let key = late_mark_key(mark);
    let item = encode(&LateMarkItem {
        pk: key.pk.clone(),
        sk: key.sk.clone(),
        day: mark.day,
        id: mark.id.clone(),
        accounts: Packed(mark.accounts.clone()),
    })?;
    Ok((key, item))
}

pub(crate) fn decode_late_mark(item: Item) -> StoreResult<vitals_core::run::LateMark> {
    let stored: LateMarkItem = decode(item)?;
    Ok(vitals_core::run::LateMark {
        day: stored.day,
        id: stored.id,
        accounts: stored.accounts.0,
    })
}

// ---- touch marks ----

/// A mark as stored: its interval and id in the key and as attributes, its accounts packed,
/// expiring [`TouchMark::KEPT_DAYS`] after its interval.
///
/// [`TouchMark::KEPT_DAYS`]: vitals_core::freshness::TouchMark::KEPT_DAYS
#[derive(Serialize, Deserialize)]
struct TouchMarkItem {
    pk: String,
    sk: String,
    interval: chrono::DateTime<chrono::Utc>,
    id: String,
    accounts: Packed<Vec<AccountId>>,
    expires_at: i64,
}

pub(crate) fn encode_touch_mark(
    mark: &vitals_core::freshness::TouchMark,
) -> StoreResult<(Key, Item)> {
    let key = Key::new(keys::touched_pk(&mark.interval), mark.id.clone());
    let item = encode(&TouchMarkItem {
        pk: key.pk.clone(),
        sk: key.sk.clone(),
        interval: mark.interval,
        id: mark.id.clone(),
        accounts: Packed(mark.accounts.clone()),
        expires_at: keys::expiry_of_time(
            &mark.interval,
            vitals_core::freshness::TouchMark::KEPT_DAYS,
        ),
    })?;
    Ok((key, item))
}

pub(crate) fn decode_touch_mark(item: Item) -> StoreResult<vitals_core::freshness::TouchMark> {
    let stored: TouchMarkItem = decode(item)?;
    Ok(vitals_core::freshness::TouchMark {
        interval: stored.interval,
        id: stored.id,
        accounts: stored.accounts.0,
    })
}

/// One CRM write-back record: what was last written to one CRM for one account.
#[derive(Serialize, Deserialize)]
struct CrmPushedItem {
    pk: String,
    sk: String,
    pushed: vitals_core::crm::CrmPushed,
}

pub(crate) fn encode_crm_pushed(pushed: &vitals_core::crm::CrmPushed) -> StoreResult<(Key, Item)> {
    let key = Key::new(
        keys::crm_pushed_pk(&pushed.crm),
        keys::account_sk(&pushed.account_id),
    );
    let item = encode(&CrmPushedItem {
        pk: key.pk.clone(),
        sk: key.sk.clone(),
        pushed: pushed.clone(),
    })?;
    Ok((key, item))
}

pub(crate) fn decode_crm_pushed(item: Item) -> StoreResult<vitals_core::crm::CrmPushed> {
    let stored: CrmPushedItem = decode(item)?;
    Ok(stored.pushed)
}

/// How far one CRM's activity log has been written.
#[derive(Serialize, Deserialize)]
struct CrmActivityMarkItem {
    pk: String,
    sk: String,
    mark: vitals_core::crm::ActivityMark,
}

pub(crate) fn crm_activity_mark_key(crm: &str) -> Key {
    let (pk, sk) = keys::crm_activity_mark_key(crm);
    Key::new(pk, sk)
}

pub(crate) fn encode_crm_activity_mark(mark: &vitals_core::crm::ActivityMark) -> StoreResult<Item> {
    let key = crm_activity_mark_key(&mark.crm);
    encode(&CrmActivityMarkItem {
        pk: key.pk,
        sk: key.sk,
        mark: mark.clone(),
    })
}

pub(crate) fn decode_crm_activity_mark(item: Item) -> StoreResult<vitals_core::crm::ActivityMark> {
    let stored: CrmActivityMarkItem = decode(item)?;
    Ok(stored.mark)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use chrono::{TimeZone, Utc};
    use vitals_core::model::{AlertStatus, Severity};

    fn s(item: &Item, name: &str) -> String {
        match &item[name] {
            AttributeValue::S(v) => v.clone(),
            other => panic!("{name} is {other:?}"),
        }
    }

    fn alert() -> Alert {
        let at = Utc.with_ymd_and_hms(2026, 2, 3, 4, 5, 6).unwrap();
        Alert {
            id: "al-1".into(),
            account_id: AccountId::new("acme").unwrap(),
            dedupe_key: "acme/decline/usage".into(),
            kind: "decline".into(),
            cause: "usage".into(),
            severity: Severity::Critical,
            status: AlertStatus::Open,
            owner: None,
            about_day: None,
            opened_at: at,
            updated_at: at,
            snoozed_until: None,
            snooze_reason: None,
            transitions: vec![],
            details: serde_json::json!({"drop": 0.62, "days": 14}),
            version: 1,
        }
    }

    #[test]
    fn an_alert_is_stored_with_its_fields_at_top_level_and_reads_back_equal() {
        let a = alert();
        let item = encode_alert(&a).unwrap();
        assert_eq!(s(&item, "pk"), "ALERT#al-1");
        assert_eq!(s(&item, "sk"), "ALERT");
        assert_eq!(s(&item, "gsi1pk"), "ALERTS");
        assert_eq!(s(&item, "gsi1sk"), "2026-02-03T04:05:06.000000Z#al-1");
        assert_eq!(s(&item, "status"), "open");
        assert_eq!(item["version"], AttributeValue::N("1".into()));
        assert_eq!(decode_alert(item).unwrap(), a);
    }

    #[test]
    fn a_user_is_indexed_under_its_account_only_when_linked() {
        let mut user = UserProfile {
            user_id: "u1".into(),
            ..UserProfile::default()
        };
        let item = encode_user(&user).unwrap();
        assert!(!item.contains_key("gsi1pk"));
        assert_eq!(decode_user(item).unwrap(), user);

        user.account_id = Some(AccountId::new("acme").unwrap());
        let item = encode_user(&user).unwrap();
        assert_eq!(s(&item, "gsi1pk"), "ACCOUNT#acme");
        assert_eq!(s(&item, "gsi1sk"), "USER#u1");
        assert_eq!(decode_user(item).unwrap(), user);
    }

    #[test]
    fn an_account_with_only_a_profile_reads_with_an_empty_window() {
        let item = encode(&serde_json::json!({
            "pk": "ACCOUNTS#01", "sk": "ACCOUNT#acme", "account_id": "acme",
            "profile": {"name": "Acme", "custom": {}}
        }))
        .unwrap();
        let record = decode_account(item).unwrap();
        assert_eq!(record.profile.name.as_deref(), Some("Acme"));
        assert_eq!(record.window, Default::default());
        assert_eq!(record.score, None);
        assert!(
            record.trail.is_empty(),
            "items from before the trail read an empty one"
        );
    }

    #[test]
    fn an_account_item_keeps_its_score_trail_packed_and_small() {
        use vitals_core::model::Band;
        let mut record = AccountRecord::new(AccountId::new("acme").unwrap());
        // 180 days of a score drifting by up to ±3 points a day, with one decimal.
        let first = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let (mut score, mut seed): (f64, u64) = (62.0, 1);
        for d in 0..180u64 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            score = (score + ((seed >> 33) % 61) as f64 / 10.0 - 3.0).clamp(0.0, 100.0);
            let score = (score * 10.0).round() / 10.0;
            let band = if score < 40.0 {
                Band::AtRisk
            } else {
                Band::Monitor
            };
            record
                .trail
                .record(first + chrono::Days::new(d), score, band);
        }
        let update = super::super::set_scoring_state(&record).unwrap();
        let packed = match &update.values[":trail"] {
            AttributeValue::B(bytes) => bytes.as_ref().len(),
            other => panic!("trail is {other:?}"),
        };
        // The bytes it adds to the item: the attribute name and its binary value.
        let added = "trail".len() + packed;
        println!("a 180-day trail adds {added} bytes to an account item");
        assert!(added < 400, "{added} bytes");

        let mut item = encode(&serde_json::json!({
            "pk": "ACCOUNTS#01", "sk": "ACCOUNT#acme", "account_id": "acme"
        }))
        .unwrap();
        item.insert("trail".into(), update.values[":trail"].clone());
        assert_eq!(decode_account(item).unwrap().trail, record.trail);
    }

    #[test]
    fn a_summary_without_a_day_is_rejected() {
        let err = encode_summary(&PortfolioSummary::default()).unwrap_err();
        assert!(matches!(err, StoreError::Rejected(_)));
    }

    #[test]
    fn a_summary_stored_with_unattributed_events_in_extra_reads_back_with_the_count() {
        // As versions before the typed field wrote it: a float inside `extra`.
        let item = encode(&serde_json::json!({
            "pk": keys::SUMMARY_PK, "sk": "2026-03-10", "as_of": "2026-03-10", "accounts": 2,
            "mean_score": 80.0, "mrr_at_risk": 0.0, "expansion_candidates": 0,
            "extra": {"mrr_total": 500.0, "unattributed_events": 5.0}
        }))
        .unwrap();
        let summary = decode_summary(item).unwrap();
        assert_eq!(summary.unattributed_events, 5);
        assert_eq!(summary.extra.len(), 1, "{:?}", summary.extra);
        let again = encode_summary(&summary).unwrap();
        assert_eq!(again["unattributed_events"], AttributeValue::N("5".into()));
        assert_eq!(decode_summary(again).unwrap(), summary);
    }

    #[test]
    fn a_damaged_item_is_reported_corrupt() {
        let item = encode(&serde_json::json!({"pk": "ALERT#x", "sk": "ALERT"})).unwrap();
        assert!(matches!(decode_alert(item), Err(StoreError::Corrupt(_))));
    }
}

//! The storage contract: what every [`Storage`] backend must do, one public function per
//! documented behaviour of the ports in `vitals_core::ports`.
//!
//! Each function gets a fresh, empty store (its own table or database) and panics with a message
//! naming the call and the expectation when the backend breaks the contract. Run them through
//! [`storage_contract_tests!`](crate::storage_contract_tests).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::future::Future;

use vitals_core::alerts::rules::{Action, OutreachMode};
use vitals_core::history::HistoryDay;
use vitals_core::model::{
    AccountId, AccountProfile, AccountRecord, ActionRecord, ActionStatus, Alert, AlertQuery,
    AlertStatus, AlertTransition, AuditEntry, BookDay, BookFigures, Checkpoint, ConfigVersion,
    EventChunk, EventKind, Intervention, Page, PortfolioSummary, ScoreRecord, SegmentListing,
    Severity, StoredEvent, UserProfile,
};
use vitals_core::notify::{Draft, Notification, NotificationKind};
use vitals_core::ports::Storage;
use vitals_core::query::listing::ListingBuilder;
use vitals_core::run::LateMark;
use vitals_core::segment::Segment;
use vitals_core::StoreError;
use vitals_scoring::usage_features::UsageSnapshot;
use vitals_scoring::{score_account, AccountFacts, DayActivity, ScoringConfig, UsageWindow};

use crate::support::Must;

mod activity;
mod crm;
mod freshness;
pub use activity::*;
pub use crm::*;
pub use freshness::*;

/// Expands to one `#[tokio::test]` per storage behaviour, inside `mod $backend`.
///
/// `$open` is an async fn (visible from the invoking module) returning
/// `Option<vitals_tests::Backend<S>>` with a fresh, empty store; `None` skips the test.
#[macro_export]
macro_rules! storage_contract_tests {
    ($backend:ident, $open:path) => {
        $crate::storage_contract_tests!(@each $backend, $open;
            chunk_written_twice_is_stored_once,
            chunk_repeated_in_one_call_is_stored_once,
            chunks_round_trip_with_their_events,
            chunks_are_isolated_by_segment_and_day,
            chunks_of_a_segment_day_come_in_account_then_chunk_order,
            chunks_of_an_account_day_exclude_accounts_sharing_its_prefix,
            many_chunks_in_one_call_are_all_stored,
            unknown_account_is_none,
            profile_write_keeps_scoring_state,
            scoring_state_write_keeps_profile,
            scoring_state_creates_the_account,
            scoring_state_keeps_the_score_trail,
            scoring_states_in_one_call_keep_profiles,
            segment_listing_is_in_account_order_and_pages_without_gaps,
            segment_listing_rejects_an_invalid_cursor,
            user_round_trips_and_is_replaced_whole,
            users_of_account_are_in_user_id_order,
            relinked_user_moves_to_the_new_account,
            history_range_is_inclusive_and_oldest_first,
            history_rewrite_of_a_day_overwrites,
            history_is_per_account,
            many_history_records_in_one_call_are_all_stored,
            alert_insert_with_an_existing_id_conflicts,
            alert_update_needs_the_next_version,
            alert_update_of_a_missing_alert_conflicts,
            alerts_list_newest_opened_first,
            alerts_filter_by_status_and_account,
            alert_pages_are_full_without_duplicates_or_gaps,
            alert_listing_reflects_updates,
            alert_listing_rejects_an_invalid_cursor,
            intervention_insert_with_an_existing_id_conflicts,
            intervention_update_needs_the_next_version,
            interventions_list_newest_first_per_account_in_full_pages,
            audit_entry_appended_twice_is_stored_once,
            audit_retry_at_a_later_time_is_stored_once,
            audit_lists_newest_first_in_full_pages,
            audit_lists_per_account,
            audit_listing_rejects_an_invalid_cursor,
            config_is_empty_until_a_version_is_stored,
            config_version_that_exists_conflicts,
            config_latest_is_the_highest_version,
            config_versions_list_newest_first_up_to_limit,
            checkpoint_put_replaces,
            checkpoints_list_by_segment_per_run,
            summary_latest_is_the_newest_day,
            summaries_range_is_inclusive_and_oldest_first,
            book_days_are_per_owner_oldest_first_and_a_rewrite_replaces,
            segment_listings_come_in_segment_order_and_a_rewrite_replaces,
            a_segment_listing_too_large_for_one_item_round_trips,
            account_listing_carries_the_trend_up_to_the_newest_summary,
            listing_version_changes_with_every_listing_or_summary_write,
            churn_model_latest_is_the_newest_day,
            churn_model_without_a_fit_round_trips_its_reason,
            late_marks_list_by_day_rewrite_in_place_and_delete_by_key,
            touch_marks_are_kept_by_interval_and_a_retry_rewrites_in_place,
            provisional_score_is_written_apart_from_profile_and_scoring_state,
            provisional_rows_come_with_the_account_listing_and_change_its_version,
            crm_pushed_records_are_kept_per_crm_and_a_rewrite_replaces,
            crm_activity_marks_are_kept_per_crm_and_replaced,
            account_activity_is_the_accounts_own_newest_and_the_history_days_asked,
            unicode_and_longest_ids_round_trip_everywhere,
        );
    };
    (@each $backend:ident, $open:path; $($behaviour:ident),+ $(,)?) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    if let Some(backend) = $open().await {
                        $crate::storage_contract::$behaviour(&backend.port).await;
                    }
                }
            )+
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Fixtures

pub fn acct(id: &str) -> AccountId {
    AccountId::new(id).unwrap_or_else(|e| panic!("fixture account id {id:?}: {e}"))
}

pub fn day(s: &str) -> NaiveDate {
    s.parse()
        .unwrap_or_else(|e| panic!("fixture date {s:?}: {e}"))
}

/// 2026-03-01T00:00:00Z plus `secs`, with a microsecond part so precision is exercised.
pub fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_323_200 + secs, 123_456_000)
        .unwrap_or_else(|| panic!("fixture time {secs}"))
}

/// `base` followed by one id per suffix, `base{suffix}{n}` with the first `n` that lands in
/// `base`'s segment: accounts whose ids extend another's, in one partition. (With FNV-1a the
/// segment of `base + s` depends only on the segment of `base` and on `s`, so the search varies
/// the end of the id.)
pub fn same_segment_ids(base: &str, suffixes: &[&str]) -> Vec<AccountId> {
    let first = acct(base);
    let mut ids = vec![first.clone()];
    for suffix in suffixes {
        let found = (0..100_000u32)
            .map(|n| acct(&format!("{base}{suffix}{n}")))
            .find(|a| a.segment() == first.segment())
            .unwrap_or_else(|| panic!("no {base}{suffix}N id in the segment of {base}"));
        ids.push(found);
    }
    ids
}

/// `count` account ids in `segment`, in no particular order.
pub fn ids_in_segment(prefix: &str, segment: Segment, count: usize) -> Vec<AccountId> {
    (0..)
        .map(|i| acct(&format!("{prefix}-{i}")))
        .filter(|a| a.segment() == segment)
        .take(count)
        .collect()
}

pub fn event(message_id: &str, user: &str, t: DateTime<Utc>) -> StoredEvent {
    let mut properties = serde_json::Map::new();
    properties.insert("feature".into(), json!("reports"));
    properties.insert("duration_ms".into(), json!(1234));
    properties.insert(
        "nested".into(),
        json!({"ok": true, "tags": ["a", "ü"], "n": null}),
    );
    StoredEvent {
        message_id: message_id.to_string(),
        kind: EventKind::Track,
        name: Some("Report Viewed".into()),
        user_id: Some(user.to_string()),
        timestamp: t,
        properties: properties.into(),
    }
}

pub fn chunk(account: &AccountId, on: NaiveDate, message_ids: &[&str]) -> EventChunk {
    let events = message_ids
        .iter()
        .enumerate()
        .map(|(i, m)| event(m, "user-1", at(i as i64)))
        .collect();
    EventChunk::new(account.clone(), on, events)
}

// Defaults keep the fixture compiling as the model gains optional fields.
#[allow(clippy::needless_update)]
pub fn profile(name: &str) -> AccountProfile {
    let mut custom = BTreeMap::new();
    custom.insert("industry".to_string(), json!("retail"));
    custom.insert("nested".to_string(), json!({"a": [1, 2.5, null], "b": ""}));
    AccountProfile {
        name: Some(name.to_string()),
        plan: Some("enterprise".into()),
        tier: Some("gold".into()),
        seats: Some(50),
        mrr: Some(4200.5),
        arr: Some(50_406.0),
        renewal_date: Some(day("2026-11-30")),
        owner: Some("csm@example.com".into()),
        owner_manager: Some("lead@example.com".into()),
        region: Some("eu-west".into()),
        product_line: Some("analytics".into()),
        started_on: Some(day("2024-02-29")),
        custom,
        updated_at: Some(at(60)),
        ..AccountProfile::default()
    }
}

/// A real score from the scoring kernel (default configuration) over [`window`]; `events`
/// varies the usage so two records differ, and stamps `computed_at`.
pub fn score_record(account: &AccountId, as_of: NaiveDate, events: f64) -> ScoreRecord {
    let facts = AccountFacts {
        tier: Some("gold".into()),
        seats_licensed: Some(50),
        mrr: Some(4200.5),
        renewal_date: Some(day("2026-11-30")),
        contract_start: Some(day("2024-02-29")),
        champions: vec!["user-1".into()],
        ..AccountFacts::default()
    };
    let w = window(as_of, events as u32);
    ScoreRecord {
        account_id: account.clone(),
        as_of,
        computed_at: at(3600 + events as i64),
        score: score_account(&ScoringConfig::default(), &facts, &w, as_of, None),
    }
}

/// The history entry of [`score_record`], with a usage snapshot, its signal figures already at
/// the f32 precision the history keeps (so it reads back equal).
pub fn history_day(account: &AccountId, as_of: NaiveDate, events: f64) -> HistoryDay {
    let mut entry = HistoryDay::of(&score_record(account, as_of, events));
    // As stores keep them: figures to f32 precision, points as the stored value x weight.
    let f32_precision = |v: f64| f64::from(v as f32);
    for s in &mut entry.health.signals {
        s.raw = s.raw.map(f32_precision);
        s.value = s.value.map(f32_precision);
        s.weight = f32_precision(s.weight);
        s.points = f32_precision(s.value.unwrap_or(0.0) * s.weight);
    }
    entry.usage = Some(UsageSnapshot {
        events: BTreeMap::from([("Report Built 📈".to_string(), [3.0, 12.0, events as f32])]),
        active_users: 4,
        tenure_days: Some(365),
        ..UsageSnapshot::default()
    });
    entry
}

/// Forty days of usage up to `through`, the busiest day with `events` events, plus tickets,
/// survey answers and an overdue invoice so every part of the window is stored.
pub fn window(through: NaiveDate, events: u32) -> UsageWindow {
    let mut w = UsageWindow::default();
    for back in (0..40u64).rev() {
        let d = through - chrono::Days::new(back);
        let quiet = back % 7 == 3;
        w.roll(
            d,
            &DayActivity {
                day: Some(d),
                active_users: if quiet {
                    Vec::new()
                } else {
                    vec!["user-1".into(), format!("user-{}", back % 5 + 2)]
                },
                sessions: if quiet { 0 } else { 3 },
                session_seconds: if quiet { 0 } else { 1200 },
                api_calls: (back as u32) * 3,
                events: if back == 0 {
                    events
                } else if quiet {
                    0
                } else {
                    20 + back as u32
                },
                features: vec!["reports".into(), "export".into()],
                nps: if back == 10 { vec![9, 6] } else { Vec::new() },
                csat: if back == 5 { vec![4] } else { Vec::new() },
                csm_checkins: u32::from(back == 12),
                invoices_overdue: u32::from(back == 2),
                first_value_reached: back == 30,
                ..DayActivity::default()
            },
        );
    }
    w
}

/// A scoring state whose profile half is deliberately stale: writing it must not touch the
/// stored profile.
pub fn scoring_state(account: &AccountId, events: f64) -> AccountRecord {
    let as_of = day("2026-03-01");
    AccountRecord {
        account_id: account.clone(),
        profile: profile("stale profile the run read earlier"),
        window: window(as_of, events as u32),
        score: Some(score_record(account, as_of, events)),
        trail: Default::default(),
        provisional: None,
    }
}

// Defaults keep the fixture compiling as the model gains optional fields.
#[allow(clippy::needless_update)]
pub fn user(user_id: &str, account: Option<&AccountId>) -> UserProfile {
    let mut traits = BTreeMap::new();
    traits.insert("title".to_string(), json!("Head of Ops"));
    UserProfile {
        user_id: user_id.to_string(),
        account_id: account.cloned(),
        name: Some("Ada Lovelace".into()),
        email: Some("ada@example.com".into()),
        role: Some("admin".into()),
        champion: true,
        traits,
        updated_at: Some(at(10)),
        ..UserProfile::default()
    }
}

pub fn alert(id: &str, account: &AccountId, opened_secs: i64, status: AlertStatus) -> Alert {
    Alert {
        id: id.to_string(),
        account_id: account.clone(),
        dedupe_key: format!("{account}:usage_decline:{id}"),
        kind: "usage_decline".into(),
        cause: "14-day active-usage index at 35% of the 90-day average".into(),
        severity: Severity::Critical,
        status,
        owner: Some("csm@example.com".into()),
        about_day: None,
        opened_at: at(opened_secs),
        updated_at: at(opened_secs),
        snoozed_until: None,
        snooze_reason: None,
        transitions: Vec::new(),
        details: json!({"index": 0.35, "users": ["a", "b"]}),
        version: 1,
    }
}

pub fn audit(id: &str, account: Option<&AccountId>, at_secs: i64) -> AuditEntry {
    AuditEntry {
        id: id.to_string(),
        at: at(at_secs),
        account_id: account.cloned(),
        actor: "workflow:decline-outreach".into(),
        action: "send_outreach".into(),
        detail: json!({"channel": "email", "to": "ada@example.com"}),
    }
}

pub fn config(version: u64) -> ConfigVersion {
    ConfigVersion {
        version,
        author: "admin@example.com".into(),
        created_at: at(version as i64),
        body: format!("[scoring]\nrun_at = \"06:00\"\n# version {version}\n"),
        summary: format!("version {version}"),
    }
}

pub fn checkpoint(run_id: &str, segment: u16, done: bool, scored: u64) -> Checkpoint {
    Checkpoint {
        run_id: run_id.to_string(),
        segment: Segment(segment),
        done,
        last_account: Some(acct(&format!("acct-{scored}"))),
        accounts_scored: scored,
        events_emitted: scored * 2,
        updated_at: at(scored as i64),
        summary: summary(day("2026-03-01"), scored),
    }
}

// Defaults keep the fixture compiling as the model gains optional fields.
#[allow(clippy::needless_update)]
pub fn summary(as_of: NaiveDate, accounts: u64) -> PortfolioSummary {
    let mut bands = BTreeMap::new();
    bands.insert("at_risk".to_string(), accounts / 4);
    bands.insert("healthy".to_string(), accounts / 2);
    let mut extra = BTreeMap::new();
    extra.insert("nrr".to_string(), json!(1.07));
    PortfolioSummary {
        as_of: Some(as_of),
        computed_at: Some(at(7200)),
        accounts,
        bands,
        histogram: vec![1, 0, 2, 3, 5, 8, 13, 21, 34, 55],
        mean_score: 63.25,
        mrr_at_risk: 12_500.5,
        expansion_candidates: 7,
        extra,
        ..PortfolioSummary::default()
    }
}

/// Cursors no backend could have issued.
pub const INVALID_CURSORS: [&str; 2] = ["!!! not a cursor !!!", "bm90IGpzb24"];

// ---------------------------------------------------------------------------------------------
// Paging helpers

/// Follows cursors until the last page, failing on a cursor loop.
pub async fn all_pages<T, F, Fut>(what: &str, mut fetch: F) -> Vec<Page<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, StoreError>>,
{
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = fetch(cursor.take()).await.must(what);
        let next = page.next.clone();
        pages.push(page);
        match next {
            Some(n) => cursor = Some(n),
            None => return pages,
        }
        assert!(
            pages.len() < 200,
            "{what}: more than 200 pages, cursor loop?"
        );
    }
}

/// Pages that promise more (`next` set) hold exactly `limit` items; the last holds at most
/// `limit` (an empty last page after a full one is tolerated). Returns the items in order.
pub fn full_pages<T: Clone>(what: &str, pages: &[Page<T>], limit: usize) -> Vec<T> {
    for (i, p) in pages.iter().enumerate() {
        if p.next.is_some() {
            assert_eq!(
                p.items.len(),
                limit,
                "{what}: page {i} has a next cursor but {} items instead of the limit {limit}",
                p.items.len()
            );
        } else {
            assert!(
                p.items.len() <= limit,
                "{what}: last page {i} has {} items, over the limit {limit}",
                p.items.len()
            );
        }
    }
    pages.iter().flat_map(|p| p.items.iter().cloned()).collect()
}

fn assert_conflict<T: Debug>(what: &str, result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("{what}: expected StoreError::Conflict, got {other:?}"),
    }
}

fn assert_rejected<T: Debug>(what: &str, result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Rejected(_)) => {}
        other => panic!("{what}: expected StoreError::Rejected, got {other:?}"),
    }
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> String) -> Vec<String> {
    items.iter().map(id).collect()
}

// ---------------------------------------------------------------------------------------------
// Event chunks

pub async fn chunk_written_twice_is_stored_once<S: Storage>(store: &S) {
    let a = acct("acme");
    let d = day("2026-03-01");
    let c = chunk(&a, d, &["m1", "m2"]);
    store
        .put_chunks(std::slice::from_ref(&c))
        .await
        .must("put_chunks");
    store
        .put_chunks(std::slice::from_ref(&c))
        .await
        .must("put_chunks again");
    let got = store
        .chunks_for_account_day(&a, d)
        .await
        .must("chunks_for_account_day");
    assert_eq!(
        got,
        vec![c.clone()],
        "account-day read after a retried write"
    );
    let got = store
        .chunks_for_segment_day(a.segment(), d)
        .await
        .must("chunks_for_segment_day");
    assert_eq!(got, vec![c], "segment-day read after a retried write");
}

pub async fn chunk_repeated_in_one_call_is_stored_once<S: Storage>(store: &S) {
    let a = acct("acme");
    let d = day("2026-03-01");
    let c = chunk(&a, d, &["m1", "m2"]);
    let other = chunk(&a, d, &["m3"]);
    store
        .put_chunks(&[c.clone(), other.clone(), c.clone()])
        .await
        .must("put_chunks with a repeated chunk");
    let mut want = vec![c, other];
    want.sort_by(|x, y| x.chunk_id.cmp(&y.chunk_id));
    let got = store
        .chunks_for_account_day(&a, d)
        .await
        .must("chunks_for_account_day");
    assert_eq!(got, want);
}

pub async fn chunks_round_trip_with_their_events<S: Storage>(store: &S) {
    let a = acct("acme");
    let d = day("2026-03-01");
    let mut events: Vec<StoredEvent> = (0..300)
        .map(|i| event(&format!("msg-{i:04}"), &format!("user-{}", i % 7), at(i)))
        .collect();
    events[0].kind = EventKind::Identify;
    events[0].name = None;
    events[0].properties.clear();
    events[1].kind = EventKind::Page;
    events[1].user_id = None;
    events[2].name = Some("Rapport consulté — 报告 🚀".into());
    let c = EventChunk::new(a.clone(), d, events);
    store
        .put_chunks(std::slice::from_ref(&c))
        .await
        .must("put_chunks");
    let got = store
        .chunks_for_account_day(&a, d)
        .await
        .must("chunks_for_account_day");
    assert_eq!(got.len(), 1, "one chunk stored");
    assert_eq!(got[0].chunk_id, c.chunk_id);
    assert_eq!(got[0].events.len(), 300);
    assert_eq!(got[0], c, "the chunk reads back exactly as written");
}

pub async fn chunks_are_isolated_by_segment_and_day<S: Storage>(store: &S) {
    let d1 = day("2026-03-01");
    let d2 = day("2026-03-02");
    let a = acct("acme");
    let other_segment = (0..)
        .map(|i| acct(&format!("other-{i}")))
        .find(|o| o.segment() != a.segment())
        .unwrap_or_else(|| panic!("an account in another segment"));
    let a1 = chunk(&a, d1, &["a-d1"]);
    let a2 = chunk(&a, d2, &["a-d2"]);
    let o1 = chunk(&other_segment, d1, &["o-d1"]);
    store
        .put_chunks(&[a1.clone(), a2.clone(), o1.clone()])
        .await
        .must("put_chunks");

    let seg_d1 = store
        .chunks_for_segment_day(a.segment(), d1)
        .await
        .must("chunks_for_segment_day");
    assert_eq!(seg_d1, vec![a1.clone()], "segment of acme, day 1");
    let seg_d2 = store
        .chunks_for_segment_day(a.segment(), d2)
        .await
        .must("chunks_for_segment_day");
    assert_eq!(seg_d2, vec![a2.clone()], "segment of acme, day 2");
    let other = store
        .chunks_for_segment_day(other_segment.segment(), d1)
        .await
        .must("chunks_for_segment_day");
    assert_eq!(other, vec![o1], "the other segment, day 1");
    let acct_d2 = store
        .chunks_for_account_day(&a, d2)
        .await
        .must("chunks_for_account_day");
    assert_eq!(acct_d2, vec![a2], "acme, day 2");
    let none = store
        .chunks_for_account_day(&a, day("2026-03-03"))
        .await
        .must("chunks_for_account_day");
    assert!(none.is_empty(), "a day without chunks reads empty");
}

pub async fn chunks_of_a_segment_day_come_in_account_then_chunk_order<S: Storage>(store: &S) {
    // "x" is a prefix of the others, and '!' sorts before the '#' a key might join with.
    let accounts = same_segment_ids("x", &["!", "#a", "0"]);
    let d = day("2026-03-01");
    let mut chunks = Vec::new();
    for (i, a) in accounts.iter().enumerate().rev() {
        for j in 0..3 {
            chunks.push(chunk(a, d, &[&format!("m-{i}-{j}")]));
        }
    }
    store.put_chunks(&chunks).await.must("put_chunks");
    let mut want = chunks.clone();
    want.sort_by(|x, y| {
        (x.account_id.as_str(), &x.chunk_id).cmp(&(y.account_id.as_str(), &y.chunk_id))
    });
    let got = store
        .chunks_for_segment_day(accounts[0].segment(), d)
        .await
        .must("chunks_for_segment_day");
    let key = |c: &EventChunk| format!("{} / {}", c.account_id, c.chunk_id);
    assert_eq!(
        ids(&got, key),
        ids(&want, key),
        "chunks in (account id, chunk id) order"
    );
}

pub async fn chunks_of_an_account_day_exclude_accounts_sharing_its_prefix<S: Storage>(store: &S) {
    let accounts = same_segment_ids("acme", &["#eu", "-eu", "!", "#"]);
    let d = day("2026-03-01");
    let chunks: Vec<EventChunk> = accounts
        .iter()
        .map(|a| chunk(a, d, &[&format!("m-{a}")]))
        .collect();
    store.put_chunks(&chunks).await.must("put_chunks");
    for (a, c) in accounts.iter().zip(&chunks) {
        let got = store
            .chunks_for_account_day(a, d)
            .await
            .must("chunks_for_account_day");
        assert_eq!(got, vec![c.clone()], "chunks of {a:?} only");
    }
}

pub async fn many_chunks_in_one_call_are_all_stored<S: Storage>(store: &S) {
    let d = day("2026-03-01");
    let segment = Segment(7);
    let accounts = ids_in_segment("bulk", segment, 12);
    let chunks: Vec<EventChunk> = (0..60)
        .map(|i| chunk(&accounts[i % accounts.len()], d, &[&format!("m-{i}")]))
        .collect();
    store.put_chunks(&chunks).await.must("put_chunks of 60");
    let got = store
        .chunks_for_segment_day(segment, d)
        .await
        .must("chunks_for_segment_day");
    assert_eq!(got.len(), 60, "all 60 chunks stored");
    let mut want = chunks;
    want.sort_by(|x, y| {
        (x.account_id.as_str(), &x.chunk_id).cmp(&(y.account_id.as_str(), &y.chunk_id))
    });
    assert_eq!(got, want);
}

// ---------------------------------------------------------------------------------------------
// Accounts

pub async fn unknown_account_is_none<S: Storage>(store: &S) {
    let got = store.get_account(&acct("nobody")).await.must("get_account");
    assert_eq!(got, None);
}

pub async fn profile_write_keeps_scoring_state<S: Storage>(store: &S) {
    let a = acct("acme");
    let state = scoring_state(&a, 72.5);
    store
        .put_scoring_state(&state)
        .await
        .must("put_scoring_state");
    let p = profile("Acme Corp");
    store.put_profile(&a, &p).await.must("put_profile");
    let got = store
        .get_account(&a)
        .await
        .must("get_account")
        .unwrap_or_else(|| panic!("account missing after put_profile"));
    assert_eq!(got.account_id, a);
    assert_eq!(got.profile, p, "profile replaced");
    assert_eq!(got.window, state.window, "window kept by put_profile");
    assert_eq!(got.score, state.score, "score kept by put_profile");

    let p2 = AccountProfile {
        name: Some("Acme Corporation".into()),
        ..AccountProfile::default()
    };
    store.put_profile(&a, &p2).await.must("put_profile again");
    let got = store
        .get_account(&a)
        .await
        .must("get_account")
        .unwrap_or_else(|| panic!("account missing"));
    assert_eq!(got.profile, p2, "profile replaced whole, not merged");
    assert_eq!(got.window, state.window);
    assert_eq!(got.score, state.score);
}

pub async fn scoring_state_write_keeps_profile<S: Storage>(store: &S) {
    let a = acct("acme");
    let p = profile("Acme Corp");
    store.put_profile(&a, &p).await.must("put_profile");
    let state = scoring_state(&a, 35.0);
    store
        .put_scoring_state(&state)
        .await
        .must("put_scoring_state");
    let got = store
        .get_account(&a)
        .await
        .must("get_account")
        .unwrap_or_else(|| panic!("account missing"));
    assert_eq!(
        got.profile, p,
        "put_scoring_state must keep the stored profile, not write the record's stale one"
    );
    assert_eq!(got.window, state.window);
    assert_eq!(got.score, state.score);

    let later = AccountRecord {
        window: window(day("2026-03-02"), 3),
        score: Some(score_record(&a, day("2026-03-02"), 20.0)),
        ..state
    };
    store
        .put_scoring_state(&later)
        .await
        .must("put_scoring_state again");
    let got = store
        .get_account(&a)
        .await
        .must("get_account")
        .unwrap_or_else(|| panic!("account missing"));
    assert_eq!(got.profile, p);
    assert_eq!(got.window, later.window, "window replaced");
    assert_eq!(got.score, later.score, "score replaced");
}

pub async fn scoring_state_creates_the_account<S: Storage>(store: &S) {
    let a = acct("fresh");
    let state = AccountRecord {
        profile: AccountProfile::default(),
        ..scoring_state(&a, 88.0)
    };
    store
        .put_scoring_state(&state)
        .await
        .must("put_scoring_state");
    let got = store
        .get_account(&a)
        .await
        .must("get_account")
        .unwrap_or_else(|| panic!("put_scoring_state must create the account"));
    assert_eq!(got, state);
    let listed = store
        .list_segment(a.segment(), None, 10)
        .await
        .must("list_segment");
    assert_eq!(listed.items, vec![state], "created account is listed");
}

pub async fn scoring_state_keeps_the_score_trail<S: Storage>(store: &S) {
    use vitals_core::model::{Band, ScoreTrail};
    let a = acct("trailed");
    store
        .put_profile(&a, &profile("Trailed Inc"))
        .await
        .must("put_profile");
    let before = store.get_account(&a).await.must("get_account");
    assert_eq!(
        before.map(|r| r.trail),
        Some(ScoreTrail::default()),
        "an account never scored reads an empty trail"
    );
    // A full 180-day trail with a missed day and every band.
    let mut trail = ScoreTrail::default();
    for back in (0..181).filter(|back| *back != 7) {
        let score = (back % 101) as f64 + 0.5;
        let band = match score {
            s if s < 40.0 => Band::AtRisk,
            s if s > 80.0 => Band::Healthy,
            _ => Band::Monitor,
        };
        trail.record(day("2026-03-01") - chrono::Days::new(back), score, band);
    }
    let state = AccountRecord {
        trail,
        ..scoring_state(&a, 40.0)
    };
    store
        .put_scoring_state(&state)
        .await
        .must("put_scoring_state");
    let got = store
        .get_account(&a)
        .await
        .must("get_account")
        .unwrap_or_else(|| panic!("account missing"));
    assert_eq!(got.trail, state.trail, "trail round-trips");
    assert_eq!(got.trail.len(), 179);
    let listed = store
        .list_segment(a.segment(), None, 10)
        .await
        .must("list_segment");
    assert_eq!(
        listed.items.iter().map(|r| &r.trail).collect::<Vec<_>>(),
        vec![&state.trail],
        "listed with its trail"
    );

    let cleared = AccountRecord {
        trail: ScoreTrail::default(),
        ..state
    };
    store
        .put_scoring_state(&cleared)
        .await
        .must("put_scoring_state again");
    let got = store.get_account(&a).await.must("get_account");
    assert_eq!(
        got.map(|r| r.trail),
        Some(ScoreTrail::default()),
        "trail replaced"
    );
}

pub async fn scoring_states_in_one_call_keep_profiles<S: Storage>(store: &S) {
    let accounts: Vec<AccountId> = (0..40).map(|i| acct(&format!("batch-{i:02}"))).collect();
    for a in accounts.iter().step_by(2) {
        store
            .put_profile(a, &profile(&format!("profile of {a}")))
            .await
            .must("put_profile");
    }
    let states: Vec<AccountRecord> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| scoring_state(a, 10.0 + i as f64))
        .collect();
    store
        .put_scoring_states(&states)
        .await
        .must("put_scoring_states of 40");
    for (i, (a, state)) in accounts.iter().zip(&states).enumerate() {
        let got = store
            .get_account(a)
            .await
            .must("get_account")
            .unwrap_or_else(|| panic!("{a}: missing after put_scoring_states"));
        if i % 2 == 0 {
            let want = profile(&format!("profile of {a}"));
            assert_eq!(got.profile, want, "{a}: stored profile kept");
        } else {
            assert_ne!(
                got.profile.name, state.profile.name,
                "{a}: the record's stale profile must not be written"
            );
        }
        assert_eq!(got.window, state.window, "{a}: window");
        assert_eq!(got.score, state.score, "{a}: score");
    }
}

pub async fn segment_listing_is_in_account_order_and_pages_without_gaps<S: Storage>(store: &S) {
    let segment = Segment(11);
    let members = ids_in_segment("seg", segment, 23);
    for (i, a) in members.iter().enumerate() {
        if i % 3 == 0 {
            store
                .put_scoring_state(&scoring_state(a, i as f64))
                .await
                .must("put_scoring_state");
        }
        store
            .put_profile(a, &profile(&format!("account {i}")))
            .await
            .must("put_profile");
    }
    let outsiders: Vec<AccountId> = (0..)
        .map(|i| acct(&format!("out-{i}")))
        .filter(|a| a.segment() != segment)
        .take(5)
        .collect();
    for a in &outsiders {
        store
            .put_profile(a, &profile("outsider"))
            .await
            .must("put_profile");
    }

    let mut want: Vec<String> = members.iter().map(|a| a.to_string()).collect();
    want.sort();
    for limit in [5, 23, 100] {
        let pages = all_pages("list_segment", |cursor| async move {
            store.list_segment(segment, cursor.as_deref(), limit).await
        })
        .await;
        for (i, p) in pages.iter().enumerate() {
            assert!(
                p.items.len() <= limit,
                "list_segment page {i}: {} items over limit {limit}",
                p.items.len()
            );
            if p.next.is_some() {
                assert!(!p.items.is_empty(), "page {i} empty but promises more");
            }
        }
        let got: Vec<AccountRecord> = pages.into_iter().flat_map(|p| p.items).collect();
        assert_eq!(
            ids(&got, |r| r.account_id.to_string()),
            want,
            "limit {limit}: every account of the segment once, in account id order"
        );
        for r in &got {
            assert!(r.profile.name.is_some(), "{}: profile listed", r.account_id);
        }
    }
    let empty_segment = Segment::all()
        .find(|s| *s != segment && outsiders.iter().all(|o| o.segment() != *s))
        .unwrap_or_else(|| panic!("a segment without accounts"));
    let empty = store
        .list_segment(empty_segment, None, 10)
        .await
        .must("list_segment of an empty segment");
    assert!(
        empty.items.is_empty() && empty.next.is_none(),
        "a segment without accounts lists nothing and promises nothing more: {:?} next {:?}",
        ids(&empty.items, |r| r.account_id.to_string()),
        empty.next
    );
}

pub async fn segment_listing_rejects_an_invalid_cursor<S: Storage>(store: &S) {
    let a = acct("acme");
    store
        .put_profile(&a, &profile("Acme"))
        .await
        .must("put_profile");
    for cursor in INVALID_CURSORS {
        assert_rejected(
            &format!("list_segment with cursor {cursor:?}"),
            store.list_segment(a.segment(), Some(cursor), 10).await,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Users

pub async fn user_round_trips_and_is_replaced_whole<S: Storage>(store: &S) {
    assert_eq!(store.get_user("u-1").await.must("get_user"), None);
    let a = acct("acme");
    let u = user("u-1", Some(&a));
    store.put_user(&u).await.must("put_user");
    assert_eq!(store.get_user("u-1").await.must("get_user"), Some(u));
    let replaced = UserProfile {
        user_id: "u-1".into(),
        account_id: Some(a.clone()),
        email: Some("ada@new.example.com".into()),
        ..UserProfile::default()
    };
    store.put_user(&replaced).await.must("put_user again");
    assert_eq!(
        store.get_user("u-1").await.must("get_user"),
        Some(replaced),
        "put_user replaces the whole user, dropping old traits"
    );
}

pub async fn users_of_account_are_in_user_id_order<S: Storage>(store: &S) {
    let a = acct("acme");
    let b = acct("acme#eu");
    for id in ["u-3", "u-1", "u-10", "u-2"] {
        store.put_user(&user(id, Some(&a))).await.must("put_user");
    }
    store
        .put_user(&user("u-b", Some(&b)))
        .await
        .must("put_user");
    store.put_user(&user("u-none", None)).await.must("put_user");
    let got = store.users_of_account(&a).await.must("users_of_account");
    assert_eq!(
        ids(&got, |u| u.user_id.clone()),
        vec!["u-1", "u-10", "u-2", "u-3"]
    );
    assert_eq!(got[0], user("u-1", Some(&a)), "full profile returned");
    let got_b = store.users_of_account(&b).await.must("users_of_account");
    assert_eq!(ids(&got_b, |u| u.user_id.clone()), vec!["u-b"]);
    let none = store
        .users_of_account(&acct("nobody"))
        .await
        .must("users_of_account");
    assert!(none.is_empty());
}

pub async fn relinked_user_moves_to_the_new_account<S: Storage>(store: &S) {
    let a = acct("acme");
    let b = acct("globex");
    store
        .put_user(&user("u-1", Some(&a)))
        .await
        .must("put_user");
    store
        .put_user(&user("u-2", Some(&a)))
        .await
        .must("put_user");
    store
        .put_user(&user("u-1", Some(&b)))
        .await
        .must("put_user relinking u-1 to globex");
    let of_a = store.users_of_account(&a).await.must("users_of_account");
    let of_b = store.users_of_account(&b).await.must("users_of_account");
    assert_eq!(ids(&of_a, |u| u.user_id.clone()), vec!["u-2"], "left acme");
    assert_eq!(
        ids(&of_b, |u| u.user_id.clone()),
        vec!["u-1"],
        "joined globex"
    );

    store
        .put_user(&user("u-2", None))
        .await
        .must("put_user unlinking u-2");
    let of_a = store.users_of_account(&a).await.must("users_of_account");
    assert!(of_a.is_empty(), "an unlinked user belongs to no account");
    assert_eq!(
        store.get_user("u-2").await.must("get_user"),
        Some(user("u-2", None))
    );
}

// ---------------------------------------------------------------------------------------------
// Score history

pub async fn history_range_is_inclusive_and_oldest_first<S: Storage>(store: &S) {
    let a = acct("acme");
    let days = [
        "2026-03-05",
        "2026-03-01",
        "2026-03-03",
        "2026-02-28",
        "2026-03-10",
    ];
    let records: Vec<HistoryDay> = days
        .iter()
        .enumerate()
        .map(|(i, d)| history_day(&a, day(d), 50.0 + i as f64))
        .collect();
    store.put_history(&records).await.must("put_history");
    let got = store
        .history(&a, day("2026-03-01"), day("2026-03-05"))
        .await
        .must("history");
    assert_eq!(
        ids(&got, |r| r.as_of.to_string()),
        vec!["2026-03-01", "2026-03-03", "2026-03-05"],
        "both bounds included, oldest first"
    );
    assert_eq!(got[0], records[1], "full entry returned");
    let one = store
        .history(&a, day("2026-03-03"), day("2026-03-03"))
        .await
        .must("history");
    assert_eq!(ids(&one, |r| r.as_of.to_string()), vec!["2026-03-03"]);
    let none = store
        .history(&a, day("2026-03-06"), day("2026-03-09"))
        .await
        .must("history");
    assert!(none.is_empty());
    let all = store
        .history(&a, day("2000-01-01"), day("2100-01-01"))
        .await
        .must("history");
    assert_eq!(all.len(), 5);
}

pub async fn history_rewrite_of_a_day_overwrites<S: Storage>(store: &S) {
    let a = acct("acme");
    let d = day("2026-03-01");
    store
        .put_history(&[history_day(&a, d, 40.0)])
        .await
        .must("put_history");
    let rewrite = history_day(&a, d, 45.5);
    store
        .put_history(std::slice::from_ref(&rewrite))
        .await
        .must("put_history again");
    let got = store.history(&a, d, d).await.must("history");
    assert_eq!(got, vec![rewrite]);
}

pub async fn history_is_per_account<S: Storage>(store: &S) {
    let accounts = [acct("acme"), acct("acme#eu"), acct("acme2")];
    let d = day("2026-03-01");
    let records: Vec<HistoryDay> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| history_day(a, d, 10.0 * i as f64))
        .collect();
    store.put_history(&records).await.must("put_history");
    for (a, r) in accounts.iter().zip(&records) {
        let got = store.history(a, d, d).await.must("history");
        assert_eq!(got, vec![r.clone()], "history of {a:?} only");
    }
}

pub async fn many_history_records_in_one_call_are_all_stored<S: Storage>(store: &S) {
    let a = acct("acme");
    let b = acct("globex");
    let start = day("2026-01-01");
    let records: Vec<HistoryDay> = (0..40u64)
        .flat_map(|i| {
            let d = start + chrono::Days::new(i);
            [
                history_day(&a, d, i as f64),
                history_day(&b, d, 100.0 - i as f64),
            ]
        })
        .collect();
    store.put_history(&records).await.must("put_history of 80");
    let got = store
        .history(&a, start, start + chrono::Days::new(39))
        .await
        .must("history");
    assert_eq!(got.len(), 40);
    assert!(
        got.windows(2).all(|w| w[0].as_of < w[1].as_of),
        "oldest first"
    );
    assert!(got.iter().all(|r| r.account_id == a));
}

// ---------------------------------------------------------------------------------------------
// Alerts

pub async fn alert_insert_with_an_existing_id_conflicts<S: Storage>(store: &S) {
    let a = acct("acme");
    let original = alert("al-1", &a, 100, AlertStatus::Open);
    store.insert_alert(&original).await.must("insert_alert");
    let mut second = alert("al-1", &a, 200, AlertStatus::Open);
    second.cause = "a different cause".into();
    assert_conflict(
        "insert_alert with an existing id",
        store.insert_alert(&second).await,
    );
    assert_eq!(
        store.get_alert("al-1").await.must("get_alert"),
        Some(original),
        "the first alert is kept"
    );
    assert_eq!(store.get_alert("al-2").await.must("get_alert"), None);
}

pub async fn alert_update_needs_the_next_version<S: Storage>(store: &S) {
    let a = acct("acme");
    let v1 = alert("al-1", &a, 100, AlertStatus::Open);
    store.insert_alert(&v1).await.must("insert_alert");
    let mut v2 = v1.clone();
    v2.version = 2;
    v2.status = AlertStatus::Acknowledged;
    v2.updated_at = at(150);
    v2.transitions.push(AlertTransition {
        at: at(150),
        by: "csm@example.com".into(),
        to: AlertStatus::Acknowledged,
        note: Some("calling them today".into()),
    });
    store
        .update_alert(&v2)
        .await
        .must("update_alert to version 2");
    assert_eq!(
        store.get_alert("al-1").await.must("get_alert"),
        Some(v2.clone())
    );

    let mut stale = v2.clone();
    stale.status = AlertStatus::Resolved;
    assert_conflict(
        "update_alert carrying the stored version (2) instead of 3",
        store.update_alert(&stale).await,
    );
    let mut skipped = v2.clone();
    skipped.version = 4;
    assert_conflict(
        "update_alert skipping version 3",
        store.update_alert(&skipped).await,
    );
    let mut racer = v1.clone();
    racer.version = 2;
    racer.status = AlertStatus::Resolved;
    assert_conflict(
        "update_alert from version 1 after someone else wrote version 2",
        store.update_alert(&racer).await,
    );
    assert_eq!(
        store.get_alert("al-1").await.must("get_alert"),
        Some(v2.clone()),
        "losing updates change nothing"
    );
    let mut v3 = v2;
    v3.version = 3;
    v3.status = AlertStatus::Resolved;
    store
        .update_alert(&v3)
        .await
        .must("update_alert to version 3");
    assert_eq!(store.get_alert("al-1").await.must("get_alert"), Some(v3));
}

pub async fn alert_update_of_a_missing_alert_conflicts<S: Storage>(store: &S) {
    let mut ghost = alert("ghost", &acct("acme"), 100, AlertStatus::Resolved);
    ghost.version = 2;
    assert_conflict(
        "update_alert of an alert that was never inserted",
        store.update_alert(&ghost).await,
    );
    assert_eq!(store.get_alert("ghost").await.must("get_alert"), None);
}

pub async fn alerts_list_newest_opened_first<S: Storage>(store: &S) {
    let a = acct("acme");
    // Inserted out of time order; ids deliberately not in time order either.
    let opened = [300, 100, 500, 200, 400];
    for (i, secs) in opened.iter().enumerate() {
        store
            .insert_alert(&alert(
                &format!("al-{}", 9 - i),
                &a,
                *secs,
                AlertStatus::Open,
            ))
            .await
            .must("insert_alert");
    }
    let page = store
        .list_alerts(&AlertQuery::default(), None, 50)
        .await
        .must("list_alerts");
    assert_eq!(page.next, None, "everything fits one page");
    let got: Vec<i64> = page
        .items
        .iter()
        .map(|al| (al.opened_at - at(0)).num_seconds())
        .collect();
    assert_eq!(got, vec![500, 400, 300, 200, 100], "newest opened first");
    assert_eq!(page.items[0], alert("al-7", &a, 500, AlertStatus::Open));
}

pub async fn alerts_filter_by_status_and_account<S: Storage>(store: &S) {
    let a = acct("acme");
    let a_prefixed = acct("acme#eu");
    let b = acct("globex");
    let fixtures = [
        ("a-open", &a, 10, AlertStatus::Open),
        ("a-ack", &a, 20, AlertStatus::Acknowledged),
        ("a-res", &a, 30, AlertStatus::Resolved),
        ("a-open2", &a, 40, AlertStatus::Open),
        ("ap-open", &a_prefixed, 50, AlertStatus::Open),
        ("b-open", &b, 60, AlertStatus::Open),
        ("b-res", &b, 70, AlertStatus::Resolved),
    ];
    for (id, account, secs, status) in fixtures {
        store
            .insert_alert(&alert(id, account, secs, status))
            .await
            .must("insert_alert");
    }
    let list = |status: Option<AlertStatus>, account: Option<&AccountId>| {
        let query = AlertQuery {
            status,
            account_id: account.cloned(),
        };
        async move {
            let page = store
                .list_alerts(&query, None, 50)
                .await
                .must("list_alerts");
            assert_eq!(page.next, None, "{query:?}: fits one page");
            ids(&page.items, |al| al.id.clone())
        }
    };
    assert_eq!(
        list(Some(AlertStatus::Open), None).await,
        vec!["b-open", "ap-open", "a-open2", "a-open"]
    );
    assert_eq!(
        list(Some(AlertStatus::Acknowledged), None).await,
        vec!["a-ack"]
    );
    assert_eq!(
        list(None, Some(&a)).await,
        vec!["a-open2", "a-res", "a-ack", "a-open"],
        "account filter is exact (acme#eu excluded)"
    );
    assert_eq!(
        list(Some(AlertStatus::Open), Some(&a)).await,
        vec!["a-open2", "a-open"]
    );
    assert_eq!(
        list(Some(AlertStatus::Resolved), Some(&b)).await,
        vec!["b-res"]
    );
    assert!(list(Some(AlertStatus::Acknowledged), Some(&b))
        .await
        .is_empty());
    assert_eq!(list(None, None).await.len(), 7);
}

pub async fn alert_pages_are_full_without_duplicates_or_gaps<S: Storage>(store: &S) {
    let a = acct("acme");
    let b = acct("globex");
    let mut all = Vec::new();
    for i in 0..24i64 {
        // Interleave accounts and statuses so filtered pages must skip non-matching alerts.
        let account = if i % 3 == 0 { &b } else { &a };
        let status = if i % 2 == 0 {
            AlertStatus::Open
        } else {
            AlertStatus::Resolved
        };
        let secs = (i * 37) % 24 * 10;
        let al = alert(&format!("al-{i:02}"), account, secs, status);
        store.insert_alert(&al).await.must("insert_alert");
        all.push(al);
    }
    all.sort_by_key(|al| std::cmp::Reverse(al.opened_at));
    let queries = [
        AlertQuery::default(),
        AlertQuery {
            status: Some(AlertStatus::Open),
            account_id: None,
        },
        AlertQuery {
            status: None,
            account_id: Some(a.clone()),
        },
        AlertQuery {
            status: Some(AlertStatus::Resolved),
            account_id: Some(a.clone()),
        },
    ];
    for query in &queries {
        let want: Vec<String> = all
            .iter()
            .filter(|al| query.status.is_none_or(|s| al.status == s))
            .filter(|al| {
                query
                    .account_id
                    .as_ref()
                    .is_none_or(|q| &al.account_id == q)
            })
            .map(|al| al.id.clone())
            .collect();
        for limit in [1, 3, 5, want.len()] {
            let what = format!("list_alerts {query:?} limit {limit}");
            let pages = all_pages(&what, |cursor| async move {
                store.list_alerts(query, cursor.as_deref(), limit).await
            })
            .await;
            let got = full_pages(&what, &pages, limit);
            assert_eq!(
                ids(&got, |al| al.id.clone()),
                want,
                "{what}: every match once, newest first"
            );
        }
    }
}

pub async fn alert_listing_reflects_updates<S: Storage>(store: &S) {
    let a = acct("acme");
    let v1 = alert("al-1", &a, 100, AlertStatus::Open);
    store.insert_alert(&v1).await.must("insert_alert");
    store
        .insert_alert(&alert("al-2", &a, 200, AlertStatus::Open))
        .await
        .must("insert_alert");
    let mut v2 = v1;
    v2.version = 2;
    v2.status = AlertStatus::Resolved;
    store.update_alert(&v2).await.must("update_alert");
    let open = AlertQuery {
        status: Some(AlertStatus::Open),
        account_id: None,
    };
    let resolved = AlertQuery {
        status: Some(AlertStatus::Resolved),
        account_id: None,
    };
    let got_open = store.list_alerts(&open, None, 10).await.must("list_alerts");
    assert_eq!(ids(&got_open.items, |al| al.id.clone()), vec!["al-2"]);
    let got_resolved = store
        .list_alerts(&resolved, None, 10)
        .await
        .must("list_alerts");
    assert_eq!(got_resolved.items, vec![v2], "listed as updated");
}

pub async fn alert_listing_rejects_an_invalid_cursor<S: Storage>(store: &S) {
    store
        .insert_alert(&alert("al-1", &acct("acme"), 1, AlertStatus::Open))
        .await
        .must("insert_alert");
    for cursor in INVALID_CURSORS {
        assert_rejected(
            &format!("list_alerts with cursor {cursor:?}"),
            store
                .list_alerts(&AlertQuery::default(), Some(cursor), 10)
                .await,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Audit log

async fn all_audit<S: Storage>(store: &S, account: Option<&AccountId>) -> Vec<AuditEntry> {
    let pages = all_pages("list_audit", |cursor| async move {
        store.list_audit(account, cursor.as_deref(), 100).await
    })
    .await;
    pages.into_iter().flat_map(|p| p.items).collect()
}

pub async fn audit_entry_appended_twice_is_stored_once<S: Storage>(store: &S) {
    let a = acct("acme");
    let e = audit("run-1:acme:outreach", Some(&a), 100);
    store.append_audit(&e).await.must("append_audit");
    store.append_audit(&e).await.must("append_audit again");
    assert_eq!(all_audit(store, None).await, vec![e.clone()]);
    assert_eq!(all_audit(store, Some(&a)).await, vec![e]);
}

/// A retried automated action carries the same deterministic id but is stamped by a later clock.
pub async fn audit_retry_at_a_later_time_is_stored_once<S: Storage>(store: &S) {
    let a = acct("acme");
    let first = audit("run-1:acme:outreach", Some(&a), 100);
    let retry = audit("run-1:acme:outreach", Some(&a), 160);
    store.append_audit(&first).await.must("append_audit");
    store.append_audit(&retry).await.must("append_audit retry");
    let got = all_audit(store, None).await;
    assert_eq!(
        got.len(),
        1,
        "an entry with the same id is stored once, whatever its time: {got:?}"
    );
    assert_eq!(all_audit(store, Some(&a)).await.len(), 1, "per account too");
}

pub async fn audit_lists_newest_first_in_full_pages<S: Storage>(store: &S) {
    let a = acct("acme");
    let mut entries = Vec::new();
    for i in 0..17i64 {
        let e = audit(&format!("e-{i:02}"), Some(&a), (i * 7) % 17 * 60);
        store.append_audit(&e).await.must("append_audit");
        entries.push(e);
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.at));
    for limit in [1, 4, 17] {
        for account in [None, Some(&a)] {
            let what = format!("list_audit account {account:?} limit {limit}");
            let pages = all_pages(&what, |cursor| async move {
                store.list_audit(account, cursor.as_deref(), limit).await
            })
            .await;
            let got = full_pages(&what, &pages, limit);
            assert_eq!(got, entries, "{what}: every entry once, newest first");
        }
    }
}

pub async fn audit_lists_per_account<S: Storage>(store: &S) {
    let a = acct("acme");
    let a_prefixed = acct("acme#eu");
    let b = acct("globex");
    let ea = audit("e-a", Some(&a), 10);
    let eap = audit("e-ap", Some(&a_prefixed), 20);
    let eb = audit("e-b", Some(&b), 30);
    let global = audit("e-config", None, 40);
    for e in [&ea, &eap, &eb, &global] {
        store.append_audit(e).await.must("append_audit");
    }
    assert_eq!(all_audit(store, Some(&a)).await, vec![ea.clone()]);
    assert_eq!(all_audit(store, Some(&a_prefixed)).await, vec![eap.clone()]);
    assert_eq!(all_audit(store, Some(&b)).await, vec![eb.clone()]);
    assert_eq!(
        all_audit(store, None).await,
        vec![global, eb, eap, ea],
        "unfiltered: every entry, with or without account, newest first"
    );
    assert!(all_audit(store, Some(&acct("nobody"))).await.is_empty());
}

pub async fn audit_listing_rejects_an_invalid_cursor<S: Storage>(store: &S) {
    let a = acct("acme");
    store
        .append_audit(&audit("e-1", Some(&a), 1))
        .await
        .must("append_audit");
    for cursor in INVALID_CURSORS {
        assert_rejected(
            &format!("list_audit with cursor {cursor:?}"),
            store.list_audit(None, Some(cursor), 10).await,
        );
        assert_rejected(
            &format!("list_audit for an account with cursor {cursor:?}"),
            store.list_audit(Some(&a), Some(cursor), 10).await,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration versions

pub async fn config_is_empty_until_a_version_is_stored<S: Storage>(store: &S) {
    assert_eq!(store.latest_config().await.must("latest_config"), None);
    assert_eq!(
        store.get_config_version(1).await.must("get_config_version"),
        None
    );
    assert!(store
        .list_config_versions(10)
        .await
        .must("list_config_versions")
        .is_empty());
}

pub async fn config_version_that_exists_conflicts<S: Storage>(store: &S) {
    let v1 = config(1);
    store
        .put_config_version(&v1)
        .await
        .must("put_config_version");
    let mut racer = config(1);
    racer.author = "other-admin@example.com".into();
    racer.body = "# the other admin's edit\n".into();
    assert_conflict(
        "put_config_version of an existing version",
        store.put_config_version(&racer).await,
    );
    assert_eq!(
        store.get_config_version(1).await.must("get_config_version"),
        Some(v1.clone()),
        "first writer wins"
    );
    assert_eq!(store.latest_config().await.must("latest_config"), Some(v1));
}

pub async fn config_latest_is_the_highest_version<S: Storage>(store: &S) {
    // 10 after 9: numeric, not text, order. Stored out of order.
    for v in [1, 2, 10, 9] {
        store
            .put_config_version(&config(v))
            .await
            .must("put_config_version");
    }
    assert_eq!(
        store.latest_config().await.must("latest_config"),
        Some(config(10))
    );
    assert_eq!(
        store.get_config_version(9).await.must("get_config_version"),
        Some(config(9))
    );
    assert_eq!(
        store.get_config_version(3).await.must("get_config_version"),
        None
    );
    store
        .put_config_version(&config(11))
        .await
        .must("put_config_version");
    assert_eq!(
        store.latest_config().await.must("latest_config"),
        Some(config(11))
    );
}

pub async fn config_versions_list_newest_first_up_to_limit<S: Storage>(store: &S) {
    for v in [2, 1, 11, 10, 9, 3] {
        store
            .put_config_version(&config(v))
            .await
            .must("put_config_version");
    }
    let versions = |list: Vec<ConfigVersion>| list.iter().map(|c| c.version).collect::<Vec<_>>();
    assert_eq!(
        versions(
            store
                .list_config_versions(100)
                .await
                .must("list_config_versions")
        ),
        vec![11, 10, 9, 3, 2, 1]
    );
    assert_eq!(
        versions(
            store
                .list_config_versions(2)
                .await
                .must("list_config_versions")
        ),
        vec![11, 10]
    );
    let full = store
        .list_config_versions(1)
        .await
        .must("list_config_versions");
    assert_eq!(full, vec![config(11)], "full versions returned");
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

pub async fn checkpoint_put_replaces<S: Storage>(store: &S) {
    assert_eq!(
        store
            .get_checkpoint("run-1", Segment(3))
            .await
            .must("get_checkpoint"),
        None
    );
    let partial = checkpoint("run-1", 3, false, 500);
    store.put_checkpoint(&partial).await.must("put_checkpoint");
    assert_eq!(
        store
            .get_checkpoint("run-1", Segment(3))
            .await
            .must("get_checkpoint"),
        Some(partial)
    );
    let done = checkpoint("run-1", 3, true, 1200);
    store
        .put_checkpoint(&done)
        .await
        .must("put_checkpoint again");
    assert_eq!(
        store
            .get_checkpoint("run-1", Segment(3))
            .await
            .must("get_checkpoint"),
        Some(done.clone())
    );
    assert_eq!(
        store
            .list_checkpoints("run-1")
            .await
            .must("list_checkpoints"),
        vec![done],
        "replaced, not added"
    );
}

pub async fn checkpoints_list_by_segment_per_run<S: Storage>(store: &S) {
    for seg in [12, 0, 63, 3] {
        store
            .put_checkpoint(&checkpoint("run-1", seg, seg % 2 == 0, u64::from(seg)))
            .await
            .must("put_checkpoint");
    }
    store
        .put_checkpoint(&checkpoint("run-10", 5, true, 1))
        .await
        .must("put_checkpoint");
    store
        .put_checkpoint(&checkpoint("run-", 1, true, 1))
        .await
        .must("put_checkpoint");
    let got = store
        .list_checkpoints("run-1")
        .await
        .must("list_checkpoints");
    assert_eq!(
        got.iter().map(|c| c.segment.0).collect::<Vec<_>>(),
        vec![0, 3, 12, 63],
        "run-1 only, by segment"
    );
    assert_eq!(got[2], checkpoint("run-1", 12, true, 12));
    assert_eq!(
        store
            .list_checkpoints("run-10")
            .await
            .must("list_checkpoints"),
        vec![checkpoint("run-10", 5, true, 1)]
    );
    assert!(store
        .list_checkpoints("run-2")
        .await
        .must("list_checkpoints")
        .is_empty());
    assert_eq!(
        store
            .get_checkpoint("run-1", Segment(5))
            .await
            .must("get_checkpoint"),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// Portfolio summaries

pub async fn summary_latest_is_the_newest_day<S: Storage>(store: &S) {
    assert_eq!(store.latest_summary().await.must("latest_summary"), None);
    store
        .put_summary(&summary(day("2026-03-05"), 100))
        .await
        .must("put_summary");
    store
        .put_summary(&summary(day("2026-03-03"), 90))
        .await
        .must("put_summary of an older day (backfill)");
    assert_eq!(
        store.latest_summary().await.must("latest_summary"),
        Some(summary(day("2026-03-05"), 100)),
        "a backfilled older day does not become the latest"
    );
    store
        .put_summary(&summary(day("2026-03-05"), 101))
        .await
        .must("put_summary rewriting the newest day");
    assert_eq!(
        store.latest_summary().await.must("latest_summary"),
        Some(summary(day("2026-03-05"), 101))
    );
    store
        .put_summary(&summary(day("2026-03-06"), 120))
        .await
        .must("put_summary");
    assert_eq!(
        store.latest_summary().await.must("latest_summary"),
        Some(summary(day("2026-03-06"), 120))
    );
}

pub async fn summaries_range_is_inclusive_and_oldest_first<S: Storage>(store: &S) {
    for (d, n) in [
        ("2026-03-05", 5),
        ("2026-03-01", 1),
        ("2026-03-03", 3),
        ("2026-02-27", 0),
        ("2026-03-09", 9),
    ] {
        store
            .put_summary(&summary(day(d), n))
            .await
            .must("put_summary");
    }
    store
        .put_summary(&summary(day("2026-03-03"), 33))
        .await
        .must("put_summary rewriting a day");
    let got = store
        .summaries(day("2026-03-01"), day("2026-03-05"))
        .await
        .must("summaries");
    assert_eq!(
        got,
        vec![
            summary(day("2026-03-01"), 1),
            summary(day("2026-03-03"), 33),
            summary(day("2026-03-05"), 5),
        ],
        "both bounds included, oldest first, rewrite replaced"
    );
    assert!(store
        .summaries(day("2026-03-06"), day("2026-03-08"))
        .await
        .must("summaries")
        .is_empty());
}

/// One owner's book on a day with `at_risk` of `accounts` at risk.
pub fn book_day(owner: &str, on: NaiveDate, accounts: u64, at_risk: u64) -> BookDay {
    BookDay {
        owner: owner.to_string(),
        day: on,
        figures: BookFigures {
            accounts,
            at_risk,
            mrr_at_risk: at_risk as f64 * 1250.5,
            expansion_candidates: 1,
            score_sum: accounts as f64 * 61.25,
        },
    }
}

pub async fn book_days_are_per_owner_oldest_first_and_a_rewrite_replaces<S: Storage>(store: &S) {
    let ana = "ana@example.com";
    // An owner whose name is a prefix of another's must not see the other's days.
    let anabel = "ana@example.com.au";
    store
        .put_book_days(&[
            book_day(ana, day("2026-03-05"), 20, 3),
            book_day(ana, day("2026-03-01"), 18, 1),
            book_day(anabel, day("2026-03-03"), 7, 7),
            book_day(ana, day("2026-03-03"), 19, 2),
            book_day(ana, day("2026-02-20"), 10, 0),
        ])
        .await
        .must("put_book_days");
    store
        .put_book_days(&[book_day(ana, day("2026-03-03"), 19, 4)])
        .await
        .must("put_book_days rewriting a day");
    store.put_book_days(&[]).await.must("put_book_days of none");
    let got = store
        .book_days(ana, day("2026-03-01"), day("2026-03-05"))
        .await
        .must("book_days");
    assert_eq!(
        got,
        vec![
            book_day(ana, day("2026-03-01"), 18, 1),
            book_day(ana, day("2026-03-03"), 19, 4),
            book_day(ana, day("2026-03-05"), 20, 3),
        ]
    );
    assert!(store
        .book_days("bob@example.com", day("2026-03-01"), day("2026-03-05"))
        .await
        .must("book_days of an owner with none")
        .is_empty());
    assert!(store
        .book_days(ana, day("2026-03-06"), day("2026-03-01"))
        .await
        .must("book_days of an empty range")
        .is_empty());
}

// ---------------------------------------------------------------------------------------------
// Account listings (the precomputed account list)

/// A segment's listing built as the daily run builds it, from real scored records.
pub fn segment_listing(segment: Segment, as_of: NaiveDate, ids: &[AccountId]) -> SegmentListing {
    let records: Vec<AccountRecord> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| AccountRecord {
            account_id: id.clone(),
            profile: profile(&format!("Account {i} of {id}")),
            window: window(as_of, 10 + i as u32),
            score: Some(score_record(id, as_of, 10.0 + i as f64)),
            trail: Default::default(),
            provisional: None,
        })
        .collect();
    ListingBuilder::new(segment, as_of, &records).finish()
}

pub async fn segment_listings_come_in_segment_order_and_a_rewrite_replaces<S: Storage>(store: &S) {
    let empty = store.account_listing().await.must("account_listing");
    assert!(
        empty.segments.is_empty() && empty.trend.is_empty(),
        "{empty:?}"
    );
    let d = day("2026-03-01");
    // Rows of any id a user may send (a listing holds what it is given).
    let awkward = awkward_account_ids();
    let listings = [
        segment_listing(Segment(5), d, &ids_in_segment("a", Segment(5), 3)),
        segment_listing(Segment(1), d, &ids_in_segment("b", Segment(1), 2)),
        segment_listing(Segment(63), d, &awkward),
        segment_listing(Segment(9), d, &[]),
    ];
    for listing in &listings {
        store
            .put_segment_listing(listing)
            .await
            .must("put_segment_listing");
    }
    let next = day("2026-03-02");
    let rewritten = segment_listing(Segment(5), next, &ids_in_segment("c", Segment(5), 1));
    store
        .put_segment_listing(&rewritten)
        .await
        .must("put_segment_listing rewriting a segment");
    let got = store.account_listing().await.must("account_listing");
    assert_eq!(
        got.segments,
        vec![
            listings[1].clone(),
            rewritten,
            listings[3].clone(),
            listings[2].clone()
        ],
        "segment order, rows exactly as written, the rewrite replacing the segment's rows"
    );
}

pub async fn a_segment_listing_too_large_for_one_item_round_trips<S: Storage>(store: &S) {
    let d = day("2026-03-01");
    let one = segment_listing(Segment(7), d, &ids_in_segment("r", Segment(7), 1));
    // Rows that compress poorly: distinct names and reasons, as real portfolios have.
    let rows: Vec<_> = (0..20_000u64)
        .map(|i| {
            let mut row = one.rows[0].clone();
            let noise = |salt: u64| vitals_core::segment::fnv1a64(&(i ^ salt << 40).to_le_bytes());
            row.account_id = format!("acct-{i:06}-{:016x}", noise(1));
            row.name = Some(format!("Customer {:x}", noise(2)));
            row.reason = format!("weakest signal at {:x}{:x}", noise(3), noise(4));
            row.mrr = Some((noise(5) % 100_000) as f64 / 7.0);
            row
        })
        .collect();
    let big = SegmentListing {
        segment: Segment(7),
        as_of: d,
        rows,
    };
    store
        .put_segment_listing(&big)
        .await
        .must("put_segment_listing of a large segment");
    let got = store.account_listing().await.must("account_listing");
    assert_eq!(got.segments.len(), 1);
    assert!(
        got.segments[0] == big,
        "a large listing reads back whole and in order ({} rows of {})",
        got.segments[0].rows.len(),
        big.rows.len()
    );
    // The next run's smaller listing replaces it whole, leftover parts ignored.
    let next = segment_listing(
        Segment(7),
        day("2026-03-02"),
        &ids_in_segment("s", Segment(7), 2),
    );
    store
        .put_segment_listing(&next)
        .await
        .must("put_segment_listing shrinking a segment");
    let got = store.account_listing().await.must("account_listing");
    assert_eq!(got.segments, vec![next]);
}

pub async fn account_listing_carries_the_trend_up_to_the_newest_summary<S: Storage>(store: &S) {
    let newest = day("2026-06-01");
    let back = |days: u64| newest - chrono::Days::new(days);
    for (d, n) in [(back(91), 1), (back(90), 2), (newest, 3), (back(10), 4)] {
        store.put_summary(&summary(d, n)).await.must("put_summary");
    }
    let got = store.account_listing().await.must("account_listing");
    assert_eq!(
        got.trend,
        vec![
            summary(back(90), 2),
            summary(back(10), 4),
            summary(newest, 3)
        ],
        "the 90 days up to the newest summary, oldest first, a backfilled day included"
    );
    // A figure added to the newest summary later (the backtest's accuracy) shows at once.
    let mut with_accuracy = summary(newest, 3);
    with_accuracy
        .extra
        .insert("churn_prediction_accuracy".into(), json!(0.81));
    store
        .put_summary(&with_accuracy)
        .await
        .must("put_summary rewriting the newest day");
    let got = store.account_listing().await.must("account_listing");
    assert_eq!(got.trend.last(), Some(&with_accuracy));
    assert_eq!(got.trend.len(), 3);
}

/// Query processes keep a decoded listing while this token is unchanged, so every write a
/// list view shows must change it, and reads alone must not.
pub async fn listing_version_changes_with_every_listing_or_summary_write<S: Storage>(store: &S) {
    let version = || async { store.listing_version().await.must("listing_version") };
    assert_eq!(
        version().await,
        None,
        "no version before anything is listed"
    );
    let listing = segment_listing(
        Segment(3),
        day("2026-03-01"),
        &ids_in_segment("v", Segment(3), 2),
    );
    store
        .put_segment_listing(&listing)
        .await
        .must("put_segment_listing");
    let after_listing = version()
        .await
        .unwrap_or_else(|| panic!("a version once a segment is listed"));
    store.account_listing().await.must("account_listing");
    assert_eq!(
        version().await.as_deref(),
        Some(after_listing.as_str()),
        "reading leaves the version alone"
    );
    store
        .put_summary(&summary(day("2026-03-01"), 1))
        .await
        .must("put_summary");
    let after_summary = version()
        .await
        .unwrap_or_else(|| panic!("a version after a summary"));
    assert_ne!(after_summary, after_listing, "a summary write changes it");
    store
        .put_segment_listing(&listing)
        .await
        .must("put_segment_listing again");
    let rewritten = version()
        .await
        .unwrap_or_else(|| panic!("a version after a rewrite"));
    assert_ne!(rewritten, after_summary, "rewriting a listing changes it");
}

// ---------------------------------------------------------------------------------------------
// Identifiers

/// Ids users really send: non-ASCII, key-separator characters, and the longest allowed.
pub fn awkward_account_ids() -> Vec<AccountId> {
    vec![
        acct("Ünïcödé GmbH — São Paulo"),
        acct("客户-42#eu/west?x=1&y=2"),
        acct(&"🚀".repeat(64)),
        acct(&"a".repeat(256)),
        acct("with space and 'quotes' \"double\" % _ \\"),
        AccountId::unattributed(),
    ]
}

pub async fn unicode_and_longest_ids_round_trip_everywhere<S: Storage>(store: &S) {
    let d = day("2026-03-01");
    for (i, a) in awkward_account_ids().iter().enumerate() {
        let what = format!("account {a:?}");
        let mut p = profile(&format!("名前 {i} 🚀"));
        p.custom.insert("ключ".into(), json!("значение"));
        store.put_profile(a, &p).await.must(&what);
        store
            .put_scoring_state(&scoring_state(a, 61.0))
            .await
            .must(&what);
        let rec = store
            .get_account(a)
            .await
            .must(&what)
            .unwrap_or_else(|| panic!("{what}: missing"));
        assert_eq!(rec.account_id, *a);
        assert_eq!(rec.profile, p, "{what}: profile");
        let listed = store.list_segment(a.segment(), None, 100).await.must(&what);
        assert!(
            listed.items.iter().any(|r| r.account_id == *a),
            "{what}: listed in its segment"
        );

        let c = chunk(a, d, &[&format!("msg-{i}-é"), &format!("msg-{i}-🚀")]);
        store.put_chunks(std::slice::from_ref(&c)).await.must(&what);
        assert_eq!(
            store.chunks_for_account_day(a, d).await.must(&what),
            vec![c.clone()],
            "{what}: chunks"
        );
        assert!(
            store
                .chunks_for_segment_day(a.segment(), d)
                .await
                .must(&what)
                .contains(&c),
            "{what}: chunk in its segment-day"
        );

        let h = history_day(a, d, 61.0);
        store
            .put_history(std::slice::from_ref(&h))
            .await
            .must(&what);
        assert_eq!(store.history(a, d, d).await.must(&what), vec![h]);

        let user_id = format!("用户-{i}-{}", "ü".repeat(100));
        store.put_user(&user(&user_id, Some(a))).await.must(&what);
        assert_eq!(
            store.get_user(&user_id).await.must(&what),
            Some(user(&user_id, Some(a)))
        );
        assert_eq!(
            ids(&store.users_of_account(a).await.must(&what), |u| u
                .user_id
                .clone()),
            vec![user_id]
        );

        let alert_id = format!("alert-{i}-🚀-{}", "x".repeat(200));
        let al = alert(&alert_id, a, i as i64, AlertStatus::Open);
        store.insert_alert(&al).await.must(&what);
        assert_eq!(
            store.get_alert(&alert_id).await.must(&what),
            Some(al.clone())
        );
        let listed = store
            .list_alerts(
                &AlertQuery {
                    status: None,
                    account_id: Some(a.clone()),
                },
                None,
                10,
            )
            .await
            .must(&what);
        assert_eq!(listed.items, vec![al], "{what}: alerts of the account");

        let entry = audit(&format!("audit-{i}-ß"), Some(a), i as i64);
        store.append_audit(&entry).await.must(&what);
        assert_eq!(all_audit(store, Some(a)).await, vec![entry]);

        let run_id = format!("run-🚀-{i}");
        let cp = Checkpoint {
            last_account: Some(a.clone()),
            ..checkpoint(&run_id, a.segment().0, false, 1)
        };
        store.put_checkpoint(&cp).await.must(&what);
        assert_eq!(
            store.get_checkpoint(&run_id, a.segment()).await.must(&what),
            Some(cp)
        );
    }
    let everyone: BTreeSet<String> = all_audit(store, None)
        .await
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(everyone.len(), awkward_account_ids().len());
}

// ---------------------------------------------------------------------------------------------
// Interventions

pub fn intervention(id: &str, account: &AccountId, created_secs: i64) -> Intervention {
    let notification = Notification {
        key: format!("{id}#0"),
        channel: "email".into(),
        kind: NotificationKind::Outreach,
        account_id: account.clone(),
        account_name: Some("Acme".into()),
        title: "Checking in".into(),
        summary: "moderate usage decline".into(),
        severity: None,
        score: Some(52.5),
        previous_score: None,
        band: None,
        drivers: vec!["seat adoption 41% → 22%".into()],
        link: None,
        recipients: vec!["ana@acme.com".into()],
        draft: Some(Draft {
            to: Some("ana@acme.com".into()),
            to_name: Some("Ana Díaz".into()),
            from: Some("csm@vendor.com".into()),
            subject: "Checking in".into(),
            body: "Hi Ana".into(),
        }),
        workflow: "decline-check-in".into(),
        data: json!({"event": {"kind": "decline_moderate"}}),
    };
    Intervention {
        id: id.into(),
        account_id: account.clone(),
        workflow: "decline-check-in".into(),
        trigger: "decline_moderate".into(),
        trigger_id: format!("2026-03-01:decline_moderate:{account}"),
        created_at: at(created_secs),
        as_of: day("2026-03-01"),
        score_at_start: Some(52.5),
        actions: vec![ActionRecord {
            key: format!("{id}#0"),
            action: "outreach".into(),
            channel: Some("email".into()),
            status: ActionStatus::Pending,
            attempts: 0,
            last_error: None,
            done_at: None,
            detail: None,
            planned: Some(Action::Outreach {
                template: "check_in".into(),
                mode: OutreachMode::Auto,
                channel: "email".into(),
                review_channel: Some("csm-review".into()),
            }),
        }],
        notifications: vec![notification],
        outreach: None,
        alert_id: None,
        follow_up_due: Some(day("2026-03-08")),
        responded_on: None,
        follow_up_sent: false,
        effect: vec![],
        version: 1,
    }
}

pub async fn intervention_insert_with_an_existing_id_conflicts<S: Storage>(store: &S) {
    let a = acct("acme");
    let original = intervention("w:e1", &a, 100);
    store
        .insert_intervention(&original)
        .await
        .must("insert_intervention");
    assert_conflict(
        "insert_intervention with an existing id",
        store
            .insert_intervention(&intervention("w:e1", &a, 200))
            .await,
    );
    assert_eq!(
        store
            .get_intervention("w:e1")
            .await
            .must("get_intervention"),
        Some(original),
        "the first intervention is kept, round-tripped whole"
    );
    assert_eq!(
        store
            .get_intervention("w:e2")
            .await
            .must("get_intervention"),
        None
    );
}

pub async fn intervention_update_needs_the_next_version<S: Storage>(store: &S) {
    let a = acct("acme");
    let v1 = intervention("w:e1", &a, 100);
    store
        .insert_intervention(&v1)
        .await
        .must("insert_intervention");
    let mut v2 = v1.clone();
    v2.version = 2;
    v2.actions[0].status = ActionStatus::Done;
    v2.actions[0].done_at = Some(at(150));
    store
        .update_intervention(&v2)
        .await
        .must("update_intervention to version 2");
    assert_conflict(
        "update_intervention from a stale version",
        store.update_intervention(&v2).await,
    );
    let mut missing = intervention("w:nope", &a, 100);
    missing.version = 2;
    assert_conflict(
        "update_intervention of a missing intervention",
        store.update_intervention(&missing).await,
    );
    assert_eq!(
        store
            .get_intervention("w:e1")
            .await
            .must("get_intervention"),
        Some(v2)
    );
}

pub async fn interventions_list_newest_first_per_account_in_full_pages<S: Storage>(store: &S) {
    let a = acct("acme");
    let b = acct("globex");
    for i in 0..7i64 {
        let account = if i % 2 == 0 { &a } else { &b };
        store
            .insert_intervention(&intervention(&format!("w:e{i}"), account, 100 + i))
            .await
            .must("insert_intervention");
    }
    let pages = all_pages("list_interventions", |cursor| async move {
        store.list_interventions(None, cursor.as_deref(), 3).await
    })
    .await;
    let all: Vec<String> = full_pages("list_interventions", &pages, 3)
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(
        all,
        ["w:e6", "w:e5", "w:e4", "w:e3", "w:e2", "w:e1", "w:e0"],
        "newest created first, no gaps or duplicates"
    );
    let pages = all_pages("list_interventions(acme)", |cursor| {
        let a = a.clone();
        async move {
            store
                .list_interventions(Some(&a), cursor.as_deref(), 2)
                .await
        }
    })
    .await;
    let of_a: Vec<String> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(|i| i.id.clone()))
        .collect();
    assert_eq!(of_a, ["w:e6", "w:e4", "w:e2", "w:e0"], "one account's only");
    assert!(
        store
            .list_interventions(None, Some(INVALID_CURSORS[0]), 3)
            .await
            .is_err(),
        "an invalid cursor is refused"
    );
}

// ---------------------------------------------------------------------------------------------
// Churn model fits

/// A fit with every part filled in: model (with a missing-value indicator), calibration and
/// the hold-out check.
pub fn churn_model(as_of: NaiveDate, l2: f64) -> vitals_core::churn::ChurnModelRecord {
    use vitals_core::churn::{ChurnModelRecord, HoldoutCheck, TrainingSummary};
    use vitals_scoring::calibration::{reliability, Platt};
    use vitals_scoring::churn::{ChurnModel, Features};

    let samples: Vec<Features> = (0..30)
        .map(|i| {
            let mut f = Features::new();
            f.insert("usage_depth".into(), f64::from(i) / 30.0);
            if i % 4 != 0 {
                f.insert("sentiment".into(), f64::from(i % 7) / 7.0);
            }
            f
        })
        .collect();
    let labels: Vec<bool> = (0..30).map(|i| i < 8).collect();
    let model = ChurnModel::fit(&samples, &labels, l2);
    let probabilities: Vec<f64> = samples.iter().map(|f| model.predict(f)).collect();
    ChurnModelRecord {
        as_of,
        fitted_at: at(1_772_691_000),
        horizon_days: 90,
        model: Some(model),
        calibration: Some(Platt {
            slope: 0.8125,
            intercept: -0.25,
        }),
        unavailable: None,
        training: TrainingSummary {
            from: Some(day("2025-03-01")),
            to: Some(day("2025-09-27")),
            samples: 30,
            positives: 8,
            churned_accounts: 8,
        },
        holdout: Some(HoldoutCheck {
            from: day("2025-10-04"),
            to: day("2025-12-06"),
            samples: 30,
            positives: 8,
            roc_auc: Some(0.9375),
            brier_raw: Some(0.125),
            ece_raw: None,
            brier_calibrated: Some(0.1),
            ece_calibrated: Some(0.05),
            reliability: reliability(&probabilities, &labels, 10),
        }),
    }
}

pub async fn churn_model_latest_is_the_newest_day<S: Storage>(store: &S) {
    assert_eq!(
        store.latest_churn_model().await.must("latest_churn_model"),
        None,
        "no model before the first fit"
    );
    store
        .put_churn_model(&churn_model(day("2026-03-05"), 1.0))
        .await
        .must("put_churn_model");
    store
        .put_churn_model(&churn_model(day("2026-03-01"), 2.0))
        .await
        .must("put_churn_model of an older day (backfill)");
    assert_eq!(
        store.latest_churn_model().await.must("latest_churn_model"),
        Some(churn_model(day("2026-03-05"), 1.0)),
        "the newest day is the latest, every field round-trips exactly"
    );
    store
        .put_churn_model(&churn_model(day("2026-03-05"), 3.0))
        .await
        .must("put_churn_model rewriting the newest day");
    assert_eq!(
        store.latest_churn_model().await.must("latest_churn_model"),
        Some(churn_model(day("2026-03-05"), 3.0)),
        "a refit of the same day overwrites"
    );
}

pub async fn churn_model_without_a_fit_round_trips_its_reason<S: Storage>(store: &S) {
    let mut record = churn_model(day("2026-03-05"), 1.0);
    record.model = None;
    record.calibration = None;
    record.holdout = None;
    record.training = Default::default();
    record.unavailable = Some("2 churned account(s); the model needs at least 5".into());
    store
        .put_churn_model(&record)
        .await
        .must("put_churn_model without a model");
    assert_eq!(
        store.latest_churn_model().await.must("latest_churn_model"),
        Some(record)
    );
}

pub async fn late_marks_list_by_day_rewrite_in_place_and_delete_by_key<S: Storage>(store: &S) {
    assert_eq!(
        store.late_marks(None).await.must("late_marks"),
        vec![],
        "no marks before the first late event"
    );
    let late_tuesday = LateMark::new(day("2026-03-03"), vec![acct("b"), acct("a")]);
    let other_tuesday = LateMark::new(day("2026-03-03"), vec![acct("c")]);
    let late_monday = LateMark::new(day("2026-03-02"), vec![acct("a")]);
    store
        .put_late_marks(&[late_tuesday.clone(), late_monday.clone()])
        .await
        .must("put_late_marks");
    store
        .put_late_marks(&[other_tuesday.clone(), late_tuesday.clone()])
        .await
        .must("put_late_marks again (a retried request)");
    let mut tuesday = vec![late_tuesday.clone(), other_tuesday.clone()];
    tuesday.sort_by(|a, b| a.id.cmp(&b.id));
    let mut all = vec![late_monday.clone()];
    all.extend(tuesday.clone());
    assert_eq!(
        store.late_marks(None).await.must("late_marks"),
        all,
        "every mark once, in (day, id) order, accounts round-trip"
    );
    assert_eq!(
        store
            .late_marks(Some(day("2026-03-03")))
            .await
            .must("late_marks of a day"),
        tuesday,
        "one day's marks only"
    );
    store
        .delete_late_marks(&[late_tuesday.clone(), late_tuesday.clone()])
        .await
        .must("delete_late_marks");
    store
        .delete_late_marks(&[late_tuesday])
        .await
        .must("delete_late_marks of a mark already gone");
    assert_eq!(
        store.late_marks(None).await.must("late_marks"),
        vec![late_monday, other_tuesday],
        "only the deleted mark is gone"
    );
}

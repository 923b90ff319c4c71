//! Query handler benchmark (BRIEF §5: p99 ≤ 5 ms excluding network, ≤ 2 storage requests per
//! view): drives the query router in process over an embedded store of scored accounts and
//! prints p50/p99 per view and the storage requests each made (counted by a wrapper around the
//! store). Run: `cargo bench -p vitals-http --bench query [-- ACCOUNTS]` (default 1000). Exits
//! non-zero when a view makes more than 2 storage requests (the embedded store's; see
//! docs/architecture.md for what each view costs on DynamoDB).

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{header, Request};
use chrono::{DateTime, NaiveDate, Utc};
use tower::ServiceExt;
use vitals_core::churn::ChurnModelRecord;
use vitals_core::clock::FixedClock;
use vitals_core::config::AuthConfig;
use vitals_core::freshness::TouchMark;
use vitals_core::history::HistoryDay;
use vitals_core::model::*;
use vitals_core::ports::*;
use vitals_core::query::listing::ListingBuilder;
use vitals_core::run::LateMark;
use vitals_core::segment::Segment;
use vitals_embedded::SqliteStore;
use vitals_http::{query_router, AppState, LocalTokens, Role, WriteKeys};
use vitals_scoring::{score_account, AccountFacts, DayActivity, ScoringConfig, UsageWindow};

/// Counts every storage call (each is one request on DynamoDB; a paged listing counts once per
/// page).
struct Counting {
    inner: SqliteStore,
    calls: AtomicU64,
}

impl Counting {
    fn hit(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

macro_rules! delegate {
    ($port:ident { $($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)* }) => {
        #[async_trait]
        impl $port for Counting {
            $(async fn $name(&self, $($arg: $ty),*) -> $ret {
                self.hit();
                self.inner.$name($($arg),*).await
            })*
        }
    };
}

delegate! {
    EventStore {
        put_chunks(chunks: &[EventChunk]) -> StoreResult<()>;
        chunks_for_segment_day(segment: Segment, day: NaiveDate) -> StoreResult<Vec<EventChunk>>;
        chunks_for_account_day(account: &AccountId, day: NaiveDate) -> StoreResult<Vec<EventChunk>>;
    }
}
delegate! {
    AccountStore {
        put_profile(account: &AccountId, profile: &AccountProfile) -> StoreResult<()>;
        put_scoring_state(record: &AccountRecord) -> StoreResult<()>;
        put_provisional_scores(scores: &[ProvisionalScore]) -> StoreResult<()>;
        get_account(account: &AccountId) -> StoreResult<Option<AccountRecord>>;
        list_segment(segment: Segment, cursor: Option<&str>, limit: usize) -> StoreResult<Page<AccountRecord>>;
    }
}
delegate! {
    UserStore {
        put_user(user: &UserProfile) -> StoreResult<()>;
        get_user(user_id: &str) -> StoreResult<Option<UserProfile>>;
        users_of_account(account: &AccountId) -> StoreResult<Vec<UserProfile>>;
    }
}
delegate! {
    ScoreHistoryStore {
        put_history(entries: &[HistoryDay]) -> StoreResult<()>;
        history(account: &AccountId, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<HistoryDay>>;
    }
}
delegate! {
    AlertStore {
        insert_alert(alert: &Alert) -> StoreResult<()>;
        get_alert(id: &str) -> StoreResult<Option<Alert>>;
        update_alert(alert: &Alert) -> StoreResult<()>;
        list_alerts(query: &AlertQuery, cursor: Option<&str>, limit: usize) -> StoreResult<Page<Alert>>;
    }
}
delegate! {
    InterventionStore {
        insert_intervention(intervention: &Intervention) -> StoreResult<()>;
        get_intervention(id: &str) -> StoreResult<Option<Intervention>>;
        update_intervention(intervention: &Intervention) -> StoreResult<()>;
        list_interventions(account: Option<&AccountId>, cursor: Option<&str>, limit: usize) -> StoreResult<Page<Intervention>>;
    }
}
delegate! {
    AuditLog {
        append_audit(entry: &AuditEntry) -> StoreResult<()>;
        list_audit(account: Option<&AccountId>, cursor: Option<&str>, limit: usize) -> StoreResult<Page<AuditEntry>>;
    }
}
delegate! {
    ConfigStore {
        put_config_version(version: &ConfigVersion) -> StoreResult<()>;
        latest_config() -> StoreResult<Option<ConfigVersion>>;
        get_config_version(version: u64) -> StoreResult<Option<ConfigVersion>>;
        list_config_versions(limit: usize) -> StoreResult<Vec<ConfigVersion>>;
    }
}
delegate! {
    CheckpointStore {
        get_checkpoint(run_id: &str, segment: Segment) -> StoreResult<Option<Checkpoint>>;
        put_checkpoint(checkpoint: &Checkpoint) -> StoreResult<()>;
        list_checkpoints(run_id: &str) -> StoreResult<Vec<Checkpoint>>;
    }
}
delegate! {
    SummaryStore {
        put_summary(summary: &PortfolioSummary) -> StoreResult<()>;
        latest_summary() -> StoreResult<Option<PortfolioSummary>>;
        summaries(from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<PortfolioSummary>>;
        put_book_days(books: &[BookDay]) -> StoreResult<()>;
        book_days(owner: &str, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<BookDay>>;
    }
}
delegate! {
    ListingStore {
        put_segment_listing(listing: &SegmentListing) -> StoreResult<()>;
        put_provisional_listing(listing: &ProvisionalListing) -> StoreResult<()>;
        provisional_listing() -> StoreResult<Option<ProvisionalListing>>;
        account_listing() -> StoreResult<AccountListing>;
        listing_version() -> StoreResult<Option<String>>;
    }
}
delegate! {
    AccountActivityStore {
        account_activity(account: &AccountId, limit: usize, history_days: &[NaiveDate]) -> StoreResult<AccountActivity>;
    }
}
delegate! {
    ChurnModelStore {
        put_churn_model(model: &ChurnModelRecord) -> StoreResult<()>;
        latest_churn_model() -> StoreResult<Option<ChurnModelRecord>>;
    }
}
delegate! {
    LateEventStore {
        put_late_marks(marks: &[LateMark]) -> StoreResult<()>;
        late_marks(day: Option<NaiveDate>) -> StoreResult<Vec<LateMark>>;
        delete_late_marks(marks: &[LateMark]) -> StoreResult<()>;
    }
}
delegate! {
    TouchedAccountStore {
        put_touch_marks(marks: &[TouchMark]) -> StoreResult<()>;
        touch_marks(interval: DateTime<Utc>) -> StoreResult<Vec<TouchMark>>;
    }
}
delegate! {
    CrmPushStore {
        put_crm_pushed(pushed: &[vitals_core::crm::CrmPushed]) -> StoreResult<()>;
        crm_pushed(crm: &str) -> StoreResult<Vec<vitals_core::crm::CrmPushed>>;
        crm_activity_mark(crm: &str) -> StoreResult<Option<vitals_core::crm::ActivityMark>>;
        put_crm_activity_mark(mark: &vitals_core::crm::ActivityMark) -> StoreResult<()>;
    }
}

/// Accounts given 90 days of score history (the views read acct-00003's).
const HISTORY_ACCOUNTS: usize = 1000;

fn day(offset: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default() + chrono::Duration::days(offset)
}

async fn populate(store: &SqliteStore, accounts: usize) {
    let config = ScoringConfig::default();
    let as_of = day(0);
    let mut books: std::collections::BTreeMap<String, BookFigures> = Default::default();
    // What the daily run leaves besides the records: each segment's listing.
    let mut listings: Vec<ListingBuilder> = Segment::all()
        .map(|segment| ListingBuilder::new(segment, as_of, []))
        .collect();
    for i in 0..accounts {
        let id = AccountId::new(format!("acct-{i:05}")).unwrap();
        let mut window = UsageWindow::default();
        for back in (0..90i64).rev() {
            let d = day(-back);
            let users = (i % 12 + 1).saturating_sub((back as usize * (i % 3)) / 40);
            window.roll(
                d,
                &DayActivity {
                    day: Some(d),
                    active_users: (0..users).map(|u| format!("u{u}")).collect(),
                    sessions: users as u32 * 2,
                    session_seconds: users as u32 * 600,
                    events: users as u32 * 15,
                    features: vec!["reports".into(), format!("f{}", i % 7)],
                    ..DayActivity::default()
                },
            );
        }
        let profile = AccountProfile {
            name: Some(format!("Account {i}")),
            owner: Some(format!("csm{}@example.com", i % 10)),
            tier: Some(["Starter", "Growth", "Enterprise"][i % 3].into()),
            seats: Some(15),
            mrr: Some(100.0 + (i % 50) as f64 * 40.0),
            renewal_date: Some(day(30 + (i % 300) as i64)),
            started_on: Some(day(-400)),
            ..AccountProfile::default()
        };
        let facts = AccountFacts {
            tier: profile.tier.clone(),
            seats_licensed: profile.seats,
            mrr: profile.mrr,
            renewal_date: profile.renewal_date,
            contract_start: profile.started_on,
            ..AccountFacts::default()
        };
        let scored = score_account(&config, &facts, &window, as_of, None);
        // The same 90 days the history holds, as the daily run keeps them on the record.
        let mut trail = ScoreTrail::default();
        for back in 0..90 {
            trail.record(day(-back), scored.health.score, scored.health.band);
        }
        let record = AccountRecord {
            account_id: id.clone(),
            profile: profile.clone(),
            window,
            score: Some(ScoreRecord {
                account_id: id.clone(),
                as_of,
                computed_at: Utc::now(),
                score: scored.clone(),
            }),
            trail,
            provisional: None,
        };
        store.put_profile(&id, &profile).await.unwrap();
        store.put_scoring_state(&record).await.unwrap();
        listings[usize::from(id.segment().0)].add(&record);
        // One account in 50 has an open alert (the inbox's and the account page's rows).
        if i % 50 == 3 {
            store
                .insert_alert(&open_alert(&id, &profile))
                .await
                .unwrap();
        }
        let book = books
            .entry(BookDay::owner_key(
                profile.owner.as_deref().unwrap_or_default(),
            ))
            .or_default();
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
        // The views read one account's history: the others' would only slow the setup.
        if i >= HISTORY_ACCOUNTS {
            continue;
        }
        let history: Vec<HistoryDay> = (0..90)
            .map(|back| {
                HistoryDay::of(&ScoreRecord {
                    account_id: id.clone(),
                    as_of: day(-back),
                    computed_at: Utc::now(),
                    score: scored.clone(),
                })
            })
            .collect();
        store.put_history(&history).await.unwrap();
    }
    for listing in listings {
        store.put_segment_listing(&listing.finish()).await.unwrap();
    }
    // Each owner's book for the 90 days, as the daily run stores them with its summaries.
    let days: Vec<BookDay> = (0..90)
        .flat_map(|back| {
            books.iter().map(move |(owner, figures)| BookDay {
                owner: owner.clone(),
                day: day(-back),
                figures: *figures,
            })
        })
        .collect();
    store.put_book_days(&days).await.unwrap();
    for back in 0..90 {
        store
            .put_summary(&PortfolioSummary {
                as_of: Some(day(-back)),
                accounts: accounts as u64,
                histogram: vec![accounts as u64 / 10; 10],
                mean_score: 70.0,
                ..PortfolioSummary::default()
            })
            .await
            .unwrap();
    }
}

fn open_alert(id: &AccountId, profile: &AccountProfile) -> Alert {
    let opened = day(0).and_hms_opt(6, 0, 0).unwrap_or_default().and_utc();
    Alert {
        id: format!("alert-{id}"),
        account_id: id.clone(),
        dedupe_key: format!("{id}:band:at_risk"),
        kind: "band_change".into(),
        cause: "band fell to at risk".into(),
        severity: Severity::Critical,
        status: AlertStatus::Open,
        owner: profile.owner.clone(),
        about_day: Some(day(0)),
        opened_at: opened,
        updated_at: opened,
        snoozed_until: None,
        snooze_reason: None,
        transitions: Vec::new(),
        details: serde_json::Value::Null,
        version: 1,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let accounts: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000);
    let inner = SqliteStore::open_in_memory().unwrap();
    let started = Instant::now();
    populate(&inner, accounts).await;
    println!(
        "query bench: {accounts} scored accounts, 90 days of summaries and books, history of {HISTORY_ACCOUNTS} (setup {:.1}s)",
        started.elapsed().as_secs_f64()
    );
    let store = Arc::new(Counting {
        inner,
        calls: AtomicU64::new(0),
    });
    let tokens = LocalTokens::new(vec![9u8; 32], &AuthConfig::default()).unwrap();
    let now: DateTime<Utc> = day(1).and_hms_opt(8, 0, 0).unwrap_or_default().and_utc();
    let admin = tokens.mint(
        "admin@example.com",
        Role::Admin,
        Utc::now(),
        chrono::Duration::hours(1),
    );
    let csm = tokens.mint(
        "csm3@example.com",
        Role::Csm,
        Utc::now(),
        chrono::Duration::hours(1),
    );
    let lead = tokens.mint(
        "lead@example.com",
        Role::Lead,
        Utc::now(),
        chrono::Duration::hours(1),
    );
    let router = query_router(AppState {
        storage: store.clone(),
        clock: Arc::new(FixedClock(now)),
        write_keys: Arc::new(WriteKeys::default()),
        retention_days: 730,
        alert_limits: Default::default(),
        signals: Default::default(),
        touches: Default::default(),
        caches: Default::default(),
        authenticator: Arc::new(tokens),
    });
    let views: [(&str, String, &str); 22] = [
        ("portfolio (JSON)", "/v1/portfolio".into(), &admin),
        ("portfolio, CSM (JSON)", "/v1/portfolio".into(), &csm),
        (
            "account detail (JSON)",
            "/v1/accounts/acct-00003".into(),
            &admin,
        ),
        (
            "account history (JSON)",
            "/v1/accounts/acct-00003/history".into(),
            &admin,
        ),
        (
            "account detail, CSM",
            "/v1/accounts/acct-00003".into(),
            &csm,
        ),
        (
            "alerts page (JSON)",
            "/v1/alerts?status=open".into(),
            &admin,
        ),
        (
            "account list, CSM (JSON)",
            "/v1/accounts?band=at_risk".into(),
            &csm,
        ),
        (
            "account list, admin (JSON)",
            "/v1/accounts?sort=-mrr&limit=50".into(),
            &admin,
        ),
        (
            "dashboard account page",
            "/dashboard/accounts/acct-00003".into(),
            &admin,
        ),
        ("dashboard portfolio page", "/dashboard".into(), &admin),
        ("dashboard portfolio, CSM", "/dashboard".into(), &csm),
        (
            "dashboard accounts page",
            "/dashboard/accounts?band=at_risk&sort=-mrr".into(),
            &admin,
        ),
        (
            "dashboard accounts, all",
            "/dashboard/accounts?lifecycle=all&page=3".into(),
            &admin,
        ),
        (
            "dashboard accounts, CSM",
            "/dashboard/accounts?q=account&sort=change_7d&page=2".into(),
            &csm,
        ),
        (
            "accounts CSV, CSM",
            "/dashboard/accounts.csv?band=at_risk".into(),
            &csm,
        ),
        (
            "dashboard account page, CSM",
            "/dashboard/accounts/acct-00003".into(),
            &csm,
        ),
        ("dashboard alerts inbox", "/dashboard/alerts".into(), &admin),
        ("dashboard alerts, CSM", "/dashboard/alerts".into(), &csm),
        (
            "dashboard alerts, lead all",
            "/dashboard/alerts?owner=all".into(),
            &lead,
        ),
        ("dashboard portfolio, lead", "/dashboard".into(), &lead),
        ("dashboard audit page", "/dashboard/audit".into(), &admin),
        ("alerts, CSM (JSON)", "/v1/alerts?status=open".into(), &csm),
    ];
    println!(
        "{:<28} {:>9} {:>9} {:>9}  {:>8}  budget p99 ≤ 5 ms, ≤ 2 requests",
        "view", "p50 ms", "p99 ms", "max ms", "requests"
    );
    let mut over_requests = Vec::new();
    for (name, path, token) in views {
        let iterations = if path.starts_with("/v1/accounts?")
            || path.starts_with("/dashboard?")
            || path.starts_with("/dashboard/accounts?")
            || path.starts_with("/dashboard/accounts.csv")
            || path == "/dashboard"
        {
            200
        } else {
            500
        };
        let mut times = Vec::with_capacity(iterations);
        let mut requests = 0;
        for i in 0..iterations + 10 {
            let request = Request::get(path.as_str())
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            let before = store.calls.load(Ordering::Relaxed);
            let t = Instant::now();
            let response = router.clone().oneshot(request).await.unwrap();
            assert!(
                response.status().is_success(),
                "{name}: {}",
                response.status()
            );
            let body = axum::body::to_bytes(response.into_body(), 1 << 26)
                .await
                .unwrap();
            let elapsed = t.elapsed().as_secs_f64() * 1000.0;
            assert!(!body.is_empty());
            if i >= 10 {
                times.push(elapsed);
                requests = store.calls.load(Ordering::Relaxed) - before;
            }
        }
        times.sort_by(f64::total_cmp);
        let p99 = percentile(&times, 0.99);
        let verdict = if p99 <= 5.0 && requests <= 2 {
            "ok"
        } else {
            "OVER"
        };
        if requests > 2 {
            over_requests.push(format!("{name} ({requests} requests)"));
        }
        println!(
            "{name:<28} {:>9.3} {p99:>9.3} {:>9.3}  {requests:>8}  {verdict}",
            percentile(&times, 0.5),
            times[times.len() - 1],
        );
    }
    // The request budget is a design property, not a timing: any view over it fails the run.
    if !over_requests.is_empty() {
        eprintln!(
            "query bench: over the 2-request budget: {}",
            over_requests.join(", ")
        );
        std::process::exit(1);
    }
}

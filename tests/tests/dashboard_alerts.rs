//! The dashboard as a CSM's workspace, through the router as a browser uses it: sign in from a
//! token link (cookie), act on alerts from the inbox with form posts carrying the session's
//! CSRF token, see the change on the account page and in the audit log; an admin validates and
//! saves configuration drafts. A post without the token is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use vitals_core::clock::FixedClock;
use vitals_core::config::AuthConfig;
use vitals_core::model::{AccountProfile, AccountRecord, AlertStatus, AlertTransition, Severity};
use vitals_core::ports::{AccountStore, AlertStore, ConfigStore, ScoreHistoryStore};
use vitals_embedded::SqliteStore;
use vitals_http::axum::body::Body;
use vitals_http::axum::http::{header, Request, StatusCode};
use vitals_http::tower::ServiceExt;
use vitals_http::{full_router, AppState, LocalTokens, Role, WriteKeys};
use vitals_tests::storage_contract::{acct, alert, day, history_day, score_record, window};

const ANA: &str = "ana@example.com";
const BOB: &str = "bob@example.com";
const ADMIN: &str = "root@example.com";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T08:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap()
}

fn tokens() -> LocalTokens {
    LocalTokens::new(vec![7u8; 32], &AuthConfig::default()).unwrap()
}

/// Ana owns Acme (two open alerts, a week of history), Bob owns Bobcat (one alert).
async fn app() -> (vitals_http::axum::Router, Arc<SqliteStore>) {
    let store = SqliteStore::open_in_memory().unwrap();
    for (id, owner, name) in [("ana-1", ANA, "Acme"), ("bob-1", BOB, "Bobcat Secret Co")] {
        let account = acct(id);
        let record = AccountRecord {
            account_id: account.clone(),
            profile: AccountProfile {
                name: Some(name.into()),
                owner: Some(owner.into()),
                ..AccountProfile::default()
            },
            window: window(day("2026-03-01"), 30),
            score: Some(score_record(&account, day("2026-03-01"), 30.0)),
            trail: Default::default(),
            provisional: None,
        };
        store.put_profile(&account, &record.profile).await.unwrap();
        store.put_scoring_state(&record).await.unwrap();
        store
            .put_history(&[
                history_day(&account, day("2026-02-20"), 5.0),
                history_day(&account, day("2026-03-01"), 30.0),
            ])
            .await
            .unwrap();
    }
    for (id, account, owner, severity) in [
        ("decline-ana", "ana-1", ANA, Severity::Critical),
        ("risk-ana", "ana-1", ANA, Severity::Warning),
        ("decline-bob", "bob-1", BOB, Severity::Critical),
    ] {
        let mut a = alert(id, &acct(account), 100, AlertStatus::Open);
        a.owner = Some(owner.into());
        a.severity = severity;
        a.transitions.push(AlertTransition {
            at: a.opened_at,
            by: "vitals".into(),
            to: AlertStatus::Open,
            note: Some("score fell 18: seat adoption 41% → 22%".into()),
        });
        store.insert_alert(&a).await.unwrap();
    }
    let store = Arc::new(store);
    let app = full_router(AppState {
        storage: store.clone(),
        clock: Arc::new(FixedClock(now())),
        write_keys: Arc::new(WriteKeys::new(["write-key-1".to_string()])),
        retention_days: 730,
        alert_limits: Default::default(),
        signals: Default::default(),
        touches: Default::default(),
        caches: Default::default(),
        authenticator: Arc::new(tokens()),
    });
    (app, store)
}

/// A browser: the session cookie once signed in.
struct Browser {
    app: vitals_http::axum::Router,
    cookie: String,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Browser {
    /// Opens the sign-in link and keeps the cookie it sets.
    async fn sign_in(app: &vitals_http::axum::Router, user: &str, role: Role) -> Browser {
        let token = tokens().mint(user, role, Utc::now(), chrono::Duration::hours(1));
        let reply = app
            .clone()
            .oneshot(
                Request::get(format!("/dashboard/alerts?token={token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::SEE_OTHER);
        let cookie = reply.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite="),
            "{cookie}"
        );
        Browser {
            app: app.clone(),
            cookie: cookie.split(';').next().unwrap().to_string(),
        }
    }

    async fn send(&self, request: Request<Body>) -> Page {
        let reply = self.app.clone().oneshot(request).await.unwrap();
        let status = reply.status();
        let location = reply
            .headers()
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap().to_string());
        let bytes = vitals_http::axum::body::to_bytes(reply.into_body(), 1 << 24)
            .await
            .unwrap();
        Page {
            status,
            location,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str) -> Page {
        self.send(
            Request::get(path)
                .header(header::COOKIE, &self.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.send(
            Request::post(path)
                .header(header::COOKIE, &self.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The CSRF token a page's forms carry.
fn csrf_of(page: &Page) -> String {
    let at = page
        .body
        .find(r#"name="csrf" value=""#)
        .expect("a form with a CSRF token")
        + 19;
    page.body[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn a_csm_snoozes_and_resolves_from_the_inbox_and_the_audit_log_names_her() {
    let (app, store) = app().await;
    let ana = Browser::sign_in(&app, ANA, Role::Csm).await;
    let inbox = ana.get("/dashboard/alerts").await;
    assert_eq!(inbox.status, StatusCode::OK);
    // Names, not ids; what fired and why; grouped by severity; only her alerts.
    assert!(inbox.body.contains(">Acme</a>"), "{}", inbox.body);
    assert!(inbox.body.contains("seat adoption 41% → 22%"));
    assert!(
        inbox.body.contains(r#"id="group-critical""#)
            && inbox.body.contains(r#"id="group-warning""#)
    );
    assert!(!inbox.body.contains("Bobcat") && !inbox.body.contains("decline-bob"));
    let csrf = csrf_of(&inbox);

    let snoozed = ana
        .post(
            "/dashboard/alerts/decline-ana",
            &[
                ("csrf", &csrf),
                ("action", "snooze"),
                ("version", "1"),
                ("days", "7"),
                ("reason", "customer on holiday"),
                ("back", "/dashboard/accounts/ana-1"),
            ],
        )
        .await;
    assert_eq!(snoozed.status, StatusCode::SEE_OTHER, "{}", snoozed.body);
    let back = snoozed.location.unwrap();
    assert!(
        back.starts_with("/dashboard/accounts/ana-1?notice=Alert%20snoozed%20until%202026-03-09"),
        "{back}"
    );
    let alert = store.get_alert("decline-ana").await.unwrap().unwrap();
    assert_eq!(alert.snoozed_until, Some(now() + chrono::Duration::days(7)));
    assert_eq!(alert.transitions.last().unwrap().by, ANA);
    let account = ana.get(&back).await;
    assert!(
        account.body.contains("Alert snoozed until 2026-03-09"),
        "the notice is shown"
    );
    assert!(account
        .body
        .contains("snoozed until 2026-03-09: customer on holiday"));

    let resolved = ana
        .post(
            "/dashboard/alerts/risk-ana",
            &[
                ("csrf", &csrf),
                ("action", "resolve"),
                ("version", "1"),
                ("reason", "renewal signed"),
                ("back", "/dashboard/alerts"),
            ],
        )
        .await;
    assert_eq!(resolved.status, StatusCode::SEE_OTHER, "{}", resolved.body);
    let alert = store.get_alert("risk-ana").await.unwrap().unwrap();
    assert_eq!(alert.status, AlertStatus::Resolved);
    assert_eq!(
        alert.transitions.last().unwrap().note.as_deref(),
        Some("renewal signed")
    );

    let admin = Browser::sign_in(&app, ADMIN, Role::Admin).await;
    let audit = admin.get("/dashboard/audit?user=ana%40example.com").await;
    assert_eq!(audit.status, StatusCode::OK);
    for expected in [
        "alert.snoozed",
        "alert.resolved",
        "renewal signed",
        ANA,
        ">Acme</a>",
    ] {
        assert!(
            audit.body.contains(expected),
            "{expected} in the audit page"
        );
    }
}

#[tokio::test]
async fn a_lead_picks_an_owner_in_the_inbox_and_reassigns_another_csms_alert() {
    let (app, store) = app().await;
    let lee = Browser::sign_in(&app, "lee@example.com", Role::Lead).await;
    let everyone = lee.get("/dashboard/alerts").await;
    assert_eq!(everyone.status, StatusCode::OK);
    assert!(everyone.body.contains(">Acme</a>") && everyone.body.contains("Bobcat"));
    let bobs = lee.get(&format!("/dashboard/alerts?owner={BOB}")).await;
    assert!(bobs.body.contains("Bobcat") && !bobs.body.contains(">Acme</a>"));
    // No settings for a lead: the navigation offers the audit log only.
    assert!(bobs.body.contains(r#"href="/dashboard/audit""#));
    assert!(!bobs.body.contains(r#"href="/dashboard/settings""#));
    let moved = lee
        .post(
            "/dashboard/alerts/decline-bob",
            &[
                ("csrf", &csrf_of(&bobs)),
                ("action", "reassign"),
                ("version", "1"),
                ("owner", ANA),
                ("back", "/dashboard/alerts"),
            ],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    let alert = store.get_alert("decline-bob").await.unwrap().unwrap();
    assert_eq!(alert.owner.as_deref(), Some(ANA));
    assert_eq!(alert.transitions.last().unwrap().by, "lee@example.com");
}

#[tokio::test]
async fn a_form_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing() {
    let (app, store) = app().await;
    let ana = Browser::sign_in(&app, ANA, Role::Csm).await;
    let resolve = |csrf: &'static str| {
        vec![
            ("csrf", csrf),
            ("action", "resolve"),
            ("version", "1"),
            ("reason", "x"),
        ]
    };
    assert_eq!(
        ana.post("/dashboard/alerts/decline-ana", &resolve("")[1..])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ana.post("/dashboard/alerts/decline-ana", &resolve("forged"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Another session's token does not fit this session.
    let bob = Browser::sign_in(&app, BOB, Role::Csm).await;
    let bobs = csrf_of(&bob.get("/dashboard/alerts").await);
    let mut form = resolve("");
    form[0].1 = &bobs;
    assert_eq!(
        ana.post("/dashboard/alerts/decline-ana", &form)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        store
            .get_alert("decline-ana")
            .await
            .unwrap()
            .unwrap()
            .status,
        AlertStatus::Open
    );
}

#[tokio::test]
async fn dashboard_actions_keep_the_apis_bounds_and_scoping() {
    let (app, store) = app().await;
    let ana = Browser::sign_in(&app, ANA, Role::Csm).await;
    let csrf = csrf_of(&ana.get("/dashboard/alerts").await);
    let essay = "x".repeat(3 * 1024);
    let too_long = ana
        .post(
            "/dashboard/alerts/decline-ana",
            &[
                ("csrf", &csrf),
                ("action", "resolve"),
                ("version", "1"),
                ("reason", &essay),
            ],
        )
        .await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    assert!(
        too_long.body.contains("note: at most 2048 bytes"),
        "{}",
        too_long.body
    );
    let too_far = ana
        .post(
            "/dashboard/alerts/decline-ana",
            &[
                ("csrf", &csrf),
                ("action", "snooze"),
                ("version", "1"),
                ("days", "400"),
                ("reason", "later"),
            ],
        )
        .await;
    assert_eq!(too_far.status, StatusCode::BAD_REQUEST);
    // Bob's alert does not exist for Ana; reassigning is for admins.
    let foreign = ana
        .post(
            "/dashboard/alerts/decline-bob",
            &[("csrf", &csrf), ("action", "acknowledge"), ("version", "1")],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let reassign = ana
        .post(
            "/dashboard/alerts/decline-ana",
            &[
                ("csrf", &csrf),
                ("action", "reassign"),
                ("version", "1"),
                ("owner", BOB),
            ],
        )
        .await;
    assert_eq!(reassign.status, StatusCode::FORBIDDEN);
    assert_eq!(
        store
            .get_alert("decline-ana")
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    // Nor does Bob's account, anywhere.
    assert_eq!(
        ana.get("/dashboard/accounts/bob-1").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_account_page_shows_the_weeks_change_its_open_alerts_and_their_buttons() {
    let (app, _) = app().await;
    let ana = Browser::sign_in(&app, ANA, Role::Csm).await;
    let page = ana.get("/dashboard/accounts/ana-1").await;
    assert_eq!(page.status, StatusCode::OK);
    let change = &page.body[page.body.find(r#"id="score-change""#).unwrap()..];
    assert!(change.contains("Week over week</th><td>score "), "{change}");
    assert!(change.contains("since 2026-02-20"));
    assert!(change.contains("no score from 30 days before the latest yet"));
    let alerts = &page.body[page.body.find(r#"id="open-alerts""#).unwrap()..];
    assert!(alerts.contains(r#"action="/dashboard/alerts/decline-ana""#));
    assert!(alerts.contains(">Snooze</button>") && alerts.contains(">Resolve</button>"));
    assert!(
        !alerts.contains(">Reassign</button>"),
        "reassigning is for admins"
    );
}

#[tokio::test]
async fn an_admin_validates_a_draft_in_the_browser_and_saves_it_as_a_version() {
    let (app, store) = app().await;
    let admin = Browser::sign_in(&app, ADMIN, Role::Admin).await;
    let settings = admin.get("/dashboard/settings").await;
    assert_eq!(settings.status, StatusCode::OK);
    let csrf = csrf_of(&settings);
    let bad = admin
        .post(
            "/dashboard/settings",
            &[
                ("csrf", &csrf),
                ("op", "validate"),
                ("body", "[retention]\ndays = 3\n"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(
        bad.body.contains("<code>retention.days</code>"),
        "{}",
        bad.body
    );
    let good = admin
        .post(
            "/dashboard/settings",
            &[
                ("csrf", &csrf),
                ("op", "validate"),
                ("body", "[retention]\ndays = 400\n"),
            ],
        )
        .await;
    assert!(good
        .body
        .contains(r#"id="draft-result" class="band-healthy">valid<"#));
    let empty = admin
        .post(
            "/dashboard/settings",
            &[("csrf", &csrf), ("op", "save"), ("body", "")],
        )
        .await;
    assert!(empty.body.contains("Not saved"), "{}", empty.body);
    assert!(store.list_config_versions(5).await.unwrap().is_empty());
    let saved = admin
        .post(
            "/dashboard/settings",
            &[
                ("csrf", &csrf),
                ("op", "save"),
                ("base_version", "0"),
                ("body", "[retention]\ndays = 400\n"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let versions = store.list_config_versions(5).await.unwrap();
    assert_eq!(
        (versions[0].version, versions[0].author.as_str()),
        (1, ADMIN)
    );
    let unsigned = admin
        .post(
            "/dashboard/settings",
            &[("op", "save"), ("body", "[retention]\ndays = 500\n")],
        )
        .await;
    assert_eq!(unsigned.status, StatusCode::FORBIDDEN);
}

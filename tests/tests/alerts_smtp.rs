//! Email from `vitals serve` through SMTP (`[alerts.email.smtp]`), against a tiny SMTP
//! receiver on loopback written here (EHLO, MAIL, RCPT, DATA, QUIT): a declining standard
//! account's check-in reaches the contact with the personalised draft; a 4xx answer is retried,
//! a 5xx one is not; without an SMTP host the outbox directory stays the default.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use vitals_core::alerts::dispatch::{Dispatch, DispatchError, DispatchMessage};
use vitals_core::clock::FixedClock;
use vitals_core::config::VitalsConfig;
use vitals_core::model::{AccountId, AccountProfile, AccountRecord, UserProfile};
use vitals_core::ports::{AccountStore, InterventionStore, UserStore};
use vitals_core::score_event::{ScoreEvent, ScoreEventKind};
use vitals_embedded::SqliteStore;
use vitals_notify::HttpNotifier;
use vitals_scoring::Band;

/// One message as the SMTP server saw it.
#[derive(Debug, Clone, Default)]
struct Received {
    mail_from: String,
    rcpt_to: Vec<String>,
    data: String,
}

/// An SMTP receiver that answers `data_reply` to the end of DATA (250 once the script is empty).
#[derive(Clone, Default)]
struct SmtpReceiver {
    messages: Arc<Mutex<Vec<Received>>>,
    data_replies: Arc<Mutex<Vec<&'static str>>>,
}

impl SmtpReceiver {
    async fn start(data_replies: &[&'static str]) -> (SmtpReceiver, u16) {
        let receiver = SmtpReceiver {
            data_replies: Arc::new(Mutex::new(data_replies.iter().rev().copied().collect())),
            ..SmtpReceiver::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let r = receiver.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let r = r.clone();
                tokio::spawn(async move { r.session(socket).await });
            }
        });
        (receiver, port)
    }

    fn messages(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }

    async fn session(&self, socket: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 mail.test ESMTP ready\r\n").await?;
        let mut current = Received::default();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_string();
            let upper = command.to_ascii_uppercase();
            let reply: String = if upper.starts_with("EHLO") {
                "250-mail.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".into()
            } else if upper.starts_with("HELO") || upper == "NOOP" || upper == "RSET" {
                "250 OK\r\n".into()
            } else if upper.starts_with("MAIL FROM:") {
                current = Received {
                    mail_from: address_of(&command),
                    ..Received::default()
                };
                "250 OK\r\n".into()
            } else if upper.starts_with("RCPT TO:") {
                current.rcpt_to.push(address_of(&command));
                "250 OK\r\n".into()
            } else if upper == "DATA" {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    // Undo dot-stuffing.
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let reply = self.data_replies.lock().unwrap().pop();
                match reply {
                    Some(reply) => format!("{reply}\r\n"),
                    None => {
                        current.data = data;
                        self.messages.lock().unwrap().push(current.clone());
                        "250 queued\r\n".into()
                    }
                }
            } else if upper == "QUIT" {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                "502 not implemented\r\n".into()
            };
            write.write_all(reply.as_bytes()).await?;
        }
    }
}

fn address_of(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command.rfind('>').unwrap_or(command.len());
    command[start..end].to_string()
}

/// The config a user writes to send email through their relay.
fn smtp_config(port: u16) -> VitalsConfig {
    VitalsConfig::parse(&format!(
        r#"
[alerts.email.smtp]
host = "127.0.0.1"
port = {port}
starttls = false
from = "alerts@vendor.com"
"#
    ))
    .unwrap()
}

/// A standard account with an owner, a champion contact and recent usage.
async fn standard_account(store: &SqliteStore) -> AccountId {
    let a = AccountId::new("smallco").unwrap();
    store
        .put_profile(
            &a,
            &AccountProfile {
                name: Some("Smallco".into()),
                tier: Some("standard".into()),
                mrr: Some(400.0),
                owner: Some("maria.lopez@vendor.com".into()),
                ..AccountProfile::default()
            },
        )
        .await
        .unwrap();
    let mut record = AccountRecord::new(a.clone());
    let day = |s: &str| s.parse().unwrap();
    record
        .window
        .users_last_active
        .insert("smallco-ana".into(), day("2026-02-20"));
    record
        .window
        .features_last_used
        .insert("Dashboards".into(), day("2026-02-20"));
    store.put_scoring_state(&record).await.unwrap();
    store
        .put_user(&UserProfile {
            user_id: "smallco-ana".into(),
            account_id: Some(a.clone()),
            name: Some("Ana Díaz".into()),
            email: Some("ana@smallco.example".into()),
            champion: true,
            ..UserProfile::default()
        })
        .await
        .unwrap();
    a
}

fn moderate_decline(a: &AccountId) -> DispatchMessage {
    let as_of = "2026-03-01".parse().unwrap();
    DispatchMessage::Score(ScoreEvent {
        id: ScoreEvent::id_for(a, as_of, ScoreEventKind::DeclineModerate, ""),
        account_id: a.clone(),
        as_of,
        kind: ScoreEventKind::DeclineModerate,
        score: 52.0,
        band: Band::Monitor,
        previous_score: Some(64.0),
        previous_band: Some(Band::Monitor),
        summary: "usage decline: 14-day active usage is 45% below the 90-day average".into(),
        detail: json!({"ratio": 0.55}),
        scored_at: None,
    })
}

fn clock() -> FixedClock {
    FixedClock(Utc.with_ymd_and_hms(2026, 3, 2, 6, 30, 0).unwrap())
}

#[tokio::test]
async fn a_check_in_reaches_the_contact_through_smtp_with_the_personalised_draft() {
    let (server, port) = SmtpReceiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vitals.db")).unwrap();
    let config = smtp_config(port);
    let transport =
        vitals_notify::email_transport(&config.alerts.email, &dir.path().join("outbox"), |_| None)
            .unwrap();
    let notifier = HttpNotifier::from_config(&config.alerts, transport, |_| None).unwrap();
    let clock = clock();
    let dispatch = Dispatch::new(&store, &notifier, &clock, &config);
    let a = standard_account(&store).await;

    let report = dispatch.handle(&moderate_decline(&a)).await.unwrap();

    // The check-in email and its follow-up, scheduled; nothing skipped.
    assert_eq!((report.delivered, report.skipped), (2, 0), "{report:?}");
    let got = server.messages();
    assert_eq!(got.len(), 1, "one email: {got:?}");
    let mail = &got[0];
    assert_eq!(mail.rcpt_to, ["ana@smallco.example"]);
    assert_eq!(mail.mail_from, "alerts@vendor.com", "envelope sender");
    assert!(
        mail.data.contains("From: maria.lopez@vendor.com\r\n"),
        "sent as the owner: {}",
        mail.data
    );
    assert!(
        mail.data.contains("Subject: Checking in on Smallco\r\n"),
        "{}",
        mail.data
    );
    for personalised in ["Hi Ana,", "Dashboards", "quick-start guide"] {
        assert!(
            mail.data.contains(personalised),
            "draft body lacks {personalised:?}: {}",
            mail.data
        );
    }
    assert!(
        !dir.path().join("outbox").exists(),
        "nothing written to the outbox when SMTP is configured"
    );
}

#[tokio::test]
async fn a_busy_mail_server_is_retried_and_a_refusal_is_permanent() {
    let (server, port) = SmtpReceiver::start(&["451 try again later"]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vitals.db")).unwrap();
    let config = smtp_config(port);
    let transport =
        vitals_notify::email_transport(&config.alerts.email, dir.path(), |_| None).unwrap();
    let notifier = HttpNotifier::from_config(&config.alerts, transport, |_| None).unwrap();
    let clock = clock();
    let dispatch = Dispatch::new(&store, &notifier, &clock, &config);
    let a = standard_account(&store).await;

    let first = dispatch.handle(&moderate_decline(&a)).await;
    assert!(
        matches!(first, Err(DispatchError::Retryable(_))),
        "4xx is retryable: {first:?}"
    );
    assert!(server.messages().is_empty());
    dispatch.handle(&moderate_decline(&a)).await.unwrap();
    dispatch.handle(&moderate_decline(&a)).await.unwrap();
    assert_eq!(server.messages().len(), 1, "delivered once on retry");

    let (refusing, port) = SmtpReceiver::start(&["550 no such user"]).await;
    let config = smtp_config(port);
    let transport =
        vitals_notify::email_transport(&config.alerts.email, dir.path(), |_| None).unwrap();
    let notifier = HttpNotifier::from_config(&config.alerts, transport, |_| None).unwrap();
    let other = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&other.path().join("vitals.db")).unwrap();
    let dispatch = Dispatch::new(&store, &notifier, &clock, &config);
    let a = standard_account(&store).await;
    // 5xx is permanent: recorded once on the action, with the server's answer, not retried.
    dispatch.handle(&moderate_decline(&a)).await.unwrap();
    let intervention = store
        .list_interventions(Some(&a), None, 10)
        .await
        .unwrap()
        .items
        .remove(0);
    let outreach = intervention
        .actions
        .iter()
        .find(|x| x.action == "outreach")
        .unwrap();
    assert_eq!(outreach.status, vitals_core::model::ActionStatus::Failed);
    assert!(
        outreach.last_error.as_deref().unwrap_or("").contains("550"),
        "{outreach:?}"
    );
    assert!(refusing.messages().is_empty());
}

#[tokio::test]
async fn without_an_smtp_host_emails_go_to_the_outbox_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vitals.db")).unwrap();
    let config = VitalsConfig::default();
    let outbox = dir.path().join("outbox");
    let transport =
        vitals_notify::email_transport(&config.alerts.email, &outbox, |_| None).unwrap();
    let notifier = HttpNotifier::from_config(&config.alerts, transport, |_| None).unwrap();
    let clock = clock();
    let dispatch = Dispatch::new(&store, &notifier, &clock, &config);
    let a = standard_account(&store).await;

    dispatch.handle(&moderate_decline(&a)).await.unwrap();

    let files: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(files.len(), 1);
    assert!(
        files[0].contains("To: ana@smallco.example\r\n"),
        "{}",
        files[0]
    );
}

#[test]
fn smtp_credentials_are_refused_without_starttls_and_the_password_comes_from_a_secret() {
    let err = VitalsConfig::parse(
        r#"
[alerts.email.smtp]
host = "smtp.example.com"
username = "vitals"
password_env = "SMTP_PASSWORD"
starttls = false
"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("alerts.email.smtp.starttls: must be true when credentials are set"),
        "{err}"
    );

    let config = VitalsConfig::parse(
        r#"
[alerts.email.smtp]
host = "smtp.example.com"
username = "vitals"
password_env = "SMTP_PASSWORD"
"#,
    )
    .unwrap();
    let smtp = config.alerts.email.smtp.as_ref().unwrap();
    assert_eq!(
        (smtp.port, smtp.starttls),
        (587, true),
        "submission + STARTTLS"
    );
    let missing =
        vitals_notify::email_transport(&config.alerts.email, std::path::Path::new("x"), |_| None)
            .err()
            .expect("a missing password is refused");
    assert_eq!(
        missing.to_string(),
        "alerts.email.smtp.password_env: secret SMTP_PASSWORD is not set"
    );
    let transport =
        vitals_notify::email_transport(&config.alerts.email, std::path::Path::new("x"), |k| {
            (k == "SMTP_PASSWORD").then(|| "hunter2-smtp".to_string())
        });
    assert!(
        transport.is_ok(),
        "a password from the secret lookup is accepted"
    );
}

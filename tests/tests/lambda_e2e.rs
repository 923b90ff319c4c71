//! The four function binaries run as Lambda runs them (a Runtime API emulator, the environment
//! `template.yaml` gives them, DynamoDB Local and moto's SQS), fed the events API Gateway, the
//! scheduler and SQS send, starting with every sample in `infra/events/`.
//!
//! Needs `VITALS_LAMBDA_BIN_DIR` (the built `ingest`, `score`, `dispatch`, `query`),
//! `VITALS_BIN` (the `vitals` binary) and the emulator endpoints: `scripts/steps/lambda-e2e.sh`
//! sets them all. Skipped without them (the workspace `cargo test` does not build binaries).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use base64::Engine;
use chrono::{Days, Utc};
use serde_json::{json, Value};
use vitals_aws::{DynamoStore, SqsQueue};
use vitals_core::alerts::dispatch::DispatchMessage;
use vitals_core::alerts::rules::{Action, ChannelConfig, Trigger, Workflow};
use vitals_core::clock::SystemClock;
use vitals_core::config::VitalsConfig;
use vitals_core::model::AccountId;
use vitals_core::ports::{AccountStore, Queue};
use vitals_core::score_event::{ScoreEvent, ScoreEventKind};
use vitals_tests::lambda_api::{LambdaProcess, Outcome};
use vitals_tests::oidc::TestIdp;
use vitals_tests::receiver::Receiver;
use vitals_tests::support::{emulator_sdk_config, Must};
use vitals_tests::unique_name;

const WRITE_KEY: &str = "wk_live_7Qm2xR9tLpV4";
const ACCOUNT: &str = "acct_northwind";
const OWNER: &str = "maria.lopez@vitals-customer.example";

/// The environment the step provides, or `None` (skipped) outside it.
struct Setup {
    bins: PathBuf,
    vitals: PathBuf,
    dynamodb: String,
    sqs: String,
}

fn setup() -> Option<Setup> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    match (
        var("VITALS_LAMBDA_BIN_DIR"),
        var("VITALS_BIN"),
        var("VITALS_TEST_DYNAMODB_ENDPOINT"),
        var("VITALS_TEST_SQS_ENDPOINT"),
    ) {
        (Some(bins), Some(vitals), Some(dynamodb), Some(sqs)) => Some(Setup {
            bins: bins.into(),
            vitals: vitals.into(),
            dynamodb,
            sqs,
        }),
        _ => {
            eprintln!("skipped: scripts/steps/lambda-e2e.sh runs these tests");
            None
        }
    }
}

fn sample(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../infra/events")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The configuration both backends score with: absolute scorecards (so the run fans out by
/// segment) and a webhook workflow for expansion signals.
fn config(webhook: &str) -> String {
    let mut config = VitalsConfig::parse(
        "[[scoring.scorecards]]\nname = \"default\"\nnormalise = \"absolute\"\n\
         [scoring.scorecards.weights]\nusage_depth = 0.5\nseat_adoption = 0.5\n",
    )
    .unwrap();
    config.alerts.allow_private_destinations = vec!["127.0.0.1".into()];
    config.alerts.channels.insert(
        "hook".into(),
        ChannelConfig::Webhook {
            url: webhook.into(),
            secret: None,
            secret_env: None,
            template: None,
            headers: Default::default(),
        },
    );
    config.alerts.workflows = vec![Workflow {
        name: "expansion-hook".into(),
        enabled: true,
        trigger: Trigger::ExpansionSignal,
        when: None,
        actions: vec![Action::Webhook {
            channel: "hook".into(),
        }],
    }];
    toml::to_string(&config).unwrap()
}

/// AWS resources of one run and the environment `template.yaml` gives each function.
struct Stack {
    table: String,
    alerts: (String, String),
    segments: (String, String),
    dynamodb: String,
    sqs: String,
}

impl Stack {
    /// `Globals.Function.Environment` plus what Lambda and the emulators need. The generic
    /// `AWS_ENDPOINT_URL` points nowhere: each client must use its per-service endpoint.
    fn env(&self, function: &str) -> Vec<(String, String)> {
        let mut env: Vec<(&str, String)> = vec![
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".into()),
            ("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb.clone()),
            ("AWS_ENDPOINT_URL_SQS", self.sqs.clone()),
            ("RUST_LOG", "info".into()),
            ("VITALS_TABLE", self.table.clone()),
            ("VITALS_ALERT_QUEUE_URL", self.alerts.0.clone()),
            ("VITALS_ALERT_DLQ_URL", self.alerts.1.clone()),
            ("VITALS_SCORE_TIMEZONE", "UTC".into()),
            ("VITALS_PUBLIC_URL", "https://vitals.example.com".into()),
        ];
        match function {
            // The samples are a back end's batches (they set the owner): a server key.
            "ingest" => env.push(("VITALS_SERVER_WRITE_KEYS", WRITE_KEY.into())),
            "score" => {
                env.push(("VITALS_SCORE_SEGMENT_QUEUE_URL", self.segments.0.clone()));
                env.push(("VITALS_SCORE_SEGMENT_DLQ_URL", self.segments.1.clone()));
            }
            "dispatch" => {
                env.push(("VITALS_SES_IDENTITY", String::new()));
                env.push(("VITALS_SECRETS_PREFIX", "vitals/".into()));
            }
            "query" => {
                env.push(("VITALS_JWT_ISSUER", "https://cognito-idp.example".into()));
                env.push(("VITALS_JWT_AUDIENCE", "vitals-dashboard".into()));
                env.push(("VITALS_JWT_ROLES_CLAIM", "cognito:groups".into()));
                // No hosted sign-in: `a_csm_signs_in_to_the_dashboard_in_a_browser` sets one.
                env.push(("VITALS_SIGN_IN_URL", String::new()));
            }
            _ => {}
        }
        env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}

async fn create_stack(setup: &Setup) -> (Stack, DynamoStore, aws_sdk_sqs::Client) {
    let dynamodb = aws_sdk_dynamodb::Client::new(&emulator_sdk_config(&setup.dynamodb).await);
    let table = unique_name("vitals-lambda");
    vitals_aws::create_table(&dynamodb, &table)
        .await
        .must("create_table");
    let sqs = aws_sdk_sqs::Client::new(&emulator_sdk_config(&setup.sqs).await);
    let alerts = vitals_aws::create_queue_pair(&sqs, &unique_name("lambda-alerts"), 3)
        .await
        .must("alert queues");
    let segments = vitals_aws::create_queue_pair(&sqs, &unique_name("lambda-segments"), 3)
        .await
        .must("segment queues");
    let store = DynamoStore::new(dynamodb, &table);
    let stack = Stack {
        table,
        alerts,
        segments,
        dynamodb: setup.dynamodb.clone(),
        sqs: setup.sqs.clone(),
    };
    (stack, store, sqs)
}

async fn start(setup: &Setup, stack: &Stack, function: &str) -> LambdaProcess {
    let mut f =
        LambdaProcess::start(&setup.bins.join(function), function, &stack.env(function)).await;
    f.ready().await;
    f
}

/// Every variable the test gives a function is one the template sets (a renamed variable in
/// the template or in the code fails here or at the function's start).
#[test]
fn the_environment_the_test_gives_is_the_templates() {
    let template =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
            .unwrap();
    let stack = Stack {
        table: String::new(),
        alerts: Default::default(),
        segments: Default::default(),
        dynamodb: String::new(),
        sqs: String::new(),
    };
    for function in ["ingest", "score", "dispatch", "query"] {
        for (name, _) in stack.env(function) {
            if name.starts_with("VITALS_") || name == "RUST_LOG" {
                assert!(
                    template.contains(&format!("{name}: ")),
                    "{function}: template.yaml sets no {name}"
                );
            }
        }
    }
}

/// An API Gateway HTTP API (v2) request, from the query sample: `path`, with the sample's
/// JWT authorizer claims (a CSM) or without token and claims.
fn api_request(path: &str, signed_in: bool) -> Value {
    let mut event = sample("query-portfolio.json");
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["pathParameters"] = json!({"proxy": path.trim_start_matches("/v1/")});
    if !signed_in {
        event["headers"]
            .as_object_mut()
            .unwrap()
            .remove("authorization");
        event["requestContext"]
            .as_object_mut()
            .unwrap()
            .remove("authorizer");
    }
    event
}

fn status_and_body(reply: &Value) -> (u64, String) {
    (
        reply["statusCode"].as_u64().unwrap_or_default(),
        reply["body"].as_str().unwrap_or_default().to_string(),
    )
}

/// SQS messages as the Lambda event source mapping hands them over.
async fn receive_batch(sqs: &aws_sdk_sqs::Client, queue: &str, visibility: i32) -> SqsEvent {
    let out = sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .visibility_timeout(visibility)
        .message_system_attribute_names(
            aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
        )
        .send()
        .await
        .must("receive_message");
    let mut event = SqsEvent::default();
    for m in out.messages() {
        let mut record = SqsMessage::default();
        record.message_id = m.message_id().map(str::to_string);
        record.receipt_handle = m.receipt_handle().map(str::to_string);
        record.body = m.body().map(str::to_string);
        record.event_source = Some("aws:sqs".into());
        record.attributes = m
            .attributes()
            .map(|a| {
                a.iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        event.records.push(record);
    }
    event
}

/// Deletes the records the function did not report as failed, as the event source mapping
/// does; returns the ids of the reported ones.
async fn settle(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    batch: &SqsEvent,
    reply: &Value,
) -> Vec<String> {
    let failed: Vec<String> = reply["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("not a batch response: {reply}"))
        .iter()
        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
        .collect();
    for record in &batch.records {
        if !failed.contains(record.message_id.as_ref().unwrap()) {
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(record.receipt_handle.clone().unwrap())
                .send()
                .await
                .must("delete_message");
        }
    }
    failed
}

/// The account's score as `vitals score` computes it on the embedded store from the same
/// Segment messages and configuration.
fn embedded_score(setup: &Setup, segment_sample: &Value, config_toml: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let body: Value = serde_json::from_str(segment_sample["body"].as_str().unwrap()).unwrap();
    let lines: Vec<String> = body["batch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.to_string())
        .collect();
    let events = dir.path().join("events.ndjson");
    std::fs::write(&events, lines.join("\n")).unwrap();
    let config = dir.path().join("vitals.toml");
    std::fs::write(&config, config_toml).unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&setup.vitals)
            .arg("--data")
            .arg(&data)
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("VITALS_WRITE_KEYS", WRITE_KEY)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "vitals {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["init"]);
    run(&["import", "events", events.to_str().unwrap()]);
    run(&["score", "--as-of", "2026-11-21"]);
    let store = vitals_embedded::SqliteStore::open(&data.join("vitals.db")).unwrap();
    let record = tokio::runtime::Handle::current().block_on(async {
        store
            .get_account(&AccountId::new(ACCOUNT).unwrap())
            .await
            .unwrap()
    });
    serde_json::to_value(record.and_then(|r| r.score).unwrap().score).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_four_functions_work_as_lambdas() {
    let Some(setup) = setup() else {
        return;
    };
    let (stack, store, sqs) = create_stack(&setup).await;
    // The webhook the dispatch test fails: every delivery attempt answers 503.
    let (hook, hook_url) = Receiver::start(&[503; 20]).await;
    let config_toml = config(&format!("{hook_url}/hook"));
    vitals_core::config::apply_config(&store, &SystemClock, &config_toml, "ops")
        .await
        .must("apply_config");

    // ---- ingest: a Segment batch and a PostHog batch through API Gateway v2 events.
    let mut ingest = start(&setup, &stack, "ingest").await;
    // Segment corrects timestamps by the client's clock skew (received at - `sentAt`): with the
    // sample's `sentAt` of 2026-11-21 its events would move to the time of the test. Without it
    // they keep their own timestamps, as `vitals import events` keeps them.
    let mut segment = sample("ingest-segment-batch.json");
    let mut body: Value = serde_json::from_str(segment["body"].as_str().unwrap()).unwrap();
    body.as_object_mut().unwrap().remove("sentAt");
    segment["body"] = json!(body.to_string());
    let reply = ingest.invoke(&segment).await.response();
    assert_eq!(status_and_body(&reply).0, 200, "{reply}");
    let reply = ingest
        .invoke(&sample("ingest-posthog-batch.json"))
        .await
        .response();
    assert_eq!(status_and_body(&reply).0, 200, "{reply}");
    let mut wrong_key = segment.clone();
    wrong_key["headers"]["authorization"] = json!("Basic bm90LWEta2V5Og==");
    let reply = ingest.invoke(&wrong_key).await.response();
    assert_eq!(status_and_body(&reply).0, 401, "{reply}");
    let northwind = store
        .get_account(&AccountId::new(ACCOUNT).unwrap())
        .await
        .must("get_account")
        .expect("the Segment group created the account");
    assert_eq!(northwind.profile.owner.as_deref(), Some(OWNER));
    let contoso = store
        .get_account(&AccountId::new("acct_contoso").unwrap())
        .await
        .must("get_account");
    assert_eq!(
        contoso.and_then(|r| r.profile.name).as_deref(),
        Some("Contoso Ltd"),
        "the PostHog $groupidentify named its account"
    );
    drop(ingest);

    // ---- score: the scheduler's event fans the day out over the segment queue...
    let mut score = start(&setup, &stack, "score").await;
    let reply = score
        .invoke(&sample("score-schedule.json"))
        .await
        .response();
    assert_eq!(reply, json!({"day": "2026-11-21", "fanned_out": 64}));
    // ...whose messages, fed back as SQS events, score the day; a stray message is reported.
    let mut scored = 0;
    let mut stray_reported = false;
    for round in 0.. {
        let mut batch = receive_batch(&sqs, &stack.segments.0, 60).await;
        if batch.records.is_empty() {
            break;
        }
        assert!(round < 20, "the segment queue does not drain");
        if round == 0 {
            let mut stray = SqsMessage::default();
            stray.message_id = Some("stray".into());
            stray.body = Some("{\"day\":\"not a day\"}".into());
            batch.records.push(stray);
        }
        let reply = score
            .invoke(&serde_json::to_value(&batch).unwrap())
            .await
            .response();
        let failed = settle(&sqs, &stack.segments.0, &batch, &reply).await;
        if round == 0 {
            assert_eq!(failed, ["stray"], "only the stray message is reported");
            stray_reported = true;
        } else {
            assert_eq!(failed, Vec::<String>::new(), "{}", score.log());
        }
        scored += batch.records.len() - failed.len();
    }
    assert!(stray_reported);
    assert_eq!(scored, 64, "every segment was scored once");
    let summary = vitals_core::ports::SummaryStore::latest_summary(&store)
        .await
        .must("latest_summary")
        .expect("the last segment published the summary");
    assert_eq!(summary.as_of, Some("2026-11-21".parse().unwrap()));
    let lambda_score = store
        .get_account(&AccountId::new(ACCOUNT).unwrap())
        .await
        .must("get_account")
        .and_then(|r| r.score)
        .expect("scored");
    let expected = tokio::task::block_in_place(|| embedded_score(&setup, &segment, &config_toml));
    assert_eq!(
        serde_json::to_value(&lambda_score.score).unwrap(),
        expected,
        "the same events score the same on Lambda as with `vitals score`"
    );
    // The provisional refresh schedule, and a malformed manual run (an error, not a run).
    let reply = score
        .invoke(&sample("score-provisional-refresh.json"))
        .await
        .response();
    assert!(reply.get("written").is_some(), "{reply}");
    match score.invoke(&json!({"as_of": "2026-13-01"})).await {
        Outcome::Error {
            error_type,
            message,
        } => {
            assert_eq!(error_type, "Score.InvalidInput", "{message}");
            assert!(
                message.contains("as_of") || message.contains("input"),
                "{message}"
            );
        }
        other => panic!("a malformed as_of was accepted: {other:?}"),
    }
    drop(score);

    // ---- dispatch: the sample batch, then retries of a failing webhook into the DLQ.
    let mut dispatch = start(&setup, &stack, "dispatch").await;
    let reply = dispatch
        .invoke(&sample("dispatch-alerts.json"))
        .await
        .response();
    assert_eq!(reply["batchItemFailures"], json!([]), "{}", dispatch.log());
    // An account the scoring run never saw: no cooldown or earlier intervention in the way.
    let yesterday = Utc::now().date_naive() - Days::new(1);
    let account = AccountId::new("acct_fabrikam").unwrap();
    let expansion = ScoreEvent {
        id: ScoreEvent::id_for(&account, yesterday, ScoreEventKind::ExpansionSignal, ""),
        account_id: account,
        as_of: yesterday,
        kind: ScoreEventKind::ExpansionSignal,
        score: 90.0,
        band: vitals_scoring::Band::Healthy,
        previous_score: Some(85.0),
        previous_band: Some(vitals_scoring::Band::Healthy),
        summary: "expansion candidate".into(),
        detail: json!({}),
        scored_at: Some(Utc::now()),
    };
    let alert_queue = SqsQueue::new(sqs.clone(), &stack.alerts.0, &stack.alerts.1);
    let message = DispatchMessage::Score(expansion).to_outgoing().unwrap();
    alert_queue
        .send(std::slice::from_ref(&message))
        .await
        .must("send");
    let mut attempts = 0;
    for _ in 0..30 {
        let batch = receive_batch(&sqs, &stack.alerts.0, 60).await;
        if batch.records.is_empty() {
            let dead = alert_queue.dead_letters(10).await.must("dead_letters");
            if dead.iter().any(|m| m.body == message.body) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let reply = dispatch
            .invoke(&serde_json::to_value(&batch).unwrap())
            .await
            .response();
        let failed = settle(&sqs, &stack.alerts.0, &batch, &reply).await;
        for record in &batch.records {
            if record.body.as_deref() == Some(message.body.as_str()) {
                attempts += 1;
                assert!(failed.contains(record.message_id.as_ref().unwrap()));
                // Time passes: the backoff the function set on the message ends now.
                sqs.change_message_visibility()
                    .queue_url(&stack.alerts.0)
                    .receipt_handle(record.receipt_handle.clone().unwrap())
                    .visibility_timeout(0)
                    .send()
                    .await
                    .must("change_message_visibility");
            }
        }
    }
    assert_eq!(attempts, 3, "retried up to the queue's maxReceiveCount");
    let calls = hook
        .received()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("acct_fabrikam"))
        .count();
    assert_eq!(calls, 3, "one webhook call per attempt");
    let dead = alert_queue.dead_letters(10).await.must("dead_letters");
    assert!(
        dead.iter().any(|m| m.body == message.body),
        "the message ended in the dead-letter queue"
    );
    drop(dispatch);

    // ---- query: the CSM's portfolio, her account, the dashboard; nothing without a token.
    let mut query = start(&setup, &stack, "query").await;
    let reply = query
        .invoke(&sample("query-portfolio.json"))
        .await
        .response();
    let (status, body) = status_and_body(&reply);
    assert_eq!(status, 200, "{reply}");
    let portfolio: Value = serde_json::from_str(&body).unwrap();
    // Her book: the account Segment's batch gave her, not PostHog's, which nobody owns.
    assert_eq!(
        (
            &portfolio["as_of"],
            &portfolio["book"],
            &portfolio["accounts"]
        ),
        (&json!("2026-11-21"), &json!("owned"), &json!(1)),
        "the day's portfolio of the CSM's book: {body}"
    );
    let reply = query
        .invoke(&api_request(&format!("/v1/accounts/{ACCOUNT}"), true))
        .await
        .response();
    let (status, body) = status_and_body(&reply);
    assert_eq!(status, 200, "{reply}");
    let read: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        read["score"]["value"].as_f64().or(read["score"].as_f64()),
        expected["health"]["score"].as_f64(),
        "{body}"
    );
    let reply = query
        .invoke(&api_request("/dashboard", true))
        .await
        .response();
    let (status, body) = status_and_body(&reply);
    assert_eq!(status, 200, "{reply}");
    assert!(body.contains("Northwind Traders"), "{body}");
    let reply = query
        .invoke(&api_request("/v1/portfolio", false))
        .await
        .response();
    assert_eq!(status_and_body(&reply).0, 401, "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_variable_is_posted_as_an_init_error() {
    let Some(setup) = setup() else {
        return;
    };
    let (stack, _, _) = create_stack(&setup).await;
    let env: Vec<(String, String)> = stack
        .env("query")
        .into_iter()
        .filter(|(k, _)| k != "VITALS_TABLE")
        .collect();
    let mut query = LambdaProcess::start(&setup.bins.join("query"), "query", &env).await;
    let (posted, status) = query.init_failure().await;
    assert!(!status.success());
    let posted = posted.expect("the error was posted to /runtime/init/error");
    assert_eq!(posted["errorType"], "Vitals.Environment");
    assert_eq!(
        posted["errorMessage"],
        "environment variable VITALS_TABLE is required"
    );
}

/// `scripts/bench/lambda.sh`: median time from exec to the first `/next` over 10 starts of
/// each function (set `VITALS_LAMBDA_COLD_STARTS=1`), printed as one line per function.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_start_of_each_function() {
    let Some(setup) = setup() else {
        return;
    };
    if std::env::var("VITALS_LAMBDA_COLD_STARTS").as_deref() != Ok("1") {
        return;
    }
    let (stack, store, _) = create_stack(&setup).await;
    vitals_core::config::apply_config(&store, &SystemClock, &config("http://127.0.0.1:9/"), "ops")
        .await
        .must("apply_config");
    let mut medians = HashMap::new();
    for function in ["ingest", "score", "dispatch", "query"] {
        let mut times = Vec::new();
        for _ in 0..10 {
            let mut f =
                LambdaProcess::start(&setup.bins.join(function), function, &stack.env(function))
                    .await;
            times.push(f.ready().await);
        }
        times.sort();
        let median = (times[4] + times[5]) / 2;
        let size = std::fs::metadata(setup.bins.join(function))
            .map(|m| m.len())
            .unwrap_or_default();
        println!(
            "lambda-cold-start function={function} median_ms={:.1} min_ms={:.1} max_ms={:.1} bytes={size}",
            median.as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            times[9].as_secs_f64() * 1e3,
        );
        medians.insert(function, median);
    }
    assert_eq!(medians.len(), 4);

    // Billed duration of ingest on a warm instance: batches of 20 new track events.
    let mut ingest = start(&setup, &stack, "ingest").await;
    let mut times = Vec::new();
    for batch in 0..50 {
        let event = segment_batch_of(20, batch);
        let started = std::time::Instant::now();
        let reply = ingest.invoke(&event).await.response();
        times.push(started.elapsed());
        assert_eq!(status_and_body(&reply).0, 200, "{reply}");
    }
    times.sort();
    println!(
        "lambda-ingest-duration events_per_batch=20 median_ms={:.2} p90_ms={:.2}",
        times[25].as_secs_f64() * 1e3,
        times[45].as_secs_f64() * 1e3
    );
}

/// An API Gateway event carrying `n` new track events of one of 50 accounts.
fn segment_batch_of(n: usize, batch: usize) -> Value {
    let mut event = sample("ingest-segment-batch.json");
    let timestamp = Utc::now().to_rfc3339();
    let messages: Vec<Value> = (0..n)
        .map(|i| {
            json!({"type": "track", "messageId": format!("bench-{batch}-{i}"),
                "userId": format!("user-{i}"), "event": "Report Exported",
                "timestamp": timestamp, "context": {"groupId": format!("acct_bench_{}", batch % 50)}})
        })
        .collect();
    event["body"] = json!(json!({"batch": messages}).to_string());
    event["headers"]
        .as_object_mut()
        .unwrap()
        .remove("content-length");
    event
}

/// A browser's GET of a dashboard URL as API Gateway hands it over on a route without
/// authorizer: no claims, the browser's cookies.
fn browser_request(url: &str, cookies: &[String]) -> Value {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut event = api_request(path, false);
    event["routeKey"] = json!("GET /dashboard/{proxy+}");
    event["requestContext"]["routeKey"] = json!("GET /dashboard/{proxy+}");
    event["headers"]["accept"] = json!("text/html");
    event["pathParameters"] = json!({"proxy": path.trim_start_matches("/dashboard/")});
    event["rawQueryString"] = json!(query);
    let params: HashMap<String, String> = serde_urlencoded::from_str(query).unwrap();
    if !params.is_empty() {
        event["queryStringParameters"] = json!(params);
    }
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    event
}

/// The function's answer to a browser's GET.
async fn browse(query: &mut LambdaProcess, url: &str, cookies: &[String]) -> Value {
    query
        .invoke(&browser_request(url, cookies))
        .await
        .response()
}

/// The response's redirect target.
fn location(reply: &Value) -> String {
    let status = reply["statusCode"].as_u64().unwrap_or_default();
    assert!((302..=303).contains(&status), "not a redirect: {reply}");
    reply["headers"]["location"]
        .as_str()
        .unwrap_or_else(|| panic!("no location: {reply}"))
        .to_string()
}

/// The `name=value` part of each cookie the response sets, and the whole of the named one.
fn set_cookie(reply: &Value, name: &str) -> Option<String> {
    let cookies = reply["cookies"].as_array().cloned().unwrap_or_default();
    let header = reply["headers"]["set-cookie"].clone();
    cookies
        .iter()
        .chain(std::iter::once(&header))
        .filter_map(|c| c.as_str())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

fn query_of(url: &str) -> HashMap<String, String> {
    serde_urlencoded::from_str(url.split_once('?').map_or("", |(_, q)| q)).unwrap()
}

/// AWS mode's browser sign-in: a CSM opens the dashboard, is sent to the hosted sign-in
/// (authorization code with PKCE), comes back to `/dashboard/callback` with a code the
/// function exchanges for an RS256 ID token, verified against the issuer's JWKS, and reads her
/// dashboard with the session cookie. Forged, tampered, expired and foreign tokens are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csm_signs_in_to_the_dashboard_in_a_browser() {
    let Some(setup) = setup() else {
        return;
    };
    let (stack, _, _) = create_stack(&setup).await;
    let idp = TestIdp::start("vitals-dashboard-client").await;
    let public = "https://vitals.example.com";
    let mut env = stack.env("query");
    env.retain(|(k, _)| !k.starts_with("VITALS_JWT_") && k != "VITALS_SIGN_IN_URL");
    env.extend([
        ("VITALS_JWT_ISSUER".to_string(), idp.url.clone()),
        ("VITALS_JWT_AUDIENCE".to_string(), idp.client_id.clone()),
        (
            "VITALS_JWT_ROLES_CLAIM".to_string(),
            "cognito:groups".into(),
        ),
        ("VITALS_SIGN_IN_URL".to_string(), idp.url.clone()),
    ]);
    let mut query = LambdaProcess::start(&setup.bins.join("query"), "query", &env).await;
    query.ready().await;

    // No session: the page sends the browser to the sign-in, which sends it to the provider.
    let reply = browse(&mut query, "/dashboard/accounts", &[]).await;
    let signin = location(&reply);
    assert_eq!(signin, "/dashboard/signin?then=%2Fdashboard%2Faccounts");
    let reply = browse(&mut query, &signin, &[]).await;
    let authorize = location(&reply);
    assert!(
        authorize.starts_with(&format!("{}/oauth2/authorize?", idp.url)),
        "{authorize}"
    );
    let params = query_of(&authorize);
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], idp.client_id);
    assert_eq!(
        params["redirect_uri"],
        format!("{public}/dashboard/callback")
    );
    assert_eq!(params["code_challenge_method"], "S256");
    let flow = set_cookie(&reply, "vitals_signin").expect("the sign-in's cookie");
    let flow_cookie = flow.split(';').next().unwrap().to_string();
    assert!(
        flow.contains("HttpOnly") && flow.contains("Secure"),
        "{flow}"
    );

    // The provider signs her in and returns a code; the callback turns it into a session.
    let token = idp.sign(&idp.claims(OWNER, &["csm"], 3600));
    let code = idp.issue_code(&params["code_challenge"], token.clone());
    let callback = format!(
        "/dashboard/callback?{}",
        serde_urlencoded::to_string([("code", &code), ("state", &params["state"])]).unwrap()
    );
    let reply = browse(&mut query, &callback, std::slice::from_ref(&flow_cookie)).await;
    assert_eq!(location(&reply), "/dashboard/accounts");
    let session = set_cookie(&reply, "vitals_token").expect("the session cookie");
    assert!(
        session.starts_with(&format!("vitals_token={token};"))
            && session.contains("HttpOnly")
            && session.contains("Secure"),
        "{session}"
    );
    let session_cookie = format!("vitals_token={token}");
    let reply = browse(
        &mut query,
        "/dashboard",
        std::slice::from_ref(&session_cookie),
    )
    .await;
    let (status, body) = status_and_body(&reply);
    assert_eq!(status, 200, "{reply}");
    assert!(body.contains(OWNER), "signed in as her: {body}");
    assert_eq!(
        idp.jwks_fetches(),
        1,
        "the keys are fetched once per instance"
    );

    // The same code again, a wrong state, no role: no session.
    let reply = browse(&mut query, &callback, std::slice::from_ref(&flow_cookie)).await;
    assert_eq!(
        status_and_body(&reply).0,
        401,
        "a code is used once: {reply}"
    );
    assert!(set_cookie(&reply, "vitals_token").is_none());
    let code = idp.issue_code(&params["code_challenge"], token.clone());
    let reply = browse(
        &mut query,
        &format!("/dashboard/callback?code={code}&state=not-hers"),
        std::slice::from_ref(&flow_cookie),
    )
    .await;
    assert_eq!(status_and_body(&reply).0, 400, "{reply}");
    let code = idp.issue_code(
        &params["code_challenge"],
        idp.sign(&idp.claims("guest@example.com", &[], 3600)),
    );
    let reply = browse(
        &mut query,
        &format!("/dashboard/callback?code={code}&state={}", params["state"]),
        std::slice::from_ref(&flow_cookie),
    )
    .await;
    assert_eq!(status_and_body(&reply).0, 403, "{reply}");
    assert!(set_cookie(&reply, "vitals_token").is_none());
    // A forged token handed out by a man in the middle is refused at the callback too.
    let code = idp.issue_code(
        &params["code_challenge"],
        idp.forge(&idp.claims(OWNER, &["admin"], 3600)),
    );
    let reply = browse(
        &mut query,
        &format!("/dashboard/callback?code={code}&state={}", params["state"]),
        std::slice::from_ref(&flow_cookie),
    )
    .await;
    assert_eq!(status_and_body(&reply).0, 401, "{reply}");
    assert!(set_cookie(&reply, "vitals_token").is_none());

    // Session cookies the provider did not issue, or no longer valid: back to the sign-in.
    let mut tampered: Vec<String> = token.split('.').map(str::to_string).collect();
    tampered[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(idp.claims(OWNER, &["admin"], 3600).to_string());
    let mut wrong_audience = idp.claims(OWNER, &["csm"], 3600);
    wrong_audience["aud"] = json!("another-app");
    let mut access_token = idp.claims(OWNER, &["csm"], 3600);
    access_token["token_use"] = json!("access");
    let mut other_issuer = idp.claims(OWNER, &["csm"], 3600);
    other_issuer["iss"] = json!("https://cognito-idp.example/other-pool");
    let refused = [
        ("forged", idp.forge(&idp.claims(OWNER, &["csm"], 3600))),
        ("tampered", tampered.join(".")),
        ("expired", idp.sign(&idp.claims(OWNER, &["csm"], -60))),
        ("wrong audience", idp.sign(&wrong_audience)),
        ("access token", idp.sign(&access_token)),
        ("other issuer", idp.sign(&other_issuer)),
    ];
    for (what, bad) in refused {
        let reply = browse(&mut query, "/dashboard", &[format!("vitals_token={bad}")]).await;
        assert_eq!(
            location(&reply),
            "/dashboard/signin?then=%2Fdashboard",
            "a {what} token was not refused"
        );
    }

    // Signing out clears the session and the provider's, which returns to the dashboard.
    let reply = browse(
        &mut query,
        "/dashboard/logout",
        std::slice::from_ref(&session_cookie),
    )
    .await;
    let logout = location(&reply);
    assert!(
        logout.starts_with(&format!("{}/logout?", idp.url)),
        "{logout}"
    );
    assert_eq!(
        query_of(&logout)["logout_uri"],
        format!("{public}/dashboard")
    );
    assert!(set_cookie(&reply, "vitals_token").is_some_and(|c| c.contains("Max-Age=0")));
}

/// `vitals --backend dynamodb` leaves endpoints to the AWS SDK: with DynamoDB Local and moto on
/// different ports, the per-service variables win over a generic `AWS_ENDPOINT_URL` (which
/// the binary once read as `--endpoint-url`, sending both services to one place).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vitals_cli_honours_per_service_endpoints() {
    let Some(setup) = setup() else {
        return;
    };
    let (stack, store, _) = create_stack(&setup).await;
    vitals_core::config::apply_config(&store, &SystemClock, &config("http://127.0.0.1:9/"), "ops")
        .await
        .must("apply_config");
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(&setup.vitals);
        command
            .args([
                "--backend",
                "dynamodb",
                "--table",
                &stack.table,
                "--alert-queue-url",
                &stack.alerts.0,
                "--alert-dlq-url",
                &stack.alerts.1,
            ])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in stack.env("query") {
            if k.starts_with("AWS_") {
                command.env(k, v);
            }
        }
        command.output().unwrap()
    };
    let show = run(&["config", "show"]);
    assert!(
        show.status.success(),
        "DynamoDB through AWS_ENDPOINT_URL_DYNAMODB: {}",
        String::from_utf8_lossy(&show.stderr)
    );
    assert!(String::from_utf8_lossy(&show.stdout).contains("expansion-hook"));
    let dlq = run(&["dlq", "list"]);
    assert!(
        dlq.status.success(),
        "SQS through AWS_ENDPOINT_URL_SQS: {}",
        String::from_utf8_lossy(&dlq.stderr)
    );
    assert!(String::from_utf8_lossy(&dlq.stdout).contains("dead-letter queue is empty"));
}

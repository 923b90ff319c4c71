//! The dispatch function's channel secrets from Secrets Manager (moto): the secrets `[alerts]`
//! names are fetched once under `VITALS_SECRETS_PREFIX`, an environment variable of the same
//! name wins, a signed webhook carries the signature made with the fetched key, a Slack URL
//! fetched the same way is used, and no value shows up in debug output or errors.
//! Needs `VITALS_TEST_SQS_ENDPOINT` (moto); skipped without it, failing instead when `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use dispatch::secrets::{self, sdk};
use vitals_core::alerts::rules::ChannelConfig;
use vitals_core::config::AlertsConfig;
use vitals_core::model::AccountId;
use vitals_core::notify::{Notification, NotificationKind, Notifier};
use vitals_notify::{sign, HttpNotifier, Outbox, SetupError};
use vitals_tests::receiver::{Received, Receiver};
use vitals_tests::support::emulator_sdk_config;
use vitals_tests::{emulator_endpoint, unique_name};

async fn put_secret(client: &sdk::Client, name: &str, value: &str) {
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("create_secret on moto");
}

fn config(hook_url: &str) -> AlertsConfig {
    let mut config = AlertsConfig {
        allow_private_destinations: vec!["127.0.0.1".into()],
        ..AlertsConfig::default()
    };
    config.channels = BTreeMap::from([
        (
            "crm".to_string(),
            ChannelConfig::Webhook {
                url: hook_url.to_string(),
                secret: None,
                secret_env: Some("CRM_SIGNING_KEY".into()),
                template: None,
                headers: BTreeMap::new(),
            },
        ),
        (
            "cs-slack".to_string(),
            ChannelConfig::Slack {
                url: None,
                url_env: Some("CS_SLACK_URL".into()),
            },
        ),
    ]);
    config
}

fn notification(channel: &str) -> Notification {
    Notification {
        key: format!("wf:evt#{channel}"),
        channel: channel.into(),
        kind: NotificationKind::Alert,
        account_id: AccountId::new("acme").unwrap(),
        account_name: Some("Acme".into()),
        title: "Critical: Acme".into(),
        summary: "usage decline".into(),
        severity: None,
        score: Some(31.0),
        previous_score: Some(45.0),
        band: None,
        drivers: vec![],
        link: None,
        recipients: vec![],
        draft: None,
        workflow: "wf".into(),
        data: serde_json::json!({}),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_keys_and_slack_urls_come_from_secrets_manager_and_never_show() {
    let Some(endpoint) = emulator_endpoint("VITALS_TEST_SQS_ENDPOINT") else {
        return;
    };
    let client = sdk::Client::new(&emulator_sdk_config(&endpoint).await);
    let prefix = format!("{}/", unique_name("vitals"));
    let (got, base) = Receiver::start(&[]).await;
    let signing_key = "whsec-from-secrets-manager-5f1c";
    let slack_url = format!("{base}/services/T000/B000/SLACKTOKEN42");
    put_secret(&client, &format!("{prefix}CRM_SIGNING_KEY"), signing_key).await;
    put_secret(&client, &format!("{prefix}CS_SLACK_URL"), &slack_url).await;
    // Same name under another prefix: the function must not pick it up.
    let other = format!("{}/CRM_SIGNING_KEY", unique_name("elsewhere"));
    put_secret(&client, &other, "wrong-key").await;
    let config = config(&format!("{base}/crm"));

    let values = secrets::fetch(&client, &prefix, &config, |_| None)
        .await
        .unwrap();
    assert_eq!(values.len(), 2);
    let debug = format!("{values:?}");
    assert!(debug.contains("CRM_SIGNING_KEY"), "{debug}");
    assert!(
        !debug.contains(signing_key) && !debug.contains("SLACKTOKEN42"),
        "values leaked: {debug}"
    );

    let notifier = HttpNotifier::from_config(
        &config,
        Arc::new(Outbox::new(std::env::temp_dir())),
        values.lookup(|_| None),
    )
    .unwrap();
    assert!(!format!("{notifier:?}").contains("SLACKTOKEN42"));
    notifier.deliver(&notification("crm")).await.unwrap();
    notifier.deliver(&notification("cs-slack")).await.unwrap();

    let requests = got.received();
    assert_eq!(requests.len(), 2);
    let Received {
        path,
        headers,
        body,
    } = &requests[0];
    assert_eq!(path, "crm");
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_string();
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        sign::verify(
            signing_key.as_bytes(),
            &header(sign::TIMESTAMP_HEADER),
            &header(sign::SIGNATURE_HEADER),
            body,
            now
        ),
        Ok(()),
        "signed with the key from Secrets Manager"
    );
    assert_eq!(requests[1].path, "services/T000/B000/SLACKTOKEN42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_variable_wins_and_a_missing_secret_is_named_at_start_up() {
    let Some(endpoint) = emulator_endpoint("VITALS_TEST_SQS_ENDPOINT") else {
        return;
    };
    let client = sdk::Client::new(&emulator_sdk_config(&endpoint).await);
    let prefix = format!("{}/", unique_name("vitals"));
    put_secret(
        &client,
        &format!("{prefix}CRM_SIGNING_KEY"),
        "from-secrets-manager",
    )
    .await;
    let config = config("https://crm.example/hook");
    let env = |k: &str| (k == "CRM_SIGNING_KEY").then(|| "from-env".to_string());

    let values = secrets::fetch(&client, &prefix, &config, env)
        .await
        .unwrap();
    assert!(
        values.get("CRM_SIGNING_KEY").is_none(),
        "set in the environment: not fetched"
    );
    let lookup = values.lookup(env);
    assert_eq!(lookup("CRM_SIGNING_KEY").as_deref(), Some("from-env"));
    // CS_SLACK_URL exists nowhere: start-up names it, without any value.
    let err = HttpNotifier::from_config(
        &config,
        Arc::new(Outbox::new(std::env::temp_dir())),
        values.lookup(env),
    )
    .unwrap_err();
    assert!(
        matches!(&err, SetupError::MissingEnv { channel, var } if channel == "cs-slack" && var == "CS_SLACK_URL"),
        "{err}"
    );
    assert!(!err.to_string().contains("from-env"));
}

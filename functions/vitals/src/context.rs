//! What every subcommand needs: the backend named by the global flags and the configuration in
//! force (the `--config` file, else the latest applied version, else the defaults), with its
//! retention applied to the store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use vitals_core::config::VitalsConfig;
use vitals_http::WriteKeys;
use vitals_runtime::backend::{self, Backend, Durability};

use crate::cli::{BackendKind, GlobalArgs};

#[derive(Clone)]
pub struct Context {
    pub backend: Backend,
    pub config: VitalsConfig,
    /// The data directory (`--data`): holds the token secret even with `--backend dynamodb`.
    pub data: PathBuf,
}

/// Whether a command may start a new embedded store in `--data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreUse {
    /// `serve` and `demo`: the data directory and its store are created when missing.
    MayCreate,
    /// Every other command: a data directory without a store is a mistake (a mistyped
    /// `--data`), refused before anything is created.
    MustExist,
}

/// The embedded store's file in a data directory; its presence is what "holds a store" means.
const STORE_FILE: &str = "vitals.db";

impl Context {
    pub async fn open(
        args: &GlobalArgs,
        durability: Durability,
        store: StoreUse,
    ) -> anyhow::Result<Context> {
        if args.backend == BackendKind::Embedded && store == StoreUse::MustExist {
            require_store(&args.data)?;
        }
        let file_config = match &args.config {
            Some(path) => Some(read_config(path)?),
            None => None,
        };
        let opened_with = file_config
            .as_ref()
            .map_or(VitalsConfig::default().retention.days, |c| c.retention.days);
        let mut backend = open_backend(args, opened_with, durability).await?;
        let config = match file_config {
            Some(c) => c,
            None => backend::current_config(backend.storage.as_ref()).await?,
        };
        // The stored version's retention is only known once the store is open: open it again
        // with it, so what this command writes expires when that configuration says.
        if config.retention.days != opened_with {
            backend = open_backend(args, config.retention.days, durability).await?;
        }
        Ok(Context {
            backend,
            config,
            data: args.data.clone(),
        })
    }

    /// Write keys from the configuration plus `VITALS_WRITE_KEYS` (client keys) and
    /// `VITALS_SERVER_WRITE_KEYS` (server keys), with the `[ingest]` trust and CORS settings and
    /// the webhook destinations' secrets from the environment variables `[ingest]` names.
    pub fn write_keys(&self) -> WriteKeys {
        let env = |name| std::env::var(name).unwrap_or_default();
        WriteKeys::configured(
            &self.config.ingest,
            &env("VITALS_WRITE_KEYS"),
            &env("VITALS_SERVER_WRITE_KEYS"),
        )
        .with_webhook_secrets(vitals_http::WebhookSecrets::from_config(
            &self.config.ingest,
            |name| std::env::var(name).ok(),
        ))
    }

    /// The HTTP state: storage, write keys, and tokens verified with the data directory's
    /// secret (created on first use). If the secret cannot be read or created, the query API
    /// and dashboard refuse every token and the reason is logged.
    pub fn app_state(&self, write_keys: WriteKeys) -> vitals_http::AppState {
        let authenticator: Arc<dyn vitals_http::Authenticator> = match crate::token::local_tokens(
            &self.data,
            &self.config.auth,
        ) {
            Ok(tokens) => Arc::new(tokens),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "no token secret: the query API will refuse every token");
                Arc::new(vitals_http::DenyAll)
            }
        };
        vitals_http::AppState {
            storage: self.backend.storage.clone(),
            clock: Arc::new(vitals_core::clock::SystemClock),
            write_keys: Arc::new(write_keys),
            retention_days: self.config.retention.days,
            alert_limits: self.config.alerts.status_limits(),
            signals: Arc::new(self.config.signals.clone()),
            touches: Arc::new(vitals_core::freshness::TouchRecorder::new(
                &self.config.freshness,
            )),
            caches: Default::default(),
            authenticator,
        }
    }
}

async fn open_backend(
    args: &GlobalArgs,
    retention_days: u32,
    durability: Durability,
) -> anyhow::Result<Backend> {
    Ok(match args.backend {
        BackendKind::Embedded => backend::open_embedded(&args.data, retention_days, durability)?,
        BackendKind::Dynamodb => {
            let table = args
                .table
                .as_deref()
                .context("--table (or VITALS_TABLE) is required with --backend dynamodb")?;
            let (Some(queue), Some(dlq)) = (&args.alert_queue_url, &args.alert_dlq_url) else {
                bail!("--alert-queue-url and --alert-dlq-url (or VITALS_ALERT_QUEUE_URL / VITALS_ALERT_DLQ_URL) are required with --backend dynamodb");
            };
            backend::open_aws(
                table,
                queue,
                dlq,
                args.endpoint_url.as_deref(),
                retention_days,
            )
            .await
        }
    })
}

/// Refuses a data directory that does not exist or holds no store, naming it, so a mistyped
/// `--data` creates nothing and reports nothing misleading (0 accounts, a token no server
/// accepts).
fn require_store(data: &Path) -> anyhow::Result<()> {
    let shown = data.display();
    let hint = format!(
        "check --data (or VITALS_DATA), or create a new store there with `vitals --data {shown} init`"
    );
    if !data.exists() {
        bail!("the data directory {shown} does not exist; {hint}");
    }
    if !data.is_dir() {
        bail!("the data directory {shown} is not a directory; {hint}");
    }
    if !data.join(STORE_FILE).is_file() {
        bail!("the data directory {shown} holds no Vitals store (no {STORE_FILE}); {hint}");
    }
    Ok(())
}

fn read_config(path: &Path) -> anyhow::Result<VitalsConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration file {}", path.display()))?;
    VitalsConfig::parse(&text).with_context(|| format!("configuration file {}", path.display()))
}

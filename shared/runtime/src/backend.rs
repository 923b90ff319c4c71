//! Opening a storage and queue backend: the embedded files of a data directory, or DynamoDB and
//! SQS. Callers hold the result as trait objects, so every use case runs on either.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use vitals_core::ports::{Queue, Storage};

/// An opened backend.
#[derive(Clone)]
pub struct Backend {
    pub storage: Arc<dyn Storage>,
    pub alert_queue: Arc<dyn Queue>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("cannot open the data directory {path}: {problem}")]
    Embedded { path: PathBuf, problem: String },
}

/// How many receives before an alert message goes to the dead-letter queue.
pub const DEFAULT_MAX_RECEIVES: u32 = 5;

/// How hard the embedded store works to keep each commit through a power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Every commit is fsynced: a 2xx from ingest survives a power loss (`vitals serve`).
    Full,
    /// Commits survive a process crash but not necessarily a power loss: for batch commands
    /// that can be run again (demo, backfill, import).
    Batch,
}

/// The embedded backend: `vitals.db` (storage) and `queue.db` (alert queue) in `data_dir`.
pub fn open_embedded(
    data_dir: &Path,
    retention_days: u32,
    durability: Durability,
) -> Result<Backend, BackendError> {
    let fail = |problem: String| BackendError::Embedded {
        path: data_dir.to_path_buf(),
        problem,
    };
    std::fs::create_dir_all(data_dir).map_err(|e| fail(e.to_string()))?;
    let storage = vitals_embedded::SqliteStore::open(&data_dir.join("vitals.db"))
        .map_err(|e| fail(e.to_string()))?
        .with_retention_days(retention_days);
    let storage = match durability {
        Durability::Full => storage,
        Durability::Batch => storage.for_batch_work().map_err(|e| fail(e.to_string()))?,
    };
    let queue = vitals_embedded::SqliteQueue::open(
        &data_dir.join("queue.db"),
        "alerts",
        vitals_embedded::QueueSettings {
            max_receives: DEFAULT_MAX_RECEIVES,
        },
    )
    .map_err(|e| fail(e.to_string()))?;
    Ok(Backend {
        storage: Arc::new(storage),
        alert_queue: Arc::new(queue),
    })
}

/// The AWS backend, clients built once from the default credential chain (or an emulator).
pub async fn open_aws(
    table: &str,
    alert_queue_url: &str,
    alert_dlq_url: &str,
    endpoint_url: Option<&str>,
    retention_days: u32,
) -> Backend {
    let sdk = vitals_aws::sdk_config(endpoint_url).await;
    open_aws_with(&sdk, table, alert_queue_url, alert_dlq_url, retention_days)
}

/// The AWS backend on SDK settings already loaded.
pub fn open_aws_with(
    sdk: &aws_config::SdkConfig,
    table: &str,
    alert_queue_url: &str,
    alert_dlq_url: &str,
    retention_days: u32,
) -> Backend {
    let storage = vitals_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table)
        .with_retention_days(retention_days);
    let queue = vitals_aws::SqsQueue::new(
        aws_sdk_sqs::Client::new(sdk),
        alert_queue_url,
        alert_dlq_url,
    );
    Backend {
        storage: Arc::new(storage),
        alert_queue: Arc::new(queue),
    }
}

/// What an upgrade of the table leaves to do: items written before the account activity index
/// existed are placed on it, once per table (later calls read one marker item). Run by the
/// daily invocation, not at start-up: on a big table it takes longer than Lambda's init phase
/// allows, and a start should not pay the marker read.
#[derive(Debug, Clone)]
pub struct TableUpgrades {
    store: vitals_aws::DynamoStore,
}

impl TableUpgrades {
    /// On the backend's SDK settings and table (the client is built once, here).
    pub fn new(sdk: &aws_config::SdkConfig, table: &str) -> Self {
        TableUpgrades {
            store: vitals_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table),
        }
    }

    /// Completes them. Failing is logged, not fatal: the next daily invocation tries again.
    pub async fn complete(&self) {
        match self.store.index_activity().await {
            Ok(0) => {}
            Ok(placed) => tracing::info!(
                placed,
                "older alerts, interventions and audit entries placed on the account activity index"
            ),
            Err(e) => tracing::error!(
                error = %e,
                "account activity index not completed; retried at the next daily run"
            ),
        }
    }
}

/// A queue on SQS (e.g. the score-segment fan-out queue), sharing the backend's SDK settings.
pub fn open_sqs_queue(
    sdk: &aws_config::SdkConfig,
    queue_url: &str,
    dead_letter_url: &str,
) -> Arc<dyn Queue> {
    Arc::new(vitals_aws::SqsQueue::new(
        aws_sdk_sqs::Client::new(sdk),
        queue_url,
        dead_letter_url,
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigLoadError {
    #[error(transparent)]
    Storage(#[from] vitals_core::StoreError),
    #[error("stored configuration version {version} is invalid: {problem}")]
    Invalid { version: u64, problem: String },
}

/// The configuration in force: the latest applied version, else the defaults.
pub async fn current_config(
    storage: &dyn Storage,
) -> Result<vitals_core::config::VitalsConfig, ConfigLoadError> {
    match storage.latest_config().await? {
        Some(stored) => vitals_core::config::VitalsConfig::parse(&stored.body).map_err(|e| {
            ConfigLoadError::Invalid {
                version: stored.version,
                problem: e.to_string(),
            }
        }),
        None => Ok(vitals_core::config::VitalsConfig::default()),
    }
}

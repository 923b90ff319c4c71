//! One SQLite connection shared by a store or queue handle, opened with the settings that let
//! several `vitals` processes use the same file safely, and run off the async runtime.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::DbError;
use crate::schema::{self, Schema};

/// How long a statement waits for another process's write lock before giving up with
/// `SQLITE_BUSY` (reported as retryable). Write transactions are kept short (one request's
/// worth of rows), so a wait this long means something is wrong, and the caller (an HTTP
/// client, a queue consumer) is better served by a retryable error than by hanging.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Pages logged between two checkpoints in batch mode (64 MB of 4 KB pages): the log file
/// grows to about this size, and is reused from its start after each checkpoint.
const BATCH_WAL_PAGES: i64 = 16_384;

/// A connection behind a mutex: calls from one handle run one at a time on a blocking thread;
/// other handles and other processes coordinate through SQLite's file locks.
#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (creating if needed) the database file and brings `schema` up to date.
    pub(crate) fn open_file(path: &Path, schema: &Schema) -> Result<Self, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                DbError::Rejected(format!("create data directory {}: {e}", dir.display()))
            })?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL: readers never block the writer and the writer never blocks readers, so
        // `vitals import` can write while `vitals serve` answers dashboards. The mode is stored
        // in the file, so every later connection (any process) uses it too.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "sqlite could not switch to WAL");
        }
        configure(&conn)?;
        schema::migrate(&mut conn, schema)?;
        tracing::debug!(path = %path.display(), component = schema.component, "sqlite opened");
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// A private database that lives as long as this handle (and its clones).
    pub(crate) fn open_memory(schema: &Schema) -> Result<Self, DbError> {
        let mut conn = Connection::open_in_memory()?;
        configure(&conn)?;
        schema::migrate(&mut conn, schema)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Switches this connection to `synchronous = NORMAL`: with WAL, a commit survives a process
    /// crash and the database stays consistent after a power loss, but the last commits before
    /// a power loss may be lost. For batch commands (demo, backfill, import) that can simply be
    /// run again, this trades an fsync per transaction for speed.
    ///
    /// Batch work also checkpoints the log into the database less often (every
    /// [`BATCH_WAL_PAGES`] pages instead of 1,000): each checkpoint copies the logged pages and
    /// fsyncs the file, and a daily run's tens of megabytes of records then cost a few
    /// checkpoints instead of hundreds. How often is no matter of durability: a commit is in
    /// the log either way, and readers see it at once.
    pub(crate) fn relax_durability(&self) -> Result<(), DbError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "wal_autocheckpoint", BATCH_WAL_PAGES)?;
        Ok(())
    }

    /// Runs read-only work on a blocking thread.
    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        run_blocking(move || {
            let conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            work(&conn)
        })
        .await
    }

    /// Runs `work` in one write transaction on a blocking thread: all of it commits, or none.
    ///
    /// `BEGIN IMMEDIATE` takes the write lock up front, so the busy timeout applies; a deferred
    /// transaction that upgrades from read to write could fail at once with `SQLITE_BUSY`.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, DbError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        run_blocking(move || {
            // A poisoned lock only means another call panicked; its transaction was rolled
            // back when it unwound, so the connection is still consistent.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = work(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }
}

/// Per-connection settings (not stored in the file).
fn configure(conn: &Connection) -> Result<(), DbError> {
    // FULL: with WAL, every commit fsyncs the log before returning, so a 2xx from ingest (or
    // an acknowledged enqueue) survives a power loss or kernel crash, not only a process crash
    // as NORMAL would. The price is one fsync per transaction; writes are batched per request
    // (one transaction per `put_chunks` call), so that is one fsync per accepted batch.
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

async fn run_blocking<T, F>(work: F) -> Result<T, DbError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, DbError> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) if e.is_cancelled() => Err(DbError::Unavailable(
            "storage task cancelled (shutting down)".to_string(),
        )),
        Err(e) => {
            tracing::error!(error = %e, "storage task panicked");
            Err(DbError::Rejected("storage task panicked".to_string()))
        }
    }
}

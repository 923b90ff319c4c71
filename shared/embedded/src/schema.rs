//! Schema migrations: each component (store, queue) has an ordered list of SQL steps and its
//! applied version in `schema_version`, so old files upgrade on open and a file written by a
//! newer `vitals` is refused instead of misread.

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::error::DbError;

/// The migrations of one component. Step `i` takes the component from version `i` to `i + 1`;
/// steps are only ever appended.
#[derive(Debug)]
pub(crate) struct Schema {
    pub component: &'static str,
    pub steps: &'static [Step],
}

/// One migration step: SQL, or code for a step that converts stored values (same transaction).
#[derive(Debug)]
pub(crate) enum Step {
    Sql(&'static str),
    Convert(fn(&Transaction<'_>) -> Result<(), DbError>),
}

impl Schema {
    pub(crate) fn version(&self) -> i64 {
        i64::try_from(self.steps.len()).unwrap_or(i64::MAX)
    }
}

pub(crate) const STORE: Schema = Schema {
    component: "store",
    steps: &[
        Step::Sql(STORE_V1),
        Step::Sql(STORE_V2),
        Step::Sql(STORE_V3),
        Step::Sql(STORE_V4),
        Step::Sql(STORE_LISTING_VERSION),
        Step::Sql(STORE_TRAIL),
        Step::Sql(STORE_LATE_MARKS),
        Step::Sql(STORE_FRESHNESS),
        Step::Sql(STORE_BOOKS),
        Step::Sql(STORE_CRM_PUSHED),
        Step::Sql(STORE_CRM_ACTIVITY_MARKS),
        Step::Sql(STORE_COMPACT_HISTORY),
        Step::Sql(STORE_COMPACT_ACCOUNTS),
        Step::Convert(crate::history::store_shaped_history),
    ],
};

pub(crate) const QUEUE: Schema = Schema {
    component: "queue",
    steps: &[Step::Sql(QUEUE_V1)],
};

/// Keys as columns (for ordering, filtering, paging and expiry); the record itself as JSON.
const STORE_V1: &str = "
CREATE TABLE event_chunks (
    day         TEXT    NOT NULL,
    seg         INTEGER NOT NULL,
    account_id  TEXT    NOT NULL,
    chunk_id    TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    payload     BLOB    NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (day, seg, account_id, chunk_id)
);
CREATE INDEX event_chunks_expiry ON event_chunks (expires_at);

CREATE TABLE accounts (
    account_id    TEXT    PRIMARY KEY,
    seg           INTEGER NOT NULL,
    profile       TEXT,
    usage_window  TEXT,
    score         TEXT
);
CREATE INDEX accounts_by_segment ON accounts (seg, account_id);

CREATE TABLE users (
    user_id     TEXT PRIMARY KEY,
    account_id  TEXT,
    body        TEXT NOT NULL
);
CREATE INDEX users_by_account ON users (account_id, user_id);

CREATE TABLE score_history (
    account_id  TEXT    NOT NULL,
    as_of       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, as_of)
);
CREATE INDEX score_history_expiry ON score_history (expires_at);

CREATE TABLE alerts (
    id          TEXT    PRIMARY KEY,
    opened_key  TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    account_id  TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT    NOT NULL
);
CREATE INDEX alerts_by_opened ON alerts (opened_key, id);
CREATE INDEX alerts_by_account ON alerts (account_id, opened_key, id);
CREATE INDEX alerts_by_status ON alerts (status, opened_key, id);

CREATE TABLE audit_log (
    id          TEXT    PRIMARY KEY,
    at_key      TEXT    NOT NULL,
    account_id  TEXT,
    body        TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX audit_by_time ON audit_log (at_key, id);
CREATE INDEX audit_by_account ON audit_log (account_id, at_key, id);
CREATE INDEX audit_expiry ON audit_log (expires_at);

CREATE TABLE config_versions (
    version  INTEGER PRIMARY KEY,
    body     TEXT    NOT NULL
);

CREATE TABLE checkpoints (
    run_id      TEXT    NOT NULL,
    seg         INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (run_id, seg)
);
CREATE INDEX checkpoints_expiry ON checkpoints (expires_at);

CREATE TABLE portfolio_summaries (
    as_of  TEXT PRIMARY KEY,
    body   TEXT NOT NULL
);
";

/// Workflow interventions (actions with delivery state, outreach, follow-up, effect).
const STORE_V2: &str = "
CREATE TABLE interventions (
    id           TEXT    PRIMARY KEY,
    created_key  TEXT    NOT NULL,
    account_id   TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    body         TEXT    NOT NULL
);
CREATE INDEX interventions_by_created ON interventions (created_key, id);
CREATE INDEX interventions_by_account ON interventions (account_id, created_key, id);
";

/// Each segment's account listing, as its latest scoring run wrote it (the account list reads
/// these instead of every account record).
const STORE_V3: &str = "
CREATE TABLE segment_listings (
    seg   INTEGER PRIMARY KEY,
    body  TEXT    NOT NULL
);
";

/// Churn model fits, one per run day (the latest is the model in force).
const STORE_V4: &str = "
CREATE TABLE churn_models (
    as_of  TEXT PRIMARY KEY,
    body   TEXT NOT NULL
);
";

/// One counter, bumped in the transaction that stores a listing or a summary.
const STORE_LISTING_VERSION: &str = "
CREATE TABLE listing_version (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
);
";

/// Each account's score trail (the last 180 days of score, drawn by the dashboard); accounts
/// scored before it existed have none until their next run.
const STORE_TRAIL: &str = "
ALTER TABLE accounts ADD COLUMN trail TEXT;
";

/// Marks left by events that arrived after their day ended, until a run recomputes the day.
const STORE_LATE_MARKS: &str = "
CREATE TABLE late_marks (
    day   TEXT NOT NULL,
    id    TEXT NOT NULL,
    body  TEXT NOT NULL,
    PRIMARY KEY (day, id)
);
";

/// Provisional "today so far" scores: each account's latest (its own column, so the daily run
/// and the provisional refresh never overwrite each other), their list rows, and the touch
/// marks ingest leaves for the refresh (expiring like DynamoDB's TTL).
const STORE_FRESHNESS: &str = "
ALTER TABLE accounts ADD COLUMN provisional TEXT;

CREATE TABLE provisional_listing (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    body  TEXT    NOT NULL
);

CREATE TABLE touch_marks (
    interval_start  TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    expires_at      INTEGER NOT NULL,
    PRIMARY KEY (interval_start, id)
);
CREATE INDEX touch_marks_expiry ON touch_marks (expires_at);
";

/// Each owner's book per day (a CSM's portfolio trend), written by the daily run.
const STORE_BOOKS: &str = "
CREATE TABLE book_days (
    owner  TEXT NOT NULL,
    day    TEXT NOT NULL,
    body   TEXT NOT NULL,
    PRIMARY KEY (owner, day)
);
";

/// What was last written to each CRM for each account (CRM write-back).
const STORE_CRM_PUSHED: &str = "
CREATE TABLE crm_pushed (
    crm         TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (crm, account_id)
);
";

/// How far each CRM's activity log has been written (one row per CRM).
const STORE_CRM_ACTIVITY_MARKS: &str = "
CREATE TABLE crm_activity_marks (
    crm   TEXT PRIMARY KEY,
    body  TEXT NOT NULL
);
";

/// Score history bodies become compact BLOBs (`vitals_core::history::codec`) beside the JSON
/// of older rows, which still read. No table changes: the step's version keeps a `vitals` that
/// reads only JSON from opening a file that has them.
const STORE_COMPACT_HISTORY: &str = "-- score_history.body: BLOB (compact) or TEXT (JSON)";

/// Account record columns become compact BLOBs (`codec::to_packed`) as each is next written;
/// JSON ones still read. As with the history, the step's version keeps an older `vitals` out.
const STORE_COMPACT_ACCOUNTS: &str = "-- accounts' record columns: BLOB (compact) or TEXT (JSON)";

/// `seq` orders messages and survives a trip through the dead-letter table, so a receipt
/// (which names its `seq`) never matches a different message. AUTOINCREMENT: never reused.
const QUEUE_V1: &str = "
CREATE TABLE queue_messages (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    queue          TEXT    NOT NULL,
    message_id     TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    sent_at        INTEGER NOT NULL,
    visible_at     INTEGER NOT NULL,
    receive_count  INTEGER NOT NULL DEFAULT 0,
    receipt        TEXT
);
CREATE INDEX queue_messages_visible ON queue_messages (queue, visible_at, seq);

CREATE TABLE queue_dead_letters (
    seq            INTEGER PRIMARY KEY,
    queue          TEXT    NOT NULL,
    message_id     TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    sent_at        INTEGER NOT NULL,
    receive_count  INTEGER NOT NULL,
    dead_at        INTEGER NOT NULL
);
CREATE INDEX queue_dead_letters_by_queue ON queue_dead_letters (queue, seq);
";

/// Applies the missing steps of `schema` in one write transaction, so two processes opening
/// the same new file at once apply each step exactly once.
pub(crate) fn migrate(conn: &mut Connection, schema: &Schema) -> Result<(), DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
            component   TEXT    PRIMARY KEY,
            version     INTEGER NOT NULL,
            applied_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        )",
    )?;
    let current: i64 = tx
        .query_row(
            "SELECT version FROM schema_version WHERE component = ?1",
            params![schema.component],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(0);
    let target = schema.version();
    if current > target {
        return Err(DbError::Rejected(format!(
            "the {} schema in this file is version {current}, newer than this vitals \
             understands ({target}); upgrade vitals",
            schema.component
        )));
    }
    if current == target {
        return Ok(());
    }
    let first = usize::try_from(current).unwrap_or(0);
    for (i, step) in schema.steps.iter().enumerate().skip(first) {
        tracing::info!(
            component = schema.component,
            version = i + 1,
            "applying schema step"
        );
        match step {
            Step::Sql(sql) => tx.execute_batch(sql)?,
            Step::Convert(convert) => convert(&tx)?,
        }
    }
    tx.execute(
        "INSERT INTO schema_version (component, version) VALUES (?1, ?2)
         ON CONFLICT (component) DO UPDATE SET version = excluded.version,
             applied_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        params![schema.component, target],
    )?;
    tx.commit()?;
    Ok(())
}

//! A durable work queue on SQLite with the contract of SQS plus a redrive policy, so alert
//! delivery behaves the same in `vitals serve` as on AWS, across several processes.
//!
//! Receipts name the message (`{seq}.{random}`) and change on every receive. Like SQS:
//! deleting a message that is already gone succeeds; a receipt from before the message was
//! received again is refused (`Rejected`, SQS's `ReceiptHandleIsInvalid`) and changes nothing.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, Transaction};
use vitals_core::clock::{Clock, SystemClock};
use vitals_core::ports::{OutgoingMessage, Queue, ReceivedMessage};
use vitals_core::QueueError;

use crate::db::Db;
use crate::error::DbError;
use crate::schema;

/// How a queue treats messages that keep failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// Receives after which a message goes to the dead-letter queue instead of being delivered
    /// again (SQS `maxReceiveCount`). At least 1.
    pub max_receives: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings { max_receives: 5 }
    }
}

/// One named queue (and its dead-letter queue) in a SQLite file. Several queues may share a
/// file, and several handles or processes may use one queue at once. Cheap to clone.
#[derive(Clone)]
pub struct SqliteQueue {
    db: Db,
    queue: Arc<str>,
    settings: QueueSettings,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SqliteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteQueue")
            .field("queue", &self.queue)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A message row as read for delivery.
struct Candidate {
    seq: i64,
    visible_at: i64,
    id: String,
    body: String,
    receive_count: i64,
}

impl SqliteQueue {
    /// Opens queue `queue` in the file at `path`, creating the file, its directory and the
    /// queue tables if needed. Blocks: call it at startup.
    pub fn open(path: &Path, queue: &str, settings: QueueSettings) -> Result<Self, QueueError> {
        Self::with_db(Db::open_file(path, &schema::QUEUE)?, queue, settings)
    }

    /// A private queue that vanishes with its last handle (tests, demos).
    pub fn open_in_memory(queue: &str, settings: QueueSettings) -> Result<Self, QueueError> {
        Self::with_db(Db::open_memory(&schema::QUEUE)?, queue, settings)
    }

    fn with_db(db: Db, queue: &str, settings: QueueSettings) -> Result<Self, QueueError> {
        if settings.max_receives == 0 {
            return Err(QueueError::Rejected(
                "max_receives must be at least 1".to_string(),
            ));
        }
        if queue.trim().is_empty() {
            return Err(QueueError::Rejected(
                "queue name must not be empty".to_string(),
            ));
        }
        Ok(SqliteQueue {
            db,
            queue: Arc::from(queue),
            settings,
            clock: Arc::new(SystemClock),
        })
    }

    /// Uses `clock` for visibility timeouts and delays (tests move time by hand).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn name(&self) -> &str {
        &self.queue
    }

    pub fn settings(&self) -> QueueSettings {
        self.settings
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn new_receipt(seq: i64) -> String {
    format!("{seq}.{}", uuid::Uuid::new_v4().simple())
}

/// The message a receipt names; `Rejected` if it is not one of ours.
fn receipt_seq(receipt: &str) -> Result<i64, DbError> {
    let invalid = || DbError::Rejected("invalid receipt".to_string());
    let (seq, token) = receipt.split_once('.').ok_or_else(invalid)?;
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    seq.parse().map_err(|_| invalid())
}

/// Where the message a receipt names stands now.
enum ReceiptState {
    /// Deleted, or moved to the dead-letter queue.
    Gone,
    /// Received again since: this receipt no longer controls it.
    Stale,
    Current,
}

fn receipt_state(
    tx: &Transaction<'_>,
    queue: &str,
    seq: i64,
    receipt: &str,
) -> Result<ReceiptState, DbError> {
    let row: Option<(String, Option<String>)> = tx
        .prepare_cached("SELECT queue, receipt FROM queue_messages WHERE seq = ?1")?
        .query_row(params![seq], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    match row {
        None => Ok(ReceiptState::Gone),
        Some((q, _)) if q != queue => Err(DbError::Rejected(
            "receipt belongs to another queue".to_string(),
        )),
        Some((_, Some(current))) if current == receipt => Ok(ReceiptState::Current),
        Some(_) => Ok(ReceiptState::Stale),
    }
}

fn stale_receipt() -> DbError {
    DbError::Rejected("stale receipt: the message was received again since".to_string())
}

fn move_to_dead_letters(tx: &Transaction<'_>, seq: i64, now: i64) -> Result<(), DbError> {
    tx.prepare_cached(
        "INSERT INTO queue_dead_letters
             (seq, queue, message_id, body, sent_at, receive_count, dead_at)
         SELECT seq, queue, message_id, body, sent_at, receive_count, ?2
         FROM queue_messages WHERE seq = ?1",
    )?
    .execute(params![seq, now])?;
    tx.prepare_cached("DELETE FROM queue_messages WHERE seq = ?1")?
        .execute(params![seq])?;
    Ok(())
}

fn to_count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<(), QueueError> {
        if messages.is_empty() {
            return Ok(());
        }
        let queue = Arc::clone(&self.queue);
        let now = self.now_ms();
        let messages = messages.to_vec();
        self.db
            .write(move |tx| {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO queue_messages
                         (queue, message_id, body, sent_at, visible_at, receive_count)
                     VALUES (?1, ?2, ?3, ?4, ?4, 0)",
                )?;
                for m in &messages {
                    stmt.execute(params![&*queue, m.id, m.body, now])?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Oldest-visible first. One write transaction, so two receivers (threads or processes)
    /// never get the same visible message.
    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let queue = Arc::clone(&self.queue);
        let now = self.now_ms();
        let hidden_until = now.saturating_add(millis(visibility));
        let max_receives = i64::from(self.settings.max_receives);
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        let received = self
            .db
            .write(move |tx| {
                let mut out: Vec<ReceivedMessage> = Vec::new();
                // Walk visible messages in order; the position moves past each one looked at,
                // so a message made visible again (zero visibility) is not handed out twice.
                let mut after = (i64::MIN, i64::MIN);
                while out.len() < max {
                    let want = i64::try_from(max - out.len()).unwrap_or(i64::MAX);
                    let batch = tx
                        .prepare_cached(
                            "SELECT seq, visible_at, message_id, body, receive_count
                             FROM queue_messages
                             WHERE queue = ?1 AND visible_at <= ?2
                               AND (visible_at, seq) > (?3, ?4)
                             ORDER BY visible_at, seq LIMIT ?5",
                        )?
                        .query_map(params![&*queue, now, after.0, after.1, want], |row| {
                            Ok(Candidate {
                                seq: row.get(0)?,
                                visible_at: row.get(1)?,
                                id: row.get(2)?,
                                body: row.get(3)?,
                                receive_count: row.get(4)?,
                            })
                        })?
                        .collect::<Result<Vec<_>, _>>()?;
                    if batch.is_empty() {
                        break;
                    }
                    for c in batch {
                        after = (c.visible_at, c.seq);
                        if c.receive_count >= max_receives {
                            tracing::warn!(
                                queue = &*queue,
                                message_id = c.id,
                                receive_count = c.receive_count,
                                "message moved to the dead-letter queue"
                            );
                            move_to_dead_letters(tx, c.seq, now)?;
                            continue;
                        }
                        let receipt = new_receipt(c.seq);
                        tx.prepare_cached(
                            "UPDATE queue_messages
                             SET receive_count = receive_count + 1, receipt = ?2, visible_at = ?3
                             WHERE seq = ?1",
                        )?
                        .execute(params![c.seq, receipt, hidden_until])?;
                        out.push(ReceivedMessage {
                            id: c.id,
                            body: c.body,
                            receipt,
                            receive_count: to_count(c.receive_count + 1),
                        });
                    }
                }
                Ok(out)
            })
            .await?;
        Ok(received)
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        let seq = receipt_seq(receipt)?;
        let queue = Arc::clone(&self.queue);
        let receipt = receipt.to_string();
        self.db
            .write(move |tx| match receipt_state(tx, &queue, seq, &receipt)? {
                ReceiptState::Gone => Ok(()),
                ReceiptState::Stale => Err(stale_receipt()),
                ReceiptState::Current => {
                    tx.prepare_cached("DELETE FROM queue_messages WHERE seq = ?1")?
                        .execute(params![seq])?;
                    Ok(())
                }
            })
            .await?;
        Ok(())
    }

    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let seq = receipt_seq(receipt)?;
        let queue = Arc::clone(&self.queue);
        let receipt = receipt.to_string();
        let visible_at = self.now_ms().saturating_add(millis(delay));
        self.db
            .write(move |tx| match receipt_state(tx, &queue, seq, &receipt)? {
                ReceiptState::Gone => Err(DbError::Rejected(
                    "message is no longer in the queue".to_string(),
                )),
                ReceiptState::Stale => Err(stale_receipt()),
                ReceiptState::Current => {
                    tx.prepare_cached("UPDATE queue_messages SET visible_at = ?2 WHERE seq = ?1")?
                        .execute(params![seq, visible_at])?;
                    Ok(())
                }
            })
            .await?;
        Ok(())
    }

    /// Oldest dead first. The receipts are labels only (`dead.{seq}`): `delete` refuses them.
    async fn dead_letters(&self, max: u32) -> Result<Vec<ReceivedMessage>, QueueError> {
        let queue = Arc::clone(&self.queue);
        let messages = self
            .db
            .read(move |conn| {
                let rows = conn
                    .prepare_cached(
                        "SELECT seq, message_id, body, receive_count FROM queue_dead_letters
                         WHERE queue = ?1 ORDER BY seq LIMIT ?2",
                    )?
                    .query_map(params![&*queue, i64::from(max)], |row| {
                        let seq: i64 = row.get(0)?;
                        Ok(ReceivedMessage {
                            id: row.get(1)?,
                            body: row.get(2)?,
                            receipt: format!("dead.{seq}"),
                            receive_count: to_count(row.get(3)?),
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        Ok(messages)
    }

    async fn replay_dead_letters(&self, max: u32) -> Result<u32, QueueError> {
        let queue = Arc::clone(&self.queue);
        let now = self.now_ms();
        let moved = self
            .db
            .write(move |tx| {
                let seqs = tx
                    .prepare_cached(
                        "SELECT seq FROM queue_dead_letters WHERE queue = ?1
                         ORDER BY seq LIMIT ?2",
                    )?
                    .query_map(params![&*queue, i64::from(max)], |row| row.get::<_, i64>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                for seq in &seqs {
                    tx.prepare_cached(
                        "INSERT INTO queue_messages
                             (seq, queue, message_id, body, sent_at, visible_at, receive_count)
                         SELECT seq, queue, message_id, body, sent_at, ?2, 0
                         FROM queue_dead_letters WHERE seq = ?1",
                    )?
                    .execute(params![seq, now])?;
                    tx.prepare_cached("DELETE FROM queue_dead_letters WHERE seq = ?1")?
                        .execute(params![seq])?;
                }
                Ok(u32::try_from(seqs.len()).unwrap_or(u32::MAX))
            })
            .await?;
        if moved > 0 {
            tracing::info!(queue = &*self.queue, moved, "dead letters replayed");
        }
        Ok(moved)
    }
}

//! Late-event marks: one row per (day, mark id), its body the mark (see `vitals_core::run::late`).

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::params;
use vitals_core::ports::{LateEventStore, StoreResult};
use vitals_core::run::LateMark;

use crate::codec::{day_key, to_json};
use crate::store::SqliteStore;

#[async_trait]
impl LateEventStore for SqliteStore {
    async fn put_late_marks(&self, marks: &[LateMark]) -> StoreResult<()> {
        self.put_rows(
            "INSERT INTO late_marks (day, id, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (day, id) DO UPDATE SET body = excluded.body",
            marks,
            |m| Ok((day_key(m.day), m.id.clone(), to_json(m)?)),
        )
        .await
    }

    async fn late_marks(&self, day: Option<NaiveDate>) -> StoreResult<Vec<LateMark>> {
        match day {
            Some(day) => {
                self.bodies_of(
                    "SELECT body FROM late_marks WHERE day = ?1 ORDER BY day, id",
                    (day_key(day),),
                )
                .await
            }
            None => {
                self.bodies_of("SELECT body FROM late_marks ORDER BY day, id", ())
                    .await
            }
        }
    }

    async fn delete_late_marks(&self, marks: &[LateMark]) -> StoreResult<()> {
        let keys: Vec<(String, String)> = marks
            .iter()
            .map(|m| (day_key(m.day), m.id.clone()))
            .collect();
        self.db
            .write(move |tx| {
                let mut delete =
                    tx.prepare_cached("DELETE FROM late_marks WHERE day = ?1 AND id = ?2")?;
                for (day, id) in &keys {
                    delete.execute(params![day, id])?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }
}

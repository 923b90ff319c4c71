//! Writes of many rows of one table at once (marks, CRM state): one statement run per row,
//! all in one write transaction.

use vitals_core::ports::StoreResult;

use crate::store::SqliteStore;

impl SqliteStore {
    /// Runs `sql` (an upsert) once with each row as its parameters, in one transaction.
    pub(crate) async fn put_rows<P>(&self, sql: &'static str, rows: Vec<P>) -> StoreResult<()>
    where
        P: rusqlite::Params + Send + 'static,
    {
        self.db
            .write(move |tx| {
                let mut upsert = tx.prepare_cached(sql)?;
                for row in rows {
                    upsert.execute(row)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }
}

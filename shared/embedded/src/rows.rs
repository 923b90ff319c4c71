//! Writes of many rows of one table at once (marks, CRM state): one statement run per row,
//! all in one write transaction.

use vitals_core::ports::StoreResult;

use crate::error::DbError;
use crate::store::SqliteStore;

impl SqliteStore {
    /// Runs `sql` (an upsert) once per value, with the parameters `row` makes of it, in one
    /// transaction.
    pub(crate) async fn put_rows<T, P>(
        &self,
        sql: &'static str,
        values: &[T],
        row: impl Fn(&T) -> Result<P, DbError> + Sync,
    ) -> StoreResult<()>
    where
        T: Sync,
        P: rusqlite::Params + Send + 'static,
    {
        if values.is_empty() {
            return Ok(());
        }
        let rows = crate::parallel::map(values, row)?;
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

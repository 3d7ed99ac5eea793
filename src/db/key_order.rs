//! Reads that walk a sheet's records in id order (`sheet_seq = ? AND id > ? ... ORDER BY id
//! LIMIT n`) right after a big write. PostgreSQL's statistics then still describe the table
//! as it was (its `ANALYZE` comes later), so for the first five runs of such a statement
//! (plans made for its values) its planner expected a few rows, read every record past the
//! cursor in a bitmap scan and sorted them: 110-220 ms for each 5,000-record read of a
//! source of 1,000,000 records just extracted, against 2 ms walking the key.

use super::AnyConnection;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::{Connection, QueryResult};

/// Runs `read` so that PostgreSQL walks an index in its order rather than gathering every
/// match first (only for reads a key serves in order: a search needs its bitmap scan).
pub fn in_key_order<T>(
    conn: &mut AnyConnection,
    read: impl FnOnce(&mut AnyConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    let nested = match conn {
        AnyConnection::Sqlite(_) => return read(conn),
        AnyConnection::Postgres(c) => AnsiTransactionManager::transaction_manager_status_mut(c)
            .transaction_depth()?
            .is_some(),
    };
    conn.transaction(|c| {
        c.batch_execute("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off")?;
        let read = read(c)?;
        // In a caller's transaction the settings would last to its end.
        if nested {
            c.batch_execute("SET LOCAL enable_bitmapscan TO DEFAULT; SET LOCAL enable_seqscan TO DEFAULT")?;
        }
        Ok(read)
    })
}

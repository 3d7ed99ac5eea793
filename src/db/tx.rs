//! Write transactions. On SQLite a transaction that reads first and writes later fails at
//! once with "database is locked" when another writer committed in between (its snapshot
//! is stale, and waiting cannot help). So every write transaction takes the write lock
//! when it begins (`BEGIN IMMEDIATE`), waiting its turn behind the busy timeout; readers
//! never wait (WAL). PostgreSQL needs nothing more here: row locks are taken where a
//! write depends on what it read (see `model::sheet::lock_for_write`).

use super::AnyConnection;
use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};

type Manager = <AnyConnection as Connection>::TransactionManager;

/// Runs `f` in a write transaction (a savepoint when one is already open).
pub fn write_tx<T, E, F>(conn: &mut AnyConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let AnyConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    let depth = AnsiTransactionManager::transaction_manager_status_mut(sqlite).transaction_depth()?;
    if depth.is_some() {
        return conn.transaction(f);
    }
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

/// Whether an error means the database stayed busy past the wait: SQLite's write lock
/// held too long, or a PostgreSQL lock or deadlock timeout. Such a request is worth retrying.
pub fn is_busy(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => {
            let m = info.message();
            m.contains("database is locked")
                || m.contains("database table is locked")
                || m.contains("deadlock detected")
                || m.contains("lock timeout")
        }
        _ => false,
    }
}

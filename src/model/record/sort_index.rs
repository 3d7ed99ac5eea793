//! Sort indexes: one partial index per sheet and field, built in the background
//! (`workers::indexes`) on the first sort by that field, or when a load into the sheet
//! ends; on PostgreSQL with statistics of the cells they hold ([`statistics`]).

use crate::db::{backend_of, AnyConnection, Backend};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

/// How a sheet's cells are read: which database, and on SQLite whether its records have
/// their sort keys in columns (`sort_keys`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cells {
    pub backend: Backend,
    pub keyed: bool,
}

impl Cells {
    pub fn of(backend: Backend, sheet: &crate::model::sheet::Sheet) -> Cells {
        Cells {
            backend,
            keyed: backend == Backend::Sqlite && sheet.sort_keys == super::sort_keys::READY,
        }
    }

    /// The cells as `vals` holds them, whatever the sheet keeps: always right, and what a
    /// walk of the sheet in id order reads.
    pub fn from_values(backend: Backend) -> Cells {
        Cells {
            backend,
            keyed: false,
        }
    }

    /// The expression a sort by field `i` orders on; identical text to the index's.
    pub fn expression(self, i: usize) -> String {
        match self.backend {
            Backend::Sqlite => super::sort_keys::column(i)
                .filter(|_| self.keyed)
                .unwrap_or_else(|| format!("json_extract(vals, '$[{i}]')")),
            // A record stored before field `i` was added has no place `i` (SQL NULL) where
            // one written after holds a JSON null: both are empty, and tie by id.
            Backend::Postgres => format!("NULLIF((vals::jsonb)->{i}, 'null'::jsonb)"),
        }
    }
}

impl Cells {
    /// What a sort by field `i` orders on, in order (and what its index holds after the
    /// sheet number): on PostgreSQL the cell's kind first ([`pg_kind`]), so that empty
    /// cells, then numbers, then text come as SQLite's types order them (jsonb alone puts
    /// text before numbers).
    pub fn sort_keys(self, i: usize) -> Vec<String> {
        match self.backend {
            Backend::Sqlite => vec![self.expression(i)],
            Backend::Postgres => vec![pg_kind(i), self.expression(i)],
        }
    }

    /// `ORDER BY` of a sort by field `i`, ties by id.
    pub fn order_by(self, i: usize, descending: bool) -> String {
        let dir = if descending { "DESC" } else { "ASC" };
        let mut keys: Vec<String> = self
            .sort_keys(i)
            .into_iter()
            .map(|k| format!("{k} {dir}"))
            .collect();
        keys.push(format!("id {dir}"));
        keys.join(", ")
    }
}

/// PostgreSQL: a cell's kind as a sort ranks it: 0 empty, 1 a number (or true/false, which
/// SQLite holds as 1/0), 2 text, 3 a list or object. FFQL tests name it too, so that the
/// sort index serves them.
pub fn pg_kind(i: usize) -> String {
    format!(
        "(CASE jsonb_typeof((vals::jsonb)->{i}) WHEN 'number' THEN 1 WHEN 'boolean' THEN 1 \
         WHEN 'string' THEN 2 WHEN 'array' THEN 3 WHEN 'object' THEN 3 ELSE 0 END)"
    )
}

fn name(sheet_seq: i64, i: usize) -> String {
    format!("records_sort_{sheet_seq}_{i}")
}

/// After a field's removal, the sort index of the position past the fields left goes
/// (each later field's index now holds the field before it), whether set aside or built
/// meanwhile by another change's request (probe 54b). SQLite: in the removal's transaction.
/// PostgreSQL: once it committed, `CONCURRENTLY` (inside the transaction a drop would lock
/// the whole records table); a call inside a transaction does nothing there.
pub fn drop_past(conn: &mut AnyConnection, sheet_seq: i64, fields_left: usize) -> QueryResult<()> {
    let name = name(sheet_seq, fields_left);
    match conn {
        AnyConnection::Sqlite(_) => conn.batch_execute(&format!("DROP INDEX IF EXISTS {name}")),
        AnyConnection::Postgres(pg) => {
            use diesel::connection::{AnsiTransactionManager, TransactionManager};
            if AnsiTransactionManager::transaction_manager_status_mut(pg)
                .transaction_depth()?
                .is_some()
            {
                return Ok(());
            }
            pg.batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"))
        }
    }
}

/// SQLite: how many sort indexes the records table has, all sheets together (0 on
/// PostgreSQL, whose inserts do not slow down with them as SQLite's do).
pub fn count_on_sqlite(conn: &mut AnyConnection) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    match conn {
        AnyConnection::Sqlite(c) => Ok(diesel::sql_query(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' \
             AND name LIKE 'records\\_sort\\_%' ESCAPE '\\'",
        )
        .get_result::<Count>(c)?
        .n),
        AnyConnection::Postgres(_) => Ok(0),
    }
}

/// Builds the index unless the catalog has it.
pub fn build(conn: &mut AnyConnection, sheet_seq: i64, i: usize) -> QueryResult<()> {
    let backend = backend_of(conn);
    let name = name(sheet_seq, i);
    // Asked by a field count read before another field change committed (two at once:
    // probe 54b), a position the sheet no longer has would get an index that every write
    // keeps up for nothing.
    if super::indexes::catalog_has(conn, &name)? || i >= crate::model::sheet::field_count(conn, sheet_seq)? {
        return Ok(());
    }
    super::indexes::drop_invalid(conn, &name)?;
    // A field with a key column is indexed on it, once the sheet's records have theirs.
    let keyed = backend == Backend::Sqlite && i < super::sort_keys::KEYED;
    if keyed {
        super::sort_keys::fill(conn, sheet_seq)?;
    }
    let expr = Cells { backend, keyed }.sort_keys(i).join(", ");
    // Led by the sheet number, so a sheet's sorted page is an ordered range of the index
    // whatever the planner's statistics say; partial, so it costs only that sheet's writes.
    // The sheet number is an integer from the database, never text from a request.
    let create = format!("ON records (sheet_seq, {expr}, id) WHERE sheet_seq = {sheet_seq}");
    match backend {
        Backend::Postgres => conn.batch_execute(&format!(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {create}"
        ))?,
        // In its turn, so writers queue behind the build instead of polling past it; the
        // fields looked at again there (a removal committed while the build waited: field
        // changes are writes too, so this reads the fields as they stay).
        Backend::Sqlite => crate::db::write(conn, |conn| {
            if i >= crate::model::sheet::field_count(conn, sheet_seq)? {
                return Ok(());
            }
            conn.batch_execute(&format!("CREATE INDEX IF NOT EXISTS {name} {create}"))
        })?,
    }
    statistics(conn, i)
}

/// PostgreSQL: statistics of the cells at position `i` across the records table, gathered
/// by the next `ANALYZE`. The planner takes none from a partial index, so without these it
/// guessed every equality on a cell to hold 0.5% of the records, and read a value held by a
/// tenth of a million-record sheet from the sort index, all of it, to sort by id (1.2 s for
/// a page that walking the sheet in order finds in 22 ms). One object per position serves
/// every sheet, whose field there has the same expression.
pub fn statistics(conn: &mut AnyConnection, i: usize) -> QueryResult<()> {
    if backend_of(conn) != Backend::Postgres {
        return Ok(());
    }
    let expr = Cells::from_values(Backend::Postgres).expression(i);
    let made = conn.batch_execute(&format!(
        "CREATE STATISTICS IF NOT EXISTS records_cells_{i} ON ({expr}) FROM records"
    ));
    match made {
        // Two processes creating the same one at once: the other's is as good.
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            Ok(())
        }
        other => other,
    }
}

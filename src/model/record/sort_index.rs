//! Sort indexes: one partial index per sheet and field, so an index costs only the
//! writes of the sheet it serves. They are built in the background on the first sort by
//! a field (`CREATE INDEX CONCURRENTLY` on PostgreSQL), never inside a person's request;
//! until one exists, the sort still answers correctly, from a scan.

use crate::db::{backend_of, AnyConnection, Backend, Pool};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The expression a sort by field `i` orders on; identical text to the index's.
pub fn expression(backend: Backend, i: usize) -> String {
    match backend {
        Backend::Sqlite => format!("json_extract(vals, '$[{i}]')"),
        Backend::Postgres => format!("((vals::jsonb)->{i})"),
    }
}

fn name(sheet_seq: i64, i: usize) -> String {
    format!("records_sort_{sheet_seq}_{i}")
}

/// Indexes known to exist or being built, so a request schedules each at most once.
#[derive(Default, Clone)]
pub struct SortIndexes {
    requested: Arc<Mutex<HashSet<(i64, usize)>>>,
}

impl SortIndexes {
    /// Makes sure the index for sorting a sheet by field `i` exists or is being built;
    /// returns at once.
    pub fn request(&self, pool: &Pool, sheet_seq: i64, i: usize) {
        let fresh = self
            .requested
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((sheet_seq, i));
        if !fresh {
            return;
        }
        let (pool, requested) = (pool.clone(), self.requested.clone());
        std::thread::spawn(move || {
            let built = pool
                .get()
                .map_err(|e| e.to_string())
                .and_then(|mut conn| build(&mut conn, sheet_seq, i).map_err(|e| e.to_string()));
            if let Err(e) = built {
                tracing::warn!(error = %e, sheet_seq, field = i, "building a sort index failed");
                // Let a later sort try again.
                requested
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&(sheet_seq, i));
            }
        });
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Builds the index unless the catalog has it.
pub fn build(conn: &mut AnyConnection, sheet_seq: i64, i: usize) -> QueryResult<()> {
    let backend = backend_of(conn);
    let name = name(sheet_seq, i);
    let catalog = match backend {
        Backend::Sqlite => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND name = ?",
        Backend::Postgres => "SELECT COUNT(*) AS n FROM pg_indexes WHERE indexname = $1",
    };
    let found: Count =
        crate::on_backend!(conn, c => diesel::sql_query(catalog).bind::<Text, _>(&name).get_result(c))?;
    if found.n > 0 {
        return Ok(());
    }
    let expr = expression(backend, i);
    // Led by the sheet number, so a sheet's sorted page is an ordered range of the index
    // whatever the planner's statistics say; partial, so it costs only that sheet's writes.
    // The sheet number is an integer from the database, never text from a request.
    let create = format!("ON records (sheet_seq, {expr}, id) WHERE sheet_seq = {sheet_seq}");
    conn.batch_execute(&match backend {
        Backend::Postgres => format!("CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {create}"),
        Backend::Sqlite => format!("CREATE INDEX IF NOT EXISTS {name} {create}"),
    })
}

/// Drops the sort indexes of sheets that no longer exist (deleting a sheet leaves its
/// indexes empty; dropping them inside that transaction would lock the records table).
pub fn drop_orphans(conn: &mut AnyConnection) -> QueryResult<usize> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let backend = backend_of(conn);
    let catalog = match backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'records\\_sort\\_%' ESCAPE '\\'",
        Backend::Postgres => "SELECT indexname AS name FROM pg_indexes WHERE indexname LIKE 'records\\_sort\\_%'",
    };
    let names: Vec<Name> = crate::on_backend!(conn, c => diesel::sql_query(catalog).load(c))?;
    let live: HashSet<i64> = crate::db::schema::sheets::table
        .select(crate::db::schema::sheets::seq)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let how = match backend {
        Backend::Sqlite => "",
        Backend::Postgres => "CONCURRENTLY",
    };
    let mut dropped = 0;
    for Name { name } in names {
        // records_sort_{seq}_{field}; older global indexes (records_sort_{field}) go too.
        let parts: Vec<&str> = name.trim_start_matches("records_sort_").split('_').collect();
        let orphan = match parts.as_slice() {
            [seq, _field] => seq.parse().is_ok_and(|seq: i64| !live.contains(&seq)),
            _ => true,
        };
        if orphan {
            conn.batch_execute(&format!("DROP INDEX {how} IF EXISTS {name}"))?;
            dropped += 1;
        }
    }
    Ok(dropped)
}

//! Indexes that serve one sheet's reads: a sort index per field, and a search index.
//! Each is built in the background when an import into the sheet ends or the first time a
//! read of that sheet wants it, never inside a person's request, and then kept by that
//! sheet's writes alone; a sheet nobody imports into, sorts or searches costs its writes
//! nothing. Until an index exists, the read is answered
//! from a scan: correct, only slower.

use super::{search_index, sort_index};
use crate::db::{backend_of, AnyConnection, Backend, Pool};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// An index of one sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexKind {
    /// Sorting by the field at this position.
    Sort(usize),
    Search,
}

/// Indexes known to exist or being built, so reads schedule each at most once. Builds
/// run one at a time: two `CREATE INDEX CONCURRENTLY` on one table wait for each other and
/// one of them fails as a deadlock.
#[derive(Default, Clone)]
pub struct Indexer {
    requested: Arc<Mutex<HashSet<(i64, IndexKind)>>>,
    building: Arc<Mutex<()>>,
}

impl Indexer {
    /// Asks for the indexes a read of a sheet would use.
    pub fn request_for(&self, pool: &Pool, sheet_seq: i64, q: &super::RecordQuery) {
        if let Some((field, _)) = q.sort {
            self.request(pool, sheet_seq, IndexKind::Sort(field));
        }
        if q.search_value
            .as_ref()
            .is_some_and(|t| super::search::index_serves(t))
        {
            self.request(pool, sheet_seq, IndexKind::Search);
        }
        if let Some(node) = &q.ffql {
            for field in super::ffql_sql::indexed_fields(node) {
                self.request(pool, sheet_seq, IndexKind::Sort(field));
            }
        }
    }

    /// Asks for every index a sheet's reads may want (search, and a sort per field), as an
    /// import into it ends, so that its first searches and sorts find them ready.
    pub fn request_all(&self, pool: &Pool, sheet_seq: i64, fields: usize) {
        self.request(pool, sheet_seq, IndexKind::Search);
        for field in 0..fields {
            self.request(pool, sheet_seq, IndexKind::Sort(field));
        }
    }

    /// Makes sure an index of a sheet exists or is being built; returns at once.
    pub fn request(&self, pool: &Pool, sheet_seq: i64, kind: IndexKind) {
        let key = (sheet_seq, kind);
        if !self
            .requested
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key)
        {
            return;
        }
        let (pool, requested, building) = (pool.clone(), self.requested.clone(), self.building.clone());
        std::thread::spawn(move || {
            let _one_at_a_time = building.lock().unwrap_or_else(|p| p.into_inner());
            let built = pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
                match kind {
                    IndexKind::Sort(i) => sort_index::build(&mut conn, sheet_seq, i),
                    IndexKind::Search => search_index::build(&mut conn, sheet_seq),
                }
                .map_err(|e| e.to_string())
            });
            if let Err(e) = built {
                tracing::warn!(error = %e, sheet_seq, ?kind, "building an index failed");
                // Let a later read try again.
                requested.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
            }
        });
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Whether the catalog holds a usable index (or, on SQLite, a table) of this name. On
/// PostgreSQL an index being built `CONCURRENTLY` is listed before it is valid.
pub fn catalog_has(conn: &mut AnyConnection, name: &str) -> QueryResult<bool> {
    let catalog = match backend_of(conn) {
        Backend::Sqlite => "SELECT COUNT(*) AS n FROM sqlite_master WHERE name = ?",
        Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid \
             WHERE c.relname = $1 AND i.indisvalid"
        }
    };
    let found: Count =
        crate::on_backend!(conn, c => diesel::sql_query(catalog).bind::<Text, _>(name).get_result(c))?;
    Ok(found.n > 0)
}

/// Before a PostgreSQL build: an index left invalid by a build that was cut off would make
/// `CREATE INDEX ... IF NOT EXISTS` do nothing, so it goes first.
pub fn drop_invalid(conn: &mut AnyConnection, name: &str) -> QueryResult<()> {
    if backend_of(conn) == Backend::Postgres {
        conn.batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"))?;
    }
    Ok(())
}

/// Drops the indexes of sheets that no longer exist (deleting a sheet leaves its indexes
/// empty; dropping them inside that transaction would lock the records table).
pub fn drop_orphans(conn: &mut AnyConnection) -> QueryResult<usize> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        kind: String,
    }
    let backend = backend_of(conn);
    let catalog = match backend {
        Backend::Sqlite => {
            "SELECT name, type AS kind FROM sqlite_master WHERE type IN ('index', 'table', 'trigger') \
             AND (name LIKE 'records\\_sort\\_%' ESCAPE '\\' OR name LIKE 'record\\_search\\_%' ESCAPE '\\')"
        }
        Backend::Postgres => {
            "SELECT indexname AS name, 'index' AS kind FROM pg_indexes \
             WHERE indexname LIKE 'records\\_sort\\_%' OR indexname LIKE 'records\\_search\\_%'"
        }
    };
    let names: Vec<Name> = crate::on_backend!(conn, c => diesel::sql_query(catalog).load(c))?;
    let live: HashSet<i64> = crate::db::schema::sheets::table
        .select(crate::db::schema::sheets::seq)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let mut dropped = 0;
    for Name { name, kind } in names {
        // {prefix}_{seq}[_{suffix}]: the sheet number is the first number after the prefix.
        let seq = name
            .split('_')
            .find_map(|part| part.parse::<i64>().ok())
            .filter(|_| name.matches('_').count() >= 2);
        let orphan = match seq {
            Some(seq) => !live.contains(&seq),
            // Older global sort indexes (records_sort_{field}) go too.
            None => true,
        };
        let global_sort = name.starts_with("records_sort_") && name.matches('_').count() == 2;
        // FTS5's own shadow tables (record_search_{seq}_data, ...) go with their table.
        let shadow = kind == "table" && seq.is_some_and(|seq| name != search_index::name(seq));
        if !(orphan || global_sort) || shadow {
            continue;
        }
        let how = if backend == Backend::Postgres {
            "CONCURRENTLY "
        } else {
            ""
        };
        let drop = match kind.as_str() {
            "table" => format!("DROP TABLE IF EXISTS {name}"),
            "trigger" => format!("DROP TRIGGER IF EXISTS {name}"),
            _ => format!("DROP INDEX {how}IF EXISTS {name}"),
        };
        conn.batch_execute(&drop)?;
        dropped += 1;
    }
    Ok(dropped)
}

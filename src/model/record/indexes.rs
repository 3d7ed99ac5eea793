//! The catalog queries behind a sheet's per-sheet indexes: whether one exists, clearing one
//! a cut-off build left invalid, and dropping those of deleted sheets. The builds run in
//! the background (`workers::indexes`); the indexes themselves are `sort_index` and
//! `search_index`.

use super::search_index;
use crate::db::{backend_of, AnyConnection, Backend};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use std::collections::HashSet;

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
/// empty; dropping them inside that transaction would lock the records table), and the
/// delete triggers that search indexes used to have.
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
        // Search indexes no longer have a delete trigger (see `search_index::unindex_deleted`).
        let retired = kind == "trigger";
        if !(orphan || global_sort || retired) || shadow {
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

/// Drops a sheet's sort indexes, and on PostgreSQL its search index; returns how many
/// went. SQLite's search index stays: a field's
/// move leaves every cell's text in it (`record::fields`).
pub fn drop_of_sheet(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<usize> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let pg = match conn {
        AnyConnection::Postgres(pg) => pg,
        AnyConnection::Sqlite(lite) => {
            let names: Vec<Name> = diesel::sql_query(format!(
                "SELECT name FROM sqlite_master WHERE type = 'index' \
                 AND name LIKE 'records\\_sort\\_{sheet_seq}\\_%' ESCAPE '\\'"
            ))
            .load(lite)?;
            for Name { name } in &names {
                lite.batch_execute(&format!("DROP INDEX IF EXISTS {name}"))?;
            }
            return Ok(names.len());
        }
    };
    // The sheet number is an integer from the database, never text from a request.
    let names: Vec<Name> = diesel::sql_query(format!(
        "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'records' \
         AND (indexname LIKE 'records\\_sort\\_{sheet_seq}\\_%' OR indexname = 'records_search_{sheet_seq}')"
    ))
    .load(pg)?;
    if names.is_empty() {
        return Ok(0);
    }
    // Each `DROP INDEX CONCURRENTLY` waits twice for every transaction on the records
    // begun before it: a sheet's eleven indexes beside a re-check's half-second batches
    // took 6-10 s (probe 65c D8). One plain drop of them all waits once, holding the
    // records' other readers and writers back meanwhile, so only as long as `lock_timeout`;
    // past it, one at a time concurrently, as no write waits on those.
    let list: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
    let at_once = pg.transaction(|pg| {
        pg.batch_execute("SET LOCAL lock_timeout = '500ms'")?;
        pg.batch_execute(&format!("DROP INDEX IF EXISTS {}", list.join(", ")))
    });
    if at_once.is_err() {
        for name in list {
            pg.batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"))?;
        }
    }
    Ok(names.len())
}

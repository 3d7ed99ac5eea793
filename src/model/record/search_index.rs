//! A sheet's search index, built by the `indexer` on the sheet's first search: on SQLite an
//! FTS5 trigram table of its own (contentless: the exact check reads the record), on
//! PostgreSQL a partial `pg_trgm` GIN index. Once it exists, the sheet's writes keep it in
//! their own transaction (PostgreSQL does so by itself).

use super::indexer::catalog_has;
use crate::db::{backend_of, AnyConnection, Backend};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

/// The FTS5 table of a sheet (SQLite).
pub fn name(sheet_seq: i64) -> String {
    format!("record_search_{sheet_seq}")
}

/// The GIN index of a sheet (PostgreSQL).
fn pg_name(sheet_seq: i64) -> String {
    format!("records_search_{sheet_seq}")
}

/// Whether the sheet's search index exists.
pub fn exists(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<bool> {
    let name = match backend_of(conn) {
        Backend::Sqlite => name(sheet_seq),
        Backend::Postgres => pg_name(sheet_seq),
    };
    catalog_has(conn, &name)
}

/// Builds the sheet's search index unless it exists. The sheet number is an integer from
/// the database, never text from a request.
pub fn build(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<()> {
    if exists(conn, sheet_seq)? {
        return Ok(());
    }
    match backend_of(conn) {
        Backend::Postgres => {
            super::indexer::drop_invalid(conn, &pg_name(sheet_seq))?;
            conn.batch_execute(&format!(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON records \
             USING gin (wharf_search_text(vals) gin_trgm_ops) WHERE sheet_seq = {sheet_seq}",
                pg_name(sheet_seq)
            ))
        }
        // One write transaction: writes before it are in the backfill, writes after it
        // see the table and fill it themselves. Deletes (cascades too) go by trigger.
        Backend::Sqlite => crate::db::write_tx(conn, |conn| {
            let t = name(sheet_seq);
            conn.batch_execute(&format!(
                "CREATE VIRTUAL TABLE {t} USING fts5(body, content='', contentless_delete=1, \
                     detail='none', tokenize='trigram case_sensitive 1');
                 INSERT INTO {t}(rowid, body) SELECT id, wharf_search_text(vals) FROM records \
                     WHERE sheet_seq = {sheet_seq};
                 CREATE TRIGGER {t}_delete AFTER DELETE ON records WHEN old.sheet_seq = {sheet_seq} \
                     BEGIN DELETE FROM {t} WHERE rowid = old.id; END;"
            ))
        }),
    }
}

/// Adds newly inserted records (ids `first..=last` of one sheet, written by this
/// transaction alone) to the sheet's SQLite search index, when it has one: one statement
/// for the batch (an FTS5 insert per row from a trigger would flush a segment per row).
pub fn index_inserted(conn: &mut AnyConnection, sheet_seq: i64, first: i64, last: i64) -> QueryResult<()> {
    if !matches!(conn, AnyConnection::Sqlite(_)) || !exists(conn, sheet_seq)? {
        return Ok(());
    }
    let t = name(sheet_seq);
    crate::on_backend!(conn, c => diesel::sql_query(format!(
        "INSERT INTO {t}(rowid, body) SELECT id, wharf_search_text(vals) FROM records \
         WHERE sheet_seq = {sheet_seq} AND id BETWEEN ? AND ?"
    ))
    .bind::<BigInt, _>(first)
    .bind::<BigInt, _>(last)
    .execute(c))?;
    Ok(())
}

/// Brings the sheet's SQLite search index in step with some records' changed values.
pub fn reindex(conn: &mut AnyConnection, sheet_seq: i64, ids: &[i64]) -> QueryResult<()> {
    if !matches!(conn, AnyConnection::Sqlite(_)) || !exists(conn, sheet_seq)? {
        return Ok(());
    }
    let t = name(sheet_seq);
    for chunk in ids.chunks(5000) {
        let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        conn.batch_execute(&format!(
            "DELETE FROM {t} WHERE rowid IN ({list});
             INSERT INTO {t}(rowid, body) SELECT id, wharf_search_text(vals) FROM records WHERE id IN ({list});"
        ))?;
    }
    Ok(())
}

//! A sheet's search index, built in the background (`workers::indexes`) on the sheet's
//! first search: on SQLite an FTS5 trigram table of its own (contentless: the exact check
//! reads the record), filled in short batches; on PostgreSQL a partial `pg_trgm` GIN index.
//! Once it exists, the sheet's writes keep it in their own transaction (PostgreSQL does so
//! by itself); reads use it once it is complete.

use super::indexes::catalog_has;
use crate::db::schema::{records, search_backfills};
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

/// Whether the sheet's search index is complete, so reads may use it.
pub fn exists(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<bool> {
    match backend_of(conn) {
        Backend::Sqlite => Ok(table_exists(conn, sheet_seq)? && backfilled_upto(conn, sheet_seq)?.is_none()),
        Backend::Postgres => catalog_has(conn, &pg_name(sheet_seq)),
    }
}

/// Whether the sheet's SQLite FTS table exists (complete or still being filled): from then
/// on the sheet's writes keep it.
fn table_exists(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<bool> {
    catalog_has(conn, &name(sheet_seq))
}

/// While the sheet's index is being filled: (records done up to, the last record the
/// filling covers). Records after that index themselves as they are written.
fn backfilled_upto(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<Option<(i64, i64)>> {
    search_backfills::table
        .find(sheet_seq)
        .select((search_backfills::done_upto, search_backfills::until_id))
        .first(conn)
        .optional()
}

/// Records filled into the index per write transaction: a save waits for one batch at most.
const BACKFILL_BATCH: i64 = 5000;

/// Builds the sheet's search index unless it exists. The sheet number is an integer from
/// the database, never text from a request.
pub fn build(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<()> {
    match backend_of(conn) {
        Backend::Postgres => {
            if exists(conn, sheet_seq)? {
                return Ok(());
            }
            super::indexes::drop_invalid(conn, &pg_name(sheet_seq))?;
            conn.batch_execute(&format!(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON records \
             USING gin (wharf_search_text(vals) gin_trgm_ops) WHERE sheet_seq = {sheet_seq}",
                pg_name(sheet_seq)
            ))
        }
        Backend::Sqlite => {
            create_sqlite_table(conn, sheet_seq)?;
            // Then filled batch by batch, each its own short write transaction (one
            // transaction for a million records held every writer for seconds). A build cut
            // off by a stop resumes here at the next request.
            while crate::db::write_tx(conn, |conn| backfill_batch(conn, sheet_seq))? {}
            Ok(())
        }
    }
}

/// Creates the empty FTS table, its delete trigger and the note of what is left to fill,
/// in one short write transaction; records written from then on index themselves.
fn create_sqlite_table(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<()> {
    crate::db::write_tx(conn, |conn| {
        if table_exists(conn, sheet_seq)? {
            return Ok(());
        }
        let t = name(sheet_seq);
        conn.batch_execute(&format!(
            "CREATE VIRTUAL TABLE {t} USING fts5(body, content='', contentless_delete=1, \
                 detail='none', tokenize='trigram case_sensitive 1');
             CREATE TRIGGER {t}_delete AFTER DELETE ON records WHEN old.sheet_seq = {sheet_seq} \
                 BEGIN DELETE FROM {t} WHERE rowid = old.id; END;"
        ))?;
        let until: Option<i64> = records::table
            .filter(records::sheet_seq.eq(sheet_seq))
            .select(diesel::dsl::max(records::id))
            .first(conn)?;
        diesel::insert_into(search_backfills::table)
            .values((
                search_backfills::sheet_seq.eq(sheet_seq),
                search_backfills::done_upto.eq(0),
                search_backfills::until_id.eq(until.unwrap_or(0)),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Fills the next batch; false once the index is complete (and says so by forgetting the
/// backfill).
fn backfill_batch(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<bool> {
    let Some((done, until)) = backfilled_upto(conn, sheet_seq)? else {
        return Ok(false);
    };
    let last: Option<i64> = records::table
        .filter(records::sheet_seq.eq(sheet_seq))
        .filter(records::id.gt(done))
        .filter(records::id.le(until))
        .order(records::id.asc())
        .offset(BACKFILL_BATCH - 1)
        .select(records::id)
        .first(conn)
        .optional()?;
    let upto = last.unwrap_or(until);
    if upto > done {
        crate::on_backend!(conn, c => diesel::sql_query(format!(
            "INSERT INTO {}(rowid, body) SELECT id, wharf_search_text(vals) FROM records \
             WHERE sheet_seq = {sheet_seq} AND id > ? AND id <= ?",
            name(sheet_seq)
        ))
        .bind::<BigInt, _>(done)
        .bind::<BigInt, _>(upto)
        .execute(c))?;
    }
    if upto >= until {
        diesel::delete(search_backfills::table.find(sheet_seq)).execute(conn)?;
        return Ok(false);
    }
    diesel::update(search_backfills::table.find(sheet_seq))
        .set(search_backfills::done_upto.eq(upto))
        .execute(conn)?;
    Ok(true)
}

/// Adds newly inserted records (ids `first..=last` of one sheet, written by this
/// transaction alone) to the sheet's SQLite search index, when it has one: one statement
/// for the batch (an FTS5 insert per row from a trigger would flush a segment per row).
pub fn index_inserted(conn: &mut AnyConnection, sheet_seq: i64, first: i64, last: i64) -> QueryResult<()> {
    if !matches!(conn, AnyConnection::Sqlite(_)) || !table_exists(conn, sheet_seq)? {
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
/// Records the backfill has yet to reach are left to it: it reads their values then.
pub fn reindex(conn: &mut AnyConnection, sheet_seq: i64, ids: &[i64]) -> QueryResult<()> {
    if !matches!(conn, AnyConnection::Sqlite(_)) || !table_exists(conn, sheet_seq)? {
        return Ok(());
    }
    let ids: Vec<i64> = match backfilled_upto(conn, sheet_seq)? {
        Some((done, until)) => ids
            .iter()
            .copied()
            .filter(|id| *id <= done || *id > until)
            .collect(),
        None => ids.to_vec(),
    };
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

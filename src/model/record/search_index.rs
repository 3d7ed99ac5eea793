//! A sheet's search index, built in the background (`workers::indexes`) on the sheet's
//! first search: on SQLite an FTS5 trigram table of its own (contentless: the exact check
//! reads the record), filled in short batches; on PostgreSQL a partial `pg_trgm` GIN index.
//! Once it exists, reads use it once it is complete. PostgreSQL keeps it in each write's
//! transaction by itself. On SQLite inserts and small writes keep it in their own
//! transaction; bigger updates and deletes note their records in `search_pending`, which
//! searches read beside the index until [`catch_up_step`] brings it up to date once the
//! sheet's writes pause.
//!
//! The FTS5 table merges its segments only when asked ([`merge_step`], run by
//! `workers::indexes` once the sheet's writes pause), not a little on every write: FTS5's
//! default "automerge" made re-indexing a changed record cost about 40 us, two thirds of it
//! merging, in the middle of a bulk change. FTS5 still merges by itself when a level holds
//! 16 segments, which bounds what a search reads meanwhile.

use super::indexes::catalog_has;
use crate::db::schema::{records, search_backfills, search_pending};
use crate::db::{backend_of, AnyConnection, Backend};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

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
            // A sheet deleted while its build waited gets none (a stray index stayed until
            // the next sweep of orphans: probe 55b L1).
            if exists(conn, sheet_seq)? || !crate::model::sheet::exists(conn, sheet_seq)? {
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
            if !create_sqlite_table(conn, sheet_seq)? {
                return Ok(());
            }
            // Then filled batch by batch, each its own short write transaction (one
            // transaction for a million records held every writer for seconds). A build cut
            // off by a stop resumes here at the next request.
            while crate::db::write_tx(conn, |conn| backfill_batch(conn, sheet_seq))? {}
            merge_later(conn, sheet_seq)
        }
    }
}

/// Creates the empty FTS table, its delete trigger and the note of what is left to fill,
/// in one short write transaction; records written from then on index themselves. False
/// when the sheet is gone.
fn create_sqlite_table(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<bool> {
    crate::db::write_tx(conn, |conn| {
        // A sheet deleted while its build waited gets none; read in the write turn, so a
        // delete cannot slip in between.
        if !crate::model::sheet::exists(conn, sheet_seq)? {
            return Ok(false);
        }
        if table_exists(conn, sheet_seq)? {
            return Ok(true);
        }
        let t = name(sheet_seq);
        conn.batch_execute(&format!(
            "CREATE VIRTUAL TABLE {t} USING fts5(body, content='', contentless_delete=1, \
                 detail='none', tokenize='trigram case_sensitive 1');
             INSERT INTO {t}({t}, rank) VALUES('automerge', 0);"
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
        Ok(true)
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
    merge_later(conn, sheet_seq)
}

/// Writes of at most this many records bring the SQLite search index up to date in their
/// own transaction (a few ms); bigger ones leave it to the background. People's edits
/// then never pile up as pending on a sheet whose writes never pause.
const REINDEX_AT_ONCE: usize = 500;

/// Brings the sheet's SQLite search index in step with records whose shown text changed:
/// at once for a few ([`REINDEX_AT_ONCE`]); more are noted as waiting (`search_pending`),
/// and searches read them beside the index until [`catch_up_step`] brings it up to date
/// once the sheet's writes pause. Rewriting the index inside a bulk change cost it a third
/// of its time (FTS5 deletes and inserts about 40 us a record), holding SQLite's one write
/// lock meanwhile. Records the backfill has yet to reach are left to it: it reads their
/// values then.
pub fn reindex(conn: &mut AnyConnection, sheet_seq: i64, ids: &[i64]) -> QueryResult<()> {
    if !matches!(conn, AnyConnection::Sqlite(_)) || ids.is_empty() || !table_exists(conn, sheet_seq)? {
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
    match ids.len() {
        0 => Ok(()),
        n if n <= REINDEX_AT_ONCE => {
            rewrite(conn, sheet_seq, &ids)?;
            merge_later(conn, sheet_seq)
        }
        _ => note_pending(conn, sheet_seq, &ids),
    }
}

/// Deleted records leave the sheet's SQLite search index the same way: a few at once, more
/// noted and taken out by [`catch_up_step`]. Until then the index may name them, and a
/// search reads only the records its index names that exist (record ids are never reused).
pub fn unindex_deleted(conn: &mut AnyConnection, sheet_seq: i64, ids: &[i64]) -> QueryResult<()> {
    if !matches!(conn, AnyConnection::Sqlite(_)) || ids.is_empty() || !table_exists(conn, sheet_seq)? {
        return Ok(());
    }
    match ids.len() <= REINDEX_AT_ONCE {
        true => {
            rewrite(conn, sheet_seq, ids)?;
            merge_later(conn, sheet_seq)
        }
        false => note_pending(conn, sheet_seq, ids),
    }
}

/// Takes records out of the sheet's FTS table and puts back the text of those that exist.
/// (The caller marks the index for merging, or not: a catch-up must not put itself off.)
fn rewrite(conn: &mut AnyConnection, sheet_seq: i64, ids: &[i64]) -> QueryResult<()> {
    let t = name(sheet_seq);
    // Integers from the database, never text from a request.
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    conn.batch_execute(&format!(
        "DELETE FROM {t} WHERE rowid IN ({list});
         INSERT INTO {t}(rowid, body) SELECT id, wharf_search_text(vals) FROM records \
         WHERE sheet_seq = {sheet_seq} AND id IN ({list});"
    ))
}

/// Rows per statement noting pending records: 2 parameters each.
const NOTE_CHUNK: usize = 5000;

fn note_pending(conn: &mut AnyConnection, sheet_seq: i64, ids: &[i64]) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    for chunk in ids.chunks(NOTE_CHUNK) {
        // Integers from the database, never text from a request.
        let rows = chunk
            .iter()
            .map(|id| format!("({sheet_seq},{id})"))
            .collect::<Vec<_>>()
            .join(",");
        conn.batch_execute(&format!(
            "INSERT OR IGNORE INTO search_pending (sheet_seq, record_id) VALUES {rows}"
        ))?;
    }
    merge_later(conn, sheet_seq)
}

/// Records brought into the index per [`catch_up_step`]: a short write transaction.
const CATCH_UP_BATCH: i64 = 5000;

/// Brings some of the sheet's pending records into its SQLite search index (their old
/// entries out, their text as it is now in, the deleted ones only out), in one write
/// transaction; false once none are pending.
pub fn catch_up_step(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<bool> {
    if !matches!(conn, AnyConnection::Sqlite(_)) {
        return Ok(false);
    }
    crate::db::write_tx(conn, |conn| {
        let ids: Vec<i64> = search_pending::table
            .filter(search_pending::sheet_seq.eq(sheet_seq))
            .order(search_pending::record_id.asc())
            .limit(CATCH_UP_BATCH)
            .select(search_pending::record_id)
            .load(conn)?;
        let (Some(first), Some(last)) = (ids.first().copied(), ids.last().copied()) else {
            return Ok(false);
        };
        if table_exists(conn, sheet_seq)? {
            rewrite(conn, sheet_seq, &ids)?;
        }
        diesel::delete(
            search_pending::table
                .filter(search_pending::sheet_seq.eq(sheet_seq))
                .filter(search_pending::record_id.between(first, last)),
        )
        .execute(conn)?;
        Ok(true)
    })
}

/// The sheets whose SQLite search index is still being filled (a build a stop cut off).
pub fn unfinished(conn: &mut AnyConnection) -> QueryResult<Vec<i64>> {
    if !matches!(conn, AnyConnection::Sqlite(_)) {
        return Ok(Vec::new());
    }
    search_backfills::table
        .select(search_backfills::sheet_seq)
        .load(conn)
}

/// The sheets with records waiting for their search index (SQLite): after a restart they
/// are due for [`catch_up_step`] again.
pub fn sheets_pending(conn: &mut AnyConnection) -> QueryResult<Vec<i64>> {
    if !matches!(conn, AnyConnection::Sqlite(_)) {
        return Ok(Vec::new());
    }
    let seqs: Vec<i64> = search_pending::table
        .select(search_pending::sheet_seq)
        .distinct()
        .load(conn)?;
    for seq in &seqs {
        merge_later(conn, *seq)?;
    }
    Ok(seqs)
}

/// Sheets whose SQLite search index was written to, by database file, with when their
/// records were last written and whether a merge is running: their segments are merged once
/// the writes pause. (By file: one process may run several applications, each on its own
/// database, as the tests do.)
static MERGES_DUE: LazyLock<Mutex<HashMap<(String, i64), Due>>> = LazyLock::new(Default::default);

#[derive(Debug, Clone, Copy)]
struct Due {
    last_write: Instant,
    merging: bool,
    /// When a merge step last ran (or the merge became due): while the writes never
    /// pause, a step is owed every [`merges_owed`]'s `every`.
    last_step: Instant,
}

fn merges() -> std::sync::MutexGuard<'static, HashMap<(String, i64), Due>> {
    MERGES_DUE.lock().unwrap_or_else(|p| p.into_inner())
}

fn merge_later(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<()> {
    let file = database_file(conn)?;
    let mut due = merges();
    let entry = due.entry((file, sheet_seq)).or_insert(Due {
        last_write: Instant::now(),
        merging: false,
        last_step: Instant::now(),
    });
    entry.last_write = Instant::now();
    Ok(())
}

/// Any write of the sheet's records puts off a merge due on its search index (which would
/// otherwise compete with a bulk change that leaves the index as it is for the write lock).
pub fn postpone_merge(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<()> {
    // Most writes find no merge due anywhere, and need not ask which file they are on.
    if !matches!(conn, AnyConnection::Sqlite(_)) || merges().is_empty() {
        return Ok(());
    }
    let file = database_file(conn)?;
    if let Some(entry) = merges().get_mut(&(file, sheet_seq)) {
        entry.last_write = Instant::now();
    }
    Ok(())
}

/// The file of the SQLite database a connection is open on.
pub fn database_file(conn: &mut AnyConnection) -> QueryResult<String> {
    #[derive(QueryableByName)]
    struct File {
        #[diesel(sql_type = diesel::sql_types::Text)]
        file: String,
    }
    crate::on_backend!(conn, c => diesel::sql_query("SELECT file FROM pragma_database_list WHERE name = 'main'")
        .get_result::<File>(c))
    .map(|f| f.file)
}

/// The sheets of the database in `file` whose records have not been written for `quiet`
/// since a write left their search index to merge; each is handed out once per pause, and
/// is merging until [`merge_ended`].
pub fn merges_due(file: &str, quiet: Duration) -> Vec<i64> {
    hand_out(file, |entry| entry.last_write.elapsed() >= quiet)
}

/// The sheets of `file` not merging whose entry `pick`s them, marked as merging.
fn hand_out(file: &str, pick: impl Fn(&Due) -> bool) -> Vec<i64> {
    let mut due = merges();
    let mut out = Vec::new();
    for ((f, seq), entry) in due.iter_mut() {
        if f == file && !entry.merging && pick(entry) {
            entry.merging = true;
            out.push(*seq);
        }
    }
    out
}

/// The sheets of the database in `file` whose records are written without a pause, and
/// whose last merge step is `every` ago: each is handed out for one step (then
/// [`step_taken`]). FTS5 merges a level by itself once it holds 16 segments, inside
/// whichever commit adds the 16th: when a level holds the big segments of a
/// million-record build, that commit held SQLite's write lock 5.6 s (a catch-up step after
/// a bulk delete, in `bench/bulk.rs`), and every save waited. A step now and then keeps
/// the levels short, one short write transaction at a time.
pub fn merges_owed(file: &str, every: Duration) -> Vec<i64> {
    hand_out(file, |entry| entry.last_step.elapsed() >= every)
}

/// A step handed out by [`merges_owed`] ran (or failed): the next is owed `every` later.
pub fn step_taken(file: &str, sheet_seq: i64) {
    if let Some(entry) = merges().get_mut(&(file.to_string(), sheet_seq)) {
        entry.merging = false;
        entry.last_step = Instant::now();
    }
}

/// Whether the sheet's records are still unwritten for `quiet`: a merge goes on only while
/// they are.
pub fn still_quiet(file: &str, sheet_seq: i64, quiet: Duration) -> bool {
    merges()
        .get(&(file.to_string(), sheet_seq))
        .is_none_or(|e| e.last_write.elapsed() >= quiet)
}

/// A merge handed out by [`merges_due`] stopped: `finished` when nothing was left to
/// merge as of `started`; otherwise it is due again after the next pause.
pub fn merge_ended(file: &str, sheet_seq: i64, finished: bool, started: Instant) {
    let mut due = merges();
    let key = (file.to_string(), sheet_seq);
    let written_since = due.get(&key).is_some_and(|e| e.last_write > started);
    match (finished && !written_since, due.get_mut(&key)) {
        (true, _) => {
            due.remove(&key);
        }
        (false, Some(entry)) => {
            entry.merging = false;
            entry.last_step = Instant::now();
        }
        (false, None) => {}
    }
}

/// Pages of merged segments one [`merge_step`] writes: a short write transaction.
const MERGE_PAGES: i64 = 500;

/// Merges some of the sheet's search-index segments (SQLite); false once there is nothing
/// left to merge, or no index. FTS5 says a merge did work when it changed two rows or more.
pub fn merge_step(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Changes {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    if !matches!(conn, AnyConnection::Sqlite(_)) {
        return Ok(false);
    }
    let t = name(sheet_seq);
    crate::db::write_tx(conn, |conn| {
        if !table_exists(conn, sheet_seq)? {
            return Ok(false);
        }
        let AnyConnection::Sqlite(c) = conn else {
            unreachable!("checked above")
        };
        let changes = |c: &mut diesel::SqliteConnection| {
            diesel::sql_query("SELECT total_changes() AS n")
                .get_result::<Changes>(c)
                .map(|r| r.n)
        };
        // Tables made before merges moved to the background still merge on every write.
        c.batch_execute(&format!("INSERT INTO {t}({t}, rank) VALUES('automerge', 0)"))?;
        let before = changes(c)?;
        c.batch_execute(&format!(
            "INSERT INTO {t}({t}, rank) VALUES('merge', {MERGE_PAGES})"
        ))?;
        Ok(changes(c)? - before >= 2)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::Connection;

    /// A write of the sheet's records puts off a merge, whether it is due or running; a
    /// merge cut short is due again after the next pause.
    #[test]
    fn writes_put_merges_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("merges.db");
        let mut conn =
            AnyConnection::Sqlite(diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap());
        let file = database_file(&mut conn).unwrap();
        let quiet = Duration::from_millis(100);
        merge_later(&mut conn, 7).unwrap();
        assert!(merges_due(&file, quiet).is_empty(), "not quiet yet");
        std::thread::sleep(quiet);
        postpone_merge(&mut conn, 7).unwrap();
        assert!(merges_due(&file, quiet).is_empty(), "a write put it off");
        std::thread::sleep(quiet);
        assert_eq!(merges_due(&file, quiet), vec![7]);
        assert!(merges_due(&file, quiet).is_empty(), "handed out once");
        let started = Instant::now();
        assert!(still_quiet(&file, 7, quiet));
        postpone_merge(&mut conn, 7).unwrap();
        assert!(!still_quiet(&file, 7, quiet), "a write while it merges stops it");
        merge_ended(&file, 7, false, started);
        std::thread::sleep(quiet);
        assert_eq!(merges_due(&file, quiet), vec![7], "due again after the pause");
        merge_ended(&file, 7, true, Instant::now());
        std::thread::sleep(quiet);
        assert!(merges_due(&file, quiet).is_empty(), "done");
        // A sheet with no merge due is not put on the list by a write.
        postpone_merge(&mut conn, 8).unwrap();
        std::thread::sleep(quiet);
        assert!(merges_due(&file, quiet).is_empty());
    }

    /// A sheet written without a pause still gets a merge step every so often, one at a
    /// time; a sheet with nothing to merge gets none.
    #[test]
    fn writes_without_a_pause_still_owe_steps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("owed.db");
        let mut conn =
            AnyConnection::Sqlite(diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap());
        let file = database_file(&mut conn).unwrap();
        let every = Duration::from_millis(150);
        merge_later(&mut conn, 9).unwrap();
        assert!(merges_owed(&file, every).is_empty(), "not owed yet");
        for _ in 0..4 {
            std::thread::sleep(every / 3);
            postpone_merge(&mut conn, 9).unwrap();
        }
        assert!(merges_due(&file, every).is_empty(), "never quiet");
        assert_eq!(merges_owed(&file, every), vec![9], "owed all the same");
        assert!(merges_owed(&file, every).is_empty(), "handed out once");
        step_taken(&file, 9);
        assert!(merges_owed(&file, every).is_empty(), "the next is owed later");
        std::thread::sleep(every);
        assert_eq!(merges_owed(&file, every), vec![9]);
        step_taken(&file, 9);
        merge_ended(&file, 9, true, Instant::now());
        std::thread::sleep(every);
        assert!(merges_owed(&file, every).is_empty(), "nothing left to merge");
    }
}

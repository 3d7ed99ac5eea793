//! Where files' bytes are held across processes: the data folder (or bucket) recorded for
//! each file, and the deletes of bytes handed over to the process whose folder holds them.

use super::file::File;
use super::now;
use crate::db::schema::files;
use crate::db::AnyConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Leaves the keys of those of `deleted` whose bytes another process's data folder holds
/// (than `here`) for that process to delete ([`handed_to`], [`handed_over_done`]). Called
/// in the transaction that deletes their rows, so no row goes without its bytes' delete.
pub fn hand_over(conn: &mut AnyConnection, deleted: &[File], here: Option<&str>) -> QueryResult<()> {
    for f in deleted.iter().filter(|f| f.held_elsewhere(here)) {
        let holder = f.held_by.clone().unwrap_or_default();
        hand_over_keys(conn, &holder, &[f.rejects_key(), f.storage_key.clone()])?;
    }
    Ok(())
}

/// Leaves `keys` for the process whose data folder is `holder` to delete (the bytes of a
/// file, or the records a Submit froze, whose rows are deleted in the caller's transaction).
pub fn hand_over_keys(conn: &mut AnyConnection, holder: &str, keys: &[String]) -> QueryResult<()> {
    use crate::db::schema::stored_deletes;
    let t = now();
    for key in keys {
        let row = (
            stored_deletes::holder.eq(holder),
            stored_deletes::storage_key.eq(key),
            stored_deletes::created_at.eq(t),
        );
        match conn {
            AnyConnection::Sqlite(c) => diesel::insert_or_ignore_into(stored_deletes::table)
                .values(row)
                .execute(c)?,
            AnyConnection::Postgres(c) => diesel::insert_into(stored_deletes::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(c)?,
        };
    }
    Ok(())
}

/// Records `holder` as the folder of those of `ids` that record none (files uploaded before
/// folders had ids); how many.
pub fn claim_unrecorded(conn: &mut AnyConnection, ids: &[String], holder: &str) -> QueryResult<usize> {
    let mut claimed = 0;
    for chunk in ids.chunks(500) {
        // Its turn among SQLite's writers, as a request's: a bare statement gave up after
        // the busy timeout beside a job resumed at start (probe 61b D1).
        claimed += crate::db::write_tx(conn, |conn| {
            diesel::update(
                files::table
                    .filter(files::held_by.is_null())
                    .filter(files::id.eq_any(chunk)),
            )
            .set(files::held_by.eq(holder))
            .execute(conn)
        })?;
    }
    Ok(claimed)
}

/// Of the files `ids` (whose bytes a folder holds), how many each other folder than
/// `holder` is recorded as holding: a folder whose `holder-id` was lost, or restored from
/// a backup without it, holds files recorded under its old id.
pub fn recorded_elsewhere(
    conn: &mut AnyConnection,
    ids: &[String],
    holder: &str,
) -> QueryResult<Vec<(String, i64)>> {
    let mut counts = std::collections::BTreeMap::<String, i64>::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<Option<String>> = files::table
            .filter(files::id.eq_any(chunk))
            .filter(files::held_by.ne(holder))
            .select(files::held_by)
            .load(conn)?;
        for other in rows.into_iter().flatten() {
            *counts.entry(other).or_default() += 1;
        }
    }
    Ok(counts.into_iter().collect())
}

/// How many files are kept where a process keeping its own in `holder` cannot read them,
/// by where: for a process without a bucket, files in any bucket; for one with a bucket,
/// files in data folders or in another bucket. (Processes without a bucket each hold what
/// they received, by design; a mix of the two kinds, or of buckets, is a mistake.)
pub fn kept_where_unreadable(conn: &mut AnyConnection, holder: &str) -> QueryResult<Vec<(String, i64)>> {
    let counts: Vec<(Option<String>, i64)> = files::table
        .filter(files::held_by.ne(holder))
        .group_by(files::held_by)
        .select((files::held_by, diesel::dsl::count_star()))
        .load(conn)?;
    let here_bucket = crate::storage::is_bucket(holder);
    Ok(counts
        .into_iter()
        .filter_map(|(h, n)| h.map(|h| (h, n)))
        .filter(|(h, _)| here_bucket || crate::storage::is_bucket(h))
        .collect())
}

/// A few of the stored keys recorded as held by `holder`: asked of this process's store at
/// start, to tell a bucket named another way (another endpoint's spelling) from one it
/// cannot read.
pub fn some_keys_held_by(conn: &mut AnyConnection, holder: &str) -> QueryResult<Vec<String>> {
    files::table
        .filter(files::held_by.eq(holder))
        .order(files::id.desc())
        .select(files::storage_key)
        .limit(3)
        .load(conn)
}

/// How many handed-over deletes have waited since before `since` for folders other than
/// `holder`, and which folders: a folder no running process has.
pub fn handed_over_waiting(
    conn: &mut AnyConnection,
    holder: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<(String, i64)>> {
    use crate::db::schema::stored_deletes;
    stored_deletes::table
        .filter(stored_deletes::holder.ne(holder))
        .filter(stored_deletes::created_at.lt(since))
        .group_by(stored_deletes::holder)
        .select((stored_deletes::holder, diesel::dsl::count_star()))
        .load(conn)
}

/// Keys handed over to data folder `holder` to delete, oldest first.
pub fn handed_to(conn: &mut AnyConnection, holder: &str, limit: i64) -> QueryResult<Vec<String>> {
    use crate::db::schema::stored_deletes;
    stored_deletes::table
        .filter(stored_deletes::holder.eq(holder))
        .order((stored_deletes::created_at, stored_deletes::storage_key))
        .select(stored_deletes::storage_key)
        .limit(limit)
        .load(conn)
}

/// A handed-over key whose bytes are gone.
pub fn handed_over_done(conn: &mut AnyConnection, holder: &str, key: &str) -> QueryResult<()> {
    use crate::db::schema::stored_deletes;
    diesel::delete(
        stored_deletes::table
            .filter(stored_deletes::holder.eq(holder))
            .filter(stored_deletes::storage_key.eq(key)),
    )
    .execute(conn)?;
    Ok(())
}

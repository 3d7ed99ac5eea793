//! The queue of built-in jobs: claims by the in-server workers, heartbeats, one attempt's
//! ending and undoing fenced against the next, the PostgreSQL advisory locks that tell a
//! running job from an orphan, and putting orphans back.

use super::job::{finish, get, status, Job};
use super::{now, ModelError, ModelResult};
use crate::db::schema::jobs;
use crate::db::{AnyConnection, Backend};
use crate::ids::JobId;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

/// Whether Wharf runs a job of this type, operation and config itself (no listener does).
pub fn built_in(job_type: &str, operation: &str, config: &str) -> bool {
    matches!(
        (job_type, operation),
        ("file", "extract")
            | ("workbook", "map")
            | ("workbook", "delete-records" | "bulk-change")
            | ("sheet", "recheck-records")
    ) || super::submission::deliver_to(job_type, operation, config).is_some()
}

/// Operations the in-server workers run (as [`Job::is_built_in`]): a Submit is Wharf's when
/// its config names a webhook (`deliverTo`, written by serde_json without spaces).
const BUILT_IN: &str =
    "((job_type = 'file' AND operation = 'extract') OR (job_type = 'workbook' AND operation IN ('map', 'delete-records', 'bulk-change')) \
     OR (job_type = 'sheet' AND operation = 'recheck-records') \
     OR (job_type IN ('workbook', 'sheet') AND operation = 'submit' AND config LIKE '%\"deliverTo\":\"%'))";

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// Takes the oldest ready built-in job for `worker`. On PostgreSQL several processes share
/// the queue (`FOR UPDATE SKIP LOCKED`); SQLite's single writer makes the one statement
/// atomic.
pub fn claim(conn: &mut AnyConnection, worker: &str, except: &[JobId]) -> QueryResult<Option<Job>> {
    use diesel::sql_types::{Text, Timestamp};
    // Ids are generated (`us_jb_` and letters and digits), so they are safe as literals.
    let except: Vec<String> = except
        .iter()
        .filter(|id| {
            id.as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        .map(|id| format!("'{}'", id.as_str()))
        .collect();
    let except = if except.is_empty() {
        String::new()
    } else {
        format!(" AND id NOT IN ({})", except.join(","))
    };
    let lock = match crate::db::backend_of(conn) {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET status = 'executing', claimed_by = $1, heartbeat_at = $2, \
         started_at = COALESCE(started_at, $2), attempts = attempts + 1, updated_at = $2 \
         WHERE id = (SELECT id FROM jobs WHERE status = 'ready' AND {BUILT_IN}{except} \
         ORDER BY created_at, id LIMIT 1{lock}) RETURNING id"
    );
    let t = now();
    let claimed: Vec<Claimed> = crate::db::write(conn, |conn| {
        crate::on_backend!(conn, c => diesel::sql_query(&sql)
            .bind::<Text, _>(worker)
            .bind::<Timestamp, _>(t)
            .load(c))
    })?;
    match claimed.into_iter().next() {
        Some(c) => get(conn, &JobId(c.id)).map(Some),
        None => Ok(None),
    }
}

/// Refreshes the claim; false when the job is no longer this worker's to run (canceled,
/// failed by a listener, or taken over). The claim is this attempt's: a job canceled,
/// retried and claimed again (by this process's other worker, say) is not this one's.
pub fn heartbeat(conn: &mut AnyConnection, job: &Job, worker: &str) -> QueryResult<bool> {
    let n = crate::db::write(conn, |conn| {
        diesel::update(
            jobs::table
                .find(&job.id)
                .filter(jobs::status.eq(status::EXECUTING))
                .filter(jobs::claimed_by.eq(worker))
                .filter(jobs::attempts.eq(job.attempts)),
        )
        .set(jobs::heartbeat_at.eq(now()))
        .execute(conn)
    })?;
    Ok(n == 1)
}

/// Ends an attempt: like [`finish`], but only while the job is still this attempt's
/// (executing, claimed by `worker`, same attempt count). A canceled job that was retried
/// meanwhile belongs to its new attempt, which the old one must neither complete nor fail.
pub fn finish_attempt(
    conn: &mut AnyConnection,
    job: &Job,
    worker: &str,
    final_status: &str,
    outcome: Option<Value>,
    info: Option<String>,
) -> ModelResult<Job> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        let current = get_locked(conn, &job.id)?;
        let ours = current.status == status::EXECUTING
            && current.claimed_by.as_deref() == Some(worker)
            && current.attempts == job.attempts;
        if !ours {
            return Err(ModelError::Conflict(format!(
                "the job is {} and no longer this worker's",
                current.status
            )));
        }
        finish(conn, &current, final_status, outcome, info, &job.created_by)
    })
}

/// Clears this attempt's checkpoint so that it may undo what it wrote, and returns it:
/// `Ok(None)` when the job went to a newer attempt (retried: ready, or already claimed
/// again), which resumes from the checkpoint instead. Deciding and clearing in one
/// transaction is what keeps a cancel and an instant retry from writing a batch twice or
/// losing one. A job deleted meanwhile is this attempt's to undo, with no checkpoint left.
/// What stays in its place is `keep(current)` (an import keeps the records still to take
/// back there, so a stop midway does not lose them).
pub fn release_checkpoint(
    conn: &mut AnyConnection,
    job: &Job,
    keep: impl FnOnce(Option<&str>) -> Option<String>,
) -> ModelResult<Option<Option<String>>> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        let current = match get_locked(conn, &job.id) {
            Ok(c) => c,
            Err(diesel::result::Error::NotFound) => return Ok(Some(None)),
            Err(e) => return Err(e.into()),
        };
        if current.attempts != job.attempts || current.status == status::READY {
            return Ok(None);
        }
        diesel::update(jobs::table.find(&job.id))
            .set(jobs::checkpoint.eq(keep(current.checkpoint.as_deref())))
            .execute(conn)?;
        Ok(Some(current.checkpoint))
    })
}

/// The job, row-locked on PostgreSQL until the transaction ends (SQLite's write
/// transaction holds the whole database already).
fn get_locked(conn: &mut AnyConnection, id: &JobId) -> QueryResult<Job> {
    match conn {
        AnyConnection::Postgres(pg) => jobs::table
            .find(id)
            .select(Job::as_select())
            .for_update()
            .first(pg),
        AnyConnection::Sqlite(_) => get(conn, id),
    }
}

/// Puts a job this attempt claimed back in the queue, untouched, for another process.
pub fn unclaim(conn: &mut AnyConnection, job: &Job, worker: &str) -> QueryResult<bool> {
    let n = crate::db::write(conn, |conn| {
        diesel::update(
            jobs::table
                .find(&job.id)
                .filter(jobs::status.eq(status::EXECUTING))
                .filter(jobs::claimed_by.eq(worker))
                .filter(jobs::attempts.eq(job.attempts)),
        )
        .set((
            jobs::status.eq(status::READY),
            jobs::claimed_by.eq(None::<String>),
            jobs::heartbeat_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
    })?;
    Ok(n == 1)
}

/// Advisory-lock namespace of running jobs on PostgreSQL.
pub const LOCK_SPACE: i32 = 4242;

/// Jobs this process runs now (SQLite has one process; PostgreSQL's advisory locks tell
/// it across processes).
static HELD_HERE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn held_here() -> std::sync::MutexGuard<'static, Vec<String>> {
    HELD_HERE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Marks the job as run by this connection's process until [`let_go`]: on PostgreSQL a
/// session advisory lock, which the server drops by itself when the process dies.
pub fn hold(conn: &mut AnyConnection, id: &JobId) -> QueryResult<()> {
    held_here().push(id.to_string());
    if let AnyConnection::Postgres(c) = conn {
        diesel::sql_query("SELECT pg_advisory_lock($1, hashtext($2))")
            .bind::<diesel::sql_types::Integer, _>(LOCK_SPACE)
            .bind::<diesel::sql_types::Text, _>(id)
            .execute(c)?;
    }
    Ok(())
}

pub fn let_go(conn: &mut AnyConnection, id: &JobId) -> QueryResult<()> {
    {
        let mut held = held_here();
        if let Some(i) = held.iter().position(|h| h == id.as_str()) {
            held.swap_remove(i);
        }
    }
    if let AnyConnection::Postgres(c) = conn {
        diesel::sql_query("SELECT pg_advisory_unlock($1, hashtext($2))")
            .bind::<diesel::sql_types::Integer, _>(LOCK_SPACE)
            .bind::<diesel::sql_types::Text, _>(id)
            .execute(c)?;
    }
    Ok(())
}

/// Whether a worker runs the job now, in this process or (PostgreSQL) another: then it
/// finishes what the job leaves to do itself (a canceled job's take-back), and a sweep
/// doing it too would race it.
pub fn is_held(conn: &mut AnyConnection, id: &JobId) -> QueryResult<bool> {
    if held_here().iter().any(|h| h == id.as_str()) {
        return Ok(true);
    }
    let AnyConnection::Postgres(c) = conn else {
        return Ok(false);
    };
    #[derive(QueryableByName)]
    struct Free {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        free: bool,
    }
    // Taken for the transaction only: free means no session holds it.
    let free: Free = c.transaction(|c| {
        diesel::sql_query("SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS free")
            .bind::<diesel::sql_types::Integer, _>(LOCK_SPACE)
            .bind::<diesel::sql_types::Text, _>(id)
            .get_result(c)
    })?;
    Ok(!free.free)
}

/// Puts back in the queue the built-in jobs whose process stopped while running them.
/// SQLite has one process: at its start, every executing job was cut off. On PostgreSQL a
/// job is orphaned when no session holds its advisory lock; `claimed_before` leaves alone
/// jobs claimed a moment ago, whose worker may not have taken the lock yet.
pub fn release_orphans(conn: &mut AnyConnection, claimed_before: NaiveDateTime) -> QueryResult<usize> {
    use diesel::sql_types::{Integer, Timestamp};
    crate::db::write(conn, |conn| match conn {
        AnyConnection::Sqlite(c) => diesel::sql_query(format!(
            "UPDATE jobs SET status = 'ready', claimed_by = NULL, crashes = crashes + 1 \
             WHERE status = 'executing' AND claimed_by IS NOT NULL AND {BUILT_IN}"
        ))
        .execute(c),
        AnyConnection::Postgres(c) => diesel::sql_query(format!(
            "UPDATE jobs SET status = 'ready', claimed_by = NULL, crashes = crashes + 1 \
             WHERE id IN (SELECT id FROM jobs WHERE status = 'executing' AND claimed_by IS NOT NULL \
             AND {BUILT_IN} AND heartbeat_at < $1 FOR UPDATE SKIP LOCKED) \
             AND pg_try_advisory_xact_lock($2, hashtext(id))"
        ))
        .bind::<Timestamp, _>(claimed_before)
        .bind::<Integer, _>(LOCK_SPACE)
        .execute(c),
    })
}

/// Hands the jobs a stopping process was running back to the queue, without counting a
/// crash against them (see [`release_orphans`], for a process that died instead). A worker
/// still writing a batch loses it: its writes are fenced to its attempt.
pub fn hand_back(conn: &mut AnyConnection, worker: &str) -> QueryResult<usize> {
    crate::db::write(conn, |conn| {
        diesel::update(
            jobs::table
                .filter(jobs::status.eq(status::EXECUTING))
                .filter(jobs::claimed_by.eq(worker)),
        )
        .set((
            jobs::status.eq(status::READY),
            jobs::claimed_by.eq(None::<String>),
            jobs::heartbeat_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
    })
}

/// A mapping maps the records its source sheet holds when it is asked to run, not those
/// written into the source by the time a worker takes it: two sheets mapped into each other
/// at once would otherwise copy each other's new records. The ceiling is kept in the
/// checkpoint as `upto`, which `jobs::map` reads; a source it cannot name now is left to the
/// job, which fails saying why.
///
/// A `delete-records` or `bulk-change` job keeps its sheet's ceiling the same way: a run
/// resumed after a crash selects again, and must leave the records written since the job
/// began (they were not there to be selected).
pub(super) fn fix_map_ceiling(conn: &mut AnyConnection, job: Job) -> QueryResult<Job> {
    use super::{record, sheet};
    use crate::ids::WorkbookId;
    let bounded = job.job_type == "workbook"
        && matches!(job.operation.as_str(), "map" | "delete-records" | "bulk-change");
    if !bounded || job.status != status::READY || job.checkpoint.is_some() {
        return Ok(job);
    }
    let Some(workbook) = WorkbookId::parse(&job.source) else {
        return Ok(job);
    };
    let config: Value = serde_json::from_str(&job.config).unwrap_or(Value::Null);
    let sheets = sheet::list_in_workbook(conn, &workbook)?;
    let named = match job.operation.as_str() {
        "map" => config["sourceSheetId"].as_str(),
        _ => config["sheet"].as_str(),
    };
    let source = match named {
        Some(id) => sheets.iter().find(|s| s.id.as_str() == id),
        None if sheets.len() == 1 => sheets.first(),
        None => None,
    };
    let Some(source) = source else {
        return Ok(job);
    };
    let upto = record::last_id(conn, source.seq)?;
    diesel::update(jobs::table.find(&job.id).filter(jobs::checkpoint.is_null()))
        .set(jobs::checkpoint.eq(serde_json::json!({ "upto": upto }).to_string()))
        .execute(conn)?;
    get(conn, &job.id)
}

//! One run at a time: a person's or guest's start of a foreground action (a press, a guest's
//! job made ready, executed or retried) is refused while a job of the same action at the
//! same place is ready or executing (probe 83b D1: two tabs pressing Submit together handed
//! the listener the same submission twice, and the grid showed only the newest job, so the
//! other could be neither seen nor canceled). Called in the transaction that starts the job.

use super::job::{status, Job, JobInput};
use super::{ModelError, ModelResult};
use crate::db::schema::jobs;
use crate::db::AnyConnection;
use crate::ids::EnvironmentId;
use diesel::prelude::*;
use diesel::sql_types::Text;

/// Wharf's own workbook jobs a person or guest starts: an import, a delete, a bulk change.
pub const OWN_WORKBOOK_JOBS: [&str; 3] = ["map", "delete-records", "bulk-change"];

/// Whether a job of this kind is held to one run at a time when a person or guest starts
/// it: an action's (of a workbook, a sheet or a file) whose mode is foreground, not one of
/// Wharf's own jobs (an import, a delete, a bulk change), which may run side by side.
pub fn held(job_type: &str, operation: &str, mode: &str) -> bool {
    let own = job_type == "workbook" && OWN_WORKBOOK_JOBS.contains(&operation);
    mode == "foreground" && matches!(job_type, "workbook" | "sheet" | "file") && !own
}

/// Refuses (409) a new job while another of its action runs (its maker decides it is held:
/// the action's mode, not the one a caller gives, counts).
pub fn refuse_while_running(conn: &mut AnyConnection, input: &JobInput) -> ModelResult<()> {
    let action = Action {
        environment_id: &input.environment_id,
        job_type: &input.job_type,
        source: &input.source,
        operation: &input.operation,
    };
    refuse(conn, &action, None)
}

/// Refuses (409) running a stored job again (execute, retry) while another of its action runs.
pub fn refuse_rerun_while_running(conn: &mut AnyConnection, j: &Job) -> ModelResult<()> {
    let action = Action {
        environment_id: &j.environment_id,
        job_type: &j.job_type,
        source: &j.source,
        operation: &j.operation,
    };
    refuse(conn, &action, Some(j.id.as_str()))
}

struct Action<'a> {
    environment_id: &'a EnvironmentId,
    job_type: &'a str,
    source: &'a str,
    operation: &'a str,
}

fn refuse(conn: &mut AnyConnection, a: &Action, except: Option<&str>) -> ModelResult<()> {
    // Two starts at once: the second waits here for the first's transaction, then sees its
    // job. (SQLite: the write transaction holds the database's single write lock already.)
    if let AnyConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<Text, _>(format!("job-once:{}:{}:{}", a.job_type, a.source, a.operation))
            .execute(pg)?;
    }
    // Whatever mode it was given: a guest's job of the action made `background` runs it too.
    let running: Option<(String, chrono::NaiveDateTime)> = jobs::table
        .filter(jobs::environment_id.eq(a.environment_id))
        .filter(jobs::job_type.eq(a.job_type))
        .filter(jobs::source.eq(a.source))
        .filter(jobs::operation.eq(a.operation))
        .filter(jobs::status.eq_any([status::READY, status::EXECUTING]))
        .filter(jobs::id.ne(except.unwrap_or_default()))
        .select((jobs::id, jobs::created_at))
        .first(conn)
        .optional()?;
    match running {
        Some((id, at)) => Err(ModelError::Conflict(format!(
            "this action is already running (job {id}, started {} UTC): wait for it to end, or cancel it from its page, /jobs/{id}",
            at.format("%Y-%m-%d %H:%M")
        ))),
        None => Ok(()),
    }
}

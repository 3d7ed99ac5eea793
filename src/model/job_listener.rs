//! What a listener does with a job: asks for it to run, acknowledges it with progress,
//! and acknowledges its outcome.

use super::job::{change_from, get, not_final, status, Job, JobChanges};
use super::{now, ModelError, ModelResult};
use crate::db::AnyConnection;
use chrono::NaiveDateTime;

/// Asks for the job to run: it becomes ready (the in-server workers take built-in
/// operations; others wait for a listener to acknowledge them).
pub fn execute(conn: &mut AnyConnection, job: &Job, actor: &str) -> ModelResult<Job> {
    not_final(job)?;
    if job.status == status::EXECUTING || job.status == status::READY {
        return Ok(job.clone());
    }
    let changes = JobChanges {
        status: Some(status::READY.into()),
        ..Default::default()
    };
    match change_from(conn, job, changes, Some("job:ready"), actor) {
        // Another execute of the same attempt came first: the job is started, as this
        // caller asked, and it hears so as it would have a moment later (probe 61b D2:
        // concurrent executes heard 409 "it is now ready" on PostgreSQL only).
        Err(ModelError::Conflict(why)) => {
            let now = get(conn, &job.id)?;
            let started = now.status == status::READY || now.status == status::EXECUTING;
            match started && now.attempts == job.attempts {
                true => Ok(now),
                false => Err(ModelError::Conflict(why)),
            }
        }
        other => other,
    }
}

/// What a listener's ack reports.
#[derive(Debug, Default)]
pub struct Ack {
    pub info: Option<String>,
    pub progress: Option<i32>,
    pub estimated_completion_at: Option<NaiveDateTime>,
}

/// A listener reports progress; a ready job becomes executing.
pub fn ack(conn: &mut AnyConnection, job: &Job, ack: Ack, actor: &str) -> ModelResult<Job> {
    not_final(job)?;
    let starting = job.status != status::EXECUTING;
    let changes = JobChanges {
        status: starting.then(|| status::EXECUTING.into()),
        started_at: (starting && job.started_at.is_none()).then(|| Some(now())),
        progress: ack.progress,
        info: ack.info.map(Some),
        estimated_completion_at: ack.estimated_completion_at.map(Some),
        ..Default::default()
    };
    match change_from(conn, job, changes.clone(), Some("job:updated"), actor) {
        // Another ack of the same attempt started it first: this one reports progress of
        // the executing job, as it would have a moment later (probe 66a D1: a listener's
        // progress tick that lost this race failed its whole job).
        Err(ModelError::Conflict(why)) if starting => {
            let now = get(conn, &job.id)?;
            if now.status != status::EXECUTING || now.attempts != job.attempts {
                return Err(ModelError::Conflict(why));
            }
            let again = JobChanges {
                status: None,
                started_at: None,
                ..changes
            };
            change_from(conn, &now, again, Some("job:updated"), actor)
        }
        other => other,
    }
}

/// Someone saw the job's outcome: once it has one (a job still running has none), and once
/// (a repeat answers the job as it is, with no second event).
pub fn ack_outcome(conn: &mut AnyConnection, job: &Job, actor: &str) -> ModelResult<Job> {
    if !job.is_final() {
        return Err(ModelError::Conflict(format!(
            "the job is {}; its outcome can be acknowledged once it has ended",
            job.status
        )));
    }
    if job.outcome_acknowledged_at.is_some() {
        return Ok(job.clone());
    }
    let changes = JobChanges {
        outcome_acknowledged_at: Some(Some(now())),
        ..Default::default()
    };
    change_from(conn, job, changes, Some("job:outcome-acknowledged"), actor)
}

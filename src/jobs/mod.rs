//! The in-server workers: they claim ready built-in jobs (`file:extract`, `workbook:map`)
//! from the persisted queue and run them, reporting progress on the job as they go.
//!
//! A job cut off by a crash keeps status `executing`; it is put back in the queue and runs
//! again: on SQLite (one process owns the database) when the server starts; on PostgreSQL
//! (several processes share the queue) as soon as no session holds the job's advisory lock,
//! which the database drops when the process that ran it dies. An extraction starts over on
//! a fresh workbook; a mapping resumes after the last batch it committed; so no record is
//! lost or written twice. The workers run on a narrow [`Context`] (pool, storage, indexer,
//! queue, and an [`Announce`] the web implements), never on the web's state.

pub mod bulk_change;
pub mod delete;
pub mod extract;
mod extract_batches;
mod extract_open;
mod extract_turn;
pub mod guard;
pub mod map;
mod map_fields;
mod map_readings;
mod map_row;
pub mod plan;
mod plan_unseen;
mod plan_values;
pub mod recheck;
pub mod submit;
pub mod take_back;

use crate::db::{AnyConnection, Backend, Pool};
use crate::ids::{JobId, SheetId, SpaceId};
use crate::model::job::{self, Job, JobChanges};
use crate::model::{file, now, ModelError};
use crate::storage::Storage;
use crate::workers::indexes::Indexer;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How often PostgreSQL workers look for jobs orphaned by a stopped process.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// A job claimed more recently than this is not yet an orphan (its worker may be about to
/// take the lock).
const CLAIM_GRACE: chrono::Duration = chrono::Duration::seconds(5);
/// Rows written per transaction.
pub const BATCH: usize = 5000;
/// How long a process leaves to the others a job whose file it does not hold.
const LEAVE_FOR: Duration = Duration::from_secs(30);
/// How long a file no process could read waits before its job fails.
const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::minutes(10);

/// Wakes idle workers when a job becomes ready.
#[derive(Clone)]
pub struct Queue {
    signal: Arc<(Mutex<u64>, Condvar)>,
    /// This process's name in job claims.
    pub worker_id: String,
    /// Jobs this process left to others (their file is not in its storage), until when.
    left: Arc<Mutex<HashMap<JobId, Instant>>>,
}

impl Default for Queue {
    fn default() -> Self {
        use rand::distributions::{Alphanumeric, DistString};
        Queue {
            signal: Arc::new((Mutex::new(0), Condvar::new())),
            worker_id: format!("wk_{}", Alphanumeric.sample_string(&mut rand::thread_rng(), 10)),
            left: Arc::default(),
        }
    }
}

impl Queue {
    /// Leaves a job to other processes for a while.
    fn leave(&self, id: &JobId) {
        if let Ok(mut left) = self.left.lock() {
            left.insert(id.clone(), Instant::now() + LEAVE_FOR);
        }
    }

    /// The jobs this process should not claim now.
    fn left_to_others(&self) -> Vec<JobId> {
        let Ok(mut left) = self.left.lock() else {
            return Vec::new();
        };
        let now = Instant::now();
        left.retain(|_, until| *until > now);
        left.keys().cloned().collect()
    }

    pub fn wake(&self) {
        let (lock, cv) = &*self.signal;
        if let Ok(mut n) = lock.lock() {
            *n = n.wrapping_add(1);
        }
        cv.notify_all();
    }

    fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let (lock, cv) = &*self.signal;
        let Ok(guard) = lock.lock() else { return seen };
        match cv.wait_timeout_while(guard, timeout, |n| *n == seen) {
            Ok((n, _)) => *n,
            Err(_) => seen,
        }
    }

    fn current(&self) -> u64 {
        self.signal.0.lock().map(|n| *n).unwrap_or(0)
    }
}

/// Why a job stopped short.
#[derive(Debug)]
pub enum JobError {
    /// The job is no longer this worker's (canceled, or finished by someone else).
    Lost,
    /// It failed, with words for the person who started it.
    Failed(String),
    /// Something unexpected; logged, and shown as a generic failure.
    Internal(anyhow::Error),
}

/// What a person is told of a job's unexpected failure: that the disk is full, when it is,
/// as there is something they can do about that.
pub fn internal_message(e: &anyhow::Error) -> String {
    match crate::disk_full::in_chain(e) {
        true => crate::disk_full::JOB.into(),
        false => "something went wrong on our side; it has been logged".into(),
    }
}

/// In one line, for a log (an internal error's causes, without its backtrace).
impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Lost => f.write_str("the job is no longer this worker's"),
            JobError::Failed(m) => f.write_str(m),
            JobError::Internal(cause) => write!(f, "{cause:#}"),
        }
    }
}

impl From<diesel::result::Error> for JobError {
    fn from(e: diesel::result::Error) -> Self {
        JobError::Internal(e.into())
    }
}

impl From<ModelError> for JobError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::Db(db) => db.into(),
            // Nothing to reload for a job: what it wrote is taken back (or its workbook
            // dropped), and a new run reads the fields as they are.
            ModelError::Stale(m) => JobError::Failed(format!("{m}; run it again")),
            ModelError::Invalid(items) => JobError::Failed(
                items
                    .into_iter()
                    .map(|(k, m)| format!("{k}: {m}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            other => JobError::Failed(other.to_string()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for JobError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        JobError::Internal(anyhow::anyhow!("no database connection: {e}"))
    }
}

/// What the job workers need from the server, and nothing of the web: they run on this
/// alone, so a test can start them without a web server.
#[derive(Clone)]
pub struct Context {
    pub pool: Pool,
    pub storage: Storage,
    pub indexer: Indexer,
    pub queue: Queue,
    pub announce: Arc<dyn Announce>,
    /// Why a Submit may not send the records it froze (counted), as its button's checks
    /// say (drawn, and so judged, by the web layer).
    pub gate: Gate,
}

/// See [`Context::gate`]: `None`, the job may run.
pub type Gate =
    fn(&mut AnyConnection, &Job, crate::model::sheet::Counts) -> crate::model::ModelResult<Option<String>>;

/// How the workers tell whoever shows jobs and sheets that something changed, and learn
/// that the server is gone.
pub trait Announce: Send + Sync {
    /// False once the server stopped: the workers end.
    fn running(&self) -> bool;
    /// A sheet's records changed.
    fn sheet_changed(&self, sheet: &SheetId);
    /// A job moved (status, progress).
    fn job_changed(&self, job: &JobId, space: Option<&SpaceId>);
}

/// Releases jobs cut off by a stopped process, then starts the workers; they stop once
/// `ctx.announce` says the server is gone.
pub fn start(ctx: Context, workers: usize) -> anyhow::Result<()> {
    {
        let mut conn = ctx.pool.get()?;
        let n = job::release_orphans(&mut conn, now() - CLAIM_GRACE)?;
        if n > 0 {
            tracing::warn!(jobs = n, "jobs cut off by a stop run again");
        }
        // Before any worker runs: a new extraction of their file would take their
        // half-made workbook for the earlier one.
        match extract::sweep_stopped(&ctx, &mut conn) {
            Ok(0) => {}
            Ok(n) => tracing::warn!(files = n, "took back extractions a stop cut off"),
            Err(e) => tracing::warn!(error = ?e, "taking back extractions a stop cut off failed"),
        }
    }
    {
        // Take-backs a stop cut off, finished in the background.
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .name("wharf-take-back".into())
            .spawn(move || sweep_take_backs(&ctx))?;
    }
    for i in 0..workers {
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .name(format!("wharf-worker-{i}"))
            .spawn(move || work(ctx))?;
    }
    ctx.queue.wake();
    Ok(())
}

fn work(ctx: Context) {
    let queue = &ctx.queue;
    let mut last_sweep = Instant::now();
    while ctx.announce.running() {
        let seen = queue.current();
        match ctx.pool.get() {
            Ok(mut conn) => {
                // SQLite's orphans were all released at start; PostgreSQL's may appear any
                // time another process stops.
                let postgres = crate::db::backend_of(&conn) == Backend::Postgres;
                if last_sweep.elapsed() > SWEEP_EVERY {
                    last_sweep = Instant::now();
                    if postgres {
                        if let Err(e) = job::release_orphans(&mut conn, now() - CLAIM_GRACE) {
                            tracing::warn!(error = %e, "releasing orphaned jobs failed");
                        }
                    }
                    // Also take-backs a job could not finish itself (the disk was full).
                    sweep_take_backs(&ctx);
                }
                match job::claim(&mut conn, &queue.worker_id, &queue.left_to_others()) {
                    Ok(Some(job)) => {
                        if !stored_here(&ctx, &job, &mut conn) {
                            continue;
                        }
                        run(&ctx, job, &mut conn);
                        continue;
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "claiming a job failed"),
                }
            }
            Err(e) => tracing::warn!(error = %e, "no database connection for the job workers"),
        }
        queue.wait(seen, Duration::from_secs(1));
    }
}

/// Whether this process holds the file an extraction reads. Processes that do not share one
/// data folder each hold only what they received: one that claimed another's file puts the
/// job back for the others instead of failing it (and fails it only once none could read
/// it for a long while).
fn stored_here(ctx: &Context, job: &Job, conn: &mut AnyConnection) -> bool {
    if !(job.job_type == "file" && job.operation == "extract") {
        return true;
    }
    let Some(f) = job.file_id.as_ref().and_then(|id| file::get(conn, id).ok()) else {
        return true; // run() says the file is gone
    };
    // Recorded as held here (this bucket or folder): no need to ask. Recorded elsewhere,
    // the store is asked: a process on another bucket failed extractions of the shared
    // bucket's files as "no longer in storage" (probe 54a M3).
    let here = ctx.storage.holder();
    let recorded_here = !f.held_elsewhere(here.as_deref()) && (ctx.storage.shared() || f.held_by.is_some());
    if recorded_here || ctx.storage.exists(&f.storage_key) || now() - job.created_at > GIVE_UP_AFTER {
        return true; // run() reads it, or says it could not
    }
    tracing::info!(job = %job.id, "the file is not in this process's storage; leaving the job to others");
    leave_to_others(ctx, job, conn);
    false
}

/// Puts a claimed job back for the other processes, which this one leaves it to for a while.
fn leave_to_others(ctx: &Context, job: &Job, conn: &mut AnyConnection) {
    let queue = &ctx.queue;
    queue.leave(&job.id);
    if let Err(e) = job::unclaim(conn, job, &queue.worker_id) {
        tracing::warn!(job = %job.id, error = %e, "could not put the job back");
    }
    queue.wake();
}

/// A shared bucket's file this process could not copy to its own disk (full, or not
/// writable): the job goes back to processes that may (probe 67g D3), until it has waited
/// long enough that none could. `Err(Lost)` once it went back, else the error as it was.
fn leave_when_not_copied_here(
    ctx: &Context,
    job: &Job,
    conn: &mut AnyConnection,
    e: std::io::Error,
) -> Result<std::io::Error, JobError> {
    let local = !crate::storage::is_store_failure(&e) && e.kind() != std::io::ErrorKind::NotFound;
    if !(ctx.storage.shared() && local && now() - job.created_at <= GIVE_UP_AFTER) {
        return Ok(e);
    }
    tracing::warn!(job = %job.id, error = %e, "could not copy the file to this process's disk; leaving the job to others");
    leave_to_others(ctx, job, conn);
    Err(JobError::Lost)
}

/// Runs a claimed job on the connection that claimed it, holding its lock meanwhile.
fn run(ctx: &Context, job: Job, conn: &mut AnyConnection) {
    let worker = ctx.queue.worker_id.as_str();
    tracing::info!(job = %job.id, name = %job.name(), attempt = job.attempts, "job started");
    if let Err(e) = job::hold(conn, &job.id) {
        tracing::warn!(job = %job.id, error = %e, "could not lock the job");
    }
    let _ = job::emit(conn, &job, "job:updated", &job.created_by);
    run_held(ctx, worker, &job, conn);
    if let Err(e) = job::let_go(conn, &job.id) {
        tracing::warn!(job = %job.id, error = %e, "could not unlock the job");
    }
}

fn run_held(ctx: &Context, worker: &str, job: &Job, conn: &mut AnyConnection) {
    let result = match (job.job_type.as_str(), job.operation.as_str()) {
        ("file", "extract") => extract::run(ctx, worker, job, conn),
        ("workbook", "map") => map::run(ctx, worker, job, conn),
        ("workbook", "delete-records") => delete::run(ctx, worker, job, conn),
        ("workbook", "bulk-change") => bulk_change::run(ctx, worker, job, conn),
        ("sheet", "recheck-records") => recheck::run(ctx, worker, job, conn),
        ("workbook" | "sheet", "submit") => submit::run(ctx, worker, job, conn),
        _ => Err(JobError::Failed(format!(
            "Wharf has no worker for {}",
            job.name()
        ))),
    };
    let message = match result {
        Ok(()) => {
            tracing::info!(job = %job.id, "job complete");
            ctx.announce.job_changed(&job.id, job.space_id.as_ref());
            return;
        }
        Err(JobError::Lost) => {
            tracing::info!(job = %job.id, "job stopped: no longer ours");
            ctx.announce.job_changed(&job.id, job.space_id.as_ref());
            return;
        }
        Err(JobError::Failed(m)) => m,
        Err(JobError::Internal(e)) => {
            tracing::error!(job = %job.id, error = format!("{e:#}"), "job failed");
            internal_message(&e)
        }
    };
    let outcome = serde_json::json!({"message": message});
    match job::finish_attempt(
        conn,
        job,
        worker,
        job::status::FAILED,
        Some(outcome),
        Some(message),
    ) {
        // Canceled, or retried into a newer attempt, meanwhile: not this one's to fail; or
        // deleted (with its space), with nothing left to mark.
        Ok(_) | Err(ModelError::Conflict(_)) | Err(ModelError::Db(diesel::result::Error::NotFound)) => {}
        Err(e) => tracing::error!(job = %job.id, error = %e, "recording a job failure failed"),
    }
    ctx.announce.job_changed(&job.id, job.space_id.as_ref());
}

/// Completes a job with its outcome. One canceled (or failed) meanwhile, after its last
/// batch, is no longer this worker's: `Err(Lost)`, so what it made is taken back.
fn complete(
    conn: &mut crate::db::AnyConnection,
    job: &Job,
    worker: &str,
    outcome: serde_json::Value,
    info: &str,
) -> Result<(), JobError> {
    match job::finish_attempt(
        conn,
        job,
        worker,
        job::status::COMPLETE,
        Some(outcome),
        Some(info.into()),
    ) {
        Ok(_) => Ok(()),
        Err(ModelError::Conflict(_)) => Err(JobError::Lost),
        Err(e) => Err(e.into()),
    }
}

/// A job whose process stopped under it this many times is not run again: it is most
/// likely what stops the process (a file built to exhaust memory, say).
const MAX_CRASHES: i32 = 2;

/// Refuses to run a job that already stopped the process [`MAX_CRASHES`] times; the
/// operation then cleans up as after any failure.
pub fn refuse_crash_loop(job: &Job) -> Result<(), JobError> {
    if job.crashes >= MAX_CRASHES {
        return Err(JobError::Failed(format!(
            "Wharf stopped {} times while running this job, so it was not run again on its own \
             (what it reads may be what stops Wharf: the server log has details); retry it to run it again",
            job.crashes
        )));
    }
    Ok(())
}

/// Runs one batch's writes in a write transaction that first checks the job is still this
/// attempt's (on PostgreSQL the check's update also locks the job row, so a cancel waits
/// for the batch): a canceled or retried job's old attempt cannot commit another batch.
pub fn fenced<T>(
    conn: &mut crate::db::AnyConnection,
    job: &Job,
    worker: &str,
    write: impl FnOnce(&mut crate::db::AnyConnection) -> Result<T, JobError>,
) -> Result<T, JobError> {
    crate::db::write_tx::<_, JobError, _>(conn, |conn| {
        // The space before the job row, as a deletion of the space takes them.
        let spaces: Vec<_> = job.space_id.iter().cloned().collect();
        crate::model::space::hold(conn, &spaces)?;
        if !job::heartbeat(conn, job, worker)? {
            return Err(JobError::Lost);
        }
        write(conn)
    })
}

/// How often at most a job's progress is written (and announced): a bar that moves four
/// times a second, where a job of a second showed only its start and its end.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Reports progress (at most every [`PROGRESS_EVERY`]), refreshing the claim; `Err(Lost)`
/// when the job is no longer this worker's.
pub struct Progress<'a> {
    ctx: &'a Context,
    job: &'a Job,
    worker: &'a str,
    last: Option<(Instant, i32)>,
}

impl<'a> Progress<'a> {
    /// Runs `write` fenced to this attempt (see [`fenced`]).
    pub fn fenced<T>(
        &self,
        conn: &mut crate::db::AnyConnection,
        write: impl FnOnce(&mut crate::db::AnyConnection) -> Result<T, JobError>,
    ) -> Result<T, JobError> {
        fenced(conn, self.job, self.worker, write)
    }

    pub fn new(ctx: &'a Context, job: &'a Job, worker: &'a str) -> Self {
        Progress {
            ctx,
            job,
            worker,
            last: None,
        }
    }

    pub fn report(
        &mut self,
        conn: &mut crate::db::AnyConnection,
        percent: i32,
        info: &str,
    ) -> Result<(), JobError> {
        if !job::heartbeat(conn, self.job, self.worker)? {
            return Err(JobError::Lost);
        }
        let due = match self.last {
            None => true,
            Some((at, p)) => p != percent && at.elapsed() >= PROGRESS_EVERY,
        };
        if due {
            let changes = JobChanges {
                progress: Some(percent),
                info: Some(Some(info.to_string())),
                ..Default::default()
            };
            job::change(
                conn,
                &self.job.id,
                changes,
                Some("job:updated"),
                &self.job.created_by,
            )?;
            self.last = Some((Instant::now(), percent));
            self.ctx
                .announce
                .job_changed(&self.job.id, self.job.space_id.as_ref());
        }
        Ok(())
    }
}

/// Says on a job that has ended (canceled, or failed) what its worker did after: a cancel
/// answers at once, and the take-back of what the job had written ends later. Only the
/// job's words change; a job still running (a newer attempt) keeps its own.
pub fn say_after_end(ctx: &Context, conn: &mut AnyConnection, job: &Job, info: &str) {
    use crate::db::schema::jobs;
    use diesel::prelude::*;
    let said = crate::db::write(conn, |conn| {
        diesel::update(
            jobs::table
                .find(&job.id)
                .filter(jobs::status.eq_any([job::status::CANCELED, job::status::FAILED])),
        )
        .set((jobs::info.eq(info), jobs::updated_at.eq(now())))
        .execute(conn)
    });
    match said {
        Ok(_) => ctx.announce.job_changed(&job.id, job.space_id.as_ref()),
        Err(e) => tracing::warn!(job = %job.id, error = %e, "noting a job's take-back failed"),
    }
}

/// Finishes the take-backs of stopped imports and bulk changes whose process stopped first.
fn sweep_take_backs(ctx: &Context) {
    let swept = match ctx.pool.get() {
        Ok(mut conn) => take_back::sweep(ctx, &mut conn),
        Err(e) => Err(e.into()),
    };
    match swept {
        Ok(0) => {}
        Ok(n) => tracing::warn!(jobs = n, "took back what stopped jobs had written"),
        // Tried every few seconds while the disk stays full: said once a minute, in a
        // line (probe 60c D6: 17 lines of backtrace twice every 5 s).
        Err(e) if once_a_minute() => {
            tracing::warn!(error = %e, "finishing take-backs failed; trying again every few seconds")
        }
        Err(_) => {}
    }
}

/// True at most once a minute, across the workers.
fn once_a_minute() -> bool {
    static LAST: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);
    let Ok(mut last) = LAST.lock() else { return true };
    match *last {
        Some(at) if at.elapsed() < Duration::from_secs(60) => false,
        _ => {
            *last = Some(Instant::now());
            true
        }
    }
}

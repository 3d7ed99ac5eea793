//! Jobs: Flatfile's persisted units of work (extract a file, map a workbook, custom
//! actions), their lifecycle (created, ready, executing, complete, failed, canceled), and
//! the queue the in-server workers claim from.

use super::event::{self, Context};
use super::{now, ModelError, ModelResult};
use crate::db::schema::jobs;
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, FileId, JobId, SheetId, SpaceId, WorkbookId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{json, Value};

pub use super::job_list::{completed_imports_of, list, unrun_imports_by, Filter};
pub use super::job_listener::{ack, ack_outcome, execute, Ack};

pub mod status {
    pub const CREATED: &str = "created";
    /// A mapping whose plan is made, waiting to be executed (what `@flatfile/plugin-automap`
    /// waits for before it executes one).
    pub const PLANNING: &str = "planning";
    pub const SCHEDULED: &str = "scheduled";
    pub const WAITING: &str = "waiting";
    pub const READY: &str = "ready";
    pub const EXECUTING: &str = "executing";
    pub const COMPLETE: &str = "complete";
    pub const FAILED: &str = "failed";
    pub const CANCELED: &str = "canceled";
    /// Statuses a job never leaves.
    pub const FINAL: [&str; 3] = [COMPLETE, FAILED, CANCELED];
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: JobId,
    pub environment_id: EnvironmentId,
    pub space_id: Option<SpaceId>,
    pub job_type: String,
    pub operation: String,
    pub source: String,
    pub destination: Option<String>,
    pub file_id: Option<FileId>,
    pub config: String,
    pub status: String,
    pub progress: i32,
    pub info: Option<String>,
    pub outcome: Option<String>,
    pub plan: Option<String>,
    pub job_trigger: String,
    pub mode: String,
    pub managed: bool,
    pub input: Option<String>,
    pub metadata: String,
    /// How far a worker got, saved with each batch it wrote (JSON).
    pub checkpoint: Option<String>,
    pub created_by: String,
    pub claimed_by: Option<String>,
    pub heartbeat_at: Option<NaiveDateTime>,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub outcome_acknowledged_at: Option<NaiveDateTime>,
    /// Times the process running this job stopped under it (see [`release_orphans`]).
    pub crashes: i32,
    /// Flatfile's `subject` (JSON): what an action's job works on.
    pub subject: Option<String>,
    /// When its listener expects it to end (`estimatedCompletionAt` of an ack).
    pub estimated_completion_at: Option<NaiveDateTime>,
}

impl Job {
    /// Flatfile's job name, `domain:operation`.
    pub fn name(&self) -> String {
        format!("{}:{}", self.job_type, self.operation)
    }

    pub fn is_final(&self) -> bool {
        status::FINAL.contains(&self.status.as_str())
    }

    /// Run by Wharf's own workers (the queue in `job_queue`), never by a listener.
    pub fn is_built_in(&self) -> bool {
        super::job_queue::built_in(&self.job_type, &self.operation, &self.config)
    }

    /// What a person's retry changes: a new run, ready, with nothing of the last one's
    /// outcome (its acknowledgement would hide the new outcome from the grid), and not the
    /// crash loop the count guards against. A delete or bulk change selects anew, up to the
    /// records there now (its ceiling goes); a grid delete keeps the records its
    /// confirmation counted.
    pub fn retry_changes(&self) -> JobChanges {
        JobChanges {
            status: Some(status::READY.into()),
            progress: Some(0),
            crashes: Some(0),
            finished_at: Some(None),
            outcome: Some(None),
            outcome_acknowledged_at: Some(None),
            info: Some(None),
            started_at: Some(None),
            estimated_completion_at: Some(None),
            checkpoint: matches!(self.operation.as_str(), "delete-records" | "bulk-change")
                .then(|| crate::jobs::delete::confirmed_only(self.checkpoint.as_deref())),
            ..Default::default()
        }
    }

    /// Refuses a listener's call (ack, complete, fail, a status change) on a job that
    /// Wharf's workers run: it would end the job under its worker.
    pub fn refuse_if_built_in(&self, call: &str) -> Result<(), ModelError> {
        if self.is_built_in() {
            return Err(ModelError::Conflict(format!(
                "{} jobs are run by Wharf itself; `{call}` is for jobs a listener runs (cancel or retry this one instead)",
                self.name()
            )));
        }
        Ok(())
    }
}

#[derive(Insertable)]
#[diesel(table_name = jobs)]
struct NewJob {
    id: JobId,
    environment_id: EnvironmentId,
    space_id: Option<SpaceId>,
    job_type: String,
    operation: String,
    source: String,
    destination: Option<String>,
    file_id: Option<FileId>,
    config: String,
    status: String,
    progress: i32,
    info: Option<String>,
    plan: Option<String>,
    job_trigger: String,
    mode: String,
    managed: bool,
    input: Option<String>,
    metadata: String,
    subject: Option<String>,
    checkpoint: Option<String>,
    created_by: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// What a new job is made from.
#[derive(Debug, Clone)]
pub struct JobInput {
    pub environment_id: EnvironmentId,
    pub space_id: Option<SpaceId>,
    pub job_type: String,
    pub operation: String,
    pub source: String,
    pub destination: Option<String>,
    pub file_id: Option<FileId>,
    pub config: Value,
    pub status: String,
    pub progress: i32,
    pub info: Option<String>,
    pub plan: Option<Value>,
    pub trigger: String,
    pub mode: String,
    pub managed: bool,
    pub input: Option<Value>,
    pub metadata: Value,
    pub subject: Option<Value>,
    /// What the job starts from (a grid delete: the records its confirmation counted).
    pub checkpoint: Option<String>,
    /// A person's or guest's press of an action: refused while it runs (see `job_once`).
    pub once: bool,
}

impl JobInput {
    pub fn new(environment_id: &EnvironmentId, space_id: Option<&SpaceId>) -> Self {
        JobInput {
            environment_id: environment_id.clone(),
            space_id: space_id.cloned(),
            job_type: String::new(),
            operation: String::new(),
            source: String::new(),
            destination: None,
            file_id: None,
            config: json!({}),
            status: status::CREATED.into(),
            progress: 0,
            info: None,
            plan: None,
            trigger: "manual".into(),
            mode: "foreground".into(),
            managed: false,
            input: None,
            metadata: json!({}),
            subject: None,
            checkpoint: None,
            once: false,
        }
    }
}

#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = jobs)]
pub struct JobChanges {
    pub status: Option<String>,
    pub progress: Option<i32>,
    pub info: Option<Option<String>>,
    pub outcome: Option<Option<String>>,
    pub plan: Option<Option<String>>,
    pub config: Option<String>,
    pub destination: Option<Option<String>>,
    pub metadata: Option<String>,
    pub checkpoint: Option<Option<String>>,
    pub claimed_by: Option<Option<String>>,
    pub heartbeat_at: Option<Option<NaiveDateTime>>,
    pub started_at: Option<Option<NaiveDateTime>>,
    pub finished_at: Option<Option<NaiveDateTime>>,
    pub outcome_acknowledged_at: Option<Option<NaiveDateTime>>,
    pub estimated_completion_at: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
    /// How many times the process stopped under the job: a person's retry starts at 0.
    pub crashes: Option<i32>,
}

/// Writes a `job:*` event with Flatfile's payload.
pub fn emit(conn: &mut AnyConnection, job: &Job, topic: &str, actor: &str) -> QueryResult<()> {
    let mut ctx = Context::new(&job.environment_id, actor).job(&job.id);
    if let Some(space) = &job.space_id {
        ctx = ctx.space(space);
    }
    if let Some(file) = &job.file_id {
        ctx = ctx.file(file);
    }
    // Listener code reads `context.workbookId` (and `sheetId`) of a workbook or sheet job,
    // `documentId` of a document's action.
    if let Some(doc) = crate::ids::DocumentId::parse(&job.source) {
        ctx = ctx.document(&doc);
    } else if let Some(wb) = WorkbookId::parse(&job.source) {
        ctx = ctx.workbook(&wb);
    } else if let Some(sheet) = SheetId::parse(&job.source) {
        // A sheet action's handler reads `workbookId` too (`api.workbooks.get(workbookId)`).
        use crate::db::schema::sheets;
        let workbook: Option<WorkbookId> = sheets::table
            .find(&sheet)
            .select(sheets::workbook_id)
            .first(conn)
            .optional()?;
        if let Some(wb) = workbook {
            ctx = ctx.workbook(&wb);
        }
        ctx = ctx.sheet(&sheet);
    }
    let payload = json!({
        "domain": job.job_type,
        "operation": job.operation,
        "job": job.name(),
        "status": job.status,
        "info": job.info,
        "progress": job.progress,
        "isPart": false,
        "input": job.input.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok()),
    });
    // A sheet action's job points listener code at the records it works on.
    let url = super::job_subject::data_url(job);
    let extras = event::Extras {
        data_url: url.as_deref(),
        ..Default::default()
    };
    event::insert(conn, &ctx, topic, payload, &extras).map(|_| ())
}

pub fn create(conn: &mut AnyConnection, mut input: JobInput, actor: &str) -> ModelResult<Job> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        if let Some(space) = &input.space_id {
            super::space::hold_to_add(conn, std::slice::from_ref(space))?;
        }
        if input.once {
            super::job_once::refuse_while_running(conn, &input)?;
        }
        if input.operation == "submit" {
            super::submission::settle_deliver_to(
                conn,
                &input.environment_id,
                &input.job_type,
                &input.source,
                &mut input.config,
            )?;
        }
        let t = now();
        let id = JobId::generate();
        diesel::insert_into(jobs::table)
            .values(NewJob {
                id: id.clone(),
                environment_id: input.environment_id,
                space_id: input.space_id,
                job_type: input.job_type,
                operation: input.operation,
                source: input.source,
                destination: input.destination,
                file_id: input.file_id,
                config: input.config.to_string(),
                status: input.status,
                progress: input.progress.clamp(0, 100),
                info: input.info,
                plan: input.plan.map(|p| p.to_string()),
                job_trigger: input.trigger,
                mode: input.mode,
                managed: input.managed,
                input: input.input.map(|v| v.to_string()),
                metadata: input.metadata.to_string(),
                subject: input.subject.map(|v| v.to_string()),
                checkpoint: input.checkpoint,
                created_by: actor.to_string(),
                created_at: t,
                updated_at: t,
            })
            .execute(conn)?;
        let job = get(conn, &id)?;
        let job = super::job_queue::fix_map_ceiling(conn, job)?;
        emit(conn, &job, "job:created", actor)?;
        if job.status == status::READY {
            emit(conn, &job, "job:ready", actor)?;
        }
        // As Flatfile's: a mapping made with its plan moves on to `planning` at once.
        if job.status == status::CREATED
            && job.job_type == "workbook"
            && job.operation == "map"
            && job.plan.is_some()
        {
            let changes = JobChanges {
                status: Some(status::PLANNING.into()),
                ..Default::default()
            };
            return change_from(conn, &job, changes, Some("job:updated"), actor);
        }
        Ok(job)
    })
}

pub fn get(conn: &mut AnyConnection, id: &JobId) -> QueryResult<Job> {
    jobs::table.find(id).select(Job::as_select()).first(conn)
}

pub fn find(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    id: &JobId,
) -> QueryResult<Option<Job>> {
    jobs::table
        .filter(jobs::environment_id.eq(environment_id))
        .filter(jobs::id.eq(id))
        .select(Job::as_select())
        .first(conn)
        .optional()
}

/// Every space a job reads from or writes to: its own (its source's) and, for a mapping,
/// its destination's. A caller must reach all of them to see or drive the job, since a job
/// created by someone else may point from a space the caller reaches into one it does not.
pub fn spaces_touched(conn: &mut AnyConnection, job: &Job) -> QueryResult<Vec<Option<SpaceId>>> {
    use crate::db::schema::workbooks;
    use crate::ids::{SheetId, WorkbookId};
    let mut spaces = vec![job.space_id.clone()];
    if let Some(wb) = job.destination.as_deref().and_then(WorkbookId::parse) {
        let space: Option<SpaceId> = workbooks::table
            .find(&wb)
            .select(workbooks::space_id)
            .first(conn)
            .optional()?;
        spaces.extend(space.map(Some));
    }
    let config: Value = serde_json::from_str(&job.config).unwrap_or(Value::Null);
    if let Some(sheet) = config["destinationSheetId"].as_str().and_then(SheetId::parse) {
        if let Some((_, space)) = super::sheet::find(conn, &job.environment_id, &sheet)? {
            spaces.push(Some(space));
        }
    }
    Ok(spaces)
}

/// Applies changes and writes `topic`, in one transaction.
pub fn change(
    conn: &mut AnyConnection,
    id: &JobId,
    changes: JobChanges,
    topic: Option<&str>,
    actor: &str,
) -> ModelResult<Job> {
    apply(conn, id, None, changes, topic, actor)
}

/// [`change`] of a job as the caller saw it: applied only while its status and attempt are
/// still what the caller checked, so of two calls at once (an ack and a complete, two
/// retries, a restart and a cancel) the one that comes second hears 409 instead of undoing
/// the first.
pub fn change_from(
    conn: &mut AnyConnection,
    seen: &Job,
    changes: JobChanges,
    topic: Option<&str>,
    actor: &str,
) -> ModelResult<Job> {
    apply(
        conn,
        &seen.id,
        Some((&seen.status, seen.attempts)),
        changes,
        topic,
        actor,
    )
}

/// Writes the changes (only while the job's status and attempt are `expected`, when given)
/// and `topic`, in one transaction.
fn apply(
    conn: &mut AnyConnection,
    id: &JobId,
    expected: Option<(&str, i32)>,
    mut changes: JobChanges,
    topic: Option<&str>,
    actor: &str,
) -> ModelResult<Job> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        changes.updated_at = Some(now());
        if let Some(p) = changes.progress.as_mut() {
            *p = (*p).clamp(0, 100);
        }
        let changed = match expected {
            None => diesel::update(jobs::table.find(id)).set(&changes).execute(conn)?,
            Some((status, attempts)) => diesel::update(
                jobs::table
                    .find(id)
                    .filter(jobs::status.eq(status))
                    .filter(jobs::attempts.eq(attempts)),
            )
            .set(&changes)
            .execute(conn)?,
        };
        let job = get(conn, id)?;
        let job = super::job_queue::fix_map_ceiling(conn, job)?;
        if changed == 0 && expected.is_some() {
            return Err(ModelError::Conflict(format!(
                "the job changed meanwhile (it is now {}); read it again",
                job.status
            )));
        }
        if let Some(topic) = topic {
            emit(conn, &job, topic, actor)?;
        }
        Ok(job)
    })
}

pub(super) fn not_final(job: &Job) -> ModelResult<()> {
    if job.is_final() {
        return Err(ModelError::Conflict(format!(
            "the job is already {}; it cannot change any more",
            job.status
        )));
    }
    Ok(())
}

/// Ends a job: complete, failed or canceled, with its outcome.
pub fn finish(
    conn: &mut AnyConnection,
    job: &Job,
    final_status: &str,
    outcome: Option<Value>,
    info: Option<String>,
    actor: &str,
) -> ModelResult<Job> {
    not_final(job)?;
    let topic = match final_status {
        status::COMPLETE => "job:completed",
        status::FAILED => "job:failed",
        _ => "job:updated",
    };
    let t = now();
    let changes = JobChanges {
        status: Some(final_status.into()),
        progress: (final_status == status::COMPLETE).then_some(100),
        outcome: outcome.map(|o| Some(o.to_string())),
        info: info.map(Some),
        finished_at: Some(Some(t)),
        claimed_by: Some(None),
        updated_at: Some(t),
        ..Default::default()
    };
    // Only a job not final yet: of a worker completing it and someone canceling it at the
    // same moment, one wins and the other hears so.
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        // The space before the job's row, as a deletion of the space takes them (a cancel
        // marking its file held the space after the job and deadlocked with it: probe 53a D2).
        super::space::hold(conn, job.space_id.as_slice())?;
        let changed = diesel::update(
            jobs::table
                .find(&job.id)
                .filter(jobs::status.ne_all(status::FINAL)),
        )
        .set(&changes)
        .execute(conn)?;
        let current = get(conn, &job.id)?;
        if changed == 0 {
            return Err(ModelError::Conflict(format!(
                "the job is already {}; it cannot change any more",
                current.status
            )));
        }
        emit(conn, &current, topic, actor)?;
        // A running extraction marks its file as it stops; one that never started cannot.
        if let (status::CANCELED, Some(file)) = (final_status, &job.file_id) {
            if job.job_type == "file" && job.operation == "extract" && job.status != status::EXECUTING {
                crate::model::file::extraction_canceled(conn, file, actor)?;
            }
        }
        Ok(current)
    })
}

/// Deletes a job, with its `job:deleted` event.
pub fn delete(conn: &mut AnyConnection, job: &Job, actor: &str) -> ModelResult<()> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        diesel::delete(jobs::table.find(&job.id)).execute(conn)?;
        emit(conn, job, "job:deleted", actor)?;
        Ok(())
    })
}

pub use super::job_queue::{
    claim, finish_attempt, heartbeat, hold, let_go, release_checkpoint, release_orphans, unclaim,
};

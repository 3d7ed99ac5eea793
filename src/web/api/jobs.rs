//! Jobs: create, get, update, delete; the lifecycle calls (execute, ack, complete, fail,
//! cancel, outcome/ack, retry) are `job_calls`, the list is `job_list`.

pub use super::job_calls::{ack, ack_outcome, cancel, complete, execute, fail, retry};
use super::job_calls::{finish_with, FinishBody};
use super::job_starts::{
    cancel_info, check_targets, guest_may_start, iso_time, object_or_empty, one_of, refuse_or_check_change,
    refuse_oversized, source_space, Percent, Start, Unkept, MODES, TRIGGERS, TYPES,
};
use super::{given_id, ok, path_id, stored_json, success};
use crate::app::AppState;
use crate::auth::{ApiCaller, SpaceCaller, SpaceScope};
use crate::ids::{EnvironmentId, FileId, JobId, SheetId, SpaceId};
use crate::jobs::plan;
use crate::model::job::{self, status, Job, JobChanges, JobInput};
use crate::model::{file, iso, sheet, workbook, ModelError};
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn job_json(j: &Job) -> Value {
    let opt = |t: &Option<String>| t.as_deref().map(stored_json);
    json!({
        "id": j.id,
        "type": j.job_type,
        "operation": j.operation,
        "source": j.source,
        "destination": j.destination,
        "config": stored_json(&j.config),
        "trigger": j.job_trigger,
        "status": j.status,
        "progress": j.progress,
        "fileId": j.file_id,
        "mode": j.mode,
        "input": opt(&j.input),
        "outcome": opt(&j.outcome),
        "info": j.info,
        "managed": j.managed,
        "metadata": stored_json(&j.metadata),
        "environmentId": j.environment_id,
        "spaceId": j.space_id,
        "createdBy": j.created_by,
        "createdAt": iso(&j.created_at),
        "updatedAt": iso(&j.updated_at),
        "startedAt": j.started_at.as_ref().map(iso),
        "finishedAt": j.finished_at.as_ref().map(iso),
        "outcomeAcknowledgedAt": j.outcome_acknowledged_at.as_ref().map(iso),
        "subject": opt(&j.subject),
        "estimatedCompletionAt": j.estimated_completion_at.as_ref().map(iso),
    })
}

/// A job the caller may reach: a guest only those of its spaces (never one of no space),
/// at both ends of a mapping.
pub async fn load(state: &AppState, caller: &SpaceCaller, raw_id: &str) -> Result<Job, AppError> {
    let id = path_id(raw_id, JobId::parse, "job")?;
    let env = caller.environment_id.clone();
    let found = state
        .db(move |conn| {
            let Some(j) = job::find(conn, &env, &id)? else {
                return Ok(None);
            };
            let spaces = job::spaces_touched(conn, &j)?;
            Ok::<_, ModelError>(Some((j, spaces)))
        })
        .await?;
    match found {
        Some((j, spaces)) if spaces.iter().all(|s| caller.reaches_object_of(s.as_ref())) => Ok(j),
        // A guest's own space archived since: 403 saying so, as its other calls (probe 71a D2).
        Some((_, spaces)) => match spaces.iter().flatten().find(|s| !caller.reaches(s)) {
            Some(space) => caller
                .check_reach_as(space, "job")
                .and(Err(AppError::NotFound("job"))),
            None => Err(AppError::NotFound("job")),
        },
        None => Err(AppError::NotFound("job")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    #[serde(rename = "type")]
    job_type: String,
    operation: String,
    source: String,
    destination: Option<String>,
    config: Option<Value>,
    trigger: Option<String>,
    status: Option<String>,
    progress: Option<Percent>,
    file_id: Option<String>,
    mode: Option<String>,
    input: Option<Value>,
    info: Option<String>,
    managed: Option<bool>,
    environment_id: Option<String>,
    /// A job is filed under its source's space: one that names another is refused, not
    /// ignored (probe 50a L1).
    space_id: Option<String>,
    metadata: Option<Value>,
    subject: Option<Value>,
    /// Flatfile's job parts and outcome: refused, not dropped.
    #[serde(flatten)]
    unkept: Unkept,
}

/// A guest may start jobs on its own spaces' files, workbooks and sheets only (a mapping
/// job's destination included).
pub async fn create(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    body: crate::web::input::Json<CreateBody>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    b.unkept.refuse()?;
    if !TYPES.contains(&b.job_type.as_str()) {
        return Err(AppError::invalid(
            "type",
            format!("`{}` is not a job type", b.job_type),
        ));
    }
    if b.operation.trim().is_empty() {
        return Err(AppError::invalid("operation", "a job needs an operation"));
    }
    // Wharf queues its re-check itself when fields change; a guest may not run it at will.
    if caller.only_spaces().is_some()
        && b.job_type == "sheet"
        && b.operation == crate::model::sheet_fields::RECHECK
    {
        return Err(AppError::Forbidden(
            "a guest cannot start a re-check: Wharf runs one itself when the sheet's fields change".into(),
        ));
    }
    if let Some(env) = &b.environment_id {
        if given_id(env, EnvironmentId::parse, "environmentId")? != caller.environment_id {
            return Err(AppError::NotFound("environment"));
        }
    }
    let trigger = b.trigger.unwrap_or_else(|| "manual".into());
    one_of("trigger", &trigger, &TRIGGERS)?;
    let mode = b.mode.unwrap_or_else(|| "foreground".into());
    one_of("mode", &mode, &MODES)?;
    let parts = [
        ("config", b.config.as_ref()),
        ("metadata", b.metadata.as_ref()),
        ("input", b.input.as_ref()),
        ("subject", b.subject.as_ref()),
    ];
    refuse_oversized(b.info.as_deref(), &parts)?;
    let config = object_or_empty("config", b.config)?;
    let metadata = object_or_empty("metadata", b.metadata)?;
    let job_input = match b.input {
        None | Some(Value::Null) => None,
        Some(v) if v.is_object() => Some(v),
        Some(_) => return Err(AppError::invalid("input", "input must be an object")),
    };
    let wanted = b.status.unwrap_or_else(|| status::CREATED.into());
    // Listener code tracking its own work may make its job already under way: made and
    // acknowledged at once, as `ack` would, with no `job:ready` for a handler to take up.
    let executing = wanted == status::EXECUTING;
    if executing && crate::model::job_queue::built_in(&b.job_type, &b.operation, &config.to_string()) {
        return Err(AppError::invalid(
            "status",
            "Wharf runs this job itself: make it `created` or `ready`",
        ));
    }
    let initial = if executing {
        status::CREATED
    } else if trigger == "immediate" || wanted == status::READY {
        status::READY
    } else if wanted == status::CREATED {
        status::CREATED
    } else {
        return Err(AppError::invalid(
            "status",
            "a new job is `created`, `ready` or `executing`",
        ));
    };
    let file_id = b
        .file_id
        .as_deref()
        .map(|t| given_id(t, FileId::parse, "fileId"))
        .transpose()?
        .or_else(|| (b.job_type == "file").then(|| FileId::parse(&b.source)).flatten());
    let actor = caller.actor();
    let env = caller.environment_id.clone();
    let reach = caller.clone();
    let job = state
        .db(move |conn| {
            let guest = reach.only_spaces().is_some();
            let space_id = source_space(conn, &env, &b.job_type, &b.source).map_err(|e| match e {
                // A guest is told the same of an id that is nowhere as of another space's.
                ModelError::Invalid(v) if guest && v.iter().any(|(_, m)| m.starts_with("no ")) => {
                    ModelError::NotFound("source")
                }
                other => other,
            })?;
            let outside = |space: &SpaceId| !reach.reaches(space);
            if space_id.as_ref().is_some_and(|s| reach.archived_spaces().contains(s)) {
                return Err(ModelError::Forbidden(crate::auth::ARCHIVED_SPACE.into()));
            }
            if reach.only_spaces().is_some() && space_id.as_ref().is_none_or(outside) {
                return Err(ModelError::NotFound("source"));
            }
            if let (Some(given), Some(found)) = (b.space_id.as_deref(), space_id.as_ref()) {
                if given != found.as_str() {
                    return Err(ModelError::Invalid(vec![(
                        "spaceId".into(),
                        format!("the job's source is in space `{found}`, not `{given}`; a job is filed under its source's space"),
                    )]));
                }
            }
            let file = match &file_id {
                Some(f) => match file::find(conn, &env, f)? {
                    Some(found) if !outside(&found.space_id) => Some(found),
                    _ => return Err(ModelError::NotFound("file")),
                },
                None => None,
            };
            let dest = b.destination.as_deref();
            check_targets(conn, &env, space_id.as_ref(), dest, file.as_ref(), guest)?;
            let mut input = JobInput {
                job_type: b.job_type,
                operation: b.operation,
                source: b.source,
                destination: b.destination,
                file_id,
                config,
                status: initial.into(),
                progress: b.progress.map_or(0, Percent::whole),
                info: b.info,
                trigger,
                mode,
                managed: b.managed.unwrap_or(false),
                input: job_input,
                metadata,
                subject: b.subject,
                ..JobInput::new(&env, space_id.as_ref())
            };
            if input.job_type == "workbook" && input.operation == "map" {
                if !input.config.is_object() {
                    input.config = json!({});
                }
                let sheets = plan::sheets(
                    conn,
                    &env,
                    &input.source,
                    input.destination.as_deref(),
                    &input.config,
                )?;
                let destination = workbook::find(conn, &env, &sheets.destination.workbook_id)?;
                if destination.is_none_or(|w| outside(&w.space_id)) {
                    return Err(ModelError::NotFound("destination"));
                }
                // The config names both sheets from here on.
                input.config["sourceSheetId"] = json!(sheets.source.id);
                input.config["destinationSheetId"] = json!(sheets.destination.id);
                input.plan = Some(plan::initial(conn, &sheets)?);
            }
            if input.job_type == "workbook"
                && matches!(input.operation.as_str(), "delete-records" | "bulk-change")
            {
                // The sheet must be the workbook's, and the selection readable, before a
                // job is made.
                let (ctx, _) =
                    crate::jobs::delete::target(conn, &env, &input.operation, &input.source, &input.config)
                        .map_err(|m| ModelError::Invalid(vec![("config".into(), m)]))?;
                if outside(&ctx.space_id) {
                    return Err(ModelError::NotFound("sheet"));
                }
                crate::jobs::delete::refuse_locked(&ctx, &actor)?;
                if input.operation == "bulk-change" {
                    match input.config.get("undo") {
                        None => {
                            crate::jobs::bulk_change::changes_of(&ctx, &input.config)
                                .map_err(|m| ModelError::Invalid(vec![("config.changes".into(), m)]))?;
                        }
                        Some(undo) => {
                            let undo = undo.as_str().unwrap_or_default();
                            crate::jobs::bulk_change::may_undo(conn, &ctx, undo, &actor)?;
                        }
                    }
                }
            }
            crate::jobs::guard::refuse_locked_input(conn, &input, &actor)?;
            if let Some(spaces) = reach.only_spaces() {
                let mode = guest_may_start(conn, &env, &Start::from(&input))?;
                // One run at a time of a foreground action, by the action's mode, not the
                // one given (probe 84b D2, D3: `background`, or made executing, ran it twice).
                let starts = input.status == status::READY || executing;
                input.once = starts && mode.as_deref() == Some("foreground");
                super::guest_ids::refuse_for_guest(conn, &input, Some(spaces))?;
                let sheet = match SheetId::parse(&input.source) {
                    Some(id) if input.job_type == "sheet" => {
                        sheet::find(conn, &env, &id)?.map(|(s, _)| s.seq)
                    }
                    _ => None,
                };
                input.subject = crate::model::job_subject::within_sheet(conn, sheet, input.subject.as_ref())?;
            }
            // A Submit the workbook's action delivers is Wharf's to run, which the config
            // alone did not say (probe 57d F5: it was made executing and never ended).
            if executing && input.operation == "submit" {
                let delivered =
                    crate::model::submission::action_slug(conn, &env, &input.job_type, &input.source)?;
                if delivered.is_some() {
                    return Err(ModelError::Invalid(vec![(
                        "status".into(),
                        "Wharf runs this job itself: make it `created` or `ready`".into(),
                    )]));
                }
            }
            // Made and acknowledged in one transaction: a job made executing counts as
            // running for one made at the same moment (see `job_once`).
            crate::db::write_tx(conn, |conn| {
                let made = job::create(conn, input, &actor)?;
                match executing {
                    true => job::ack(conn, &made, job::Ack::default(), &actor),
                    false => Ok(made),
                }
            })
        })
        .await?;
    if job.status == status::READY {
        state.jobs.wake();
    }
    state.live.publish_job(&job.id, job.space_id.as_ref());
    Ok(ok(job_json(&job)))
}

pub async fn get(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(ok(job_json(&load(&state, &caller, &path).await?)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBody {
    config: Option<Value>,
    status: Option<String>,
    progress: Option<Percent>,
    info: Option<String>,
    metadata: Option<Value>,
    #[serde(default, deserialize_with = "iso_time")]
    estimated_completion_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Given, the job's outcome is acknowledged as by `outcome/acknowledge`.
    outcome_acknowledged_at: Option<Value>,
    #[serde(flatten)]
    unkept: Unkept,
    /// What the job reads and where it lives: refused when another (see `unkept::fixed`).
    source: Option<Value>,
    destination: Option<Value>,
    #[serde(rename = "type")]
    job_type: Option<Value>,
    operation: Option<Value>,
    environment_id: Option<Value>,
    space_id: Option<Value>,
}

pub async fn update(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: crate::web::input::Json<UpdateBody>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    b.unkept.refuse()?;
    if let Some(at) = b.outcome_acknowledged_at.as_ref().filter(|v| !v.is_null()) {
        if !at.is_string() {
            return Err(AppError::invalid(
                "outcomeAcknowledgedAt",
                "outcomeAcknowledgedAt is a date and time",
            ));
        }
        let alone = b.config.is_none() && b.status.is_none() && b.progress.is_none();
        if !(alone && b.info.is_none() && b.metadata.is_none() && b.estimated_completion_at.is_none()) {
            return Err(AppError::invalid(
                "outcomeAcknowledgedAt",
                "acknowledge a job's outcome on its own, in an update with no other field",
            ));
        }
        return ack_outcome(caller.into(), state, path).await;
    }
    // A final status is the complete, fail or cancel call (Flatfile's update takes any).
    if let Some(end) = b
        .status
        .as_deref()
        .and_then(|s| status::FINAL.iter().find(|f| **f == s))
    {
        if b.config.is_some() || b.metadata.is_some() || b.estimated_completion_at.is_some() {
            return Err(AppError::invalid(
                "status",
                format!(
                    "a job set `{end}` takes info with it, not config, metadata or estimatedCompletionAt"
                ),
            ));
        }
        let finish = FinishBody {
            outcome: None,
            info: b.info,
        };
        return finish_with(caller.into(), state, &path, finish, end).await;
    }
    let j = load(&state, &caller.clone().into(), &path).await?;
    super::unkept::fixed(
        "a job",
        &[
            ("source", b.source.as_ref(), Some(j.source.as_str())),
            ("destination", b.destination.as_ref(), j.destination.as_deref()),
            ("type", b.job_type.as_ref(), Some(j.job_type.as_str())),
            ("operation", b.operation.as_ref(), Some(j.operation.as_str())),
            (
                "environmentId",
                b.environment_id.as_ref(),
                Some(j.environment_id.as_str()),
            ),
            (
                "spaceId",
                b.space_id.as_ref(),
                j.space_id.as_ref().map(|s| s.as_str()),
            ),
        ],
    )?;
    if let Some(s) = &b.status {
        let known = [
            status::CREATED,
            status::PLANNING,
            status::SCHEDULED,
            status::WAITING,
            status::READY,
            status::EXECUTING,
        ];
        if !known.contains(&s.as_str()) {
            return Err(AppError::invalid(
                "status",
                format!(
                    "`{s}` is not a job status: created, planning, scheduled, waiting, ready or executing"
                ),
            ));
        }
    }
    refuse_oversized(
        b.info.as_deref(),
        &[("config", b.config.as_ref()), ("metadata", b.metadata.as_ref())],
    )?;
    let config = b.config.map(|c| object_or_empty("config", Some(c))).transpose()?;
    let metadata = b
        .metadata
        .map(|m| object_or_empty("metadata", Some(m)))
        .transpose()?;
    let changes = JobChanges {
        config: config.map(|c| c.to_string()),
        status: b.status,
        progress: b.progress.map(Percent::whole),
        info: b.info.map(Some),
        metadata: metadata.map(|m| m.to_string()),
        estimated_completion_at: b.estimated_completion_at.map(|t| Some(t.naive_utc())),
        ..Default::default()
    };
    let actor = caller.actor();
    let j = state
        .db(move |conn| {
            if j.is_final() {
                return Err(ModelError::Conflict(format!("the job is already {}", j.status)));
            }
            let mut changes = changes;
            refuse_or_check_change(conn, &j, &mut changes, &actor)?;
            job::change_from(conn, &j, changes, Some("job:updated"), &actor)
        })
        .await?;
    if j.status == status::READY {
        state.jobs.wake();
    }
    state.live.publish_job(&j.id, j.space_id.as_ref());
    Ok(ok(job_json(&j)))
}

pub async fn delete(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let j = load(&state, &caller.clone().into(), &path).await?;
    // What may not be canceled may not be deleted under its worker either (a running
    // undo, a re-check).
    if !j.is_final() {
        cancel_info(&j, None)?;
    }
    let actor = caller.actor();
    state.db(move |conn| job::delete(conn, &j, &actor)).await?;
    Ok(success())
}

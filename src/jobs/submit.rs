//! `workbook:submit` and `sheet:submit` with a `deliverTo` (a built-in Submit): looks the
//! webhook up by its slug in the job's environment, freezes the records (all of the
//! workbook's, or what a sheet action's subject selects) into stored JSON Lines files, one
//! per sheet, and hands the job over to the submissions worker (`workers::submissions`),
//! which delivers it and ends the job. The job stays `executing` meanwhile, claimed by no
//! worker, so nothing puts it back in the queue; its submission row carries the retries.

use super::{JobError, Progress};
use crate::db::AnyConnection;
use crate::ids::{SheetId, SubmissionId, WorkbookId};
use crate::model::job::{self, Job, JobChanges};
use crate::model::record::{cells, selection, RecordQuery};
use crate::model::sheet::{self, SheetContext};
use crate::model::submission::{self, FrozenSheet, NewSubmission};
use crate::model::webhook;
use serde_json::{json, value::RawValue, Value};
use std::io::Write;

pub fn run(cx: &super::Context, worker: &str, job: &Job, conn: &mut AnyConnection) -> Result<(), JobError> {
    super::refuse_crash_loop(job)?;
    let slug = submission::deliver_to(&job.job_type, &job.operation, &job.config).unwrap_or_default();
    let hook = webhook::find_by_slug(conn, &job.environment_id, &slug)?.ok_or_else(|| {
        JobError::Failed(format!(
            "No webhook has the slug `{slug}` in this environment, so nothing was sent. \
             Give a webhook that slug (Webhooks page) or change the action's deliverTo."
        ))
    })?;
    // Run again (a retry, a restart during the freeze that had finished): the records
    // frozen then are what goes, again under the same id.
    if let Some(s) = submission::of_job(conn, &job.id)? {
        return hand_over(conn, job, worker, &slug, |conn| {
            submission::send_again_to(conn, &s.id, &hook.id)?;
            Ok(())
        });
    }
    let (workbook_id, targets) = targets(conn, job)?;
    let space = job
        .space_id
        .clone()
        .ok_or_else(|| JobError::Failed("the job belongs to no space".into()))?;
    let id = SubmissionId::generate();
    let mut progress = Progress::new(cx, job, worker);
    let mut frozen = Vec::with_capacity(targets.len());
    for (n, (ctx, q)) in targets.iter().enumerate() {
        progress.report(
            conn,
            (n * 90 / targets.len().max(1)) as i32,
            &format!("Freezing {}", ctx.sheet.name),
        )?;
        frozen.push(freeze(cx, conn, &id, ctx, q)?);
    }
    let count: i64 = frozen.iter().map(|s| s.total).sum();
    let holder = cx.storage.holder();
    let made = hand_over(conn, job, worker, &slug, |conn| {
        // Its button's checks again, on the records frozen: a click or a guest's start was
        // judged when the job was made, but edits went on while it waited for a worker and
        // while it froze (probe 66a D3, 66g D1: records in error, or no hook had checked,
        // went out). A secret key's Submit is held to none, as at its start.
        if crate::ids::ApiKeyId::parse(&job.created_by).is_none() {
            let counted = crate::model::sheet::Counts {
                total: count,
                valid: frozen.iter().map(|s| s.valid).sum(),
                error: frozen.iter().map(|s| s.error).sum(),
                ..Default::default()
            };
            if let Some(why) = (cx.gate)(conn, job, counted)? {
                return Err(JobError::Failed(format!("Nothing was sent. {why}")));
            }
        }
        submission::insert(
            conn,
            &NewSubmission {
                id: &id,
                environment_id: &job.environment_id,
                space_id: &space,
                workbook_id: &workbook_id,
                job_id: &job.id,
                webhook_id: &hook.id,
                slug: &slug,
                sheets: &frozen,
                created_by: &job.created_by,
                held_by: holder.as_deref(),
            },
        )?;
        Ok(())
    });
    if made.is_err() {
        // Nothing refers to the files: they go.
        for s in &frozen {
            let _ = cx.storage.delete_blocking(&s.storage_key);
            if let Some(key) = &s.versions_key {
                let _ = cx.storage.delete_blocking(key);
            }
        }
    }
    made?;
    tracing::info!(job = %job.id, submission = %id, records = count, "records frozen for delivery");
    crate::workers::submissions::WAKE.notify_one();
    Ok(())
}

/// In one transaction fenced to this attempt: `write`, then the job handed to the
/// submissions worker (executing, claimed by no job worker).
fn hand_over(
    conn: &mut AnyConnection,
    job: &Job,
    worker: &str,
    slug: &str,
    write: impl FnOnce(&mut AnyConnection) -> Result<(), JobError>,
) -> Result<(), JobError> {
    super::fenced(conn, job, worker, |conn| {
        write(conn)?;
        let changes = JobChanges {
            claimed_by: Some(None),
            heartbeat_at: Some(None),
            progress: Some(95),
            info: Some(Some(format!("Sending to {slug}"))),
            ..Default::default()
        };
        job::change(conn, &job.id, changes, Some("job:updated"), &job.created_by)?;
        Ok(())
    })
}

/// The workbook and the sheets with their selections: every record of every sheet of a
/// workbook action; what the subject's query selects of a sheet action's sheet.
fn targets(
    conn: &mut AnyConnection,
    job: &Job,
) -> Result<(WorkbookId, Vec<(SheetContext, RecordQuery)>), JobError> {
    let env = &job.environment_id;
    if job.job_type == "sheet" {
        let id = SheetId::parse(&job.source)
            .ok_or_else(|| JobError::Failed(format!("`{}` is not a sheet id", job.source)))?;
        let ctx = sheet::load_context(conn, env, &id)?;
        let subject: Value = job
            .subject
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null);
        let params = super::delete::params_of(&subject["query"])
            .map_err(|m| JobError::Failed(format!("subject.query.{m}")))?;
        let q = selection::parse(&ctx.config, &params)
            .map_err(|m| JobError::Failed(format!("subject.query.{}: {}", m.key, m.message)))?
            .0;
        return Ok((ctx.sheet.workbook_id.clone(), vec![(ctx, q)]));
    }
    let wb = WorkbookId::parse(&job.source)
        .ok_or_else(|| JobError::Failed(format!("`{}` is not a workbook id", job.source)))?;
    let mut out = Vec::new();
    for s in sheet::list_in_workbook(conn, &wb)? {
        out.push((sheet::load_context(conn, env, &s.id)?, RecordQuery::default()));
    }
    Ok((wb, out))
}

/// Streams a sheet's selected records into a stored JSON Lines file, one record a line as
/// delivered: `{id, values: {field: value}, messages: [{field, type, message, source}]}`.
fn freeze(
    cx: &super::Context,
    conn: &mut AnyConnection,
    id: &SubmissionId,
    ctx: &SheetContext,
    q: &RecordQuery,
) -> Result<FrozenSheet, JobError> {
    let key = format!("submissions/{id}/{}.jsonl", ctx.sheet.id);
    let versions_key = format!("submissions/{id}/{}.versions", ctx.sheet.id);
    let mut out = cx
        .storage
        .begin_blocking(&key)
        .map_err(|e| JobError::Internal(e.into()))?;
    let mut versions = cx
        .storage
        .begin_blocking(&versions_key)
        .map_err(|e| JobError::Internal(e.into()))?;
    let fields: Vec<String> = ctx.config.fields.iter().map(|f| f.key.clone()).collect();
    // Field keys as JSON strings, written once.
    let keys: Vec<String> = fields.iter().map(|k| json!(k).to_string()).collect();
    let (mut total, mut valid) = (0i64, 0i64);
    let mut failed: Option<std::io::Error> = None;
    let mut line = String::with_capacity(1024);
    cells::each_selected(conn, ctx.sheet.seq, q, |row| {
        line.clear();
        line.push_str("{\"id\":\"");
        line.push_str(&row.record_id().to_string());
        line.push_str("\",\"values\":{");
        let vals: Vec<&RawValue> = serde_json::from_str(&row.vals).unwrap_or_default();
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(key);
            line.push(':');
            line.push_str(vals.get(i).map_or("null", |v| v.get()));
        }
        line.push_str("},\"messages\":[");
        if row.messages.is_some() || row.custom.is_some() {
            let (_, messages) = row.sparse();
            let mut first = true;
            for (i, list) in messages {
                for m in list {
                    if !first {
                        line.push(',');
                    }
                    first = false;
                    let mut v = serde_json::to_value(&m).unwrap_or(Value::Null);
                    v["field"] = json!(fields.get(i));
                    line.push_str(&v.to_string());
                }
            }
        }
        line.push_str("]}\n");
        let version = format!("{} {}\n", row.id, row.version);
        if let Err(e) = out
            .write_all(line.as_bytes())
            .and_then(|_| versions.write_all(version.as_bytes()))
        {
            failed = Some(e);
            return false;
        }
        total += 1;
        valid += i64::from(row.valid);
        true
    })?;
    if let Some(e) = failed {
        return Err(JobError::Internal(e.into()));
    }
    out.commit().map_err(|e| JobError::Internal(e.into()))?;
    versions.commit().map_err(|e| JobError::Internal(e.into()))?;
    Ok(FrozenSheet {
        id: ctx.sheet.id.to_string(),
        slug: ctx.sheet.slug.clone(),
        name: ctx.sheet.name.clone(),
        fields,
        total,
        valid,
        error: total - valid,
        storage_key: key,
        versions_key: Some(versions_key),
    })
}

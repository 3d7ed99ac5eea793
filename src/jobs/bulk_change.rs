//! `workbook:bulk-change`: a find and replace or a bulk update of more records than one
//! request takes (`records::bulk::MAX_RECORDS`), and the undo of one. Config: `{sheet,
//! changes: [{field, set} | {field, find, replace, whole}], <selection>}` or `{sheet, undo:
//! <bulk change id>}`. Batches of 5,000, each its own transaction fenced to the attempt, so people
//! editing meanwhile wait for one batch at most. All or nothing: canceled or failed midway,
//! the job takes back every cell it changed that nobody changed since. The cells are one
//! history entry (which one click undoes) and, at the end, one commit.

use super::{delete, JobError, Progress, BATCH};
use crate::db::batch_size::{Batches, MOST};
use crate::db::AnyConnection;
use crate::extract::thousands;
use crate::ids::BulkChangeId;
use crate::model::commit;
use crate::model::job::{self, Job, JobInput};
use crate::model::record::bulk::{self, Change};
use crate::model::record::bulk_history;
use crate::model::sheet::{self, SheetContext};
use crate::model::ModelError;
use serde_json::{json, Value};
use std::time::Instant;

/// The config of a bulk change job.
pub fn config(sheet: &str, changes: &[(String, Change)], params: &[(String, String)]) -> Value {
    let mut config = json!({
        "sheet": sheet,
        "changes": changes.iter().map(|(field, c)| match c {
            Change::Set(v) => json!({"field": field, "set": v}),
            Change::Replace { find, replace, whole, any_case } =>
                json!({"field": field, "find": find, "replace": replace, "whole": whole, "anyCase": any_case}),
        }).collect::<Vec<_>>(),
    });
    let mut ids = Vec::new();
    for (k, v) in params {
        match k.as_str() {
            "ids" => ids.push(v.clone()),
            "filter" | "filterField" | "searchValue" | "searchField" | "q" => config[k] = json!(v),
            _ => {}
        }
    }
    if !ids.is_empty() {
        config["ids"] = json!(ids);
    }
    config
}

/// A job on the sheet's workbook, run by Wharf in the background (`bulk-change` or
/// `delete-records`).
pub fn job_input(ctx: &SheetContext, operation: &str, config: Value) -> JobInput {
    let mut input = JobInput::new(&ctx.environment_id, Some(&ctx.space_id));
    input.job_type = "workbook".into();
    input.operation = operation.into();
    input.source = ctx.sheet.workbook_id.to_string();
    input.config = config;
    input.status = job::status::READY.into();
    input.trigger = "immediate".into();
    input.mode = "background".into();
    input
}

/// The changes a config names, checked as the bulk calls check theirs.
/// What one change of `config.changes` may hold.
const CHANGE_MEMBERS: [&str; 6] = ["field", "set", "find", "replace", "whole", "anyCase"];

pub fn changes_of(ctx: &SheetContext, config: &Value) -> Result<Vec<(usize, Change)>, String> {
    let list = match &config["changes"] {
        Value::Array(list) if !list.is_empty() => list,
        Value::Array(_) => return Err("config.changes is empty: name at least one change".into()),
        // The official client drops the keys its types do not name (probe 68g D6).
        Value::Null => {
            return Err(
                "config.changes is missing (@flatfile/api sends no keys its types do not name: send this job with a plain HTTP call, or use records.findAndReplace or records.bulkUpdate)"
                    .into(),
            )
        }
        _ => return Err("config.changes must be a list of changes: [{\"field\": ..., \"set\": ...}]".into()),
    };
    list.iter()
        .map(|c| {
            let key = c["field"].as_str().unwrap_or_default();
            let i = ctx
                .config
                .field_index(key)
                .ok_or_else(|| format!("the sheet {} has no field `{key}` any more", ctx.sheet.name))?;
            if ctx.config.fields[i].computed {
                return Err(format!("{key} is a computed field: it cannot be changed"));
            }
            // Read as `bulk-update` and `find-replace` read theirs: a misspelt member would
            // be left out (`Replace`: every found text replaced with nothing).
            let members = c
                .as_object()
                .ok_or("config.changes holds objects: {\"field\": ..., \"set\": ...}")?;
            if let Some(other) = members.keys().find(|k| !CHANGE_MEMBERS.contains(&k.as_str())) {
                return Err(format!(
                    "{key}: a change has no member `{other}` (it has field, and set or find, replace, whole, anyCase)"
                ));
            }
            let change = match (c.get("set"), c.get("find")) {
                (Some(_), Some(_)) => {
                    return Err(format!("{key}: a change sets a value or replaces text, not both"))
                }
                (Some(v), _) => Change::Set(Change::value_of(v).map_err(|why| format!("{key}: {why}"))?),
                (None, Some(find)) => {
                    let flag = |name: &str| match c.get(name) {
                        None | Some(Value::Null) => Ok(false),
                        Some(Value::Bool(b)) => Ok(*b),
                        Some(_) => Err(format!("{key}: {name} is true or false")),
                    };
                    let (whole, any_case) = (flag("whole")?, flag("anyCase")?);
                    let find = Change::text_of(Some(find)).map_err(|why| format!("{key}: find {why}"))?;
                    if find.is_empty() && !whole {
                        return Err(format!(
                            "{key}: say what to find (with whole, \"\" finds empty cells)"
                        ));
                    }
                    let replace =
                        Change::text_of(c.get("replace")).map_err(|why| format!("{key}: replace {why}"))?;
                    Change::Replace {
                        find,
                        replace,
                        whole,
                        any_case,
                    }
                }
                (None, None) => {
                    return Err(format!(
                        "{key}: a change sets a value (set) or replaces text (find, replace)"
                    ))
                }
            };
            if let Some(message) = change.too_big() {
                return Err(format!("{key}: {message}"));
            }
            Ok((i, change))
        })
        .collect()
}

pub fn run(cx: &super::Context, worker: &str, job: &Job, conn: &mut AnyConnection) -> Result<(), JobError> {
    let config: Value = serde_json::from_str(&job.config).unwrap_or_else(|_| json!({}));
    let (ctx, _) = delete::target(conn, &job.environment_id, &job.operation, &job.source, &config)
        .map_err(JobError::Failed)?;
    if let Err(stopped) = super::refuse_crash_loop(job) {
        // Failed, as any failure: what the earlier attempts changed goes back first (an
        // undo's is left for the undo to finish when asked again).
        if config["undo"].is_null() {
            for earlier in bulk_history::of_job(conn, &job.id)? {
                bulk_history::take_back(conn, &ctx, &earlier.id, &job.created_by)?;
            }
            cx.announce.sheet_changed(&ctx.sheet.id);
        }
        return Err(stopped);
    }
    let actor = job.created_by.as_str();
    // One entry per attempt. Earlier attempts' cells are put back first, every one's, and
    // before anything can stop this one (a lock or a field change made while the server
    // was down left them in place: probe 48c 2): one cut off by a crash never took its own
    // back, and a canceled one's take-back may still be running (a cancel answers at once),
    // which would undo this attempt's work behind it. Cells already put back count as
    // changed since, so none is put back twice, and the change ends as one entry that one
    // undo takes back. (An undo's earlier attempts are its own to finish.)
    if config["undo"].is_null() {
        let earlier = bulk_history::of_job(conn, &job.id)?;
        if !earlier.is_empty() {
            // Said first: this can take as long as the stopped run did, with no progress
            // (it read as stuck, then as going backwards: probe 57b L1).
            Progress::new(cx, job, worker).report(
                conn,
                0,
                "Run again after a stop: first putting back what the stopped run had changed",
            )?;
        }
        for earlier in earlier {
            bulk_history::take_back(conn, &ctx, &earlier.id, actor)?;
            cx.announce.sheet_changed(&ctx.sheet.id);
        }
    }
    delete::stop_if_guest_gone(conn, &ctx, actor, || "before it changed anything".into())?;
    delete::refuse_locked(&ctx, actor)?;
    if let Some(undo) = config["undo"].as_str() {
        return undo_run(cx, worker, job, conn, &ctx, undo);
    }
    let changes = changes_of(&ctx, &config).map_err(JobError::Failed)?;
    let bulk = bulk_history::create(
        conn,
        &ctx.sheet.id,
        actor,
        &bulk::describe(&ctx, &changes),
        Some(&job.id),
    )?;
    let mut ids = delete::select_now(conn, job, &config, |conn, now, q| {
        let changes = bulk::refound(&ctx, now, &changes)?;
        Ok(bulk::selected(conn, now, q, &changes, None)?)
    })?;
    if let Some(upto) = delete::ceiling(job) {
        ids.retain(|id| *id <= upto);
    }
    let params = delete::params_of(&config).map_err(JobError::Failed)?;
    let total = ids.len().max(1);
    let mut progress = Progress::new(cx, job, worker);
    let mut changed: Vec<i64> = Vec::new();
    let mut cells = 0;
    let verb = changes.first().map_or("Changed", |(_, c)| c.verb());
    let result = (|| {
        let mut batches = Batches::new(&ids, BATCH, MOST);
        while let Some(chunk) = batches.next_batch() {
            let started = Instant::now();
            let (written, batch_cells) = progress.fenced(conn, |conn| {
                let fresh = sheet::relock_fresh(conn, &ctx)?;
                delete::stop_if_refused(conn, &fresh, actor, || {
                    "and put back the values it had changed".into()
                })?;
                Ok(bulk::apply_batch(
                    conn, &ctx, chunk, &params, &changes, actor, &bulk,
                )?)
            })?;
            batches.took(chunk.len(), started.elapsed());
            changed.extend(written.rows);
            cells += batch_cells;
            cx.announce.sheet_changed(&ctx.sheet.id);
            for other in &written.also_changed {
                cx.announce.sheet_changed(other);
            }
            let done = batches.done().min(total);
            let info = format!(
                "{verb} values in {} of {} records",
                thousands(done as u64),
                thousands(total as u64)
            );
            progress.report(conn, (done * 99 / total) as i32, &info)?;
        }
        // Listener code hears of it once, as one commit of every record changed.
        let made = progress.fenced(conn, |conn| match changed.is_empty() {
            true => Ok(None),
            false => Ok(Some(commit::create(conn, &ctx, actor, &changed)?)),
        })?;
        let message = format!(
            "{verb} {} in {}: {}",
            bulk::how_many(cells, changed.len()),
            ctx.sheet.name,
            bulk::describe(&ctx, &changes)
        );
        super::complete(
            conn,
            job,
            worker,
            // Its commit, which the 202's `versionId` (the job's id) reads as once complete.
            json!({"message": message, "bulkChangeId": bulk, "bulkId": bulk, "commitId": made, "versionId": made}),
            &message,
        )
    })();
    if result.is_err() {
        // The sheet deleted meanwhile took its records: nothing to take back, and that is
        // why it stopped (probe 70b D2: "something went wrong on our side").
        if !sheet::exists(conn, ctx.sheet.seq).unwrap_or(true) {
            return Err(sheet_gone(&ctx));
        }
        // Canceled, failed or retried meanwhile: nothing half done stays.
        let undone = take_back(conn, &ctx, &bulk, actor);
        cx.announce.sheet_changed(&ctx.sheet.id);
        if let (Err(JobError::Lost), Some(undone)) = (&result, undone) {
            super::say_after_end(cx, conn, job, &put_back_words(&undone));
        }
    }
    result
}

fn sheet_gone(ctx: &SheetContext) -> JobError {
    JobError::Failed(format!(
        "the sheet {} was deleted while this change ran; its records went with it",
        ctx.sheet.name
    ))
}

/// What a stopped bulk change's job says once its cells are back: those put back, and
/// those changed since by someone else, which keep that change.
pub(super) fn put_back_words(undone: &bulk_history::Undone) -> String {
    let mut words = format!(
        "Stopped: put back the {} it had changed",
        crate::words::values(undone.restored as u64)
    );
    if undone.kept > 0 {
        words.push_str(&format!(
            "; {} changed since (or deleted) kept as they are",
            thousands(undone.kept as u64)
        ));
    }
    words
}

/// Takes back what an unfinished attempt changed (a failure is logged: the cells stay
/// undoable from the history).
fn take_back(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    bulk: &BulkChangeId,
    actor: &str,
) -> Option<bulk_history::Undone> {
    match bulk_history::take_back(conn, ctx, bulk, actor) {
        Ok(undone) => Some(undone),
        Err(e) => {
            tracing::warn!(bulk = %bulk.as_str(), error = %e, "taking back a stopped bulk change failed");
            None
        }
    }
}

/// Whether `actor` may undo the bulk change `undo` of the sheet: its author may, as in the
/// grid, and so may a secret key (the team's own: a guest removed from the space could not
/// undo its change, nor anyone else). Checked when the job is asked for and when it runs.
pub fn may_undo(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    undo: &str,
    actor: &str,
) -> Result<BulkChangeId, ModelError> {
    let invalid = |m: String| ModelError::Invalid(vec![("config.undo".into(), m)]);
    let id = BulkChangeId::parse(undo).ok_or_else(|| invalid(format!("`{undo}` is not a bulk change")))?;
    let by_key = crate::ids::ApiKeyId::parse(actor).is_some();
    match bulk_history::find(conn, &ctx.sheet.id, id.as_str())? {
        // Undone already; one cut off midway is its undoer's to finish, or a secret key's
        // (probe 50a F4: a person's undo cut off by a stop could be finished by them only).
        Some(entry)
            if entry.undone_at.is_some()
                && !(entry.undo_pending && (entry.undone_by.as_deref() == Some(actor) || by_key)) =>
        {
            Err(ModelError::Conflict("this change was already undone".into()))
        }
        // Its field removed since, nothing of it is left to put back (probe 63a D5: "Undone:
        // 0 value(s)", and the undo used up).
        Some(entry)
            if (entry.actor == actor || by_key) && bulk_history::cells_left(conn, id.as_str())? == 0 =>
        {
            Err(invalid(
                "nothing of this change is left to undo: it changed no cell, or the field it changed was \
                 removed from the sheet since"
                    .into(),
            ))
        }
        Some(entry) if entry.actor == actor || by_key => Ok(id),
        Some(_) => Err(ModelError::Forbidden(
            "only the person who made a bulk change, or a secret key, can undo it".into(),
        )),
        None => Err(invalid(format!(
            "the sheet {} has no bulk change {undo}",
            ctx.sheet.name
        ))),
    }
}

fn undo_run(
    cx: &super::Context,
    worker: &str,
    job: &Job,
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    undo: &str,
) -> Result<(), JobError> {
    let id = may_undo(conn, ctx, undo, &job.created_by).map_err(|e| match e {
        ModelError::Forbidden(m) => JobError::Failed(m),
        ModelError::Invalid(problems) => JobError::Failed(
            problems
                .into_iter()
                .map(|(_, m)| m)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => other.into(),
    })?;
    let mut progress = Progress::new(cx, job, worker);
    progress.report(conn, 1, "Undoing")?;
    // Progress as values go back (probe 68d D1: 1% until the end, as if stuck).
    let total = bulk_history::cells_left(conn, id.as_str())?.max(1) as usize;
    // A lock taken meanwhile stops a person's or guest's undo at its next batch; the
    // change may be undone again once the sheet is unlocked.
    let actor = job.created_by.as_str();
    let done = bulk_history::undo_checked(
        conn,
        ctx,
        &id,
        actor,
        Some(&job.id),
        &mut |conn, fresh, restored| {
            let done = || {
                format!(
                    "after putting back {}; the change may be undone again to put back the rest",
                    crate::words::values(restored as u64)
                )
            };
            let info = format!(
                "Undoing: {} of {} values put back",
                thousands(restored.min(total) as u64),
                thousands(total as u64)
            );
            progress
                .report(conn, (1 + restored.min(total) * 98 / total) as i32, &info)
                .and_then(|()| delete::stop_if_refused(conn, fresh, actor, done))
                .map_err(|e| match e {
                    JobError::Failed(m) => crate::model::ModelError::Conflict(m),
                    JobError::Lost => crate::model::ModelError::Conflict("the job was stopped".into()),
                    JobError::Internal(e) => crate::model::ModelError::Conflict(e.to_string()),
                })
        },
    );
    let done = done.map_err(|e| match e {
        crate::model::ModelError::Conflict(m) => JobError::Failed(m),
        other => other.into(),
    })?;
    cx.announce.sheet_changed(&ctx.sheet.id);
    for other in &done.also_changed {
        cx.announce.sheet_changed(other);
    }
    let message = undone_message(done.restored, done.kept);
    super::complete(conn, job, worker, json!({"message": message}), &message)
}

/// What an undo says it did.
pub fn undone_message(restored: usize, kept: usize) -> String {
    let mut m = format!("Undone: {} put back", crate::words::values(restored as u64));
    if kept > 0 {
        m.push_str(&format!(
            "; {} changed by someone since (or deleted) {}",
            thousands(kept as u64),
            if kept == 1 {
                "was kept as it is"
            } else {
                "were kept as they are"
            }
        ));
    }
    m
}

//! `file:extract`: reads an uploaded file into a `[file] NAME` workbook (label `file`), a
//! sheet per table with one string field per column, records in the file's row order with
//! values exactly as written. Rows that cannot be read go to a rejects CSV beside the file.
//! A failed or cut-off extraction leaves no workbook behind.

use super::{JobError, Progress};
use crate::blueprint::{self, slugify};
use crate::db::AnyConnection;
use crate::extract::{self, Reject, Table};
use crate::ids::{FileId, WorkbookId};
use crate::model::commit::Hooks;
use crate::model::event::Context;
use crate::model::file::{self, status, File, FileChanges};
use crate::model::job::{self, Job, JobChanges};
use crate::model::{record, sheet, workbook, ModelError};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::Ordering;

const FILE_DELETED: &str = "the file was deleted while it was being extracted";

pub fn run(cx: &super::Context, worker: &str, job: &Job, conn: &mut AnyConnection) -> Result<(), JobError> {
    let file_id = job
        .file_id
        .clone()
        .or_else(|| FileId::parse(&job.source))
        .ok_or_else(|| JobError::Failed(format!("`{}` is not a file id", job.source)))?;
    // Before the file is read: an extraction that ended meanwhile has pointed the file at
    // its workbook, which this one then replaces.
    super::extract_turn::wait_for_the_last_holder(conn, job, worker, &file_id)?;
    super::extract_turn::refuse_second_extraction(conn, job, &file_id)?;
    let f = file::get(conn, &file_id)
        .map_err(|_| JobError::Failed(format!("file {file_id} no longer exists")))?;
    if f.status == file::status::PURGED {
        // Before anything marks the file: it stays `purged` (probe 59c D5).
        return Err(JobError::Failed(
            "the file's bytes were deleted (a delete stopped half-way); upload it again".into(),
        ));
    }
    let actor = job.created_by.as_str();
    // The workbook of an earlier extraction stays the file's until this one's replaces
    // it, and stays if this one fails.
    let before = earlier_workbook(job, &f);
    let mut progress = Progress::new(cx, job, worker);
    // A cancel landing between these steps goes through the error path below too, which
    // marks the file (it would otherwise read `analyzing` for good).
    let outcome = start(conn, job, &f, &mut progress)
        .and_then(|()| extract_into_workbook(cx, conn, job, &f, before.as_ref(), &mut progress))
        .and_then(|mut summary| {
            // The rejected rows go to storage first: a store that fails now fails the job
            // while the earlier extraction's workbook is still there to keep, and a file
            // deleted meanwhile is found by the update below (its rejects then go too).
            if let Some(rejects) = summary.rejects_out.take() {
                rejects.commit().map_err(unreadable)?;
            }
            // The file, the earlier workbook and the job change in one transaction: a
            // cancel landing first leaves all three as they were (the job then takes back
            // its workbook below), so the job and its file never tell different stories.
            let finished = crate::db::write_tx(conn, |conn| {
                // The space, then the job's row, as a deletion of the space takes them
                // and a cancel locks the job before the file.
                crate::model::space::hold(conn, std::slice::from_ref(&f.space_id))?;
                complete(conn, job, worker, &summary)?;
                let changes = FileChanges {
                    status: Some(status::COMPLETE.into()),
                    message: Some(summary.note.clone()),
                    reject_count: Some(summary.rejects as i64),
                    ..Default::default()
                };
                match file::update(conn, &f.id, changes, actor) {
                    Err(ModelError::Db(diesel::result::Error::NotFound)) => {
                        return Err(JobError::Failed(FILE_DELETED.into()))
                    }
                    other => other?,
                };
                // Extracted again: the workbook of the extraction before goes (one per file).
                if let Some(before) = before.as_ref().filter(|w| **w != summary.workbook_id) {
                    drop_extracted(conn, before, &f.id, actor)?;
                }
                Ok(())
            });
            // The file was deleted while it was read (alone, or with its space and this
            // job): nothing of it stays (its delete may have run before the rejected rows
            // went up: they go now).
            if finished.is_err() && matches!(file::find(conn, &f.environment_id, &f.id), Ok(None)) {
                let _ = cx.storage.delete_blocking(&f.rejects_key());
            }
            finished.map(|()| summary)
        });
    let e = match outcome {
        Ok(summary) => {
            for (seq, fields, records) in summary.sheets {
                cx.indexer.after_extraction(&cx.pool, seq, fields, records);
            }
            return Ok(());
        }
        Err(e) => e,
    };
    // A file deleted meanwhile took its workbook with it: say so, not what that broke
    // ("sheet not found").
    let e = match file::find(conn, &f.environment_id, &f.id)? {
        None if !matches!(e, JobError::Lost) => JobError::Failed(FILE_DELETED.into()),
        _ => e,
    };
    // A newer attempt has the job (retried at once, or taken over): it drops this
    // attempt's workbook when it starts; nothing here is ours to undo. The checkpoint stays
    // until the take-back is done: a stop in between leaves it for `sweep_stopped`, which
    // tells this attempt's half-made workbook from the earlier extraction's by it.
    let Some(checkpoint) = job::release_checkpoint(conn, job, |c| c.map(String::from))? else {
        return Err(e);
    };
    let message = match &e {
        JobError::Failed(m) => m.clone(),
        JobError::Lost => "the extraction was canceled".into(),
        JobError::Internal(cause) => super::internal_message(cause),
    };
    // A take-back that fails too (the disk still full) is left, with the checkpoint, to
    // the workers' sweep, which tries again every few seconds; the job fails for its own
    // reason meanwhile.
    if let Err(back) = take_back(cx, conn, &f, before, checkpoint.as_deref(), message, actor) {
        tracing::warn!(file = %f.id, error = %back, "taking back a failed extraction failed; the sweep tries again");
        return Err(e);
    }
    forget_checkpoint(conn, job)?;
    Err(e)
}

/// Clears the checkpoint of this attempt once what it made was taken back (a newer
/// attempt's own is left alone).
fn forget_checkpoint(conn: &mut AnyConnection, job: &Job) -> Result<(), JobError> {
    use crate::db::schema::jobs;
    use diesel::prelude::*;
    crate::db::write(conn, |conn| {
        diesel::update(
            jobs::table
                .find(&job.id)
                .filter(jobs::attempts.eq(job.attempts))
                .filter(jobs::status.ne(job::status::READY)),
        )
        .set(jobs::checkpoint.eq(None::<String>))
        .execute(conn)
    })?;
    Ok(())
}

/// Drops a previous attempt's workbook (the file is read again from the start), marks the
/// file `analyzing` and reports the first progress.
fn start(conn: &mut AnyConnection, job: &Job, f: &File, progress: &mut Progress) -> Result<(), JobError> {
    let actor = job.created_by.as_str();
    drop_workbook(conn, made_by(job).as_deref(), actor)?;
    let analyzing = FileChanges {
        status: Some(status::ANALYZING.into()),
        message: Some(None),
        ..Default::default()
    };
    file::update(conn, &f.id, analyzing, actor)?;
    progress.report(conn, 1, "Retrieving file")
}

/// Takes back what a stopped extraction made: its workbook (named in its `checkpoint`) goes,
/// and the file, failed with `message`, names the earlier extraction's workbook when it is
/// still there.
fn take_back(
    cx: &super::Context,
    conn: &mut AnyConnection,
    f: &File,
    before: Option<WorkbookId>,
    checkpoint: Option<&str>,
    mut message: String,
    actor: &str,
) -> Result<(), JobError> {
    let made = checkpoint.and_then(|c| serde_json::from_str::<Value>(c).ok());
    let made = match made.as_ref().and_then(|c| c["workbookId"].as_str()) {
        Some(id) => Some(id.to_string()),
        // The job was deleted meanwhile (its checkpoint with it): the file names the
        // workbook this attempt made, unless it still names the earlier one. (One
        // extraction of a file runs at a time.)
        None => file::find(conn, &f.environment_id, &f.id)?
            .and_then(|now| now.workbook_id)
            .filter(|id| Some(id) != before.as_ref())
            .map(|id| id.to_string()),
    };
    drop_workbook(conn, made.as_deref(), actor)?;
    let kept = match before {
        Some(id) if workbook::find(conn, &f.environment_id, &id)?.is_some() => Some(id),
        _ => None,
    };
    if kept.is_some() {
        message.push_str("; the workbook of the earlier extraction is kept");
    } else {
        // Rejected rows of an extraction whose workbook is gone belong to nothing.
        let _ = cx.storage.delete_blocking(&f.rejects_key());
    }
    let failed = FileChanges {
        status: Some(status::FAILED.into()),
        workbook_id: Some(kept),
        message: Some(Some(message)),
        ..Default::default()
    };
    // A deleted file has nothing left to mark.
    match file::update(conn, &f.id, failed, actor) {
        Err(ModelError::Db(diesel::result::Error::NotFound)) | Ok(_) => Ok(()),
        Err(other) => Err(other.into()),
    }
}

/// Finishes extractions canceled (or failed) whose process stopped before their worker had
/// taken back what they made (`kill -9` during a cancel): their file read `analyzing` for
/// good, and a new extraction took the half-made workbook for the earlier one. Returns how
/// many it finished.
pub fn sweep_stopped(cx: &super::Context, conn: &mut AnyConnection) -> Result<usize, JobError> {
    use crate::db::schema::{files, jobs};
    use diesel::prelude::*;
    let stopped: Vec<(File, Job)> = files::table
        .inner_join(jobs::table.on(files::extracting_job.eq(jobs::id.nullable())))
        .filter(files::status.eq(status::ANALYZING))
        .filter(jobs::status.eq_any([job::status::CANCELED, job::status::FAILED]))
        .select((File::as_select(), Job::as_select()))
        .load(conn)?;
    let mut finished = 0;
    for (f, stopped) in stopped {
        // Its worker is still at it.
        if crate::model::job_queue::is_held(conn, &stopped.id)? {
            continue;
        }
        // A job that failed says why (the disk was full, when its own take-back failed too).
        let said = stopped.outcome.as_deref().and_then(|o| {
            let outcome: Value = serde_json::from_str(o).ok()?;
            outcome["message"].as_str().map(String::from)
        });
        let message = match (stopped.status.as_str(), said) {
            (job::status::CANCELED, _) => "the extraction was canceled".to_string(),
            (_, Some(said)) => said,
            _ => "the extraction stopped before it ended".to_string(),
        };
        let before = earlier_workbook(&stopped, &f);
        let actor = stopped.created_by.as_str();
        take_back(
            cx,
            conn,
            &f,
            before,
            stopped.checkpoint.as_deref(),
            message,
            actor,
        )?;
        crate::db::write(conn, |conn| {
            diesel::update(jobs::table.find(&stopped.id))
                .set(jobs::checkpoint.eq(None::<String>))
                .execute(conn)
        })?;
        finished += 1;
    }
    Ok(finished)
}

/// Completes the job; one canceled meanwhile (after the last batch) is lost, so what it
/// made is taken back like during a batch.
fn complete(conn: &mut AnyConnection, job: &Job, worker: &str, summary: &Summary) -> Result<(), JobError> {
    let message = match &summary.note {
        Some(note) => format!("Extracted file; {note}"),
        None => "Extracted file".to_string(),
    };
    let outcome = json!({
        "message": message,
        "next": {"type": "id", "id": summary.workbook_id, "label": "Open workbook"},
    });
    super::complete(conn, job, worker, outcome, "Extraction complete")
}

struct Summary {
    workbook_id: WorkbookId,
    /// Each sheet made: its number, how many fields it has and how many records it holds.
    sheets: Vec<(i64, usize, i64)>,
    rejects: u64,
    /// The rejected rows, written but not yet in place: they replace the file's earlier
    /// ones only when this extraction completes (a failed one keeps the earlier workbook,
    /// so its rejects too).
    rejects_out: Option<crate::storage::BlockingUpload>,
    note: Option<String>,
}

/// The workbook of the file's extraction before this job: kept in the job's checkpoint once
/// this job made its own (which the file then names), else the file's.
fn earlier_workbook(job: &Job, f: &File) -> Option<WorkbookId> {
    let checkpoint = job
        .checkpoint
        .as_deref()
        .and_then(|c| serde_json::from_str::<Value>(c).ok());
    match checkpoint {
        Some(c) if c.get("workbookId").is_some() => c["before"].as_str().and_then(WorkbookId::parse),
        _ => f.workbook_id.clone(),
    }
}

/// The workbook an attempt of this job made (kept in its checkpoint, written in the same
/// transaction as the workbook), never one a caller named as destination.
fn made_by(job: &Job) -> Option<String> {
    let checkpoint: Value = serde_json::from_str(job.checkpoint.as_deref()?).ok()?;
    checkpoint["workbookId"].as_str().map(String::from)
}

/// Deletes the workbook a previous or failed attempt made.
fn drop_workbook(conn: &mut AnyConnection, id: Option<&str>, actor: &str) -> Result<(), JobError> {
    let Some(id) = id.and_then(WorkbookId::parse) else {
        return Ok(());
    };
    let wb: Option<workbook::Workbook> = {
        use crate::db::schema::workbooks;
        use diesel::prelude::*;
        workbooks::table
            .find(&id)
            .select(workbook::Workbook::as_select())
            .first(conn)
            .optional()?
    };
    if let Some(wb) = wb {
        workbook::delete(conn, &wb, actor)?;
    }
    Ok(())
}

/// Deletes the workbook an earlier extraction of the file made (never one it was mapped
/// into: only a workbook whose metadata names the file as its source).
fn drop_extracted(
    conn: &mut AnyConnection,
    id: &WorkbookId,
    file: &FileId,
    actor: &str,
) -> Result<(), JobError> {
    let made_from_file = {
        use crate::db::schema::workbooks;
        use diesel::prelude::*;
        workbooks::table
            .find(id)
            .select(workbooks::metadata)
            .first::<String>(conn)
            .optional()?
            .and_then(|m| serde_json::from_str::<Value>(&m).ok())
            .is_some_and(|m| m["fileId"].as_str() == Some(file.as_str()))
    };
    match made_from_file {
        true => drop_workbook(conn, Some(id.as_str()), actor),
        false => Ok(()),
    }
}

/// The `[file]` workbook's sheet configs: string fields labelled by the headers.
fn sheet_configs(tables: &[Table]) -> Result<Vec<blueprint::SheetConfig>, JobError> {
    let mut slugs = HashSet::new();
    let json: Vec<Value> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let base = Some(slugify(&t.name))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("sheet-{}", i + 1));
            let mut slug = base.clone();
            let mut n = 2;
            while !slugs.insert(slug.clone()) {
                slug = format!("{base}-{n}");
                n += 1;
            }
            let name = if t.name.trim().is_empty() {
                format!("Sheet {}", i + 1)
            } else {
                t.name.clone()
            };
            let fields: Vec<Value> = t
                .columns
                .iter()
                .map(
                    |c| json!({"key": c.key, "label": c.label, "type": "string", "treatments": ["verbatim"]}),
                )
                .collect();
            json!({"name": name, "slug": slug, "fields": fields})
        })
        .collect();
    blueprint::parse_extracted_sheets(&json, "$.sheets").map_err(|problems| {
        JobError::Internal(anyhow::anyhow!("extracted sheets do not parse: {problems:?}"))
    })
}

fn extract_into_workbook(
    cx: &super::Context,
    conn: &mut AnyConnection,
    job: &Job,
    f: &File,
    before: Option<&WorkbookId>,
    progress: &mut Progress,
) -> Result<Summary, JobError> {
    let actor = job.created_by.as_str();
    super::refuse_crash_loop(job)?;
    let copy = match cx.storage.local_copy(&f.storage_key) {
        Ok(copy) => copy,
        Err(e) => {
            return Err(
                super::leave_when_not_copied_here(cx, job, conn, e).map_or_else(|lost| lost, unreadable)
            )
        }
    };
    progress.report(conn, 3, "Parsing sheets")?;
    let (extraction, opened_at) = super::extract_open::open_followed(conn, progress, copy.path(), f)?;
    progress.report(conn, opened_at, "Creating workbook")?;
    let rows_from = opened_at + 5;
    let configs = sheet_configs(&extraction.tables)?;
    let ctx = Context::new(&f.environment_id, actor).space(&f.space_id);
    let wb = progress.fenced(conn, |conn| {
        // A workbook name is at most 200 characters; a file's may be 255.
        let name: String = format!("[file] {}", f.name)
            .chars()
            .take(crate::names::MAX_CHARS)
            .collect();
        let metadata = json!({"treatments": ["EXTRACTED_FROM_SOURCE"], "fileId": f.id}).to_string();
        let spec = workbook::Spec {
            labels: &["file".to_string()],
            metadata: &metadata,
            ..workbook::Spec::new(&name, &configs)
        };
        let wb = workbook::create(conn, &ctx, spec)?;
        let changes = JobChanges {
            destination: Some(Some(wb.id.to_string())),
            checkpoint: Some(Some(json!({"workbookId": wb.id, "before": before}).to_string())),
            ..Default::default()
        };
        job::change(conn, &job.id, changes, None, actor)?;
        Ok(wb)
    })?;
    file::update(
        conn,
        &f.id,
        FileChanges {
            workbook_id: Some(Some(wb.id.clone())),
            ..Default::default()
        },
        actor,
    )?;
    let sheets = sheet::list_in_workbook(conn, &wb.id)?;
    let mut rejects_out = cx
        .storage
        .begin_blocking(&f.rejects_key())
        .map(|w| csv::WriterBuilder::new().flexible(true).from_writer(w))
        .map_err(unreadable)?;
    let csv_err = |e: csv::Error| JobError::Internal(e.into());
    rejects_out
        .write_record(["sheet", "line", "problem", "values"])
        .map_err(csv_err)?;
    let mut rejects = 0u64;
    let mut written = vec![0i64; sheets.len()];
    let table_count = extraction.tables.len().max(1);
    let size = f.size.max(1) as u64;
    let (format, bytes_read) = (extraction.format, extraction.bytes_read.clone());
    for (index, (table, sh)) in extraction.tables.into_iter().zip(&sheets).enumerate() {
        let sheet_ctx =
            sheet::context_from(sh.clone(), f.environment_id.clone(), f.space_id.clone(), &sheets)?;
        let table_name = table.name.clone();
        let (rows, table_done) = (table.rows, table.done);
        // While this thread writes a batch, one reads and decodes the next and another
        // checks and encodes the one after it.
        std::thread::scope(|scope| -> Result<(), JobError> {
            let (tx, read) = std::sync::mpsc::sync_channel::<(Vec<Vec<Value>>, Vec<Reject>)>(2);
            let (name, notes) = (&table_name, &extraction.notes);
            scope.spawn(move || super::extract_batches::read_batches((rows, name, notes), tx));
            let (tx, rx) = std::sync::mpsc::sync_channel::<(record::Prepared, Vec<Reject>)>(1);
            let prepare_ctx = &sheet_ctx;
            scope.spawn(move || {
                for (batch, rejects) in read {
                    if tx.send((record::prepare(prepare_ctx, batch), rejects)).is_err() {
                        return;
                    }
                }
            });
            for (batch, batch_rejects) in rx {
                for rej in batch_rejects {
                    rejects += 1;
                    // An admin opens this file in a spreadsheet: formulas defused.
                    let mut rec = vec![
                        crate::extract::safe_cell(&table_name),
                        rej.line.to_string(),
                        crate::extract::safe_cell(&rej.message),
                    ];
                    rec.extend(rej.values.iter().map(|v| crate::extract::safe_cell(v)));
                    rejects_out.write_record(&rec).map_err(csv_err)?;
                }
                written[index] += batch.len() as i64;
                if !batch.is_empty() {
                    let written = progress.fenced(conn, |conn| {
                        Ok(record::insert_prepared(
                            conn,
                            &sheet_ctx,
                            batch,
                            actor,
                            &Hooks::Skip,
                        )?)
                    })?;
                    record::drop_elsewhere(written.rows);
                    cx.announce.sheet_changed(&sh.id);
                }
                let done = match format {
                    extract::Format::Delimited | extract::Format::Json | extract::Format::JsonLines => {
                        extract::fraction_read(&bytes_read, size)
                    }
                    _ => {
                        let within = table_done.load(Ordering::Relaxed) as f64 / 1e6;
                        (index as f64 + within.min(1.0)) / table_count as f64
                    }
                };
                let percent = rows_from + (done.min(1.0) * (99 - rows_from) as f64) as i32;
                progress.report(conn, percent, "Adding records to sheets")?;
            }
            Ok(())
        })?;
        // A reader that found the file must not be taken stopped its rows: the
        // extraction fails, and what it wrote is taken back.
        if let Some(why) = extraction.notes.failure() {
            return Err(JobError::Failed(why));
        }
    }
    rejects_out.flush().map_err(|e| JobError::Internal(e.into()))?;
    let upload = rejects_out
        .into_inner()
        .map_err(|e| JobError::Internal(anyhow::anyhow!("writing rejects: {e}")))?;
    let replaced = extraction.replaced.load(Ordering::Relaxed);
    let mut notes = Vec::new();
    if rejects > 0 {
        // Read by guests on the Files tab too: plain words (the API's `rejects` route is
        // in the README).
        notes.push(match rejects {
            1 => {
                "1 row was left out of the sheet: the file's \"Rejected rows\" say which and why".to_string()
            }
            n => {
                format!("{n} rows were left out of the sheet: the file's \"Rejected rows\" say which and why")
            }
        });
    }
    if replaced > 0 {
        notes.push(format!(
            "{} in the {} text {} replaced with \u{FFFD}",
            crate::words::counted(replaced, "invalid byte sequence", "invalid byte sequences"),
            extraction.encoding.unwrap_or("file's"),
            if replaced == 1 { "was" } else { "were" }
        ));
    }
    notes.extend(extraction.notes.list());
    Ok(Summary {
        workbook_id: wb.id,
        sheets: sheets
            .iter()
            .zip(&configs)
            .zip(&written)
            .map(|((sh, config), records)| (sh.seq, config.fields.len(), *records))
            .collect(),
        rejects,
        rejects_out: Some(upload),
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    })
}

/// A storage failure: the store's own (down, refusing) is said plainly, with the cause in
/// the log; a missing object or a local disk problem is ours.
fn unreadable(e: std::io::Error) -> JobError {
    if crate::storage::is_store_refusal(&e) {
        tracing::error!(error = %e, "the file storage refused an extraction's read");
        JobError::Failed(format!(
            "{}; then run the extraction again",
            crate::storage::REFUSED
        ))
    } else if crate::storage::is_store_failure(&e) {
        tracing::warn!(error = %e, "the file storage failed during an extraction");
        JobError::Failed("the file storage did not answer; run the extraction again later".into())
    } else if e.kind() == std::io::ErrorKind::NotFound {
        JobError::Failed("the uploaded file is no longer in storage".into())
    } else {
        JobError::Internal(e.into())
    }
}

//! `workbook:delete-records` (Flatfile's job: `{type: "workbook", operation:
//! "delete-records", source: <workbook>, config: {sheet, filter, filterField, searchValue,
//! searchField, ids, q, exceptions}}`): deletes the records a selection picks but for the
//! `exceptions`, in batches, each its own
//! short transaction fenced to the job's attempt, with progress. The selection is taken
//! when the job starts; records deleted by someone else meanwhile are skipped. Canceled
//! midway, it stops after the batch in hand: what it deleted stays deleted (the outcome and
//! the events say how many).

use super::{JobError, Progress, BATCH};
use crate::db::batch_size::{Batches, MOST};
use crate::db::AnyConnection;
use crate::ids::{ApiKeyId, RecordId, SheetId};
use crate::model::job::Job;
use crate::model::record::{self, cells, selection};
use crate::model::sheet::{self, SheetContext};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Instant;

/// The sheet a delete-records (or bulk-change) job works on, checked to be of its
/// workbook, and its selection.
pub fn target(
    conn: &mut AnyConnection,
    job_env: &crate::ids::EnvironmentId,
    operation: &str,
    source: &str,
    config: &Value,
) -> Result<(SheetContext, record::RecordQuery), String> {
    let raw = config.get("sheet").and_then(Value::as_str).unwrap_or_default();
    let id = SheetId::parse(raw).ok_or_else(|| format!("config.sheet `{raw}` is not a sheet id"))?;
    // One answer whether the sheet is elsewhere or nowhere: a guest learns nothing of
    // sheets outside its spaces.
    let not_here = || format!("config.sheet: the workbook {source} has no sheet {raw}");
    let ctx = sheet::load_context(conn, job_env, &id).map_err(|_| not_here())?;
    if ctx.sheet.workbook_id.as_str() != source {
        return Err(not_here());
    }
    let own: &[&str] = match operation {
        "delete-records" => &DELETE_KEYS,
        _ => &BULK_CHANGE_KEYS,
    };
    let known = |k: &str| SELECTION_KEYS.contains(&k) || own.contains(&k);
    if let Some(key) = config.as_object().and_then(|c| c.keys().find(|k| !known(k))) {
        let takes: Vec<&str> = SELECTION_KEYS.iter().chain(own).copied().collect();
        return Err(format!(
            "config.{key} is not a key of a {operation} job (it takes {}); left out, the selection would be every record",
            takes.join(", ")
        ));
    }
    let params = params_of(config).map_err(|m| format!("config.{m}"))?;
    exceptions_of(config).map_err(|m| format!("config.{m}"))?;
    if config
        .get("upto")
        .is_some_and(|v| !v.is_null() && v.as_i64().is_none())
    {
        return Err("config.upto must be a whole number, the last record id to touch".into());
    }
    let digest = |v: &Value| {
        v.as_str()
            .is_some_and(|d| d.len() == 32 && d.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    if config
        .get("selection")
        .is_some_and(|v| !v.is_null() && !digest(v))
    {
        return Err(
            "config.selection must be the digest of the records a confirmation counted (32 hexadecimal characters, as the grid's delete sends it); leave it out to delete what the selection picks when the job runs"
                .into(),
        );
    }
    let q = selection::parse(&ctx.config, &params)
        .map_err(|m| format!("config.{}: {}", m.key, m.message))?
        .0;
    Ok((ctx, q))
}

/// While a sheet is locked only secret keys change its records, as everywhere else: a job
/// a person or a guest makes (`actor`) is refused.
pub fn refuse_locked(ctx: &SheetContext, actor: &str) -> crate::model::ModelResult<()> {
    match ApiKeyId::parse(actor) {
        Some(_) => Ok(()),
        None => ctx.sheet.check_unlocked(),
    }
}

/// Whether `actor` is a guest that no longer reaches the job's space (removed from it,
/// deleted, or the space archived: probe 80b D5, a delete job ran in an archived space).
fn guest_gone(conn: &mut AnyConnection, ctx: &SheetContext, actor: &str) -> Result<bool, JobError> {
    let Some(guest) = crate::ids::GuestId::parse(actor) else {
        return Ok(false);
    };
    Ok(!crate::model::guest::reach_of(conn, &guest)?
        .open
        .contains(&ctx.space_id))
}

fn gone(done: String) -> JobError {
    JobError::Failed(format!(
        "the guest who started this job no longer reaches its space, so it stopped {done}"
    ))
}

/// A guest's job whose guest lost the space stops, with words on what it had done.
pub fn stop_if_guest_gone(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    actor: &str,
    done: impl FnOnce() -> String,
) -> Result<(), JobError> {
    match guest_gone(conn, ctx, actor)? {
        true => Err(gone(done())),
        false => Ok(()),
    }
}

/// A lock taken while a person's or guest's job runs stops it at its next batch, and so
/// does its guest losing the space (its job went on to the end), with words on what it
/// had done (`done`).
pub fn stop_if_refused(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    actor: &str,
    done: impl FnOnce() -> String,
) -> Result<(), JobError> {
    if guest_gone(conn, ctx, actor)? {
        return Err(gone(done()));
    }
    refuse_locked(ctx, actor).map_err(|_| {
        JobError::Failed(format!(
            "the sheet {} was locked while this job ran, so it stopped {}",
            ctx.sheet.name,
            done()
        ))
    })
}

/// The keys of a `delete-records` config (Flatfile's, and `ids`), and of a `bulk-change`
/// one. Any other is refused: one misspelt (`recordIds`) was dropped and what was left
/// deleted every record, and a bulk change's config sent as a delete deleted them all.
const SELECTION_KEYS: [&str; 7] = [
    "sheet",
    "filter",
    "filterField",
    "searchValue",
    "searchField",
    "q",
    "ids",
];
const DELETE_KEYS: [&str; 4] = [
    "exceptions",
    // Flatfile's, naming the snapshot it takes first; Wharf keeps history instead.
    "snapshotLabel",
    // Wharf's: the last record id the grid's confirmation counted (see `ceiling`), and a
    // digest of the records it counted (see `selection_digest`).
    "upto",
    "selection",
];
// `upto` as for a delete: the grid's column menu names the last record it counted.
const BULK_CHANGE_KEYS: [&str; 3] = ["changes", "undo", "upto"];

/// The selection keys of a config as query parameters (`ids` a list or one id). A value of
/// the wrong type is refused, never dropped: what is left of a selection could select
/// every record.
pub fn params_of(config: &Value) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for key in ["filter", "filterField", "searchValue", "searchField", "q"] {
        match config.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(v)) => out.push((key.to_string(), v.clone())),
            Some(other) => return Err(format!("{key} must be a string, not {other}")),
        }
    }
    match config.get("ids") {
        None | Some(Value::Null) => {}
        Some(Value::Array(ids)) if ids.is_empty() => {
            return Err(
                "ids is an empty list, which selects no record; leave it out to select \
                 every record"
                    .into(),
            )
        }
        Some(Value::Array(ids)) => {
            for (i, id) in ids.iter().enumerate() {
                let id = id.as_str().ok_or_else(|| {
                    format!("ids[{i}] must be a record id (a string such as \"us_rc_1\"), not {id}")
                })?;
                out.push(("ids".to_string(), id.to_string()));
            }
        }
        Some(Value::String(id)) => out.push(("ids".into(), id.clone())),
        Some(other) => return Err(format!("ids must be a list of record ids, not {other}")),
    }
    if let Some(blank) = crate::model::record::selection::blank_search(&out) {
        return Err(blank);
    }
    Ok(out)
}

/// Flatfile's `exceptions`: record ids the selection keeps (not deleted). A malformed one
/// is refused: dropping it would delete a record someone meant to keep.
pub fn exceptions_of(config: &Value) -> Result<HashSet<i64>, String> {
    match config.get("exceptions") {
        None | Some(Value::Null) => Ok(HashSet::new()),
        Some(Value::Array(ids)) => ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                id.as_str().and_then(RecordId::parse).map(|r| r.0).ok_or_else(|| {
                    format!("exceptions[{i}] must be a record id (a string such as \"us_rc_1\"), not {id}")
                })
            })
            .collect(),
        Some(other) => Err(format!("exceptions must be a list of record ids, not {other}")),
    }
}

/// The highest record id the job may touch, kept when it was asked to run (see
/// `job_queue::fix_map_ceiling`): a run resumed after a crash selects again, and leaves
/// the records written since.
pub fn ceiling(job: &Job) -> Option<i64> {
    let of = |text: Option<&str>| serde_json::from_str::<Value>(text?).ok()?["upto"].as_i64();
    // The grid's delete names the last record its confirmation counted (`config.upto`).
    match (of(job.checkpoint.as_deref()), of(Some(&job.config))) {
        (Some(kept), Some(asked)) => Some(kept.min(asked)),
        (kept, asked) => kept.or(asked),
    }
}

/// Reads a job's selection in one snapshot with the sheet's fields as they are then: a
/// field added or removed since the job loaded them moves the stored values its query
/// names by position, and the old query would pick nothing or other records (probe 48c 1).
pub fn select_now<T>(
    conn: &mut AnyConnection,
    job: &Job,
    config: &Value,
    read: impl FnOnce(&mut AnyConnection, &SheetContext, &record::RecordQuery) -> crate::model::ModelResult<T>,
) -> Result<T, JobError> {
    let found = crate::db::read_snapshot(conn, |conn| {
        Ok::<_, crate::model::ModelError>(
            match target(conn, &job.environment_id, &job.operation, &job.source, config) {
                Ok((ctx, q)) => Ok(read(conn, &ctx, &q)?),
                Err(why) => Err(why),
            },
        )
    })?;
    found.map_err(JobError::Failed)
}

pub fn run(cx: &super::Context, worker: &str, job: &Job, conn: &mut AnyConnection) -> Result<(), JobError> {
    super::refuse_crash_loop(job)?;
    let config: Value = serde_json::from_str(&job.config).unwrap_or_else(|_| json!({}));
    let (ctx, _) =
        target(conn, &job.environment_id, &job.operation, &job.source, &config).map_err(JobError::Failed)?;
    stop_if_guest_gone(conn, &ctx, &job.created_by, || {
        "before it deleted anything".into()
    })?;
    refuse_locked(&ctx, &job.created_by)?;
    let kept = exceptions_of(&config).map_err(JobError::Failed)?;
    let upto = ceiling(job);
    let selected: Vec<i64> = select_now(conn, job, &config, |conn, now, q| {
        Ok(cells::selected_ids(conn, now.sheet.seq, q, None, None)?)
    })?
    .into_iter()
    .filter(|id| upto.is_none_or(|c| *id <= c))
    .collect();
    let (selected, left_out) = confirmed_part(conn, job, &config, upto, selected)?;
    let ids: Vec<RecordId> = selected
        .into_iter()
        .filter(|id| !kept.contains(id))
        .map(RecordId)
        .collect();
    // After a crash the selection is what was left: progress goes on from where it was.
    let floor = usize::try_from(job.progress.clamp(0, 99)).unwrap_or(0);
    let mut progress = Progress::new(cx, job, worker);
    let mut deleted = 0usize;
    let ran = delete_batches(cx, conn, job, &ctx, &ids, floor, &mut progress, &mut deleted);
    if let Err(JobError::Lost) = &ran {
        // Canceled (or taken over): what it deleted stays deleted; say how many.
        let words = format!(
            "Stopped after deleting {} of {}; those stay deleted",
            crate::extract::thousands(deleted as u64),
            crate::words::records(ids.len() as u64)
        );
        super::say_after_end(cx, conn, job, &words);
    }
    ran?;
    // Progress past 0 is what an earlier run's batches committed (probe 65b D1: a run cut
    // off before its first batch was said to have deleted others).
    let mut message = if job.crashes > 0 && floor > 0 {
        format!(
            "Deleted {} from {} (a run cut off earlier had deleted others)",
            crate::words::counted(deleted as u64, "more record", "more records"),
            ctx.sheet.name
        )
    } else {
        format!(
            "Deleted {} from {}",
            crate::words::records(deleted as u64),
            ctx.sheet.name
        )
    };
    if left_out > 0 {
        message.push_str(&format!(
            "; {} the view came to show after the delete was confirmed {} kept",
            crate::words::records(left_out as u64),
            if left_out == 1 { "was" } else { "were" }
        ));
    }
    super::complete(conn, job, worker, json!({"message": message}), "Records deleted")
}

/// A digest of the records a view selects (their ids, in order): the grid's confirmation
/// keeps it, so a delete deletes the records counted, not others that took their place.
pub fn selection_digest(ids: &[i64]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for id in ids {
        hash.update(id.to_le_bytes());
    }
    hex::encode(&hash.finalize()[..16])
}

/// The records a delete with a `config.selection` (a digest of the ids a confirmation
/// counted) may delete, and how many of the view's it leaves out. The grid's delete starts
/// with the counted ids in its checkpoint: it deletes those the view still shows when it
/// runs (one fixed or deleted meanwhile is left out), never one that came into the view
/// after the count, also when it resumes after a crash. A job made through the API with a
/// digest alone deletes nothing unless the view selects exactly the counted records; once
/// it does, the ids are kept in the checkpoint before anything is deleted, for a resume.
fn confirmed_part(
    conn: &mut AnyConnection,
    job: &Job,
    config: &Value,
    upto: Option<i64>,
    selected: Vec<i64>,
) -> Result<(Vec<i64>, usize), JobError> {
    let Some(counted) = config.get("selection").and_then(Value::as_str) else {
        return Ok((selected, 0));
    };
    if let Some(confirmed) = confirmed_of(job.checkpoint.as_deref()) {
        let (kept, new): (Vec<i64>, Vec<i64>) = selected.into_iter().partition(|id| confirmed.contains(*id));
        return Ok((kept, new.len()));
    }
    if !selection_digest(&selected).eq_ignore_ascii_case(counted) {
        return Err(JobError::Failed(
            "The records this view shows changed after the delete was confirmed (someone fixed, broke, deleted or changed some); nothing was deleted. Look at the view again and delete from there.".into(),
        ));
    }
    let checkpoint = confirmed_checkpoint(upto, &selected);
    super::take_back::set_checkpoint(conn, job, Some(checkpoint))?;
    Ok((selected, 0))
}

/// The checkpoint of a delete that knows the records its confirmation counted.
pub fn confirmed_checkpoint(upto: Option<i64>, ids: &[i64]) -> String {
    json!({"upto": upto, "confirmed": IdRanges::of(ids).to_string()}).to_string()
}

/// What a retried delete keeps of its checkpoint: the records its confirmation counted
/// (the ceiling goes: it selects anew).
pub fn confirmed_only(checkpoint: Option<&str>) -> Option<String> {
    let confirmed = confirmed_of(checkpoint)?;
    Some(json!({"confirmed": confirmed.to_string()}).to_string())
}

/// The ids a delete's confirmation counted (see `confirmed_part`), if it knows them.
fn confirmed_of(checkpoint: Option<&str>) -> Option<IdRanges> {
    let checkpoint: Value = serde_json::from_str(checkpoint?).ok()?;
    IdRanges::parse(checkpoint["confirmed"].as_str()?)
}

/// Record ids, sorted, as ranges written `1-5,7,9-12`: a view's errors are mostly runs of
/// ids, so a million of them take little room in a checkpoint.
#[derive(Debug, PartialEq)]
pub struct IdRanges(Vec<(i64, i64)>);

impl IdRanges {
    pub fn of(ids: &[i64]) -> Self {
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        let mut ranges: Vec<(i64, i64)> = Vec::new();
        for id in sorted {
            match ranges.last_mut() {
                Some((_, end)) if id <= *end + 1 => *end = (*end).max(id),
                _ => ranges.push((id, id)),
            }
        }
        Self(ranges)
    }

    pub fn parse(text: &str) -> Option<Self> {
        let ranges = text
            .split(',')
            .filter(|part| !part.is_empty())
            .map(|part| match part.split_once('-') {
                Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                None => part.parse().ok().map(|id| (id, id)),
            })
            .collect::<Option<Vec<(i64, i64)>>>()?;
        Some(Self(ranges))
    }

    pub fn contains(&self, id: i64) -> bool {
        let at = self.0.partition_point(|(_, end)| *end < id);
        self.0.get(at).is_some_and(|(start, _)| *start <= id)
    }
}

impl std::fmt::Display for IdRanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (start, end)) in self.0.iter().enumerate() {
            let comma = if i > 0 { "," } else { "" };
            match start == end {
                true => write!(f, "{comma}{start}")?,
                false => write!(f, "{comma}{start}-{end}")?,
            }
        }
        Ok(())
    }
}

/// Deletes `ids` a batch at a time, counting into `deleted` as each commits.
#[allow(clippy::too_many_arguments)]
fn delete_batches(
    cx: &super::Context,
    conn: &mut AnyConnection,
    job: &Job,
    ctx: &SheetContext,
    ids: &[RecordId],
    floor: usize,
    progress: &mut Progress,
    deleted: &mut usize,
) -> Result<(), JobError> {
    let total = ids.len().max(1);
    let mut batches = Batches::new(ids, BATCH, MOST);
    while let Some(chunk) = batches.next_batch() {
        let started = Instant::now();
        let so_far = *deleted;
        let gone = progress.fenced(conn, |conn| {
            // The sheet as it is now (a field change between batches does not stop it;
            // a lock does).
            let ctx = sheet::relock_fresh(conn, ctx)?;
            stop_if_refused(conn, &ctx, &job.created_by, || {
                format!(
                    "after deleting {} of {}",
                    crate::extract::thousands(so_far as u64),
                    crate::words::records(ids.len() as u64)
                )
            })?;
            Ok(record::delete_present_unlocked(
                conn,
                &ctx,
                chunk,
                &job.created_by,
            )?)
        })?;
        batches.took(chunk.len(), started.elapsed());
        *deleted += gone.rows;
        cx.announce.sheet_changed(&ctx.sheet.id);
        for other in &gone.also_changed {
            cx.announce.sheet_changed(other);
        }
        let done = batches.done();
        let percent = floor + (99 - floor) * done.min(total) / total;
        progress.report(conn, percent as i32, "Deleting records")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::IdRanges;

    #[test]
    fn id_ranges_keep_exactly_their_ids() {
        let ids = [9, 1, 2, 3, 7, 12, 10, 11, 3];
        let ranges = IdRanges::of(&ids);
        assert_eq!(ranges.to_string(), "1-3,7,9-12");
        assert_eq!(IdRanges::parse(&ranges.to_string()), Some(ranges));
        let back = IdRanges::parse("1-3,7,9-12").unwrap();
        let inside: Vec<i64> = (0..14).filter(|id| back.contains(*id)).collect();
        assert_eq!(inside, vec![1, 2, 3, 7, 9, 10, 11, 12]);
        assert_eq!(IdRanges::parse("1-x"), None);
        assert!(!IdRanges::parse("").unwrap().contains(1));
    }

    #[test]
    fn a_retry_keeps_the_confirmed_ids_only() {
        let checkpoint = super::confirmed_checkpoint(Some(9), &[3, 4, 5]);
        assert_eq!(
            super::confirmed_only(Some(&checkpoint)).as_deref(),
            Some(r#"{"confirmed":"3-5"}"#)
        );
        assert_eq!(super::confirmed_only(Some(r#"{"upto":9}"#)), None);
        assert_eq!(super::confirmed_only(None), None);
    }
}

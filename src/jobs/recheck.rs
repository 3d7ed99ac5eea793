//! `sheet:recheck-records` (queued by a field change, source: the sheet): re-checks every
//! record of the sheet under its fields as they are when each batch runs, a batch per
//! transaction fenced to the job's attempt, so counts equal the stored records at every
//! moment and people's saves wait for one batch at most, a batch sized to take about half a
//! second ([`crate::db::batch_size::next`]). The last record done is kept in
//! the job's checkpoint with each batch: a job cut off by a stop resumes after it. A job
//! overtaken by a later field change's stops at its next batch: the later one checks all.

use super::{JobError, Progress, BATCH};
use crate::db::AnyConnection;
use crate::ids::SheetId;
use crate::model::job::{self, Job, JobChanges};
use crate::model::record::fields::recheck_batch;
use crate::model::sheet_fields::{later_recheck, locked_context};
use crate::model::ModelError;
use serde_json::{json, Value};
use std::time::Instant;

pub fn run(cx: &super::Context, worker: &str, job: &Job, conn: &mut AnyConnection) -> Result<(), JobError> {
    super::refuse_crash_loop(job)?;
    let id = SheetId::parse(&job.source)
        .ok_or_else(|| JobError::Failed(format!("`{}` is not a sheet id", job.source)))?;
    let env = &job.environment_id;
    // Where an attempt cut off by a stop got to, and how many it had checked.
    let checkpoint: Value = job
        .checkpoint
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    let mut after = checkpoint["after"].as_i64().unwrap_or(0);
    let mut checked = checkpoint["checked"].as_u64().unwrap_or(0) as usize;
    let mut progress = Progress::new(cx, job, worker);
    let mut name = String::new();
    let mut later = None;
    let mut size = BATCH as i64;
    loop {
        let started = Instant::now();
        let step = progress.fenced(conn, |conn| {
            let ctx = match locked_context(conn, env, &id) {
                Ok(ctx) => ctx,
                Err(ModelError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            // A later field change's job checks every record again: no need to go on.
            if let Some(id) = later_recheck(conn, job)? {
                return Ok(Some((ctx.sheet.name.clone(), ctx.sheet.total_count, Err(id))));
            }
            let done = recheck_batch(conn, &ctx, after, size, &job.created_by)?;
            if let Some(d) = &done {
                let so_far = checked + d.count;
                let changes = JobChanges {
                    checkpoint: Some(Some(json!({"after": d.last_id, "checked": so_far}).to_string())),
                    ..Default::default()
                };
                job::change(conn, &job.id, changes, None, &job.created_by)?;
            }
            Ok(Some((ctx.sheet.name.clone(), ctx.sheet.total_count, Ok(done))))
        })?;
        // The sheet was deleted meanwhile: nothing is left to check.
        let Some((sheet_name, total, done)) = step else {
            break;
        };
        name = sheet_name;
        let done = match done {
            Ok(Some(done)) => done,
            Ok(None) => break,
            Err(id) => {
                later = Some(id);
                break;
            }
        };
        after = done.last_id;
        checked += done.count;
        size = crate::db::batch_size::next(size as usize, started.elapsed(), BATCH) as i64;
        cx.announce.sheet_changed(&id);
        for other in &done.also_changed {
            cx.announce.sheet_changed(other);
        }
        let total = total.max(1) as usize;
        progress.report(conn, (checked.min(total) * 99 / total) as i32, "Checking records")?;
    }
    let message = match later {
        Some(id) => format!(
            "Checked {} of {name}, then stopped: a later re-check (job {id}, after a field change or a validation) checks every record again",
            crate::words::records(checked as u64)
        ),
        None => format!("Checked {} of {name} against its fields", crate::words::records(checked as u64)),
    };
    super::complete(conn, job, worker, json!({"message": message}), "Records checked")
}

//! Taking back what a stopped import or bulk change wrote, so that it survives a stop of
//! the process doing it. A canceled or failed mapping keeps the records still to delete in
//! its checkpoint (`takingBack`) until they are gone; a canceled or failed bulk change keeps
//! its history entry not undone. Whoever finds such a job (its own worker, a retry of it,
//! or [`sweep`] at start and on PostgreSQL every so often) finishes the work.

use crate::db::schema::{bulk_changes, jobs};
use crate::db::AnyConnection;
use crate::ids::{BulkChangeId, EnvironmentId, RecordId, SheetId};
use crate::model::job::{status, Job};
use crate::model::record::{self, bulk_history};
use crate::model::sheet;
use crate::model::{now, ModelError, ModelResult};
use diesel::prelude::*;

/// How long a batch is tried again while field changes keep overtaking it (each retry
/// follows a committed field change, so this bounds the wait, not the changes met).
const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// Deletes `ids` from a sheet in batches, each on the sheet's fields of the moment (records
/// deleted meanwhile by others are skipped); after each batch `left` hears what remains.
pub fn delete_records(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    sheet_id: &SheetId,
    ids: &[RecordId],
    actor: &str,
    mut left: impl FnMut(&mut AnyConnection, &[RecordId]) -> ModelResult<()>,
) -> ModelResult<usize> {
    let mut deleted = 0;
    let mut batches = crate::db::batch_size::Batches::new(ids, super::BATCH, crate::db::batch_size::MOST);
    while let Some(chunk) = batches.next_batch() {
        let started = std::time::Instant::now();
        let gone = loop {
            let ctx = match sheet::load_context(conn, env, sheet_id) {
                Ok(ctx) => ctx,
                // The sheet itself is gone, and its records with it.
                Err(ModelError::NotFound(_)) => return Ok(deleted),
                Err(e) => return Err(e),
            };
            match record::delete_present(conn, &ctx, chunk, actor) {
                Err(ModelError::Stale(_)) if started.elapsed() < FRESH_FOR => {}
                Err(ModelError::NotFound("sheet")) => return Ok(deleted),
                other => break other?,
            }
        };
        batches.took(chunk.len(), started.elapsed());
        deleted += gone.rows;
        left(conn, batches.rest())?;
    }
    Ok(deleted)
}

/// Sets a job's checkpoint, unless another attempt has the job since `job` was read.
pub fn set_checkpoint(conn: &mut AnyConnection, job: &Job, checkpoint: Option<String>) -> ModelResult<()> {
    crate::db::write(conn, |conn| {
        diesel::update(jobs::table.find(&job.id).filter(jobs::attempts.eq(job.attempts)))
            .set((jobs::checkpoint.eq(checkpoint), jobs::updated_at.eq(now())))
            .execute(conn)
    })?;
    Ok(())
}

/// Finishes what stopped imports, bulk changes and extractions left to take back (their
/// process stopped before it had). Returns how many jobs it finished.
pub fn sweep(cx: &super::Context, conn: &mut AnyConnection) -> Result<usize, super::JobError> {
    let ended = [status::CANCELED, status::FAILED];
    let mut finished = super::extract::sweep_stopped(cx, conn)?;
    // Marked by a worker that stopped while taking back; or canceled with records written
    // and no worker left to notice the cancel.
    let maps: Vec<Job> = jobs::table
        .filter(jobs::status.eq_any(ended))
        .filter(jobs::job_type.eq("workbook"))
        .filter(jobs::operation.eq("map"))
        .filter(
            jobs::checkpoint.like("%\"takingBack\":true%").or(jobs::status
                .eq(status::CANCELED)
                .and(jobs::checkpoint.like("%\"written\":[[%"))),
        )
        .select(Job::as_select())
        .load(conn)?;
    for job in maps {
        if let Some(job) = super::map::marked_for_take_back(conn, job)? {
            super::map::finish_take_back(cx, conn, &job)?;
            finished += 1;
        }
    }
    let bulks: Vec<(String, SheetId, Job)> = bulk_changes::table
        .inner_join(jobs::table.on(bulk_changes::job_id.eq(jobs::id.nullable())))
        .filter(jobs::status.eq_any(ended))
        .filter(bulk_changes::undone_at.is_null())
        .select((bulk_changes::id, bulk_changes::sheet_id, Job::as_select()))
        .load(conn)?;
    for (bulk, sheet_id, job) in bulks {
        let Some(bulk) = BulkChangeId::parse(&bulk) else {
            continue;
        };
        // Its own worker is still taking it back (a cancel reaches it at its next batch):
        // two take-backs at once each said how many cells they put back, the last word
        // winning ("put back 0" after 15,000).
        if crate::model::job_queue::is_held(conn, &job.id)? {
            continue;
        }
        let ctx = match sheet::load_context(conn, &job.environment_id, &sheet_id) {
            Ok(ctx) => ctx,
            Err(ModelError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        let undone = bulk_history::take_back(conn, &ctx, &bulk, &job.created_by)?;
        cx.announce.sheet_changed(&ctx.sheet.id);
        super::say_after_end(cx, conn, &job, &super::bulk_change::put_back_words(&undone));
        finished += 1;
    }
    Ok(finished)
}

//! One extraction of a file at a time: the file names the job extracting it
//! (`extracting_job`); a second one is refused while that job runs, and waits while a
//! canceled one is still taking back what it made.

use super::JobError;
use crate::db::AnyConnection;
use crate::ids::FileId;
use crate::model::job::{self, Job};

/// How long an extraction waits for the one before it on the same file to end.
const HOLDER_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Waits while the file's last extraction, another job that has ended (canceled), is still
/// run by its worker: that worker takes back its workbook and marks the file, which would
/// otherwise interleave with this extraction (the file then named a workbook taken back,
/// and the extraction before both stayed beside this one's).
pub(super) fn wait_for_the_last_holder(
    conn: &mut AnyConnection,
    job: &Job,
    worker: &str,
    file: &FileId,
) -> Result<(), JobError> {
    use crate::db::schema::files;
    use diesel::prelude::*;
    let started = std::time::Instant::now();
    loop {
        let holder: Option<Option<String>> = files::table
            .find(file.as_str())
            .select(files::extracting_job)
            .first(conn)
            .optional()?;
        let Some(holder) = holder.flatten().and_then(|h| crate::ids::JobId::parse(&h)) else {
            return Ok(());
        };
        // A holder still executing is refused below, at once.
        let ended = match job::get(conn, &holder) {
            Ok(h) => h.status != job::status::EXECUTING,
            Err(diesel::result::Error::NotFound) => true,
            Err(e) => return Err(e.into()),
        };
        let busy = holder != job.id && ended && crate::model::job_queue::is_held(conn, &holder)?;
        if !busy || started.elapsed() > HOLDER_WAIT {
            return Ok(());
        }
        // Canceled meanwhile itself: nothing was started.
        if !job::heartbeat(conn, job, worker)? {
            return Err(JobError::Lost);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// One extraction of a file at a time: two would each make a workbook and only one would be
/// the file's. The file names the job extracting it; another takes it over only once that
/// job no longer runs (a retry of the same job keeps it).
pub(super) fn refuse_second_extraction(
    conn: &mut AnyConnection,
    job: &Job,
    file: &FileId,
) -> Result<(), JobError> {
    use crate::db::schema::{files, jobs};
    use diesel::dsl::{exists, not};
    use diesel::prelude::*;
    let holder_runs = exists(
        jobs::table
            .filter(jobs::id.nullable().eq(files::extracting_job))
            .filter(jobs::id.ne(job.id.as_str()))
            .filter(jobs::status.eq(crate::model::job::status::EXECUTING)),
    );
    // The file's row is locked first, and the holder read by a later statement: on
    // PostgreSQL, one statement waiting on the lock would judge the holder's job by the
    // snapshot it took before that job's claim was committed, and both would run.
    let taken = crate::db::write_tx(conn, |conn| {
        // The space first, as its deletion takes them (see `space::hold`).
        crate::model::file::hold_space_of(conn, file)?;
        diesel::update(files::table.find(file.as_str()))
            .set(files::extracting_job.eq(files::extracting_job))
            .execute(conn)?;
        // Under the file's row, which a mapping's start waits for: of the two, one sees
        // the other (probe 66g D4).
        if let Some(mapping) = mapping_of(conn, file)? {
            return Ok(Err(mapping));
        }
        diesel::update(files::table.find(file.as_str()).filter(not(holder_runs)))
            .set(files::extracting_job.eq(job.id.as_str()))
            .execute(conn)
            .map(Ok)
    })
    .map_err(|e: diesel::result::Error| JobError::Internal(e.into()))?;
    let taken = taken.map_err(|mapping| {
        JobError::Failed(format!(
            "the file's records are being mapped by job {mapping}; extract it again once that mapping has ended"
        ))
    })?;
    if taken == 1 {
        return Ok(());
    }
    let holder: Option<Option<String>> = files::table
        .find(file.as_str())
        .select(files::extracting_job)
        .first(conn)
        .optional()
        .map_err(|e| JobError::Internal(e.into()))?;
    match holder {
        // A deleted file fails where it is read.
        None => Ok(()),
        Some(other) => Err(JobError::Failed(format!(
            "the file is being extracted by job {}; one extraction of a file runs at a time",
            other.unwrap_or_default()
        ))),
    }
}

/// The mapping reading the file's records now, if one does: a new extraction would replace
/// the workbook being read, and the mapping would fail and take back what it wrote (probe
/// 66b D3, SQLite: 600,000 records of a person's import gone). One still being planned
/// does not hold it: a mapping screen left open would hold the file for good.
fn mapping_of(conn: &mut AnyConnection, file: &FileId) -> diesel::QueryResult<Option<String>> {
    use crate::db::schema::{files, jobs};
    use crate::model::job::status;
    use diesel::prelude::*;
    let workbook: Option<Option<String>> = files::table
        .find(file.as_str())
        .select(files::workbook_id)
        .first(conn)
        .optional()?;
    let Some(Some(workbook)) = workbook else {
        return Ok(None);
    };
    jobs::table
        .filter(jobs::job_type.eq("workbook"))
        .filter(jobs::operation.eq("map"))
        .filter(jobs::source.eq(workbook))
        .filter(jobs::status.eq_any([status::READY, status::EXECUTING]))
        .select(jobs::id)
        .first(conn)
        .optional()
}

//! The sheet a built-in job writes, and whether someone may set it going while that sheet
//! is locked. Judged at every start (create, execute, retry, in the API and on the pages)
//! as the one starting it, not the job's author: a guest retrying a team's delete job is
//! held to the lock as its own job would be. The jobs check again at each batch.

use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, SheetId};
use crate::model::job::{Job, JobInput};
use crate::model::sheet;
use crate::model::ModelResult;
use serde_json::Value;

/// What a job is, as far as its target goes.
struct Target<'a> {
    env: &'a EnvironmentId,
    job_type: &'a str,
    operation: &'a str,
    source: &'a str,
    config: &'a Value,
}

/// The sheet a built-in job of this kind writes records of, if any.
fn written_sheet(conn: &mut AnyConnection, t: &Target) -> Option<sheet::SheetContext> {
    let id = match (t.job_type, t.operation) {
        ("workbook", "delete-records" | "bulk-change") => {
            return super::delete::target(conn, t.env, t.operation, t.source, t.config)
                .ok()
                .map(|(ctx, _)| ctx);
        }
        ("workbook", "map") => t.config.get("destinationSheetId")?.as_str()?.to_string(),
        ("sheet", crate::model::sheet_fields::RECHECK) => t.source.to_string(),
        _ => return None,
    };
    sheet::load_context(conn, t.env, &SheetId::parse(&id)?).ok()
}

/// 409 when the sheet the job writes is locked and `actor` is not a secret key. A job
/// whose target cannot be read is left to fail on its own, with its own words.
fn refuse(conn: &mut AnyConnection, t: &Target, actor: &str) -> ModelResult<()> {
    match written_sheet(conn, t) {
        Some(ctx) => super::delete::refuse_locked(&ctx, actor),
        None => Ok(()),
    }
}

/// [`refuse`] for a job about to be made.
pub fn refuse_locked_input(conn: &mut AnyConnection, input: &JobInput, actor: &str) -> ModelResult<()> {
    let target = Target {
        env: &input.environment_id,
        job_type: &input.job_type,
        operation: &input.operation,
        source: &input.source,
        config: &input.config,
    };
    refuse(conn, &target, actor)
}

/// [`refuse`] for a stored job being executed or retried.
pub fn refuse_locked_job(conn: &mut AnyConnection, job: &Job, actor: &str) -> ModelResult<()> {
    let config: Value = serde_json::from_str(&job.config).unwrap_or_default();
    let target = Target {
        env: &job.environment_id,
        job_type: &job.job_type,
        operation: &job.operation,
        source: &job.source,
        config: &config,
    };
    refuse(conn, &target, actor)
}

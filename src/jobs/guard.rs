//! The sheet a built-in job writes, and whether someone may set it going while that sheet
//! is locked. Judged at every start (create, execute, retry, in the API and on the pages)
//! as the one starting it, not the job's author: a guest retrying a team's delete job is
//! held to the lock as its own job would be. The jobs check again at each batch.

use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, SheetId};
use crate::model::job::Job;
use crate::model::sheet;
use crate::model::ModelResult;
use serde_json::Value;

/// The sheet a built-in job of this kind writes records of, if any.
fn written_sheet(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    job_type: &str,
    operation: &str,
    source: &str,
    config: &Value,
) -> Option<sheet::SheetContext> {
    let id = match (job_type, operation) {
        ("workbook", "delete-records" | "bulk-change") => {
            return super::delete::target(conn, env, source, config)
                .ok()
                .map(|(ctx, _)| ctx);
        }
        ("workbook", "map") => config.get("destinationSheetId")?.as_str()?.to_string(),
        ("sheet", crate::model::sheet_fields::RECHECK) => source.to_string(),
        _ => return None,
    };
    sheet::load_context(conn, env, &SheetId::parse(&id)?).ok()
}

/// 409 when the sheet the job writes is locked and `actor` is not a secret key. A job
/// whose target cannot be read is left to fail on its own, with its own words.
pub fn refuse_locked_start(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    job_type: &str,
    operation: &str,
    source: &str,
    config: &Value,
    actor: &str,
) -> ModelResult<()> {
    match written_sheet(conn, env, job_type, operation, source, config) {
        Some(ctx) => super::delete::refuse_locked(&ctx, actor),
        None => Ok(()),
    }
}

/// [`refuse_locked_start`] for a stored job.
pub fn refuse_locked_job(conn: &mut AnyConnection, job: &Job, actor: &str) -> ModelResult<()> {
    let config: Value = serde_json::from_str(&job.config).unwrap_or_default();
    refuse_locked_start(
        conn,
        &job.environment_id,
        &job.job_type,
        &job.operation,
        &job.source,
        &config,
        actor,
    )
}

//! `workbook:map`: writes the source sheet's records into the destination sheet through
//! the plan's field mapping.

use super::JobError;
use crate::app::AppState;
use crate::model::job::Job;

pub fn run(_state: &AppState, _worker: &str, job: &Job) -> Result<(), JobError> {
    Err(JobError::Failed(format!("{} is not available yet", job.name())))
}

//! Mapping plans of `workbook:map` jobs: made automatically at creation, read and changed
//! through /v1/jobs/{id}/plan.

use crate::db::AnyConnection;
use crate::ids::EnvironmentId;
use crate::model::job::JobInput;
use crate::model::ModelResult;
use serde_json::{json, Value};

/// The automatic plan of a new mapping job.
pub fn initial_plan(
    _conn: &mut AnyConnection,
    _env: &EnvironmentId,
    _input: &JobInput,
) -> ModelResult<Value> {
    Ok(json!({"fieldMapping": [], "unmappedSourceFields": [], "unmappedDestinationFields": []}))
}

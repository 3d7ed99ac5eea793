//! `metadata` of a space, workbook or environment: an object of the client's, bounded.

use crate::web::error::AppError;
use serde_json::Value;

/// Most JSON such a `metadata` holds, as a job's: every list of them sends it whole, so a
/// 60 MB space metadata made each `GET /v1/spaces` 63 MB and four at once 1.3 GB of
/// memory, and an environment's went to every key's list (probe 65e D1).
pub const MAX_BYTES: usize = 256 * 1024;

/// An object (or `null`, emptying it) of at most [`MAX_BYTES`]; a space's took a string.
pub fn check(metadata: Option<&Value>) -> Result<(), AppError> {
    match metadata {
        None | Some(Value::Null) => Ok(()),
        Some(m) if !m.is_object() => Err(AppError::invalid("metadata", "metadata must be an object")),
        Some(m) if m.to_string().len() > MAX_BYTES => Err(AppError::invalid(
            "metadata",
            format!("metadata holds at most {} KiB of JSON", MAX_BYTES / 1024),
        )),
        Some(_) => Ok(()),
    }
}

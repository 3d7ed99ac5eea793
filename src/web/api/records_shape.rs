//! Which fields a read of records asks for in each record (`fields`).

use crate::blueprint::SheetConfig;
use crate::web::error::AppError;

/// The fields a read asks for (`fields`, repeated or comma-separated, as the official
/// client sends a list), by position; `None` without the parameter.
pub(super) fn only_fields(
    config: &SheetConfig,
    params: &[(String, String)],
) -> Result<Option<Vec<bool>>, AppError> {
    let mut only: Option<Vec<bool>> = None;
    for (_, list) in params.iter().filter(|(k, _)| k == "fields") {
        let marks = only.get_or_insert_with(|| vec![false; config.fields.len()]);
        // A value that is a key whole names that field, even a key with a comma in it.
        let keys: Vec<&str> = match config.field_index(list) {
            Some(_) => vec![list.as_str()],
            None => list.split(',').map(str::trim).filter(|k| !k.is_empty()).collect(),
        };
        for key in keys {
            let Some(i) = config.field_index(key) else {
                return Err(AppError::bad_request(
                    "fields",
                    format!("this sheet has no field `{key}`"),
                ));
            };
            marks[i] = true;
        }
    }
    if only.as_ref().is_some_and(|marks| !marks.contains(&true)) {
        return Err(AppError::bad_request(
            "fields",
            "name at least one field, or leave `fields` out for all of them",
        ));
    }
    Ok(only)
}

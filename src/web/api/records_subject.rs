//! `GET /v1/sheets/{id}/records?subjectOf=<job>`: the records a sheet action's job was
//! given (its `dataUrl` when the selection is too long for an address).

use crate::app::AppState;
use crate::auth::SpaceCaller;
use crate::model::sheet::SheetContext;
use crate::web::error::AppError;

/// `subjectOf=<job>` (the `dataUrl` of a sheet action on many selected records): the job's
/// selection in place of the parameter, with the caller's others (`pageSize`, `fields`...).
pub(super) async fn params(
    state: &AppState,
    caller: &SpaceCaller,
    ctx: &SheetContext,
    raw: &str,
    given: &[(String, String)],
) -> Result<Vec<(String, String)>, AppError> {
    let id = crate::ids::JobId::parse(raw)
        .ok_or_else(|| AppError::bad_request("subjectOf", format!("`{raw}` is not a job id")))?;
    let env = caller.environment_id.clone();
    let job = state
        .db(move |conn| crate::model::job::find(conn, &env, &id))
        .await?
        .filter(|j| j.source == ctx.sheet.id.as_str())
        .ok_or(AppError::NotFound("job"))?;
    let selection = crate::model::job_subject::subject_query(&job).ok_or_else(|| {
        AppError::bad_request(
            "subjectOf",
            "that job's subject is no selection of records".to_string(),
        )
    })?;
    let mut out: Vec<(String, String)> = selection.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    out.extend(given.iter().filter(|(k, _)| k != "subjectOf").cloned());
    Ok(out)
}

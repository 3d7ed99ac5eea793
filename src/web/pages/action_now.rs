//! Whether an action may run now, judged on the server: at a click in the grid, and when a
//! guest starts an action's job through the API (a guest runs the actions of its spaces,
//! held to the same constraints, messages and pending checks as the button).

use super::grid_actions::{actions_in, off_because, sum, ActionView, Situation};
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, RecordId, SheetId, WorkbookId};
use crate::model::job::Job;
use crate::model::record;
use crate::model::sheet::{self, Sheet};
use crate::model::{commit, workbook, ModelError, ModelResult};
use serde_json::Value;

/// Where an action is run from: its scope, its workbook, and the sheet whose records are
/// selected (the sheet of a sheet action; the open one for a workbook action).
pub struct Place<'a> {
    pub scope: &'static str,
    pub workbook: &'a WorkbookId,
    pub sheet: Option<&'a Sheet>,
    pub selected: &'a [i64],
    /// The records a Submit froze, counted: judged instead of the sheets as they are now
    /// (read page by page while people edit, a record in error then fixed went out in
    /// error: probe 66g D1). Records still being checked are judged live.
    pub frozen: Option<crate::model::sheet::Counts>,
}

/// The action of `operation` at `place` (`None`: there is none), and why it cannot run now
/// (`None`: it can).
pub fn judge(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    place: &Place,
    operation: &str,
) -> ModelResult<Option<(ActionView, Option<String>)>> {
    let wb = workbook::find(conn, env, place.workbook)?.ok_or(ModelError::NotFound("workbook"))?;
    let sheets = sheet::list_in_workbook(conn, place.workbook)?;
    let whole = place.scope == "workbook";
    let this = place.sheet.map(|s| s.id.clone());
    // `trackChanges`: commits still being checked hold the actions back.
    let mut checking = 0;
    for s in sheets.iter().filter(|s| whole || Some(&s.id) == this.as_ref()) {
        checking += commit::open_records(conn, &s.id)?.checking.len();
    }
    // Only ids of records of the sheet count as selected.
    let (selected, selected_errors) = match (place.sheet, place.selected.is_empty()) {
        (Some(s), false) => (
            record::count_present(conn, s.seq, place.selected)?,
            record::count_invalid(conn, s.seq, place.selected)?,
        ),
        _ => (0, 0),
    };
    let mut now = Situation {
        selected: usize::try_from(selected).unwrap_or(usize::MAX),
        selected_errors: usize::try_from(selected_errors).unwrap_or(usize::MAX),
        checking,
        ..Default::default()
    };
    if let (Some(frozen), true) = (&place.frozen, now.selected > 0) {
        now.selected = usize::try_from(frozen.total).unwrap_or(usize::MAX);
        now.selected_errors = usize::try_from(frozen.error).unwrap_or(usize::MAX);
    }
    let actions = match (whole, place.sheet) {
        (true, _) => {
            now.counts = place
                .frozen
                .clone()
                .unwrap_or_else(|| sum(sheets.iter().map(|s| s.counts())));
            let stored = serde_json::from_str(&wb.actions).unwrap_or(Value::Null);
            actions_in(&stored, "workbook", &now)
        }
        (false, Some(s)) => {
            now.counts = place.frozen.clone().unwrap_or_else(|| s.counts());
            let config: Value = serde_json::from_str(&s.config).unwrap_or(Value::Null);
            actions_in(&config["actions"], "sheet", &now)
        }
        (false, None) => Vec::new(),
    };
    Ok(actions.into_iter().find(|a| a.operation == operation).map(|a| {
        let why = off_because(&a, &now);
        (a, why)
    }))
}

/// The action of `operation` among a file's `actions` (its stored JSON), and why it cannot
/// run now: the Files tab's button and a guest's `POST /v1/jobs` alike.
pub fn judge_file(actions: &str, operation: &str) -> Option<(ActionView, Option<String>)> {
    super::grid_actions::file_actions(actions)
        .into_iter()
        .find(|a| a.operation == operation)
        .map(|a| {
            let why = (!a.off_because.is_empty()).then(|| a.off_because.clone());
            (a, why)
        })
}

/// [`judge`] for a job of an action: its workbook or sheet (`source`, by `scope`) and the
/// records its subject selects.
pub fn judge_job(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    scope: &'static str,
    source: &str,
    subject: Option<&Value>,
    operation: &str,
    frozen: Option<crate::model::sheet::Counts>,
) -> ModelResult<Option<(ActionView, Option<String>)>> {
    let (workbook_id, sheet_row) = match scope {
        "sheet" => {
            let id = SheetId::parse(source).ok_or(ModelError::NotFound("sheet"))?;
            let (s, _) = sheet::find(conn, env, &id)?.ok_or(ModelError::NotFound("sheet"))?;
            (s.workbook_id.clone(), Some(s))
        }
        _ => (
            WorkbookId::parse(source).ok_or(ModelError::NotFound("workbook"))?,
            None,
        ),
    };
    // Beside a filter, a subject's ids are the records it leaves out: no selection, and
    // the whole sheet is held to the action's constraints.
    let query = subject.map(|s| &s["query"]);
    // (Read as the subject is read: text members only, as `job_subject::subject_query`.)
    let filtered = query.and_then(Value::as_object).is_some_and(|q| {
        q.iter()
            .any(|(k, v)| v.as_str().is_some_and(|v| record::selection::filters(k, v)))
    });
    let selected: Vec<i64> = query
        .filter(|_| !filtered)
        .and_then(|q| q["ids"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|id| RecordId::parse(id.as_str()?).map(|r| r.0))
        .collect();
    let place = Place {
        scope,
        workbook: &workbook_id,
        sheet: sheet_row.as_ref(),
        selected: &selected,
        frozen,
    };
    judge(conn, env, &place, operation)
}

/// Why a stored job of a workbook's or sheet's action may not run now, as its button
/// would say (`None`: it may, or no action offers it).
pub fn job_refused(conn: &mut AnyConnection, j: &Job) -> ModelResult<Option<String>> {
    Ok(judge_stored(conn, j, None)?
        .and_then(|(label, why)| why.map(|why| format!("{label} cannot run now: {why}"))))
}

/// Why a Submit may not send the records it froze (counted in `frozen`), asked as it hands
/// them over: what changed while it waited for a worker counts (probe 66a D3), and a Submit
/// whose action was taken away meanwhile does not go (probe 66g D6).
pub fn submit_refused(
    conn: &mut AnyConnection,
    j: &Job,
    frozen: crate::model::sheet::Counts,
) -> ModelResult<Option<String>> {
    Ok(match judge_stored(conn, j, Some(frozen))? {
        Some((label, why)) => why.map(|why| format!("{label} cannot run now: {why}")),
        None => Some(format!(
            "the action `{}` was taken away since it was asked for",
            j.operation
        )),
    })
}

/// The label of a stored job's action and why it may not run (`None`: no action offers it).
fn judge_stored(
    conn: &mut AnyConnection,
    j: &Job,
    frozen: Option<crate::model::sheet::Counts>,
) -> ModelResult<Option<(String, Option<String>)>> {
    let scope = match j.job_type.as_str() {
        "workbook" => "workbook",
        "sheet" => "sheet",
        _ => return Ok(None),
    };
    let subject: Option<Value> = j.subject.as_deref().and_then(|s| serde_json::from_str(s).ok());
    let judged = judge_job(
        conn,
        &j.environment_id,
        scope,
        &j.source,
        subject.as_ref(),
        &j.operation,
        frozen,
    )?;
    Ok(judged.map(|(action, why)| (action.label, why)))
}

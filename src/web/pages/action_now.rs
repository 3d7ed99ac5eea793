//! Whether an action may run now, judged on the server: at a click in the grid, and when a
//! guest starts an action's job through the API (a guest runs the actions of its spaces,
//! held to the same constraints, messages and pending checks as the button).

use super::grid_actions::{actions_in, off_because, sum, ActionView, Situation};
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, WorkbookId};
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
    let actions = match (whole, place.sheet) {
        (true, _) => {
            now.counts = sum(sheets.iter().map(|s| s.counts()));
            let stored = serde_json::from_str(&wb.actions).unwrap_or(Value::Null);
            actions_in(&stored, "workbook", &now)
        }
        (false, Some(s)) => {
            now.counts = s.counts();
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

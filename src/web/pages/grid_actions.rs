//! The grid's action buttons: workbook actions in the workbook's toolbar, sheet actions in
//! the sheet's, read from the stored `Action` JSON (checked when it was written). Whether a
//! button is on is worked out here for the first paint and again in the browser (static/app.js)
//! as counts and the selection change; the server checks once more at the click.

use crate::model::sheet::Counts;
use serde_json::Value;

/// One input of an action's `inputForm`.
pub struct InputView {
    pub key: String,
    pub label: String,
    pub description: String,
    /// string, textarea, number, boolean or enum.
    pub kind: String,
    pub value: String,
    pub checked: bool,
    pub required: bool,
    /// (value, label, selected)
    pub options: Vec<(String, String, bool)>,
}

pub struct ActionView {
    /// `workbook` or `sheet`.
    pub scope: &'static str,
    pub operation: String,
    pub label: String,
    pub primary: bool,
    pub confirm: bool,
    pub description: String,
    pub tooltip: String,
    /// The first `error` message: it turns the button off.
    pub error: String,
    pub info: String,
    /// The constraint types, space-separated (`hasAllValid hasData`).
    pub constraints: String,
    /// `hasAllValid` with `ignoreSelection: true`: the whole sheet counts even when records
    /// are selected.
    pub ignore_selection: bool,
    /// Flatfile's icon name, and the symbol shown for it (empty for a name we do not know).
    pub icon: String,
    pub icon_glyph: &'static str,
    /// foreground, background (the default) or toolbarBlocking.
    pub mode: String,
    pub fields: Vec<InputView>,
    /// Why the button is off at first paint (empty: it is on).
    pub off_because: String,
}

impl ActionView {
    /// The id of its dialog (and form) on the page: the operation's bytes in hex, so two
    /// operations never share one (`承認` and `削除`, `export:csv` and `export-csv` did when
    /// other characters became `-`, and a click on one ran the other).
    pub fn dialog_id(&self) -> String {
        let hex: String = self.operation.bytes().map(|b| format!("{b:02x}")).collect();
        format!("action-{}-{hex}", self.scope)
    }

    /// Whether a click asks something first (a confirmation or an input form).
    pub fn asks(&self) -> bool {
        self.confirm || !self.fields.is_empty()
    }

    pub fn has(&self, constraint: &str) -> bool {
        self.constraints.split(' ').any(|c| c == constraint)
    }
}

/// What the buttons' state depends on at one moment.
#[derive(Debug, Default, Clone)]
pub struct Situation {
    /// The sheet's counts (a workbook action: all its sheets').
    pub counts: Counts,
    /// Records selected in the grid, and how many of them have errors.
    pub selected: usize,
    pub selected_errors: usize,
    /// Records whose changes the team's record hook is still checking (`trackChanges`).
    pub checking: usize,
}

impl Situation {
    pub fn of(counts: &Counts) -> Self {
        Situation {
            counts: counts.clone(),
            ..Default::default()
        }
    }
}

/// The symbol shown for one of Flatfile's icon names (`check`, `lock`, `download`...):
/// Wharf has no icon font, so the button carries a character.
pub fn icon_glyph(name: &str) -> &'static str {
    match name.to_ascii_lowercase().as_str() {
        "check" | "checkmark" | "done" | "success" => "\u{2713}",
        "lock" | "locked" => "\u{1F512}",
        "unlock" => "\u{1F513}",
        "download" | "export" => "\u{2B07}",
        "upload" | "import" => "\u{2B06}",
        "send" | "submit" | "paper-plane" | "paperplane" => "\u{27A4}",
        "refresh" | "sync" | "reload" | "retry" => "\u{27F3}",
        "trash" | "delete" | "remove" => "\u{1F5D1}",
        "sparkles" | "magic" | "ai" => "\u{2728}",
        "mail" | "email" | "envelope" => "\u{2709}",
        "warning" | "alert" => "\u{26A0}",
        "star" => "\u{2605}",
        "plus" | "add" => "+",
        "edit" | "pencil" => "\u{270E}",
        "search" => "\u{1F50D}",
        "file" | "document" => "\u{1F4C4}",
        "link" => "\u{1F517}",
        "settings" | "gear" | "cog" => "\u{2699}",
        "info" => "\u{2139}",
        "bolt" | "lightning" => "\u{26A1}",
        _ => "",
    }
}

/// Text of a JSON value for a form field (`defaultValue` may be any JSON).
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn input_view(f: &Value) -> InputView {
    let default = text(&f["defaultValue"]);
    let options = f["config"]["options"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            let value = text(&o["value"]);
            let label = o["label"].as_str().map_or_else(|| value.clone(), str::to_string);
            let selected = value == default;
            (value, label, selected)
        })
        .collect();
    InputView {
        key: f["key"].as_str().unwrap_or_default().to_string(),
        label: f["label"].as_str().unwrap_or_default().to_string(),
        description: f["description"].as_str().unwrap_or_default().to_string(),
        kind: f["type"].as_str().unwrap_or("string").to_string(),
        checked: f["defaultValue"].as_bool().unwrap_or(false),
        value: default,
        required: f["constraints"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c["type"] == "required")),
        options,
    }
}

/// The actions of a stored `actions` array, with the buttons' state for `counts`
/// (nothing selected yet).
pub fn actions_of(json: &Value, scope: &'static str, counts: &Counts) -> Vec<ActionView> {
    actions_in(json, scope, &Situation::of(counts))
}

/// The actions of a stored `actions` array, with the buttons' state in `now`.
pub fn actions_in(json: &Value, scope: &'static str, now: &Situation) -> Vec<ActionView> {
    let items = json.as_array().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .map(|a| {
            let messages = a["messages"].as_array().map(Vec::as_slice).unwrap_or_default();
            let of_type = |t: &str| {
                messages
                    .iter()
                    .filter(|m| m["type"] == t)
                    .filter_map(|m| m["content"].as_str())
                    .collect::<Vec<_>>()
            };
            let listed = a["constraints"].as_array().map(Vec::as_slice).unwrap_or_default();
            // Flatfile's deprecated booleans stand for the constraints that replaced them
            // (probe 63d D2: a ported blueprint's gate was kept but never held).
            let deprecated = [
                ("requireAllValid", "hasAllValid"),
                ("requireSelection", "hasSelection"),
            ]
            .into_iter()
            .filter(|(flag, _)| a[*flag] == true)
            .map(|(_, constraint)| constraint);
            let constraints = listed
                .iter()
                .filter_map(|c| c["type"].as_str())
                .chain(deprecated)
                .collect::<Vec<_>>()
                .join(" ");
            let ignore_selection = listed
                .iter()
                .any(|c| c["type"] == "hasAllValid" && c["ignoreSelection"] == true);
            let icon = a["icon"].as_str().unwrap_or_default().to_string();
            let mut view = ActionView {
                scope,
                operation: a["operation"]
                    .as_str()
                    .or(a["slug"].as_str())
                    .unwrap_or_default()
                    .to_string(),
                label: a["label"].as_str().unwrap_or_default().to_string(),
                primary: a["primary"].as_bool().unwrap_or(false),
                confirm: a["confirm"].as_bool().unwrap_or(false),
                description: a["description"].as_str().unwrap_or_default().to_string(),
                tooltip: a["tooltip"].as_str().unwrap_or_default().to_string(),
                error: of_type("error")
                    .first()
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                info: of_type("info").join(" "),
                constraints,
                ignore_selection,
                icon_glyph: icon_glyph(&icon),
                icon,
                mode: a["mode"].as_str().unwrap_or("background").to_string(),
                fields: a["inputForm"]["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(input_view)
                    .collect(),
                off_because: String::new(),
            };
            view.off_because = off_because(&view, now).unwrap_or_default();
            view
        })
        .collect()
}

/// A file's actions (stored as JSON text), for the Files tab. Constraints are about records,
/// so none holds a file's action back; an `error` message still does.
pub fn file_actions(stored: &str) -> Vec<ActionView> {
    let json: Value = serde_json::from_str(stored).unwrap_or(Value::Null);
    let mut actions = actions_in(&json, "file", &Situation::default());
    for a in &mut actions {
        a.constraints.clear();
        a.ignore_selection = false;
    }
    recheck(&mut actions, &Situation::default());
    actions
}

/// Why an action cannot run now, in words for its tooltip (the same checks as app.js).
pub fn off_because(a: &ActionView, now: &Situation) -> Option<String> {
    if !a.error.is_empty() {
        return Some(a.error.clone());
    }
    // `trackChanges`: actions wait until every commit has been checked.
    if now.checking > 0 {
        return Some(format!(
            "Wait until your team's record hook has checked {}.",
            crate::words::counted(now.checking as u64, "changed record", "changed records")
        ));
    }
    if a.has("hasData") && now.counts.total == 0 {
        return Some("There are no records yet.".into());
    }
    if a.has("hasAllValid") {
        // A sheet action runs on the selection when there is one: only it must be valid.
        let on_selection = a.scope == "sheet" && now.selected > 0 && !a.ignore_selection;
        if on_selection && now.selected_errors > 0 {
            return Some(format!(
                "{} {} errors; fix them first.",
                crate::words::counted(now.selected_errors as u64, "selected record", "selected records"),
                crate::words::has(now.selected_errors as u64)
            ));
        }
        if !on_selection && now.counts.error > 0 {
            return Some(format!(
                "{} {} errors; fix them first.",
                crate::words::records(now.counts.error as u64),
                crate::words::has(now.counts.error as u64)
            ));
        }
    }
    if a.has("hasSelection") && now.selected == 0 {
        return Some("Select records first.".into());
    }
    None
}

/// Works out again whether each button is on, in `now`.
pub fn recheck(actions: &mut [ActionView], now: &Situation) {
    for a in actions {
        a.off_because = off_because(a, now).unwrap_or_default();
    }
}

/// The counts of several sheets together (a workbook's).
pub fn sum(counts: impl Iterator<Item = Counts>) -> Counts {
    counts.fold(Counts::default(), |mut acc, c| {
        acc.total += c.total;
        acc.error += c.error;
        acc.valid += c.valid;
        acc
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn action(constraints: Value) -> ActionView {
        let json = json!([{"label": "Go", "operation": "go", "constraints": constraints}]);
        actions_of(&json, "sheet", &Counts::default()).remove(0)
    }

    fn with_errors(error: i64, selected: usize, selected_errors: usize) -> Situation {
        Situation {
            counts: Counts {
                total: 10,
                valid: 10 - error,
                error,
                ..Default::default()
            },
            selected,
            selected_errors,
            checking: 0,
        }
    }

    #[test]
    fn has_all_valid_looks_at_the_selection_when_there_is_one() {
        let a = action(json!([{"type": "hasAllValid"}]));
        assert!(off_because(&a, &with_errors(3, 0, 0))
            .unwrap()
            .starts_with("3 records have errors"));
        assert_eq!(
            off_because(&a, &with_errors(3, 2, 0)),
            None,
            "the two selected are valid"
        );
        assert!(off_because(&a, &with_errors(3, 2, 1))
            .unwrap()
            .starts_with("1 selected record has errors"));
        let whole = action(json!([{"type": "hasAllValid", "ignoreSelection": true}]));
        assert!(off_because(&whole, &with_errors(3, 2, 0)).is_some());
    }

    #[test]
    fn flatfiles_deprecated_booleans_hold_as_their_constraints() {
        let json =
            json!([{"label": "Go", "operation": "go", "requireAllValid": true, "requireSelection": true}]);
        let a = actions_of(&json, "sheet", &Counts::default()).remove(0);
        assert_eq!(a.constraints, "hasAllValid hasSelection");
        assert!(off_because(&a, &with_errors(3, 0, 0)).is_some());
        let json = json!([{"label": "Go", "operation": "go", "requireAllValid": false}]);
        let a = actions_of(&json, "sheet", &Counts::default()).remove(0);
        assert_eq!(a.constraints, "");
    }

    #[test]
    fn actions_wait_for_pending_checks() {
        let a = action(json!([]));
        let mut now = with_errors(0, 0, 0);
        assert_eq!(off_because(&a, &now), None);
        now.checking = 4;
        assert!(off_because(&a, &now)
            .unwrap()
            .contains("checked 4 changed records"));
    }

    #[test]
    fn every_operation_has_a_dialog_of_its_own() {
        let ids: std::collections::HashSet<String> =
            ["承認", "削除", "export:csv", "export-csv", "a_b", "a-b"]
                .iter()
                .map(|op| {
                    let json = json!([{"label": "Go", "operation": op}]);
                    actions_of(&json, "workbook", &Counts::default())
                        .remove(0)
                        .dialog_id()
                })
                .collect();
        assert_eq!(ids.len(), 6, "{ids:?}");
    }

    #[test]
    fn known_icons_have_a_symbol() {
        assert_eq!(icon_glyph("check"), "\u{2713}");
        assert_eq!(icon_glyph("Lock"), "\u{1F512}");
        assert_eq!(icon_glyph("no-such-icon"), "");
    }
}

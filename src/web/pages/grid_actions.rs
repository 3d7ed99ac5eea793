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
    /// foreground, background (the default) or toolbarBlocking.
    pub mode: String,
    pub fields: Vec<InputView>,
    /// Why the button is off at first paint (empty: it is on).
    pub off_because: String,
}

impl ActionView {
    /// The id of its dialog (and form) on the page.
    pub fn dialog_id(&self) -> String {
        let safe: String = self
            .operation
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        format!("action-{}-{safe}", self.scope)
    }

    /// Whether a click asks something first (a confirmation or an input form).
    pub fn asks(&self) -> bool {
        self.confirm || !self.fields.is_empty()
    }

    pub fn has(&self, constraint: &str) -> bool {
        self.constraints.split(' ').any(|c| c == constraint)
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
            let constraints = a["constraints"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["type"].as_str())
                .collect::<Vec<_>>()
                .join(" ");
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
                mode: a["mode"].as_str().unwrap_or("background").to_string(),
                fields: a["inputForm"]["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(input_view)
                    .collect(),
                off_because: String::new(),
            };
            view.off_because = off_because(&view, counts, 0).unwrap_or_default();
            view
        })
        .collect()
}

/// Why an action cannot run now, in words for its tooltip (the same checks as app.js).
pub fn off_because(a: &ActionView, counts: &Counts, selected: usize) -> Option<String> {
    if !a.error.is_empty() {
        return Some(a.error.clone());
    }
    if a.has("hasData") && counts.total == 0 {
        return Some("There are no records yet.".into());
    }
    if a.has("hasAllValid") && counts.error > 0 {
        return Some(format!("{} record(s) have errors; fix them first.", counts.error));
    }
    if a.has("hasSelection") && selected == 0 {
        return Some("Select records first.".into());
    }
    None
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

//! Flatfile's `Action` shape (workbook and sheet `actions`): checked when a blueprint, a
//! workbook or a sheet is written, stored as given (keys Wharf does not know included),
//! and read back by the grid's toolbars.

use super::problems::Problems;
use super::Problem;
use serde_json::Value;

pub const MODES: [&str; 3] = ["foreground", "background", "toolbarBlocking"];
pub const CONSTRAINTS: [&str; 4] = ["hasAllValid", "hasData", "hasSelection", "hasColumnEnabled"];
pub const INPUT_TYPES: [&str; 5] = ["string", "textarea", "number", "boolean", "enum"];

/// Checks an `actions` array found at `path` (`$.actions`, `$.sheets[0].actions`).
pub fn check_actions(json: &Value, path: &str) -> Result<(), Vec<Problem>> {
    let mut p = Problems::default();
    check_at(json, path, &mut p);
    p.finish(())
}

pub(super) fn check_at(json: &Value, path: &str, p: &mut Problems) {
    let Some(items) = json.as_array() else {
        p.push(path, "actions must be an array");
        return;
    };
    for (i, action) in items.iter().enumerate() {
        check_action(action, &format!("{path}[{i}]"), p);
    }
}

fn check_action(json: &Value, path: &str, p: &mut Problems) {
    let Some(obj) = json.as_object() else {
        p.push(path, "an action must be an object with label and operation");
        return;
    };
    p.required_string(obj, path, "label");
    one_line(obj.get("label"), &format!("{path}.label"), "an action's label", p);
    // `slug` is Flatfile's older name for `operation`.
    if !obj.contains_key("slug") || obj.contains_key("operation") {
        p.required_string(obj, path, "operation");
    }
    for key in ["primary", "confirm"] {
        if obj.get(key).is_some_and(|v| !v.is_boolean()) {
            p.push(&format!("{path}.{key}"), &format!("{key} must be true or false"));
        }
    }
    for key in ["description", "tooltip", "icon"] {
        if obj.get(key).is_some_and(|v| !v.is_string()) {
            p.push(&format!("{path}.{key}"), &format!("{key} must be a string"));
        }
    }
    // Wharf's own key: a Submit delivers to the webhook with this slug.
    if obj
        .get("deliverTo")
        .is_some_and(|v| v.as_str().is_none_or(|s| s.trim().is_empty()))
    {
        p.push(
            &format!("{path}.deliverTo"),
            "deliverTo must name a webhook by its slug (a non-empty string)",
        );
    }
    if let Some(mode) = obj.get("mode") {
        if !mode.as_str().is_some_and(|m| MODES.contains(&m)) {
            p.push(
                &format!("{path}.mode"),
                &format!("unknown mode {mode}; use foreground, background or toolbarBlocking"),
            );
        }
    }
    each(
        obj.get("constraints"),
        &format!("{path}.constraints"),
        p,
        |c, cpath, p| match c.get("type").and_then(Value::as_str) {
            Some(t) if CONSTRAINTS.contains(&t) => {}
            Some(t) => p.push(
                &format!("{cpath}.type"),
                &format!("unknown constraint `{t}`; use hasAllValid, hasData or hasSelection"),
            ),
            None => p.push(&format!("{cpath}.type"), "a constraint needs a type"),
        },
    );
    each(
        obj.get("messages"),
        &format!("{path}.messages"),
        p,
        |m, mpath, p| {
            if !matches!(m.get("type").and_then(Value::as_str), Some("error" | "info")) {
                p.push(&format!("{mpath}.type"), "a message's type is `error` or `info`");
            }
            if !m.get("content").is_some_and(Value::is_string) {
                p.push(
                    &format!("{mpath}.content"),
                    "a message needs its content, a string",
                );
            }
        },
    );
    if let Some(form) = obj.get("inputForm") {
        check_form(form, &format!("{path}.inputForm"), p);
    }
}

fn check_form(form: &Value, path: &str, p: &mut Problems) {
    if !form.is_object() {
        p.push(path, "inputForm must be an object {type: simple, fields}");
        return;
    }
    if form.get("type").and_then(Value::as_str) != Some("simple") {
        p.push(&format!("{path}.type"), "an inputForm's type is `simple`");
    }
    let fields_path = format!("{path}.fields");
    if !form.get("fields").is_some_and(Value::is_array) {
        p.push(&fields_path, "an inputForm needs fields, an array");
        return;
    }
    each(form.get("fields"), &fields_path, p, |f, fpath, p| {
        let Some(obj) = f.as_object() else {
            p.push(fpath, "an input field must be an object with key, label and type");
            return;
        };
        p.required_string(obj, fpath, "key");
        p.required_string(obj, fpath, "label");
        one_line(
            obj.get("label"),
            &format!("{fpath}.label"),
            "an input field's label",
            p,
        );
        for (i, option) in f["config"]["options"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{fpath}.config.options[{i}].label");
            one_line(option.get("label"), &at, "an option's label", p);
        }
        match obj.get("type").and_then(Value::as_str) {
            Some(t) if INPUT_TYPES.contains(&t) => {
                let options = f["config"]["options"].as_array();
                if t == "enum" && options.is_none_or(|o| o.is_empty()) {
                    p.push(
                        &format!("{fpath}.config.options"),
                        "an enum input needs config.options, a list of {value, label}",
                    );
                }
            }
            Some(t) => p.push(
                &format!("{fpath}.type"),
                &format!("unknown input type `{t}`; use string, textarea, number, boolean or enum"),
            ),
            None => p.push(&format!("{fpath}.type"), "type is required"),
        }
        each(
            obj.get("constraints"),
            &format!("{fpath}.constraints"),
            p,
            |c, cpath, p| {
                if c.get("type").and_then(Value::as_str) != Some("required") {
                    p.push(
                        &format!("{cpath}.type"),
                        "an input field's constraint is `required`",
                    );
                }
            },
        );
    });
}

/// A label people read on a button or in a form: one line, nothing that reorders or hides
/// letters, as every other name (probe 71a D1: `Approve \u{202E}devorppA` read reversed).
fn one_line(label: Option<&Value>, path: &str, what: &str, p: &mut Problems) {
    let problem = label
        .and_then(Value::as_str)
        .and_then(|l| crate::names::problem(what, l, crate::names::MAX_CHARS));
    if let Some(message) = problem {
        p.push(path, &message);
    }
}

/// Runs `check` on each object of an optional array at `path`.
fn each(v: Option<&Value>, path: &str, p: &mut Problems, check: impl Fn(&Value, &str, &mut Problems)) {
    let Some(v) = v else { return };
    let Some(items) = v.as_array() else {
        p.push(path, "must be an array");
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        if item.is_object() {
            check(item, &ipath, p);
        } else {
            p.push(&ipath, "must be an object");
        }
    }
}

/// Checks the actions of every workbook of a space config and of their sheets.
pub fn check_space_config_actions(json: &Value) -> Result<(), Vec<Problem>> {
    let mut p = Problems::default();
    let workbooks = json.get("workbooks").and_then(Value::as_array);
    for (i, wb) in workbooks.into_iter().flatten().enumerate() {
        if let Some(actions) = wb.get("actions") {
            check_at(actions, &format!("$.workbooks[{i}].actions"), &mut p);
        }
        let sheets = wb.get("sheets").and_then(Value::as_array);
        for (j, sheet) in sheets.into_iter().flatten().enumerate() {
            if let Some(actions) = sheet.get("actions") {
                check_at(actions, &format!("$.workbooks[{i}].sheets[{j}].actions"), &mut p);
            }
        }
    }
    p.finish(())
}

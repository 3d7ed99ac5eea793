//! A sheet's own `constraints`: Flatfile's composite uniqueness (`unique` over several
//! fields), checked by Wharf, and `external` ones, checked by listener code.

use super::problems::Problems;
use super::{Field, UniqueTogether};
use serde_json::Value;

/// A sheet's own `constraints`, checked where a blueprint is written: a `unique` names
/// fields of this sheet (`fields`, and `requiredFields` among them); an `external` names
/// its validator (`@flatfile/plugin-constraints` runs it; kept as given).
pub(super) fn check_at(constraints: &Value, fields: &[Field], path: &str, p: &mut Problems) {
    let Some(items) = constraints.as_array() else {
        p.push(path, "constraints must be an array");
        return;
    };
    let mut names: Vec<&str> = Vec::new();
    for (i, c) in items.iter().enumerate() {
        let cpath = format!("{path}[{i}]");
        if c.get("type").and_then(Value::as_str) == Some("unique") {
            // Its messages are told apart by its name (probe 61c D2: two of one name
            // took each other's flags away).
            if let Some(name) = c.get("name").and_then(Value::as_str) {
                if names.contains(&name.trim()) {
                    p.push(
                        &format!("{cpath}.name"),
                        &format!(
                            "another unique constraint of this sheet is named `{}`",
                            name.trim()
                        ),
                    );
                }
                names.push(name.trim());
            }
        }
        match c.get("type").and_then(Value::as_str) {
            Some("external") => {
                if c.get("validator")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    p.push(
                        &format!("{cpath}.validator"),
                        "an external constraint names its validator",
                    );
                }
            }
            Some("unique") => check_unique(c, fields, &cpath, p),
            Some(other) => p.push(
                &format!("{cpath}.type"),
                &format!(
                    "unknown sheet constraint `{other}`; a sheet takes `unique` and `external` constraints"
                ),
            ),
            None => p.push(&format!("{cpath}.type"), "a constraint needs a type"),
        }
    }
}

/// Most fields one `unique` constraint may name.
const MAX_TOGETHER: usize = 100;

fn check_unique(c: &Value, fields: &[Field], path: &str, p: &mut Problems) {
    match c.get("name").and_then(Value::as_str) {
        Some(n) if !n.trim().is_empty() => {
            // Written into every message it puts on a cell.
            p.name_at(&format!("{path}.name"), "a constraint name", n);
            if n.trim() != n {
                p.push(
                    &format!("{path}.name"),
                    &format!("a constraint name has no spaces around it: use `{}`", n.trim()),
                );
            }
        }
        _ => p.push(&format!("{path}.name"), "a unique constraint has a name"),
    }
    match c.get("strategy") {
        None | Some(Value::Null) => {}
        Some(s) if s == "hash" || s == "concat" => {}
        Some(_) => p.push(&format!("{path}.strategy"), "strategy is `hash` or `concat`"),
    }
    let named = keys_at(c.get("fields"), fields, &format!("{path}.fields"), p);
    match &named {
        Some(keys) if keys.is_empty() => p.push(
            &format!("{path}.fields"),
            "a unique constraint names at least one field",
        ),
        // Its message sits on each of them (probe 61c D3: 1,000 fields made a flagged
        // record of 1,000 messages each naming 1,000 fields).
        Some(keys) if keys.len() > MAX_TOGETHER => p.push(
            &format!("{path}.fields"),
            &format!(
                "a unique constraint names at most {MAX_TOGETHER} fields; this one names {}",
                keys.len()
            ),
        ),
        None => p.push(
            &format!("{path}.fields"),
            "fields is required: the keys of the fields that are unique together",
        ),
        Some(_) => {}
    }
    let Some(required) = c.get("requiredFields").filter(|v| !v.is_null()) else {
        return;
    };
    let rpath = format!("{path}.requiredFields");
    for key in keys_at(Some(required), fields, &rpath, p).unwrap_or_default() {
        if !named.as_ref().is_some_and(|n| n.contains(&key)) {
            p.push(&rpath, &format!("`{key}` is not one of the constraint's fields"));
        }
    }
}

/// The keys a constraint's list names, each a field of the sheet, each once; `None` when
/// the list is missing.
fn keys_at(list: Option<&Value>, fields: &[Field], path: &str, p: &mut Problems) -> Option<Vec<String>> {
    let items = match list {
        None | Some(Value::Null) => return None,
        Some(Value::Array(items)) => items,
        Some(_) => {
            p.push(path, "must be an array of field keys");
            return Some(Vec::new());
        }
    };
    let mut keys: Vec<String> = Vec::new();
    for (j, item) in items.iter().enumerate() {
        let at = format!("{path}[{j}]");
        match item.as_str() {
            None => p.push(&at, "a field key is a string"),
            Some(k) if !fields.iter().any(|f| f.key == k) => {
                p.push(&at, &format!("the sheet has no field `{k}`"))
            }
            Some(k) if keys.iter().any(|seen| seen == k) => p.push(&at, &format!("`{k}` is named twice")),
            Some(k) => keys.push(k.to_string()),
        }
    }
    Some(keys)
}

/// The `unique` constraints of a stored or written sheet, in their order (their kept keys
/// are named by it), their fields as indexes (a key the sheet lacks, refused when written,
/// is passed over).
pub(super) fn unique_together(constraints: Option<&Value>, fields: &[Field]) -> Vec<UniqueTogether> {
    let Some(items) = constraints.and_then(Value::as_array) else {
        return Vec::new();
    };
    let indexes = |list: Option<&Value>| -> Vec<usize> {
        list.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|k| fields.iter().position(|f| Some(f.key.as_str()) == k.as_str()))
            .collect()
    };
    items
        .iter()
        .filter(|c| c.get("type").and_then(Value::as_str) == Some("unique"))
        .map(|c| UniqueTogether {
            name: c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            fields: indexes(c.get("fields")),
            required: indexes(c.get("requiredFields")),
        })
        .collect()
}

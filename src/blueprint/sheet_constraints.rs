//! A sheet's own `constraints`, checked where a blueprint is written.

use super::problems::Problems;
use serde_json::Value;

/// A sheet's own `constraints`. Flatfile's `external` ones are checked by listener code
/// (`@flatfile/plugin-constraints`) and kept as given. A `unique` over several fields is
/// refused: Wharf would keep it and flag no duplicate, so a blueprint that relies on it
/// would let them through unseen (probe 49b 1).
pub(super) fn check_at(constraints: &Value, path: &str, p: &mut Problems) {
    let Some(items) = constraints.as_array() else {
        p.push(path, "constraints must be an array");
        return;
    };
    for (i, c) in items.iter().enumerate() {
        let cpath = format!("{path}[{i}]");
        match c.get("type").and_then(Value::as_str) {
            Some("external") => {
                if c.get("validator").and_then(Value::as_str).is_none_or(str::is_empty) {
                    p.push(&format!("{cpath}.validator"), "an external constraint names its validator");
                }
            }
            Some("unique") => p.push(
                &format!("{cpath}.type"),
                "Wharf does not check a unique constraint over several fields yet; make each field that must be unique a unique field, or check the combination in a record hook (an `external` constraint)",
            ),
            Some(other) => p.push(
                &format!("{cpath}.type"),
                &format!("unknown sheet constraint `{other}`; a sheet takes `external` constraints"),
            ),
            None => p.push(&format!("{cpath}.type"), "a constraint needs a type"),
        }
    }
}

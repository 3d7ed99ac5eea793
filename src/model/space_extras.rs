//! Flatfile's space fields that Wharf keeps and answers as given without acting on them:
//! `labels`, `access`, `settings`, `translationsPath`, `languageOverride`, `displayOrder`,
//! `actions`.
//! Listener code sets them (`space:configure`) and reads them back; dropping them silently
//! made such code see its own writes vanish.

use serde_json::{Map, Value};

/// Fields given in a body, by their wire names; `null` takes one away.
pub type Extras = Map<String, Value>;

/// The fields kept, by their wire names.
pub const KEYS: [&str; 7] = [
    "actions",
    "labels",
    "access",
    "settings",
    "translationsPath",
    "languageOverride",
    "displayOrder",
];

/// What all of a space's kept fields may weigh together, as JSON.
const MAX_BYTES: usize = 64 * 1024;

/// The kept fields among a body's other fields.
pub fn pick(body: &Map<String, Value>) -> Extras {
    body.iter()
        .filter(|(k, _)| KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// What is wrong with a given field, as (field, message).
pub fn check(given: &Extras) -> Result<(), (String, String)> {
    for (key, value) in given {
        if value.is_null() {
            continue;
        }
        let fine = match key.as_str() {
            "labels" => strings(value, |_| true),
            "actions" => crate::blueprint::check_actions(value, "$.actions").is_ok(),
            "access" => strings(value, |s| s == "*" || s == "upload"),
            "settings" => value.is_object(),
            "translationsPath" | "languageOverride" => value.is_string(),
            "displayOrder" => value.is_number(),
            _ => true,
        };
        if !fine {
            let wanted = match key.as_str() {
                "labels" => "a list of texts",
                "actions" => "a list of actions, each with an operation and a label",
                "access" => "a list of \"*\" and \"upload\"",
                "settings" => "an object",
                "displayOrder" => "a number",
                _ => "a text",
            };
            return Err((key.clone(), format!("`{key}` must be {wanted}")));
        }
    }
    match too_big(&Value::Object(given.clone()).to_string()) {
        Some(message) => Err(("settings".into(), message)),
        None => Ok(()),
    }
}

/// Why the fields kept (as stored, given ones merged in) are too big, if they are.
pub fn too_big(stored: &str) -> Option<String> {
    (stored.len() > MAX_BYTES)
        .then(|| "a space's settings, labels and actions must fit in 64 KiB together".into())
}

fn strings(value: &Value, allowed: impl Fn(&str) -> bool) -> bool {
    value
        .as_array()
        .is_some_and(|items| items.iter().all(|v| v.as_str().is_some_and(&allowed)))
}

/// The kept fields of a stored text (nothing when it is not an object).
pub fn kept(stored: &str) -> Extras {
    match serde_json::from_str(stored) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// `patch` over the stored fields: a given field replaces, `null` takes it away.
pub fn merged(stored: &str, patch: &Extras) -> String {
    let mut out = kept(stored);
    for (k, v) in patch {
        match v {
            Value::Null => out.remove(k),
            v => out.insert(k.clone(), v.clone()),
        };
    }
    Value::Object(out).to_string()
}

/// The fields to store for a new space (nulls left out).
pub fn initial(given: &Extras) -> String {
    merged("{}", given)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn extras(v: Value) -> Extras {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_patch_replaces_given_fields_and_null_takes_one_away() {
        let stored = initial(&extras(json!({"labels": ["a"], "displayOrder": 2})));
        let out = merged(&stored, &extras(json!({"labels": ["b"], "displayOrder": null})));
        assert_eq!(kept(&out), extras(json!({"labels": ["b"]})));
    }

    #[test]
    fn wrong_shapes_are_named() {
        let err = check(&extras(json!({"access": ["*", "admin"]}))).unwrap_err();
        assert_eq!(err.0, "access");
        assert!(check(&extras(json!({"labels": "x"}))).is_err());
        assert!(check(&extras(
            json!({"settings": {"sidebarConfig": {}}, "labels": null})
        ))
        .is_ok());
    }
}

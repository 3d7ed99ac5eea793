//! The problems of a blueprint being parsed, each at the JSON path of the value at fault,
//! gathered so that every one is reported at once.

use super::Problem;
use serde_json::{Map, Value};

#[derive(Default)]
pub(super) struct Problems {
    pub(super) found: Vec<Problem>,
    /// Whether names people read and sheet slugs are checked: in what is written now, not
    /// in what was stored before those rules, nor in the names a file gives its tables.
    pub(super) written: bool,
}

impl Problems {
    pub(super) fn written() -> Self {
        Problems {
            found: Vec::new(),
            written: true,
        }
    }

    pub(super) fn push(&mut self, path: &str, message: &str) {
        self.found.push(Problem {
            path: path.to_string(),
            message: message.to_string(),
        });
    }

    /// A name shown in titles, tabs, column headers and mail (see [`crate::names`]).
    pub(super) fn name_at(&mut self, path: &str, what: &str, name: &str) {
        if let Some(message) = self
            .written
            .then(|| crate::names::problem(what, name, crate::names::MAX_CHARS))
            .flatten()
        {
            self.push(path, &message);
        }
    }

    pub(super) fn slug_at(&mut self, path: &str, slug: &str) {
        if let Some(message) = self.written.then(|| super::slug_problem(slug)).flatten() {
            self.push(path, &message);
        }
    }

    pub(super) fn required_string(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        key: &str,
    ) -> Option<String> {
        match obj.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(Value::String(_)) => {
                self.push(&format!("{path}.{key}"), &format!("{key} must not be empty"));
                None
            }
            Some(_) => {
                self.push(&format!("{path}.{key}"), &format!("{key} must be a string"));
                None
            }
            None => {
                self.push(&format!("{path}.{key}"), &format!("{key} is required"));
                None
            }
        }
    }

    pub(super) fn finish<T>(self, value: T) -> Result<T, Vec<Problem>> {
        if self.found.is_empty() {
            Ok(value)
        } else {
            Err(self.found)
        }
    }
}

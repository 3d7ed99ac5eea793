//! An enum field's translation of the values a mapping's plan never saw (the plan samples
//! a file's first rows): as the plan's own translations are found, or as the plan sends a
//! value it speaks of in another case or spacing.

use super::plan::one_line_ending;
use crate::mapping::{self, EnumChoice};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// An enum field's translation of the values its plan never saw.
#[derive(Debug, Clone)]
pub struct UnseenValues {
    choices: Vec<EnumChoice>,
    spoken: HashSet<String>,
    /// The plan's values by [`fold`], with where the plan sends each (`None`: left as is).
    folded: HashMap<String, Option<Value>>,
    found: std::cell::RefCell<HashMap<String, Option<Value>>>,
}

/// A value as compared with the plan's: trimmed, in lower case, spaces run together.
fn fold(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl UnseenValues {
    /// `spoken`: the values the plan speaks of; `enums`: where it sends them.
    pub fn new(choices: Vec<EnumChoice>, spoken: HashSet<String>, enums: &HashMap<String, Value>) -> Self {
        // A value the plan speaks of in another case or spacing (`uk` beside `UK`) goes
        // where the plan sends it, not where a guess would (probe 66h D12: `UK` mapped to
        // France, the `uk` of rows past the sample went to United Kingdom). Two of one
        // fold sent apart leave it to the guess.
        let mut folded: HashMap<String, Option<Value>> = HashMap::new();
        let mut torn: HashSet<String> = HashSet::new();
        for value in &spoken {
            let to = enums.get(one_line_ending(value).as_ref()).cloned();
            let key = fold(value);
            match folded.get(&key) {
                Some(before) if before != &to => {
                    torn.insert(key);
                }
                _ => {
                    folded.insert(key, to);
                }
            }
        }
        folded.retain(|k, _| !torn.contains(k));
        UnseenValues {
            choices,
            spoken,
            folded,
            found: Default::default(),
        }
    }

    /// The option a value the plan does not speak of translates to, as the plan's own
    /// translations are found (`GOLD.` → `gold`); `None` for one it left as it is.
    pub fn translate(&self, text: &str) -> Option<Value> {
        if text.trim().is_empty() || self.spoken.contains(text) {
            return None;
        }
        if let Some(to) = self.folded.get(&fold(text)) {
            return to.clone();
        }
        self.found
            .borrow_mut()
            .entry(text.to_string())
            .or_insert_with(|| {
                mapping::map_enum_values(&[text.to_string()], &self.choices)
                    .pop()
                    .and_then(|(_, to)| to.map(Value::String))
            })
            .clone()
    }
}

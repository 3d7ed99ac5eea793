//! Date cells through a re-check. A date that read two ways (`01/02/2024`) was read one way
//! when it was written: month first with a warning, or in the order its batch showed. A
//! re-check of the record (another cell saved, a field change, a bulk change elsewhere)
//! reads the stored date, not the input again, so the reading never flips; the input as
//! given and the warning stay until the cell itself changes. A number's warning stays the
//! same way.

use crate::blueprint::{FieldType, SheetConfig};
use crate::validate::{Checked, MessageType, Source};
use serde_json::Value;
use std::collections::BTreeMap;

/// Puts each date field's stored value in `input` in place of the input it was read from.
pub fn typed_dates(config: &SheetConfig, vals: &[Value], input: &mut BTreeMap<String, Value>) {
    for (i, f) in config.fields.iter().enumerate() {
        if let (FieldType::Date, Some(v)) = (&f.field_type, vals.get(i)) {
            input.insert(f.key.clone(), v.clone());
        }
    }
}

/// Keeps, for each date or number cell `written` did not give a value and whose stored
/// value is as it was, the input as given and a warning about how it was read. A number
/// that reads two ways (`2.500`) is warned of only where its insert wrote decimal commas
/// elsewhere, which a re-check of the one record cannot see.
pub fn keep_readings(config: &SheetConfig, rec: &mut Checked, old: &Checked, written: impl Fn(&str) -> bool) {
    for (i, f) in config.fields.iter().enumerate() {
        let read = matches!(f.field_type, FieldType::Date | FieldType::Number { .. });
        if !read || written(&f.key) || rec.vals.get(i) != old.vals.get(i) {
            continue;
        }
        if let Some(given) = old.raw.get(&i) {
            rec.raw.insert(i, given.clone());
        }
        let warnings: Vec<_> = old
            .messages
            .get(&i)
            .into_iter()
            .flatten()
            .filter(|m| m.kind == MessageType::Warn && m.source == Source::Cast)
            .cloned()
            .collect();
        let messages = rec.messages.entry(i).or_default();
        for warning in warnings {
            if !messages.contains(&warning) {
                messages.push(warning);
            }
        }
        if messages.is_empty() {
            rec.messages.remove(&i);
        }
    }
}

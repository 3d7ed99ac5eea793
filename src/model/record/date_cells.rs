//! Date cells through a re-check. A date that read two ways (`01/02/2024`) was read one way
//! when it was written: month first with a warning, or in the order its batch showed. A
//! re-check of the record (another cell saved, a field change, a bulk change elsewhere)
//! reads the stored date, not the input again, so the reading never flips; the input as
//! given and the warning stay until the cell itself changes. A number stays as read, its
//! warning too (`2.500` read as 2500 beside decimal commas), and an enum cell keeps the
//! option it holds (a mapping's translation of the upload kept as its input).

use crate::blueprint::{FieldType, SheetConfig};
use crate::validate::Checked;
use serde_json::Value;
use std::collections::BTreeMap;

/// Puts each date or number field's stored value in `input` in place of the input it was
/// read from, and each enum cell's stored options in place of what was uploaded: a mapping's value
/// translation (`UK` to `GB`) is not the upload's to undo when another cell of the record
/// is saved or the sheet re-checked (probe 67f D1: every mapped value went back to `UK`, in
/// error). An enum cell holding no option now is checked from its input, as before.
pub fn typed_values(config: &SheetConfig, vals: &[Value], input: &mut BTreeMap<String, Value>) {
    for (i, f) in config.fields.iter().enumerate() {
        let Some(v) = vals.get(i) else { continue };
        let typed = match &f.field_type {
            FieldType::Date => true,
            // A number read with a decimal comma as its batch wrote them (`2.500` as 2500)
            // stays that number, not its text read alone again.
            FieldType::Number { .. } => v.is_number(),
            FieldType::Enum { options } => v.as_str().is_some_and(|v| options.iter().any(|o| o.value == v)),
            FieldType::EnumList { options } => v.as_array().is_some_and(|items| {
                items.iter().all(|item| {
                    item.as_str()
                        .is_some_and(|v| options.iter().any(|o| o.value == v))
                })
            }),
            _ => false,
        };
        if typed {
            input.insert(f.key.clone(), v.clone());
        }
    }
}

/// Keeps, for each date, number or enum cell `written` did not give a value and whose
/// stored value is as it was, the input as given and a warning about how it was read. A number
/// that reads two ways (`2.500`) is warned of only where its insert wrote decimal commas
/// elsewhere, which a re-check of the one record cannot see.
pub fn keep_readings(config: &SheetConfig, rec: &mut Checked, old: &Checked, written: impl Fn(&str) -> bool) {
    for (i, f) in config.fields.iter().enumerate() {
        let read = matches!(
            f.field_type,
            FieldType::Date | FieldType::Number { .. } | FieldType::Enum { .. } | FieldType::EnumList { .. }
        );
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
            .filter(|m| m.is_reading_warning())
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

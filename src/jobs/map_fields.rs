//! Whether an import may go on after its destination's fields changed under it: every
//! field it maps onto is still there, as it was and in the same order among them. Fields
//! added anywhere, and fields it does not map changed or removed, move none of its values
//! (probe 74b D1: a field added failed the import). A mapped field removed, or removed and
//! added again (its values in the records already written went with it: probe 75a D1),
//! or changed, stops it.

use super::JobError;
use crate::blueprint::SheetConfig;
use crate::model::sheet::SheetContext;
use serde_json::Value;

/// [`mapped_fields_kept`] of `dest` as the import read it and its fields `now`, said as
/// the import's failure.
pub fn check(dest: &SheetContext, now: &SheetConfig, columns: &[Option<usize>]) -> Result<(), JobError> {
    mapped_fields_kept(&dest.config, now, columns).map_err(|field| {
        JobError::Failed(format!(
            "the field {field} of {} was changed or removed while records were being mapped into it; the records mapped were taken back: start the import again",
            dest.sheet.name
        ))
    })
}

/// Whether every field of `was` that `columns` maps onto (`Some` at its index) is in `now`
/// unchanged, and not moved behind a field that came after it; else its label. A field
/// removed and added again comes back last: behind the others, unless it was last already.
/// Fields added anywhere, and the others changed or removed, move none of its values.
pub fn mapped_fields_kept(
    was: &SheetConfig,
    now: &SheetConfig,
    columns: &[Option<usize>],
) -> Result<(), String> {
    let empty = Vec::new();
    let old = was.json["fields"].as_array().unwrap_or(&empty);
    let new = now.json["fields"].as_array().unwrap_or(&empty);
    let place = |field: &Value| new.iter().position(|f| f["key"] == field["key"]);
    for (i, field) in old.iter().enumerate() {
        if columns.get(i).is_none_or(Option::is_none) {
            continue;
        }
        let label = || {
            was.fields
                .get(i)
                .map_or_else(String::new, |f| f.display_name().to_string())
        };
        let Some(at) = place(field).filter(|&at| new[at] == *field) else {
            return Err(label());
        };
        if old[i + 1..].iter().filter_map(place).any(|later| later < at) {
            return Err(label());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sheet(fields: Value) -> SheetConfig {
        crate::blueprint::parse_sheets(&[json!({"name": "S", "slug": "s", "fields": fields})], "$")
            .unwrap()
            .remove(0)
    }

    #[test]
    fn added_and_unmapped_fields_keep_an_import_going_and_a_mapped_one_gone_stops_it() {
        let email = json!({"key": "email", "type": "string"});
        let age = json!({"key": "age", "type": "number"});
        let note = json!({"key": "note", "type": "string"});
        let was = sheet(json!([email, age, note]));
        let mapped = [Some(0), Some(1), None];
        let extra = json!({"key": "extra", "type": "string"});
        // Added at the start and the end, the unmapped one gone: on.
        assert_eq!(
            mapped_fields_kept(&was, &sheet(json!([extra, email, age])), &mapped),
            Ok(())
        );
        // The unmapped one removed and added again: on.
        assert_eq!(
            mapped_fields_kept(&was, &sheet(json!([email, age, extra, note])), &mapped),
            Ok(())
        );
        // Removed, or removed and added again (at the end, as it was or as another type).
        let age_text = json!({"key": "age", "type": "string"});
        for now in [
            json!([email, note, age_text]),
            json!([email, note, age]),
            json!([email, note]),
        ] {
            assert_eq!(mapped_fields_kept(&was, &sheet(now), &mapped), Err("age".into()));
        }
    }
}

//! What a column's values say in a mapping plan: the enum options they read as (Flatfile's
//! `enumDetails`), and whether they can be a field's values at all (automap's check).

use super::plan::{text_of, Sheets, ENUM_SAMPLE};
use crate::blueprint::FieldType;
use crate::db::AnyConnection;
use crate::mapping::{self, EnumChoice};
use crate::model::{record, ModelResult};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};

/// Enum options of a destination field, if it has them.
pub(super) fn enum_options(field_type: &FieldType) -> Option<Vec<EnumChoice>> {
    match field_type {
        FieldType::Enum { options } | FieldType::EnumList { options } => Some(
            options
                .iter()
                .map(|o| EnumChoice {
                    value: o.value.clone(),
                    label: o.label.clone(),
                    alternative_names: o.alternative_names.clone(),
                })
                .collect(),
        ),
        _ => None,
    }
}

/// Text with `\r\n` line endings as `\n`, as enum value translations are kept and looked up.
pub fn one_line_ending(text: &str) -> std::borrow::Cow<'_, str> {
    match text.contains('\r') {
        true => std::borrow::Cow::Owned(text.replace("\r\n", "\n")),
        false => std::borrow::Cow::Borrowed(text),
    }
}

/// Flatfile's `enumDetails` of a column's values going to an enum field: each distinct
/// value with the option it reads as, the values that read as none, the options unused.
/// For an enum-list the values are the cells' items (probe 62c D3: whole cells were
/// offered, and a choice put one option in place of several).
pub(super) fn enum_details(field_type: &FieldType, column: Vec<String>) -> Option<Value> {
    let options = enum_options(field_type)?;
    let column: Vec<String> = match field_type {
        FieldType::EnumList { .. } => column
            .iter()
            .flat_map(|cell| crate::validate::list_items(&Value::String(cell.clone())))
            .collect(),
        _ => column,
    };
    let distinct: BTreeSet<String> = column.into_iter().filter(|v| !v.trim().is_empty()).collect();
    // As a plan sent back may hold (an enum-list's items may outnumber the sampled cells).
    let values: Vec<String> = distinct.into_iter().take(super::plan::MOST_VALUE_PAIRS).collect();
    let mapped = mapping::map_enum_values(&values, &options);
    let used: HashSet<&String> = mapped.iter().filter_map(|(_, o)| o.as_ref()).collect();
    Some(json!({
        "mapping": mapped.iter().filter_map(|(v, o)| o.as_ref().map(|o| json!({"sourceValue": v, "destinationValue": o}))).collect::<Vec<_>>(),
        "unusedSourceValues": mapped.iter().filter(|(_, o)| o.is_none()).map(|(v, _)| v).collect::<Vec<_>>(),
        "unusedDestinationValues": options.iter().filter(|o| !used.contains(&o.value)).map(|o| &o.value).collect::<Vec<_>>(),
    }))
}

/// The `enumDetails` of the source column `si` going to the destination field `di` (the
/// mapping screen asks when a person points a column at an enum field), `None` for a field
/// that is not an enum.
pub fn enum_details_for(
    conn: &mut AnyConnection,
    s: &Sheets,
    si: usize,
    di: usize,
) -> ModelResult<Option<Value>> {
    let Some(field) = s.destination_config.fields.get(di) else {
        return Ok(None);
    };
    if enum_options(&field.field_type).is_none() {
        return Ok(None);
    }
    let column = record::after(conn, s.source.seq, 0, ENUM_SAMPLE)?
        .iter()
        .map(|r| text_of(r.checked(&s.source_config).vals.get(si).unwrap_or(&Value::Null)))
        .collect();
    Ok(enum_details(&field.field_type, column))
}

/// Whether a column's sample values can be a field's: some value of an enum's column reads
/// as an option, most of a number's hold a digit, some of a date's or a boolean's read as
/// one. An empty column says nothing against any field.
pub(super) fn values_fit(field_type: &FieldType, column: &[String]) -> bool {
    let given: Vec<&String> = column.iter().filter(|v| !v.trim().is_empty()).collect();
    if given.is_empty() {
        return true;
    }
    match field_type {
        FieldType::Enum { .. } | FieldType::EnumList { .. } => {
            let details = enum_details(field_type, given.into_iter().cloned().collect());
            details.is_some_and(|d| d["mapping"].as_array().is_some_and(|m| !m.is_empty()))
        }
        // A digit is enough: `$12.50` is no number yet, but a price column to clean up.
        FieldType::Number { .. } => {
            let numeric = given
                .iter()
                .filter(|v| v.bytes().any(|b| b.is_ascii_digit()))
                .count();
            numeric * 2 >= given.len()
        }
        FieldType::Date => given.iter().any(|v| crate::validate::parse_date(v).is_some()),
        FieldType::Boolean => given.iter().any(|v| crate::validate::parse_bool(v).is_some()),
        _ => true,
    }
}

//! A record's `config`, Flatfile's `RecordConfig`: listener code makes a whole record, or
//! some of its cells, read-only (`record.setReadOnly()` in a record hook). People and
//! guests then cannot change those cells; listener code and secret keys still may.

use super::write::RecordUpdate;
use crate::blueprint::SheetConfig;
use crate::db::schema::records;
use crate::db::AnyConnection;
use crate::model::{ModelError, ModelResult};
use diesel::prelude::*;
use serde_json::{json, Map, Value};

/// The config as stored: `None` for none (`null`, `{}`, or nothing read-only), else
/// `{"readonly": true}` and/or `{"fields": {key: {"readonly": true}}}`. `Err` says what is
/// wrong with a given one.
pub fn parse(given: &Value, sheet: &SheetConfig) -> Result<Option<String>, String> {
    let obj = match given {
        Value::Null => return Ok(None),
        Value::Object(obj) => obj,
        _ => return Err(
            "a record's config is an object: {\"readonly\": true, \"fields\": {key: {\"readonly\": true}}}"
                .into(),
        ),
    };
    let readonly = |v: Option<&Value>, at: &str| match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{at}readonly is true or false")),
    };
    let mut out = Map::new();
    if readonly(obj.get("readonly"), "")? {
        out.insert("readonly".into(), json!(true));
    }
    let mut fields = Map::new();
    match obj.get("fields") {
        None | Some(Value::Null) => {}
        Some(Value::Object(given)) => {
            for (key, cell) in given {
                if sheet.field_index(key).is_none() {
                    return Err(format!("fields.{key}: this sheet has no field `{key}`"));
                }
                let cell = match cell {
                    Value::Object(c) => c,
                    Value::Null => continue,
                    _ => {
                        return Err(format!(
                            "fields.{key} is an object such as {{\"readonly\": true}}"
                        ))
                    }
                };
                if readonly(cell.get("readonly"), &format!("fields.{key}."))? {
                    fields.insert(key.clone(), json!({"readonly": true}));
                }
            }
        }
        Some(_) => return Err("fields is an object of field keys".into()),
    }
    if !fields.is_empty() {
        out.insert("fields".into(), Value::Object(fields));
    }
    Ok((!out.is_empty()).then(|| Value::Object(out).to_string()))
}

/// Whether a stored config makes the cell of `key` read-only.
pub fn locks(config: Option<&str>, key: &str) -> bool {
    let Some(v) = config.and_then(|c| serde_json::from_str::<Value>(c).ok()) else {
        return false;
    };
    v["readonly"] == true || v["fields"][key]["readonly"] == true
}

/// Whether locks hold for `actor`: people and guests, not listener code and secret keys
/// (whose ids are the actors of their writes).
pub fn held(actor: &str) -> bool {
    crate::ids::ApiKeyId::parse(actor).is_none()
}

/// Whether a stored config makes the whole record read-only: people and guests do not
/// delete it.
pub fn locks_record(config: Option<&str>) -> bool {
    config
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
        .is_some_and(|v| v["readonly"] == true)
}

/// Refuses (403) a person's or guest's change to a cell its record's config made
/// read-only, naming the first.
pub fn refuse_locked(conn: &mut AnyConnection, sheet_seq: i64, updates: &[RecordUpdate]) -> ModelResult<()> {
    let ids: Vec<i64> = updates.iter().map(|u| u.id.0).collect();
    let mut locked: std::collections::HashMap<i64, String> = Default::default();
    for chunk in ids.chunks(1000) {
        let rows: Vec<(i64, Option<String>)> = records::table
            .filter(records::sheet_seq.eq(sheet_seq))
            .filter(records::id.eq_any(chunk))
            .filter(records::config.is_not_null())
            .select((records::id, records::config))
            .load(conn)?;
        locked.extend(rows.into_iter().filter_map(|(id, c)| c.map(|c| (id, c))));
    }
    for u in updates {
        let Some(config) = locked.get(&u.id.0) else {
            continue;
        };
        if let Some(key) = u.values.keys().find(|k| locks(Some(config), k)) {
            return Err(ModelError::Forbidden(format!(
                "the cell `{key}` of record {} is read-only (the sheet's listener locked it)",
                u.id
            )));
        }
    }
    Ok(())
}

/// Refuses (403) a guest's change to a record's `metadata`: listener code keeps its own
/// state there (approved, synced...). Metadata sent back as it is (a record read, changed
/// and written whole) is no change.
pub fn refuse_metadata_change(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    updates: &[RecordUpdate],
) -> ModelResult<()> {
    let given: Vec<&RecordUpdate> = updates.iter().filter(|u| u.metadata.is_some()).collect();
    if given.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = given.iter().map(|u| u.id.0).collect();
    let stored: std::collections::HashMap<i64, Value> = super::write::load(conn, sheet_seq, &ids)?
        .into_iter()
        .map(|r| {
            let m = r.metadata.as_deref().and_then(|m| serde_json::from_str(m).ok());
            (r.id, m.unwrap_or_else(|| json!({})))
        })
        .collect();
    for u in given {
        let now = stored.get(&u.id.0).cloned().unwrap_or_else(|| json!({}));
        if u.metadata.as_ref() != Some(&now) {
            return Err(ModelError::Forbidden(format!(
                "a guest cannot change a record's metadata (record {}): it is the team's listener's",
                u.id
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> SheetConfig {
        crate::blueprint::parse_stored_sheet(&json!({"name": "S", "slug": "s",
            "fields": [{"key": "age", "type": "number"}, {"key": "name", "type": "string"}]}))
        .unwrap()
    }

    #[test]
    fn configs_are_checked_and_kept_lean() {
        let s = sheet();
        assert_eq!(parse(&json!(null), &s), Ok(None));
        assert_eq!(parse(&json!({}), &s), Ok(None));
        assert_eq!(
            parse(
                &json!({"readonly": false, "fields": {"age": {"readonly": false}}}),
                &s
            ),
            Ok(None)
        );
        let kept = parse(&json!({"fields": {"age": {"readonly": true}}}), &s).unwrap();
        assert!(locks(kept.as_deref(), "age") && !locks(kept.as_deref(), "name"));
        let whole = parse(&json!({"readonly": true}), &s).unwrap();
        assert!(locks(whole.as_deref(), "name"));
        assert!(parse(&json!({"fields": {"nope": {"readonly": true}}}), &s)
            .unwrap_err()
            .contains("no field `nope`"));
        assert!(parse(&json!({"readonly": "yes"}), &s).is_err());
        assert!(parse(&json!([1]), &s).is_err());
    }
}

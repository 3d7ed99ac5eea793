//! `PATCH /v1/workbooks/{id}` with `sheets` (Flatfile's `WorkbookUpdate.sheets`): a sheet
//! named by its `id`, or else by its `slug`, takes what is given of its config (name, slug,
//! actions, labels, descriptions, metadata, access, ...) over what it has; a sheet the
//! workbook lacks is added. How records read may not change here: fields and constraints
//! change one at a time with `sheets.addField` and `sheets.removeField`, which re-check the
//! records. Sheets not named stay as they are.

use super::sheet::{self, Sheet};
use super::workbook::Workbook;
use super::{ModelError, ModelResult};
use crate::blueprint::{self, Field, SheetConfig};
use crate::db::AnyConnection;
use serde_json::{json, Value};

/// Stores a sheet's whole config as changed here, with the name and slug it gives.
pub fn store(conn: &mut AnyConnection, id: &crate::ids::SheetId, config: &SheetConfig) -> ModelResult<()> {
    use crate::db::schema::sheets;
    use diesel::prelude::*;
    diesel::update(sheets::table.find(id))
        .set((
            sheets::config.eq(config.json.to_string()),
            sheets::name.eq(&config.name),
            sheets::slug.eq(&config.slug),
            sheets::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// What an update does to one sheet of the workbook.
enum Target<'a> {
    Existing(&'a Sheet),
    New,
}

/// What an update makes of the workbook's sheets: those whose config changes (each with
/// its new config) and those to add.
pub struct SheetChanges {
    pub changed: Vec<(Sheet, SheetConfig)>,
    pub added: Vec<SheetConfig>,
}

/// Works out what `items` do to the sheets of `wb`, inside the caller's write transaction
/// (the workbook's sheets locked), or why they cannot.
pub fn changes(conn: &mut AnyConnection, wb: &Workbook, items: &[Value]) -> ModelResult<SheetChanges> {
    if is_from_a_file(conn, &wb.id)? {
        return Err(invalid(
            "sheets",
            "a file's workbook has the sheets of its file; import them into another workbook to change them",
        ));
    }
    // The workbook's row first: two updates adding the same slug to a workbook with no
    // sheet yet had no sheet row to wait on (probe 57d F2: PostgreSQL kept both).
    super::workbook::hold(conn, &wb.id)?;
    sheet::lock_workbook(conn, &wb.id)?;
    let existing = sheet::list_in_workbook(conn, &wb.id)?;
    let mut targets = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        // As `PATCH /v1/sheets/{id}` takes it (probe 57d F1: `"x"` was kept).
        if item
            .get("metadata")
            .is_some_and(|m| !m.is_object() && !m.is_null())
        {
            return Err(invalid(
                &format!("$.sheets[{i}].metadata"),
                "a sheet's metadata is an object, such as {\"source\": \"crm\"}",
            ));
        }
        let target = target_of(&existing, item, i)?;
        if let Target::Existing(s) = target {
            if targets
                .iter()
                .any(|t| matches!(t, Target::Existing(o) if o.id == s.id))
            {
                return Err(invalid(
                    &format!("$.sheets[{i}]"),
                    format!("the sheet {} is named twice", s.name),
                ));
            }
        }
        targets.push(target);
    }
    let untouched: Vec<&Sheet> = existing
        .iter()
        .filter(|s| {
            !targets
                .iter()
                .any(|t| matches!(t, Target::Existing(o) if o.id == s.id))
        })
        .collect();
    // The workbook as it would be: untouched sheets first, so a problem of the request's is
    // found at its own sheets (a slug taken, a reference to a sheet it lacks).
    let stored = |s: &Sheet| serde_json::from_str::<Value>(&s.config).unwrap_or_else(|_| json!({}));
    let mut after: Vec<Value> = untouched.iter().map(|s| stored(s)).collect();
    for (item, target) in items.iter().zip(&targets) {
        after.push(match target {
            Target::Existing(s) => overlay(stored(s), item),
            Target::New => item.clone(),
        });
    }
    // The workbook as it is, in the same order: what its untouched sheets already broke.
    let mut before: Vec<Value> = untouched.iter().map(|s| stored(s)).collect();
    before.extend(targets.iter().filter_map(|t| match t {
        Target::Existing(s) => Some(stored(s)),
        Target::New => None,
    }));
    let parsed = parse_workbook(&untouched, &after, &before)?;
    let mut changed = Vec::new();
    let mut added = Vec::new();
    for ((i, target), config) in targets.iter().enumerate().zip(parsed) {
        match target {
            Target::Existing(s) => {
                let before = blueprint::parse_stored_sheet(&stored(s))?;
                if !reads_records_alike(&before, &config) {
                    return Err(invalid(
                        &format!("$.sheets[{i}].fields"),
                        format!(
                            "the fields and constraints of {} change one at a time, with POST /v1/sheets/{}/fields and DELETE /v1/sheets/{}/fields/{{key}}, which re-check its records; here they must stay as they are (labels and descriptions may change)",
                            s.name, s.id, s.id
                        ),
                    ));
                }
                if config.json != stored(s) {
                    changed.push(((*s).clone(), config));
                }
            }
            Target::New => added.push(config),
        }
    }
    Ok(SheetChanges { changed, added })
}

/// The sheet an item names: by `id` (one of this workbook's, or a 422), else by a `slug`
/// the workbook has; otherwise a new one.
fn target_of<'a>(existing: &'a [Sheet], item: &Value, i: usize) -> ModelResult<Target<'a>> {
    if !item.is_object() {
        return Err(invalid(
            &format!("$.sheets[{i}]"),
            "a sheet is an object with name, slug and fields",
        ));
    }
    match &item["id"] {
        Value::Null => {}
        Value::String(id) => {
            return existing
                .iter()
                .find(|s| s.id.as_str() == id)
                .map(Target::Existing)
                .ok_or_else(|| {
                    invalid(
                        &format!("$.sheets[{i}].id"),
                        format!("this workbook has no sheet `{id}`"),
                    )
                });
        }
        _ => return Err(invalid(&format!("$.sheets[{i}].id"), "a sheet's id is a string")),
    }
    let slug = item["slug"].as_str().map(str::trim).unwrap_or_default();
    Ok(existing
        .iter()
        .find(|s| !slug.is_empty() && s.slug == slug)
        .map_or(Target::New, Target::Existing))
}

/// A stored config with the members an update gives set over it (`id` is not config).
fn overlay(mut config: Value, item: &Value) -> Value {
    if let (Some(config), Some(item)) = (config.as_object_mut(), item.as_object()) {
        for (key, value) in item.iter().filter(|(k, _)| *k != "id") {
            config.insert(key.clone(), value.clone());
        }
    }
    config
}

/// Parses the workbook as it would be (`after`: its untouched sheets, then the request's)
/// and returns the configs of the request's sheets. A problem of an untouched sheet that
/// the workbook as it is (`before`, untouched sheets first) had already is not the
/// request's (rules newer than the sheet); any other is, named by the sheet.
fn parse_workbook(untouched: &[&Sheet], after: &[Value], before: &[Value]) -> ModelResult<Vec<SheetConfig>> {
    let n = untouched.len();
    let problems = match blueprint::parse_sheets(after, "$.sheets") {
        Ok(mut sheets) => return Ok(sheets.split_off(n)),
        Err(problems) => problems,
    };
    let had = blueprint::parse_sheets(before, "$.sheets")
        .err()
        .unwrap_or_default();
    let mut found = Vec::new();
    for p in problems {
        // A problem of the list itself (too many sheets) names no sheet (probe 65c D7).
        let Some(at) = index_of(&p.path) else {
            found.push(("$.sheets".into(), p.message));
            continue;
        };
        if at >= n {
            let rest = &p.path[format!("$.sheets[{at}]").len()..];
            found.push((format!("$.sheets[{}]{rest}", at - n), p.message));
        } else if !had.iter().any(|h| h.path == p.path && h.message == p.message) {
            found.push(("sheets".into(), format!("{}: {}", untouched[at].name, p.message)));
        }
    }
    match found.is_empty() {
        // Only what the stored sheets already break (rules newer than them): said, so it
        // can be fixed with `PATCH /v1/sheets/{id}` (probe 57d F3).
        true => Err(ModelError::Invalid(
            had.into_iter()
                .filter_map(|h| Some((index_of(&h.path)?, h.message)))
                .filter(|(at, _)| *at < n)
                .map(|(at, message)| {
                    let name = &untouched[at].name;
                    ("sheets".into(), format!("the stored sheet {name} does not read as it is: {message}; fix it first with PATCH /v1/sheets/{}", untouched[at].id))
                })
                .take(5)
                .collect(),
        )),
        false => Err(ModelError::Invalid(found)),
    }
}

/// The sheet index a problem's path starts with (`$.sheets[3].fields[0]` -> 3).
fn index_of(path: &str) -> Option<usize> {
    let rest = path.strip_prefix("$.sheets[")?;
    rest[..rest.find(']')?].parse().ok()
}

/// Whether two configs of a sheet read its records the same way: the same fields in the
/// same order, each of the same type and constraints (labels aside), and the same sheet
/// constraints.
fn reads_records_alike(before: &SheetConfig, after: &SheetConfig) -> bool {
    let shape = |f: &Field| {
        (
            f.key.clone(),
            f.field_type.clone(),
            (f.readonly, f.required, f.computed, f.verbatim),
            (f.required_note.clone(), f.unique, f.unique_note.clone()),
        )
    };
    before.fields.len() == after.fields.len()
        && before
            .fields
            .iter()
            .zip(&after.fields)
            .all(|(b, a)| shape(b) == shape(a))
        && before.json["constraints"] == after.json["constraints"]
}

/// A file's workbook holds its file's sheets: one a file names (not its metadata's
/// treatments, which a PATCH of the metadata takes away: probe 57d F4).
fn is_from_a_file(conn: &mut AnyConnection, wb: &crate::ids::WorkbookId) -> ModelResult<bool> {
    use crate::db::schema::files;
    use diesel::prelude::*;
    let named: i64 = files::table
        .filter(files::workbook_id.eq(wb.as_str()))
        .count()
        .get_result(conn)?;
    Ok(named > 0)
}

fn invalid(path: &str, message: impl Into<String>) -> ModelError {
    ModelError::Invalid(vec![(path.into(), message.into())])
}

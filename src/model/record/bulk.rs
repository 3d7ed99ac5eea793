//! Bulk changes (`records.findAndReplace`, `records.bulkUpdate`): one field's values changed
//! in every record a selection picks, in one write transaction, so it is all or nothing, is
//! validated like any update (unique across the sheet, references, counts) and is one commit.

use super::bulk_history;
use super::cells;
use super::ffql_sql::Condition;
use super::find_text::Find;
use super::write::{update_loaded, update_tagged, RecordUpdate, Tag, Written};
use super::RecordQuery;
use crate::blueprint::FieldType;
use crate::db::AnyConnection;
use crate::ids::{BulkChangeId, CommitId};
use crate::model::commit::Hooks;
use crate::model::sheet::{self, SheetContext};
use crate::model::{ModelError, ModelResult};
use crate::validate::{display, Checked};
use diesel::QueryResult;
use serde_json::Value;
use std::collections::BTreeMap;

/// Most records one bulk change may touch in one request.
pub const MAX_RECORDS: usize = 10_000;

/// What happens to a field's cells.
#[derive(Debug, Clone)]
pub enum Change {
    /// Every selected cell takes this value (`bulkUpdate`; null clears).
    Set(Value),
    /// What the cell shows: `find` (the whole text when `whole`; in any case when
    /// `any_case`, the grid's default) becomes `replace`.
    Replace {
        find: String,
        replace: String,
        whole: bool,
        any_case: bool,
    },
}

impl Change {
    /// A find or a replace as given (text, a number or true/false; none is empty) as the
    /// text a cell shows; anything else is why not.
    pub fn text_of(given: Option<&Value>) -> Result<String, &'static str> {
        match given {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(display(v)),
            Some(_) => Err("is text, a number or true/false"),
        }
    }

    /// A value to set as given: Flatfile's `{"value": ...}` cell or a plain value (null
    /// clears); another object is why not.
    pub fn value_of(given: &Value) -> Result<Value, &'static str> {
        match given {
            Value::Object(m) if m.contains_key("value") => Ok(m["value"].clone()),
            Value::Object(_) => Err(
                "a value is {\"value\": ...} or a plain value (null clears the cells), not another object",
            ),
            other => Ok(other.clone()),
        }
    }

    /// Why its own values cannot go in a cell (over 1 MiB, as a file's cell may be), if so.
    pub fn too_big(&self) -> Option<String> {
        let len = match self {
            Change::Set(Value::String(text)) => text.len(),
            Change::Set(other) => other.to_string().len(),
            Change::Replace { replace, .. } => replace.len(),
        };
        crate::extract::cell_too_big(len)
    }

    /// The change in words, for the history and the toast.
    fn describe(&self, label: &str) -> String {
        let done = match self {
            Change::Set(v) if display(v).is_empty() => format!("Cleared {label}"),
            Change::Set(v) => format!("Set {label} to “{}”", display(v)),
            Change::Replace { find, replace, .. } if replace.is_empty() => {
                format!("Replaced “{find}” with nothing in {label}")
            }
            Change::Replace { find, replace, .. } => format!("Replaced “{find}” with “{replace}” in {label}"),
        };
        match self {
            Change::Replace {
                any_case: true, find, ..
            } if find.chars().any(char::is_alphabetic) => {
                format!("{done} (any case)")
            }
            _ => done,
        }
    }

    /// What the toast says was done to the values ("Replaced 4,210 values").
    pub fn verb(&self) -> &'static str {
        match self {
            Change::Set(v) if display(v).is_empty() => "Cleared",
            Change::Set(_) => "Set",
            Change::Replace { .. } => "Replaced",
        }
    }
}

/// How much a change changed, in words: "4,210 values", and the records when a record
/// had several of them changed ("6 values in 3 records").
pub fn how_many(cells: usize, records: usize) -> String {
    let values = crate::words::values(cells as u64);
    if cells == records {
        values
    } else {
        format!("{values} in {}", crate::words::records(records as u64))
    }
}

/// The changes in words ("Replaced “N/A” with nothing in Amount; Cleared Notes").
pub fn describe(ctx: &SheetContext, changes: &[(usize, Change)]) -> String {
    changes
        .iter()
        .map(|(i, c)| c.describe(ctx.config.fields[*i].display_name()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What a bulk change did.
pub struct Done {
    /// Records changed.
    pub changed: usize,
    /// Cells changed (a change of several fields changes several cells of a record).
    pub cells: usize,
    pub commit: Option<CommitId>,
    /// Its history entry, which one click undoes.
    pub bulk: Option<BulkChangeId>,
}

/// The ids of the records `q` selects that the change may touch, in id order, at most
/// `limit`: a find and replace in a text field reads only the records that hold the text.
pub fn selected(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    q: &RecordQuery,
    changes: &[(usize, Change)],
    limit: Option<i64>,
) -> QueryResult<Vec<i64>> {
    let narrowing = match changes {
        [(field, Change::Replace { find, any_case, .. })]
            if !find.is_empty() && shows_text_as_stored(ctx, *field) && (find.is_ascii() || !any_case) =>
        {
            Some(Condition::holds_text(
                crate::db::backend_of(conn),
                find,
                *any_case,
            ))
        }
        _ => None,
    };
    cells::selected_ids(conn, ctx.sheet.seq, q, narrowing.as_ref(), limit)
}

/// Whether a field's cells show their stored JSON text as it is (text, options, references),
/// so text found in a cell is found in the stored record too (see `Condition::holds_text`).
fn shows_text_as_stored(ctx: &SheetContext, field: usize) -> bool {
    matches!(
        ctx.config.fields[field].field_type,
        FieldType::String | FieldType::Enum { .. } | FieldType::Reference { .. }
    )
}

/// Applies `changes` (field index, change) to the records `q` selects. More than
/// [`MAX_RECORDS`] selected: `None`, nothing changed, for the caller to run the change as
/// a job.
///
/// The selection is read before the write lock is taken (a slow query held up every
/// writer of the database on SQLite), then, under the lock, those records are checked
/// against it again by id: the records it picks when the change starts, still picked.
pub fn apply(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    q: &RecordQuery,
    changes: &[(usize, Change)],
    actor: &str,
    hooks: &Hooks,
) -> ModelResult<Option<Done>> {
    let picked = selected(conn, ctx, q, changes, Some(MAX_RECORDS as i64 + 1))?;
    if picked.len() > MAX_RECORDS {
        return Ok(None);
    }
    let q = RecordQuery {
        ids: Some(picked),
        ..q.clone()
    };
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        // Locked before reading, so the values replaced are the values written over.
        sheet::lock_for_write(conn, &ctx.write_set())?;
        let held = super::config::held(actor);
        if held {
            // Under the write lock just taken: a lock that came while this waited holds.
            sheet::get(conn, &ctx.sheet.id)?.check_unlocked()?;
        }
        let ids = selected(conn, ctx, &q, changes, None)?;
        let rows = super::write::load(conn, ctx.sheet.seq, &ids)?;
        let mut updates: Vec<RecordUpdate> = Vec::new();
        for row in &rows {
            updates.extend(update_of(ctx, row, changes, held)?.map(|(u, _)| u));
        }
        if updates.is_empty() {
            return Ok(Some(Done {
                changed: 0,
                cells: 0,
                commit: None,
                bulk: None,
            }));
        }
        let bulk = bulk_history::create(conn, &ctx.sheet.id, actor, &describe(ctx, changes), None)?;
        bulk_history::add_changed(conn, &bulk, updates.len())?;
        let tag = Tag {
            bulk: bulk.as_str(),
            decimal_commas: comma_fields(ctx, changes),
        };
        let written = update_tagged(conn, ctx, &updates, actor, hooks, Some(&tag))?;
        Ok(Some(Done {
            changed: updates.len(),
            cells: cells_in(&updates),
            commit: written.commit,
            bulk: Some(bulk),
        }))
    })
}

/// The update that makes `changes` to one record, if it changes anything. A change works on
/// what the cell shows: its value, or what was given when that could not be read (the
/// input kept beside a value, an option's other spelling or a padded number, is not shown).
/// A replacement that would make a cell bigger than a cell may be refuses the whole change,
/// naming the record and the field (422), rather than leave that cell out unsaid. A cell
/// listener code made read-only is left as it is when locks are `held` (a person's or a
/// guest's change), as the grid leaves it.
fn update_of(
    ctx: &SheetContext,
    row: &super::RecordRow,
    changes: &[(usize, Change)],
    held: bool,
) -> ModelResult<Option<(RecordUpdate, Checked)>> {
    let checked = row.checked(&ctx.config);
    let mut values = BTreeMap::new();
    for (field, change) in changes {
        if held && super::config::locks(row.config.as_deref(), &ctx.config.fields[*field].key) {
            continue;
        }
        let shown = match checked.vals.get(*field) {
            Some(v) if !v.is_null() => v,
            _ => checked.raw.get(field).unwrap_or(&Value::Null),
        };
        if let Some(after) = changed(shown, change) {
            if reads_as_held(ctx, *field, checked.vals.get(*field), &after) {
                continue;
            }
            let key = &ctx.config.fields[*field].key;
            if let Some(why) = crate::extract::value_too_big(&after) {
                return Err(ModelError::Invalid(vec![(
                    key.to_string(),
                    format!(
                        "the change would make the {} cell of record {} too big: {why}; nothing was changed",
                        ctx.config.fields[*field].display_name(),
                        row.record_id()
                    ),
                )]));
            }
            values.insert(key.clone(), after);
        }
    }
    Ok((!values.is_empty()).then(|| {
        let update = RecordUpdate {
            id: row.record_id(),
            values,
            messages: BTreeMap::new(),
            metadata: None,
            config: None,
            uploaded: BTreeMap::new(),
            confirms: false,
        };
        (update, checked)
    }))
}

/// One batch of a bulk change run as a job: `changes` made to the records `ids` that the
/// selection (`params`, the job's) still picks, written under the entry `bulk` with no
/// commit of their own (the job makes one commit of everything at the end). The caller
/// holds the write transaction. Returns the ids changed, and how many cells.
pub fn apply_batch(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    ids: &[i64],
    params: &[(String, String)],
    changes: &[(usize, Change)],
    actor: &str,
    bulk: &BulkChangeId,
) -> ModelResult<(Written<Vec<i64>>, usize)> {
    // The sheet as it is now: a field added or removed since the job began moves the
    // changed fields, which are found again by key.
    let fresh = sheet::relock_fresh(conn, ctx)?;
    let changes = refound(ctx, &fresh, changes)?;
    let ctx = &fresh;
    // Still picked, read under the lock: a record someone changed since the job began so
    // that the selection no longer picks it keeps their change (as a change of one request).
    let (q, _) = super::selection::parse(&ctx.config, params)
        .map_err(|m| ModelError::Invalid(vec![(m.key, m.message)]))?;
    let q = RecordQuery {
        ids: Some(ids.to_vec()),
        ..q
    };
    let ids = selected(conn, ctx, &q, &changes, None)?;
    let rows = super::write::load(conn, ctx.sheet.seq, &ids)?;
    // Each record decoded once: for the change, and as the old record the update replaces.
    let mut updates = Vec::new();
    let mut olds = Vec::new();
    let held = super::config::held(actor);
    for row in &rows {
        if let Some((update, old)) = update_of(ctx, row, &changes, held)? {
            updates.push(update);
            olds.push((row, old));
        }
    }
    bulk_history::add_changed(conn, bulk, updates.len())?;
    let tag = Tag {
        bulk: bulk.as_str(),
        decimal_commas: comma_fields(ctx, &changes),
    };
    let written = update_loaded(conn, ctx, &updates, olds, actor, &Hooks::Skip, Some(&tag))?;
    let written = Written {
        rows: updates.iter().map(|u| u.id.0).collect(),
        also_changed: written.also_changed,
        commit: written.commit,
    };
    Ok((written, cells_in(&updates)))
}

/// The number fields whose decimal points `changes` turn into commas (a find and replace
/// of `.` by `,`, or into a decimal-comma spelling such as `1,5`): their new values that
/// read two ways (`1,234`) are read the English way with a warning in every batch alike, as
/// in an insert that writes decimal commas. A set writes one value, read as it reads alone.
fn comma_fields(ctx: &SheetContext, changes: &[(usize, Change)]) -> Vec<usize> {
    use crate::blueprint::FieldType;
    let writes_comma = |change: &Change| match change {
        Change::Set(_) => false,
        Change::Replace { find, replace, .. } => {
            replace.contains(',')
                && (find.contains('.')
                    || crate::validate::decimal_commas_in([serde_json::json!(replace)].iter()))
        }
    };
    changes
        .iter()
        .filter(|(i, change)| {
            matches!(ctx.config.fields[*i].field_type, FieldType::Number { .. }) && writes_comma(change)
        })
        .map(|(i, _)| *i)
        .collect()
}

/// How many cells some updates change.
fn cells_in(updates: &[RecordUpdate]) -> usize {
    updates.iter().map(|u| u.values.len()).sum()
}

/// `changes` (made against `was`) with their fields found again in `now` by key; a field
/// removed since ends the change.
pub fn refound(
    was: &SheetContext,
    now: &SheetContext,
    changes: &[(usize, Change)],
) -> ModelResult<Vec<(usize, Change)>> {
    changes
        .iter()
        .map(|(i, change)| {
            let field = &was.config.fields[*i];
            match now.config.field_index(&field.key) {
                Some(j) => Ok((j, change.clone())),
                None => Err(ModelError::Conflict(format!(
                    "the field {} was removed from {} while this change was being made",
                    field.display_name(),
                    now.sheet.name
                ))),
            }
        })
        .collect()
}

/// Records re-checked per transaction by [`revalidate`].
const RECHECK_BATCH: i64 = 5_000;

/// Re-checks every record of a sheet (`POST /v1/sheets/{id}/validate`) from what was given:
/// types, required, options, unique across the sheet, references. A batch at a time, each
/// its own short transaction, so the counts are true at every moment and people's saves
/// wait for one batch at most. Listener code's messages stay. Returns how many were checked.
pub fn revalidate(conn: &mut AnyConnection, ctx: &SheetContext, actor: &str) -> ModelResult<usize> {
    let mut after = 0;
    let mut checked = 0;
    loop {
        // The re-check a field change runs, a batch to a transaction.
        let batch = crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
            // The fields as they are now: one changed meanwhile does not stop the re-check.
            let fresh = sheet::relock_fresh(conn, ctx)?;
            super::fields::recheck_batch(conn, &fresh, after, RECHECK_BATCH, actor)
        });
        match batch {
            Ok(Some(done)) => {
                checked += done.count;
                after = done.last_id;
                if (done.count as i64) < RECHECK_BATCH {
                    break;
                }
            }
            Ok(None) => break,
            // A record deleted since the batch was read: the batch is read again, without
            // it. (The sheet itself gone is an error like any other.)
            Err(ModelError::NotFound("record")) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(checked)
}

/// Whether a typed cell's new input reads as the value the cell holds (`2024/05/03` put
/// for the date 2024-05-03): no change, so the cell keeps the input it was read from and
/// what was said of it (probe 60b D1: a replace of `-` by `/` in a date column wrote every
/// date again, their month-first warnings gone, and its undo brought none of them back).
fn reads_as_held(ctx: &SheetContext, field: usize, held: Option<&Value>, after: &Value) -> bool {
    let Some(held) = held.filter(|v| !v.is_null()) else {
        return false;
    };
    !shows_text_as_stored(ctx, field)
        && crate::validate::cast_cell(&ctx.config.fields[field], after).value == *held
}

/// The cell's new input, or `None` when the change leaves it as it is. A list is changed
/// item by item (its items may hold the ", " that joins them where it is shown); an item
/// replaced by nothing leaves the list.
fn changed(before: &Value, change: &Change) -> Option<Value> {
    match (change, before) {
        (Change::Set(v), _) => (display(before) != display(v)).then(|| v.clone()),
        (
            Change::Replace {
                find,
                replace,
                whole,
                any_case,
            },
            Value::Array(items),
        ) => {
            let find = Find::new(find, *whole, *any_case);
            let mut any = false;
            let after: Vec<Value> = items
                .iter()
                .filter_map(|item| match find.replaced(&display(item), replace) {
                    Some(new) => {
                        any = true;
                        (!new.is_empty()).then_some(Value::String(new))
                    }
                    None => Some(item.clone()),
                })
                .collect();
            any.then(|| {
                if after.is_empty() {
                    Value::Null
                } else {
                    Value::Array(after)
                }
            })
        }
        // A number's exponent is no digits of it a person means: `2` by `3` turned 2e+20
        // into 3e+30 (probe 63a D3). A find naming the exponent (`e+20`) still reaches it.
        (
            Change::Replace {
                find,
                replace,
                whole: false,
                any_case,
            },
            Value::Number(_),
        ) if !find.to_ascii_lowercase().contains('e') => {
            let shown = display(before);
            let find = Find::new(find, false, *any_case);
            match shown.split_once('e') {
                Some((digits, exponent)) => find
                    .replaced(digits, replace)
                    .map(|new| text_or_empty(&format!("{new}e{exponent}"))),
                None => find.replaced(&shown, replace).map(|new| text_or_empty(&new)),
            }
        }
        (
            Change::Replace {
                find,
                replace,
                whole,
                any_case,
            },
            _,
        ) => Find::new(find, *whole, *any_case)
            .replaced(&display(before), replace)
            .map(|new| text_or_empty(&new)),
    }
}

/// Replacing a whole value by nothing clears the cell.
fn text_or_empty(text: &str) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        Value::String(text.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replaces_parts_or_whole_values() {
        let part = Change::Replace {
            find: "N/A".into(),
            replace: "".into(),
            whole: false,
            any_case: false,
        };
        assert_eq!(changed(&json!("N/A"), &part), Some(Value::Null));
        assert_eq!(changed(&json!("x N/A y"), &part), Some(json!("x  y")));
        assert_eq!(changed(&json!("fine"), &part), None);
        let whole = Change::Replace {
            find: "US".into(),
            replace: "United States".into(),
            whole: true,
            any_case: false,
        };
        assert_eq!(changed(&json!("US"), &whole), Some(json!("United States")));
        assert_eq!(changed(&json!("USA"), &whole), None);
        assert_eq!(
            changed(&json!(5), &Change::Set(json!("5"))),
            None,
            "the same shown value"
        );
        assert_eq!(changed(&json!(5), &Change::Set(Value::Null)), Some(Value::Null));
    }

    #[test]
    fn a_numbers_exponent_is_left_alone() {
        let two = Change::Replace {
            find: "2".into(),
            replace: "3".into(),
            whole: false,
            any_case: false,
        };
        assert_eq!(changed(&json!(2e20), &two), Some(json!("3e+20")));
        assert_eq!(changed(&json!(1e22), &two), None, "only its exponent holds a 2");
        assert_eq!(changed(&json!(1225), &two), Some(json!("1335")));
        let exponent = Change::Replace {
            find: "e+20".into(),
            replace: "e+21".into(),
            whole: false,
            any_case: false,
        };
        assert_eq!(changed(&json!(2e20), &exponent), Some(json!("2e+21")));
    }

    #[test]
    fn a_list_is_changed_item_by_item() {
        let jane = Change::Replace {
            find: "Jane".into(),
            replace: "Janet".into(),
            whole: false,
            any_case: false,
        };
        assert_eq!(
            changed(&json!(["Smith, John", "Doe, Jane"]), &jane),
            Some(json!(["Smith, John", "Doe, Janet"]))
        );
        let across = Change::Replace {
            find: "a, b".into(),
            replace: "z".into(),
            whole: false,
            any_case: false,
        };
        assert_eq!(changed(&json!(["a", "b"]), &across), None, "not across items");
        let gone = Change::Replace {
            find: "red".into(),
            replace: "".into(),
            whole: true,
            any_case: false,
        };
        assert_eq!(changed(&json!(["red", "green"]), &gone), Some(json!(["green"])));
        assert_eq!(changed(&json!(["red"]), &gone), Some(Value::Null));
    }
}

//! Updating records: validation, unique and reference checks, history, counts and the
//! event, all in one transaction per call; and the writing back and loading that inserts
//! and deletes share.

use super::history::{self, NewChange};
use super::keys;
use super::references::{self, Touched};
use super::search_index;
use super::sort_keys;
use super::unique;
pub(super) use super::write_many::{write_checks, write_rows};
use super::{encode, error_keys, RecordRow};
use crate::db::schema::records;
use crate::db::AnyConnection;
use crate::ids::{CommitId, RecordId, SheetId};
use crate::model::commit::{self, Hooks};
use crate::model::event::{self, Context};
use crate::model::sheet::{self, CountDelta, SheetContext};
use crate::model::{ModelError, ModelResult};
use crate::validate::{check_record, Checked, Message, Reading, Source};
use diesel::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// Rows per INSERT: 7 columns each, well under SQLite's bound-parameter limit.
pub(super) const INSERT_CHUNK: usize = 2000;

/// What a write did: the records as stored, and the other sheets whose records changed
/// with it (references re-checked), so callers can announce them.
pub struct Written<T> {
    pub rows: T,
    pub also_changed: Vec<SheetId>,
    /// The commit the write made, when it was one (see [`Hooks`]).
    pub commit: Option<CommitId>,
}

/// A change to one record: new input values by field key (others stay as they are), and
/// the messages listener code puts on cells by field key (replacing its earlier ones there).
#[derive(Debug, Clone)]
pub struct RecordUpdate {
    pub id: RecordId,
    pub values: BTreeMap<String, Value>,
    pub messages: BTreeMap<String, Vec<Message>>,
    pub metadata: Option<Value>,
    /// A new record `config` as stored (`Some(None)` takes it away; module `config`).
    pub config: Option<Option<String>>,
    /// The text a value in `values` was uploaded as, kept beside it when the value is
    /// stored as given: an undo puts back a mapped cell's upload with its translation.
    pub uploaded: BTreeMap<String, Value>,
    /// A person's own edit (a grid save or undo): a value the cell holds already, spelt
    /// otherwise than it was given (`2024-01-05` over `01/05/2024`), confirms it. The new
    /// spelling replaces the old and the reading's warning goes, recorded as a change.
    /// Listener code writing back what it read (`1000` over `1.000`) leaves both as they
    /// are (probe 72a D1).
    pub confirms: bool,
}

/// A hook's answer without the values it sends back as they are stored: a record hook
/// answers every value of the records it read, and an echo written again would replace
/// what a person or file gave (`  Zoe  `, `yes`, `a, b`) with its reading (probe 71b D2).
/// Its messages on those cells stay. Only hook answers: a person writing the value a cell
/// shows confirms it, and a reading's warning goes (probe 72a D1).
fn without_echoes(
    config: &crate::blueprint::SheetConfig,
    mut updates: Vec<RecordUpdate>,
    olds: &[(&RecordRow, Checked)],
) -> Vec<RecordUpdate> {
    for (u, (_, old)) in updates.iter_mut().zip(olds) {
        u.values.retain(|key, sent| {
            config
                .field_index(key)
                .is_none_or(|i| old.vals.get(i) != Some(sent))
        });
    }
    updates
}

/// Folds changes that name the same record into one, in request order: later values of a
/// field win, as if the changes were applied one after another.
fn merge_repeated(updates: &[RecordUpdate]) -> Vec<RecordUpdate> {
    let mut merged: Vec<RecordUpdate> = Vec::with_capacity(updates.len());
    let mut at: HashMap<RecordId, usize> = HashMap::with_capacity(updates.len());
    for u in updates {
        match at.get(&u.id) {
            Some(&i) => {
                merged[i].values.extend(u.values.clone());
                merged[i].messages.extend(u.messages.clone());
                merged[i].uploaded.retain(|key, _| !u.values.contains_key(key));
                merged[i].uploaded.extend(u.uploaded.clone());
                if u.metadata.is_some() {
                    merged[i].metadata = u.metadata.clone();
                }
                if u.config.is_some() {
                    merged[i].config = u.config.clone();
                }
            }
            None => {
                at.insert(u.id, merged.len());
                merged.push(u.clone());
            }
        }
    }
    merged
}

/// Applies changes to records; a record named more than once gets its changes in order.
/// Returns each changed record once, as stored.
pub fn update(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    updates: &[RecordUpdate],
    actor: &str,
    hooks: &Hooks,
) -> ModelResult<Written<Vec<RecordRow>>> {
    update_tagged(conn, ctx, updates, actor, hooks, None)
}

/// A bulk change's updates: its id, which marks their history (undone together), and the
/// number fields into which it writes decimal commas (see `bulk::comma_fields`).
pub struct Tag<'a> {
    pub bulk: &'a str,
    pub decimal_commas: Vec<usize>,
}

/// [`update`], as part of the bulk change `bulk`.
pub fn update_tagged(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    updates: &[RecordUpdate],
    actor: &str,
    hooks: &Hooks,
    bulk: Option<&Tag>,
) -> ModelResult<Written<Vec<RecordRow>>> {
    let updates = merge_repeated(updates);
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        sheet::lock_context(conn, ctx)?;
        let updates = match hooks {
            Hooks::Answer(commit) => super::hook_answer::fresh_part(conn, ctx, commit, updates)?,
            _ => updates,
        };
        let ids: Vec<i64> = updates.iter().map(|u| u.id.0).collect();
        let old_rows = load(conn, ctx.sheet.seq, &ids)?;
        // A hook answers for the records its commit wrote: one deleted since (a person
        // tidying the import while the hook ran) is passed over, not a reason to refuse the
        // answer for all the others and leave the commit unanswered.
        let (updates, ids) = match hooks {
            Hooks::Answer(_) if old_rows.len() < ids.len() => {
                let there: std::collections::HashSet<i64> = old_rows.iter().map(|r| r.id).collect();
                let kept: Vec<RecordUpdate> =
                    updates.into_iter().filter(|u| there.contains(&u.id.0)).collect();
                let ids = kept.iter().map(|u| u.id.0).collect();
                (kept, ids)
            }
            _ => (updates, ids),
        };
        let olds = olds_of(&ctx.config, &updates, &old_rows)?;
        let updates = match hooks {
            Hooks::Answer(_) => without_echoes(&ctx.config, updates, &olds),
            _ => updates,
        };
        let written = update_loaded(conn, ctx, &updates, olds, actor, hooks, bulk)?;
        Ok(Written {
            rows: load(conn, ctx.sheet.seq, &ids)?,
            also_changed: written.also_changed,
            commit: written.commit,
        })
    })
}

/// The records `updates` change, among `rows` (as read under the sheet's lock), each
/// decoded, in the order of `updates`; one missing is 404.
fn olds_of<'r>(
    config: &crate::blueprint::SheetConfig,
    updates: &[RecordUpdate],
    rows: &'r [RecordRow],
) -> ModelResult<Vec<(&'r RecordRow, Checked)>> {
    let by_id: HashMap<i64, &RecordRow> = rows.iter().map(|r| (r.id, r)).collect();
    updates
        .iter()
        .map(|u| {
            let row = by_id
                .get(&u.id.0)
                .ok_or_else(|| ModelError::NotFoundNamed(format!("record {} not found", u.id)))?;
            Ok((*row, row.checked(config)))
        })
        .collect()
}

/// How the fields of `updates` read their new values that read two ways, as an insert's
/// batch reads its own (see `validate::Reading`): dates in the order the request's dates
/// show, numbers with the decimal commas it writes. `None` when none needs to.
fn update_readings(config: &crate::blueprint::SheetConfig, updates: &[RecordUpdate]) -> Option<Vec<Reading>> {
    use crate::blueprint::FieldType;
    use crate::validate::DateOrder;
    fn column<'a>(updates: &'a [RecordUpdate], key: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        updates.iter().filter_map(move |u| u.values.get(key))
    }
    let readings: Vec<Reading> = config
        .fields
        .iter()
        .map(|f| match f.field_type {
            FieldType::Date => Reading::Dates(crate::validate::date_order_of(column(updates, &f.key))),
            FieldType::Number { .. } if crate::validate::decimal_commas_in(column(updates, &f.key)) => {
                Reading::DecimalCommas
            }
            _ => Reading::Alone,
        })
        .collect();
    let matters = |r: &Reading| !matches!(r, Reading::Alone | Reading::Dates(DateOrder::Unknown));
    readings.iter().any(matters).then_some(readings)
}

/// The input a date cell was read from, when read alone it gives the value stored and the
/// warning the cell carries: an undo writing it again reads it so. One read month first
/// unwarned, as its batch's other dates showed, is put back as the date with its input
/// beside it (probe 74a D5: read alone again, it came back warned).
fn given_date<'c>(config: &crate::blueprint::SheetConfig, i: usize, old: &'c Checked) -> Option<&'c Value> {
    let field = &config.fields[i];
    let given = old.raw.get(&i)?;
    let date = matches!(field.field_type, crate::blueprint::FieldType::Date);
    let read = crate::validate::cast_cell(field, given);
    let warned = |messages: &[Message]| messages.iter().any(Message::is_reading_warning);
    let warned_so = warned(&read.messages) == warned(old.messages.get(&i).map_or(&[], Vec::as_slice));
    (date && read.value == *old.vals.get(i)? && warned_so).then_some(given)
}

/// Whether `u` gives the cell `key` holds in another spelling than the one it was given
/// in (or, with the text uploaded beside it, than the one it holds now).
fn respelt(config: &crate::blueprint::SheetConfig, old: &Checked, u: &RecordUpdate, key: &str) -> bool {
    use crate::validate::display;
    let Some(i) = config.field_index(key) else {
        return false;
    };
    let Some(given_now) = old.raw.get(&i).or_else(|| old.vals.get(i)) else {
        return false;
    };
    let Some(given_new) = u.uploaded.get(key).or_else(|| u.values.get(key)) else {
        return false;
    };
    display(given_now) != display(given_new)
}

/// Keeps the text each of `u`'s values was uploaded as where the value is stored as given.
fn keep_uploaded(config: &crate::blueprint::SheetConfig, rec: &mut Checked, u: &RecordUpdate) {
    for (key, text) in &u.uploaded {
        let Some(i) = config.field_index(key) else {
            continue;
        };
        if u.values.get(key).is_some_and(|v| rec.vals.get(i) == Some(v)) {
            rec.raw.insert(i, text.clone());
            let mut warnings = crate::validate::warnings_reading_as(&config.fields[i], text, &rec.vals[i]);
            // An undo's: the warning as the value had it, when it still reads with one.
            let said: Vec<Message> = u
                .messages
                .get(key)
                .into_iter()
                .flatten()
                .filter(|m| m.is_reading_warning())
                .cloned()
                .collect();
            if !warnings.is_empty() && !said.is_empty() {
                warnings = said;
            }
            let messages = rec.messages.entry(i).or_default();
            messages.retain(|m| !m.is_reading_warning());
            messages.extend(warnings);
            if messages.is_empty() {
                rec.messages.remove(&i);
            }
        }
    }
}

/// A bulk change's readings: decimal commas in the number fields it writes commas into;
/// its dates are read alone, alike in each of its batches.
fn tag_readings(config: &crate::blueprint::SheetConfig, tag: &Tag) -> Option<Vec<Reading>> {
    (!tag.decimal_commas.is_empty()).then(|| {
        (0..config.fields.len())
            .map(|i| match tag.decimal_commas.contains(&i) {
                true => Reading::DecimalCommas,
                false => Reading::Alone,
            })
            .collect()
    })
}

/// How one update's fields read: as `readings` says for the fields it gives a value, the
/// others alone (their stored values are read again, not new input).
fn readings_of(
    config: &crate::blueprint::SheetConfig,
    readings: &[Reading],
    u: &RecordUpdate,
) -> Vec<Reading> {
    config
        .fields
        .iter()
        .zip(readings)
        .map(|(f, r)| match u.values.contains_key(&f.key) {
            true => *r,
            false => Reading::Alone,
        })
        .collect()
}

fn check_record_read(
    config: &crate::blueprint::SheetConfig,
    input: &BTreeMap<String, Value>,
    readings: &[Reading],
) -> Checked {
    crate::validate::check_values_read(config, crate::validate::in_field_order(config, input), readings)
}

/// The heart of [`update`]: `updates` (one per record) made to `old`, the records as read
/// under the sheet's lock with their decoded form, in the order of `updates`; the caller
/// holds the write transaction. The records as stored afterwards are not read back.
pub(super) fn update_loaded(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    updates: &[RecordUpdate],
    old: Vec<(&RecordRow, Checked)>,
    actor: &str,
    hooks: &Hooks,
    tag: Option<&Tag>,
) -> ModelResult<Written<()>> {
    let ids: Vec<i64> = updates.iter().map(|u| u.id.0).collect();
    // A bulk change decides for all its batches alike.
    let readings = match tag {
        Some(tag) => tag_readings(&ctx.config, tag),
        None => {
            super::sheet_readings::with_sheets(conn, ctx, updates, update_readings(&ctx.config, updates))?
        }
    };
    let bulk = tag.map(|t| t.bulk);
    let mut delta = CountDelta::default();
    let mut checked = Vec::with_capacity(updates.len());
    let mut olds = Vec::with_capacity(updates.len());
    let mut rows = Vec::with_capacity(updates.len());
    let mut changes = Vec::new();
    for (u, (row, old)) in updates.iter().zip(old) {
        rows.push(row);
        debug_assert_eq!(u.id.0, row.id, "the old records in the order of the updates");
        delta.add(-1, row.valid, error_keys(&ctx.config, &old));
        // Decoded once: the old record is read for its values, raw input and messages.
        let mut input = super::inputs_of(&ctx.config, &old.vals, &old.raw);
        super::date_cells::typed_values(&ctx.config, &old.vals, &mut input);
        let mut custom = old.custom.clone();
        let mut changed_keys = Vec::new();
        for (key, new) in &u.values {
            let before = input.get(key).unwrap_or(&Value::Null);
            // A change is what people see change: saving a cell as it was (an empty
            // cell as "", 5 as "5", as the grid sends them) is none, and blocks no one.
            // Lists of other items reading alike (`["a", "b"]`, `["a, b"]`) are a change
            // too (probe 73a D1: none was recorded, and a stale save went over it).
            let changed = crate::validate::display(before) != crate::validate::display(new)
                || (before.is_array() && new.is_array() && before != new)
                || (u.confirms && respelt(&ctx.config, &old, u, key));
            if changed {
                changed_keys.push(key.as_str());
            }
            if let (true, Some(i)) = (changed, ctx.config.field_index(key)) {
                // A new value clears what a hook said of the old one; it says it again.
                // Kept in the history, for an undo to say again (probe 69e D2).
                let said = custom.remove(&i);
                // A date's history keeps the input it was read from when that reads as
                // its value, so an undo puts back the spelling and its warning too (probe
                // 60c D8: the typed date came back, `01/05/2024` and "read month first" not).
                let recorded = given_date(&ctx.config, i, &old).unwrap_or(before);
                let mut change =
                    NewChange::new(&ctx.sheet.id, row.id, row.version + 1, key, recorded, new, actor);
                change.bulk_id = bulk;
                // A mapping's translation (`Gold Member` to gold) is recorded as the value;
                // the upload goes beside it, for an undo to put back (probe 68f D1).
                change.old_raw = old
                    .raw
                    .get(&i)
                    .filter(|given| *given != recorded)
                    .map(Value::to_string);
                // The old value's reading warning too, so an undo says it in its own words
                // (probe 74a D6: "this field's other values" for "the other numbers of
                // this import").
                let mut kept = said.unwrap_or_default();
                kept.extend(
                    old.messages
                        .get(&i)
                        .into_iter()
                        .flatten()
                        .filter(|m| m.is_reading_warning())
                        .cloned(),
                );
                change.old_messages = (!kept.is_empty())
                    .then(|| serde_json::to_string(&kept).ok())
                    .flatten();
                changes.push(change);
            }
        }
        input.extend(u.values.clone());
        let mut rec = match &readings {
            None => check_record(&ctx.config, &input),
            Some(readings) => check_record_read(&ctx.config, &input, &readings_of(&ctx.config, readings, u)),
        };
        super::date_cells::keep_readings(&ctx.config, &mut rec, &old, |key| changed_keys.contains(&key));
        keep_uploaded(&ctx.config, &mut rec, u);
        set_custom(
            &ctx.config,
            &mut custom,
            [&rec.messages, &old.messages],
            &u.messages,
        );
        rec.custom = custom;
        checked.push(rec);
        olds.push(old);
    }
    history::write(conn, &changes)?;
    references::check(conn, ctx, &mut checked)?;
    // Only the records whose kept keys change, and those sharing a value with them, are
    // checked against the keys again; the others keep their unique status.
    let rekeyed = unique::rekeyed(ctx, &olds, &mut checked);
    let sub_ids: Vec<i64> = rekeyed.iter().map(|&k| ids[k]).collect();
    let mut sub: Vec<Checked> = rekeyed.iter().map(|&k| std::mem::take(&mut checked[k])).collect();
    // Old keys matter too: a record that shared a value may leave its last holder.
    let held = keys::of_records(conn, &ctx.sheet.id, &sub_ids)?;
    let old_of: HashMap<i64, &Checked> = rekeyed.iter().map(|&k| (ids[k], &olds[k])).collect();
    let shared = unique::shared(ctx, &held, |id, rule| {
        old_of.get(&id).is_some_and(|c| rule.flagged(c))
    });
    keys::delete_of_records(conn, &ctx.sheet.id, &sub_ids)?;
    keys::insert(conn, &unique::keys_of(ctx, &sub_ids, &sub))?;
    unique::settle(conn, ctx, &sub_ids, &mut sub, &shared, &mut delta)?;
    let mut touched = Touched::new();
    // A sheet constraint's keys (below zero) are no field's a reference matches on.
    for (_, field, norm) in held.into_iter().filter(|(_, field, _)| *field >= 0) {
        touched.entry(field as usize).or_default().insert(norm);
    }
    references::target_norms(ctx, &sub, &mut touched);
    for (k, rec) in rekeyed.into_iter().zip(sub) {
        checked[k] = rec;
    }
    // A re-check that changes nothing in a record leaves it as stored, its version too: a
    // sheet's re-check rewrote every record (200,000 on PostgreSQL: 33 s, its indexes kept).
    let stored: Vec<(i64, &Checked)> = (0..ids.len())
        .filter(|&k| {
            let recheck =
                updates[k].values.is_empty() && updates[k].metadata.is_none() && updates[k].config.is_none();
            !(recheck && is_stored_as(rows[k], &olds[k], &checked[k]))
        })
        .map(|k| (ids[k], &checked[k]))
        .collect();
    let mut moved: Vec<usize> = match sort_keys::kept(conn, ctx.sheet.seq)? {
        true => olds
            .iter()
            .zip(&checked)
            .flat_map(|(old, new)| sort_keys::changed(&old.vals, &new.vals))
            .collect(),
        false => Vec::new(),
    };
    moved.sort_unstable();
    moved.dedup();
    write_rows(conn, ctx.sheet.seq, &stored, true, &moved)?;
    for (k, u) in updates.iter().enumerate() {
        if let Some(meta) = &u.metadata {
            diesel::update(
                records::table
                    .filter(records::sheet_seq.eq(ctx.sheet.seq))
                    .filter(records::id.eq(ids[k])),
            )
            .set(records::metadata.eq(meta.to_string()))
            .execute(conn)?;
        }
        if let Some(config) = &u.config {
            diesel::update(
                records::table
                    .filter(records::sheet_seq.eq(ctx.sheet.seq))
                    .filter(records::id.eq(ids[k])),
            )
            .set(records::config.eq(config))
            .execute(conn)?;
        }
        delta.add(1, checked[k].valid(), error_keys(&ctx.config, &checked[k]));
    }
    let shown_anew: Vec<i64> = ids
        .iter()
        .zip(olds.iter().zip(&checked))
        .filter(|(_, (old, new))| !crate::db::sqlite_functions::same_search_text(&old.vals, &new.vals))
        .map(|(id, _)| *id)
        .collect();
    search_index::reindex(conn, ctx.sheet.seq, &shown_anew)?;
    finish(conn, ctx, actor, "records:updated", ids.len(), &delta)?;
    let commit = commit_for(conn, ctx, actor, hooks, &ids)?;
    let also_changed = references::recheck_referrers(conn, ctx, Some(&touched), actor)?;
    Ok(Written {
        rows: (),
        also_changed,
        commit,
    })
}

/// Whether a record as stored (`row`, decoded as `old`) already says what `checked` does.
/// Compared decoded: PostgreSQL's `jsonb` writes the same values with other spacing. A
/// record stored before a field was added at the end stays shorter: read, its missing
/// places are empty ([`RecordRow::checked`]), so adding an optional field rewrites nothing.
fn is_stored_as(row: &RecordRow, old: &Checked, checked: &Checked) -> bool {
    let e = encode(checked);
    old == checked && row.valid == e.valid && row.error_fields == e.error_fields
}

/// Makes the write a commit, or completes the commit it answers (module `commit`).
pub(super) fn commit_for(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    actor: &str,
    hooks: &Hooks,
    ids: &[i64],
) -> ModelResult<Option<CommitId>> {
    match hooks {
        Hooks::Run if !ids.is_empty() => Ok(Some(commit::create_in_parts(conn, ctx, actor, ids)?)),
        Hooks::Quiet if !ids.is_empty() => Ok(Some(commit::create_quiet(conn, ctx, actor, ids)?)),
        Hooks::Answer(id) => {
            commit::complete(conn, ctx, id, actor)?;
            Ok(Some(id.clone()))
        }
        _ => Ok(None),
    }
}

/// Puts the messages listener code sent for some cells in place of its earlier ones there.
/// Messages of Wharf's own kinds (required, unique, options, references), or equal to what
/// Wharf's check says of the cell now or said of it before (`own`: a client sending back
/// the record as it read it, a fixed value beside its old cast message), are Wharf's to
/// give: echoed back, they do not stick.
fn set_custom(
    config: &crate::blueprint::SheetConfig,
    custom: &mut BTreeMap<usize, Vec<Message>>,
    own: [&BTreeMap<usize, Vec<Message>>; 2],
    given: &BTreeMap<String, Vec<Message>>,
) {
    for (key, list) in given {
        let Some(i) = config.field_index(key) else {
            continue;
        };
        let echoes = |m: &Message| {
            own.iter()
                .filter_map(|o| o.get(&i))
                .flatten()
                .any(|x| x.kind == m.kind && x.message == m.message)
        };
        let keep: Vec<Message> = list
            .iter()
            .filter(|m| matches!(m.source, Source::CustomLogic | Source::Submit))
            .filter(|m| !echoes(m))
            .cloned()
            .collect();
        if keep.is_empty() {
            custom.remove(&i);
        } else {
            custom.insert(i, keep);
        }
    }
}

pub(super) fn finish(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    actor: &str,
    topic: &str,
    count: usize,
    delta: &CountDelta,
) -> ModelResult<()> {
    sheet::add_counts(conn, &ctx.sheet.id, delta)?;
    search_index::postpone_merge(conn, ctx.sheet.seq)?;
    let ectx = Context::new(&ctx.environment_id, actor)
        .space(&ctx.space_id)
        .workbook(&ctx.sheet.workbook_id)
        .sheet(&ctx.sheet.id)
        .sheet_slug(&ctx.sheet.slug);
    event::emit(conn, &ectx, topic, json!({"count": count}))?;
    // The space's activity was marked when the write took its locks.
    Ok(())
}

/// The records of these ids in the sheet, in the order given.
pub fn load(conn: &mut AnyConnection, sheet_seq: i64, ids: &[i64]) -> QueryResult<Vec<RecordRow>> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(INSERT_CHUNK) {
        rows.extend(
            records::table
                .filter(records::sheet_seq.eq(sheet_seq))
                .filter(records::id.eq_any(chunk))
                .order(records::id.asc())
                .select(RecordRow::as_select())
                .load(conn)?,
        );
    }
    // Keep the caller's order (the order of an update request, for example).
    let pos: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    rows.sort_by_key(|r| pos.get(&r.id).copied().unwrap_or(usize::MAX));
    Ok(rows)
}

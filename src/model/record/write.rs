//! Inserting, updating and deleting records: validation, unique and reference checks,
//! counts and the event, all in one transaction per call.

use super::keys::{self, norm_for, NewKey};
use super::{encode, error_keys, Encoded, RecordRow};
use crate::db::schema::records;
use crate::db::AnyConnection;
use crate::ids::RecordId;
use crate::model::event::{self, Context};
use crate::model::sheet::{self, CountDelta, SheetContext};
use crate::model::{space, ModelError, ModelResult};
use crate::validate::{
    check_record, check_values, reference_message, unique_message, Checked, MessageType, Source,
};
use diesel::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Rows per INSERT: 7 columns each, well under SQLite's bound-parameter limit.
const INSERT_CHUNK: usize = 2000;

#[derive(Insertable)]
#[diesel(table_name = records)]
struct NewRecord<'a> {
    sheet_seq: i64,
    vals: &'a str,
    raw: Option<&'a str>,
    messages: Option<&'a str>,
    valid: bool,
    error_fields: Option<&'a str>,
}

/// Inserts records given as `{field key: input value}`, in order; returns them as stored.
pub fn insert(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    inputs: Vec<Vec<Value>>,
    actor: &str,
) -> ModelResult<Vec<RecordRow>> {
    let mut checked = check_all(ctx, inputs);
    conn.transaction::<_, ModelError, _>(|conn| {
        check_references(conn, ctx, &mut checked)?;
        let mut encoded: Vec<Encoded> = checked.iter().map(encode).collect();
        let ids = insert_rows(conn, ctx, &encoded)?;
        keys::insert(conn, &keys_of(ctx, &ids, &checked))?;
        let mut delta = CountDelta::default();
        let changed = settle_unique(conn, ctx, &ids, &mut checked, &HashMap::new(), &mut delta)?;
        for k in changed {
            write_row(conn, ids[k], &checked[k], false)?;
            encoded[k] = encode(&checked[k]);
        }
        for rec in &checked {
            delta.add(1, rec.valid(), error_keys(&ctx.config, rec));
        }
        finish(conn, ctx, actor, "records:created", ids.len(), &delta)?;
        // The rows as stored, built here rather than read back.
        Ok(ids
            .iter()
            .zip(encoded)
            .map(|(id, e)| RecordRow {
                id: *id,
                sheet_seq: ctx.sheet.seq,
                vals: e.vals,
                raw: e.raw,
                messages: e.messages,
                valid: e.valid,
                error_fields: e.error_fields,
                metadata: None,
                version: 1,
            })
            .collect())
    })
}

/// A change to one record: new input values by field key (others stay as they are).
#[derive(Debug, Clone)]
pub struct RecordUpdate {
    pub id: RecordId,
    pub values: BTreeMap<String, Value>,
    pub metadata: Option<Value>,
}

pub fn update(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    updates: &[RecordUpdate],
    actor: &str,
) -> ModelResult<Vec<RecordRow>> {
    conn.transaction::<_, ModelError, _>(|conn| {
        let ids: Vec<i64> = updates.iter().map(|u| u.id.0).collect();
        let old_rows = load(conn, ctx.sheet.seq, &ids)?;
        let by_id: HashMap<i64, &RecordRow> = old_rows.iter().map(|r| (r.id, r)).collect();
        let mut delta = CountDelta::default();
        let mut checked = Vec::with_capacity(updates.len());
        for u in updates {
            let row = by_id.get(&u.id.0).ok_or(ModelError::NotFound("record"))?;
            let old = row.checked();
            delta.add(-1, row.valid, error_keys(&ctx.config, &old));
            let mut input = row.inputs(&ctx.config);
            input.extend(u.values.clone());
            checked.push(check_record(&ctx.config, &input));
        }
        check_references(conn, ctx, &mut checked)?;
        // Old keys matter too: the record that held a value alone may now be its last holder.
        let mut old_norms: HashMap<usize, HashSet<String>> = HashMap::new();
        for (_, field, norm) in keys::of_records(conn, &ctx.sheet.id, &ids)? {
            old_norms.entry(field as usize).or_default().insert(norm);
        }
        keys::delete_of_records(conn, &ctx.sheet.id, &ids)?;
        keys::insert(conn, &keys_of(ctx, &ids, &checked))?;
        settle_unique(conn, ctx, &ids, &mut checked, &old_norms, &mut delta)?;
        for (k, u) in updates.iter().enumerate() {
            write_row(conn, ids[k], &checked[k], true)?;
            if let Some(meta) = &u.metadata {
                diesel::update(records::table.find(ids[k]))
                    .set(records::metadata.eq(meta.to_string()))
                    .execute(conn)?;
            }
            delta.add(1, checked[k].valid(), error_keys(&ctx.config, &checked[k]));
        }
        finish(conn, ctx, actor, "records:updated", ids.len(), &delta)?;
        Ok(load(conn, ctx.sheet.seq, &ids)?)
    })
}

/// Deletes records by id; returns how many there were.
pub fn delete(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    ids: &[RecordId],
    actor: &str,
) -> ModelResult<usize> {
    conn.transaction::<_, ModelError, _>(|conn| {
        let ids: Vec<i64> = ids.iter().map(|r| r.0).collect();
        let rows = load(conn, ctx.sheet.seq, &ids)?;
        if rows.len() != ids.len() {
            return Err(ModelError::NotFound("record"));
        }
        let mut delta = CountDelta::default();
        for row in &rows {
            delta.add(-1, row.valid, error_keys(&ctx.config, &row.checked()));
        }
        let mut old_norms: HashMap<usize, HashSet<String>> = HashMap::new();
        for (_, field, norm) in keys::of_records(conn, &ctx.sheet.id, &ids)? {
            old_norms.entry(field as usize).or_default().insert(norm);
        }
        keys::delete_of_records(conn, &ctx.sheet.id, &ids)?;
        for chunk in ids.chunks(INSERT_CHUNK) {
            diesel::delete(
                records::table
                    .filter(records::sheet_seq.eq(ctx.sheet.seq))
                    .filter(records::id.eq_any(chunk)),
            )
            .execute(conn)?;
        }
        settle_unique(conn, ctx, &[], &mut [], &old_norms, &mut delta)?;
        finish(conn, ctx, actor, "records:deleted", rows.len(), &delta)?;
        Ok(rows.len())
    })
}

/// Validation is pure CPU work: large batches are split across the cores.
fn check_all(ctx: &SheetContext, mut inputs: Vec<Vec<Value>>) -> Vec<Checked> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if inputs.len() < 2000 || threads < 2 {
        return inputs
            .into_iter()
            .map(|values| check_values(&ctx.config, values))
            .collect();
    }
    let per = inputs.len().div_ceil(threads);
    let mut parts = Vec::with_capacity(threads);
    while inputs.len() > per {
        let rest = inputs.split_off(per);
        parts.push(std::mem::replace(&mut inputs, rest));
    }
    parts.push(inputs);
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                scope.spawn(|| {
                    part.into_iter()
                        .map(|values| check_values(&ctx.config, values))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        // A panic in validation is a bug; surface it rather than lose records.
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("validation thread panicked"))
            .collect()
    })
}

fn finish(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    actor: &str,
    topic: &str,
    count: usize,
    delta: &CountDelta,
) -> ModelResult<()> {
    sheet::add_counts(conn, &ctx.sheet.id, delta)?;
    let ectx = Context::new(&ctx.environment_id, actor)
        .space(&ctx.space_id)
        .workbook(&ctx.sheet.workbook_id)
        .sheet(&ctx.sheet.id);
    event::emit(conn, &ectx, topic, json!({"count": count}))?;
    space::touch(conn, &ctx.space_id)?;
    Ok(())
}

fn insert_rows(conn: &mut AnyConnection, ctx: &SheetContext, encoded: &[Encoded]) -> QueryResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(encoded.len());
    let rows: Vec<NewRecord> = encoded
        .iter()
        .map(|e| NewRecord {
            sheet_seq: ctx.sheet.seq,
            vals: &e.vals,
            raw: e.raw.as_deref(),
            messages: e.messages.as_deref(),
            valid: e.valid,
            error_fields: e.error_fields.as_deref(),
        })
        .collect();
    match conn {
        // SQLite: one cached prepared statement run per row beats re-parsing a statement
        // with thousands of parameters for every chunk.
        AnyConnection::Sqlite(c) => {
            for row in &rows {
                ids.push(
                    diesel::insert_into(records::table)
                        .values(row)
                        .returning(records::id)
                        .get_result(c)?,
                );
            }
        }
        AnyConnection::Postgres(c) => {
            for chunk in rows.chunks(INSERT_CHUNK) {
                let got: Vec<i64> = diesel::insert_into(records::table)
                    .values(chunk)
                    .returning(records::id)
                    .get_results(c)?;
                ids.extend(got);
            }
        }
    }
    Ok(ids)
}

fn write_row(conn: &mut AnyConnection, id: i64, checked: &Checked, bump_version: bool) -> QueryResult<()> {
    let e = encode(checked);
    let target = records::table.find(id);
    let cols = (
        records::vals.eq(e.vals),
        records::raw.eq(e.raw),
        records::messages.eq(e.messages),
        records::valid.eq(e.valid),
        records::error_fields.eq(e.error_fields),
    );
    if bump_version {
        diesel::update(target)
            .set((cols, records::version.eq(records::version + 1)))
            .execute(conn)?;
    } else {
        diesel::update(target).set(cols).execute(conn)?;
    }
    Ok(())
}

pub(super) fn load(conn: &mut AnyConnection, sheet_seq: i64, ids: &[i64]) -> QueryResult<Vec<RecordRow>> {
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

/// The kept keys of some records, for their unique and referenced fields.
fn keys_of(ctx: &SheetContext, ids: &[i64], checked: &[Checked]) -> Vec<NewKey> {
    let mut out = Vec::new();
    for (field_index, rule) in ctx.keyed.iter().enumerate() {
        let Some(case_sensitive) = *rule else {
            continue;
        };
        let keep_empty = ctx.config.fields[field_index]
            .unique
            .is_some_and(|u| !u.ignore_empty);
        for (id, rec) in ids.iter().zip(checked) {
            if let Some(norm) = norm_for(&rec.vals[field_index], case_sensitive, keep_empty) {
                out.push(NewKey {
                    sheet_id: ctx.sheet.id.clone(),
                    field_index: field_index as i32,
                    norm,
                    record_id: *id,
                });
            }
        }
    }
    out
}

/// Marks references whose target key does not exist (only on cells that cast cleanly).
fn check_references(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    checked: &mut [Checked],
) -> QueryResult<()> {
    for (i, target) in ctx.refs.iter().enumerate() {
        let Some(target) = target else { continue };
        let field = &ctx.config.fields[i];
        let norm = |rec: &Checked| {
            let clean = !rec
                .messages
                .get(&i)
                .is_some_and(|ms| ms.iter().any(|m| m.kind == MessageType::Error));
            clean
                .then(|| norm_for(&rec.vals[i], target.case_sensitive, false))
                .flatten()
        };
        let wanted: Vec<String> = checked
            .iter()
            .filter_map(norm)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let found = keys::holders(conn, &target.sheet_id, target.field_index, &wanted)?;
        for rec in checked.iter_mut() {
            if let Some(n) = norm(rec) {
                let missing = !found.contains_key(&n);
                let message = missing.then(|| reference_message(field, &rec.vals[i], &target.sheet_name));
                rec.set_constraint(i, Source::Unlinked, message);
            }
        }
    }
    Ok(())
}

/// Brings unique messages in line with the kept keys, for the records just written (`ids`,
/// `checked`, fixed in memory) and for every other record whose status their values changed.
/// `old_norms` are keys the written or deleted records held before. Returns the indexes of
/// `checked` whose messages changed.
fn settle_unique(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    ids: &[i64],
    checked: &mut [Checked],
    old_norms: &HashMap<usize, HashSet<String>>,
    delta: &mut CountDelta,
) -> ModelResult<Vec<usize>> {
    let mut changed = Vec::new();
    let written: HashSet<i64> = ids.iter().copied().collect();
    for (fi, field) in ctx.config.fields.iter().enumerate() {
        let Some(unique) = field.unique else { continue };
        let norm_of = |rec: &Checked| norm_for(&rec.vals[fi], unique.case_sensitive, !unique.ignore_empty);
        let mut norms: HashSet<String> = checked.iter().filter_map(norm_of).collect();
        norms.extend(old_norms.get(&fi).cloned().unwrap_or_default());
        if norms.is_empty() {
            continue;
        }
        let holders = keys::holders(conn, &ctx.sheet.id, fi, &norms.into_iter().collect::<Vec<_>>())?;
        for (k, rec) in checked.iter_mut().enumerate() {
            let dup = norm_of(rec)
                .and_then(|n| holders.get(&n))
                .is_some_and(|h| h.len() > 1);
            let before = rec.clone();
            rec.set_constraint(fi, Source::Unique, dup.then(|| unique_message(field)));
            if *rec != before {
                changed.push(k);
            }
        }
        // Another record's status changes only when it is the one holder outside this write.
        let mut others: Vec<(i64, bool)> = Vec::new();
        for ids in holders.values() {
            let outside: Vec<i64> = ids.iter().copied().filter(|id| !written.contains(id)).collect();
            if outside.len() == 1 {
                others.push((outside[0], ids.len() > 1));
            }
        }
        let should: HashMap<i64, bool> = others.iter().copied().collect();
        let ids_to_check: Vec<i64> = should.keys().copied().collect();
        for row in load(conn, ctx.sheet.seq, &ids_to_check)? {
            let mut rec = row.checked();
            let has = rec
                .messages
                .get(&fi)
                .is_some_and(|ms| ms.iter().any(|m| m.source == Source::Unique));
            let want = should[&row.id];
            if has != want {
                delta.add(-1, rec.valid(), error_keys(&ctx.config, &rec));
                rec.set_constraint(fi, Source::Unique, want.then(|| unique_message(field)));
                delta.add(1, rec.valid(), error_keys(&ctx.config, &rec));
                write_row(conn, row.id, &rec, true)?;
            }
        }
    }
    changed.sort_unstable();
    changed.dedup();
    Ok(changed)
}

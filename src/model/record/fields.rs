//! What a change of a sheet's fields does to its stored records: a removed field taken out
//! of every record (values, raw input, messages, kept keys, counts), keys kept for a field
//! that became a reference target, and the re-check of records under the current fields a
//! batch at a time (`sheet:recheck-records`).

use super::keys::{self, norm_for, NewKey};
use super::write::{update, write_row, RecordUpdate};
use super::{encode, error_keys, search_index, RecordRow};
use crate::blueprint::SheetConfig;
use crate::db::schema::cell_keys;
use crate::db::AnyConnection;
use crate::ids::SheetId;
use crate::model::commit::Hooks;
use crate::model::sheet::{self, CountDelta, SheetContext};
use crate::model::ModelResult;
use crate::validate::Checked;
use diesel::prelude::*;
use std::collections::BTreeMap;

/// Records rewritten per read when a field is removed.
const REWRITE_BATCH: i64 = 5_000;

/// Takes field `r` out of every record of the sheet, inside the caller's write transaction
/// (the sheets locked, the config already without the field, given as `after`): values
/// and the sparse raw input and messages move down one place past `r`, validity and error
/// fields follow from the messages left, the kept keys of `r` go and later fields' keys
/// move down, the counts change by exactly what the records did, and the search index
/// follows. Returns how many records were rewritten.
pub fn drop_field(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    after: &SheetConfig,
    r: usize,
) -> ModelResult<usize> {
    let sid = &ctx.sheet.id;
    let r32 = r as i32;
    diesel::delete(
        cell_keys::table
            .filter(cell_keys::sheet_id.eq(sid))
            .filter(cell_keys::field_index.eq(r32)),
    )
    .execute(conn)?;
    // Renumbered through negative numbers: moving k to k - 1 in place could meet a key
    // of field k - 1 not moved yet (the primary key includes the field index).
    diesel::update(
        cell_keys::table
            .filter(cell_keys::sheet_id.eq(sid))
            .filter(cell_keys::field_index.gt(r32)),
    )
    .set(cell_keys::field_index.eq(cell_keys::field_index * -1))
    .execute(conn)?;
    diesel::update(
        cell_keys::table
            .filter(cell_keys::sheet_id.eq(sid))
            .filter(cell_keys::field_index.lt(0)),
    )
    .set(cell_keys::field_index.eq(cell_keys::field_index * -1 - 1))
    .execute(conn)?;

    let mut delta = CountDelta::default();
    let mut done = 0;
    let mut last_id = 0;
    loop {
        let rows = super::after(conn, ctx.sheet.seq, last_id, REWRITE_BATCH)?;
        let Some(last) = rows.last() else { break };
        last_id = last.id;
        let mut rewritten = Vec::with_capacity(rows.len());
        for row in &rows {
            let old = row.checked();
            delta.add(-1, row.valid, error_keys(&ctx.config, &old));
            let new = without_field(old, r);
            delta.add(1, new.valid(), error_keys(after, &new));
            rewritten.push((row.id, new));
        }
        write_rows(conn, &rewritten)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        search_index::reindex(conn, ctx.sheet.seq, &ids)?;
        done += rows.len();
        if (rows.len() as i64) < REWRITE_BATCH {
            break;
        }
    }
    sheet::add_counts(conn, sid, &delta)?;
    Ok(done)
}

/// A record's stored form without field `r`; fields after it move down one place.
fn without_field(mut c: Checked, r: usize) -> Checked {
    if r < c.vals.len() {
        c.vals.remove(r);
    }
    c.raw = shift_down(std::mem::take(&mut c.raw), r);
    c.messages = shift_down(std::mem::take(&mut c.messages), r);
    c.custom = shift_down(std::mem::take(&mut c.custom), r);
    c
}

fn shift_down<T>(map: BTreeMap<usize, T>, r: usize) -> BTreeMap<usize, T> {
    map.into_iter()
        .filter(|(k, _)| *k != r)
        .map(|(k, v)| (if k > r { k - 1 } else { k }, v))
        .collect()
}

/// Writes rewritten records (version unchanged: what people typed did not change).
/// PostgreSQL: one statement per batch from arrays, not a round trip per row.
fn write_rows(conn: &mut AnyConnection, rows: &[(i64, Checked)]) -> QueryResult<()> {
    let AnyConnection::Postgres(pg) = conn else {
        for (id, checked) in rows {
            write_row(conn, *id, checked, false)?;
        }
        return Ok(());
    };
    use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
    let mut ids = Vec::with_capacity(rows.len());
    let (mut vals, mut raw, mut messages, mut custom, mut valid, mut errors) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for (id, checked) in rows {
        let e = encode(checked);
        ids.push(*id);
        vals.push(e.vals);
        raw.push(e.raw);
        messages.push(e.messages);
        custom.push(e.custom);
        valid.push(e.valid);
        errors.push(e.error_fields);
    }
    diesel::sql_query(
        "UPDATE records SET vals = n.vals, raw = n.raw, messages = n.messages, custom = n.custom, \
         valid = n.valid, error_fields = n.error_fields \
         FROM unnest($1, $2, $3, $4, $5, $6, $7) AS n(id, vals, raw, messages, custom, valid, error_fields) \
         WHERE records.id = n.id",
    )
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Array<Text>, _>(vals)
    .bind::<Array<Nullable<Text>>, _>(raw)
    .bind::<Array<Nullable<Text>>, _>(messages)
    .bind::<Array<Nullable<Text>>, _>(custom)
    .bind::<Array<Bool>, _>(valid)
    .bind::<Array<Nullable<Text>>, _>(errors)
    .execute(pg)?;
    Ok(())
}

/// Keeps keys for field `index` of a sheet that a new reference now points at (a field
/// that was neither unique nor referenced kept none), inside the caller's transaction, so
/// references into it are found at once. Matching is exact, as for any field that is only
/// a reference target.
pub fn keep_target_keys(conn: &mut AnyConnection, target: &SheetContext, index: usize) -> ModelResult<()> {
    if target.keyed.get(index).copied().flatten().is_some() {
        return Ok(());
    }
    let keep_empty = target.config.fields[index].unique_keeps_empty();
    let mut last_id = 0;
    loop {
        let rows: Vec<RecordRow> = super::after(conn, target.sheet.seq, last_id, REWRITE_BATCH)?;
        let Some(last) = rows.last() else { break };
        last_id = last.id;
        let new: Vec<NewKey> = rows
            .iter()
            .filter_map(|row| {
                let vals: Vec<serde_json::Value> = serde_json::from_str(&row.vals).unwrap_or_default();
                let value = vals.get(index).cloned().unwrap_or_default();
                norm_for(&value, true, keep_empty).map(|norm| NewKey {
                    sheet_id: target.sheet.id.clone(),
                    field_index: index as i32,
                    norm,
                    record_id: row.id,
                })
            })
            .collect();
        keys::insert(conn, &new)?;
        if (rows.len() as i64) < REWRITE_BATCH {
            break;
        }
    }
    Ok(())
}

/// What one re-check batch did.
pub struct Rechecked {
    /// The last record checked: the next batch starts after it.
    pub last_id: i64,
    pub count: usize,
    /// Other sheets whose records changed with it (references).
    pub also_changed: Vec<SheetId>,
}

/// Re-checks up to `limit` records after `after_id` under the sheet's fields as they are
/// now, as one update (types, required, options, unique across the sheet, references,
/// counts), inside the caller's transaction. `None` once no record is left.
pub fn recheck_batch(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    after_id: i64,
    limit: i64,
    actor: &str,
) -> ModelResult<Option<Rechecked>> {
    let rows = super::after(conn, ctx.sheet.seq, after_id, limit)?;
    let Some(last) = rows.last() else {
        return Ok(None);
    };
    let last_id = last.id;
    let updates: Vec<RecordUpdate> = rows
        .iter()
        .map(|r| RecordUpdate {
            id: r.record_id(),
            values: BTreeMap::new(),
            messages: BTreeMap::new(),
            metadata: None,
        })
        .collect();
    let written = update(conn, ctx, &updates, actor, &Hooks::Skip)?;
    Ok(Some(Rechecked {
        last_id,
        count: rows.len(),
        also_changed: written.also_changed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removing_a_field_moves_later_fields_down() {
        let c = Checked {
            vals: vec![json!("a"), json!("b"), json!("c")],
            raw: BTreeMap::from([(1, json!("B")), (2, json!("C"))]),
            messages: BTreeMap::new(),
            custom: BTreeMap::from([(0, vec![])]),
        };
        let out = without_field(c, 1);
        assert_eq!(out.vals, vec![json!("a"), json!("c")]);
        assert_eq!(out.raw, BTreeMap::from([(1, json!("C"))]));
        assert_eq!(out.custom.keys().copied().collect::<Vec<_>>(), vec![0]);
        // A record stored before the field existed is shorter: nothing to take out.
        let short = Checked {
            vals: vec![json!("a")],
            ..Default::default()
        };
        assert_eq!(without_field(short, 2).vals, vec![json!("a")]);
    }
}

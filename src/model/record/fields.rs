//! What a change of a sheet's fields does to its stored records: a removed field taken out
//! of every record (values, raw input, messages, kept keys, counts), room made for a field
//! inserted among the others, keys kept for a field
//! that became a reference target, and the re-check of records under the current fields a
//! batch at a time (`sheet:recheck-records`).

use super::keys::{self, norm_for, NewKey};
use super::write::{update, RecordUpdate};
use super::{decode_sparse, encode, error_keys, sort_keys, Encoded, RecordRow};
use crate::blueprint::SheetConfig;
use crate::db::schema::{cell_keys, records};
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
/// move down one place past `r` (one statement for the sheet), and so do the sparse raw
/// input and messages of the records that have any; validity and error fields follow from
/// the messages left, the kept keys of `r` go and later fields' keys move down, the counts
/// change by exactly what the records did (the search index needs nothing: see the end).
/// Returns how many records had messages or raw input to rewrite.
pub fn drop_field(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    after: &SheetConfig,
    r: usize,
) -> ModelResult<usize> {
    shift_keys(conn, &ctx.sheet.id, r, ctx.config.fields.len())?;
    drop_values(conn, ctx.sheet.seq, r)?;
    let mut delta = CountDelta::default();
    let mut done = 0;
    let mut last_id = 0;
    loop {
        let rows: Vec<Sparse> = records::table
            .filter(records::sheet_seq.eq(ctx.sheet.seq))
            .filter(records::id.gt(last_id))
            .filter(
                records::raw
                    .is_not_null()
                    .or(records::messages.is_not_null())
                    .or(records::custom.is_not_null()),
            )
            .order(records::id.asc())
            .limit(REWRITE_BATCH)
            .select((
                records::id,
                records::raw,
                records::messages,
                records::custom,
                records::valid,
            ))
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        last_id = last.0;
        let mut rewritten = Vec::with_capacity(rows.len());
        for (id, raw, messages, custom, valid) in &rows {
            let old = Checked {
                vals: Vec::new(),
                raw: decode_sparse(raw.as_deref()),
                messages: decode_sparse(messages.as_deref()),
                custom: decode_sparse(custom.as_deref()),
            };
            delta.add(-1, *valid, error_keys(&ctx.config, &old));
            let new = without_field(old, r);
            delta.add(1, new.valid(), error_keys(after, &new));
            rewritten.push((*id, encode(&new)));
        }
        write_sparse(conn, ctx.sheet.seq, &rewritten)?;
        done += rows.len();
        if (rows.len() as i64) < REWRITE_BATCH {
            break;
        }
    }
    sheet::add_counts(conn, &ctx.sheet.id, &delta)?;
    // SQLite's search index is left as it is: it names candidates, the exact check on the
    // record decides, and every cell left still has its text there. The removed field's
    // text stays until each record is written again (a few more candidates, never a
    // wrong match); rewriting the index of every record held the database for the time
    // of a million records' worth of index writes. PostgreSQL's index follows the values.
    Ok(done)
}

/// Makes room for a field inserted at position `at` in every record of the sheet, inside
/// the caller's write transaction (the sheets locked, the config already with the field):
/// values from `at` on move up one place and the new field's cell is empty, and so do the
/// sparse raw input, messages and kept keys. Validity and counts do not change (the new
/// field is re-checked afterwards, as any added field). Returns how many records were
/// rewritten.
pub fn insert_field(conn: &mut AnyConnection, ctx: &SheetContext, at: usize) -> ModelResult<usize> {
    shift_keys_up(conn, &ctx.sheet.id, at, ctx.config.fields.len())?;
    let moved_keys: Vec<usize> = match sort_keys::kept(conn, ctx.sheet.seq)? {
        true => (at..sort_keys::KEYED).collect(),
        false => Vec::new(),
    };
    let mut done = 0;
    let mut last_id = 0;
    loop {
        let rows: Vec<Stored> = records::table
            .filter(records::sheet_seq.eq(ctx.sheet.seq))
            .filter(records::id.gt(last_id))
            .order(records::id.asc())
            .limit(REWRITE_BATCH)
            .select((
                records::id,
                records::vals,
                records::raw,
                records::messages,
                records::custom,
            ))
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        last_id = last.0;
        let moved: Vec<(i64, Checked)> = rows
            .iter()
            .map(|(id, vals, raw, messages, custom)| {
                let mut vals: Vec<serde_json::Value> = serde_json::from_str(vals).unwrap_or_default();
                // A record stored before later fields existed is shorter: nothing moves.
                if at < vals.len() {
                    vals.insert(at, serde_json::Value::Null);
                }
                let moved = Checked {
                    vals,
                    raw: shift_up(decode_sparse(raw.as_deref()), at),
                    messages: shift_up(decode_sparse(messages.as_deref()), at),
                    custom: shift_up(decode_sparse(custom.as_deref()), at),
                };
                (*id, moved)
            })
            .collect();
        let refs: Vec<(i64, &Checked)> = moved.iter().map(|(id, c)| (*id, c)).collect();
        super::write::write_rows(conn, ctx.sheet.seq, &refs, false, &moved_keys)?;
        done += rows.len();
        if (rows.len() as i64) < REWRITE_BATCH {
            break;
        }
    }
    // The new cell is empty: the search index needs nothing (see `drop_field`).
    Ok(done)
}

/// Kept keys of fields from `at` on move up one place, the last field first, so a key never
/// lands where one not moved yet still is (the primary key includes the field index).
fn shift_keys_up(conn: &mut AnyConnection, sid: &SheetId, at: usize, fields: usize) -> QueryResult<()> {
    for k in (at..fields).rev() {
        diesel::update(
            cell_keys::table
                .filter(cell_keys::sheet_id.eq(sid))
                .filter(cell_keys::field_index.eq(k as i32)),
        )
        .set(cell_keys::field_index.eq((k + 1) as i32))
        .execute(conn)?;
    }
    Ok(())
}

fn shift_up<T>(map: BTreeMap<usize, T>, at: usize) -> BTreeMap<usize, T> {
    map.into_iter()
        .map(|(k, v)| (if k >= at { k + 1 } else { k }, v))
        .collect()
}

type Sparse = (i64, Option<String>, Option<String>, Option<String>, bool);

/// A record's id, values, raw input, messages and listener messages as stored.
type Stored = (i64, String, Option<String>, Option<String>, Option<String>);

/// Drops the kept keys of field `r`; later fields' keys move down one place, a field at a
/// time in ascending order, so a key never lands where one not moved yet still is (the
/// primary key includes the field index).
fn shift_keys(conn: &mut AnyConnection, sid: &SheetId, r: usize, fields: usize) -> QueryResult<()> {
    let keys_of = |k: usize| {
        cell_keys::table
            .filter(cell_keys::sheet_id.eq(sid))
            .filter(cell_keys::field_index.eq(k as i32))
    };
    diesel::delete(keys_of(r)).execute(conn)?;
    for k in r + 1..fields {
        diesel::update(keys_of(k))
            .set(cell_keys::field_index.eq((k - 1) as i32))
            .execute(conn)?;
    }
    Ok(())
}

/// Takes value `r` out of every record's value list, in the database (records stored
/// before the field existed are shorter and stay as they are). The position is a number
/// from the config, never text from a request.
fn drop_values(conn: &mut AnyConnection, sheet_seq: i64, r: usize) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Integer, Text};
    let keys = match sort_keys::kept(conn, sheet_seq)? {
        true => sort_keys::shifted_down(r),
        false => String::new(),
    };
    match conn {
        AnyConnection::Sqlite(c) => diesel::sql_query(format!(
            "UPDATE records SET vals = json_remove(vals, ?){keys} WHERE sheet_seq = ?"
        ))
        .bind::<Text, _>(format!("$[{r}]"))
        .bind::<BigInt, _>(sheet_seq)
        .execute(c)?,
        // Through `json`, which keeps each value's text: `jsonb` would rewrite the other
        // cells' numbers (`1e+20` read back as `100000000000000000000`, no longer what the
        // grid shows and searches find).
        AnyConnection::Postgres(c) => diesel::sql_query(
            "UPDATE records SET vals = (SELECT COALESCE(json_agg(t.e ORDER BY t.n), '[]'::json)::text \
             FROM json_array_elements(vals::json) WITH ORDINALITY AS t(e, n) WHERE t.n <> $1 + 1) \
             WHERE sheet_seq = $2",
        )
        .bind::<Integer, _>(r as i32)
        .bind::<BigInt, _>(sheet_seq)
        .execute(c)?,
    };
    Ok(())
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

/// Writes rewritten raw input, messages and validity (values and version unchanged).
/// PostgreSQL: one statement per batch from arrays, not a round trip per row.
fn write_sparse(conn: &mut AnyConnection, sheet_seq: i64, rows: &[(i64, Encoded)]) -> QueryResult<()> {
    let AnyConnection::Postgres(pg) = conn else {
        for (id, e) in rows {
            diesel::update(
                records::table
                    .filter(records::sheet_seq.eq(sheet_seq))
                    .filter(records::id.eq(id)),
            )
            .set((
                records::raw.eq(&e.raw),
                records::messages.eq(&e.messages),
                records::custom.eq(&e.custom),
                records::valid.eq(e.valid),
                records::error_fields.eq(&e.error_fields),
            ))
            .execute(conn)?;
        }
        return Ok(());
    };
    use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
    let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
    let column = |f: fn(&Encoded) -> Option<String>| rows.iter().map(|(_, e)| f(e)).collect::<Vec<_>>();
    diesel::sql_query(
        "UPDATE records SET raw = n.raw, messages = n.messages, custom = n.custom, \
         valid = n.valid, error_fields = n.error_fields \
         FROM unnest($1, $2, $3, $4, $5, $6) AS n(id, raw, messages, custom, valid, error_fields) \
         WHERE records.sheet_seq = $7 AND records.id = n.id",
    )
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Array<Nullable<Text>>, _>(column(|e| e.raw.clone()))
    .bind::<Array<Nullable<Text>>, _>(column(|e| e.messages.clone()))
    .bind::<Array<Nullable<Text>>, _>(column(|e| e.custom.clone()))
    .bind::<Array<Bool>, _>(rows.iter().map(|(_, e)| e.valid).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(column(|e| e.error_fields.clone()))
    .bind::<BigInt, _>(sheet_seq)
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

/// Keys for a new unique field at `index` whose empty cells take part in the check: every
/// record holds it empty, so each keeps the empty key, and the re-check that follows the
/// field's addition flags them ([`recheck_batch`]). Inside the caller's transaction.
pub fn keep_empty_keys(conn: &mut AnyConnection, ctx: &SheetContext, index: usize) -> QueryResult<usize> {
    use diesel::sql_types::{Integer, Text};
    use diesel::IntoSql;
    let every = records::table
        .filter(records::sheet_seq.eq(ctx.sheet.seq))
        .select((
            ctx.sheet.id.to_string().into_sql::<Text>(),
            (index as i32).into_sql::<Integer>(),
            String::new().into_sql::<Text>(),
            records::id,
        ));
    let columns = (
        cell_keys::sheet_id,
        cell_keys::field_index,
        cell_keys::norm,
        cell_keys::record_id,
    );
    crate::on_backend!(conn, c => diesel::insert_into(cell_keys::table)
        .values(every)
        .into_columns(columns)
        .execute(c))
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
            config: None,
            uploaded: BTreeMap::new(),
            confirms: false,
        })
        .collect();
    let written = update(conn, ctx, &updates, actor, &Hooks::Skip)?;
    // An update keeps the unique status of a record whose keys it did not change; under
    // new fields that status may be stale (a new unique field: every record empty there).
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    super::unique::resettle(conn, ctx, &ids)?;
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

//! Normalised keys of unique fields and of reference targets (table `cell_keys`), so that
//! duplicates and references are found by index, never by scanning records.

use crate::blueprint::{Field, FieldType};
use crate::db::schema::cell_keys;
use crate::db::AnyConnection;
use crate::ids::SheetId;
use crate::on_backend;
use crate::validate::{is_empty, normalize_key};
use diesel::prelude::*;
use serde_json::Value;
use std::collections::HashMap;

/// Rows per statement: stays under SQLite's limit of 32,766 bound parameters.
const CHUNK: usize = 2000;

#[derive(Insertable)]
#[diesel(table_name = cell_keys)]
pub struct NewKey {
    pub sheet_id: SheetId,
    pub field_index: i32,
    pub norm: String,
    pub record_id: i64,
}

/// The key a cell is kept under: `None` when it is empty and empties are ignored.
pub fn norm_for(value: &Value, case_sensitive: bool, keep_empty: bool) -> Option<String> {
    if is_empty(value) {
        return keep_empty.then(String::new);
    }
    normalize_key(value, case_sensitive).map(fit_index)
}

/// Where a sheet's `unique` constraint number `ci` keeps its keys: below zero, apart from
/// the fields' own places (which move when fields are added or removed; constraints do
/// not change once made).
pub fn together_slot(ci: usize) -> i32 {
    -(ci as i32) - 1
}

/// The key a record is kept under for a `unique` sheet constraint: its values in the
/// constraint's fields, exactly; `None` when every one is empty, or one of `required` is.
pub fn together_norm(vals: &[Value], fields: &[usize], required: &[usize]) -> Option<String> {
    let empty = |i: &usize| vals.get(*i).is_none_or(is_empty);
    if fields.iter().all(empty) || required.iter().any(empty) {
        return None;
    }
    let parts: Vec<String> = fields
        .iter()
        .map(|i| {
            vals.get(*i)
                .and_then(|v| normalize_key(v, true))
                .unwrap_or_default()
        })
        .collect();
    // A list, not the values run together: ("ab", "c") and ("a", "bc") are two keys.
    serde_json::to_string(&parts).ok().map(fit_index)
}

/// The keys a cell of `field` is kept under: one, or none when empty; a reference-list
/// cell one for each record it names, so the records pointing at a value are found by it.
pub fn norms_of_cell(field: &Field, value: &Value, case_sensitive: bool, keep_empty: bool) -> Vec<String> {
    match (&field.field_type, value) {
        (FieldType::ReferenceList { .. }, Value::Array(items)) => {
            let mut out: Vec<String> = items
                .iter()
                .filter_map(|item| norm_for(item, case_sensitive, false))
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        }
        _ => norm_for(value, case_sensitive, keep_empty).into_iter().collect(),
    }
}

/// Kept keys longer than this are kept as their digest: PostgreSQL's B-tree takes at most
/// 2,704 bytes an entry, and a cell may hold 1 MiB.
const MAX_KEY_BYTES: usize = 512;

/// A key as the index can hold it: itself, or past [`MAX_KEY_BYTES`] a SHA-256 digest of it
/// (equal keys, equal digests).
fn fit_index(norm: String) -> String {
    use sha2::Digest;
    match norm.len() > MAX_KEY_BYTES {
        true => format!("#sha256:{}", hex::encode(sha2::Sha256::digest(norm.as_bytes()))),
        false => norm,
    }
}

pub fn insert(conn: &mut AnyConnection, keys: &[NewKey]) -> QueryResult<()> {
    for chunk in keys.chunks(CHUNK) {
        on_backend!(conn, c => diesel::insert_into(cell_keys::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Which records hold each of `norms` in one field (or, at a [`together_slot`], one sheet
/// constraint).
pub fn holders(
    conn: &mut AnyConnection,
    sheet_id: &SheetId,
    field_index: i32,
    norms: &[String],
) -> QueryResult<HashMap<String, Vec<i64>>> {
    let mut out: HashMap<String, Vec<i64>> = HashMap::new();
    for chunk in norms.chunks(CHUNK) {
        let rows: Vec<(String, i64)> = match conn {
            AnyConnection::Postgres(pg) => holders_pg(pg, sheet_id, field_index, chunk)?,
            _ => cell_keys::table
                .filter(cell_keys::sheet_id.eq(sheet_id))
                .filter(cell_keys::field_index.eq(field_index))
                .filter(cell_keys::norm.eq_any(chunk))
                .select((cell_keys::norm, cell_keys::record_id))
                .load(conn)?,
        };
        for (norm, id) in rows {
            out.entry(norm).or_default().push(id);
        }
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct Holder {
    #[diesel(sql_type = diesel::sql_types::Text)]
    norm: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    record_id: i64,
}

/// [`holders`] on PostgreSQL: one index probe per key. As `norm = ANY($3)`, a plan made
/// while the table's statistics still describe it small (an import filling it) scans
/// the whole field and tests each key against the list, which grows quadratic: a
/// 40,000-row mapping spent 38 of its 46 s there. A plain equality per key is always an
/// index condition, whatever the statistics say.
pub const HOLDERS_PG: &str = "SELECT k.norm, k.record_id FROM unnest($3::text[]) AS wanted(norm) \
     CROSS JOIN LATERAL (SELECT c.norm, c.record_id FROM cell_keys c \
     WHERE c.sheet_id = $1 AND c.field_index = $2 AND c.norm = wanted.norm) k";

fn holders_pg(
    pg: &mut diesel::PgConnection,
    sheet_id: &SheetId,
    field_index: i32,
    norms: &[String],
) -> QueryResult<Vec<(String, i64)>> {
    use diesel::sql_types::{Array, Integer, Text};
    let rows: Vec<Holder> = diesel::sql_query(HOLDERS_PG)
        .bind::<Text, _>(sheet_id.as_str())
        .bind::<Integer, _>(field_index)
        .bind::<Array<Text>, _>(norms)
        .load(pg)?;
    Ok(rows.into_iter().map(|h| (h.norm, h.record_id)).collect())
}

/// The keys held by some records, as `(record_id, field_index, norm)`.
pub fn of_records(
    conn: &mut AnyConnection,
    sheet_id: &SheetId,
    ids: &[i64],
) -> QueryResult<Vec<(i64, i32, String)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        out.extend(
            cell_keys::table
                .filter(cell_keys::sheet_id.eq(sheet_id))
                .filter(cell_keys::record_id.eq_any(chunk))
                .select((cell_keys::record_id, cell_keys::field_index, cell_keys::norm))
                .load::<(i64, i32, String)>(conn)?,
        );
    }
    Ok(out)
}

pub fn delete_of_records(conn: &mut AnyConnection, sheet_id: &SheetId, ids: &[i64]) -> QueryResult<()> {
    for chunk in ids.chunks(CHUNK) {
        diesel::delete(
            cell_keys::table
                .filter(cell_keys::sheet_id.eq(sheet_id))
                .filter(cell_keys::record_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// Every record holding a key in one field.
pub fn records_of_field(
    conn: &mut AnyConnection,
    sheet_id: &SheetId,
    field_index: usize,
) -> QueryResult<Vec<i64>> {
    cell_keys::table
        .filter(cell_keys::sheet_id.eq(sheet_id))
        .filter(cell_keys::field_index.eq(field_index as i32))
        .select(cell_keys::record_id)
        .distinct()
        .load(conn)
}

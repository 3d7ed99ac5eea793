//! Writing many records back in one statement: their stored forms (or only their checks)
//! go as one JSON parameter that the statement reads as rows. (A statement per record cost
//! 10 us a record on SQLite, and a round trip each on PostgreSQL.)

use super::encode;
use super::sort_keys;
use crate::db::AnyConnection;
use crate::validate::Checked;
use diesel::prelude::*;

/// Records per statement.
const WRITE_CHUNK: usize = 1000;

/// A record's checks as [`write_checks`] sends them.
#[derive(serde::Serialize)]
struct StoredChecks {
    id: i64,
    m: Option<String>,
    c: Option<String>,
    ok: bool,
    e: Option<String>,
}

/// A record's stored form, as [`write_rows`] sends it.
#[derive(serde::Serialize)]
struct Stored {
    id: i64,
    v: String,
    r: Option<String>,
    m: Option<String>,
    c: Option<String>,
    ok: bool,
    e: Option<String>,
}

/// Runs an update of the records of one sheet from `items` (JSON rows with an `id`), on
/// SQLite as `sqlite` (bound: the rows), on PostgreSQL as `postgres` (bound: the rows, the
/// sheet).
fn update_from_json<T: serde::Serialize>(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    items: &[T],
    sqlite: &str,
    postgres: &str,
) -> QueryResult<()> {
    let items =
        serde_json::to_string(items).map_err(|e| diesel::result::Error::SerializationError(e.into()))?;
    match conn {
        AnyConnection::Sqlite(c) => diesel::sql_query(sqlite)
            .bind::<diesel::sql_types::Text, _>(items)
            .execute(c)?,
        AnyConnection::Postgres(c) => diesel::sql_query(postgres)
            .bind::<diesel::sql_types::Text, _>(items)
            .bind::<diesel::sql_types::BigInt, _>(sheet_seq)
            .execute(c)?,
    };
    Ok(())
}

fn bump(bump_version: bool) -> &'static str {
    match bump_version {
        true => ", version = records.version + 1",
        false => "",
    }
}

/// Writes what the checks of records say (messages and validity) after a constraint that
/// needs other records settled; their values, and so their sort keys, stay as stored
/// (probe 63a D4: 30,000 records re-flagged by a referenced value's change were an
/// `UPDATE` and a round trip each on PostgreSQL, 20-30 s).
pub(crate) fn write_checks(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    rows: &[(i64, &Checked)],
    bump_version: bool,
) -> QueryResult<()> {
    let bump = bump(bump_version);
    let sqlite = format!(
        "UPDATE records SET messages = json_extract(j.value, '$.m'), custom = json_extract(j.value, '$.c'), \
         valid = json_extract(j.value, '$.ok'), error_fields = json_extract(j.value, '$.e'){bump} \
         FROM json_each(?) AS j WHERE records.id = json_extract(j.value, '$.id')"
    );
    let postgres = format!(
        "UPDATE records SET messages = j.m, custom = j.c, valid = j.ok, error_fields = j.e{bump} \
         FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS j(id bigint, m text, c text, ok boolean, e text) \
         WHERE records.sheet_seq = $2 AND records.id = j.id"
    );
    for chunk in rows.chunks(WRITE_CHUNK) {
        let items: Vec<StoredChecks> = chunk
            .iter()
            .map(|(id, checked)| {
                let e = encode(checked);
                StoredChecks {
                    id: *id,
                    m: e.messages,
                    c: e.custom,
                    ok: e.valid,
                    e: e.error_fields,
                }
            })
            .collect();
        update_from_json(conn, sheet_seq, &items, &sqlite, &postgres)?;
    }
    Ok(())
}

/// Writes checked records back. `moved` are the positions whose values may differ from
/// the stored ones: on SQLite their sort keys are written too, and only theirs, so the sort
/// indexes of other fields are left alone.
pub(crate) fn write_rows(
    conn: &mut AnyConnection,
    sheet_seq: i64,
    rows: &[(i64, &Checked)],
    bump_version: bool,
    moved: &[usize],
) -> QueryResult<()> {
    let bump = bump(bump_version);
    let sqlite = format!(
        "UPDATE records SET vals = json_extract(j.value, '$.v'), raw = json_extract(j.value, '$.r'), \
         messages = json_extract(j.value, '$.m'), custom = json_extract(j.value, '$.c'), \
         valid = json_extract(j.value, '$.ok'), error_fields = json_extract(j.value, '$.e'){bump}{keys} \
         FROM json_each(?) AS j WHERE records.id = json_extract(j.value, '$.id')",
        keys = sort_keys::assignments("json_extract(j.value, '$.v')", moved.iter().copied())
    );
    let postgres = format!(
        "UPDATE records SET vals = j.v, raw = j.r, messages = j.m, custom = j.c, valid = j.ok, \
         error_fields = j.e{bump} FROM jsonb_to_recordset(CAST($1 AS jsonb)) \
         AS j(id bigint, v text, r text, m text, c text, ok boolean, e text) \
         WHERE records.sheet_seq = $2 AND records.id = j.id"
    );
    for chunk in rows.chunks(WRITE_CHUNK) {
        let items: Vec<Stored> = chunk
            .iter()
            .map(|(id, checked)| {
                let e = encode(checked);
                Stored {
                    id: *id,
                    v: e.vals,
                    r: e.raw,
                    m: e.messages,
                    c: e.custom,
                    ok: e.valid,
                    e: e.error_fields,
                }
            })
            .collect();
        update_from_json(conn, sheet_seq, &items, &sqlite, &postgres)?;
    }
    Ok(())
}

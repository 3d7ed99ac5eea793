//! Record history: every change to a cell (who, when, old and new input value, the
//! record's version after it), written in the same transaction as the change. It serves
//! the grid's history and undo, the check that refuses a save made on a stale cell, and
//! the API's list of a sheet's changes since a point.

use crate::db::schema::{guests, record_changes, users};
use crate::db::AnyConnection;
use crate::ids::{RecordId, SheetId};
use crate::model::now;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = record_changes)]
pub struct Change {
    pub id: i64,
    pub sheet_id: SheetId,
    pub record_id: i64,
    pub version: i64,
    pub field: String,
    pub old_value: String,
    pub new_value: String,
    pub actor: String,
    pub created_at: NaiveDateTime,
    /// The bulk change this cell's change was part of.
    pub bulk_id: Option<String>,
    /// The text the old value was uploaded as, where a mapping translated it (JSON).
    pub old_raw: Option<String>,
    /// What listener code had said of the old value (its messages, JSON).
    pub old_messages: Option<String>,
    /// The change this one undid (a grid undo's).
    pub undoes: Option<i64>,
}

impl Change {
    pub fn old(&self) -> Value {
        stored_value(&self.old_value)
    }

    pub fn new_value(&self) -> Value {
        stored_value(&self.new_value)
    }

    /// The text the old value was uploaded as, when it is not that value's own spelling.
    pub fn old_raw(&self) -> Option<Value> {
        self.old_raw.as_deref().and_then(|t| serde_json::from_str(t).ok())
    }

    /// What listener code had said of the old value, for an undo to say again.
    pub fn old_messages(&self) -> Vec<crate::validate::Message> {
        self.old_messages
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }
}

/// A value as stored, or as [`of_record_shown`] cut it: a cut text reads as the text it
/// begins with and `…`.
fn stored_value(text: &str) -> Value {
    if let Ok(value) = serde_json::from_str(text) {
        return value;
    }
    // Close the cut string, stepping back past an escape the cut left half.
    let mut end = text.len();
    for _ in 0..8 {
        if let Ok(Value::String(s)) = serde_json::from_str::<Value>(&format!("{}\"", &text[..end])) {
            return Value::String(s + "…");
        }
        end = text[..end].char_indices().next_back().map_or(0, |(i, _)| i);
    }
    Value::String(format!("{text}…"))
}

/// Most characters of a stored value the history panel reads: more than the 2,000 it
/// shows even were each a six-character escape.
const SHOWN_VALUE_CHARS: usize = 12_010;

/// `bulk_id` binds NULL rather than leaving the column to its default, so every change is
/// the same statement text, which diesel caches by type instead of building it again.
#[derive(Insertable)]
#[diesel(table_name = record_changes, treat_none_as_default_value = false)]
pub(super) struct NewChange<'a> {
    pub sheet_id: &'a SheetId,
    pub record_id: i64,
    pub version: i64,
    pub field: &'a str,
    pub old_value: String,
    pub new_value: String,
    pub actor: &'a str,
    pub created_at: NaiveDateTime,
    pub bulk_id: Option<&'a str>,
    pub old_raw: Option<String>,
    pub old_messages: Option<String>,
}

impl<'a> NewChange<'a> {
    pub fn new(
        sheet_id: &'a SheetId,
        record_id: i64,
        version: i64,
        field: &'a str,
        old: &Value,
        new: &Value,
        actor: &'a str,
    ) -> Self {
        NewChange {
            sheet_id,
            record_id,
            version,
            field,
            old_value: old.to_string(),
            new_value: new.to_string(),
            actor,
            created_at: now(),
            bulk_id: None,
            old_raw: None,
            old_messages: None,
        }
    }
}

pub(super) fn write(conn: &mut AnyConnection, changes: &[NewChange<'_>]) -> QueryResult<()> {
    match conn {
        // One cached statement run per change: parsing a new statement of 1,000 rows for
        // every chunk cost more than the rows.
        AnyConnection::Sqlite(c) => {
            for change in changes {
                diesel::insert_into(record_changes::table)
                    .values(change)
                    .execute(c)?;
            }
        }
        AnyConnection::Postgres(c) => {
            for chunk in changes.chunks(1000) {
                diesel::insert_into(record_changes::table)
                    .values(chunk)
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

/// A record's changes, newest first, each value cut to what a panel shows of it: 100
/// changes of 1 MiB values made a page of 210 MB, and four of them 2 GB of memory (probe
/// 65a D1).
pub fn of_record_shown(
    conn: &mut AnyConnection,
    sheet: &SheetId,
    record: RecordId,
    limit: i64,
) -> QueryResult<Vec<Change>> {
    use diesel::dsl::sql;
    use diesel::sql_types::Text;
    let old = sql::<Text>(&format!("substr(old_value, 1, {SHOWN_VALUE_CHARS})"));
    let new = sql::<Text>(&format!("substr(new_value, 1, {SHOWN_VALUE_CHARS})"));
    record_changes::table
        .filter(record_changes::sheet_id.eq(sheet))
        .filter(record_changes::record_id.eq(record.0))
        .order(record_changes::id.desc())
        .limit(limit)
        .select((
            record_changes::id,
            record_changes::sheet_id,
            record_changes::record_id,
            record_changes::version,
            record_changes::field,
            old,
            new,
            record_changes::actor,
            record_changes::created_at,
            record_changes::bulk_id,
            record_changes::old_raw,
            record_changes::old_messages,
            record_changes::undoes,
        ))
        .load(conn)
}

/// Who changed which field of a record, and which change an undo undid: no values.
#[derive(Debug, Queryable)]
pub struct Authorship {
    pub id: i64,
    pub actor: String,
    pub field: String,
    pub undoes: Option<i64>,
    pub bulk_id: Option<String>,
}

/// A record's changes, newest first, as who changed which field.
pub fn authors_of_record(
    conn: &mut AnyConnection,
    sheet: &SheetId,
    record: RecordId,
    limit: i64,
) -> QueryResult<Vec<Authorship>> {
    record_changes::table
        .filter(record_changes::sheet_id.eq(sheet))
        .filter(record_changes::record_id.eq(record.0))
        .order(record_changes::id.desc())
        .limit(limit)
        .select((
            record_changes::id,
            record_changes::actor,
            record_changes::field,
            record_changes::undoes,
            record_changes::bulk_id,
        ))
        .load(conn)
}

/// The newest change of `undone`'s cell newer than `after`, if any.
fn newest_of_cell_after(conn: &mut AnyConnection, undone: &Change, after: i64) -> QueryResult<Option<i64>> {
    record_changes::table
        .filter(record_changes::sheet_id.eq(&undone.sheet_id))
        .filter(record_changes::record_id.eq(undone.record_id))
        .filter(record_changes::field.eq(&undone.field))
        .filter(record_changes::id.gt(after))
        .select(diesel::dsl::max(record_changes::id))
        .first(conn)
}

/// The newest change of a cell: an undo marks only the changes it writes after it.
pub fn newest_of_cell(conn: &mut AnyConnection, undone: &Change) -> QueryResult<i64> {
    Ok(newest_of_cell_after(conn, undone, 0)?.unwrap_or_default())
}

/// Marks the change an undo of `undone` wrote (newer than `before`, the cell's newest
/// change until then) as that undo. An undo that wrote no change (it put back a spelling
/// only, which is no change of value) marks `undone` as undoing itself: undone, it is
/// not offered again (probe 72a D3: it was, forever, and an older undo was re-marked).
pub fn mark_undo(conn: &mut AnyConnection, undone: &Change, before: i64) -> QueryResult<usize> {
    let written = newest_of_cell_after(conn, undone, before)?.unwrap_or(undone.id);
    diesel::update(record_changes::table.filter(record_changes::id.eq(written)))
        .set(record_changes::undoes.eq(Some(undone.id)))
        .execute(conn)
}

/// The newest change of a sheet's, 0 when none: what a write's changes come after.
pub fn newest_of_sheet(conn: &mut AnyConnection, sheet: &SheetId) -> QueryResult<i64> {
    Ok(record_changes::table
        .filter(record_changes::sheet_id.eq(sheet))
        .select(diesel::dsl::max(record_changes::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or_default())
}

/// Marks each change written after `after` (an undo of a bulk change putting its cells
/// back, under the sheet's lock) as the undo of `undone`'s change of the same cell, by
/// (record, field): the history panel's Undo then steps back past both rather than
/// writing the bulk value again (probe 72a D6). By id, a few hundred a statement: a
/// correlated query was planned as a scan per cell on a PostgreSQL table not analysed
/// yet (probe 74a D7: 37 s for 12,000 cells).
pub fn mark_bulk_undo(
    conn: &mut AnyConnection,
    sheet: &SheetId,
    undone: &std::collections::HashMap<(i64, &str), i64>,
    after: i64,
) -> QueryResult<usize> {
    let written: Vec<(i64, i64, String)> = record_changes::table
        .filter(record_changes::sheet_id.eq(sheet))
        .filter(record_changes::id.gt(after))
        .filter(record_changes::bulk_id.is_null())
        .filter(record_changes::undoes.is_null())
        .select((
            record_changes::id,
            record_changes::record_id,
            record_changes::field,
        ))
        .load(conn)?;
    let pairs: Vec<(i64, i64)> = written
        .iter()
        .filter_map(|(id, rid, field)| undone.get(&(*rid, field.as_str())).map(|cid| (*id, *cid)))
        .collect();
    let mut marked = 0;
    for chunk in pairs.chunks(500) {
        // Ids only, numbers formatted: nothing a person wrote goes into the statement.
        let cases: String = chunk
            .iter()
            .map(|(id, cid)| format!(" WHEN {id} THEN {cid}"))
            .collect();
        let ids: Vec<String> = chunk.iter().map(|(id, _)| id.to_string()).collect();
        let sql = format!(
            "UPDATE record_changes SET undoes = CASE id{cases} END WHERE id IN ({})",
            ids.join(",")
        );
        marked += crate::on_backend!(conn, c => diesel::sql_query(&sql).execute(c))?;
    }
    Ok(marked)
}

/// One change of a sheet, whole.
pub fn one(conn: &mut AnyConnection, sheet: &SheetId, id: i64) -> QueryResult<Option<Change>> {
    record_changes::table
        .filter(record_changes::sheet_id.eq(sheet))
        .filter(record_changes::id.eq(id))
        .select(Change::as_select())
        .first(conn)
        .optional()
}

/// The newest change to one cell made after `version`, whoever made it (the same person in
/// another tab or window too).
pub fn changed_since(
    conn: &mut AnyConnection,
    sheet: &SheetId,
    record: RecordId,
    field: &str,
    version: i64,
) -> QueryResult<Option<Change>> {
    record_changes::table
        .filter(record_changes::sheet_id.eq(sheet))
        .filter(record_changes::record_id.eq(record.0))
        .filter(record_changes::field.eq(field))
        .filter(record_changes::version.gt(version))
        .order(record_changes::id.desc())
        .select(Change::as_select())
        .first(conn)
        .optional()
}

/// Records that `actor` saved `field` of a record as the value a bulk change wrote there
/// since their editor opened: their own value, which an undo or take-back of the bulk
/// change leaves (probe 70b D1: the save was answered and then undone with the job).
pub fn confirm(
    conn: &mut AnyConnection,
    sheet: &SheetId,
    record: RecordId,
    version: i64,
    field: &str,
    value: &Value,
    actor: &str,
) -> QueryResult<()> {
    write(
        conn,
        &[NewChange::new(
            sheet, record.0, version, field, value, value, actor,
        )],
    )
}

/// A removed field's changes keep their history under `key (removed <when>)`: no undo
/// (nor a stale-save check) reads them as changes of a later field given the same key.
pub fn retire_field(conn: &mut AnyConnection, sheet: &SheetId, key: &str) -> QueryResult<usize> {
    let retired = format!("{key} (removed {})", now().format("%Y-%m-%d %H:%M:%S"));
    diesel::update(
        record_changes::table
            .filter(record_changes::sheet_id.eq(sheet))
            .filter(record_changes::field.eq(key)),
    )
    .set(record_changes::field.eq(retired))
    .execute(conn)
}

/// A sheet's changes in order, after change `after_id` and/or at or after `since`.
///
/// A page holds at most `budget` bytes of values (and at least one change): 10,000
/// changes of 1 MiB values made one answer of gigabytes (probe 65a D1). A reader goes on
/// from the last `id` it got, as it does anyway.
pub fn of_sheet(
    conn: &mut AnyConnection,
    sheet: &SheetId,
    after_id: Option<i64>,
    since: Option<NaiveDateTime>,
    limit: i64,
    budget: usize,
) -> QueryResult<Vec<Change>> {
    let chosen = || {
        let mut q = record_changes::table
            .filter(record_changes::sheet_id.eq(sheet))
            .into_boxed();
        if let Some(after) = after_id {
            q = q.filter(record_changes::id.gt(after));
        }
        if let Some(since) = since {
            q = q.filter(record_changes::created_at.ge(since));
        }
        q
    };
    use diesel::dsl::sql;
    use diesel::sql_types::BigInt;
    // Bytes, not characters: emoji made a page of 79 MiB (probe 65d D6).
    let size = match conn {
        AnyConnection::Sqlite(_) => {
            "CAST(length(CAST(old_value AS BLOB)) + length(CAST(new_value AS BLOB)) AS BIGINT)"
        }
        AnyConnection::Postgres(_) => "CAST(octet_length(old_value) + octet_length(new_value) AS BIGINT)",
    };
    let sizes: Vec<(i64, i64)> = chosen()
        .order(record_changes::id.asc())
        .limit(limit)
        .select((record_changes::id, sql::<BigInt>(size)))
        .load(conn)?;
    let mut total = 0usize;
    let fits = sizes
        .iter()
        .take_while(|(_, size)| {
            total += *size as usize;
            total <= budget
        })
        .count()
        .max(1);
    let Some((last, _)) = sizes.get(fits - 1) else {
        return Ok(Vec::new());
    };
    chosen()
        .filter(record_changes::id.le(last))
        .order(record_changes::id.asc())
        .limit(fits as i64)
        .select(Change::as_select())
        .load(conn)
}

/// How `viewer` (an actor too) reads an actor: a team member's email, a guest's name, or
/// "an API key". A guest reads the team's people as "Team member", as the presence line
/// shows them: their addresses are the team's, not its guests'.
pub fn actor_name(conn: &mut AnyConnection, actor: &str, viewer: &str) -> QueryResult<String> {
    let to_guest = crate::ids::GuestId::parse(viewer).is_some();
    if actor.starts_with(crate::ids::UserId::PREFIX) && to_guest {
        return Ok("Team member".into());
    }
    if actor.starts_with(crate::ids::UserId::PREFIX) {
        let email: Option<String> = users::table
            .find(actor)
            .select(users::email)
            .first(conn)
            .optional()?;
        return Ok(email.unwrap_or_else(|| "a removed team member".into()));
    }
    if actor.starts_with(crate::ids::GuestId::PREFIX) {
        let name: Option<String> = guests::table
            .find(actor)
            .select(guests::name)
            .first(conn)
            .optional()?;
        return Ok(name.map_or_else(|| "a removed guest".into(), |n| format!("{n} (guest)")));
    }
    if actor.starts_with(crate::ids::ApiKeyId::PREFIX) {
        return Ok("an API key".into());
    }
    Ok(actor.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::query_builder::QueryId;

    fn cached_by_type<Q: QueryId>(_: &Q) -> bool {
        Q::HAS_STATIC_QUERY_ID
    }

    #[test]
    fn a_change_is_one_statement_diesel_caches_by_type() {
        let sheet = SheetId::generate();
        let change = NewChange::new(&sheet, 1, 2, "age", &Value::Null, &Value::from(3), "me");
        assert!(cached_by_type(
            &diesel::insert_into(record_changes::table).values(&change)
        ));
    }
}

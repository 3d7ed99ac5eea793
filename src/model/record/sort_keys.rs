//! SQLite: a record's first [`KEYED`] cells, each also in a column of its own
//! (`sort_key_{i}`), equal to `json_extract(vals, '$[i]')`. A sheet's sort index on such a
//! field is an index on the column, so an update rewrites only the indexes of the fields
//! whose values it changes; an index on an expression of `vals` was rewritten on every
//! update of `vals`, whichever field changed (50,000 updates of one field: 1.4 s with ten
//! of them, 0.16 s with ten column indexes).
//!
//! A sheet keeps them only once it is sorted: its first sort index fills them in ([`fill`]),
//! and from then on every write of `vals` keeps them ([`kept`]). A load into a sheet nobody
//! sorted does not pay for them (2 us a record). PostgreSQL has none and keeps expression
//! indexes.

use crate::db::schema::{records, sheets};
use crate::db::{backend_of, AnyConnection, Backend};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Double, Nullable, Text};
use diesel::sqlite::Sqlite;
use serde_json::Value;

/// How many leading fields have a key column.
pub const KEYED: usize = 16;

/// `sheets.sort_keys`: the records do not keep them.
pub const NOT_KEPT: i32 = 0;
/// Every write keeps them; older records are being filled in.
pub const FILLING: i32 = 1;
/// Every record has them: reads may use the columns.
pub const READY: i32 = 2;

/// Records filled in per write transaction, so no save waits long behind a fill.
const FILL_BATCH: i64 = 20_000;

/// The key column of field `i`, if it has one.
pub fn column(i: usize) -> Option<String> {
    (i < KEYED).then(|| format!("sort_key_{i}"))
}

/// A cell as `json_extract` reads it from the JSON: `true`/`false` are 1/0, numbers that
/// fit are integers and others reals, lists and objects their JSON text.
#[derive(Debug, Clone, PartialEq)]
pub enum Key<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a str),
    Json(String),
}

impl<'a> Key<'a> {
    pub fn of(v: &'a Value) -> Key<'a> {
        match v {
            Value::Null => Key::Null,
            Value::Bool(b) => Key::Integer(*b as i64),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Key::Integer(i),
                None => Key::Real(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Key::Text(s),
            Value::Array(_) | Value::Object(_) => Key::Json(v.to_string()),
        }
    }

    /// Binds the key with SQLite's type for it: the statement's text is the same for
    /// every kind, so one cached statement serves them all.
    fn bind<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        const NONE: Option<&str> = None;
        match self {
            Key::Null => out.push_bind_param::<Nullable<Text>, _>(&NONE),
            Key::Integer(n) => out.push_bind_param::<BigInt, _>(n),
            Key::Real(x) => out.push_bind_param::<Double, _>(x),
            Key::Text(s) => out.push_bind_param::<Text, _>(*s),
            Key::Json(s) => out.push_bind_param::<Text, _>(s),
        }
    }
}

/// The keys of a record's values, one per key column.
pub fn keys(vals: &[Value]) -> [Key<'_>; KEYED] {
    std::array::from_fn(|i| vals.get(i).map_or(Key::Null, Key::of))
}

/// One record's row, SQLite's insert of a record as one cached statement (diesel's own
/// insert built and hashed its SQL text again for every row). `KEYS`: with the sort keys,
/// for a sheet that keeps them ([`kept`]); without, `keys` is not written.
pub struct InsertRow<'a, const KEYS: bool> {
    pub sheet_seq: i64,
    pub vals: &'a str,
    pub raw: Option<&'a str>,
    pub messages: Option<&'a str>,
    pub valid: bool,
    pub error_fields: Option<&'a str>,
    pub keys: [Key<'a>; KEYED],
}

impl<const KEYS: bool> QueryId for InsertRow<'_, KEYS> {
    type QueryId = InsertRow<'static, KEYS>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

/// `INSERT INTO records (...) VALUES `, with the sort key columns or without.
fn insert_head(keys: bool) -> &'static str {
    static HEADS: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
        let keys: String = (0..KEYED).map(|i| format!(", sort_key_{i}")).collect();
        [String::new(), keys].map(|keys| {
            format!("INSERT INTO records (sheet_seq, vals, raw, messages, valid, error_fields{keys}) VALUES ")
        })
    });
    &HEADS[keys as usize]
}

impl<'a, const KEYS: bool> InsertRow<'a, KEYS> {
    /// `(...)`: the row's values.
    fn walk_values<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("(");
        out.push_bind_param::<BigInt, _>(&self.sheet_seq)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.vals)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&self.raw)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&self.messages)?;
        out.push_sql(", ");
        out.push_bind_param::<Bool, _>(&self.valid)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&self.error_fields)?;
        if KEYS {
            for key in &self.keys {
                out.push_sql(", ");
                key.bind(out)?;
            }
        }
        out.push_sql(")");
        Ok(())
    }
}

impl<const KEYS: bool> QueryFragment<Sqlite> for InsertRow<'_, KEYS> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(insert_head(KEYS));
        self.walk_values(&mut out)
    }
}

/// `N` records' rows in one cached statement. Each statement into `records`, an
/// `AUTOINCREMENT` table, also rewrites its entry in `sqlite_sequence`: once per `N` rows
/// rather than once per row, and one run of the statement's machine rather than `N`
/// (measured: a 1,000,000-row extraction 2.27 -> 1.65 s, its mapping 3.31 -> 2.88 s).
pub struct InsertRows<'a, const KEYS: bool, const N: usize>(pub &'a [InsertRow<'a, KEYS>; N]);

impl<const KEYS: bool, const N: usize> QueryId for InsertRows<'_, KEYS, N> {
    type QueryId = InsertRows<'static, KEYS, N>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const KEYS: bool, const N: usize> QueryFragment<Sqlite> for InsertRows<'_, KEYS, N> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(insert_head(KEYS));
        for (k, row) in self.0.iter().enumerate() {
            if k > 0 {
                out.push_sql(", ");
            }
            row.walk_values(&mut out)?;
        }
        Ok(())
    }
}

impl<const KEYS: bool, const N: usize> RunQueryDsl<diesel::SqliteConnection> for InsertRows<'_, KEYS, N> {}

impl<const KEYS: bool> RunQueryDsl<diesel::SqliteConnection> for InsertRow<'_, KEYS> {}

/// Key positions whose value differs between two versions of a record.
pub fn changed(old: &[Value], new: &[Value]) -> Vec<usize> {
    (0..KEYED.min(old.len().max(new.len())))
        .filter(|&i| old.get(i) != new.get(i))
        .collect()
}

/// `, sort_key_i = json_extract({vals}, '$[i]')` for each position: the assignments that
/// keep those columns equal to the values an `UPDATE` writes (`vals` being the SQL of the
/// new value list).
pub fn assignments(vals: &str, positions: impl IntoIterator<Item = usize>) -> String {
    positions
        .into_iter()
        .filter(|&i| i < KEYED)
        .map(|i| format!(", sort_key_{i} = json_extract({vals}, '$[{i}]')"))
        .collect()
}

/// After field `r` left every record's value list: the assignments that move the keys after
/// it down one place (evaluated, as SQLite does, on the row before the update).
pub fn shifted_down(r: usize) -> String {
    (r..KEYED)
        .map(|i| match i + 1 < KEYED {
            true => format!(", sort_key_{i} = sort_key_{}", i + 1),
            false => format!(", sort_key_{i} = json_extract(vals, '$[{}]')", i + 1),
        })
        .collect()
}

/// The sheet's `sort_keys` state, if the sheet exists.
fn state(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<Option<i32>> {
    sheets::table
        .filter(sheets::seq.eq(sheet_seq))
        .select(sheets::sort_keys)
        .first(conn)
        .optional()
}

/// Whether writes to the sheet keep its sort keys; read inside the write's transaction,
/// after which [`fill`] cannot change it. Never on PostgreSQL.
pub fn kept(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<bool> {
    if backend_of(conn) != Backend::Sqlite {
        return Ok(false);
    }
    Ok(state(conn, sheet_seq)?.is_some_and(|s| s != NOT_KEPT))
}

/// Makes the sheet keep its sort keys (SQLite): writes keep them from the first step on,
/// then the records already there get theirs, [`FILL_BATCH`] to a write transaction, and
/// the sheet reads as [`READY`]. Safe to run twice at once: each step writes what `vals`
/// says.
pub fn fill(conn: &mut AnyConnection, sheet_seq: i64) -> QueryResult<()> {
    if backend_of(conn) != Backend::Sqlite {
        return Ok(());
    }
    match state(conn, sheet_seq)? {
        None | Some(READY) => return Ok(()),
        Some(_) => {}
    }
    let set_state = |conn: &mut AnyConnection, to: i32| {
        crate::db::write_tx(conn, |c| {
            diesel::update(sheets::table.filter(sheets::seq.eq(sheet_seq)))
                .set(sheets::sort_keys.eq(to))
                .execute(c)
        })
    };
    set_state(conn, FILLING)?;
    let set = assignments("vals", 0..KEYED);
    let mut after = 0i64;
    loop {
        // The batch's last id, found before the write so the step is a range of ids.
        let last: Option<i64> = records::table
            .filter(records::sheet_seq.eq(sheet_seq))
            .filter(records::id.gt(after))
            .order(records::id.asc())
            .offset(FILL_BATCH - 1)
            .select(records::id)
            .first(conn)
            .optional()?;
        let upto = last.unwrap_or(i64::MAX);
        crate::db::write_tx(conn, |c| {
            c.batch_execute(&format!(
                "UPDATE records SET version = version{set} \
                 WHERE sheet_seq = {sheet_seq} AND id > {after} AND id <= {upto}"
            ))
        })?;
        match last {
            Some(id) => after = id,
            None => break,
        }
    }
    set_state(conn, READY).map(|_| ())
}

/// Drops the sort indexes on expressions of `vals` for fields that have a key column (left
/// by a version before the columns); each is built again on its column when next used.
pub fn drop_expression_indexes(conn: &mut AnyConnection) -> QueryResult<usize> {
    if backend_of(conn) != Backend::Sqlite {
        return Ok(0);
    }
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let names: Vec<Name> = crate::on_backend!(conn, c => diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'index' \
         AND name LIKE 'records\\_sort\\_%' ESCAPE '\\' AND sql LIKE '%json_extract(vals%'"
    )
    .load(c))?;
    let mut dropped = 0;
    for Name { name } in names {
        let position = name.rsplit('_').next().and_then(|p| p.parse::<usize>().ok());
        if position.is_some_and(|i| i < KEYED) {
            conn.batch_execute(&format!("DROP INDEX IF EXISTS \"{}\"", name.replace('"', "")))?;
            dropped += 1;
        }
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::sqlite::SqliteConnection;

    /// Each kind of cell is stored as the key `json_extract` reads from its JSON.
    #[test]
    fn an_inserted_key_is_what_json_extract_reads() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let columns: String = (0..KEYED).map(|i| format!(", sort_key_{i}")).collect();
        conn.batch_execute(&format!(
            "CREATE TABLE records (id INTEGER PRIMARY KEY, sheet_seq BIGINT, vals TEXT, raw TEXT, \
             messages TEXT, valid BOOLEAN, error_fields TEXT{columns})"
        ))
        .unwrap();
        let rows = [
            r#"[null, true, false, 42, -7, 2.5, 1e300, 18446744073709551615, "Åsa \"q\"",
               ["a", "b\u00e9"], {"x": 1}, "", 0, -0.0, 12345678901234567890123]"#,
            r#"["x"]"#,
            r#"[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]"#,
        ];
        for text in rows {
            let vals: Vec<Value> = serde_json::from_str(text).unwrap();
            let stored = serde_json::to_string(&vals).unwrap();
            InsertRow::<true> {
                sheet_seq: 1,
                vals: &stored,
                raw: None,
                messages: None,
                valid: true,
                error_fields: None,
                keys: keys(&vals),
            }
            .execute(&mut conn)
            .unwrap();
        }
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        for i in 0..KEYED {
            let differ: Count = diesel::sql_query(format!(
                "SELECT COUNT(*) AS n FROM records WHERE sort_key_{i} IS NOT json_extract(vals, '$[{i}]') \
                 OR typeof(sort_key_{i}) IS NOT typeof(json_extract(vals, '$[{i}]'))"
            ))
            .get_result(&mut conn)
            .unwrap();
            assert_eq!(differ.n, 0, "key {i}");
        }
    }

    #[test]
    fn changed_positions_are_those_whose_values_differ() {
        let old: Vec<Value> = serde_json::from_str(r#"["a", 1, null]"#).unwrap();
        let new: Vec<Value> = serde_json::from_str(r#"["a", 2, null, "x"]"#).unwrap();
        assert_eq!(changed(&old, &new), vec![1, 3]);
    }
}

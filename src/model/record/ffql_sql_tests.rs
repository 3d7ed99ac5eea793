//! The plans SQLite makes of FFQL conditions on a sheet with sort indexes, and their answers.

use super::*;
use crate::db::schema::records;
use crate::ffql::compile;
use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::query_builder::Query;
use diesel::sqlite::{Sqlite, SqliteConnection};

/// `EXPLAIN QUERY PLAN` of a query, for SQLite.
struct Explain<Q>(Q);

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}
impl<Q> Query for Explain<Q> {
    type SqlType = (
        diesel::sql_types::Integer,
        diesel::sql_types::Integer,
        diesel::sql_types::Integer,
        Text,
    );
}
impl<Q> RunQueryDsl<SqliteConnection> for Explain<Q> {}
impl<Q: QueryFragment<Sqlite>> QueryFragment<Sqlite> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("EXPLAIN QUERY PLAN ");
        self.0.walk_ast(out.reborrow())
    }
}

/// A sheet whose records keep their sort keys (`sort_keys`), as a sorted sheet's do.
const KEYED_SQLITE: Cells = Cells {
    backend: Backend::Sqlite,
    keyed: true,
};

fn specs() -> Vec<FieldSpec> {
    let f = |key: &str, kind| FieldSpec {
        key: key.into(),
        label: key.into(),
        kind,
    };
    vec![
        f("email", Kind::Text),
        f("age", Kind::Number),
        f("joined", Kind::Date),
    ]
}

fn sheet() -> SqliteConnection {
    let mut conn = SqliteConnection::establish(":memory:").unwrap();
    crate::db::sqlite_functions::register(&mut conn).unwrap();
    conn.batch_execute(
        "CREATE TABLE records (id INTEGER PRIMARY KEY, sheet_seq BIGINT NOT NULL, vals TEXT NOT NULL, \
         raw TEXT, messages TEXT, valid BOOLEAN NOT NULL, error_fields TEXT, metadata TEXT, \
         version BIGINT NOT NULL, sort_key_0, sort_key_1, sort_key_2);
         INSERT INTO records (sheet_seq, vals, valid, version) VALUES
           (1, '[\"a@x.io\", 40, \"2024-01-31\"]', 1, 1),
           (1, '[\"b@x.io\", \"9\", \"someday\"]', 1, 1),
           (1, '[null, 100, null]', 1, 1),
           (2, '[\"a@x.io\", 40, \"2024-01-31\"]', 1, 1);
         UPDATE records SET sort_key_0 = json_extract(vals, '$[0]'), \
           sort_key_1 = json_extract(vals, '$[1]'), sort_key_2 = json_extract(vals, '$[2]');",
    )
    .unwrap();
    for i in 0..3 {
        // As `sort_index::build` makes them.
        let expr = KEYED_SQLITE.expression(i);
        conn.batch_execute(&format!(
            "CREATE INDEX records_sort_1_{i} ON records (sheet_seq, {expr}, id) WHERE sheet_seq = 1"
        ))
        .unwrap();
    }
    conn
}

fn select(
    q: &str,
) -> impl QueryFragment<Sqlite> + diesel::query_dsl::LoadQuery<'static, SqliteConnection, i64> {
    let node = compile(q, &specs()).unwrap();
    records::table
        .select(records::id)
        .filter(sql::<Bool>("sheet_seq = 1"))
        .filter(Condition::new(KEYED_SQLITE, &node))
        .order(records::id)
        .into_boxed::<Sqlite>()
}

#[test]
fn equality_and_ranges_are_served_by_the_fields_sort_index() {
    let mut conn = sheet();
    for (q, index, ids) in [
        ("email eq a@x.io", "records_sort_1_0", vec![1]),
        ("age gt 10", "records_sort_1_1", vec![1, 3]),
        ("age lte 40", "records_sort_1_1", vec![1]),
        ("joined lt 2025-01-01", "records_sort_1_2", vec![1]),
    ] {
        let plan: Vec<(i32, i32, i32, String)> = Explain(select(q)).load(&mut conn).unwrap();
        let plan: Vec<String> = plan.into_iter().map(|p| p.3).collect();
        assert!(
            plan.iter()
                .any(|d| d.starts_with("SEARCH") && d.contains(index) && d.contains("sort_key_")),
            "{q}: {plan:?}"
        );
        let found: Vec<i64> = select(q).load(&mut conn).unwrap();
        assert_eq!(found, ids, "{q}");
    }
}

#[test]
fn an_or_of_equalities_leads_the_plan_over_a_range() {
    let mut conn = sheet();
    conn.batch_execute("CREATE INDEX records_sheet ON records(sheet_seq, id)")
        .unwrap();
    let q = "(email eq a@x.io or email eq b@x.io) and age gte 30";
    let node = compile(q, &specs()).unwrap();
    let page = records::table
        .select(records::id)
        .filter(sql::<Bool>("sheet_seq = 1"))
        .filter(Condition::for_page(KEYED_SQLITE, &node))
        .order(sql::<diesel::sql_types::BigInt>("+id"))
        .into_boxed::<Sqlite>();
    assert!(in_list_leads(&node));
    let plan: Vec<(i32, i32, i32, String)> = Explain(page).load(&mut conn).unwrap();
    let plan: Vec<String> = plan.into_iter().map(|p| p.3).collect();
    assert!(
        plan.iter().any(|d| d.contains("records_sort_1_0"))
            && !plan.iter().any(|d| d.contains("records_sort_1_1")),
        "{plan:?}"
    );
    let found: Vec<i64> = select(q).load(&mut conn).unwrap();
    assert_eq!(found, vec![1]);
}

#[test]
fn a_scanning_condition_keeps_ranges_off_the_sort_index() {
    let mut conn = sheet();
    conn.batch_execute("CREATE INDEX records_sheet ON records(sheet_seq, id)")
        .unwrap();
    let node = compile("age gt 10", &specs()).unwrap();
    assert!(has_range(&node));
    assert!(!has_range(&compile("age eq 10 or email eq a", &specs()).unwrap()));
    let scan = records::table
        .select(records::id)
        .filter(sql::<Bool>("sheet_seq = 1"))
        .filter(Condition::scanning(KEYED_SQLITE, &node))
        .order(records::id)
        .into_boxed::<Sqlite>();
    let plan: Vec<(i32, i32, i32, String)> = Explain(scan).load(&mut conn).unwrap();
    assert!(plan.iter().all(|p| !p.3.contains("records_sort_")), "{plan:?}");
    let scan = records::table
        .select(records::id)
        .filter(sql::<Bool>("sheet_seq = 1"))
        .filter(Condition::scanning(KEYED_SQLITE, &node))
        .order(records::id);
    assert_eq!(scan.load::<i64>(&mut conn).unwrap(), vec![1, 3]);
}

//! A load of many records through `POST /v1/sheets/{id}/records` starts the sheet's search
//! index and a sort index per field once its writes pause, as an import does, so the first
//! search and sort after the load find them ready; a small sheet gets none. On PostgreSQL
//! the load's end also vacuums and analyzes the records.

use crate::helpers::*;
use crate::on_both;
use diesel::prelude::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The contacts sheet's fields (see `contacts_blueprint`).
const FIELDS: usize = 7;

/// How many of the sheet's sort indexes exist, and whether its search index is complete.
fn built(app: &TestApp, seq: i64) -> (usize, bool) {
    use wharf::model::record::{indexes::catalog_has, search_index};
    let mut conn = app.pool.get().expect("conn");
    let sorts = (0..FIELDS)
        .filter(|i| catalog_has(&mut conn, &format!("records_sort_{seq}_{i}")).expect("catalog"))
        .count();
    (sorts, search_index::exists(&mut conn, seq).expect("catalog"))
}

/// PostgreSQL: whether the records table was vacuumed and analyzed (not by autovacuum).
fn vacuumed(app: &TestApp) -> bool {
    #[derive(QueryableByName)]
    struct Done {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        done: bool,
    }
    let mut conn = app.pool.get().expect("conn");
    diesel::sql_query(
        "SELECT last_vacuum IS NOT NULL AND last_analyze IS NOT NULL AS done \
         FROM pg_stat_user_tables WHERE relname = 'records'",
    )
    .get_result::<Done>(&mut *conn)
    .expect("stats")
    .done
}

/// PostgreSQL: the planner's estimate of the records whose name (field 1) is `value`, and
/// how many there are.
fn name_estimate(app: &TestApp, seq: i64, value: &str) -> (f64, f64) {
    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        plan: String,
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.pool.get().expect("conn");
    // The cell as sorts and their statistics read it.
    let cell =
        wharf::model::record::sort_index::Cells::from_values(wharf::db::Backend::Postgres).expression(1);
    let condition = format!("sheet_seq = {seq} AND {cell} = to_jsonb(CAST('{value}' AS text))");
    let plan: Plan = diesel::sql_query(format!(
        "EXPLAIN (FORMAT JSON) SELECT id FROM records WHERE {condition}"
    ))
    .get_result(&mut *conn)
    .expect("explain");
    let plan: Value = serde_json::from_str(&plan.plan).expect("plan json");
    let estimated = plan[0]["Plan"]["Plan Rows"].as_f64().expect("rows");
    let actual: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM records WHERE {condition}"))
        .get_result(&mut *conn)
        .expect("count");
    (estimated, actual.n as f64)
}

async fn load(app: &TestApp, sheet: &str, from: usize, count: usize) {
    let rows: Vec<Value> = (from..from + count)
        .map(|i| json!({"email": {"value": format!("p{i}@x.org")}, "name": {"value": format!("Name {}", i % 97)}, "age": {"value": i % 90}}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn a_load_through_the_api_starts_the_sheets_indexes(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let seq = app.sheet_seq(&sheet);
    for batch in 0..6 {
        load(&app, &sheet, batch * 4000, 4000).await;
    }
    // A small sheet of the same space stays without indexes.
    let other = app
        .post_json(
            "/workbooks",
            &json!({"name": "Small", "spaceId": space["id"], "sheets": [
        {"name": "Few", "slug": "few", "fields": [{"key": "email", "type": "string", "label": "Email"}]}]}),
        )
        .await;
    assert_eq!(other.0, 200, "{}", other.1);
    let small = other.1["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .post_json(
            &format!("/sheets/{small}/records"),
            &json!([{"email": {"value": "a@x.org"}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // No read has asked for any index: the load's end starts them all (and on PostgreSQL
    // vacuums and analyzes the records).
    let started = Instant::now();
    loop {
        let (sorts, search) = built(&app, seq);
        if sorts == FIELDS && search && (db == Db::Sqlite || vacuumed(&app)) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "after the load: {sorts} of {FIELDS} sort indexes, search index {search}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(built(&app, app.sheet_seq(&small)), (0, false));
    if db == Db::Postgres {
        // The planner knows how many records hold a value (it took every equality for 0.5%
        // of the records, and read common values whole from the sort index to sort them).
        let (estimated, actual) = name_estimate(&app, seq, "Name 5");
        assert!(
            (estimated - actual).abs() * 4.0 <= actual,
            "`name eq \"Name 5\"`: estimated {estimated} records, {actual} hold it"
        );
    }
    // Reads through them answer as a scan would.
    let (_, page) = app
        .get_json(&format!(
            "/sheets/{sheet}/records?sortField=age&sortDirection=desc&pageSize=3"
        ))
        .await;
    let ages: Vec<&Value> = page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["values"]["age"]["value"])
        .collect();
    assert_eq!(ages, [&json!(89), &json!(89), &json!(89)], "{page}");
    let (_, found) = app
        .get_json(&format!("/sheets/{sheet}/records?searchValue=p12345@x.org"))
        .await;
    let found = found["data"]["records"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["values"]["email"]["value"], "p12345@x.org");
}

/// A search index whose build waited while its sheet was deleted is not built (it stayed
/// until the next sweep of orphans: probe 55b L1).
async fn a_deleted_sheet_gets_no_search_index(db: Db) {
    use wharf::model::record::search_index;
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let seq = app.sheet_seq(&sheet);
    load(&app, &sheet, 0, 50).await;
    let (status, body) = app.delete(&format!("/sheets/{sheet}")).await;
    assert_eq!(status, 200, "{body}");
    let mut conn = app.pool.get().expect("conn");
    search_index::build(&mut conn, seq).expect("build");
    assert!(!search_index::exists(&mut conn, seq).expect("catalog"));
}

on_both!(
    a_load_through_the_api_starts_the_sheets_indexes,
    a_deleted_sheet_gets_no_search_index,
);

/// Processes sharing a PostgreSQL database build indexes one at a time (two builds of one
/// sheet's index at once deadlocked): two connections, as two processes, never overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_builds_take_turns_across_processes() {
    let (settings, _dir) = test_settings(Db::Postgres);
    let pool = wharf::app::prepare_database(&settings).expect("pool");
    let spans: Vec<(std::time::Instant, std::time::Instant)> = (0..2)
        .map(|_| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                wharf::workers::indexes::across_processes(&mut conn, |_| {
                    let start = std::time::Instant::now();
                    std::thread::sleep(std::time::Duration::from_millis(700));
                    Ok((start, std::time::Instant::now()))
                })
                .unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let (a, b) = (spans[0], spans[1]);
    assert!(a.1 <= b.0 || b.1 <= a.0, "the two overlapped: {spans:?}");
}

//! PostgreSQL's plan for finding who holds some keys of a unique field stays one index
//! probe per key while an import fills the table faster than its statistics follow. (As
//! `norm = ANY($3)` it became a scan of the whole field testing each key against the list:
//! a 40,000-row mapping onto a typed sheet took 46 s there, 10 s now.)

use crate::helpers::*;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use wharf::db::AnyConnection;

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    text: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_lookups_probe_the_index_with_stale_statistics() {
    let app = spawn_app(Db::Postgres).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let other = app.sheet_id(&space, "contacts").await;
    let mut conn = app.pool.get().unwrap();
    let AnyConnection::Postgres(pg) = &mut *conn else {
        panic!("a PostgreSQL app")
    };
    // Statistics taken while the table holds another sheet's keys, then a big import.
    pg.batch_execute(&format!(
        "INSERT INTO cell_keys SELECT '{other}', 0, 'c' || g, g FROM generate_series(1, 1000) g;
         ANALYZE cell_keys;
         INSERT INTO cell_keys SELECT '{sheet}', 0, 'k' || g, g FROM generate_series(101, 60000) g;"
    ))
    .unwrap();
    pg.batch_execute(&format!(
        "PREPARE holders(text, int, text[]) AS {};",
        wharf::model::record::HOLDERS_PG
    ))
    .unwrap();
    let keys: Vec<String> = (1..2000).step_by(7).map(|g| format!("k{g}")).collect();
    let plan: Vec<Line> = diesel::sql_query(format!(
        "EXPLAIN (ANALYZE, COSTS OFF) EXECUTE holders('{sheet}', 0, '{{{}}}')",
        keys.join(",")
    ))
    .load(pg)
    .unwrap();
    let text: Vec<String> = plan.into_iter().map(|l| l.text).collect();
    let text = text.join("\n");
    assert!(
        text.contains("Index Cond") && text.contains("norm = "),
        "each key an index probe:\n{text}"
    );
    assert!(!text.contains("Filter"), "no key tested by a filter:\n{text}");
}

//! A walk through a sheet's records in id order right after a big write reads them along
//! the key, a batch at a time: on PostgreSQL, whose statistics then still describe the table
//! as it was, the planner otherwise gathered every record past the cursor and sorted them
//! (110-220 ms for each 5,000 records of a fresh 1,000,000-record source: `db::key_order`).

use crate::commits::insert;
use crate::helpers::*;
use crate::on_both;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::{json, Value};
use wharf::db::{in_key_order, AnyConnection};

#[derive(QueryableByName)]
struct PgLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

#[derive(QueryableByName)]
struct SqliteLine {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// How the database plans the mapping's and the export's walk (`record::inputs_after`,
/// `record::after`): one step of it, from the start.
fn plan_of_a_walk(conn: &mut AnyConnection, sheet_seq: i64) -> String {
    let walk = format!(
        "SELECT id, vals, raw FROM records WHERE sheet_seq = {sheet_seq} AND id > 0 AND id <= 9000000000 \
         ORDER BY id LIMIT 5000"
    );
    let lines = match conn {
        AnyConnection::Postgres(c) => diesel::sql_query(format!("EXPLAIN {walk}"))
            .load::<PgLine>(c)
            .map(|l| l.into_iter().map(|l| l.line).collect::<Vec<_>>()),
        AnyConnection::Sqlite(c) => diesel::sql_query(format!("EXPLAIN QUERY PLAN {walk}"))
            .load::<SqliteLine>(c)
            .map(|l| l.into_iter().map(|l| l.detail).collect()),
    };
    lines.unwrap().join("\n")
}

async fn a_walk_right_after_a_big_write_follows_the_key(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let rows: Vec<Value> = (0..30_000).map(|i| json!({"code": format!("C{i}")})).collect();
    insert(&app, &sheet, Value::Array(rows), &[("X-Disable-Hooks", "true")]).await;
    let seq = app.sheet_seq(&sheet);
    let mut conn = app.pool.get().unwrap();
    if let AnyConnection::Postgres(c) = &mut *conn {
        // PostgreSQL's statistics as a million-record load leaves them: none yet for what
        // it wrote, and the table taken for as big as it now is (the test's stands for it).
        // The load's own `VACUUM (ANALYZE)` may run meanwhile: a deadlock with it is tried
        // again.
        use diesel::connection::SimpleConnection;
        let mut tries = 0;
        while let Err(e) = c.batch_execute(
            "ANALYZE records; DELETE FROM pg_statistic WHERE starelid = 'records'::regclass; \
             UPDATE pg_class SET reltuples = 3000000 WHERE oid = 'records'::regclass",
        ) {
            tries += 1;
            assert!(tries < 10 && e.to_string().contains("deadlock"), "{e}");
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }
    let plan = in_key_order(&mut conn, |c| Ok(plan_of_a_walk(c, seq))).unwrap();
    for gathering in ["Bitmap", "Sort", "Seq Scan", "TEMP B-TREE"] {
        assert!(!plan.contains(gathering), "{plan}");
    }
    // On PostgreSQL the settings last only for the walk, in a caller's transaction too.
    let AnyConnection::Postgres(_) = &mut *conn else {
        return;
    };
    let setting = |c: &mut AnyConnection| -> QueryResult<String> {
        diesel::select(diesel::dsl::sql::<Text>("current_setting('enable_bitmapscan')")).get_result(c)
    };
    assert_eq!(setting(&mut conn).unwrap(), "on");
    let inside = conn
        .transaction(|c| {
            in_key_order(c, |c| Ok(plan_of_a_walk(c, seq)))?;
            setting(c)
        })
        .unwrap();
    assert_eq!(inside, "on", "a caller's own transaction keeps its settings");
}

on_both!(a_walk_right_after_a_big_write_follows_the_key);

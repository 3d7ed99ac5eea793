//! A sorted sheet on SQLite keeps its records' first cells in key columns (`sort_keys`):
//! the first sort fills them in, every write keeps them, and sorted pages and FFQL read
//! them. The same steps run on PostgreSQL, whose sort indexes are on expressions. (The end
//! of every SQLite test also checks the keys of sorted sheets: see `TestApp`'s drop.)

use crate::helpers::*;
use crate::on_both;
use diesel::prelude::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use wharf::model::record::{indexes::catalog_has, sort_keys};

/// The sheet's state of its keys (SQLite), and whether its sort index on field `i` exists.
fn keys_and_index(app: &TestApp, seq: i64, i: usize) -> (i32, bool) {
    use wharf::db::schema::sheets;
    let mut conn = app.pool.get().expect("conn");
    let state = sheets::table
        .filter(sheets::seq.eq(seq))
        .select(sheets::sort_keys)
        .first::<i32>(&mut *conn)
        .expect("sheet");
    let built = catalog_has(&mut conn, &format!("records_sort_{seq}_{i}")).expect("catalog");
    (state, built)
}

async fn wait_for_sort_index(app: &TestApp, db: Db, seq: i64, i: usize) {
    let started = Instant::now();
    loop {
        let (state, built) = keys_and_index(app, seq, i);
        if built && (db == Db::Postgres || state == sort_keys::READY) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "state {state}, built {built}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The id and age of each record of a page or an answer, in its order.
fn ids_and_ages(records: &Value) -> Vec<(String, Value)> {
    records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["values"]["age"]["value"].clone(),
            )
        })
        .collect()
}

/// Every record's id and age, read in id order.
async fn ages(app: &TestApp, sheet: &str) -> Vec<(String, Value)> {
    let (_, p) = app
        .get_json(&format!("/sheets/{sheet}/records?pageSize=1000"))
        .await;
    ids_and_ages(&p["data"]["records"])
}

/// Sorted pages by age hold every record, their numbers in order; `age gt 50` finds the
/// records whose age is a number over 50.
async fn reads_agree(app: &TestApp, sheet: &str, step: &str) {
    let all = ages(app, sheet).await;
    for direction in ["asc", "desc"] {
        let (_, p) = app
            .get_json(&format!(
                "/sheets/{sheet}/records?pageSize=1000&sortField=age&sortDirection={direction}"
            ))
            .await;
        let sorted: Vec<(String, Value)> = ids_and_ages(&p["data"]["records"]);
        let mut ids: Vec<&String> = sorted.iter().map(|(id, _)| id).collect();
        let mut expected: Vec<&String> = all.iter().map(|(id, _)| id).collect();
        ids.sort();
        expected.sort();
        assert_eq!(ids, expected, "{step}: a sorted read holds every record");
        let numbers: Vec<f64> = sorted.iter().filter_map(|(_, a)| a.as_f64()).collect();
        let mut in_order = numbers.clone();
        in_order.sort_by(f64::total_cmp);
        if direction == "desc" {
            in_order.reverse();
        }
        assert_eq!(numbers, in_order, "{step}: ages sorted {direction}");
    }
    let over = all
        .iter()
        .filter(|(_, a)| a.as_f64().is_some_and(|n| n > 50.0))
        .count();
    let (_, p) = app
        .get_json(&format!("/sheets/{sheet}/records?pageSize=1000&q=age%20gt%2050"))
        .await;
    assert_eq!(
        p["data"]["records"].as_array().unwrap().len(),
        over,
        "{step}: age gt 50"
    );
}

fn contact(i: usize) -> Value {
    let age = if i % 9 == 4 {
        json!("n/a")
    } else {
        json!(i * 7 % 90)
    };
    json!({"email": {"value": format!("p{}@x.org", i % 38)}, "name": {"value": format!("Name {}", i % 7)},
           "age": {"value": age}, "tier": {"value": if i.is_multiple_of(2) { "gold" } else { "silver" }}})
}

async fn every_write_keeps_a_sorted_sheets_keys(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let seq = app.sheet_seq(&sheet);
    let rows: Vec<Value> = (0..40).map(contact).collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    if db == Db::Sqlite {
        assert_eq!(
            keys_and_index(&app, seq, 2).0,
            sort_keys::NOT_KEPT,
            "nobody sorted yet"
        );
    }

    // The first sort by age builds its index, and on SQLite fills the keys in first.
    app.get_json(&format!("/sheets/{sheet}/records?sortField=age"))
        .await;
    wait_for_sort_index(&app, db, seq, 2).await;
    reads_agree(&app, &sheet, "after the first sort").await;

    // 70 records: SQLite writes 32 rows a statement, then the rest one by one.
    let rows: Vec<Value> = (40..110).map(contact).collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    // Stored in the order sent, each under the id the answer gave it.
    let answered: Vec<(String, Value)> = ids_and_ages(&body["data"]["records"]);
    let sent_ages: Vec<Value> = rows.iter().map(|r| r["age"]["value"].clone()).collect();
    assert_eq!(
        answered.iter().map(|(_, a)| a.clone()).collect::<Vec<_>>(),
        sent_ages
    );
    assert_eq!(
        ages(&app, &sheet).await[40..].to_vec(),
        answered,
        "read back in id order"
    );
    reads_agree(&app, &sheet, "insert").await;
    if db == Db::Sqlite {
        let mut conn = app.pool.get().expect("conn");
        assert_eq!(
            stale_sort_keys(&mut conn, &seq.to_string()),
            0,
            "inserted rows' keys"
        );
    }

    let ids: Vec<String> = ages(&app, &sheet).await.into_iter().map(|(id, _)| id).collect();
    let edits = json!([
        {"id": ids[0], "values": {"age": {"value": 99}}},
        {"id": ids[1], "values": {"name": {"value": "Renamed"}}},
        {"id": ids[2], "values": {"age": {"value": "unknown"}, "name": {"value": "Both"}}},
    ]);
    let (status, body) = app.put_json(&format!("/sheets/{sheet}/records"), &edits).await;
    assert_eq!(status, 200, "{body}");
    reads_agree(&app, &sheet, "update").await;

    let (status, body) = app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update?q=age%20lt%2020"),
            &json!({"fieldUpdates": {"age": 61}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/find-replace"),
            &json!({"find": "n/a", "replace": "70", "fieldKey": "age"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    reads_agree(&app, &sheet, "bulk changes").await;

    // A field first: every cell moves up a place, and age is field 3.
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/fields?insertAtIndex=0"),
            &json!({"key": "first", "type": "string", "label": "First"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    reads_agree(&app, &sheet, "a field added first").await;
    // The field before age leaves: cells after it move down a place.
    let (status, body) = app.delete(&format!("/sheets/{sheet}/fields/name")).await;
    assert_eq!(status, 200, "{body}");
    reads_agree(&app, &sheet, "a field removed").await;

    let gone: Vec<&str> = ids[5..15].iter().map(String::as_str).collect();
    let (status, body) = app
        .delete(&format!("/sheets/{sheet}/records?ids={}", gone.join(",")))
        .await;
    assert_eq!(status, 200, "{body}");
    reads_agree(&app, &sheet, "delete").await;

    if db == Db::Sqlite {
        // Checked here as well as at the end: every record's keys are its values.
        let mut conn = app.pool.get().expect("conn");
        assert_eq!(stale_sort_keys(&mut conn, &seq.to_string()), 0);
    }
}

/// A database from before the key columns: its sort indexes on expressions are dropped at
/// start, and the next sort builds the field's index on its column.
async fn an_old_expression_index_makes_way_for_the_column(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let seq = app.sheet_seq(&sheet);
    let rows: Vec<Value> = (0..20).map(contact).collect();
    app.post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    if db == Db::Sqlite {
        let mut conn = app.pool.get().expect("conn");
        use diesel::connection::SimpleConnection;
        conn.batch_execute(&format!(
            "CREATE INDEX records_sort_{seq}_1 ON records (sheet_seq, json_extract(vals, '$[1]'), id) \
             WHERE sheet_seq = {seq}"
        ))
        .expect("old index");
        drop(conn);
        // Another process starting on the database (an upgrade's restart).
        let _restarted = app.spawn_sibling();
        assert_eq!(keys_and_index(&app, seq, 1), (sort_keys::NOT_KEPT, false));
    }
    app.get_json(&format!("/sheets/{sheet}/records?sortField=name"))
        .await;
    wait_for_sort_index(&app, db, seq, 1).await;
    let (_, p) = app
        .get_json(&format!("/sheets/{sheet}/records?sortField=name&pageSize=3"))
        .await;
    let names: Vec<&Value> = p["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["values"]["name"]["value"])
        .collect();
    assert_eq!(names, vec!["Name 0", "Name 0", "Name 0"]);
}

on_both!(every_write_keeps_a_sorted_sheets_keys);
on_both!(an_old_expression_index_makes_way_for_the_column);

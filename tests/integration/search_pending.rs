//! A bulk change leaves the SQLite search index as it was and notes the records it changed
//! (or deleted) as pending; searches read those beside the index, so they are right at
//! once, and the background brings the index up to date once the sheet's writes pause,
//! also after a restart. PostgreSQL keeps its trigram index itself: the same searches must
//! answer the same there.

use crate::helpers::*;
use crate::on_both;
use diesel::prelude::*;
use serde_json::{json, Value};
use std::time::Duration;

async fn search_count(app: &TestApp, sheet: &str, term: &str) -> usize {
    let (status, body) = app
        .get_json(&format!(
            "/sheets/{sheet}/records?searchValue={term}&pageSize=5000"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["records"].as_array().unwrap().len()
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Records of the sheet waiting for its search index.
fn pending(app: &TestApp, seq: i64) -> i64 {
    let mut conn = app.pool.get().expect("conn");
    wharf::on_backend!(&mut *conn, c => diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM search_pending WHERE sheet_seq = {seq}"
    ))
    .get_result::<N>(c))
    .expect("pending")
    .n
}

/// Records the SQLite index itself names for a trigram.
fn indexed(app: &TestApp, seq: i64, trigram: &str) -> i64 {
    let mut conn = app.pool.get().expect("conn");
    let t = wharf::model::record::search_index::name(seq);
    wharf::on_backend!(&mut *conn, c => diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM {t} WHERE {t} MATCH '\"{trigram}\"'"
    ))
    .get_result::<N>(c))
    .expect("match")
    .n
}

async fn wait_for_catch_up(app: &TestApp, seq: i64) {
    for _ in 0..300 {
        if pending(app, seq) == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the search index never caught up: {} pending", pending(app, seq));
}

async fn wait_for_index(app: &TestApp, seq: i64) {
    for _ in 0..300 {
        let mut conn = app.pool.get().expect("conn");
        if wharf::model::record::search_index::exists(&mut conn, seq).expect("catalog") {
            return;
        }
        drop(conn);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the search index was never built");
}

/// Puts `n` records named `okapi {i}` in the sheet; their ids.
async fn add_okapis(app: &TestApp, sheet: &str, n: usize) -> Vec<String> {
    let rows: Vec<Value> = (0..n)
        .map(|i| json!({"email": {"value": format!("p{i}@x.org")}, "name": {"value": format!("okapi {i}")}}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    record_ids(&body)
}

/// Replaces `okapi` with `tapir` in every name of the sheet (one request); how many changed.
async fn okapis_to_tapirs(app: &TestApp, sheet: &str) -> Value {
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/find-replace"),
            &json!({"find": "okapi", "replace": "tapir", "fieldKey": "name"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["changed"].clone()
}

async fn bulk_changes_leave_the_search_index_to_catch_up(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let seq = app.sheet_seq(&sheet);
    let path = format!("/sheets/{sheet}/records");
    let ids = add_okapis(&app, &sheet, 600).await;
    assert_eq!(search_count(&app, &sheet, "okapi").await, 600);
    wait_for_index(&app, seq).await;

    // A find and replace over every record: searches see the new text at once.
    assert_eq!(okapis_to_tapirs(&app, &sheet).await, 600);
    assert_eq!(search_count(&app, &sheet, "tapir").await, 600);
    assert_eq!(search_count(&app, &sheet, "okapi").await, 0);
    assert_eq!(search_count(&app, &sheet, "tapir%20599").await, 1);

    // A third deleted: gone from searches at once.
    let query = ids
        .iter()
        .step_by(3)
        .map(|id| format!("ids={id}"))
        .collect::<Vec<_>>()
        .join("&");
    let (status, body) = app.delete(&format!("{path}?{query}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(search_count(&app, &sheet, "tapir").await, 400);

    if db == Db::Sqlite {
        // Once the writes pause, the index itself holds the records as they are.
        wait_for_catch_up(&app, seq).await;
        assert_eq!(indexed(&app, seq, "tap"), 400);
        assert_eq!(indexed(&app, seq, "oka"), 0);
    }
    assert_eq!(search_count(&app, &sheet, "tapir").await, 400);
    assert_eq!(search_count(&app, &sheet, "okapi").await, 0);

    // A person's edit brings the index up to date in its own write: on a sheet whose
    // writes never pause, edits do not pile up as pending.
    let update = json!([{"id": ids[1], "values": {"name": {"value": "walrus"}}}]);
    let (status, body) = app.put_json(&path, &update).await;
    assert_eq!(status, 200, "{body}");
    if db == Db::Sqlite {
        assert_eq!(pending(&app, seq), 0);
        assert_eq!(indexed(&app, seq, "wal"), 1);
    }
    assert_eq!(search_count(&app, &sheet, "walrus").await, 1);
    assert_eq!(search_count(&app, &sheet, "tapir").await, 399);
}

on_both!(bulk_changes_leave_the_search_index_to_catch_up);

/// A SQLite contacts sheet of 50 okapis with its search index built: the app, the sheet's
/// id and its number.
async fn okapis_indexed() -> (TestApp, String, i64) {
    let app = spawn_app(Db::Sqlite).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let seq = app.sheet_seq(&sheet);
    add_okapis(&app, &sheet, 50).await;
    assert_eq!(search_count(&app, &sheet, "okapi").await, 50);
    wait_for_index(&app, seq).await;
    (app, sheet, seq)
}

/// Records left pending when a process stopped are brought into the index by the next
/// one, without a write to start it.
#[tokio::test]
async fn a_restart_catches_up_what_was_left_pending() {
    let (app, sheet, seq) = okapis_indexed().await;
    // As a process cut off after a bulk change left them: ten records changed, the index
    // not yet told, nothing in this process's memory about it.
    {
        use diesel::connection::SimpleConnection;
        let mut conn = app.pool.get().expect("conn");
        conn.batch_execute(&format!(
            "UPDATE records SET vals = replace(vals, 'okapi', 'zebra') WHERE sheet_seq = {seq} \
             AND id IN (SELECT id FROM records WHERE sheet_seq = {seq} ORDER BY id LIMIT 10);
             INSERT INTO search_pending (sheet_seq, record_id) \
             SELECT {seq}, id FROM records WHERE sheet_seq = {seq} ORDER BY id LIMIT 10;"
        ))
        .expect("leave pending");
    }
    assert_eq!(indexed(&app, seq, "zeb"), 0);
    assert_eq!(
        search_count(&app, &sheet, "zebra").await,
        10,
        "read beside the index"
    );
    let _next = app.spawn_sibling();
    wait_for_catch_up(&app, seq).await;
    assert_eq!(indexed(&app, seq, "zeb"), 10);
    assert_eq!(search_count(&app, &sheet, "zebra").await, 10);
    assert_eq!(search_count(&app, &sheet, "okapi").await, 40);
}

/// A search index whose filling a stop cut off is filled on by the next process at its
/// start, without waiting for a search (probe 55b F2).
#[tokio::test]
async fn a_restart_fills_on_a_search_index_a_stop_cut_off() {
    let (app, sheet, seq) = okapis_indexed().await;
    // As a build cut off at its start left it: the table there, empty, the filling noted.
    {
        use diesel::connection::SimpleConnection;
        let mut conn = app.pool.get().expect("conn");
        let t = wharf::model::record::search_index::name(seq);
        conn.batch_execute(&format!(
            "DELETE FROM {t};
             INSERT INTO search_backfills (sheet_seq, done_upto, until_id)              SELECT {seq}, 0, max(id) FROM records WHERE sheet_seq = {seq};"
        ))
        .expect("cut the build off");
    }
    assert_eq!(indexed(&app, seq, "oka"), 0);
    let _next = app.spawn_sibling();
    for _ in 0..100 {
        if indexed(&app, seq, "oka") == 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        indexed(&app, seq, "oka"),
        50,
        "filled on at start, no search asked"
    );
    assert_eq!(search_count(&app, &sheet, "okapi").await, 50);
}

/// More records waiting than the index is worth asking beside (5,000): a search reads the
/// sheet instead, and still finds exactly the records that show the term.
async fn a_search_beside_many_pending_records_is_still_exact(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let seq = app.sheet_seq(&sheet);
    add_okapis(&app, &sheet, 6000).await;
    assert_eq!(search_count(&app, &sheet, "okapi%205999").await, 1);
    wait_for_index(&app, seq).await;
    assert_eq!(okapis_to_tapirs(&app, &sheet).await, 6000);
    assert_eq!(search_count(&app, &sheet, "tapir%205999").await, 1);
    assert_eq!(search_count(&app, &sheet, "tapir%201234").await, 1);
    assert_eq!(search_count(&app, &sheet, "okapi").await, 0);
    assert_eq!(search_count(&app, &sheet, "tapir").await, 5000, "a full page");
}

on_both!(a_search_beside_many_pending_records_is_still_exact);

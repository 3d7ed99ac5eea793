//! A sheet's search index is filled in short batches while people write: writers inserting
//! and editing meanwhile all succeed, and once the index is complete a search through it
//! finds exactly what a scan finds, edits made during the filling included.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

const ROWS: usize = 30_000;

/// Whether the sheet's search index is complete (reads use it from then on).
fn index_complete(app: &TestApp, sheet_id: &str) -> bool {
    let seq = app.sheet_seq(sheet_id);
    let mut conn = app.pool.get().expect("conn");
    wharf::model::record::search_index::exists(&mut conn, seq).expect("catalog")
}

async fn search_ids(app: &TestApp, sheet: &str, term: &str) -> Vec<String> {
    let (status, body) = app
        .get_json(&format!(
            "/sheets/{sheet}/records?searchValue={term}&pageSize=50000"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let mut ids: Vec<String> = body["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

async fn the_search_index_fills_in_batches_beside_writers(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let path = format!("/sheets/{sheet}/records");
    let mut ids = Vec::new();
    for chunk in 0..ROWS / 5000 {
        let rows: Vec<Value> = (0..5000)
            .map(|i| json!({"email": {"value": format!("p{}@x.org", chunk * 5000 + i)}, "name": {"value": "Plain"}}))
            .collect();
        let (status, body) = app.post_json(&path, &json!(rows)).await;
        assert_eq!(status, 200, "{body}");
        ids.extend(
            body["data"]["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string()),
        );
    }
    assert!(!index_complete(&app, &sheet));
    // The first search asks for the index; writers go on meanwhile.
    assert!(search_ids(&app, &sheet, "zebra").await.is_empty());
    let mut writers = Vec::new();
    for w in 0..3 {
        let (app_base, key, path) = (app.base.clone(), app.key.clone(), path.clone());
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for round in 0..5 {
                let rows: Vec<Value> = (0..1000)
                    .map(|i| json!({"email": {"value": format!("w{w}r{round}i{i}@x.org")}, "name": {"value": format!("zebra new {w}")}}))
                    .collect();
                let resp = client.post(format!("{app_base}/v1{path}")).bearer_auth(&key).json(&rows).send().await.unwrap();
                assert_eq!(resp.status().as_u16(), 200, "writer {w} round {round}");
            }
        }));
    }
    // Edits to records the filling has and has not reached yet.
    let edited: Vec<String> = ids.iter().step_by(997).cloned().collect();
    let updates: Vec<Value> = edited
        .iter()
        .map(|id| json!({"id": id, "values": {"name": {"value": "zebra edited"}}}))
        .collect();
    let (status, body) = app.put_json(&path, &json!(updates)).await;
    assert_eq!(status, 200, "{body}");
    for w in writers {
        w.await.expect("writer");
    }
    for _ in 0..600 {
        if index_complete(&app, &sheet) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(index_complete(&app, &sheet), "the index was never completed");
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], (ROWS + 15_000) as i64);
    let mut want = edited.clone();
    want.sort();
    assert_eq!(search_ids(&app, &sheet, "zebra%20edited").await, want);
    assert_eq!(
        search_ids(&app, &sheet, "zebra").await.len(),
        edited.len() + 15_000
    );
    assert_eq!(search_ids(&app, &sheet, "plain").await.len(), ROWS - edited.len());
}

on_both!(the_search_index_fills_in_batches_beside_writers);

async fn wait_until_complete(app: &TestApp, sheet: &str) {
    for _ in 0..300 {
        if index_complete(app, sheet) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the index was never completed");
}

/// SQLite's search index merges its segments in the background once a sheet's writes pause
/// (not a little on every write), and searches stay right before and after.
async fn the_search_index_is_merged_once_writes_pause(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let path = format!("/sheets/{sheet}/records");
    let rows: Vec<Value> = (0..2000)
        .map(|i| json!({"email": {"value": format!("m{i}@x.org")}, "name": {"value": "Plain"}}))
        .collect();
    let (status, body) = app.post_json(&path, &json!(rows)).await;
    assert_eq!(status, 200, "{body}");
    let ids = record_ids(&body);
    assert!(search_ids(&app, &sheet, "walrus").await.is_empty());
    wait_until_complete(&app, &sheet).await;
    // Twelve writes, each its own transaction: twelve new segments in the index.
    let mut edited = Vec::new();
    for (n, id) in ids.iter().step_by(150).take(12).enumerate() {
        let update = json!([{"id": id, "values": {"name": {"value": format!("walrus {n}")}}}]);
        let (status, body) = app.put_json(&path, &update).await;
        assert_eq!(status, 200, "{body}");
        edited.push(id.clone());
    }
    edited.sort();
    assert_eq!(search_ids(&app, &sheet, "walrus").await, edited);
    // The writes have paused: the background merges (quiet 2 s, a look every 0.5 s).
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    if db == Db::Sqlite {
        let mut conn = app.pool.get().expect("conn");
        let seq = app.sheet_seq(&sheet);
        let more = wharf::model::record::search_index::merge_step(&mut conn, seq).expect("merge");
        assert!(!more, "the search index was left unmerged");
    }
    assert_eq!(search_ids(&app, &sheet, "walrus").await, edited);
    assert_eq!(
        search_ids(&app, &sheet, "walrus%205").await,
        vec![edited_id(&ids, 5)]
    );
    assert_eq!(search_ids(&app, &sheet, "plain").await.len(), 2000 - 12);
}

fn edited_id(ids: &[String], n: usize) -> String {
    ids.iter().step_by(150).nth(n).unwrap().clone()
}

on_both!(the_search_index_is_merged_once_writes_pause);

/// How many records the sheet's SQLite search index names for a term (trigrams of it).
fn indexed_for(app: &TestApp, seq: i64, term: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.pool.get().expect("conn");
    let t = wharf::model::record::search_index::name(seq);
    wharf::on_backend!(&mut *conn, c => diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM {t} WHERE {t} MATCH ?"
    ))
    .bind::<diesel::sql_types::Text, _>(format!("\"{term}\""))
    .get_result::<N>(c))
    .expect("match")
    .n
}

/// Deleted records leave the search index (SQLite: no trigger; noted, and taken out in
/// one statement for many once the writes pause), and searches find only what is left.
async fn deleted_records_leave_the_search_index(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let path = format!("/sheets/{sheet}/records");
    let rows: Vec<Value> = (0..300)
        .map(|i| json!({"email": {"value": format!("d{i}@x.org")}, "name": {"value": format!("okapi {i}")}}))
        .collect();
    let (status, body) = app.post_json(&path, &json!(rows)).await;
    assert_eq!(status, 200, "{body}");
    let ids = record_ids(&body);
    assert_eq!(search_ids(&app, &sheet, "okapi").await.len(), 300);
    wait_until_complete(&app, &sheet).await;
    let gone: Vec<&String> = ids.iter().step_by(3).collect();
    let query = gone
        .iter()
        .map(|id| format!("ids={id}"))
        .collect::<Vec<_>>()
        .join("&");
    let (status, body) = app.delete(&format!("{path}?{query}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(search_ids(&app, &sheet, "okapi").await.len(), 200);
    if db == Db::Sqlite {
        let seq = app.sheet_seq(&sheet);
        for _ in 0..300 {
            if indexed_for(&app, seq, "kap") == 200 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(indexed_for(&app, seq, "kap"), 200);
        // A database from before keeps its row-by-row delete trigger until the next start.
        use diesel::connection::SimpleConnection;
        use diesel::RunQueryDsl;
        let mut conn = app.pool.get().expect("conn");
        let t = wharf::model::record::search_index::name(seq);
        conn.batch_execute(&format!(
            "CREATE TRIGGER {t}_delete AFTER DELETE ON records WHEN old.sheet_seq = {seq} \
             BEGIN DELETE FROM {t} WHERE rowid = old.id; END;"
        ))
        .expect("old trigger");
        wharf::model::record::indexes::drop_orphans(&mut conn).expect("drop");
        let left: Vec<String> = diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            .load::<Name>(&mut *conn)
            .expect("catalog")
            .into_iter()
            .map(|n| n.name)
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

on_both!(deleted_records_leave_the_search_index);

//! A big write through the published `@flatfile/plugin-record-hook`: Wharf cuts it into a
//! commit per 10,000 records, each of which the unchanged listener reads, fixes and answers.

use crate::commits::insert;
use crate::helpers::*;
use crate::listener::{commits_created, serve_listener};
use crate::on_both;
use crate::records_ffql::urlencode;
use serde_json::{json, Value};
use std::time::Duration;

/// 25,000 contacts in one `POST`: the listener's hook lower-cases every email, in three
/// commits that it completes (one commit of 25,000 kept the plugin matching records one by
/// one against each other: probe 51b 4).
async fn a_record_hook_answers_every_commit_of_a_big_write(db: Db) {
    // The default pool (8): the hook answers three 10,000-record commits at once, and
    // with the tests' 4 connections, on a loaded machine, one answer waited past the pool's
    // 10 s and was refused 503, which the plugin only logs.
    let app = spawn_app_with(db, |s| s.pool_size = 8).await;
    let listener = serve_listener(&app).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let rows: Vec<Value> = (0..25_000)
        .map(|i| json!({"email": format!("Person{i}@ACME.COM"), "name": format!("P{i}")}))
        .collect();
    insert(&app, &contacts, Value::Array(rows), &[]).await;
    let left = |records: &Value| records["data"]["records"].as_array().map_or(usize::MAX, Vec::len);
    let mut upper = Value::Null;
    for _ in 0..1_200 {
        let q = urlencode(r#"email like "%ACME%""#);
        upper = app
            .get_json(&format!("/sheets/{contacts}/records?q={q}&pageSize=1"))
            .await
            .1;
        if left(&upper) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        left(&upper),
        0,
        "emails left upper case: {upper}\n{}",
        listener.output()
    );
    let (_, last) = app
        .get_json(&format!(
            "/sheets/{contacts}/records?pageSize=1&pageNumber=25000&includeCounts=true"
        ))
        .await;
    assert_eq!(
        last["data"]["records"][0]["values"]["email"]["value"],
        "person24999@acme.com"
    );
    assert_eq!(last["data"]["counts"]["total"], 25_000, "{last}");
    let commits = commits_created(&app, &contacts).await;
    assert_eq!(commits.len(), 3, "{commits:?}");
    for commit in commits {
        let id = commit["context"]["commitId"].as_str().unwrap();
        let (_, found) = app.get_json(&format!("/commits/{id}")).await;
        assert!(found["data"]["completedAt"].is_string(), "{found}");
    }
}

on_both!(a_record_hook_answers_every_commit_of_a_big_write);

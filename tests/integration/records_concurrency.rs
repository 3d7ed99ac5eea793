//! Many writers at once: no request fails because another is writing, unique stays
//! enforced, and the kept counts always equal the records that are there.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn contacts_sheet(app: &TestApp) -> String {
    let space = app.space_from_blueprint().await;
    app.sheet_id(&space, "contacts").await
}

/// Every record of a sheet, read page by page.
pub async fn all_records(app: &TestApp, sheet: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let (status, body) = app
            .get_json(&format!(
                "/sheets/{sheet}/records?pageSize=1000&pageNumber={page}"
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        let records = body["data"]["records"].as_array().expect("records").clone();
        if records.is_empty() {
            break;
        }
        out.extend(records);
    }
    out
}

/// Asserts the sheet's kept counts equal what its records say.
pub async fn assert_counts_match(app: &TestApp, sheet: &str) -> i64 {
    let records = all_records(app, sheet).await;
    let mut by_field: BTreeMap<String, i64> = BTreeMap::new();
    let mut errors = 0;
    for r in &records {
        if r["valid"] == false {
            errors += 1;
        }
        for (key, cell) in r["values"].as_object().expect("values") {
            let has_error = cell["messages"]
                .as_array()
                .is_some_and(|ms| ms.iter().any(|m| m["type"] == "error"));
            if has_error {
                *by_field.entry(key.clone()).or_default() += 1;
            }
        }
    }
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    let c = &counts["data"]["counts"];
    assert_eq!(c["total"].as_i64(), Some(records.len() as i64), "total: {c}");
    assert_eq!(c["error"].as_i64(), Some(errors), "error: {c}");
    assert_eq!(
        c["valid"].as_i64(),
        Some(records.len() as i64 - errors),
        "valid: {c}"
    );
    let kept: BTreeMap<String, i64> = serde_json::from_value(c["errorsByField"].clone()).expect("map");
    assert_eq!(kept, by_field, "errorsByField");
    records.len() as i64
}

/// One client's loop: insert 100, update 10 of them, read a page with counts, delete 10.
async fn writer_loop(
    app: Arc<TestApp>,
    sheet: String,
    client: usize,
    until: Instant,
) -> (usize, Vec<String>) {
    let path = format!("/sheets/{sheet}/records");
    let mut requests = 0;
    let mut failures = Vec::new();
    let mut round = 0;
    let mut check = |status: u16, body: &Value, what: &str| {
        requests += 1;
        if status != 200 {
            failures.push(format!("{what}: {status} {body}"));
        }
    };
    while Instant::now() < until {
        round += 1;
        // Emails repeat across clients, so unique checks run against each other's writes.
        let batch: Vec<Value> = (0..100)
            .map(|i| json!({"email": {"value": format!("p{}@x.io", (i + round) % 150)}, "name": {"value": format!("c{client}")}}))
            .collect();
        let (status, body) = app.post_json(&path, &json!(batch)).await;
        check(status, &body, "insert");
        let ids: Vec<String> = body["data"]["records"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .map(|r| r["id"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
        if ids.len() < 20 {
            continue;
        }
        let updates: Vec<Value> = ids[..10]
            .iter()
            .map(|id| json!({"id": id, "values": {"email": {"value": format!("u{client}-{round}-{id}@x.io")}}}))
            .collect();
        let (status, body) = app.put_json(&path, &json!(updates)).await;
        check(status, &body, "update");
        let (status, body) = app
            .get_json(&format!("{path}?pageSize=50&includeCounts=true"))
            .await;
        check(status, &body, "read");
        let (status, body) = app.delete(&format!("{path}?ids={}", ids[10..20].join(","))).await;
        check(status, &body, "delete");
    }
    (requests, failures)
}

async fn concurrent_writers_never_fail_and_counts_stay_exact(db: Db) {
    let app = Arc::new(spawn_app(db).await);
    let sheet = contacts_sheet(&app).await;
    let until = Instant::now() + Duration::from_secs(3);
    let tasks: Vec<_> = (0..8)
        .map(|c| tokio::spawn(writer_loop(app.clone(), sheet.clone(), c, until)))
        .collect();
    let mut requests = 0;
    let mut failures = Vec::new();
    for t in tasks {
        let (n, f) = t.await.expect("client task");
        requests += n;
        failures.extend(f);
    }
    assert!(requests > 8, "the clients made requests ({requests})");
    assert!(
        failures.is_empty(),
        "{} of {requests} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert_counts_match(&app, &sheet).await;
}

async fn parallel_updates_of_one_record_all_succeed(db: Db) {
    let app = Arc::new(spawn_app(db).await);
    let sheet = contacts_sheet(&app).await;
    let path = format!("/sheets/{sheet}/records");
    let (_, body) = app
        .post_json(&path, &json!([{"email": {"value": "a@x.io"}}]))
        .await;
    let id = body["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (app, path, id) = (app.clone(), path.clone(), id.clone());
            tokio::spawn(async move {
                app.put_json(
                    &path,
                    &json!([{"id": id, "values": {"name": {"value": format!("n{i}")}}}]),
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        let (status, body) = t.await.expect("task");
        assert_eq!(status, 200, "{body}");
    }
    let records = all_records(&app, &sheet).await;
    assert_eq!(records.len(), 1);
    // Created as version 1; each of the 20 updates applied once.
    assert_eq!(records[0]["versionId"], "us_vr_21");
    assert_counts_match(&app, &sheet).await;
}

async fn unique_holds_between_parallel_inserts(db: Db) {
    let app = spawn_app(db).await;
    let sheet = contacts_sheet(&app).await;
    let path = format!("/sheets/{sheet}/records");
    for round in 0..30 {
        let body = json!([{"email": {"value": format!("same{round}@x.io")}}]);
        let (a, b) = tokio::join!(app.post_json(&path, &body), app.post_json(&path, &body));
        assert_eq!((a.0, b.0), (200, 200));
    }
    let records = all_records(&app, &sheet).await;
    assert_eq!(records.len(), 60);
    let still_valid: Vec<&Value> = records.iter().filter(|r| r["valid"] == true).collect();
    assert!(
        still_valid.is_empty(),
        "duplicates left valid: {}",
        still_valid.len()
    );
    assert_counts_match(&app, &sheet).await;
}

async fn errors_by_field_counts_every_parallel_duplicate(db: Db) {
    let app = Arc::new(spawn_app(db).await);
    let sheet = contacts_sheet(&app).await;
    let path = format!("/sheets/{sheet}/records");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, path) = (app.clone(), path.clone());
            tokio::spawn(async move {
                app.post_json(&path, &json!([{"email": {"value": "dup@x.io"}}]))
                    .await
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("task").0, 200);
    }
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["errorsByField"]["email"], 20, "{counts}");
    assert_counts_match(&app, &sheet).await;
}

on_both!(
    concurrent_writers_never_fail_and_counts_stay_exact,
    parallel_updates_of_one_record_all_succeed,
    unique_holds_between_parallel_inserts,
    errors_by_field_counts_every_parallel_duplicate,
);

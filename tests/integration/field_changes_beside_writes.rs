//! Field changes beside record writes: a write prepared on the fields as they were is made
//! again on the fields as they are (no 409 for a change the writer never saw), and a field
//! change never deadlocks with the re-checks that earlier changes queued.

use crate::helpers::*;
use crate::on_both;
use crate::records_concurrency::assert_counts_match;
use serde_json::{json, Value};
use std::sync::Arc;

/// Waits until no job of the space is waiting or running.
async fn jobs_settled(app: &TestApp, space: &str) {
    for _ in 0..600 {
        let (_, jobs) = app
            .get_json(&format!("/jobs?spaceId={space}&pageSize=1000"))
            .await;
        let busy = jobs["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| matches!(j["status"].as_str(), Some("ready" | "executing" | "planning")));
        if !busy {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("jobs still running");
}

async fn writes_beside_field_changes_all_succeed(db: Db) {
    let app = Arc::new(spawn_app(db).await);
    let space = app.space_from_blueprint().await;
    let space_id = space["id"].as_str().unwrap().to_string();
    let sheet = app.sheet_id(&space, "contacts").await;
    let path = format!("/sheets/{sheet}/records");
    let seed: Vec<Value> = (0..60).map(|i| json!({"email": format!("s{i}@x.io")})).collect();
    let (_, body) = app.post_json(&path, &json!(seed)).await;
    let ids: Vec<String> = body["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();

    let mut writers = Vec::new();
    for w in 0..2 {
        let (app, path) = (app.clone(), path.clone());
        writers.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for b in 0..8 {
                let rows: Vec<Value> = (0..20)
                    .map(|i| json!({"email": format!("w{w}b{b}i{i}@x.io"), "name": "New"}))
                    .collect();
                statuses.push(app.post_json(&path, &json!(rows)).await);
            }
            statuses
        }));
    }
    {
        let (app, path, ids) = (app.clone(), path.clone(), ids.clone());
        writers.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for (n, id) in ids[..20].iter().enumerate() {
                let update = json!([{"id": id, "values": {"name": {"value": format!("n{n}")}}}]);
                statuses.push(app.put_json(&path, &update).await);
            }
            statuses
        }));
    }
    {
        let (app, path, ids) = (app.clone(), path.clone(), ids.clone());
        writers.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for id in &ids[40..50] {
                statuses.push(app.delete(&format!("{path}?ids={id}")).await);
            }
            for _ in 0..4 {
                statuses.push(
                    app.patch_json(
                        &format!("{path}/bulk-update?searchValue=New"),
                        &json!({"fieldUpdates": {"name": "Bulk"}}),
                    )
                    .await,
                );
            }
            statuses
        }));
    }
    // Meanwhile fields come and go, at the end and at the front.
    for (n, at) in [None, Some(0), None].into_iter().enumerate() {
        let mut field = json!({"key": format!("extra{n}"), "type": "string", "label": format!("Extra {n}")});
        if let Some(at) = at {
            field["insertAtIndex"] = json!(at);
        }
        let (status, body) = app.post_json(&format!("/sheets/{sheet}/fields"), &field).await;
        assert_eq!(status, 200, "{body}");
    }
    for n in 0..3 {
        let (status, body) = app.delete(&format!("/sheets/{sheet}/fields/extra{n}")).await;
        assert_eq!(status, 200, "{body}");
    }
    for w in writers {
        for (status, body) in w.await.expect("writer") {
            assert_eq!(status, 200, "{body}");
        }
    }
    jobs_settled(&app, &space_id).await;
    let total = assert_counts_match(&app, &sheet).await;
    assert_eq!(total, 60 + 2 * 8 * 20 - 10);
    let (_, named) = app
        .get_json(&format!("{path}?searchValue=n19&searchField=name"))
        .await;
    assert_eq!(named["data"]["records"].as_array().unwrap().len(), 1, "{named}");
}

/// A reference added to another sheet while re-checks of this one wait: removing a field
/// (or asking for one the sheet lacks) answers at once, never "busy" from a deadlock.
async fn field_changes_do_not_deadlock_with_rechecks(db: Db) {
    let app = spawn_app(db).await;
    for round in 0..5 {
        let space = app.space_from_blueprint().await;
        let contacts = app.sheet_id(&space, "contacts").await;
        let companies = app.sheet_id(&space, "companies").await;
        app.post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": "a@x.io", "name": "Ada"}, {"email": "b@x.io", "name": "Bo"}]),
        )
        .await;
        for key in ["c", "d", "u"] {
            let (status, body) = app
                .post_json(
                    &format!("/sheets/{contacts}/fields"),
                    &json!({"key": key, "type": "string"}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        let reference = json!({"key": "contact", "type": "reference",
                               "config": {"ref": "contacts", "key": "email", "relationship": "has-one"}});
        let (status, body) = app
            .post_json(&format!("/sheets/{companies}/fields"), &reference)
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = app.delete(&format!("/sheets/{contacts}/fields/zz")).await;
        assert_eq!(status, 404, "round {round}: {body}");
        let (status, body) = app.delete(&format!("/sheets/{contacts}/fields/c")).await;
        assert_eq!(status, 200, "round {round}: {body}");
    }
}

/// The grid's cell saves, column changes and added rows are made again on the fields as they are when a
/// field change overtakes them, as the API's writes are: none is refused for a change the
/// person never saw (it was 409 "reload and try again", and the typed value was lost).
async fn grid_writes_beside_field_changes_all_succeed(db: Db) {
    let app = Arc::new(spawn_app(db).await);
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let seed: Vec<Value> = (0..40).map(|i| json!({"email": format!("g{i}@x.io")})).collect();
    let (_, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(seed))
        .await;
    let ids: Vec<String> = body["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    let send = |method: reqwest::Method, path: String, form: Vec<(&'static str, String)>| {
        let (app, csrf) = (app.clone(), csrf.clone());
        async move {
            let resp = app
                .client
                .request(method, app.url(&path))
                .header("hx-request", "true")
                .header("x-csrf-token", csrf)
                .form(&form)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    let saves = ids.iter().enumerate().map(|(n, id)| {
        let form = vec![
            ("field", "name".to_string()),
            ("value", format!("n{n}")),
            ("version", String::new()),
        ];
        send(reqwest::Method::PUT, format!("/grid/{sheet}/records/{id}"), form)
    });
    let bulks = (0..8).map(|n| {
        let form = vec![
            ("op", "set".to_string()),
            ("column", "name".to_string()),
            ("value", format!("b{n}")),
            ("q", "email like \"g1%\"".to_string()),
        ];
        send(reqwest::Method::POST, format!("/grid/{sheet}/bulk"), form)
    });
    let rows = (0..8).map(|_| send(reqwest::Method::POST, format!("/grid/{sheet}/rows"), vec![]));
    let writes = async {
        let (saves, bulks, rows) = tokio::join!(
            futures_util::future::join_all(saves),
            futures_util::future::join_all(bulks),
            futures_util::future::join_all(rows)
        );
        saves.into_iter().chain(bulks).chain(rows).collect::<Vec<_>>()
    };
    let changes = async {
        for n in 0..6 {
            let field = json!({"key": format!("g{n}"), "type": "string"});
            let (status, body) = app.post_json(&format!("/sheets/{sheet}/fields"), &field).await;
            assert_eq!(status, 200, "{body}");
            let (status, body) = app.delete(&format!("/sheets/{sheet}/fields/g{n}")).await;
            assert_eq!(status, 200, "{body}");
        }
    };
    let (written, ()) = tokio::join!(writes, changes);
    for (status, body) in written {
        assert_eq!(status, 200, "{body}");
    }
    assert_counts_match(&app, &sheet).await;
}

/// A field change sent while a re-check runs goes in at the re-check's next batch; the
/// re-check stops there, as the later change's own re-check checks every record (probe
/// 63a D2: on PostgreSQL the change waited for every record to be checked, behind the
/// sheet's index builds, which took their lock again the moment each ended).
async fn a_field_change_overtakes_a_running_recheck(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let fields = format!("/sheets/{sheet}/fields");
    for key in ["o1", "o2"] {
        let (status, body) = app
            .post_json(&fields, &json!({"key": key, "type": "string"}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // Enough records for a re-check of many batches of about half a second each.
    for part in 0..12 {
        let rows: Vec<Value> = (0..5000)
            .map(|i| json!({"email": format!("p{part}r{i}@x.io"), "age": i}))
            .collect();
        let (status, body) = app
            .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let space_id = space["id"].as_str().unwrap();
    jobs_settled(&app, space_id).await;
    let (status, body) = app.delete(&format!("{fields}/o1")).await;
    assert_eq!(status, 200, "{body}");
    let recheck = |jobs: &Value| -> Option<Value> {
        jobs["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["operation"] == "recheck-records" && j["status"] != "complete")
            .cloned()
    };
    // Its re-check runs, with most of the sheet left.
    let mut first = None;
    for _ in 0..600 {
        let (_, jobs) = app
            .get_json(&format!("/jobs?spaceId={space_id}&pageSize=1000"))
            .await;
        if let Some(job) = recheck(&jobs) {
            let progress = job["progress"].as_i64().unwrap_or(0);
            assert!(progress < 70, "the re-check ran ahead of the test: {job}");
            if job["status"] == "executing" {
                first = Some(job["id"].as_str().unwrap().to_string());
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let first = first.expect("the re-check never got going");
    let (status, body) = app.delete(&format!("{fields}/o2")).await;
    assert_eq!(status, 200, "{body}");
    let done = app.wait_job(&first).await;
    let said = done["outcome"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(said.contains("then stopped"), "{done}");
    jobs_settled(&app, space_id).await;
    assert_counts_match(&app, &sheet).await;
}

on_both!(
    a_field_change_overtakes_a_running_recheck,
    grid_writes_beside_field_changes_all_succeed,
    writes_beside_field_changes_all_succeed,
    field_changes_do_not_deadlock_with_rechecks,
);

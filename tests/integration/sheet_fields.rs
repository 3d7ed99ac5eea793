//! `sheets.addField` and `sheets.removeField`: fields change with the records in step, and
//! a `sheet:recheck-records` job re-checks every record with counts true at every moment.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

async fn counts(app: &TestApp, sheet: &str) -> Value {
    let (_, c) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    c["data"]["counts"].clone()
}

async fn insert(app: &TestApp, sheet: &str, rows: &[Value]) -> Vec<String> {
    let (status, body) = send(
        app.api(reqwest::Method::POST, &format!("/sheets/{sheet}/records"))
            .header("x-disable-hooks", "true")
            .json(rows),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every record of the sheet, in id order.
async fn all_records(app: &TestApp, sheet: &str, filter: &str) -> Vec<Value> {
    let (status, page) = app
        .get_json(&format!("/sheets/{sheet}/records?pageSize=50000{filter}"))
        .await;
    assert_eq!(status, 200, "{page}");
    page["data"]["records"].as_array().unwrap().clone()
}

fn has_error(record: &Value, key: &str) -> bool {
    record["values"][key]["messages"]
        .as_array()
        .is_some_and(|ms| ms.iter().any(|m| m["type"] == "error"))
}

/// The recheck job a field change queued.
async fn recheck_job(app: &TestApp, sheet: &str) -> String {
    let (_, jobs) = app.get_json("/jobs?pageSize=100").await;
    jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["operation"] == "recheck-records" && j["source"] == sheet)
        .map(|j| j["id"].as_str().unwrap().to_string())
        .next()
        .expect("a recheck-records job for the sheet")
}

async fn job_status(app: &TestApp, id: &str) -> String {
    let (_, job) = app.get_json(&format!("/jobs/{id}")).await;
    job["data"]["status"].as_str().unwrap().to_string()
}

async fn a_required_field_added_marks_every_record_with_counts_true_throughout(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows: Vec<Value> = (0..12_000)
        .map(|i| json!({"email": format!("p{i}@x.io"), "age": i % 100}))
        .collect();
    insert(&app, &sheet, &rows).await;
    assert_eq!(counts(&app, &sheet).await["error"], 0);

    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/fields"),
            &json!({"key": "country", "type": "string", "label": "Country",
                    "constraints": [{"type": "required"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["key"], "country");
    let job = recheck_job(&app, &sheet).await;

    // While the job runs, whenever the counts did not move around a read of the records,
    // they say what the records say.
    let mut samples = 0;
    loop {
        let running = job_status(&app, &job).await != "complete";
        let before = counts(&app, &sheet).await;
        let errors = all_records(&app, &sheet, "&filter=error").await;
        let after = counts(&app, &sheet).await;
        if before == after {
            samples += 1;
            assert_eq!(after["error"], errors.len(), "{after}");
            let country = errors.iter().filter(|r| has_error(r, "country")).count();
            assert_eq!(
                after["errorsByField"]["country"].as_u64().unwrap_or(0),
                country as u64
            );
            assert_eq!(after["total"], 12_000);
        }
        if !running {
            break;
        }
    }
    assert!(samples > 0);
    let done = app.wait_job(&job).await;
    assert_eq!(done["status"], "complete", "{done}");
    let c = counts(&app, &sheet).await;
    assert_eq!(c["error"], 12_000, "{c}");
    assert_eq!(c["errorsByField"]["country"], 12_000, "{c}");
    let (_, got) = app.get_json(&format!("/sheets/{sheet}")).await;
    let fields = got["data"]["config"]["fields"].as_array().unwrap();
    assert_eq!(fields.last().unwrap()["key"], "country");
}

/// A unique field added to a sheet with records: every record holds it empty, so each is
/// flagged (empty cells take part unless `ignoreEmpty`), the counts say so, and filling the
/// cells with distinct values clears them all; with `ignoreEmpty` none is flagged.
async fn a_unique_field_added_checks_the_empty_cells_already_there(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows: Vec<Value> = (0..3).map(|i| json!({"email": format!("p{i}@x.io")})).collect();
    let ids = insert(&app, &sheet, &rows).await;
    for (key, ignore_empty) in [("badge", false), ("locker", true)] {
        let (status, body) = app
            .post_json(
                &format!("/sheets/{sheet}/fields"),
                &json!({"key": key, "type": "string",
                        "constraints": [{"type": "unique", "config": {"ignoreEmpty": ignore_empty}}]}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        wait_rechecks(&app, &sheet).await;
    }
    let c = counts(&app, &sheet).await;
    assert_eq!(c["errorsByField"]["badge"], 3, "{c}");
    assert_eq!(c["errorsByField"].get("locker"), None, "{c}");
    assert_eq!(c["error"], 3, "{c}");
    let flagged = all_records(&app, &sheet, "").await;
    assert!(flagged.iter().all(|r| has_error(r, "badge")));
    // Records added afterwards hold the same empty value, and are flagged alike.
    insert(&app, &sheet, &[json!({"email": "late@x.io"})]).await;
    assert_eq!(counts(&app, &sheet).await["errorsByField"]["badge"], 4);
    let updates: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| json!({"id": id, "values": {"badge": {"value": format!("B{i}")}}}))
        .collect();
    let (status, body) = send(
        app.api(reqwest::Method::PUT, &format!("/sheets/{sheet}/records"))
            .json(&updates),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let c = counts(&app, &sheet).await;
    // Only the late record is left empty, alone now.
    assert_eq!(c["error"], 0, "{c}");
}

/// Waits for every recheck job of the sheet to complete.
async fn wait_rechecks(app: &TestApp, sheet: &str) {
    let (_, jobs) = app.get_json("/jobs?pageSize=100").await;
    for job in jobs["data"].as_array().unwrap() {
        if job["operation"] == "recheck-records" && job["source"] == sheet {
            let done = app.wait_job(job["id"].as_str().unwrap()).await;
            assert_eq!(done["status"], "complete", "{done}");
        }
    }
}

fn people_workbook(app: &TestApp, space: &str) -> Value {
    json!({"name": "People", "spaceId": space, "environmentId": app.env_id, "sheets": [
        {"name": "People", "slug": "people", "fields": [
            {"key": "a", "type": "string"},
            {"key": "code", "type": "string", "constraints": [{"type": "unique"}]},
            {"key": "b", "type": "number"},
            {"key": "email", "type": "string", "constraints": [{"type": "unique"}]},
            {"key": "c", "type": "string", "constraints": [{"type": "required"}]}
        ]}
    ]})
}

async fn removing_a_field_keeps_later_values_in_place_and_counts_right(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Removal").await;
    let (status, wb) = app.post_json("/workbooks", &people_workbook(&app, &space)).await;
    assert_eq!(status, 200, "{wb}");
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    // Valid records first, so the re-check reaches the ones looked at here last.
    let filler: Vec<Value> = (0..FILLER)
        .map(|i| json!({"a": "f", "code": format!("F{i}"), "b": i, "email": format!("f{i}@x.io"), "c": "c"}))
        .collect();
    insert(&app, &sheet, &filler).await;
    let ids = insert(
        &app,
        &sheet,
        &[
            json!({"a": "x1", "code": "DUP", "b": 1, "email": "one@x.io", "c": "c1"}),
            json!({"a": "x2", "code": "DUP", "b": "lots", "email": "two@x.io", "c": "c2"}),
            json!({"a": "x3", "code": "U3", "b": 3, "email": "three@x.io"}),
        ],
    )
    .await;
    let c = counts(&app, &sheet).await;
    assert_eq!(c["error"], 3, "{c}");
    assert_eq!(c["errorsByField"]["code"], 2, "{c}");

    let (status, body) = app.delete(&format!("/sheets/{sheet}/fields/code")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["success"], true);
    // At once, most likely before the re-check reaches the records above: the unique field
    // after the removed one still finds its duplicates (its kept keys moved with it).
    let added = insert(
        &app,
        &sheet,
        &[json!({"a": "x4", "email": "one@x.io", "c": "c4"})],
    )
    .await;
    let (_, first) = app
        .get_json(&format!("/sheets/{sheet}/records?ids={}", ids[0]))
        .await;
    assert!(has_error(&first["data"]["records"][0], "email"), "{first}");
    let ours = |all: Vec<Value>| -> Vec<Value> {
        let ours: Vec<Value> = all
            .into_iter()
            .filter(|r| r["values"]["a"]["value"] != "f")
            .collect();
        assert_eq!(ours.len(), 4);
        ours
    };
    // The values of later fields in their columns, the duplicates of the removed field no
    // longer flagged, the counts what the records say.
    let check = |records: Vec<Value>| {
        assert!(records.iter().all(|r| r["values"].get("code").is_none()));
        assert_eq!(records[0]["values"]["a"]["value"], "x1");
        assert_eq!(records[0]["values"]["b"]["value"], 1);
        assert_eq!(records[0]["values"]["email"]["value"], "one@x.io");
        assert_eq!(records[0]["values"]["c"]["value"], "c1");
        assert!(has_error(&records[0], "email"), "{}", records[0]);
        assert_eq!(records[1]["values"]["b"]["value"], "lots");
        assert!(has_error(&records[1], "b"), "{}", records[1]);
        assert_eq!(records[1]["values"]["c"]["value"], "c2");
        assert_eq!(records[1]["valid"], false);
        assert!(!has_error(&records[1], "c"));
        assert!(has_error(&records[2], "c"), "{}", records[2]);
        assert!(!has_error(&records[2], "email"));
        assert_eq!(records[3]["id"], added[0]);
        assert!(has_error(&records[3], "email"), "{}", records[3]);
    };
    check(ours(all_records(&app, &sheet, "").await));
    let c = counts(&app, &sheet).await;
    assert_eq!(c["error"], 4, "{c}");
    assert_eq!(c["errorsByField"], json!({"b": 1, "c": 1, "email": 2}), "{c}");
    let job = recheck_job(&app, &sheet).await;
    assert_eq!(app.wait_job(&job).await["status"], "complete");
    check(ours(all_records(&app, &sheet, "").await));
    assert_eq!(counts(&app, &sheet).await, c);
    // The removed field's values are gone from search.
    assert_eq!(all_records(&app, &sheet, "&searchValue=DUP").await.len(), 0);
    assert_eq!(all_records(&app, &sheet, "&searchValue=two@x").await.len(), 1);

    // Editing a record writes the new shape.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": ids[2], "values": {"c": "c3"}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let records = ours(all_records(&app, &sheet, "").await);
    assert_eq!(records[2]["values"]["c"]["value"], "c3");
    assert_eq!(records[2]["values"]["email"]["value"], "three@x.io");
    assert_eq!(records[2]["valid"], true);
}

/// Valid records written before the ones a removal test looks at.
const FILLER: usize = 12_000;

async fn a_reference_the_last_field_or_an_unknown_one_blocks_removal(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let companies = app.sheet_id(&space, "companies").await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let (status, body) = app.delete(&format!("/sheets/{companies}/fields/code")).await;
    assert_eq!(status, 422, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("company") && message.contains("Contacts"),
        "{message}"
    );
    let (_, got) = app.get_json(&format!("/sheets/{companies}")).await;
    assert_eq!(got["data"]["config"]["fields"].as_array().unwrap().len(), 2);

    let (status, body) = app.delete(&format!("/sheets/{contacts}/fields/nope")).await;
    assert_eq!(status, 404, "{body}");
    // The reference itself may go; then its target may too.
    let (status, body) = app.delete(&format!("/sheets/{contacts}/fields/company")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.delete(&format!("/sheets/{companies}/fields/code")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.delete(&format!("/sheets/{companies}/fields/name")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("only field"));
}

async fn writers_during_a_recheck_lose_nothing(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows: Vec<Value> = (0..12_000)
        .map(|i| json!({"email": format!("p{i}@x.io")}))
        .collect();
    let ids = insert(&app, &sheet, &rows).await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/fields"),
            &json!({"key": "country", "type": "string", "constraints": [{"type": "required"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let job = recheck_job(&app, &sheet).await;

    // Four writers fill in the new field on records spread over the sheet while it runs.
    let mut writers = Vec::new();
    for w in 0..4usize {
        let (client, key) = (new_client(), app.key.clone());
        let url = app.url(&format!("/v1/sheets/{sheet}/records"));
        let mine: Vec<String> = ids.iter().skip(w).step_by(400).cloned().collect();
        writers.push(tokio::spawn(async move {
            let mut saved = Vec::new();
            for id in mine {
                let (status, body) = send(
                    client
                        .put(&url)
                        .bearer_auth(&key)
                        .json(&json!([{"id": id, "values": {"country": format!("C-{id}")}}])),
                )
                .await;
                match status {
                    200 => saved.push(id),
                    409 | 503 => {}
                    other => panic!("{other}: {body}"),
                }
            }
            saved
        }));
    }
    let mut saved = Vec::new();
    for w in writers {
        saved.extend(w.await.unwrap());
    }
    assert_eq!(app.wait_job(&job).await["status"], "complete");
    assert!(saved.len() > 100, "most saves went through: {}", saved.len());
    let records = all_records(&app, &sheet, "").await;
    let by_id: std::collections::HashMap<&str, &Value> =
        records.iter().map(|r| (r["id"].as_str().unwrap(), r)).collect();
    for id in &saved {
        let r = by_id[id.as_str()];
        assert_eq!(r["values"]["country"]["value"], format!("C-{id}"), "{r}");
        assert_eq!(r["valid"], true, "{r}");
    }
    let c = counts(&app, &sheet).await;
    assert_eq!(c["error"], 12_000 - saved.len(), "{c}");
    assert_eq!(c["errorsByField"]["country"], 12_000 - saved.len(), "{c}");
}

/// Two field changes queue two re-checks; the first stops at its next batch, since the
/// second checks every record against both, and the counts are those of both fields.
async fn a_later_field_change_overtakes_a_waiting_recheck(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows: Vec<Value> = (0..12_000)
        .map(|i| json!({"email": format!("p{i}@x.io")}))
        .collect();
    insert(&app, &sheet, &rows).await;
    for key in ["country", "region"] {
        let field = json!({"key": key, "type": "string", "constraints": [{"type": "required"}]});
        let (status, body) = app.post_json(&format!("/sheets/{sheet}/fields"), &field).await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, listed) = app
        .get_json(&format!("/jobs?source={sheet}&sortDirection=asc"))
        .await;
    let jobs: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["operation"] == "recheck-records")
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(jobs.len(), 2, "{listed}");
    // A process with workers takes them up: the older first.
    let mut settings = app.settings.clone();
    settings.job_workers = 2;
    let worker = wharf::app::Application::build(settings).expect("worker process");
    tokio::spawn(worker.run_until_stopped());
    let last = app.wait_job(jobs[1]).await;
    assert_eq!(last["status"], "complete", "{last}");
    let message = last["outcome"]["message"].as_str().unwrap().to_string();
    assert!(message.starts_with("Checked 12,000 records"), "{message}");
    let overtaken = app.wait_job(jobs[0]).await;
    assert_eq!(overtaken["status"], "complete", "{overtaken}");
    let message = overtaken["outcome"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("a later re-check (job {}", jobs[1])),
        "{message}"
    );
    let c = counts(&app, &sheet).await;
    assert_eq!(c["error"], 12_000, "{c}");
    assert_eq!(c["errorsByField"]["country"], 12_000, "{c}");
    assert_eq!(c["errorsByField"]["region"], 12_000, "{c}");
}

on_both!(
    a_later_field_change_overtakes_a_waiting_recheck,
    a_required_field_added_marks_every_record_with_counts_true_throughout,
    a_unique_field_added_checks_the_empty_cells_already_there,
    removing_a_field_keeps_later_values_in_place_and_counts_right,
    a_reference_the_last_field_or_an_unknown_one_blocks_removal,
    writers_during_a_recheck_lose_nothing
);

/// How long removing a field holds a sheet of 100,000 records (the request is the one
/// transaction), and how long the re-check after it takes. Not part of the suite:
/// `cargo test --test integration removal_at_100k -- --ignored --nocapture`.
async fn removal_at_100k(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Big").await;
    let (_, wb) = app.post_json("/workbooks", &people_workbook(&app, &space)).await;
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    for part in 0..2 {
        let rows: Vec<Value> = (0..50_000)
            .map(|i| {
                let n = part * 50_000 + i;
                json!({"a": format!("a{n}"), "code": format!("C{}", n % 90_000), "b": n,
                       "email": format!("p{n}@x.io"), "c": if n % 10 == 0 { json!(null) } else { json!("c") }})
            })
            .collect();
        insert(&app, &sheet, &rows).await;
    }
    let start = std::time::Instant::now();
    let (status, body) = app.delete(&format!("/sheets/{sheet}/fields/code")).await;
    assert_eq!(status, 200, "{body}");
    let held = start.elapsed();
    let job = recheck_job(&app, &sheet).await;
    let start = std::time::Instant::now();
    assert_eq!(app.wait_job(&job).await["status"], "complete");
    eprintln!(
        "{db:?}: removeField at 100,000 records held the sheet {held:?}; the re-check took {:?}",
        start.elapsed()
    );
    let c = counts(&app, &sheet).await;
    assert_eq!(c["error"], 10_000, "{c}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn removal_at_100k_sqlite() {
    removal_at_100k(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn removal_at_100k_postgres() {
    removal_at_100k(Db::Postgres).await
}

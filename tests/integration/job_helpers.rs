//! What the job tests share: a source extracted from a CSV, a destination, a mapping's
//! body, waits for a job's status or its first writes, and a guest of a space.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// An extracted CSV of `rows` people (unique emails); returns the `[file]` workbook and sheet.
pub(crate) async fn extracted(app: &TestApp, space: &str, rows: usize) -> (String, String) {
    let mut csv = String::from("Email,Name\n");
    for i in 0..rows {
        csv.push_str(&format!("user{i}@x.org,Person {i}\n"));
    }
    let file = app
        .upload_and_extract(space, "people.csv", csv.into_bytes())
        .await;
    assert_eq!(file["status"], "complete", "{file}");
    let wb = file["workbookId"].as_str().unwrap().to_string();
    let (_, w) = app.get_json(&format!("/workbooks/{wb}")).await;
    let sheet = w["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    (wb, sheet)
}

/// A destination workbook with a unique email field; returns it and its sheet.
pub(crate) async fn destination(app: &TestApp, space: &str) -> (String, String) {
    let (status, dest) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Target", "spaceId": space, "sheets": [{"name": "People", "slug": "people",
                "fields": [{"key": "email", "type": "string", "label": "Email", "constraints": [{"type": "unique"}]},
                           {"key": "name", "type": "string", "label": "Name"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{dest}");
    (
        dest["data"]["id"].as_str().unwrap().to_string(),
        dest["data"]["sheets"][0]["id"].as_str().unwrap().to_string(),
    )
}

pub(crate) fn map_body(src_wb: &str, src_sheet: &str, dst_wb: &str, dst_sheet: &str, trigger: &str) -> Value {
    json!({"type": "workbook", "operation": "map", "source": src_wb, "destination": dst_wb,
           "trigger": trigger, "config": {"sourceSheetId": src_sheet, "destinationSheetId": dst_sheet}})
}

/// Creates a mapping job (it must be accepted); returns its id.
pub(crate) async fn start_mapping(app: &TestApp, body: Value) -> String {
    let (status, job) = app.post_json("/jobs", &body).await;
    assert_eq!(status, 200, "{job}");
    job["data"]["id"].as_str().unwrap().to_string()
}

pub(crate) async fn wait_status(app: &TestApp, job: &str, wanted: &[&str]) -> Value {
    let start = Instant::now();
    let mut last = Value::Null;
    while start.elapsed() < Duration::from_secs(120) {
        let (_, j) = app.get_json(&format!("/jobs/{job}")).await;
        if wanted.contains(&j["data"]["status"].as_str().unwrap_or("")) {
            return j["data"].clone();
        }
        last = j;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("job {job} never reached {wanted:?}: {last}");
}

/// Waits until a job is executing with some progress (a batch or more written).
pub(crate) async fn wait_running(app: &TestApp, job: &str) {
    let start = Instant::now();
    let mut last = Value::Null;
    while start.elapsed() < Duration::from_secs(120) {
        let (_, j) = app.get_json(&format!("/jobs/{job}")).await;
        let status = j["data"]["status"].as_str().unwrap_or("").to_string();
        assert!(
            !["complete", "failed", "canceled"].contains(&status.as_str()),
            "{j}"
        );
        if status == "executing" && j["data"]["progress"].as_i64().unwrap_or(0) > 1 {
            return;
        }
        last = j;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("job {job} never ran: {last}");
}

pub(crate) async fn counts(app: &TestApp, sheet: &str) -> Value {
    let (_, c) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    c["data"]["counts"].clone()
}

/// Waits until a mapping is executing and its destination holds records (its own, or an
/// earlier attempt's being taken back). Progress is said at most every 250 ms, so a retry of
/// 60,000 records can end between two reports: the records show the writes sooner.
pub(crate) async fn wait_writing(app: &TestApp, job: &str, sheet: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(120) {
        let (_, j) = app.get_json(&format!("/jobs/{job}")).await;
        let status = j["data"]["status"].as_str().unwrap_or("");
        assert!(!["complete", "failed", "canceled"].contains(&status), "{j}");
        if status == "executing" && counts(app, sheet).await["total"].as_i64().unwrap_or(0) > 0 {
            return;
        }
    }
    panic!("job {job} wrote nothing in 120 s");
}

/// A CSV uploaded into `space` with a guest's `token`: the status, and the file answered.
pub(crate) async fn guest_upload(app: &TestApp, token: &str, space: &str, csv: &[u8]) -> (u16, Value) {
    let form = reqwest::multipart::Form::new()
        .text("spaceId", space.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.to_vec()).file_name("g.csv"),
        );
    send(
        app.client
            .post(app.url("/v1/files"))
            .bearer_auth(token)
            .multipart(form),
    )
    .await
}

/// A guest token, for `space` only.
pub(crate) async fn guest_token(app: &TestApp, space: &str) -> String {
    guest_token_as(app, space, "g@x.org").await
}

/// The token of a guest of `space` with this `email`, invited now.
pub(crate) async fn guest_token_as(app: &TestApp, space: &str, email: &str) -> String {
    let (status, g) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id.as_str(), "email": email, "name": "G", "spaces": [{"id": space}]}]),
        )
        .await;
    assert_eq!(status, 200, "{g}");
    let gid = g["data"][0]["id"].as_str().unwrap();
    let (_, token) = app
        .get_json(&format!("/guests/{gid}/token?spaceId={space}"))
        .await;
    token["data"]["token"].as_str().unwrap().to_string()
}

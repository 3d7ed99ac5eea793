//! A guest removed while its job runs, or its space archived: the job stops at its next
//! batch (it went on to the end; probe 80b D5: in an archived space too), and a bulk change
//! puts back what it had changed.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn a_removed_guests_job_stops(db: Db) {
    a_guests_job_stops_when(db, false).await;
}

async fn a_guests_job_stops_when_its_space_is_archived(db: Db) {
    a_guests_job_stops_when(db, true).await;
}

/// The guest removed, or (`archived`) its space archived, while its bulk change runs.
async fn a_guests_job_stops_when(db: Db, archived: bool) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let space_id = space["id"].as_str().unwrap();
    let sheet = app.sheet_id(&space, "companies").await;
    let (_, sheet_body) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = sheet_body["data"]["workbookId"].as_str().unwrap().to_string();
    // Four batches' worth.
    const TOTAL: i64 = 20_000;
    for part in 0..2 {
        let rows: Vec<Value> = (0..TOTAL / 2)
            .map(|i| json!({"code": {"value": format!("C{part}-{i}")}, "name": {"value": "Old"}}))
            .collect();
        let (status, body) = app
            .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, g) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id.as_str(), "email": "g@x.org", "name": "G", "spaces": [{"id": space_id}]}]),
        )
        .await;
    assert_eq!(status, 200, "{g}");
    let guest = g["data"][0]["id"].as_str().unwrap().to_string();
    let (_, token) = app
        .get_json(&format!("/guests/{guest}/token?spaceId={space_id}"))
        .await;
    let token = token["data"]["token"].as_str().unwrap().to_string();
    let (status, job) = send(
        app.client
            .post(app.url("/v1/jobs"))
            .bearer_auth(&token)
            .json(&json!({
        "type": "workbook", "operation": "bulk-change", "source": workbook, "trigger": "immediate",
        "config": {"sheet": sheet, "changes": [{"field": "name", "set": "Guest"}]}})),
    )
    .await;
    assert_eq!(status, 200, "{job}");
    let id = job["data"]["id"].as_str().unwrap().to_string();
    let started = Instant::now();
    loop {
        let (_, now) = app.get_json(&format!("/jobs/{id}")).await;
        let status = now["data"]["status"].as_str().unwrap_or_default().to_string();
        assert!(
            !["complete", "failed", "canceled"].contains(&status.as_str()),
            "ended first: {now}"
        );
        if now["data"]["progress"].as_i64().unwrap_or(0) > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never began: {now}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, body) = match archived {
        true => {
            app.post_json(&format!("/spaces/{space_id}/archive"), &json!({}))
                .await
        }
        false => app.delete(&format!("/guests/{guest}")).await,
    };
    assert_eq!(status, 200, "{body}");
    let done = app.wait_job(&id).await;
    assert_eq!(done["status"], "failed", "{done}");
    let said = done["outcome"]["message"].to_string() + &done["info"].to_string();
    assert!(said.contains("no longer reaches its space"), "{done}");
    let (_, counts) = app
        .get_json(&format!("/sheets/{sheet}/counts?q=name%20eq%20Old"))
        .await;
    assert_eq!(counts["data"]["counts"]["total"], TOTAL, "put back: {counts}");
}

/// A guest's delete job made before its space was archived and set going after deletes
/// nothing (probe 80b D5: it deleted from the archived space).
async fn a_guests_job_started_after_an_archive_deletes_nothing(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let space_id = space["id"].as_str().unwrap();
    let sheet = app.sheet_id(&space, "contacts").await;
    let (_, sheet_body) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = sheet_body["data"]["workbookId"].as_str().unwrap().to_string();
    let rows: Vec<Value> = (0..5).map(|i| json!({"email": format!("p{i}@x.io")})).collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    let token = crate::job_helpers::guest_token(&app, space_id).await;
    let (status, job) = send(app.client.post(app.url("/v1/jobs")).bearer_auth(&token).json(
        &json!({"type": "workbook", "operation": "delete-records", "source": workbook,
                          "config": {"sheet": sheet}}),
    ))
    .await;
    assert_eq!(status, 200, "{job}");
    let id = job["data"]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .post_json(&format!("/spaces/{space_id}/archive"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.post_json(&format!("/jobs/{id}/execute"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let done = app.wait_job(&id).await;
    assert_eq!(done["status"], "failed", "{done}");
    let said = done["outcome"]["message"].to_string() + &done["info"].to_string();
    assert!(said.contains("no longer reaches its space"), "{done}");
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 5, "nothing deleted: {counts}");
}

on_both!(
    a_guests_job_started_after_an_archive_deletes_nothing,
    a_removed_guests_job_stops,
    a_guests_job_stops_when_its_space_is_archived
);

//! Reads by version: Wharf's versions are its commits, so `versionId` reads a commit's
//! records; what changed since a version it cannot say, and refuses to guess.

use crate::commits::{events_of, insert};
use crate::helpers::*;
use crate::on_both;
use serde_json::json;

async fn a_version_reads_its_commits_records_and_since_is_refused(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    insert(
        &app,
        &sheet,
        json!([{"email": "ada@example.com"}, {"email": "bob@example.com"}]),
        &[],
    )
    .await;
    insert(&app, &sheet, json!([{"email": "cy@example.com"}]), &[]).await;
    let created = events_of(&app, "commit:created").await;
    let first = &created[0]["context"];
    // Older listener code reads the event's `versionId`: that commit's records alone.
    let version = first["versionId"].as_str().unwrap();
    let (_, by_version) = app
        .get_json(&format!("/sheets/{sheet}/records?versionId={version}"))
        .await;
    assert_eq!(
        by_version["data"]["records"].as_array().unwrap().len(),
        2,
        "{by_version}"
    );
    // What changed since a version, Wharf cannot say: refused, not answered with everything.
    for key in ["sinceVersionId", "sinceCommitId"] {
        let (status, body) = app
            .get_json(&format!("/sheets/{sheet}/records?{key}={version}"))
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["errors"][0]["key"], key, "{body}");
    }
    // A write with hooks off (as listener code's calls are) makes no commit and answers
    // with a record's version, which names no changes to read: said so (probe 60a 2).
    let (_, all) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let id = all["data"]["records"][0]["id"].as_str().unwrap();
    let (status, written) = send(
        app.api(reqwest::Method::PUT, &format!("/sheets/{sheet}/records"))
            .header("X-Disable-Hooks", "true")
            .json(&json!([{"id": id, "values": {"name": {"value": "Ada"}}}])),
    )
    .await;
    assert_eq!(status, 200, "{written}");
    let version = written["data"]["versionId"].as_str().unwrap();
    assert!(version.starts_with("us_vr_"), "{written}");
    let (status, body) = app
        .get_json(&format!("/sheets/{sheet}/records?versionId={version}"))
        .await;
    assert_eq!(status, 400, "{body}");
    let said = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        said.contains("made no commit") && said.contains("X-Disable-Hooks"),
        "{body}"
    );
}

on_both!(a_version_reads_its_commits_records_and_since_is_refused);

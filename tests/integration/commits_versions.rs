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
}

on_both!(a_version_reads_its_commits_records_and_since_is_refused);

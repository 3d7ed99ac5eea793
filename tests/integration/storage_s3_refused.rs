//! A store that refuses Wharf's credentials after the start (rotated or revoked) is told
//! apart from one that does not answer: the person reads what an administrator should
//! check, not "try again shortly" (probe 71e D4).

use crate::helpers::*;
use crate::on_both;
use crate::storage_s3::{csv_of, S3Server};

async fn a_store_refusing_the_credentials_says_what_to_check(db: Db) {
    let mut s3 = S3Server::start().await;
    let app = spawn_app_with(db, |s| s.storage = Some(s3.bucket("refused"))).await;
    let space = app.bare_space("Refused").await;
    let file = app
        .upload_and_extract(&space, "people.csv", csv_of(20, "r"))
        .await;
    assert_eq!(file["status"], "complete", "{file}");
    let id = file["id"].as_str().unwrap().to_string();

    s3.restart_with_another_secret().await;
    let said = wharf::storage::REFUSED;
    let (status, body) = app.get_json(&format!("/files/{id}/download")).await;
    assert_eq!(
        (status, body["errors"][0]["message"].as_str()),
        (502, Some(said)),
        "{body}"
    );
    let (status, body) = app.upload(&space, "more.csv", csv_of(20, "s")).await;
    assert_eq!(
        (status, body["errors"][0]["message"].as_str()),
        (502, Some(said)),
        "{body}"
    );
    let (_, files) = app.get_json(&format!("/files?spaceId={space}")).await;
    assert_eq!(
        files["data"].as_array().map(Vec::len),
        Some(1),
        "nothing half-recorded: {files}"
    );

    let body =
        serde_json::json!({"type": "file", "operation": "extract", "source": id, "trigger": "immediate"});
    let (status, job) = app.post_json("/jobs", &body).await;
    assert_eq!(status, 200, "{job}");
    let job = app.wait_job(job["data"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "failed", "{job}");
    let message = job["outcome"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(said) && message.contains("WHARF_STORAGE_URL"),
        "{job}"
    );
}

on_both!(a_store_refusing_the_credentials_says_what_to_check);

//! A list filtered by another environment's objects answers 404, as spaces' does, rather
//! than the key's own environment's items or an empty page.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

/// A list asked for another environment answers 404, as spaces' does, rather than the
/// key's own environment's items (probe 56a F5).
async fn a_list_of_another_environment_is_not_found(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Here").await;
    for list in ["/guests", "/workbooks", "/files", "/spaces"] {
        let (status, body) = app
            .get_json(&format!("{list}?environmentId=us_env_other123&spaceId={space}"))
            .await;
        assert_eq!(status, 404, "{list}: {body}");
        let (status, body) = app
            .get_json(&format!("{list}?environmentId={}&spaceId={space}", app.env_id))
            .await;
        assert_eq!(status, 200, "{list}: {body}");
    }
    // Another environment's space, workbook and file as a list's filter: 404 as well,
    // not an empty page (probe 61a D3).
    let prod = app.production_key();
    let as_prod = |path: &str, body: serde_json::Value| {
        send(
            app.client
                .post(app.url(&format!("/v1{path}")))
                .bearer_auth(&prod)
                .json(&body),
        )
    };
    let (_, theirs) = as_prod("/spaces", json!({"name": "There"})).await;
    let their_space = theirs["data"]["id"].as_str().unwrap().to_string();
    let (status, wb) = as_prod(
        "/workbooks",
        json!({"name": "W", "spaceId": their_space, "sheets": [{"name": "S", "fields": [{"key": "a", "type": "string"}]}]}),
    )
    .await;
    assert_eq!(status, 200, "{wb}");
    let their_wb = wb["data"]["id"].as_str().unwrap();
    let (_, here) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    assert_eq!(here["data"].as_array().unwrap().len(), 0);
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"a\n1\n".to_vec()).file_name("t.csv"),
        )
        .text("spaceId", their_space.clone());
    let (status, file) = send(
        app.client
            .post(app.url("/v1/files"))
            .bearer_auth(&prod)
            .multipart(form),
    )
    .await;
    assert_eq!(status, 200, "{file}");
    let their_file = file["data"]["id"].as_str().unwrap();
    // A space that is nowhere reads the same as another environment's (probe 69a D1: an
    // empty page told them apart); a deleted one's events are still listed.
    let (status, body) = app.get_json("/events?spaceId=us_sp_nowhere00").await;
    assert_eq!(status, 404, "{body}");
    let gone = app.bare_space("Gone").await;
    let (status, _) = app.delete(&format!("/spaces/{gone}")).await;
    assert_eq!(status, 200);
    // The list stops at the last event every writer has committed: the extraction of the
    // file uploaded above may hold the delete's event back a moment on a loaded machine.
    let mut listed = serde_json::Value::Null;
    for _ in 0..50 {
        let (status, body) = app.get_json(&format!("/events?spaceId={gone}")).await;
        assert_eq!(status, 200, "{body}");
        listed = body;
        if listed.to_string().contains("space:deleted") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(listed.to_string().contains("space:deleted"), "{listed}");
    for path in [
        format!("/events?spaceId={their_space}"),
        format!("/jobs?workbookId={their_wb}"),
        format!("/jobs?fileId={their_file}"),
    ] {
        let (status, body) = app.get_json(&path).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    for path in [
        format!("/events?spaceId={space}"),
        format!("/jobs?spaceId={space}"),
    ] {
        let (status, body) = app.get_json(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
}

on_both!(a_list_of_another_environment_is_not_found);

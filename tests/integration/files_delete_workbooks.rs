//! Deleting a file deletes the workbook its extraction made, Wharf's or a listener's, and
//! no other.

use crate::helpers::*;
use crate::on_both;

/// Deleting a file deletes the `[file]` workbook its extraction made, records and all; a
/// workbook of the team's that a listener pointed the file at stays.
async fn deleting_a_file_deletes_its_workbook(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Imports").await;
    let f = app
        .upload_and_extract(
            &space,
            "people.csv",
            b"email,name
a@x.io,A
b@x.io,B
"
            .to_vec(),
        )
        .await;
    let (file, wb) = (f["id"].as_str().unwrap(), f["workbookId"].as_str().unwrap());
    let (status, body) = app.delete(&format!("/files/{file}")).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.get_json(&format!("/workbooks/{wb}")).await;
    assert_eq!(status, 404, "the file's workbook went with it");
    let (_, left) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    assert_eq!(left["data"].as_array().unwrap().len(), 0, "{left}");

    let (status, team) = app
        .post_json(
            "/workbooks",
            &serde_json::json!({"name": "Team", "spaceId": space, "sheets": [
                {"name": "S", "fields": [{"key": "a", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{team}");
    let team = team["data"]["id"].as_str().unwrap();
    let (_, f) = app.upload(&space, "other.csv", b"x\n1\n".to_vec()).await;
    let other = f["data"]["id"].as_str().unwrap().to_string();
    let (_, jobs) = app.get_json(&format!("/jobs?fileId={other}")).await;
    app.wait_job(jobs["data"][0]["id"].as_str().unwrap()).await;
    let own = app.get_json(&format!("/files/{other}")).await.1["data"]["workbookId"].clone();
    let (status, body) = app
        .patch_json(
            &format!("/files/{other}"),
            &serde_json::json!({"workbookId": team}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.delete(&format!("/files/{other}")).await.0, 200);
    let (status, _) = app.get_json(&format!("/workbooks/{team}")).await;
    assert_eq!(status, 200, "a team's workbook is not the file's to delete");
    let (status, _) = app
        .get_json(&format!("/workbooks/{}", own.as_str().unwrap()))
        .await;
    assert_eq!(status, 404, "the file's own workbook went, re-pointed or not");

    // Another file's workbook, even labelled `file`, is not this file's.
    let a = app.upload_and_extract(&space, "a.csv", b"x\n1\n".to_vec()).await;
    let b = app.upload_and_extract(&space, "b.csv", b"x\n2\n".to_vec()).await;
    let (a_id, b_wb) = (a["id"].as_str().unwrap(), b["workbookId"].as_str().unwrap());
    let (status, body) = app
        .patch_json(
            &format!("/files/{a_id}"),
            &serde_json::json!({"workbookId": b_wb}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.delete(&format!("/files/{a_id}")).await.0, 200);
    let (status, _) = app.get_json(&format!("/workbooks/{b_wb}")).await;
    assert_eq!(status, 200, "b.csv keeps its workbook");

    // A listener's extractor makes the file's workbook itself, labelled `file`, and links
    // it by the file's workbookId alone: it goes with the file (probe 67b D1).
    let file = other_file_of(&app, &space, "listener.csv").await;
    let made = |name: &str| {
        serde_json::json!({"name": name, "labels": ["file"], "spaceId": space,
            "treatments": ["EXTRACTED_FROM_SOURCE"],
            "sheets": [{"name": "S", "fields": [{"key": "x", "type": "string"}]}]})
    };
    let (status, wb) = app.post_json("/workbooks", &made("[file] listener.csv")).await;
    assert_eq!(status, 200, "{wb}");
    let listeners = wb["data"]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .patch_json(
            &format!("/files/{file}"),
            &serde_json::json!({"workbookId": listeners}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Two files linked to one such workbook: neither's delete takes it.
    let twin = other_file_of(&app, &space, "twin.csv").await;
    let (status, wb) = app.post_json("/workbooks", &made("[file] shared")).await;
    assert_eq!(status, 200, "{wb}");
    let shared = wb["data"]["id"].as_str().unwrap().to_string();
    for id in [&twin, &other_file_of(&app, &space, "twin2.csv").await] {
        let (status, body) = app
            .patch_json(
                &format!("/files/{id}"),
                &serde_json::json!({"workbookId": shared}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(app.delete(&format!("/files/{file}")).await.0, 200);
    let (status, _) = app.get_json(&format!("/workbooks/{listeners}")).await;
    assert_eq!(status, 404, "the listener-made workbook went with its file");
    assert_eq!(app.delete(&format!("/files/{twin}")).await.0, 200);
    let (status, _) = app.get_json(&format!("/workbooks/{shared}")).await;
    assert_eq!(status, 200, "another file still links it");

    // A team's workbook labelled `file`, made before the file a guest uploads and the team
    // points at it, is not the file's (probe 67e D3).
    let (status, wb) = app.post_json("/workbooks", &made("[file] team's own")).await;
    assert_eq!(status, 200, "{wb}");
    let team_file_wb = wb["data"]["id"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let later = other_file_of(&app, &space, "later.csv").await;
    let (status, body) = app
        .patch_json(
            &format!("/files/{later}"),
            &serde_json::json!({"workbookId": team_file_wb}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.delete(&format!("/files/{later}")).await.0, 200);
    let (status, _) = app.get_json(&format!("/workbooks/{team_file_wb}")).await;
    assert_eq!(status, 200, "made before the file: the team's");
}

/// A file uploaded and extracted into `space`: its id.
async fn other_file_of(app: &TestApp, space: &str, name: &str) -> String {
    let (_, f) = app.upload(space, name, b"x\n1\n".to_vec()).await;
    let id = f["data"]["id"].as_str().unwrap().to_string();
    let (_, jobs) = app.get_json(&format!("/jobs?fileId={id}")).await;
    app.wait_job(jobs["data"][0]["id"].as_str().unwrap()).await;
    id
}

on_both!(deleting_a_file_deletes_its_workbook);

//! The record history panel of a deleted record: its changes stay readable, and no undo
//! is offered that could only fail.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

async fn a_deleted_records_history_offers_no_undo(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (_, inserted) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "a@x.io", "name": "Ann"}]),
        )
        .await;
    let rid = inserted["data"]["records"][0]["id"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    let resp = app
        .client
        .put(app.url(&format!("/grid/{sheet}/records/{rid}")))
        .header("hx-request", "true")
        .header("x-csrf-token", &csrf)
        .form(&[("field", "name"), ("value", "Xena")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let history = format!("/grid/{sheet}/records/{rid}/history");
    assert!(app.page(&history).await.contains("Undo my last change"));

    let (status, _) = app.delete(&format!("/sheets/{sheet}/records?ids={rid}")).await;
    assert_eq!(status, 200);
    let panel = app.page(&history).await;
    assert!(panel.contains("Xena"), "the history stays readable: {panel}");
    assert!(!panel.contains("Undo my last change"), "{panel}");
    let resp = grid_undo(&app, &sheet, &rid, &csrf).await;
    assert_eq!(resp.status().as_u16(), 409);
    assert!(resp.text().await.unwrap().contains("the record was deleted"));
}

/// The history panel's undo button, pressed.
pub(crate) async fn grid_undo(app: &TestApp, sheet: &str, record: &str, csrf: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/grid/{sheet}/records/{record}/undo")))
        .header("hx-request", "true")
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap()
}

on_both!(a_deleted_records_history_offers_no_undo);

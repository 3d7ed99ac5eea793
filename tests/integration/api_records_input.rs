//! What a records body may hold and what is refused rather than kept otherwise: numbers
//! beyond a double, a record's own messages.

use crate::api_records::setup;
use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

/// A bare JSON number with more digits than Wharf keeps is refused with 422 naming it,
/// nothing written, where it was stored rounded (probe 56b 2); as text it is kept.
async fn numbers_kept_as_written_or_refused(db: Db) {
    let (app, _, contacts) = setup(db).await;
    let path = format!("/sheets/{contacts}/records");
    let big = "123456789012345678901234567890";
    let resp = app
        .api(reqwest::Method::POST, &path)
        .header("content-type", "application/json")
        .body(format!(r#"[{{"email": "a@x.io", "name": {big}}}]"#))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body.to_string().contains(big) && body.to_string().contains("in quotes"),
        "{body}"
    );
    let (_, counts) = app.get_json(&format!("/sheets/{contacts}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 0);
    let (status, made) = app
        .post_json(&path, &json!([{"email": "a@x.io", "name": big, "age": 42.5}]))
        .await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["data"]["records"][0]["values"]["name"]["value"], big);
}

/// A record's own `messages` on an update are refused, naming where messages go, not
/// dropped unseen (probe 57c); `[]`, as a record read back holds, is nothing.
async fn a_records_own_messages_are_refused_not_dropped(db: Db) {
    let (app, _, contacts) = setup(db).await;
    let path = format!("/sheets/{contacts}/records");
    let (_, made) = app.post_json(&path, &json!([{"email": "a@x.io"}])).await;
    let id = made["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .put_json(
            &path,
            &json!([{"id": id, "values": {"email": {"value": "b@x.io"}},
                     "messages": [{"type": "error", "message": "whole record bad"}]}]),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["key"], "$[0].messages", "{body}");
    assert!(body.to_string().contains("values.<field>.messages"), "{body}");
    let (_, got) = app.get_json(&path).await;
    assert_eq!(got["data"]["records"][0]["values"]["email"]["value"], "a@x.io");
    let (status, body) = app
        .put_json(
            &path,
            &json!([{"id": id, "values": {"email": {"value": "b@x.io"}}, "messages": []}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Nor dropped by a bulk update, and an insert says where messages go (probe 57d).
    let (status, body) = app
        .patch_json(
            &format!("/sheets/{contacts}/records/bulk-update"),
            &json!({"fieldUpdates": {"email": {"value": "c@x.io", "messages": [{"type": "error", "message": "x"}]}}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["key"], "fieldUpdates.email.messages", "{body}");
    let (status, body) = app
        .post_json(
            &path,
            &json!([{"email": "d@x.io", "messages": [{"type": "error", "message": "x"}]}]),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("values.<field>.messages"), "{body}");
    let (_, got) = app.get_json(&path).await;
    assert_eq!(got["data"]["records"].as_array().unwrap().len(), 1, "{got}");
    assert_eq!(got["data"]["records"][0]["values"]["email"]["value"], "b@x.io");
}

/// A string list of other items is written even when its text reads the same (probe 72a
/// D2: `["a", "b"]` over `["a, b"]` was dropped, with a 200).
async fn a_list_of_other_items_reading_alike_is_written(db: Db) {
    let app = spawn_app(db).await;
    let blueprint = json!({"name": "Lists", "slug": "lists", "workbooks": [{"name": "W", "sheets": [
        {"name": "S", "slug": "s", "fields": [{"key": "tags", "type": "string-list"}]}]}]});
    let (_, config) = app.post_json("/space-configs", &blueprint).await;
    let (_, space) = app
        .post_json(
            "/spaces",
            &json!({"name": "Lists", "spaceConfigId": config["data"]["id"]}),
        )
        .await;
    let sheet = app.sheet_id(&space["data"], "s").await;
    let (_, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"tags": {"value": ["a, b"]}}]),
        )
        .await;
    let id = body["data"]["records"][0]["id"].as_str().unwrap();
    let two = json!([{"id": id, "values": {"tags": {"value": ["a", "b"]}}}]);
    let (status, body) = app.put_json(&format!("/sheets/{sheet}/records"), &two).await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(
        page["data"]["records"][0]["values"]["tags"]["value"],
        json!(["a", "b"]),
        "{page}"
    );
    let (_, changes) = app.get_json(&format!("/sheets/{sheet}/changes")).await;
    assert_eq!(
        changes["data"].as_array().map(Vec::len),
        Some(1),
        "recorded: {changes}"
    );
}

on_both!(
    a_list_of_other_items_reading_alike_is_written,
    numbers_kept_as_written_or_refused,
    a_records_own_messages_are_refused_not_dropped
);

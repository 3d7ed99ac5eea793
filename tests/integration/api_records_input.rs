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

/// A cell written back with the value it holds keeps what was given for it, whatever its
/// type: a record hook sends back values it did not change (probe 71b D2: a string's,
/// a boolean's and a string list's input were dropped, a number's and a date's kept).
async fn a_value_written_back_keeps_its_input(db: Db) {
    let app = spawn_app(db).await;
    let blueprint = json!({"name": "Kept", "slug": "kept", "workbooks": [{"name": "W", "sheets": [{"name": "S", "slug": "s",
        "fields": [{"key": "s", "type": "string"}, {"key": "b", "type": "boolean"},
                   {"key": "n", "type": "number"}, {"key": "d", "type": "date"},
                   {"key": "sl", "type": "string-list"},
                   {"key": "e", "type": "enum", "config": {"options": [{"value": "red", "label": "Red"}]}}]}]}]});
    let (status, config) = app.post_json("/space-configs", &blueprint).await;
    assert_eq!(status, 200, "{config}");
    let body = json!({"name": "Kept", "spaceConfigId": config["data"]["id"]});
    let (status, space) = app.post_json("/spaces", &body).await;
    assert_eq!(status, 200, "{space}");
    let sheet = app.sheet_id(&space["data"], "s").await;
    let given = json!({"s": "  x  ", "b": "yes", "n": "1,5", "d": "12/25/2024", "sl": "a, b", "e": "Red"});
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!([given]))
        .await;
    assert_eq!(status, 200, "{body}");
    let record = body["data"]["records"][0].clone();
    let rid = record["id"].as_str().unwrap();
    // Each cell's own value sent back, as a hook or `records.update` does.
    let values: serde_json::Map<String, Value> = record["values"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, cell)| (k.clone(), json!({"value": cell["value"]})))
        .collect();
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": rid, "values": values}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let after = &page["data"]["records"][0]["values"];
    for (key, text) in given.as_object().unwrap() {
        assert_eq!(after[key]["raw"], *text, "{key}: {after}");
        assert_eq!(
            after[key]["value"], record["values"][key]["value"],
            "{key}: {after}"
        );
    }
    let (_, changes) = app.get_json(&format!("/sheets/{sheet}/changes")).await;
    assert_eq!(
        changes["data"].as_array().map(Vec::len),
        Some(0),
        "no change: {changes}"
    );
}

on_both!(
    a_value_written_back_keeps_its_input,
    numbers_kept_as_written_or_refused,
    a_records_own_messages_are_refused_not_dropped
);

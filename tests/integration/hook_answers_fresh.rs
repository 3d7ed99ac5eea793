//! A record hook's answer never silently undoes what others wrote while it ran without a
//! commit of their own (an integration's write with hooks off, a bulk change's job): a
//! value the hook sends back as the commit left it stays as written since; a value the
//! hook changed itself is written.

use crate::commits::{events_of, insert, put_gzip};
use crate::helpers::*;
use crate::on_both;
use serde_json::json;

async fn a_hooks_echo_does_not_undo_a_write_made_while_it_ran(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    insert(
        &app,
        &sheet,
        json!([{"email": "a@x.io", "name": " T0 ", "age": "1,5", "subscribed": "ja"}]),
        &[],
    )
    .await;
    let created = events_of(&app, "commit:created").await;
    let data_url = created[0]["dataUrl"].as_str().unwrap().to_string();
    let (status, read) = send(
        app.client
            .get(app.url(&format!("/{data_url}")))
            .bearer_auth(&app.key),
    )
    .await;
    assert_eq!(status, 200, "{read}");
    let record = read["data"]["records"][0].clone();
    let id = record["id"].as_str().unwrap().to_string();

    // While the hook runs, an integration corrects the name, hooks off (no commit).
    let correction = json!([{"id": id, "values": {"name": {"value": "Corrected"}, "age": {"value": 7}, "subscribed": {"value": false}}}]);
    let (status, body) = send(
        app.api(reqwest::Method::PUT, &format!("/sheets/{sheet}/records"))
            .header("x-disable-hooks", "true")
            .json(&correction),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // The hook answers every value it read, the name unchanged with a message on it, and
    // an email of its own.
    let answer = json!([{"id": id, "values": {
        "email": {"value": "hooked@x.io"},
        "name": {"value": "T0", "messages": [{"message": "too short", "type": "error", "source": "custom-logic"}]},
        "age": record["values"]["age"].clone(),
        "subscribed": record["values"]["subscribed"].clone(),
    }}]);
    assert_eq!(
        record["values"]["age"]["value"], 1.5,
        "the hook reads the value as read: {record}"
    );
    let (status, body) = put_gzip(&app, &data_url, &answer).await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let values = &page["data"]["records"][0]["values"];
    assert_eq!(values["name"]["value"], "Corrected", "{values}");
    assert_eq!(
        values["name"]["messages"],
        json!([]),
        "its message was about T0: {values}"
    );
    assert_eq!(values["email"]["value"], "hooked@x.io", "{values}");
    assert_eq!(
        values["age"]["value"], 7,
        "typed `1,5`, read 1.5, sent back 1.5: {values}"
    );
    assert_eq!(values["subscribed"]["value"], false, "{values}");
}

/// A hook's answer sending back values as it read them keeps what was given for each,
/// whatever its type, and records no change (probe 71b D2: a string's, a boolean's and a
/// string list's input went, as `@flatfile/plugin-record-hook` answers every value); its
/// messages on them land. A person writing the shown value still replaces the input.
async fn a_hooks_echo_keeps_what_was_given(db: Db) {
    let app = spawn_app(db).await;
    let blueprint = json!({"name": "Kept", "slug": "kept", "workbooks": [{"name": "W", "sheets": [{"name": "S", "slug": "s",
        "fields": [{"key": "s", "type": "string"}, {"key": "b", "type": "boolean"},
                   {"key": "n", "type": "number"}, {"key": "d", "type": "date"},
                   {"key": "sl", "type": "string-list"},
                   {"key": "e", "type": "enum", "config": {"options": [{"value": "red", "label": "Red"}]}}]}]}]});
    let (status, config) = app.post_json("/space-configs", &blueprint).await;
    assert_eq!(status, 200, "{config}");
    let (_, space) = app
        .post_json(
            "/spaces",
            &json!({"name": "Kept", "spaceConfigId": config["data"]["id"]}),
        )
        .await;
    let sheet = app.sheet_id(&space["data"], "s").await;
    let given = json!({"s": "  x  ", "b": "yes", "n": "1,5", "d": "12/25/2024", "sl": "a, b", "e": "Red"});
    insert(&app, &sheet, json!([given]), &[]).await;
    let created = events_of(&app, "commit:created").await;
    let data_url = created[0]["dataUrl"].as_str().unwrap().to_string();
    let (_, read) = send(
        app.client
            .get(app.url(&format!("/{data_url}")))
            .bearer_auth(&app.key),
    )
    .await;
    let record = read["data"]["records"][0].clone();
    let id = record["id"].as_str().unwrap();
    let mut values: serde_json::Map<String, serde_json::Value> = record["values"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, cell)| (k.clone(), json!({"value": cell["value"]})))
        .collect();
    values.insert(
        "b".into(),
        json!({"value": true, "messages": [{"type": "warn", "message": "checked by the hook"}]}),
    );
    let (status, body) = put_gzip(&app, &data_url, &json!([{"id": id, "values": values}])).await;
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
    assert!(
        after["b"]["messages"].to_string().contains("checked by the hook"),
        "{after}"
    );
    let (_, changes) = app.get_json(&format!("/sheets/{sheet}/changes")).await;
    assert_eq!(
        changes["data"].as_array().map(Vec::len),
        Some(0),
        "no change: {changes}"
    );

    // A person's own write of the shown value is what they typed now.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": id, "values": {"s": {"value": "x"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert!(
        page["data"]["records"][0]["values"]["s"]["raw"].is_null(),
        "{page}"
    );
}

on_both!(
    a_hooks_echo_does_not_undo_a_write_made_while_it_ran,
    a_hooks_echo_keeps_what_was_given
);

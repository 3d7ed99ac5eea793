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

on_both!(a_hooks_echo_does_not_undo_a_write_made_while_it_ran);

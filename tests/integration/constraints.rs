//! A constraint's own `config.message` and `config.level`, and an empty required cell
//! reported once (as required), not also as a duplicate of every other empty cell.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

async fn constraints_say_their_own_message_at_their_level(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Constraints").await;
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "W", "spaceId": space, "sheets": [{"name": "People", "slug": "people", "fields": [
                {"key": "email", "type": "string", "label": "Email", "constraints": [
                    {"type": "required", "config": {"message": "Ask the customer for an email"}},
                    {"type": "unique", "config": {"message": "Seen before: merge these", "level": "warn"}}]},
                {"key": "name", "type": "string", "label": "Name"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let rows: Vec<Value> = ["a@x.org", "a@x.org", "", "", ""]
        .iter()
        .map(|e| json!({"email": {"value": e}, "name": {"value": "N"}}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, got) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let recs = got["data"]["records"].as_array().unwrap();
    for r in &recs[..2] {
        let msgs = r["values"]["email"]["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 1, "{r}");
        assert_eq!(msgs[0]["message"], "Seen before: merge these");
        assert_eq!(msgs[0]["type"], "warn");
        assert_eq!(r["valid"], true, "a warning leaves the record valid: {r}");
    }
    for r in &recs[2..] {
        let msgs = r["values"]["email"]["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 1, "required only, not also a duplicate: {r}");
        assert_eq!(msgs[0]["message"], "Ask the customer for an email");
        assert_eq!(msgs[0]["type"], "error");
    }
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["valid"], 2, "{counts}");
    assert_eq!(counts["data"]["counts"]["error"], 3, "{counts}");

    let (status, bad) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Bad", "spaceId": space, "sheets": [{"name": "S", "slug": "s", "fields": [
                {"key": "a", "type": "string", "constraints": [{"type": "required", "config": {"level": "fatal"}}]}]}]}),
        )
        .await;
    assert!(status == 400 || status == 422, "{bad}");
    assert!(bad.to_string().contains("config.level"), "{bad}");
}

on_both!(constraints_say_their_own_message_at_their_level);

//! A sheet's download read back by an import holds the same lists: an item holding `,` or
//! `;`, or one that starts like JSON, is written as a JSON array the import reads as that
//! list (probe 62c D6: `a,b` came back as two items, `["q"]` unwrapped).

use crate::helpers::*;
use crate::map_helpers::{map_job_for, run_job};
use crate::on_both;
use serde_json::{json, Value};

/// Each record's tags, colors and validity, in order.
async fn values(app: &TestApp, sheet: &str) -> Vec<(Value, Value, Value)> {
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let v = &r["values"];
            (
                v["tags"]["value"].clone(),
                v["colors"]["value"].clone(),
                r["valid"].clone(),
            )
        })
        .collect()
}

async fn lists_come_back_from_their_own_download(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Round trip").await;
    let sheet = |slug: &str| {
        json!({"name": slug, "slug": slug, "fields": [
            {"key": "name", "type": "string", "label": "Name"},
            {"key": "tags", "type": "string-list", "label": "Tags"},
            {"key": "colors", "type": "enum-list", "label": "Colors", "config": {"options": [
                {"value": "a,b", "label": "A or B"}, {"value": "red", "label": "Red"}]}}]})
    };
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "W", "spaceId": space, "sheets": [sheet("first"), sheet("second")]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let wb_id = wb["data"]["id"].as_str().unwrap().to_string();
    let first = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let second = wb["data"]["sheets"][1]["id"].as_str().unwrap().to_string();
    let rows = json!([
        {"name": "one", "tags": ["a,b", "c"], "colors": ["a,b", "red"]},
        {"name": "two", "tags": ["x;y"], "colors": ["red"]},
        {"name": "three", "tags": ["[\"q\"]", "plain"]},
        {"name": "four", "tags": ["d", "e"]}
    ]);
    let (status, body) = app.post_json(&format!("/sheets/{first}/records"), &rows).await;
    assert_eq!(status, 200, "{body}");
    let csv = app
        .api(reqwest::Method::GET, &format!("/sheets/{first}/download"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let text = String::from_utf8_lossy(&csv).to_string();
    assert!(text.contains("d, e"), "a plain list reads as it shows: {text}");

    let job = map_job_for(&app, &space, "first.csv", csv, &wb_id, &second).await;
    let done = run_job(&app, &job).await;
    assert_eq!(done["status"], "complete", "{done}");
    let (before, after) = (values(&app, &first).await, values(&app, &second).await);
    assert_eq!(after, before, "{text}");
}

on_both!(lists_come_back_from_their_own_download);

//! Reads beside field changes: adding a field in front of the others moves every record's
//! values, so a page, a `q`, a field's values and a download read while fields come and go
//! must read the fields and the records together, never values under the wrong field (a
//! listener that reads a page and writes it back would wipe records).

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};
use std::sync::Arc;

/// Whether a record's cells are where they were written: code `s<i>`, name `n<i>`, amount i.
fn in_place(r: &Value) -> bool {
    let v = &r["values"];
    let code = v["code"]["value"].as_str().unwrap_or_default();
    let i: i64 = code.trim_start_matches('s').parse().unwrap_or(-1);
    code.starts_with('s') && v["name"]["value"] == format!("n{i}") && v["amount"]["value"] == i
}

async fn reads_beside_field_changes_never_shift_values(db: Db) {
    let app = Arc::new(spawn_app(db).await);
    let space = app.bare_space("Fields").await;
    let fields = json!([{"key": "code", "type": "string"}, {"key": "name", "type": "string"},
                        {"key": "amount", "type": "number"}]);
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "W", "spaceId": space,
                                         "sheets": [{"name": "S", "slug": "s", "fields": fields}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let rows: Vec<Value> = (0..300)
        .map(|i| json!({"code": {"value": format!("s{i}")}, "name": {"value": format!("n{i}")}, "amount": {"value": i}}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    assert_eq!(status, 200, "{body}");

    let changer = {
        let (app, sheet) = (app.clone(), sheet.clone());
        tokio::spawn(async move {
            for n in 0..6 {
                let key = format!("tmp{n}");
                let field = json!({"key": key, "type": "string", "label": "Tmp", "insertAtIndex": 0});
                let (status, body) = app.post_json(&format!("/sheets/{sheet}/fields"), &field).await;
                assert_eq!(status, 200, "{body}");
                let (status, body) = app.delete(&format!("/sheets/{sheet}/fields/{key}")).await;
                assert_eq!(status, 200, "{body}");
            }
        })
    };
    let mut reads = 0;
    while !changer.is_finished() {
        let (status, page) = app
            .get_json(&format!("/sheets/{sheet}/records?pageSize=300"))
            .await;
        assert_eq!(status, 200, "{page}");
        let records = page["data"]["records"].as_array().unwrap();
        assert_eq!(records.len(), 300);
        let shifted = records.iter().find(|r| !in_place(r));
        assert!(
            shifted.is_none(),
            "a page read beside a field change: {shifted:?}"
        );
        let (status, few) = app
            .get_json(&format!("/sheets/{sheet}/records?q=amount%20lt%2050"))
            .await;
        assert_eq!(status, 200, "{few}");
        assert_eq!(few["data"]["records"].as_array().unwrap().len(), 50, "{few}");
        let (status, values) = app
            .get_json(&format!(
                "/sheets/{sheet}/cells?fieldKey=amount&distinct=true&q=amount%20lt%2010"
            ))
            .await;
        assert_eq!(status, 200, "{values}");
        assert_eq!(values["data"]["amount"].as_array().unwrap().len(), 10, "{values}");
        let (status, counts) = app
            .get_json(&format!("/sheets/{sheet}/counts?q=name%20eq%20n7"))
            .await;
        assert_eq!(status, 200, "{counts}");
        assert_eq!(counts["data"]["counts"]["total"], 1, "{counts}");
        reads += 1;
    }
    changer.await.unwrap();
    assert!(reads > 0);
}

on_both!(reads_beside_field_changes_never_shift_values);

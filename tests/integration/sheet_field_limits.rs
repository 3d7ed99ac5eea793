//! How far `sheets.addField` lets a sheet grow, and who may put a field among the others:
//! at most 1,000 fields and 1 MiB of them together (every read and write of the records
//! reads them), and a guest adds after the others only (a field put first moves a cell of
//! every record in one write, holding SQLite's other writers meanwhile): probe 56a F1.

use crate::helpers::*;
use crate::job_helpers::guest_token;
use crate::on_both;
use serde_json::{json, Value};

/// A workbook in `space` with one sheet of these fields; returns the sheet's id.
async fn sheet_of(app: &TestApp, space: &str, fields: Vec<Value>) -> String {
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Wide", "spaceId": space, "sheets": [{"name": "Wide", "slug": "wide", "fields": fields}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string()
}

async fn field_keys(app: &TestApp, sheet: &str) -> Vec<String> {
    let (_, s) = app.get_json(&format!("/sheets/{sheet}")).await;
    s["data"]["config"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect()
}

async fn a_guest_adds_a_field_after_the_others(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Guests").await;
    let sheet = sheet_of(&app, &space, vec![json!({"key": "name", "type": "string"})]).await;
    let token = guest_token(&app, &space).await;
    let add = |query: &'static str, key: &'static str| {
        let request = app
            .client
            .post(app.url(&format!("/v1/sheets/{sheet}/fields{query}")))
            .bearer_auth(&token)
            .json(&json!({"key": key, "type": "string"}));
        send(request)
    };
    let (status, body) = add("?insertAtIndex=0", "first").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("leave out insertAtIndex"), "{body}");
    assert_eq!(field_keys(&app, &sheet).await, ["name"]);
    let (status, body) = add("", "last").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = add("?insertAtIndex=2", "end").await;
    assert_eq!(status, 200, "the end given as a position: {body}");
    assert_eq!(field_keys(&app, &sheet).await, ["name", "last", "end"]);
    // The team puts one first.
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/fields?insertAtIndex=0"),
            &json!({"key": "first", "type": "string"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(field_keys(&app, &sheet).await, ["first", "name", "last", "end"]);
}

async fn a_sheets_fields_are_bounded_in_number_and_size(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Bounds").await;
    // 1,000 fields: the most a sheet may have.
    let fields = (0..1000)
        .map(|i| json!({"key": format!("f{i}"), "type": "string"}))
        .collect();
    let wide = sheet_of(&app, &space, fields).await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{wide}/fields"),
            &json!({"key": "more", "type": "string"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("1000 fields"), "{body}");
    assert_eq!(field_keys(&app, &wide).await.len(), 1000);
    // Nor is a workbook made with more (probe 56c D3).
    let fields: Vec<Value> = (0..1001)
        .map(|i| json!({"key": format!("f{i}"), "type": "string"}))
        .collect();
    let (status, body) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Wider", "spaceId": space, "sheets": [{"name": "Wider", "slug": "wider", "fields": fields}]}),
        )
        .await;
    assert!((400..500).contains(&status), "{status}: {body}");
    assert!(
        body.to_string()
            .contains("at most 1000 fields; this one has 1001"),
        "{body}"
    );

    // Enum fields of about 60 KiB each: the 1 MiB of them together is reached.
    let big = |key: String| {
        let options: Vec<Value> = (0..1000)
            .map(|i| json!({"value": format!("v{i:05}"), "label": format!("{}{i:05}", "L".repeat(30))}))
            .collect();
        json!({"key": key, "type": "enum", "config": {"options": options}})
    };
    let sheet = sheet_of(&app, &space, vec![json!({"key": "name", "type": "string"})]).await;
    let mut added = 0;
    let refused = loop {
        let (status, body) = app
            .post_json(&format!("/sheets/{sheet}/fields"), &big(format!("e{added}")))
            .await;
        if status != 200 {
            break (status, body);
        }
        added += 1;
        assert!(added < 40, "never refused");
    };
    assert_eq!(refused.0, 422, "{}", refused.1);
    assert!(refused.1.to_string().contains("1024 KiB"), "{}", refused.1);
    assert!((15..=18).contains(&added), "{added} fields of 60 KiB went in");
    assert_eq!(field_keys(&app, &sheet).await.len(), 1 + added);

    // Nor may a workbook's sheet be made bigger than that (probe 56c D3).
    let fields: Vec<Value> = (0..20).map(|i| big(format!("e{i}"))).collect();
    let (status, body) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Heavy", "spaceId": space, "sheets": [{"name": "Heavy", "slug": "heavy", "fields": fields}]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("at most 1024 KiB"), "{body}");
    let (_, workbooks) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    assert!(!workbooks.to_string().contains("Heavy"), "{workbooks}");
}

on_both!(
    a_guest_adds_a_field_after_the_others,
    a_sheets_fields_are_bounded_in_number_and_size
);

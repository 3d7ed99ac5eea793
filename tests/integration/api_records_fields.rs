//! Reads that keep only some fields (`records.get`'s `fields`).

use crate::api_records::setup;
use crate::helpers::*;
use crate::on_both;
use serde_json::json;

/// `fields` (the official client's `records.get(sheetId, {fields})`) keeps only the named
/// fields in each record; the selection and counts are unchanged, and an unknown field is
/// named in a 400.
async fn a_read_returns_only_the_fields_asked_for(db: Db) {
    let (app, _, contacts) = setup(db).await;
    let path = format!("/sheets/{contacts}/records");
    let body = json!([
        {"email": {"value": "a@x.io"}, "age": {"value": "30"}, "tier": {"value": "gold"}},
        {"email": {"value": "b@x.io"}, "age": {"value": "old"}}
    ]);
    assert_eq!(app.post_json(&path, &body).await.0, 200);
    for query in [
        "fields=email&fields=age",
        "fields=email,age",
        "fields=email&fields=age&q=age%20gte%200",
    ] {
        let (status, page) = app.get_json(&format!("{path}?{query}&includeCounts=true")).await;
        assert_eq!(status, 200, "{query}: {page}");
        let records = page["data"]["records"].as_array().unwrap();
        assert!(!records.is_empty(), "{query}");
        for record in records {
            let mut keys: Vec<&str> = record["values"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort();
            assert_eq!(keys, ["age", "email"], "{query}: {record}");
            assert!(record["id"].as_str().unwrap().starts_with("us_rc_"));
        }
    }
    let (_, page) = app.get_json(&format!("{path}?fields=age")).await;
    let bad = &page["data"]["records"][1];
    assert_eq!(
        bad["valid"], false,
        "validity is the record's, not the fields shown"
    );
    assert_eq!(bad["values"]["age"]["messages"][0]["type"], "error");

    let (status, refused) = app.get_json(&format!("{path}?fields=email,nope")).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.to_string().contains("`nope`"), "{refused}");
    for empty in ["fields=", "fields=,"] {
        let (status, refused) = app.get_json(&format!("{path}?{empty}")).await;
        assert_eq!(status, 400, "{empty}: {refused}");
    }

    // A key with a comma in it is named whole.
    let field = json!({"key": "x,y", "type": "string", "label": "Comma"});
    let (status, body) = app.post_json(&format!("/sheets/{contacts}/fields"), &field).await;
    assert_eq!(status, 200, "{body}");
    let (status, page) = app.get_json(&format!("{path}?fields=x%2Cy")).await;
    assert_eq!(status, 200, "{page}");
    let values = page["data"]["records"][0]["values"].as_object().unwrap();
    assert_eq!(values.keys().collect::<Vec<_>>(), ["x,y"], "{page}");
}

on_both!(a_read_returns_only_the_fields_asked_for);

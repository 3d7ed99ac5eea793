//! `GET /v1/sheets/{id}/cells`: a field's distinct values with counts, over a selection.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

fn values(body: &Value, key: &str) -> Vec<(Value, i64, i64, bool)> {
    body["data"][key]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|c| {
            (
                c["value"].clone(),
                c["counts"]["total"].as_i64().unwrap_or(-1),
                c["counts"]["error"].as_i64().unwrap_or(-1),
                c["valid"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn distinct_values_with_counts(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let mut rows = Vec::new();
    for i in 0..30 {
        let tier = match i % 3 {
            0 => json!("gold"),
            1 => json!("silver"),
            _ => json!("bronze"), // not an option: an error in tier
        };
        rows.push(json!({"email": format!("p{i}@x.io"), "tier": tier, "age": i % 4 * 10}));
    }
    rows.push(json!({"email": "nobody-tier@x.io"}));
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &Value::Array(rows))
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = app
        .get_json(&format!(
            "/sheets/{sheet}/cells?fieldKey=tier&distinct=true&includeCounts=true"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let got = values(&body, "tier");
    assert_eq!(got.len(), 4, "{body}");
    assert_eq!(got[0], (json!("bronze"), 10, 10, false));
    assert_eq!(got[1], (json!("gold"), 10, 0, true));
    assert_eq!(got[2], (json!("silver"), 10, 0, true));
    assert_eq!(got[3], (Value::Null, 1, 0, true));
    // A value in error says what is wrong with it; a valid one says nothing.
    let cells = body["data"]["tier"].as_array().unwrap();
    let bronze = cells[0]["messages"][0]["message"].as_str().unwrap_or_default();
    assert!(
        bronze.contains("bronze") && bronze.contains("not one of"),
        "{body}"
    );
    assert_eq!(cells[1]["messages"], json!([]));

    // Numbers by value, descending; a page of two.
    let (_, body) = app
        .get_json(&format!(
            "/sheets/{sheet}/cells?fieldKey=age&distinct=true&includeCounts=true&sortField=age&sortDirection=desc&pageSize=2"
        ))
        .await;
    let got: Vec<Value> = values(&body, "age").into_iter().map(|v| v.0).collect();
    assert_eq!(got, vec![json!(30), json!(20)], "{body}");

    // Over a selection: records in error, and an FFQL query.
    let (_, body) = app
        .get_json(&format!(
            "/sheets/{sheet}/cells?fieldKey=tier&distinct=true&includeCounts=true&filter=error"
        ))
        .await;
    assert_eq!(values(&body, "tier"), vec![(json!("bronze"), 10, 10, false)]);
    let (_, body) = app
        .get_json(&format!(
            "/sheets/{sheet}/cells?fieldKey=tier&distinct=true&includeCounts=true&q=age%20gte%2020"
        ))
        .await;
    let total: i64 = values(&body, "tier").iter().map(|v| v.1).sum();
    assert_eq!(total, 14, "ages 20 and 30: {body}");

    // Mistakes are named.
    let (status, body) = app
        .get_json(&format!("/sheets/{sheet}/cells?fieldKey=nope&distinct=true"))
        .await;
    assert_eq!(status, 400);
    assert!(body.to_string().contains("nope"), "{body}");
    let (status, _) = app
        .get_json(&format!("/sheets/{sheet}/cells?distinct=true"))
        .await;
    assert_eq!(status, 400);

    // A value in error for a reason beyond itself (here a duplicate of a unique field)
    // carries the message its records carry, not none (probe 49b 3).
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "P1@x.io"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = app
        .get_json(&format!(
            "/sheets/{sheet}/cells?fieldKey=email&distinct=true&includeCounts=true&filter=error&filterField=email"
        ))
        .await;
    let cells = body["data"]["email"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(cells.len(), 2, "p1 and its duplicate: {body}");
    for cell in cells {
        assert_eq!(cell["valid"], false, "{body}");
        let message = cell["messages"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        assert!(
            message.contains("unique") || message.contains("duplicate"),
            "{body}"
        );
    }
}

on_both!(distinct_values_with_counts);

/// `distinct=false` (a member the official client makes every caller give): the field's
/// cell in each record, in record order, paged, each with its own messages (probe 68g D7:
/// it was refused with 400).
async fn every_records_cell_without_distinct(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let tiers = ["gold", "gold", "bronze", "silver", "gold"];
    let rows: Vec<Value> = tiers
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"email": format!("p{i}@x.io"), "tier": t, "age": i}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &Value::Array(rows))
        .await;
    assert_eq!(status, 200, "{body}");

    let list =
        |query: &str| format!("/sheets/{sheet}/cells?fieldKey=tier&distinct=false&includeCounts=true{query}");
    let (status, body) = app.get_json(&list("")).await;
    assert_eq!(status, 200, "{body}");
    let got = values(&body, "tier");
    let expected: Vec<(Value, i64, i64, bool)> = tiers
        .iter()
        .map(|t| (json!(t), 1, i64::from(*t == "bronze"), *t != "bronze"))
        .collect();
    assert_eq!(got, expected);
    let bronze = body["data"]["tier"][2]["messages"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(bronze.contains("not one of"), "{body}");

    // Paged, over a selection, and sorted by value.
    let (_, body) = app.get_json(&list("&pageSize=2&pageNumber=2")).await;
    let got: Vec<Value> = values(&body, "tier").into_iter().map(|v| v.0).collect();
    assert_eq!(got, vec![json!("bronze"), json!("silver")], "{body}");
    let (_, body) = app.get_json(&list("&q=age%20gte%203")).await;
    let got: Vec<Value> = values(&body, "tier").into_iter().map(|v| v.0).collect();
    assert_eq!(got, vec![json!("silver"), json!("gold")], "{body}");
    let (_, body) = app
        .get_json(&list("&sortField=tier&pageSize=2&pageNumber=2"))
        .await;
    let got: Vec<Value> = values(&body, "tier").into_iter().map(|v| v.0).collect();
    assert_eq!(
        got,
        vec![json!("gold"), json!("gold")],
        "bronze gold | gold gold | silver: {body}"
    );

    let (status, body) = app
        .get_json(&format!("/sheets/{sheet}/cells?fieldKey=tier&distinct=maybe"))
        .await;
    assert_eq!(status, 400, "{body}");
}

on_both!(every_records_cell_without_distinct);

//! Automap looks at a column's values before it is sure: a header that names a field
//! whose values these cannot be is a weak guess at most (probe 62c D7: `Level` holding
//! floors went to a tier, `Points of Contact` holding names to a score, both strong).

use crate::helpers::*;
use crate::map_helpers::map_job_for;
use crate::on_both;
use serde_json::{json, Value};

async fn plan_of(app: &TestApp, csv: &str) -> Value {
    let space = app.bare_space("Fit").await;
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Dest", "spaceId": space, "sheets": [{"name": "Rooms", "slug": "rooms", "fields": [
                {"key": "room", "type": "string", "label": "Room"},
                {"key": "tier", "type": "enum", "label": "Service tier", "config": {"options": [
                    {"value": "basic", "label": "Basic"}, {"value": "premium", "label": "Premium"}]}},
                {"key": "score", "type": "number", "label": "Score"},
                {"key": "opened", "type": "date", "label": "Opened"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let dest_wb = wb["data"]["id"].as_str().unwrap().to_string();
    let dest = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let job = map_job_for(app, &space, "rooms.csv", csv.as_bytes().to_vec(), &dest_wb, &dest).await;
    let (_, got) = app.get_json(&format!("/jobs/{job}/plan")).await;
    got["data"]["plan"].clone()
}

/// The certainty of the edge from `header`, if any.
fn certainty(plan: &Value, header: &str) -> Option<(String, String)> {
    plan["fieldMapping"].as_array()?.iter().find_map(|e| {
        (e["sourceField"]["label"] == header).then(|| {
            (
                e["destinationField"]["key"].as_str().unwrap().to_string(),
                e["metadata"]["certainty"].as_str().unwrap().to_string(),
            )
        })
    })
}

async fn values_that_cannot_be_the_fields_keep_a_guess_weak(db: Db) {
    let app = spawn_app(db).await;
    let wrong = plan_of(
        &app,
        "Room,Level,Points of Contact,Opened\n101,1,Ann Smith,soon\n102,2,Bob Jones,\n201,Ground floor,Cy,later\n",
    )
    .await;
    for header in ["Level", "Points of Contact"] {
        if let Some((key, how)) = certainty(&wrong, header) {
            assert_eq!(how, "weak", "{header} -> {key}: {wrong}");
        }
    }
    // A header that is the field's own name is taken at its word, whatever it holds.
    assert_eq!(
        certainty(&wrong, "Opened"),
        Some(("opened".into(), "absolute".into()))
    );
    // The same headers over values that fit are as sure as before.
    let right = plan_of(
        &app,
        "Room,Level,Points,Opened\n101,Premium,12,2024-01-05\n102,basic,$7.50,\n",
    )
    .await;
    assert_eq!(
        certainty(&right, "Level"),
        Some(("tier".into(), "strong".into())),
        "{right}"
    );
    assert_eq!(
        certainty(&right, "Points"),
        Some(("score".into(), "strong".into())),
        "{right}"
    );
    let opened = certainty(&right, "Opened").expect("Opened is mapped");
    assert_eq!(opened.0, "opened");
    assert_ne!(opened.1, "weak", "{right}");
}

on_both!(values_that_cannot_be_the_fields_keep_a_guess_weak);

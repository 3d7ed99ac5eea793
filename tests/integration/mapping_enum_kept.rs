//! An enum value a mapping translated (`Top` to `gold`) stays translated: saving another
//! cell of the record, or re-checking the sheet, reads the option the cell holds, not the
//! upload kept beside it (probe 67f D1: every mapped value went back to the file's text,
//! in error, with no history to undo it).

use crate::api_mapping::{create_map_job, setup};
use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

async fn tiers(app: &TestApp, sheet: &str) -> Vec<(Value, Value, Value)> {
    let (_, got) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    got["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let tier = &r["values"]["tier"];
            (tier["value"].clone(), tier["valid"].clone(), r["valid"].clone())
        })
        .collect()
}

async fn a_translated_enum_value_survives_other_saves_and_rechecks(db: Db) {
    let app = spawn_app(db).await;
    let csv = "E-mail,Level\nada@x.org,Top\nbob@x.org,Second\n";
    let (_, src_wb, src_sheet, dest_wb, contacts) = setup(&app, csv).await;
    let job = create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
    let plan = json!({"fieldMapping": [
        {"sourceField": {"key": "e_mail"}, "destinationField": {"key": "email"}},
        {"sourceField": {"key": "level"}, "destinationField": {"key": "tier"},
         "enumDetails": {"mapping": [{"sourceValue": "Top", "destinationValue": "gold"},
                                      {"sourceValue": "Second", "destinationValue": "silver"}]}}],
        "unmappedSourceFields": [], "unmappedDestinationFields": []});
    let (status, body) = app.put_json(&format!("/jobs/{job}/plan"), &plan).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.post_json(&format!("/jobs/{job}/execute"), &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(app.wait_job(&job).await["status"], "complete");
    let mapped = vec![
        (json!("gold"), json!(true), json!(true)),
        (json!("silver"), json!(true), json!(true)),
    ];
    assert_eq!(tiers(&app, &contacts).await, mapped);

    // Another cell of the record saved: the tier stays what the mapping made it, its
    // upload still kept beside it.
    let (_, got) = app.get_json(&format!("/sheets/{contacts}/records")).await;
    let ada = got["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let save = json!([{"id": ada, "values": {"name": {"value": "Ada"}}}]);
    let (status, body) = app.put_json(&format!("/sheets/{contacts}/records"), &save).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(tiers(&app, &contacts).await, mapped);
    let (_, got) = app.get_json(&format!("/sheets/{contacts}/records")).await;
    assert_eq!(got["data"]["records"][0]["values"]["tier"]["raw"], "Top", "{got}");
    // Nothing of the tier is in the record's history: it did not change.
    let (_, changes) = app.get_json(&format!("/sheets/{contacts}/changes")).await;
    assert!(
        changes["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["field"] != "tier"),
        "{changes}"
    );

    // The whole sheet re-checked: the same.
    let (status, body) = app
        .post_json(&format!("/sheets/{contacts}/validate"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(tiers(&app, &contacts).await, mapped);
}

on_both!(a_translated_enum_value_survives_other_saves_and_rechecks);

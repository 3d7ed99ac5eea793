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

/// Contacts mapped from a file whose levels `Top` and `Second` were translated to the
/// tiers gold and silver; the sheet's id.
async fn mapped_tiers(app: &TestApp) -> String {
    let csv = "E-mail,Level\nada@x.org,Top\nbob@x.org,Second\n";
    let (_, src_wb, src_sheet, dest_wb, contacts) = setup(app, csv).await;
    let job = create_map_job(app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
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
    contacts
}

async fn a_translated_enum_value_survives_other_saves_and_rechecks(db: Db) {
    let app = spawn_app(db).await;
    let contacts = mapped_tiers(&app).await;
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

/// The tier and the text it was uploaded as, of the first record.
async fn first_tier(app: &TestApp, sheet: &str) -> (Value, Value, Value) {
    let (_, got) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let tier = &got["data"]["records"][0]["values"]["tier"];
    (tier["value"].clone(), tier["raw"].clone(), tier["valid"].clone())
}

/// An undo gives a mapped cell back as the mapping left it, the upload beside the option
/// (probe 68f D1: the bulk change's undo brought back gold, and `Top` was gone for good).
async fn an_undo_gives_back_the_text_a_mapped_value_was_uploaded_as(db: Db) {
    let app = spawn_app(db).await;
    let contacts = mapped_tiers(&app).await;
    let as_mapped = (json!("gold"), json!("Top"), json!(true));
    assert_eq!(first_tier(&app, &contacts).await, as_mapped);
    let (_, got) = app.get_json(&format!("/sheets/{contacts}/records")).await;
    let ada = got["data"]["records"][0]["id"].as_str().unwrap().to_string();

    // A bulk change, undone.
    let set = json!({"fieldUpdates": {"tier": {"value": "silver"}}});
    let (status, answer) = app
        .patch_json(&format!("/sheets/{contacts}/records/bulk-update?ids={ada}"), &set)
        .await;
    assert_eq!(status, 200, "{answer}");
    let bulk = answer["data"]["bulkChangeId"].as_str().unwrap().to_string();
    assert_eq!(first_tier(&app, &contacts).await.0, "silver");
    let done = crate::bulk_jobs::run_bulk_job(&app, &contacts, json!({"undo": bulk})).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(first_tier(&app, &contacts).await, as_mapped);
    // Bob's tier was silver already: the bulk change left it, upload and all.
    let (_, got) = app.get_json(&format!("/sheets/{contacts}/records")).await;
    assert_eq!(
        got["data"]["records"][1]["values"]["tier"]["raw"], "Second",
        "{got}"
    );

    // A cell saved in the grid, undone from its history panel.
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    let resp = app
        .client
        .put(app.url(&format!("/grid/{contacts}/records/{ada}")))
        .header("hx-request", "true")
        .header("x-csrf-token", &csrf)
        .form(&[("field", "tier"), ("value", "silver")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(first_tier(&app, &contacts).await.0, "silver");
    let resp = crate::history_deleted::grid_undo(&app, &contacts, &ada, &csrf).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(first_tier(&app, &contacts).await, as_mapped);
}

on_both!(an_undo_gives_back_the_text_a_mapped_value_was_uploaded_as);

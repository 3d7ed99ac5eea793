//! Enum values in rows past those a mapping's plan samples: translated as the plan's own
//! would be, and as the person chose for a value the plan speaks of in another case.

use crate::api_mapping::{create_map_job, setup};
use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

/// Runs a mapping job, then reads the tiers of the records whose email says `late`.
async fn run_and_read_late_tiers(app: &TestApp, job_id: &str, contacts: &str) -> (Vec<Value>, Value) {
    let (status, _) = send(
        app.api(reqwest::Method::POST, &format!("/jobs/{job_id}/execute"))
            .header("content-length", "0"),
    )
    .await;
    assert_eq!(status, 200);
    let done = app.wait_job(job_id).await;
    assert_eq!(done["status"], "complete", "{done}");
    let (_, page) = app
        .get_json(&format!(
            "/sheets/{contacts}/records?searchValue=late&searchField=email"
        ))
        .await;
    let tiers = page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["tier"]["value"].clone())
        .collect();
    (tiers, page)
}

/// Enum values past the rows the plan samples translate as the plan's own would; a value
/// the plan leaves as it is stays so.
async fn enum_values_past_the_sample_translate_alike(db: Db) {
    let app = spawn_app(db).await;
    let mut csv = String::from("E-mail,Full Name,Tier\n");
    for i in 0..1000 {
        csv.push_str(&format!("u{i}@x.org,User {i},silver\n"));
    }
    csv.push_str("late1@x.org,Late,GOLD.\nlate2@x.org,Later,Premium!\nlate3@x.org,Last,platinum\n");
    let (_, src_wb, src_sheet, dest_wb, contacts) = setup(&app, &csv).await;
    let job_id = create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
    let (tiers, page) = run_and_read_late_tiers(&app, &job_id, &contacts).await;
    assert_eq!(
        tiers,
        vec![json!("gold"), json!("gold"), json!("platinum")],
        "{page}"
    );
}

/// A value past the sample that the plan speaks of in another case or spacing goes where
/// the person sent it (probe 66h D12: `UK` mapped to France, and the `uk` of later rows
/// went to United Kingdom, unsaid).
async fn a_value_choice_holds_past_the_sample(db: Db) {
    let app = spawn_app(db).await;
    let mut csv = String::from("E-mail,Full Name,Tier\n");
    for i in 0..1000 {
        csv.push_str(&format!("u{i}@x.org,User {i},Silver\n"));
    }
    csv.push_str("late1@x.org,Late,silver\nlate2@x.org,Later, SILVER \n");
    let (_, src_wb, src_sheet, dest_wb, contacts) = setup(&app, &csv).await;
    let job_id = create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
    let plan = json!({"fieldMapping": [
        {"sourceField": {"key": "e_mail"}, "destinationField": {"key": "email"}},
        {"sourceField": {"key": "full_name"}, "destinationField": {"key": "name"}},
        {"sourceField": {"key": "tier"}, "destinationField": {"key": "tier"},
         "enumDetails": {"mapping": [{"sourceValue": "Silver", "destinationValue": "gold"}]}}]});
    let (status, body) = app.put_json(&format!("/jobs/{job_id}/plan"), &plan).await;
    assert_eq!(status, 200, "{body}");
    let (tiers, page) = run_and_read_late_tiers(&app, &job_id, &contacts).await;
    assert_eq!(tiers, vec![json!("gold"), json!("gold")], "{page}");
}

on_both!(
    a_value_choice_holds_past_the_sample,
    enum_values_past_the_sample_translate_alike,
);

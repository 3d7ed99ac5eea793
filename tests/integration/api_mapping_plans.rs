//! Mapping plans changed after they were made: what they leave unmapped, and a plan the
//! sheets no longer fit.

use crate::api_mapping::{create_map_job, edge, setup, CSV};
use crate::helpers::*;
use crate::on_both;
use serde_json::json;

on_both!(
    a_changed_plan_lists_what_it_leaves_unmapped,
    a_plan_that_no_longer_holds_is_refused_when_run
);

/// A plan changed by PATCH or PUT lists as unmapped what its edges leave, with the previews
/// it had; one that maps nothing is refused when sent, not when run.
async fn a_changed_plan_lists_what_it_leaves_unmapped(db: Db) {
    let app = spawn_app(db).await;
    let (_, src_wb, src_sheet, dest_wb, contacts) = setup(&app, CSV).await;
    let job_id = create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
    let only_email = json!({"fieldMapping": [
        {"sourceField": {"key": "e_mail"}, "destinationField": {"key": "email"}}]});
    let (status, body) = app.patch_json(&format!("/jobs/{job_id}/plan"), &only_email).await;
    assert_eq!(status, 200, "{body}");
    let plan = &body["data"]["plan"];
    let unmapped: Vec<&str> = plan["unmappedSourceFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["sourceField"]["key"].as_str().unwrap())
        .collect();
    assert_eq!(unmapped, vec!["full_name", "age", "tier", "notes"], "{plan}");
    let name_preview = &plan["unmappedSourceFields"][0]["preview"];
    assert_eq!(name_preview, &json!(["Ada", "Bob"]), "{plan}");
    let open: Vec<&str> = plan["unmappedDestinationFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["destinationField"]["key"].as_str().unwrap())
        .collect();
    assert!(
        open.contains(&"name") && open.contains(&"age") && !open.contains(&"email"),
        "{plan}"
    );
    let (status, body) = app.put_json(&format!("/jobs/{job_id}/plan"), &only_email).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .put_json(&format!("/jobs/{job_id}/plan"), &json!({"fieldMapping": []}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("maps no column"), "{body}");
    // Values are translated into an enum's options only: a text field took any value,
    // an object as its JSON text (probe 65c D1).
    let translated = json!({"fieldMapping": [
        {"sourceField": {"key": "e_mail"}, "destinationField": {"key": "email"}},
        {"sourceField": {"key": "full_name"}, "destinationField": {"key": "name"},
         "enumDetails": {"mapping": [{"sourceValue": "Ada", "destinationValue": {"x": 1}}]}}]});
    let (status, body) = app.put_json(&format!("/jobs/{job_id}/plan"), &translated).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("no enum field"), "{body}");
}

/// A plan that no longer holds is refused when it is run, saying why, rather than run into
/// a failed job (probe 64a D5); the job waits for a plan that holds.
async fn a_plan_that_no_longer_holds_is_refused_when_run(db: Db) {
    let app = spawn_app(db).await;
    let (_, src_wb, src_sheet, dest_wb, contacts) = setup(&app, CSV).await;
    let job_id = create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
    let (_, got) = app.get_json(&format!("/jobs/{job_id}/plan")).await;
    assert!(edge(&got["data"]["plan"], "Full Name").is_some(), "{got}");
    let (status, body) = app.delete(&format!("/sheets/{contacts}/fields/name")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(&format!("/jobs/{job_id}/execute"), &json!({}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("no field `name`"), "{body}");
    let (_, job) = app.get_json(&format!("/jobs/{job_id}")).await;
    assert_eq!(job["data"]["status"], "planning", "{job}");
    let (_, page) = app.get_json(&format!("/sheets/{contacts}/records")).await;
    assert_eq!(page["data"]["records"], json!([]), "nothing written");
}

//! What a request names inside a job is checked as the job itself is: a guest's subject
//! names only its own sheet's records, a mapping's new config only sheets it may map, and
//! a space config lands only in the key's own environment.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

fn blueprint_with_sheet_action() -> Value {
    let mut bp = contacts_blueprint();
    bp["workbooks"][0]["sheets"][1]["actions"] =
        json!([{"label": "Check", "operation": "check", "mode": "background"}]);
    bp
}

/// A space from the blueprint with one record in contacts: (space id, contacts id, record id).
async fn space_with_a_record(app: &TestApp, config: &str) -> (String, String, String) {
    let (_, space) = app
        .post_json("/spaces", &json!({"name": "S", "spaceConfigId": config}))
        .await;
    let space = space["data"].clone();
    let contacts = app.sheet_id(&space, "contacts").await;
    let (_, body) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": "a@x.io"}]),
        )
        .await;
    let record = body["data"]["records"][0]["id"].as_str().unwrap().to_string();
    (space["id"].as_str().unwrap().to_string(), contacts, record)
}

async fn a_guests_subject_names_only_its_sheets_records(db: Db) {
    let app = spawn_app(db).await;
    let (_, config) = app
        .post_json("/space-configs", &blueprint_with_sheet_action())
        .await;
    let config = config["data"]["id"].as_str().unwrap().to_string();
    let (space_a, contacts_a, record_a) = space_with_a_record(&app, &config).await;
    let (_, contacts_b, record_b) = space_with_a_record(&app, &config).await;
    let (_, guest) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id, "email": "g@partner.com", "name": "Gus",
                     "spaces": [{"id": space_a}]}]),
        )
        .await;
    let gid = guest["data"][0]["id"].as_str().unwrap();
    let (_, token) = app
        .get_json(&format!("/guests/{gid}/token?spaceId={space_a}"))
        .await;
    let token = token["data"]["token"].as_str().unwrap().to_string();
    let as_guest = |body: Value| {
        send(
            app.client
                .post(app.url("/v1/jobs"))
                .bearer_auth(&token)
                .json(&body),
        )
    };
    let job = |subject: Value| json!({"type": "sheet", "operation": "check", "source": contacts_a, "subject": subject});
    let (status, body) = as_guest(job(json!({"type": "collection", "resource": "records",
                                              "query": {"ids": [record_b]}})))
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("not this sheet's"), "{body}");
    let (status, body) = as_guest(job(json!({"type": "resource", "id": contacts_b}))).await;
    assert_eq!(status, 422, "{body}");
    // Its own record, with a member Flatfile's subject has not: kept to Flatfile's shape.
    let (status, body) = as_guest(job(json!({"type": "collection", "resource": "records",
                                              "query": {"ids": [record_a], "sheet": contacts_b}})))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["subject"],
        json!({"type": "collection", "resource": "records", "query": {"ids": [record_a]}})
    );
    let (_, jobs) = app.get_json(&format!("/jobs?spaceId={space_a}")).await;
    assert_eq!(jobs["data"].as_array().unwrap().len(), 1, "{jobs}");
}

async fn a_mappings_new_config_is_checked(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let (_, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let companies = app.sheet_id(&space, "companies").await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let other = app.space_from_blueprint().await;
    let elsewhere = app.sheet_id(&other, "contacts").await;
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "map", "source": wb, "destination": wb,
                    "config": {"sourceSheetId": companies, "destinationSheetId": contacts}}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let id = job["data"]["id"].as_str().unwrap();
    for config in [
        json!({"sourceSheetId": "garbage", "destinationSheetId": contacts}),
        json!({"sourceSheetId": companies, "destinationSheetId": elsewhere}),
    ] {
        let (status, body) = app
            .patch_json(&format!("/jobs/{id}"), &json!({"config": config}))
            .await;
        assert_eq!(status, 422, "{config}: {body}");
    }
    let (_, kept) = app.get_json(&format!("/jobs/{id}")).await;
    assert_eq!(kept["data"]["config"]["destinationSheetId"], contacts.as_str());
    // Other sheets of the workbook: taken, with a plan made for them.
    let (status, body) = app
        .patch_json(
            &format!("/jobs/{id}"),
            &json!({"config": {"sourceSheetId": contacts, "destinationSheetId": companies}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, plan) = app.get_json(&format!("/jobs/{id}/plan")).await;
    assert!(plan.to_string().contains(&companies), "{plan}");
    let (status, body) = app
        .patch_json(
            &format!("/jobs/{id}"),
            &json!({"estimatedCompletionAt": "not a date"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("estimatedCompletionAt `not a date`"),
        "{body}"
    );
}

async fn a_space_config_lands_in_the_keys_environment(db: Db) {
    let app = spawn_app(db).await;
    let mut bp = contacts_blueprint();
    bp["environmentId"] = json!(app.env_id);
    let production = app.production_key();
    let (status, body) = send(
        app.client
            .post(app.url("/v1/space-configs"))
            .bearer_auth(&production)
            .json(&bp),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = app.post_json("/space-configs", &bp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["environmentId"], json!(app.env_id));
}

async fn the_deploy_page_explains_a_form_it_cannot_read(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let token = app.csrf("/space-configs").await;
    let resp = app
        .client
        .post(app.url("/space-configs"))
        .form(&[("csrf_token", token.as_str()), ("blueprint", "{}")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let text = resp.text().await.unwrap();
    assert!(text.contains("multipart/form-data"), "{text}");
}

/// Wharf's re-check after a field change keeps counts true: it is not canceled halfway.
async fn a_recheck_cannot_be_canceled(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    app.post_json(
        &format!("/sheets/{contacts}/records"),
        &json!([{"email": "a@x.io"}]),
    )
    .await;
    let (status, body) = app.delete(&format!("/sheets/{contacts}/fields/name")).await;
    assert_eq!(status, 200, "{body}");
    let job = body["data"]["jobId"].as_str().unwrap().to_string();
    let (status, body) = app.post_json(&format!("/jobs/{job}/cancel"), &json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("cannot be canceled"), "{body}");
    let done = app.wait_job(&job).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert!(
        done["outcome"]["message"]
            .as_str()
            .unwrap()
            .contains("Checked 1 record"),
        "{done}"
    );
}

/// A bulk change's config changes only before it starts, and is checked as a new job's
/// is, its undo included (probe 51a F6: a running job's new config was kept and not done).
async fn a_bulk_changes_config_changes_only_before_it_starts(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let (_, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let contacts = app.sheet_id(&space, "contacts").await;
    let config = json!({"sheet": contacts, "changes": [{"field": "name", "set": "AAA"}]});
    let job = |status: &str| json!({"type": "workbook", "operation": "bulk-change", "source": wb, "config": config, "status": status});
    let (status, made) = app.post_json("/jobs", &job("created")).await;
    assert_eq!(status, 200, "{made}");
    let id = made["data"]["id"].as_str().unwrap().to_string();
    let undo = json!({"config": {"sheet": contacts, "undo": "us_bk_nothere1"}});
    let (status, body) = app.patch_json(&format!("/jobs/{id}"), &undo).await;
    assert_eq!(status, 422, "an undo of nothing: {body}");
    let set = json!({"config": {"sheet": contacts, "changes": [{"field": "name", "set": "BBB"}]}});
    let (status, body) = app.patch_json(&format!("/jobs/{id}"), &set).await;
    assert_eq!(status, 200, "{body}");
    let (status, started) = app.post_json("/jobs", &job("ready")).await;
    assert_eq!(status, 200, "{started}");
    let id = started["data"]["id"].as_str().unwrap().to_string();
    let (status, body) = app.patch_json(&format!("/jobs/{id}"), &set).await;
    assert_eq!(status, 409, "{body}");
    let (_, kept) = app.get_json(&format!("/jobs/{id}")).await;
    assert_eq!(kept["data"]["config"]["changes"][0]["set"], "AAA", "{kept}");
}

on_both!(
    a_bulk_changes_config_changes_only_before_it_starts,
    a_recheck_cannot_be_canceled,
    a_guests_subject_names_only_its_sheets_records,
    a_mappings_new_config_is_checked,
    a_space_config_lands_in_the_keys_environment,
    the_deploy_page_explains_a_form_it_cannot_read,
);

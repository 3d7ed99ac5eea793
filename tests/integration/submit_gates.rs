//! A Submit and "Run again" are held to what holds their button back (constraints,
//! records still being checked) when they run, not only when they were asked for
//! (probe 66a D3, D5).

use crate::actions_grid::{click, jobs_of, signed_in};
use crate::helpers::*;
use crate::on_both;
use crate::submit::{hook_with_slug, submit_action, wait_job_until, workbook_with_actions};
use crate::submit_receiver::Receiver;
use serde_json::{json, Value};
use std::time::Duration;

/// Deletes the listener workbook's record without an email, so every record is valid.
async fn only_valid_records(app: &TestApp, contacts: &str) {
    let (_, bad) = app
        .get_json(&format!("/sheets/{contacts}/records?filter=error"))
        .await;
    let id = bad["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = send(app.api(
        reqwest::Method::DELETE,
        &format!("/sheets/{contacts}/records?ids={id}"),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
}

/// A guest's Submit of the workbook, asked for (200); its job's id.
async fn guest_submit(app: &TestApp, guest: &str, wb: &str) -> String {
    let submit = json!({"type": "workbook", "operation": "submit", "source": wb, "trigger": "immediate"});
    let (status, job) = send(
        app.client
            .post(app.url("/v1/jobs"))
            .bearer_auth(guest)
            .json(&submit),
    )
    .await;
    assert_eq!(status, 200, "{job}");
    job["data"]["id"].as_str().unwrap().to_string()
}

/// Starts the workers, waits for the Submit `id` to end, checks it failed and that
/// nothing reached `receiver`; its info.
async fn failed_with_nothing_sent(app: &TestApp, receiver: &Receiver, id: &str) -> String {
    app.start_workers();
    let job = wait_job_until(app, id, 60, |j| {
        j["status"] == "failed" || j["status"] == "complete"
    })
    .await;
    assert_eq!(job["status"], "failed", "{job}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.got().is_empty(), "{:?}", receiver.got());
    job["info"].as_str().unwrap_or_default().to_string()
}

/// A guest's Submit asked for while every record was valid, then a record emptied before a
/// worker took the job: nothing is sent, and the job says why (the records in error went
/// out before).
async fn a_submit_asks_its_buttons_checks_again_as_it_freezes(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let receiver = Receiver::start();
    hook_with_slug(&app, &receiver.url, "crm").await;
    let mut action = submit_action("crm");
    action["constraints"] = json!([{"type": "hasAllValid"}]);
    let (wb, contacts, space) = workbook_with_actions(&app, json!([action])).await;
    only_valid_records(&app, &contacts).await;
    let guest = crate::job_helpers::guest_token(&app, &space).await;
    let as_guest = |method: reqwest::Method, path: &str| {
        app.client
            .request(method, app.url(&format!("/v1{path}")))
            .bearer_auth(&guest)
    };
    let id = guest_submit(&app, &guest, &wb).await;
    let (_, records) = app.get_json(&format!("/sheets/{contacts}/records")).await;
    let ada = records["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = send(
        as_guest(reqwest::Method::PUT, &format!("/sheets/{contacts}/records"))
            .json(&json!([{"id": ada, "values": {"email": {"value": null}}}])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let info = failed_with_nothing_sent(&app, &receiver, &id).await;
    assert!(
        info.contains("Nothing was sent") && info.contains("errors"),
        "{info}"
    );
}

/// A guest's Submit whose action the team took away before a worker took it sends
/// nothing (probe 66g D6: with no action left to judge it by, it went unchecked).
async fn a_submit_whose_action_was_taken_away_sends_nothing(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let receiver = Receiver::start();
    hook_with_slug(&app, &receiver.url, "crm").await;
    let (wb, contacts, space) = workbook_with_actions(&app, json!([submit_action("crm")])).await;
    only_valid_records(&app, &contacts).await;
    let guest = crate::job_helpers::guest_token(&app, &space).await;
    let id = guest_submit(&app, &guest, &wb).await;
    let (status, body) = app
        .patch_json(&format!("/workbooks/{wb}"), &json!({"actions": []}))
        .await;
    assert_eq!(status, 200, "{body}");
    let info = failed_with_nothing_sent(&app, &receiver, &id).await;
    assert!(info.contains("taken away"), "{info}");
}

/// "Run again" on a failed action job in the grid is a click: refused (409) while the
/// button is off, and taken once it is on again.
async fn run_again_in_the_grid_is_held_to_the_buttons_checks(db: Db) {
    let app = spawn_app(db).await;
    let action = json!({"label": "Export", "operation": "export", "mode": "foreground",
                        "constraints": [{"type": "hasAllValid"}]});
    let (wb, contacts, _) = workbook_with_actions(&app, json!([action])).await;
    only_valid_records(&app, &contacts).await;
    let token = signed_in(&app, &wb).await;
    let fields = [
        ("csrf_token", token.as_str()),
        ("scope", "workbook"),
        ("operation", "export"),
    ];
    let (status, body) = click(&app, &contacts, &fields).await;
    assert_eq!(status, 200, "{body}");
    let id = jobs_of(&app).await[0]["id"].as_str().unwrap().to_string();
    let (status, body) = app.post_json(&format!("/jobs/{id}/fail"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        app.api(reqwest::Method::POST, &format!("/sheets/{contacts}/records"))
            .json(&json!([{"name": "No email"}])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let again = || async {
        let resp = app
            .client
            .post(app.url(&format!("/grid/jobs/{id}/retry")))
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    };
    let (status, body) = again().await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("errors"), "{body}");
    let (_, job) = app.get_json(&format!("/jobs/{id}")).await;
    assert_eq!(job["data"]["status"], "failed", "{job}");
    only_valid_records(&app, &contacts).await;
    let (status, body) = again().await;
    assert_eq!(status, 200, "{body}");
    let (_, job): (u16, Value) = app.get_json(&format!("/jobs/{id}")).await;
    assert_eq!(job["data"]["status"], "ready", "{job}");
}

on_both!(
    a_submit_asks_its_buttons_checks_again_as_it_freezes,
    a_submit_whose_action_was_taken_away_sends_nothing,
    run_again_in_the_grid_is_held_to_the_buttons_checks,
);

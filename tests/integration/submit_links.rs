//! Submit's bad shapes and its records link: a `deliverTo` no webhook has fails the job
//! with nothing sent; slugs are checked; the signed `recordsUrl` serves the frozen records
//! (JSON Lines, CSV) and nothing once expired, altered, or of another submission; only
//! admins send a submission again; a sheet action delivers just its selection.

use crate::helpers::*;
use crate::listener::workbook_with_records;
use crate::on_both;
use crate::submit::{hook_with_slug, submit_action, submit_ready, wait_job_until};
use crate::submit_receiver::Receiver;
use serde_json::{json, Value};
use std::time::Duration;

/// Starts a Submit of the workbook through the API; returns the job as it ended.
async fn submit_via_api(app: &TestApp, wb: &str) -> Value {
    let body = json!({"type": "workbook", "operation": "submit", "source": wb, "trigger": "immediate"});
    let (status, job) = app.post_json("/jobs", &body).await;
    assert_eq!(status, 200, "{job}");
    let id = job["data"]["id"].as_str().unwrap().to_string();
    wait_job_until(app, &id, 30, |j| {
        j["status"] == "complete" || j["status"] == "failed"
    })
    .await
}

async fn get(url: &str) -> (u16, String) {
    let resp = reqwest::get(url).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn a_missing_slug_fails_the_job_and_sends_nothing(db: Db) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start();
    hook_with_slug(&app, &receiver.url, "crm").await;
    let (wb, _) = workbook_with_records(&app).await;

    // Bad shapes are refused where they are written.
    let (status, body) = app
        .patch_json(
            &format!("/workbooks/{wb}"),
            &json!({"actions": [{"label": "Submit", "operation": "submit", "deliverTo": 5}]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("deliverTo"), "{body}");
    let (status, body) = app
        .post_json("/webhooks", &json!({"url": receiver.url, "slug": "Not A Slug"}))
        .await;
    assert!(status == 400 || status == 422, "{status} {body}");
    assert!(body.to_string().contains("is not a slug"), "{body}");
    let (status, body) = app
        .post_json("/webhooks", &json!({"url": receiver.url, "slug": "crm"}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("`crm` is already"), "{body}");
    let (_, other) = app.post_json("/webhooks", &json!({"url": receiver.url})).await;
    let other_id = other["data"]["id"].as_str().unwrap();
    let (status, _) = app
        .patch_json(&format!("/webhooks/{other_id}"), &json!({"slug": "crm"}))
        .await;
    assert_eq!(status, 409, "another's slug");
    let (status, body) = app
        .patch_json(&format!("/webhooks/{other_id}"), &json!({"slug": "erp"}))
        .await;
    assert_eq!((status, &body["data"]["slug"]), (200, &json!("erp")));
    let (_, body) = app
        .patch_json(&format!("/webhooks/{other_id}"), &json!({"slug": ""}))
        .await;
    assert_eq!(body["data"]["slug"], Value::Null, "an empty slug removes it");
    // The Webhooks page shows slugs and edits them, with the same checks.
    app.make_user("admin@acme.com", true);
    app.sign_in("admin@acme.com", PASSWORD).await;
    let token = app.csrf("/webhooks").await;
    let page = app.page("/webhooks").await;
    assert!(page.contains("value=\"crm\""), "the slug is shown");
    let set = |slug: &'static str| {
        let path = format!("/webhooks/{other_id}/slug");
        let token = token.clone();
        let app = &app;
        async move {
            let resp = app
                .client
                .post(app.url(&path))
                .form(&[("csrf_token", token.as_str()), ("slug", slug)])
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    let (status, html) = set("crm").await;
    assert_eq!(status, 422, "taken");
    assert!(html.contains("is already"), "{html}");
    let (status, _) = set("billing").await;
    assert!(status < 400, "{status}");
    let (_, hook) = app.get_json(&format!("/webhooks/{other_id}")).await;
    assert_eq!(hook["data"]["slug"], "billing");

    // The slug is looked up when the job runs: none has it, the job fails, nothing goes.
    app.patch_json(
        &format!("/workbooks/{wb}"),
        &json!({"actions": [submit_action("nowhere")]}),
    )
    .await;
    let job = submit_via_api(&app, &wb).await;
    assert_eq!(job["status"], "failed", "{job}");
    let message = job["outcome"]["message"].as_str().unwrap();
    assert!(message.contains("No webhook has the slug `nowhere`"), "{message}");
    assert!(message.contains("nothing was sent"), "{message}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(receiver.got().is_empty(), "nothing was sent");
}

async fn the_records_link_serves_only_its_own_submission_until_it_expires(db: Db) {
    let app = spawn_app(db).await;
    let (receiver, wb, contacts) = submit_ready(&app).await;
    let first = submit_via_api(&app, &wb).await;
    assert_eq!(first["status"], "complete", "{first}");
    let second = submit_via_api(&app, &wb).await;
    assert_eq!(second["status"], "complete", "{second}");
    let got = receiver.wait_for(2, 10).await;
    assert_ne!(got[0].webhook_id, got[1].webhook_id, "two submissions");
    let link_of = |n: usize| -> String {
        got[n].json()["data"]["sheets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == contacts.as_str())
            .unwrap()["recordsUrl"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let link = link_of(0);

    // JSON Lines, and CSV.
    let (status, body) = get(&link).await;
    assert_eq!(status, 200, "{body}");
    let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["values"]["email"], "ada@acme.com");
    let (status, csv) = get(&format!("{link}&format=csv")).await;
    assert_eq!(status, 200, "{csv}");
    let mut rows = csv.lines();
    assert!(rows.next().unwrap().starts_with("id,email,name"), "{csv}");
    assert!(rows.next().unwrap().contains("ada@acme.com"));
    // The link takes no credential: a revoked key the receiver's client sends anyway is
    // not what decides.
    let with_stale_key = app
        .client
        .get(&link)
        .bearer_auth("sk_revoked_long_ago")
        .send()
        .await
        .unwrap();
    assert_eq!(with_stale_key.status().as_u16(), 200);

    // A changed signature, another submission's path, an expired link: nothing.
    let altered = if link.ends_with('0') {
        format!("{}1", &link[..link.len() - 1])
    } else {
        format!("{}0", &link[..link.len() - 1])
    };
    let (status, body) = get(&altered).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("signature does not match"), "{body}");
    let theirs = link_of(1).replace(&got[1].webhook_id, &got[0].webhook_id);
    let (status, body) = get(&theirs).await;
    assert_eq!(status, 403, "another submission's link: {body}");
    assert!(!body.contains("ada@acme.com"));
    let (key, expired_sig) = {
        let mut conn = app.pool.get().unwrap();
        let key = wharf::model::submission::link_key(&mut conn).unwrap();
        let id = wharf::ids::SubmissionId(got[0].webhook_id.clone());
        let past = chrono::Utc::now().timestamp() - 60;
        (
            key.clone(),
            (
                past,
                wharf::model::submission::link_signature(&key, &id, &contacts, past),
            ),
        )
    };
    let base = link.split('?').next().unwrap();
    let (status, body) = get(&format!(
        "{base}?expires={}&signature={}",
        expired_sig.0, expired_sig.1
    ))
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("expired"), "{body}");
    // Signed rightly for a sheet that is not in the submission: not found.
    let id = wharf::ids::SubmissionId(got[0].webhook_id.clone());
    let later = chrono::Utc::now().timestamp() + 60;
    let sig = wharf::model::submission::link_signature(&key, &id, "us_sh_nothere", later);
    let (status, _) = get(&format!(
        "{}/v1/submissions/{id}/sheets/us_sh_nothere/records?expires={later}&signature={sig}",
        app.base
    ))
    .await;
    assert_eq!(status, 404);

    // Only an admin sends it again; the copy carries the same webhook-id.
    let space = first["spaceId"].as_str().unwrap();
    let send_path = format!("/spaces/{space}/submissions/{}/send", got[0].webhook_id);
    app.make_user("member@acme.com", false);
    app.sign_in("member@acme.com", PASSWORD).await;
    let token = app.csrf(&format!("/spaces/{space}")).await;
    let refused = app
        .client
        .post(app.url(&send_path))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let block = app.page(&format!("/spaces/{space}/submissions")).await;
    assert!(!block.contains("Send again"), "members see no button");
    app.make_user("admin@acme.com", true);
    app.sign_in("admin@acme.com", PASSWORD).await;
    let token = app.csrf(&format!("/spaces/{space}")).await;
    let sent = app
        .client
        .post(app.url(&send_path))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(
        sent.status().is_success() || sent.status().is_redirection(),
        "{}",
        sent.status()
    );
    let again = receiver.wait_for(3, 10).await;
    assert_eq!(
        again[2].webhook_id, got[0].webhook_id,
        "the same submission, the same id"
    );
}

async fn a_sheet_action_delivers_just_its_selection(db: Db) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start();
    hook_with_slug(&app, &receiver.url, "crm").await;
    let space = app.space_from_blueprint().await;
    let mut bp = contacts_blueprint();
    bp["workbooks"][0]["sheets"][1]["actions"] = json!([submit_action("crm")]);
    let sheets = bp["workbooks"][0]["sheets"].clone();
    let (status, made) = app
        .post_json(
            "/workbooks",
            &json!({"name": "With Submit", "spaceId": space["id"], "sheets": sheets}),
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let wb = made["data"]["id"].as_str().unwrap().to_string();
    let contacts = made["data"]["sheets"][1]["id"].as_str().unwrap().to_string();
    let (_, recs) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": "a@x.com", "name": "A"}, {"email": "b@x.com", "name": "B"}]),
        )
        .await;
    let picked = recs["data"]["records"][1]["id"].as_str().unwrap().to_string();
    app.make_user("admin@acme.com", true);
    app.sign_in("admin@acme.com", PASSWORD).await;
    let token = app.csrf(&format!("/workbooks/{wb}")).await;
    let clicked = app
        .client
        .post(app.url(&format!("/grid/{contacts}/actions")))
        .header("HX-Request", "true")
        .form(&[
            ("csrf_token", token.as_str()),
            ("scope", "sheet"),
            ("operation", "submit"),
            ("ids", picked.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(clicked.status(), 200, "{}", clicked.text().await.unwrap());
    let got = receiver.wait_for(1, 30).await;
    let sheets = got[0].json()["data"]["sheets"].clone();
    assert_eq!(sheets.as_array().unwrap().len(), 1, "just the sheet: {sheets}");
    assert_eq!(sheets[0]["counts"]["total"], 1);
    assert_eq!(sheets[0]["records"][0]["id"], picked.as_str());
    assert_eq!(sheets[0]["records"][0]["values"]["name"], "B");
}

on_both!(
    a_missing_slug_fails_the_job_and_sends_nothing,
    the_records_link_serves_only_its_own_submission_until_it_expires,
    a_sheet_action_delivers_just_its_selection,
);

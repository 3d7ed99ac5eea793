//! The built-in Submit: an action `{operation: "submit", deliverTo: "<slug>"}` freezes the
//! workbook's records and delivers them, signed, to the webhook with that slug, retrying
//! until a 2xx; the receiver's rejections land on the records and the outcome says so.
//! Bad shapes and the records link: submit_links.rs; a kill during the retries:
//! submit_crash.rs.

use crate::helpers::*;
use crate::listener::workbook_with_records;
use crate::on_both;
use crate::submit_receiver::Receiver;
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) fn submit_action(slug: &str) -> Value {
    json!({"label": "Submit", "operation": "submit", "deliverTo": slug, "primary": true,
           "mode": "foreground", "description": "Send everything to the CRM"})
}

/// A webhook with `slug` to the receiver; returns it (with its secret).
pub(crate) async fn hook_with_slug(app: &TestApp, url: &str, slug: &str) -> Value {
    let body = json!({"url": url, "slug": slug, "topics": ["job:completed"]});
    let (status, hook) = app.post_json("/webhooks", &body).await;
    assert_eq!(status, 200, "{hook}");
    assert_eq!(hook["data"]["slug"], slug);
    hook["data"].clone()
}

/// Polls a job until `done` holds (up to `seconds`).
pub(crate) async fn wait_job_until(
    app: &TestApp,
    id: &str,
    seconds: u64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..seconds * 10 {
        last = app.get_json(&format!("/jobs/{id}")).await.1["data"].take();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the job never got there: {last}");
}

/// The listener tests' workbook with these workbook `actions`: (workbook, contacts sheet,
/// space).
pub(crate) async fn workbook_with_actions(app: &TestApp, actions: Value) -> (String, String, String) {
    let (wb, contacts) = workbook_with_records(app).await;
    let (status, body) = app
        .patch_json(&format!("/workbooks/{wb}"), &json!({"actions": actions}))
        .await;
    assert_eq!(status, 200, "{body}");
    let space = body["data"]["spaceId"].as_str().unwrap().to_string();
    (wb, contacts, space)
}

/// The Rejection answer for these records (by id), one message on `email` each.
fn rejections(sheet: &str, ids: &[&str]) -> String {
    let records: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "values": [{"field": "email", "message": "the CRM knows no such address"}]}))
        .collect();
    json!({"rejections": {"id": "rj_1", "message": "2 contacts bounced", "deleteSubmitted": false,
           "sheets": [{"sheetId": sheet, "rejectedRecords": records}]}})
    .to_string()
}

async fn a_submit_is_retried_until_delivered_and_marks_the_rejected_records(db: Db) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start();
    let hook = hook_with_slug(&app, &receiver.url, "crm").await;
    let secret = hook["secret"].as_str().unwrap().to_string();
    let (wb, contacts) = workbook_with_records(&app).await;
    let (status, body) = app
        .patch_json(
            &format!("/workbooks/{wb}"),
            &json!({"actions": [submit_action("crm")]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["actions"][0]["deliverTo"], "crm",
        "kept beside Flatfile's keys"
    );
    let (_, records) = app.get_json(&format!("/sheets/{contacts}/records")).await;
    let ids: Vec<String> = records["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    // The first try waits 2 s for its 503, so the edit below lands while it waits, after
    // the freeze and before the rejections (on a loaded machine the retry, 5 s after the
    // 503, came before the edit, and the edit took the receiver's message off: a flaky
    // test, not what it checks).
    receiver.answer_next_after(Duration::from_secs(2), 503, "busy");
    receiver.answer_next(&[(200, &rejections(&contacts, &[&ids[0], &ids[1]]))]);

    // A click in the grid, by a signed-in admin.
    app.make_user("admin@acme.com", true);
    app.sign_in("admin@acme.com", PASSWORD).await;
    let token = app.csrf(&format!("/workbooks/{wb}")).await;
    let clicked = app
        .client
        .post(app.url(&format!("/grid/{contacts}/actions")))
        .header("HX-Request", "true")
        .form(&[
            ("csrf_token", token.as_str()),
            ("scope", "workbook"),
            ("operation", "submit"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(clicked.status(), 200, "{}", clicked.text().await.unwrap());
    let (_, jobs) = app.get_json("/jobs?pageSize=10").await;
    let job = jobs["data"][0].clone();
    assert_eq!(
        (job["type"].as_str(), job["operation"].as_str()),
        (Some("workbook"), Some("submit"))
    );
    assert_eq!(job["config"]["deliverTo"], "crm");
    let job_id = job["id"].as_str().unwrap().to_string();

    // An edit after the click changes nothing of what is delivered: the records are frozen.
    let first = receiver.wait_for(1, 30).await;
    let (status, body) = app
        .put_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"id": ids[0], "values": {"name": {"value": "Changed later"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The first try is answered 503: the job stays executing and says why and when.
    let waiting = wait_job_until(&app, &job_id, 10, |j| {
        j["info"].as_str().is_some_and(|i| i.contains("503"))
    })
    .await;
    // Quiet while it waits for the next try, Wharf's own job is not said to have gone
    // quiet (probe 76b D5: "Cancel stops it if its code is gone").
    {
        use diesel::prelude::*;
        use wharf::db::schema::jobs;
        let long_ago = chrono::Utc::now().naive_utc() - chrono::TimeDelta::minutes(5);
        let mut conn = app.pool.get().unwrap();
        diesel::update(jobs::table.find(&job_id))
            .set(jobs::updated_at.eq(long_ago))
            .execute(&mut conn)
            .unwrap();
    }
    let card = app.page(&format!("/grid/jobs/{job_id}")).await;
    assert!(card.contains("Running") && !card.contains("Last moved"), "{card}");
    assert_eq!(waiting["status"], "executing");
    assert!(
        waiting["info"]
            .as_str()
            .unwrap()
            .contains("the receiver answered 503; next try at"),
        "{waiting}"
    );

    let got = receiver.wait_for(2, 30).await;
    let done = wait_job_until(&app, &job_id, 30, |j| j["status"] != "executing").await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(got.len(), 2, "delivered once after the 503");
    for g in &got {
        assert!(g.signed_by(&secret), "every copy is signed");
        assert_eq!(
            g.webhook_id, first[0].webhook_id,
            "the same webhook-id on every try"
        );
    }
    let payload = got[1].json();
    assert_eq!(payload["type"], "workbook.submitted");
    assert_eq!(payload["data"]["submissionId"], got[1].webhook_id.as_str());
    assert_eq!(payload["data"]["workbook"]["id"], wb.as_str());
    let sheets = payload["data"]["sheets"].as_array().unwrap();
    let sheet = sheets.iter().find(|s| s["id"] == contacts.as_str()).unwrap();
    assert_eq!(sheet["slug"], "contacts");
    assert_eq!(sheet["counts"]["total"], 2);
    assert_eq!(sheet["counts"]["error"], 1);
    let delivered = sheet["records"].as_array().unwrap();
    assert_eq!(delivered.len(), 2, "records inline");
    let ada = delivered.iter().find(|r| r["id"] == ids[0].as_str()).unwrap();
    assert_eq!(ada["values"]["name"], "Ada", "as it was at the click: {ada}");
    assert_eq!(ada["values"]["email"], "ada@acme.com");
    let nameless = delivered.iter().find(|r| r["id"] == ids[1].as_str()).unwrap();
    assert_eq!(nameless["messages"][0]["field"], "email", "{nameless}");
    assert!(sheet["recordsUrl"].as_str().unwrap().contains("signature="));

    // The outcome: how many went, how many came back, and where they are.
    let outcome = &done["outcome"];
    let message = outcome["message"].as_str().unwrap();
    assert!(
        message.contains("2 records went to crm; 2 came back rejected"),
        "{message}"
    );
    assert!(
        message.contains("2 contacts bounced"),
        "the receiver's words: {message}"
    );
    assert_eq!(outcome["next"]["type"], "id");
    assert_eq!(outcome["next"]["id"], wb.as_str());
    assert_eq!(outcome["next"]["query"], format!("sheet={contacts}&filter=error"));

    // Both records carry the receiver's message, from `submit`.
    let (_, records) = app.get_json(&format!("/sheets/{contacts}/records")).await;
    for r in records["data"]["records"].as_array().unwrap() {
        let messages = r["values"]["email"]["messages"].as_array().unwrap();
        assert!(
            messages.iter().any(|m| m["source"] == "submit"
                && m["type"] == "error"
                && m["message"] == "the CRM knows no such address"),
            "{r}"
        );
        assert_eq!(r["valid"], false);
    }

    // The grid shows the outcome, with the link to the rejected records.
    let html = app.page(&format!("/workbooks/{wb}?sheet={contacts}")).await;
    assert!(html.contains("came back rejected"), "{html}");
    assert!(html.contains("See the rejected records"));
    let view = format!("/workbooks/{wb}?sheet={contacts}&filter=error");
    assert!(html.contains(&view.replace('&', "&#38;")), "{html}");
    // Followed, the link reads the outcome: its dialog does not come back over the view it
    // opened (probe 67f D2).
    let csrf = app.csrf(&format!("/workbooks/{wb}?sheet={contacts}")).await;
    let job = done["id"].as_str().unwrap();
    let resp = app
        .client
        .post(app.url(&format!("/grid/jobs/{job}/ack")))
        .form(&[("csrf_token", csrf.as_str()), ("next", view.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(resp.headers()["location"], view.as_str());
    let html = app.page(&view).await;
    assert!(!html.contains("came back rejected"), "{html}");

    // The space's Activity lists the submission with its tries.
    let space = done["spaceId"].as_str().unwrap();
    let activity = app.page(&format!("/spaces/{space}?tab=activity")).await;
    assert!(
        activity.contains(&format!("/spaces/{space}/submissions")),
        "the block is loaded"
    );
    let block = app.page(&format!("/spaces/{space}/submissions")).await;
    assert!(block.contains("delivered: 2 sent, 2 rejected"), "{block}");
    assert!(block.contains("the receiver answered 503"));
    assert!(block.contains("answered 200"));
    assert!(block.contains("Send again"), "an admin may send it again");
}

on_both!(a_submit_is_retried_until_delivered_and_marks_the_rejected_records);

/// A receiver, a webhook `crm` to it, and a workbook of records whose Submit delivers there;
/// returns (receiver, workbook, contacts sheet).
pub async fn submit_ready(app: &TestApp) -> (Receiver, String, String) {
    let receiver = Receiver::start();
    hook_with_slug(app, &receiver.url, "crm").await;
    let (wb, contacts) = workbook_with_records(app).await;
    let (status, body) = app
        .patch_json(
            &format!("/workbooks/{wb}"),
            &json!({"actions": [submit_action("crm")]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (receiver, wb, contacts)
}

/// When every try fails the job fails, saying so; an admin's "Send again" runs it again
/// (the same id) and it completes.
async fn exhausted_tries_fail_the_job_and_an_admin_can_send_it_again(db: Db) {
    use diesel::prelude::*;
    use wharf::db::schema::submissions;
    let app = spawn_app(db).await;
    let (receiver, wb, _) = submit_ready(&app).await;
    receiver.answer_next(&[(502, ""), (502, "")]);
    let body = json!({"type": "workbook", "operation": "submit", "source": wb, "trigger": "immediate"});
    let (_, job) = app.post_json("/jobs", &body).await;
    let job_id = job["data"]["id"].as_str().unwrap().to_string();
    receiver.wait_for(1, 30).await;
    wait_job_until(&app, &job_id, 10, |j| {
        j["info"].as_str().is_some_and(|i| i.contains("502"))
    })
    .await;
    // As if six more tries had failed: the next one is the last of the schedule.
    {
        let mut conn = app.pool.get().unwrap();
        diesel::update(submissions::table)
            .set((
                submissions::attempts.eq(7),
                submissions::next_attempt_at.eq(Some(chrono::Utc::now().naive_utc())),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    let failed = wait_job_until(&app, &job_id, 30, |j| j["status"] != "executing").await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let message = failed["outcome"]["message"].as_str().unwrap();
    assert!(
        message.contains("was not delivered: the receiver answered 502"),
        "{message}"
    );
    assert!(message.contains("tried 8 times"), "{message}");

    let space = failed["spaceId"].as_str().unwrap();
    app.make_user("admin@acme.com", true);
    app.sign_in("admin@acme.com", PASSWORD).await;
    let block = app.page(&format!("/spaces/{space}/submissions")).await;
    assert!(block.contains("not delivered: every try failed"), "{block}");
    let got = receiver.got();
    let token = app.csrf(&format!("/spaces/{space}")).await;
    let sent = app
        .client
        .post(app.url(&format!("/spaces/{space}/submissions/{}/send", got[0].webhook_id)))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_redirection(), "{}", sent.status());
    let done = wait_job_until(&app, &job_id, 30, |j| j["status"] == "complete").await;
    assert!(done["outcome"]["message"]
        .as_str()
        .unwrap()
        .contains("2 records went to crm"));
    let all = receiver.wait_for(3, 10).await;
    assert!(all.iter().all(|g| g.webhook_id == got[0].webhook_id));
}

on_both!(exhausted_tries_fail_the_job_and_an_admin_can_send_it_again);

/// `deleteSubmitted`: the records that went and were not rejected are deleted; the rejected
/// one stays, with its message (naming a field the sheet lacks, it goes on the first field).
async fn delete_submitted_keeps_only_the_rejected_records(db: Db) {
    let app = spawn_app(db).await;
    let (receiver, wb, contacts) = submit_ready(&app).await;
    let (_, records) = app.get_json(&format!("/sheets/{contacts}/records")).await;
    let kept = records["data"]["records"][1]["id"].as_str().unwrap().to_string();
    let answer = json!({"rejections": {"id": "rj", "deleteSubmitted": true, "sheets": [{"sheetId": contacts,
        "rejectedRecords": [{"id": kept, "values": [{"field": "fullName", "message": "needs a real name"}]}]}]}});
    receiver.answer_next(&[(200, &answer.to_string())]);
    let body = json!({"type": "workbook", "operation": "submit", "source": wb, "trigger": "immediate"});
    let (_, job) = app.post_json("/jobs", &body).await;
    let job_id = job["data"]["id"].as_str().unwrap().to_string();
    let done = wait_job_until(&app, &job_id, 30, |j| {
        j["status"] != "executing" && j["status"] != "ready"
    })
    .await;
    assert_eq!(done["status"], "complete", "{done}");
    let message = done["outcome"]["message"].as_str().unwrap();
    assert!(
        message.contains("1 came back rejected; 1 submitted record was deleted"),
        "{message}"
    );
    let (_, records) = app.get_json(&format!("/sheets/{contacts}/records")).await;
    let left = records["data"]["records"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["id"], kept.as_str());
    let said = left[0]["values"]["email"]["messages"].to_string();
    assert!(
        said.contains("fullName (not a field of this sheet): needs a real name"),
        "{said}"
    );
}

on_both!(delete_submitted_keeps_only_the_rejected_records);

/// A guest runs the actions its workbook offers, held to what holds the button back, and
/// no other: no Submit to a webhook of its choosing, none while a record has errors, and
/// it cannot clear the messages that make them errors.
async fn a_guest_submits_only_as_the_button_would(db: Db) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start();
    hook_with_slug(&app, &receiver.url, "crm").await;
    hook_with_slug(&app, &receiver.url, "billing").await;
    let mut action = submit_action("crm");
    action["constraints"] = json!([{"type": "hasAllValid"}]);
    let (wb, contacts, space) = workbook_with_actions(&app, json!([action])).await;
    let guest = crate::job_helpers::guest_token(&app, &space).await;
    let as_guest = |method: reqwest::Method, path: &str| {
        app.client
            .request(method, app.url(&format!("/v1{path}")))
            .bearer_auth(&guest)
    };
    let (status, body) = send(as_guest(reqwest::Method::POST, "/jobs").json(&json!({
        "type": "sheet", "operation": "submit", "source": contacts, "trigger": "immediate",
        "config": {"deliverTo": "billing"}})))
    .await;
    assert_eq!(status, 403, "no Submit on the sheet: {body}");
    let submit = json!({"type": "workbook", "operation": "submit", "source": wb, "trigger": "immediate"});
    let (status, body) = send(as_guest(reqwest::Method::POST, "/jobs").json(&submit)).await;
    assert_eq!(status, 409, "a record has errors: {body}");
    assert!(body.to_string().contains("errors"), "{body}");
    let (_, records) = app
        .get_json(&format!("/sheets/{contacts}/records?filter=error"))
        .await;
    let bad = records["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = send(
        as_guest(reqwest::Method::PUT, &format!("/sheets/{contacts}/records"))
            .json(&json!([{"id": bad, "values": {"email": {"messages": []}}}])),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (_, jobs) = app.get_json(&format!("/jobs?spaceId={space}")).await;
    assert!(
        jobs["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["operation"] != "submit"),
        "{jobs}"
    );

    // Space jobs are the team's listener's.
    let (status, body) = send(as_guest(reqwest::Method::POST, "/jobs").json(&json!({
        "type": "space", "operation": "configure", "source": space, "trigger": "immediate"})))
    .await;
    assert_eq!(status, 403, "a guest's space job: {body}");

    // Fixed, it runs, to the action's webhook.
    let (status, body) = send(
        as_guest(reqwest::Method::PUT, &format!("/sheets/{contacts}/records"))
            .json(&json!([{"id": bad, "values": {"email": "grace@acme.com"}}])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(as_guest(reqwest::Method::POST, "/jobs").json(&submit)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["config"]["deliverTo"], "crm", "{body}");

    // A job made while the records were valid is judged again at its start.
    let manual = json!({"type": "workbook", "operation": "submit", "source": wb, "trigger": "manual"});
    let (status, made) = send(as_guest(reqwest::Method::POST, "/jobs").json(&manual)).await;
    assert_eq!(status, 200, "{made}");
    let made = made["data"]["id"].as_str().unwrap().to_string();
    let (status, body) = send(
        as_guest(reqwest::Method::POST, &format!("/sheets/{contacts}/records"))
            .json(&json!([{"name": "No email"}])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(as_guest(reqwest::Method::POST, &format!("/jobs/{made}/execute"))).await;
    assert_eq!(status, 409, "{body}");
    // A guest cancels without writing the job's outcome (the team's grid shows it).
    let (status, body) = send(
        as_guest(reqwest::Method::POST, &format!("/jobs/{made}/cancel")).json(
            &json!({"outcome": {"heading": "Session expired", "message": "sign in again",
                      "next": {"type": "url", "url": "https://evil.example/login"}}}),
        ),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = send(as_guest(reqwest::Method::POST, &format!("/jobs/{made}/cancel"))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["outcome"].is_null(), "{body}");
}

/// When the Submit action names no webhook (the team's listener answers it), a guest
/// cannot name one: Wharf would send the workbook there itself.
async fn a_guest_cannot_name_where_a_submit_goes(db: Db) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start();
    hook_with_slug(&app, &receiver.url, "crm").await;
    let action = json!({"label": "Submit", "operation": "submit", "mode": "foreground"});
    let (wb, _, space) = workbook_with_actions(&app, json!([action])).await;
    let guest = crate::job_helpers::guest_token(&app, &space).await;
    let (status, body) = send(
        app.client
            .post(app.url("/v1/jobs"))
            .bearer_auth(&guest)
            .json(&json!({
        "type": "workbook", "operation": "submit", "source": wb, "trigger": "immediate",
        "config": {"deliverTo": "crm"}})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("where a Submit goes"),
        "{body}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.got().is_empty(), "nothing was sent");
    // Without it, the listener's Submit starts, as the button's would.
    let (status, body) = send(
        app.client
            .post(app.url("/v1/jobs"))
            .bearer_auth(&guest)
            .json(&json!({
        "type": "workbook", "operation": "submit", "source": wb, "trigger": "immediate"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["config"].get("deliverTo").is_none(), "{body}");
}

/// The team's own code naming another receiver than the action's is told so, not sent
/// to the action's in silence (probe 63d D4).
async fn a_key_naming_another_receiver_than_the_actions_is_refused(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let (_receiver, wb, _) = submit_ready(&app).await;
    for named in [json!("crm2"), json!(""), json!(["crm"])] {
        let (status, body) = app
            .post_json(
                "/jobs",
                &json!({"type": "workbook", "operation": "submit", "source": wb, "trigger": "immediate",
                        "config": {"deliverTo": named}}),
            )
            .await;
        assert_eq!(status, 409, "{named}: {body}");
        assert!(body.to_string().contains("delivers to `crm`"), "{body}");
    }
    let (status, body) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "submit", "source": wb, "trigger": "immediate",
                    "config": {"deliverTo": "crm"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

on_both!(a_key_naming_another_receiver_than_the_actions_is_refused);

on_both!(a_guest_cannot_name_where_a_submit_goes);

on_both!(a_guest_submits_only_as_the_button_would);

/// An answer longer than Wharf reads is not taken for a clean delivery: the rejections
/// past the cut would be lost. The job stays waiting and says why.
async fn an_answer_too_long_to_read_is_not_a_delivery(db: Db) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start();
    hook_with_slug(&app, &receiver.url, "crm").await;
    let (wb, contacts, _) = workbook_with_actions(&app, json!([submit_action("crm")])).await;
    let mut long = rejections(&contacts, &[]);
    long.insert_str(1, &format!("\"padding\": \"{}\", ", "p".repeat(5 << 20)));
    receiver.answer_next(&[(200, &long)]);
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "submit", "source": wb, "trigger": "immediate"}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let id = job["data"]["id"].as_str().unwrap().to_string();
    let waiting = wait_job_until(&app, &id, 30, |j| {
        j["info"].as_str().is_some_and(|i| i.contains("over 4 MiB"))
    })
    .await;
    assert_eq!(waiting["status"], "executing", "{waiting}");
}

on_both!(an_answer_too_long_to_read_is_not_a_delivery);

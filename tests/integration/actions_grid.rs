//! Actions in the grid: the buttons, a click's job (input, subject, `job:ready` with its
//! `dataUrl`), who may click, the sweep of jobs nobody took. In headless Chromium:
//! actions_browser.rs.

use crate::helpers::*;
use crate::listener::workbook_with_records;
use crate::on_both;
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) fn report_action() -> Value {
    json!({"label": "Send report", "operation": "send-report", "primary": true, "confirm": true,
           "description": "Send the report to the whole team?", "mode": "foreground",
           "inputForm": {"type": "simple", "fields": [
               {"key": "note", "label": "Title", "type": "string", "constraints": [{"type": "required"}]},
               {"key": "format", "label": "Format", "type": "enum", "defaultValue": "pdf",
                "config": {"options": [{"value": "pdf", "label": "PDF"}, {"value": "csv", "label": "CSV"}]}},
               {"key": "urgent", "label": "Urgent", "type": "boolean"},
               {"key": "copies", "label": "Copies", "type": "number", "defaultValue": 1}]}})
}

/// A workbook with records whose action is [`report_action`]; returns the workbook, its
/// contacts sheet and its space.
pub(crate) async fn workbook_with_report(app: &TestApp) -> (String, String, String) {
    let (wb, contacts) = workbook_with_records(app).await;
    let (status, body) = app
        .patch_json(
            &format!("/workbooks/{wb}"),
            &json!({"actions": [report_action()]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let space = body["data"]["spaceId"].as_str().unwrap().to_string();
    (wb, contacts, space)
}

pub(crate) fn guarded_actions() -> Value {
    json!([
        {"label": "Submit <all>", "operation": "submit-all", "constraints": [{"type": "hasAllValid"}],
         "tooltip": "Sends everything"},
        {"label": "Paused", "operation": "paused", "messages": [{"type": "error", "content": "Closed for the day"}]}
    ])
}

/// A signed-in admin's page client on the grid; returns its CSRF token.
pub(crate) async fn signed_in(app: &TestApp, wb: &str) -> String {
    app.make_user("admin@acme.com", true);
    app.sign_in("admin@acme.com", PASSWORD).await;
    app.csrf(&format!("/workbooks/{wb}")).await
}

pub(crate) async fn click(app: &TestApp, sheet: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let resp = app
        .client
        .post(app.url(&format!("/grid/{sheet}/actions")))
        .header("HX-Request", "true")
        .form(fields)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// A job's `job:ready` event. On PostgreSQL a listing holds back events a transaction still
/// running could slip in front of (`event::list`), so it is asked for until it shows.
pub(crate) async fn ready_event_of(app: &TestApp, job: &str) -> Value {
    for _ in 0..100 {
        let (_, events) = app
            .get_json("/events?topic=job:ready&includeAcknowledged=true&pageSize=100")
            .await;
        if let Some(e) = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["context"]["jobId"] == job)
        {
            return e.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no job:ready for {job} in 10 s");
}

pub(crate) async fn jobs_of(app: &TestApp) -> Vec<Value> {
    let (_, jobs) = app.get_json("/jobs?pageSize=100").await;
    jobs["data"].as_array().unwrap().clone()
}

/// The grid shows workbook and sheet actions, escaped, with the primary one marked and the
/// ones that cannot run off, saying why.
async fn the_grid_shows_actions_and_why_one_is_off(db: Db) {
    let app = spawn_app(db).await;
    let (wb, contacts) = workbook_with_records(&app).await;
    let mut actions = guarded_actions();
    actions.as_array_mut().unwrap().push(report_action());
    let (status, body) = app
        .patch_json(&format!("/workbooks/{wb}"), &json!({"actions": actions}))
        .await;
    assert_eq!(status, 200, "{body}");
    signed_in(&app, &wb).await;
    let html = app.page(&format!("/workbooks/{wb}?sheet={contacts}")).await;
    assert!(
        html.contains("Submit &lt;all&gt;") || html.contains("Submit &#60;all&#62;"),
        "the label is escaped"
    );
    assert!(!html.contains("Submit <all>"));
    assert!(
        html.contains("title=\"1 record has errors; fix them first.\" disabled"),
        "{html}"
    );
    assert!(html.contains("title=\"Closed for the day\" disabled"));
    assert!(html
        .contains("class=\"action primary\" data-action-dialog=\"action-workbook-73656e642d7265706f7274\""));
    assert!(
        html.contains("Send the report to the whole team?"),
        "the confirmation's text"
    );
}

/// A sheet action's click: a `sheet` job with the grid's filter, search and selection as its
/// subject, and a `job:ready` whose dataUrl returns just the selected records.
async fn a_sheet_action_makes_a_job_with_its_subject_and_data_url(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let (_, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let (_, recs) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": "a@x.com", "name": "A"}, {"email": "b@x.com", "name": "B"}, {"email": "c@x.com", "name": "C"}]),
        )
        .await;
    let ids: Vec<String> = recs["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    // The stored sheet config is the blueprint's: give the contacts sheet an action.
    let mut bp = contacts_blueprint();
    bp["workbooks"][0]["sheets"][1]["actions"] = json!([{"label": "Check", "operation": "check", "constraints": [{"type": "hasSelection"}]},
               {"label": "Check the view", "operation": "check-view"}]);
    let sheet_json = bp["workbooks"][0]["sheets"].clone();
    let (status, made) = app
        .post_json(
            "/workbooks",
            &json!({"name": "With sheet action", "spaceId": space["id"], "sheets": sheet_json}),
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let wb2 = made["data"]["id"].as_str().unwrap().to_string();
    let sheet2 = made["data"]["sheets"][1]["id"].as_str().unwrap().to_string();
    let (_, recs) = app
        .post_json(
            &format!("/sheets/{sheet2}/records"),
            &json!([{"email": "a@x.com", "name": "A"}, {"email": "b@x.com", "name": "B"}, {"email": "c@x.com", "name": "C"}]),
        )
        .await;
    let ids2: Vec<String> = recs["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    let token = signed_in(&app, &wb).await;
    let selection = format!("{},{}", ids2[0], ids2[2]);
    // Nothing selected: refused, no job (the button is off too).
    let (status, _) = click(
        &app,
        &sheet2,
        &[("csrf_token", &token), ("scope", "sheet"), ("operation", "check")],
    )
    .await;
    assert_eq!(status, 409);
    assert!(jobs_of(&app).await.is_empty());
    // Without the form's token: refused.
    let (status, _) = click(
        &app,
        &sheet2,
        &[("scope", "sheet"), ("operation", "check"), ("ids", &selection)],
    )
    .await;
    assert_eq!(status, 403);
    // Ids of another sheet's records select nothing here.
    let elsewhere = format!("{},us_rc_999999999", ids[0]);
    let (status, _) = click(
        &app,
        &sheet2,
        &[
            ("csrf_token", &token),
            ("scope", "sheet"),
            ("operation", "check"),
            ("ids", &elsewhere),
        ],
    )
    .await;
    assert_eq!(status, 409);
    assert!(jobs_of(&app).await.is_empty());
    let fields = [
        ("csrf_token", token.as_str()),
        ("scope", "sheet"),
        ("operation", "check"),
        ("filter", "valid"),
        ("q", "x.com"),
        ("qf", "email"),
        ("ids", selection.as_str()),
    ];
    let (status, panel) = click(&app, &sheet2, &fields).await;
    assert_eq!(status, 200, "{panel}");
    assert!(
        panel.contains("sse-connect=\"/jobs/"),
        "the page follows the job live: {panel}"
    );
    let jobs = jobs_of(&app).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = &jobs[0];
    assert_eq!(job["type"], "sheet");
    assert_eq!(job["source"], sheet2.as_str());
    assert_eq!(job["operation"], "check");
    assert_eq!(job["trigger"], "immediate");
    assert_eq!(job["status"], "ready");
    assert_eq!(job["mode"], "background");
    assert_eq!(
        job["subject"],
        json!({"type": "collection", "resource": "records",
               "query": {"ids": [ids2[0], ids2[2]]}}),
        "selected rows are named by their ids alone (beside a filter, Flatfile reads ids as the records left out)"
    );
    let ready = &ready_event_of(&app, job["id"].as_str().unwrap()).await;
    assert_eq!(ready["payload"]["job"], "sheet:check", "{ready}");
    assert_eq!(ready["context"]["sheetId"], sheet2.as_str(), "{ready}");
    let data_url = ready["dataUrl"].as_str().expect("a dataUrl");
    assert!(!data_url.starts_with('/') && data_url.contains('?'), "{data_url}");
    let (status, got) = send(
        app.client
            .get(format!("{}/{data_url}&pageSize=50", app.base))
            .bearer_auth(&app.key),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    let got_ids: Vec<&str> = got["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        got_ids,
        [ids2[0].as_str(), ids2[2].as_str()],
        "just the selected records"
    );

    // With no row selected, a `filter:` search box is FFQL: the subject carries it as `q`,
    // and so does the dataUrl.
    let fields = [
        ("csrf_token", token.as_str()),
        ("scope", "sheet"),
        ("operation", "check-view"),
        ("q", "filter: name eq \"B\""),
    ];
    let (status, panel) = click(&app, &sheet2, &fields).await;
    assert_eq!(status, 200, "{panel}");
    let jobs = jobs_of(&app).await;
    let job = jobs
        .iter()
        .find(|j| j["subject"]["query"]["q"].is_string())
        .expect("the second click's job");
    assert_eq!(job["subject"]["query"]["q"], "name eq \"B\"", "{job}");
    assert!(job["subject"]["query"].get("searchValue").is_none(), "{job}");
    let ready = ready_event_of(&app, job["id"].as_str().unwrap()).await;
    let data_url = ready["dataUrl"].as_str().expect("a dataUrl");
    let (_, got) = send(
        app.client
            .get(format!("{}/{data_url}&pageSize=50", app.base))
            .bearer_auth(&app.key),
    )
    .await;
    let got_ids: Vec<&str> = got["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(got_ids, [ids2[1].as_str()], "what the grid showed: {data_url}");
    let _ = wb2;
}

/// A workbook action's input form lands typed in `job.input`; a required field left empty,
/// an action whose constraint fails, and someone without access are refused, with no job.
async fn a_workbook_action_checks_its_input_and_who_clicks(db: Db) {
    let app = spawn_app(db).await;
    let (wb, contacts) = workbook_with_records(&app).await;
    let mut actions = guarded_actions();
    actions.as_array_mut().unwrap().push(report_action());
    app.patch_json(&format!("/workbooks/{wb}"), &json!({"actions": actions}))
        .await;
    let token = signed_in(&app, &wb).await;
    let base = [("csrf_token", token.as_str()), ("scope", "workbook")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, &str)> = base.to_vec();
        f.extend_from_slice(extra);
        f
    };
    let (status, body) = click(
        &app,
        &contacts,
        &with(&[("operation", "send-report"), ("input:format", "pdf")]),
    )
    .await;
    assert_eq!(status, 400, "a required input left empty: {body}");
    let (status, body) = click(
        &app,
        &contacts,
        &with(&[
            ("operation", "send-report"),
            ("input:note", "x"),
            ("input:copies", "two"),
        ]),
    )
    .await;
    assert_eq!(status, 400, "not a number: {body}");
    assert!(body.contains("Copies must be a number"), "{body}");
    let (status, _) = click(
        &app,
        &contacts,
        &with(&[
            ("operation", "send-report"),
            ("input:note", "x"),
            ("input:format", "xml"),
        ]),
    )
    .await;
    assert_eq!(status, 400, "not one of the options");
    let (status, _) = click(&app, &contacts, &with(&[("operation", "submit-all")])).await;
    assert_eq!(status, 409, "one record has errors");
    let (status, _) = click(&app, &contacts, &with(&[("operation", "paused")])).await;
    assert_eq!(status, 409, "an error message turns it off");
    let (status, _) = click(&app, &contacts, &with(&[("operation", "no-such")])).await;
    assert_eq!(status, 404);
    assert!(jobs_of(&app).await.is_empty());

    // Someone signed out: refused, no job.
    let anonymous = new_client()
        .post(app.url(&format!("/grid/{contacts}/actions")))
        .form(&with(&[("operation", "send-report"), ("input:note", "x")]))
        .send()
        .await
        .unwrap();
    assert!(anonymous.status().as_u16() >= 300, "{}", anonymous.status());
    assert!(jobs_of(&app).await.is_empty());

    let fields = with(&[
        ("operation", "send-report"),
        ("input:note", " Q3 "),
        ("input:format", "csv"),
        ("input:urgent", "on"),
    ]);
    let (status, body) = click(&app, &contacts, &fields).await;
    assert_eq!(status, 200, "{body}");
    let jobs = jobs_of(&app).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["type"], "workbook");
    assert_eq!(jobs[0]["source"], wb.as_str());
    assert_eq!(jobs[0]["mode"], "foreground");
    assert_eq!(
        jobs[0]["input"],
        json!({"note": "Q3", "format": "csv", "urgent": true})
    );
    assert_eq!(jobs[0]["subject"], Value::Null);
}

/// A browser with the guest's session, opened by its link.
async fn guest_browser(app: &TestApp, guest_id: &str, space: &str) -> BrowserHandle {
    let (status, token) = app
        .get_json(&format!("/guests/{guest_id}/token?spaceId={space}"))
        .await;
    assert_eq!(status, 200, "{token}");
    let token = token["data"]["token"].as_str().unwrap();
    let browser = app.clone_with_new_client();
    let opened = open_link(&browser.client, &app.url(&format!("/guest-links/{token}")), &[]).await;
    assert!(opened.status().is_redirection(), "{}", opened.status());
    browser
}

/// A guest's click on the workbook's send-report action; the answer's status.
async fn run_report(guest: &BrowserHandle, sheet: &str, token: &str) -> u16 {
    guest
        .client
        .post(format!("{}/grid/{sheet}/actions", guest.base))
        .form(&[
            ("csrf_token", token),
            ("scope", "workbook"),
            ("operation", "send-report"),
            ("input:note", "x"),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A guest sees the actions of its space and may run them; outside its space, nothing.
async fn a_guest_runs_the_actions_of_its_space(db: Db) {
    let app = spawn_app(db).await;
    let (wb, contacts, space) = workbook_with_report(&app).await;
    let other = app.bare_space("Other").await;
    let (status, guest) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id, "email": "g@partner.com", "name": "Gus",
                                        "spaces": [{"id": other}]}]),
        )
        .await;
    assert_eq!(status, 200, "{guest}");
    let guest_id = guest["data"][0]["id"].as_str().unwrap();
    let outsider = guest_browser(&app, guest_id, &other).await;
    let resp = outsider
        .client
        .get(outsider.base.clone() + "/guest")
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success() || resp.status().is_redirection(),
        "{}",
        resp.status()
    );
    let token = outsider.csrf(&format!("/guest/spaces/{other}")).await;
    assert_eq!(
        run_report(&outsider, &contacts, &token).await,
        404,
        "not its space"
    );
    assert!(jobs_of(&app).await.is_empty());

    let (_, guest) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id, "email": "h@partner.com", "name": "Hal",
                                        "spaces": [{"id": space}]}]),
        )
        .await;
    let guest_id = guest["data"][0]["id"].as_str().unwrap();
    let insider = guest_browser(&app, guest_id, &space).await;
    let html = insider.page(&format!("/workbooks/{wb}")).await;
    assert!(
        html.contains("data-action-dialog=\"action-workbook-73656e642d7265706f7274\""),
        "the guest sees the action"
    );
    let token = insider.csrf(&format!("/workbooks/{wb}")).await;
    assert_eq!(run_report(&insider, &contacts, &token).await, 200);
    assert_eq!(jobs_of(&app).await.len(), 1);
    // What it types into the action's form goes to the listener: another space's ids are
    // refused there as on the API (probe 49a F1).
    let (_, other_wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "O", "spaceId": other, "sheets": []}),
        )
        .await;
    let foreign = other_wb["data"]["id"].as_str().unwrap();
    let typed = insider
        .client
        .post(format!("{}/grid/{contacts}/actions", insider.base))
        .form(&[
            ("csrf_token", token.as_str()),
            ("scope", "workbook"),
            ("operation", "send-report"),
            ("input:note", foreign),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(typed.status().as_u16(), 403);
    assert_eq!(jobs_of(&app).await.len(), 1, "no job was made");
}

/// A job nobody acknowledges fails with "No listener took this job", and its panel says so.
async fn a_job_nobody_takes_fails(db: Db) {
    let app = spawn_app_with(db, |s| s.job_ack_seconds = 1).await;
    let (wb, contacts, _) = workbook_with_report(&app).await;
    let token = signed_in(&app, &wb).await;
    let (status, _) = click(
        &app,
        &contacts,
        &[
            ("csrf_token", &token),
            ("scope", "workbook"),
            ("operation", "send-report"),
            ("input:note", "x"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let id = jobs_of(&app).await[0]["id"].as_str().unwrap().to_string();
    let mut job = Value::Null;
    for _ in 0..100 {
        job = app.get_json(&format!("/jobs/{id}")).await.1["data"].take();
        if job["status"] != "ready" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["info"], "No listener took this job");
    let panel = app.page(&format!("/grid/jobs/{id}")).await;
    assert!(panel.contains("No listener took this job"), "{panel}");
    assert!(panel.contains("id=\"outcome-ack\""), "{panel}");
    // The grid shows the outcome until its button acknowledges it.
    let html = app.page(&format!("/workbooks/{wb}")).await;
    assert!(html.contains("id=\"job-outcome\""), "{html}");
    let acked = app
        .client
        .post(app.url(&format!("/grid/jobs/{id}/ack")))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(acked.status().as_u16(), 200);
    let (_, job) = app.get_json(&format!("/jobs/{id}")).await;
    assert!(job["data"]["outcomeAcknowledgedAt"].is_string(), "{job}");
    let html = app.page(&format!("/workbooks/{wb}")).await;
    assert!(!html.contains("id=\"job-outcome\""), "acknowledged: gone");
}

/// An outcome whose `next` is `retry` offers to run the job again; its button makes the job
/// ready again (a new `job:ready`), outcome cleared.
async fn an_outcome_may_offer_a_retry(db: Db) {
    let app = spawn_app(db).await;
    let (wb, contacts, _) = workbook_with_report(&app).await;
    let token = signed_in(&app, &wb).await;
    click(
        &app,
        &contacts,
        &[
            ("csrf_token", &token),
            ("scope", "workbook"),
            ("operation", "send-report"),
            ("input:note", "x"),
        ],
    )
    .await;
    let id = jobs_of(&app).await[0]["id"].as_str().unwrap().to_string();
    let failed = json!({"outcome": {"acknowledge": true, "heading": "CRM down", "message": "It answered 503",
                                    "next": {"type": "retry", "label": "Try again"}}});
    let (status, _) = app.post_json(&format!("/jobs/{id}/fail"), &failed).await;
    assert_eq!(status, 200);
    let panel = app.page(&format!("/grid/jobs/{id}")).await;
    assert!(
        panel.contains("CRM down") && panel.contains("It answered 503"),
        "{panel}"
    );
    assert!(panel.contains("id=\"outcome-retry\">Try again<"), "{panel}");
    let retried = app
        .client
        .post(app.url(&format!("/grid/jobs/{id}/retry")))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status().as_u16(), 200);
    let (_, job) = app.get_json(&format!("/jobs/{id}")).await;
    assert_eq!(job["data"]["status"], "ready", "{job}");
    assert_eq!(job["data"]["outcome"], Value::Null);
    let (_, ready) = app
        .get_json("/events?topic=job:ready&includeAcknowledged=true")
        .await;
    assert_eq!(ready["data"].as_array().unwrap().len(), 2, "{ready}");
}

on_both!(
    the_grid_shows_actions_and_why_one_is_off,
    a_sheet_action_makes_a_job_with_its_subject_and_data_url,
    a_workbook_action_checks_its_input_and_who_clicks,
    a_guest_runs_the_actions_of_its_space,
    a_job_nobody_takes_fails,
    an_outcome_may_offer_a_retry,
);

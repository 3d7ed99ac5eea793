//! Actions in the grid: the buttons, a click's job (input, subject, `job:ready` with its
//! `dataUrl`), who may click, the sweep of jobs nobody took, and, in headless Chromium, a
//! workbook action with a confirmation and an input form run by the example listener.

use crate::browser::{sign_in_form, start_browser, text, wait_for};
use crate::helpers::*;
use crate::listener::{serve_listener, workbook_with_records};
use crate::on_both;
use fantoccini::Locator;
use serde_json::{json, Value};
use std::time::Duration;

fn report_action() -> Value {
    json!({"label": "Send report", "operation": "send-report", "primary": true, "confirm": true,
           "description": "Send the report to the whole team?", "mode": "foreground",
           "inputForm": {"type": "simple", "fields": [
               {"key": "note", "label": "Title", "type": "string", "constraints": [{"type": "required"}]},
               {"key": "format", "label": "Format", "type": "enum", "defaultValue": "pdf",
                "config": {"options": [{"value": "pdf", "label": "PDF"}, {"value": "csv", "label": "CSV"}]}},
               {"key": "urgent", "label": "Urgent", "type": "boolean"},
               {"key": "copies", "label": "Copies", "type": "number", "defaultValue": 1}]}})
}

fn guarded_actions() -> Value {
    json!([
        {"label": "Submit <all>", "operation": "submit-all", "constraints": [{"type": "hasAllValid"}],
         "tooltip": "Sends everything"},
        {"label": "Paused", "operation": "paused", "messages": [{"type": "error", "content": "Closed for the day"}]}
    ])
}

/// A signed-in admin's page client on the grid; returns its CSRF token.
async fn signed_in(app: &TestApp, wb: &str) -> String {
    app.make_user("admin@acme.com", true);
    app.sign_in("admin@acme.com", PASSWORD).await;
    app.csrf(&format!("/workbooks/{wb}")).await
}

async fn click(app: &TestApp, sheet: &str, fields: &[(&str, &str)]) -> (u16, String) {
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

async fn jobs_of(app: &TestApp) -> Vec<Value> {
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
        html.contains("title=\"1 record(s) have errors; fix them first.\" disabled"),
        "{html}"
    );
    assert!(html.contains("title=\"Closed for the day\" disabled"));
    assert!(html.contains("class=\"action primary\" data-action-dialog=\"action-workbook-send-report\""));
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
    bp["workbooks"][0]["sheets"][1]["actions"] =
        json!([{"label": "Check", "operation": "check", "constraints": [{"type": "hasSelection"}]}]);
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
               "query": {"filter": "valid", "searchValue": "x.com", "searchField": "email", "ids": [ids2[0], ids2[2]]}})
    );
    let (_, events) = app
        .get_json("/events?topic=job:ready&includeAcknowledged=true")
        .await;
    let ready = &events["data"][0];
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

/// A guest sees the actions of its space and may run them; outside its space, nothing.
async fn a_guest_runs_the_actions_of_its_space(db: Db) {
    let app = spawn_app(db).await;
    let (wb, contacts) = workbook_with_records(&app).await;
    app.patch_json(
        &format!("/workbooks/{wb}"),
        &json!({"actions": [report_action()]}),
    )
    .await;
    let (_, w) = app.get_json(&format!("/workbooks/{wb}")).await;
    let space = w["data"]["spaceId"].as_str().unwrap().to_string();
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
    let refused = outsider
        .client
        .post(format!("{}/grid/{contacts}/actions", outsider.base))
        .form(&[
            ("csrf_token", token.as_str()),
            ("scope", "workbook"),
            ("operation", "send-report"),
            ("input:note", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 404, "not its space");
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
        html.contains("data-action-dialog=\"action-workbook-send-report\""),
        "the guest sees the action"
    );
    let token = insider.csrf(&format!("/workbooks/{wb}")).await;
    let ran = insider
        .client
        .post(format!("{}/grid/{contacts}/actions", insider.base))
        .form(&[
            ("csrf_token", token.as_str()),
            ("scope", "workbook"),
            ("operation", "send-report"),
            ("input:note", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ran.status().as_u16(), 200);
    assert_eq!(jobs_of(&app).await.len(), 1);
}

/// A job nobody acknowledges fails with "No listener took this job", and its panel says so.
async fn a_job_nobody_takes_fails(db: Db) {
    let app = spawn_app_with(db, |s| s.job_ack_seconds = 1).await;
    let (wb, contacts) = workbook_with_records(&app).await;
    app.patch_json(
        &format!("/workbooks/{wb}"),
        &json!({"actions": [report_action()]}),
    )
    .await;
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
    let (wb, contacts) = workbook_with_records(&app).await;
    app.patch_json(
        &format!("/workbooks/{wb}"),
        &json!({"actions": [report_action()]}),
    )
    .await;
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

/// Done when: Chromium clicks a workbook action with a confirmation and an input form, sees
/// the job's progress under the foreground overlay, then the outcome dialog, whose button
/// acknowledges it; the example listener runs the job.
async fn chromium_runs_a_workbook_action_through_the_listener(db: Db) {
    let app = spawn_app(db).await;
    let listener = serve_listener(&app).await;
    let (wb, contacts) = workbook_with_records(&app).await;
    let mut actions = guarded_actions();
    actions.as_array_mut().unwrap().push(report_action());
    app.patch_json(&format!("/workbooks/{wb}"), &json!({"actions": actions}))
        .await;
    app.make_user("admin@acme.com", true);

    let driver = start_browser().await;
    let c = &driver.client;
    c.goto(&app.url("/spaces")).await.unwrap();
    sign_in_form(c, "admin@acme.com").await;
    c.goto(&app.url(&format!("/workbooks/{wb}?sheet={contacts}")))
        .await
        .unwrap();
    let primary = "#workbook-actions button.primary";
    wait_for(
        c,
        &format!("document.querySelector('{primary}')"),
        "the workbook's actions",
    )
    .await;
    assert_eq!(text(c, primary).await, "Send report");
    let off = c
        .execute("return [...document.querySelectorAll('#workbook-actions button')].filter(b => b.disabled).map(b => b.title);", vec![])
        .await
        .unwrap();
    assert_eq!(
        off,
        json!(["1 record(s) have errors; fix them first.", "Closed for the day"])
    );

    c.find(Locator::Css(primary))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let dialog = "#action-workbook-send-report";
    wait_for(
        c,
        &format!("document.querySelector('{dialog}').open"),
        "the action's dialog",
    )
    .await;
    assert_eq!(
        text(c, &format!("{dialog} .action-description")).await,
        "Send the report to the whole team?"
    );
    c.find(Locator::Css(&format!("{dialog} [data-input=note]")))
        .await
        .unwrap()
        .send_keys("Q3 numbers")
        .await
        .unwrap();
    c.execute(
        &format!("document.querySelector('{dialog} [data-input=format]').value = 'csv';"),
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Css(&format!("{dialog} [data-action-submit]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    wait_for(
        c,
        "document.querySelector('#action-job .job-overlay .job-percent')?.textContent === '40%'",
        &format!(
            "the job's progress under the overlay\nlistener:\n{}",
            listener.output()
        ),
    )
    .await;
    assert!(text(c, "#action-job .job-info")
        .await
        .contains("Preparing \"Q3 numbers\""));
    assert!(text(c, "#action-job .job-eta").await.contains("minutes left"));
    assert_eq!(
        c.execute(
            "return document.querySelector('#action-workbook-send-report').open;",
            vec![]
        )
        .await
        .unwrap(),
        json!(false)
    );

    wait_for(c, "document.querySelector('#job-outcome')", "the outcome dialog").await;
    assert_eq!(text(c, "#job-outcome h2").await, "Report sent");
    assert_eq!(
        text(c, "#job-outcome .outcome-message").await,
        "Sent \"Q3 numbers\" as CSV."
    );
    let next = c.find(Locator::Css("#outcome-next")).await.unwrap();
    assert_eq!(
        next.attr("href").await.unwrap().as_deref(),
        Some("https://example.com/reports")
    );
    assert_eq!(text(c, "#outcome-ack").await, "Great");
    c.find(Locator::Css("#outcome-ack"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        c,
        "!document.querySelector('#job-outcome')",
        "the dialog to close",
    )
    .await;

    let job = &jobs_of(&app).await[0];
    assert_eq!(job["status"], "complete", "{job}");
    assert_eq!(
        job["input"],
        json!({"note": "Q3 numbers", "format": "csv", "urgent": false, "copies": 1})
    );
    assert!(job["outcomeAcknowledgedAt"].is_string(), "{job}");
    let (_, acked) = app
        .get_json("/events?topic=job:outcome-acknowledged&includeAcknowledged=true")
        .await;
    assert_eq!(acked["data"].as_array().unwrap().len(), 1, "{acked}");
}

/// In Chromium: a sheet action that needs a selection turns on when a row is selected; its
/// `toolbarBlocking` job turns the toolbar off while it runs (progress shown live), and an
/// outcome with `acknowledge: false` is a toast.
async fn chromium_blocks_the_toolbar_and_toasts_the_outcome(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Toolbar").await;
    let sheet = json!({"name": "Leads", "slug": "leads", "fields": [{"key": "email", "type": "string"}],
                       "actions": [{"label": "Check selected", "operation": "check", "mode": "toolbarBlocking",
                                    "constraints": [{"type": "hasSelection"}], "tooltip": "Checks the rows"}]});
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Leads", "spaceId": space, "sheets": [sheet]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let wb_id = wb["data"]["id"].as_str().unwrap().to_string();
    let sheet_id = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let (_, recs) = app
        .post_json(
            &format!("/sheets/{sheet_id}/records"),
            &json!([{"email": "a@x.com"}, {"email": "b@x.com"}]),
        )
        .await;
    let first = recs["data"]["records"][0]["id"].as_str().unwrap().to_string();
    app.make_user("admin@acme.com", true);

    let driver = start_browser().await;
    let c = &driver.client;
    c.goto(&app.url("/spaces")).await.unwrap();
    sign_in_form(c, "admin@acme.com").await;
    c.goto(&app.url(&format!("/workbooks/{wb_id}"))).await.unwrap();
    let button = "#sheet-actions button";
    wait_for(
        c,
        &format!("document.querySelector('{button}')"),
        "the sheet's action",
    )
    .await;
    let state = format!(
        "(() => {{ const b = document.querySelector('{button}'); return [b.disabled, b.title]; }})()"
    );
    let now = |c: &fantoccini::Client| {
        let script = format!("return {state};");
        let c = c.clone();
        async move { c.execute(&script, vec![]).await.unwrap() }
    };
    assert_eq!(now(c).await, json!([true, "Select records first."]));
    c.find(Locator::Css(&format!("#row-{first} [data-select]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        now(c).await,
        json!([false, "Checks the rows"]),
        "on once a row is selected"
    );
    c.find(Locator::Css(button)).await.unwrap().click().await.unwrap();
    wait_for(
        c,
        "document.querySelector('#action-job [data-blocks-toolbar]')",
        "the running job",
    )
    .await;

    let job = jobs_of(&app).await[0].clone();
    assert_eq!(job["subject"]["query"]["ids"], json!([first]));
    let id = job["id"].as_str().unwrap();
    let (status, _) = app
        .post_json(
            &format!("/jobs/{id}/ack"),
            &json!({"progress": 30, "info": "Checking"}),
        )
        .await;
    assert_eq!(status, 200);
    wait_for(
        c,
        "document.querySelector('#action-job .job-percent')?.textContent === '30%'",
        "the progress",
    )
    .await;
    assert_eq!(now(c).await, json!([true, "Wait until the running action ends."]));
    assert_eq!(
        c.execute(
            "return document.querySelector('.grid-actions form button').disabled;",
            vec![]
        )
        .await
        .unwrap(),
        json!(true),
        "the toolbar is off"
    );
    let outcome = json!({"outcome": {"acknowledge": false, "message": "Checked 1 row"}});
    let (status, _) = app.post_json(&format!("/jobs/{id}/complete"), &outcome).await;
    assert_eq!(status, 200);
    wait_for(c, "document.querySelector('#job-toast')", "the outcome's toast").await;
    assert!(text(c, "#job-toast").await.contains("Checked 1 row"));
    assert_eq!(
        now(c).await,
        json!([false, "Checks the rows"]),
        "the toolbar is back"
    );
}

on_both!(
    chromium_blocks_the_toolbar_and_toasts_the_outcome,
    the_grid_shows_actions_and_why_one_is_off,
    a_sheet_action_makes_a_job_with_its_subject_and_data_url,
    a_workbook_action_checks_its_input_and_who_clicks,
    a_guest_runs_the_actions_of_its_space,
    a_job_nobody_takes_fails,
    an_outcome_may_offer_a_retry,
    chromium_runs_a_workbook_action_through_the_listener,
);

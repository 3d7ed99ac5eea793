//! More of the grid's actions: `hasAllValid` on a selection, actions held while tracked
//! changes are checked, icons, and outcomes that lead to files, a sheet's view, or a wait.

use crate::actions_grid::{click, jobs_of, signed_in};
use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

/// A workbook whose one sheet has a `hasAllValid` sheet action and two records, one valid
/// (`email` given) and one not; returns (workbook, sheet, valid id, invalid id).
pub(crate) async fn sheet_with_checked_action(app: &TestApp) -> (String, String, String, String) {
    let space = app.bare_space("Rules").await;
    let action = json!({"label": "Send", "operation": "send", "constraints": [{"type": "hasAllValid"}]});
    let sheet = json!({"name": "People", "slug": "people", "actions": [action], "fields": [
        {"key": "name", "type": "string"},
        {"key": "email", "type": "string", "constraints": [{"type": "required"}]}]});
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "W", "spaceId": space, "sheets": [sheet]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let wb_id = wb["data"]["id"].as_str().unwrap().to_string();
    let sheet_id = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let (status, recs) = app
        .post_json(
            &format!("/sheets/{sheet_id}/records"),
            &json!([{"name": "Ada", "email": "ada@x.com"}, {"name": "Nameless"}]),
        )
        .await;
    assert_eq!(status, 200, "{recs}");
    let id = |i: usize| recs["data"]["records"][i]["id"].as_str().unwrap().to_string();
    (wb_id, sheet_id, id(0), id(1))
}

async fn has_all_valid_looks_at_the_selected_records(db: Db) {
    let app = spawn_app(db).await;
    let (wb, sheet, valid, invalid) = sheet_with_checked_action(&app).await;
    let token = signed_in(&app, &wb).await;
    let send = |ids: &str| {
        let fields = [
            ("csrf_token", token.as_str()),
            ("scope", "sheet"),
            ("operation", "send"),
            ("ids", ids),
        ];
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (app, sheet) = (&app, sheet.clone());
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            click(app, &sheet, &fields).await
        }
    };
    let (status, body) = send("").await;
    assert_eq!(status, 409, "the sheet has an invalid record: {body}");
    assert!(body.contains("1 record has errors"), "{body}");
    let (status, body) = send(&invalid).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("1 selected record has errors"), "{body}");
    assert!(jobs_of(&app).await.is_empty(), "no job for a refused click");
    let (status, body) = send(&valid).await;
    assert_eq!(status, 200, "only the selected record must be valid: {body}");
    let jobs = jobs_of(&app).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["subject"]["query"]["ids"], json!([valid]), "{}", jobs[0]);
    // The browser does the same check: rows carry their state, buttons their constraint.
    let html = app.page(&format!("/workbooks/{wb}")).await;
    assert!(html.contains("data-constraints=\"hasAllValid\""), "{html}");
    assert!(html.contains("class=\"invalid\""), "{html}");

    // A guest's job through the API is held to the same rule: beside `filter: all`, the
    // subject's ids are the records left out, so the invalid one is in (probe 40d D3).
    let (_, got) = app.get_json(&format!("/workbooks/{wb}")).await;
    let space = got["data"]["spaceId"].as_str().unwrap().to_string();
    let (_, guest) = crate::live_access::guest_with_token(&app, "g@x.org", "G", &[&space]).await;
    let start = |query: Value| {
        let body = json!({"type": "sheet", "operation": "send", "source": sheet, "trigger": "immediate",
                          "subject": {"type": "collection", "resource": "records", "query": query}});
        crate::helpers::send(
            app.client
                .post(app.url("/v1/jobs"))
                .bearer_auth(&guest)
                .json(&body),
        )
    };
    let (status, body) = start(json!({"filter": "all", "ids": [valid]})).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = start(json!({"ids": [valid]})).await;
    assert_eq!(status, 200, "{body}");
    // Its dataUrl reads what the subject says: here, the one record.
    let id = body["data"]["id"].as_str().unwrap();
    let (_, job) = app.get_json(&format!("/jobs/{id}")).await;
    assert_eq!(job["data"]["subject"]["query"]["ids"], json!([valid]), "{job}");
}

async fn actions_wait_for_tracked_changes_to_be_checked(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Tracked").await;
    let body = json!({"name": "W", "spaceId": space, "settings": {"trackChanges": true},
        "actions": [{"label": "Go", "operation": "go"}],
        "sheets": [{"name": "A", "slug": "a", "fields": [{"key": "x", "type": "string"}]}]});
    let (status, wb) = app.post_json("/workbooks", &body).await;
    assert_eq!(status, 200, "{wb}");
    let wb_id = wb["data"]["id"].as_str().unwrap().to_string();
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"x": "1"}, {"x": "2"}]),
        )
        .await;
    assert_eq!(status, 200);
    let token = signed_in(&app, &wb_id).await;
    let html = app.page(&format!("/workbooks/{wb_id}")).await;
    let why = "Wait until your team&#39;s record hook has checked 2 changed records.";
    assert!(html.contains(&format!("title=\"{why}\" disabled")), "{html}");
    assert!(
        html.contains("data-checking=\"2\""),
        "the browser keeps it live: {html}"
    );
    let fields = [
        ("csrf_token", token.as_str()),
        ("scope", "workbook"),
        ("operation", "go"),
    ];
    let (status, refused) = click(&app, &sheet, &fields).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused.contains("has checked 2 changed records"), "{refused}");
    assert!(jobs_of(&app).await.is_empty());

    // The hook answers: the actions are on again.
    let (_, created) = app
        .get_json("/events?topic=commit:created&includeAcknowledged=true")
        .await;
    let commit = created["data"][0]["context"]["commitId"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = app
        .post_json(&format!("/commits/{commit}/complete"), &json!({}))
        .await;
    assert_eq!(status, 200);
    let html = app.page(&format!("/workbooks/{wb_id}")).await;
    assert!(!html.contains(why), "{html}");
    assert!(html.contains("data-checking=\"0\""));
    let (status, body) = click(&app, &sheet, &fields).await;
    assert_eq!(status, 200, "{body}");
}

async fn an_action_shows_its_icon(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Icons").await;
    let actions = json!([{"label": "Approve", "operation": "approve", "icon": "check"},
                         {"label": "Other", "operation": "other", "icon": "<b>odd</b>"}]);
    let body = json!({"name": "W", "spaceId": space, "actions": actions,
        "sheets": [{"name": "A", "slug": "a", "fields": [{"key": "x", "type": "string"}]}]});
    let (status, wb) = app.post_json("/workbooks", &body).await;
    assert_eq!(status, 200, "{wb}");
    let wb = wb["data"]["id"].as_str().unwrap().to_string();
    signed_in(&app, &wb).await;
    let html = app.page(&format!("/workbooks/{wb}")).await;
    assert!(
        html.contains("<span class=\"action-icon\" data-icon=\"check\" aria-hidden=\"true\">\u{2713}</span>Approve</button>"),
        "{html}"
    );
    assert!(
        !html.contains("<b>odd</b>"),
        "an unknown icon name stays text: {html}"
    );
}

/// Runs the workbook action `go` from the grid and completes its job with `outcome`;
/// returns the job's id.
async fn outcome_of(app: &TestApp, token: &str, sheet: &str, outcome: Value) -> String {
    let fields = [("csrf_token", token), ("scope", "workbook"), ("operation", "go")];
    let (status, body) = click(app, sheet, &fields).await;
    assert_eq!(status, 200, "{body}");
    let jobs = jobs_of(app).await;
    let started = jobs
        .iter()
        .find(|j| j["operation"] == "go" && j["status"] == "ready");
    let id = started.expect("the action's job")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, done) = app
        .post_json(&format!("/jobs/{id}/complete"), &json!({"outcome": outcome}))
        .await;
    assert_eq!(status, 200, "{done}");
    id
}

async fn outcomes_lead_to_files_a_view_or_a_wait(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Outcomes").await;
    let body = json!({"name": "W", "spaceId": space, "actions": [{"label": "Go", "operation": "go"}],
        "sheets": [{"name": "A", "slug": "a", "fields": [{"key": "x", "type": "string"}]}]});
    let (_, wb) = app.post_json("/workbooks", &body).await;
    let wb_id = wb["data"]["id"].as_str().unwrap().to_string();
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let (status, file) = app.upload(&space, "report.csv", b"a,b\n1,2\n".to_vec()).await;
    assert_eq!(status, 200, "{file}");
    let file = file["data"]["id"].as_str().unwrap().to_string();
    let token = signed_in(&app, &wb_id).await;

    let files = json!({"acknowledge": true, "heading": "Ready", "next": {"type": "files", "files": [{"fileId": file}, {"fileId": "us_fl_nothere"}]}});
    let id = outcome_of(&app, &token, &sheet, files).await;
    let panel = app.page(&format!("/grid/jobs/{id}")).await;
    assert!(
        panel.contains(&format!(
            "<a href=\"/files/{file}/download\" download>report.csv</a>"
        )),
        "{panel}"
    );
    assert!(!panel.contains("us_fl_nothere"), "{panel}");

    // A document of the space (or the space itself): its page, at the document (probe
    // 71b D1: the button was dropped). Another environment's space leads nowhere.
    let (status, doc) = app
        .post_json(
            &format!("/spaces/{space}/documents"),
            &json!({"title": "Results", "body": "Accepted."}),
        )
        .await;
    assert_eq!(status, 200, "{doc}");
    let doc = doc["data"]["id"].as_str().unwrap().to_string();
    let to_doc = json!({"acknowledge": true, "next": {"type": "id", "id": doc, "label": "See results"}});
    let id = outcome_of(&app, &token, &sheet, to_doc).await;
    let panel = app.page(&format!("/grid/jobs/{id}")).await;
    assert!(
        panel.contains(&format!("name=\"next\" value=\"/spaces/{space}#doc-{doc}\"")),
        "{panel}"
    );
    assert!(panel.contains(">See results</button>"), "{panel}");
    let page = app.page(&format!("/spaces/{space}")).await;
    assert!(page.contains(&format!("id=\"doc-{doc}\"")), "{page}");
    let to_space = json!({"acknowledge": true, "next": {"type": "id", "id": space, "label": "Back"}});
    let id = outcome_of(&app, &token, &sheet, to_space).await;
    let panel = app.page(&format!("/grid/jobs/{id}")).await;
    assert!(
        panel.contains(&format!("name=\"next\" value=\"/spaces/{space}\"")),
        "{panel}"
    );
    let elsewhere =
        json!({"acknowledge": true, "next": {"type": "id", "id": "us_sp_notyours", "label": "Away"}});
    let id = outcome_of(&app, &token, &sheet, elsewhere).await;
    let panel = app.page(&format!("/grid/jobs/{id}")).await;
    assert!(!panel.contains("Away"), "{panel}");
    // A workbook: its page, if the viewer reaches it (probe 83b D2: any workbook id made a
    // button, leading a guest to a 404).
    let to_wb = json!({"acknowledge": true, "next": {"type": "id", "id": wb_id, "label": "The book"}});
    let id = outcome_of(&app, &token, &sheet, to_wb).await;
    let panel = app.page(&format!("/grid/jobs/{id}")).await;
    assert!(
        panel.contains(&format!("name=\"next\" value=\"/workbooks/{wb_id}\"")),
        "{panel}"
    );
    let no_wb =
        json!({"acknowledge": true, "next": {"type": "id", "id": "us_wb_notyours", "label": "Not yours"}});
    let id = outcome_of(&app, &token, &sheet, no_wb).await;
    let panel = app.page(&format!("/grid/jobs/{id}")).await;
    assert!(!panel.contains("Not yours"), "{panel}");

    let view = json!({"acknowledge": true, "next": {"type": "view", "sheetId": sheet, "hiddenColumns": [], "filter": "error", "label": "See errors"}});
    let id = outcome_of(&app, &token, &sheet, view).await;
    let panel = app.page(&format!("/grid/jobs/{id}")).await.replace("&#38;", "&");
    // A view here: followed, it reads the outcome on the way (probe 67f D2).
    assert!(
        panel.contains(&format!(
            "name=\"next\" value=\"/workbooks/{wb_id}?sheet={sheet}&"
        )),
        "{panel}"
    );
    assert!(panel.contains("filter=error\">"), "{panel}");
    assert!(panel.contains(">See errors</button>"), "{panel}");

    let wait = json!({"heading": "Sending", "message": "Your data is on its way", "next": {"type": "wait"}});
    let id = outcome_of(&app, &token, &sheet, wait).await;
    let panel = app.page(&format!("/grid/jobs/{id}")).await;
    assert!(
        panel.contains("Your data is on its way") && panel.contains("Please wait"),
        "{panel}"
    );
    assert!(
        !panel.contains("outcome-ack"),
        "no OK button while waiting: {panel}"
    );
    assert!(
        panel.contains("id=\"outcome-stop-waiting\""),
        "but a way out: {panel}"
    );
    assert!(
        panel.contains(&format!("hx-post=\"/grid/jobs/{id}/follow\"")),
        "{panel}"
    );
    let follow = || async {
        let resp = app
            .client
            .post(app.url(&format!("/grid/jobs/{id}/follow")))
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    };
    assert_eq!(follow().await.0, 204, "nothing to show yet");
    // The listener starts the next job: the dialog gives way to it.
    let next = json!({"type": "workbook", "operation": "notify", "source": wb_id, "trigger": "immediate"});
    let (status, next) = app.post_json("/jobs", &next).await;
    assert_eq!(status, 200, "{next}");
    let next_id = next["data"]["id"].as_str().unwrap();
    let (status, shown) = follow().await;
    assert_eq!(status, 200);
    assert!(
        shown.contains(&format!("/jobs/{next_id}/live"))
            && shown.contains("Waiting for your team's code to take this action"),
        "{shown}"
    );
    let (_, waited) = app.get_json(&format!("/jobs/{id}")).await;
    assert!(waited["data"]["outcomeAcknowledgedAt"].is_string(), "{waited}");
}

on_both!(
    has_all_valid_looks_at_the_selected_records,
    actions_wait_for_tracked_changes_to_be_checked,
    an_action_shows_its_icon,
    outcomes_lead_to_files_a_view_or_a_wait,
);

//! A file's actions, set by the team's listener (`files.update(fileId, {actions})`), are
//! buttons on the Files tab: a click starts a `file` job of that operation on that file,
//! with the action's inputs, and opens the job's page. A guest of the space runs them too,
//! from the page or the API; another space's file is not found.

use crate::helpers::*;
use crate::live_access::{guest_browser, guest_with_token};
use crate::on_both;
use serde_json::{json, Value};

fn actions() -> Value {
    json!([
        {"operation": "send-to-erp", "label": "Send to ERP", "confirm": true,
         "description": "Sends <b>every</b> row", "mode": "foreground",
         "inputForm": {"type": "simple", "fields": [
             {"key": "note", "label": "Note", "type": "string", "constraints": [{"type": "required"}]}]}},
        {"operation": "broken", "label": "Broken",
         "messages": [{"type": "error", "content": "The ERP is down"}]},
    ])
}

/// A space with one uploaded file carrying `actions()`; (space, file).
async fn file_with_actions(app: &TestApp, name: &str) -> (String, String) {
    let space = app.bare_space(name).await;
    let (status, file) = app.upload(&space, "orders.csv", b"name\nAda\n".to_vec()).await;
    assert_eq!(status, 200, "{file}");
    let file_id = file["data"]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .patch_json(&format!("/files/{file_id}"), &json!({"actions": actions()}))
        .await;
    assert_eq!(status, 200, "{body}");
    (space, file_id)
}

/// The jobs of the file's action `send-to-erp`.
async fn erp_jobs(app: &TestApp) -> Vec<Value> {
    let (_, jobs) = app.get_json("/jobs?pageSize=100").await;
    jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["operation"] == "send-to-erp")
        .cloned()
        .collect()
}

async fn post_action(
    client: &reqwest::Client,
    app: &TestApp,
    file: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url(&format!("/files/{file}/actions")))
        .form(fields)
        .send()
        .await
        .unwrap()
}

async fn the_files_tab_shows_a_files_actions_and_a_click_starts_its_job(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let space = app.bare_space("Plain").await;
    let (_, plain) = app.upload(&space, "plain.csv", b"name\nBo\n".to_vec()).await;
    let list = app.page(&format!("/spaces/{space}/files")).await;
    assert!(
        list.contains("plain.csv") && !list.contains("data-action-dialog"),
        "{list}"
    );

    let (space, file) = file_with_actions(&app, "Orders").await;
    let list = app.page(&format!("/spaces/{space}/files")).await;
    assert!(list.contains(">Send to ERP</button>"), "{list}");
    assert!(
        list.contains("Sends &#60;b&#62;every&#60;/b&#62; row"),
        "the description is text: {list}"
    );
    assert!(list.contains("title=\"The ERP is down\" disabled>"), "{list}");
    assert!(list.contains("name=\"input:note\""), "{list}");
    let csrf = form_csrf(&list);

    let refused = [
        (
            vec![("operation", "send-to-erp"), ("input:note", "rush")],
            403,
            "no CSRF token",
        ),
        (
            vec![("csrf_token", csrf.as_str()), ("operation", "send-to-erp")],
            400,
            "the required note left out",
        ),
        (
            vec![
                ("csrf_token", csrf.as_str()),
                ("operation", "nope"),
                ("input:note", "x"),
            ],
            404,
            "no such action",
        ),
        (
            vec![("csrf_token", csrf.as_str()), ("operation", "broken")],
            409,
            "an action its listener turned off",
        ),
    ];
    for (fields, status, why) in refused {
        let resp = post_action(&app.client, &app, &file, &fields).await;
        assert_eq!(resp.status().as_u16(), status, "{why}");
    }
    // Another file of the environment offers no such action.
    let plain = plain["data"]["id"].as_str().unwrap();
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("operation", "send-to-erp"),
        ("input:note", "x"),
    ];
    assert_eq!(
        post_action(&app.client, &app, plain, &fields)
            .await
            .status()
            .as_u16(),
        404
    );
    assert!(erp_jobs(&app).await.is_empty(), "nothing refused made a job");

    let fields = [
        ("csrf_token", csrf.as_str()),
        ("operation", "send-to-erp"),
        ("input:note", " rush "),
    ];
    let resp = post_action(&app.client, &app, &file, &fields).await;
    assert_eq!(resp.status().as_u16(), 303);
    let page = resp.headers()["location"].to_str().unwrap().to_string();
    let jobs = erp_jobs(&app).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = &jobs[0];
    assert_eq!(page, format!("/jobs/{}", job["id"].as_str().unwrap()));
    assert_eq!(job["type"], "file");
    assert_eq!(job["source"], file.as_str());
    assert_eq!(job["mode"], "foreground");
    assert_eq!(job["input"], json!({"note": "rush"}));
    assert_eq!(job["status"], "ready");
    let shown = app.page(&page).await;
    assert!(shown.contains("send-to-erp"), "{shown}");
    // Pressed again while it runs: refused (one run at a time, see actions_once.rs).
    let again = post_action(&app.client, &app, &file, &fields).await;
    assert_eq!(again.status().as_u16(), 409);
    let (status, body) = app
        .post_json(
            &format!("/jobs/{}/cancel", job["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // From the dialog (htmx), the browser is sent to the job's page.
    let resp = app
        .client
        .post(app.url(&format!("/files/{file}/actions")))
        .header("HX-Request", "true")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let to = resp.headers()["hx-redirect"].to_str().unwrap().to_string();
    assert!(to.starts_with("/jobs/"), "{to}");
    assert_eq!(erp_jobs(&app).await.len(), 2);
}

async fn a_guest_runs_the_actions_of_its_own_spaces_files(db: Db) {
    let app = spawn_app(db).await;
    let (mine, my_file) = file_with_actions(&app, "Mine").await;
    let (_, their_file) = file_with_actions(&app, "Theirs").await;
    let (_, token) = guest_with_token(&app, "g@x.io", "G", &[&mine]).await;
    let job = |file: &str, operation: &str| {
        json!({"type": "file", "operation": operation, "source": file, "trigger": "immediate",
               "input": {"note": "from a guest"}})
    };
    let as_guest = |body: Value| {
        send(
            app.client
                .post(app.url("/v1/jobs"))
                .bearer_auth(&token)
                .json(&body),
        )
    };
    let (status, body) = as_guest(job(&their_file, "send-to-erp")).await;
    assert_eq!(status, 404, "another space's file: {body}");
    let (status, body) = as_guest(job(&my_file, "extract")).await;
    assert_eq!(status, 403, "not an action the file offers: {body}");
    let (status, body) = as_guest(job(&my_file, "broken")).await;
    assert_eq!(status, 409, "turned off: {body}");
    assert!(erp_jobs(&app).await.is_empty());
    let (status, body) = as_guest(job(&my_file, "send-to-erp")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(erp_jobs(&app).await.len(), 1);
    let (status, canceled) = app
        .post_json(
            &format!("/jobs/{}/cancel", body["data"]["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{canceled}");

    // And from the Files tab of its space.
    let browser = guest_browser(&app, &token).await;
    let list = browser
        .get(app.url(&format!("/spaces/{mine}/files")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(">Send to ERP</button>"), "{list}");
    let csrf = form_csrf(&list);
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("operation", "send-to-erp"),
        ("input:note", "x"),
    ];
    assert_eq!(
        post_action(&browser, &app, &their_file, &fields)
            .await
            .status()
            .as_u16(),
        404
    );
    assert_eq!(erp_jobs(&app).await.len(), 1);
    assert_eq!(
        post_action(&browser, &app, &my_file, &fields)
            .await
            .status()
            .as_u16(),
        303
    );
    let jobs = erp_jobs(&app).await;
    assert_eq!(jobs.len(), 2);
    assert!(jobs.iter().all(|j| j["source"] == my_file.as_str()), "{jobs:?}");
}

on_both!(
    the_files_tab_shows_a_files_actions_and_a_click_starts_its_job,
    a_guest_runs_the_actions_of_its_own_spaces_files,
);

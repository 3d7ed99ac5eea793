//! Real headless Chromium: upload a file on the Files tab, watch it extract, map it onto a
//! sheet on the mapping screen, and run the import; run a file's action from its button.

use crate::browser::{sign_in_form, start_browser, wait_for};
use crate::helpers::*;
use crate::on_both;
use fantoccini::{Client, Locator};

async fn a_person_uploads_and_imports_a_file(db: Db) {
    let app = spawn_app(db).await;
    let csv = "E-mail,Full Name,Tier\nada@x.org,Ada,Premium\nbob@x.org,Bob,silver\n";
    let (driver, contacts) = mapping_screen_for(&app, csv).await;
    let c = &driver.client;

    // The mapping screen: automap picked the email; the person picks the name.
    wait_for(
        c,
        "document.querySelector(\"select[name='map:e_mail']\")",
        "the mapping screen",
    )
    .await;
    let email = c
        .execute(
            "return document.querySelector(\"select[name='map:e_mail']\").value;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(email, "email");
    // Leaving the required email without a column asks first; declined, nothing runs.
    choose(c, "e_mail", "").await;
    click_run_import(c).await;
    let asked = c.get_alert_text().await.unwrap();
    assert!(
        asked.starts_with("Required fields with no column: Email."),
        "{asked}"
    );
    c.dismiss_alert().await.unwrap();
    let (_, jobs) = app.get_json("/jobs?pageSize=100").await;
    let map = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["operation"] == "map")
        .unwrap();
    assert_eq!(map["status"], "planning", "declined: not run");
    run_import(c, &[("e_mail", "email"), ("full_name", "name")]).await;

    let rows = app.sheet_rows(&contacts).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][..2].to_vec(), vec!["ada@x.org", "Ada"]);
    let tier_col = rows[0].len() - 2;
    assert_eq!(rows[0][tier_col], "gold", "Premium went to gold: {rows:?}");
}

/// ada@example.com (an admin) signed in on a space of the contacts blueprint, `csv` (the
/// file's text) uploaded on its Files tab and its mapping onto Contacts open; the browser
/// and the Contacts sheet's id.
pub async fn mapping_screen_for(app: &TestApp, csv: &str) -> (crate::browser::Driver, String) {
    app.make_user("ada@example.com", true);
    let space = app.space_from_blueprint().await;
    let space_id = space["id"].as_str().unwrap().to_string();
    let contacts = app.sheet_id(&space, "contacts").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.csv");
    std::fs::write(&path, csv).unwrap();
    let driver = start_browser().await;
    let c = &driver.client;
    c.goto(&app.url("/sign-in")).await.unwrap();
    sign_in_form(c, "ada@example.com").await;
    // Upload through the file picker; the list shows the file once it is extracted.
    c.goto(&app.url(&format!("/spaces/{space_id}?tab=files")))
        .await
        .unwrap();
    wait_for(c, "document.querySelector('#files-table')", "the files list").await;
    upload_and_open_mapping(c, app, &path, &contacts).await;
    (driver, contacts)
}

/// On a Files tab open in `c`: uploads `csv` through the file picker, waits for its
/// extraction, follows "Import into..." and chooses `sheet`, and waits for the mapping
/// screen.
pub async fn upload_and_open_mapping(c: &Client, app: &TestApp, csv: &std::path::Path, sheet: &str) {
    c.find(Locator::Css("#file-input"))
        .await
        .unwrap()
        .send_keys(csv.to_str().unwrap())
        .await
        .unwrap();
    wait_for(
        c,
        "document.querySelector('#files-table tr[data-status=complete]')",
        "the file to be extracted",
    )
    .await;
    // The list may be redrawn at any moment (live updates): follow the link's address.
    let import = c
        .execute(
            "return document.querySelector(\"#files-table a[href$='/import']\").getAttribute('href');",
            vec![],
        )
        .await
        .unwrap();
    c.goto(&app.url(import.as_str().unwrap())).await.unwrap();
    wait_for(c, "document.querySelector('#dest')", "the import form").await;
    c.execute(
        &format!("document.querySelector('#dest').value = '{sheet}';"),
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::XPath("//button[text()='Map columns']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        c,
        "document.querySelector(\"select[name^='map:']\")",
        "the mapping screen",
    )
    .await;
}

/// On the mapping screen: maps each `(source key, field key)`, runs the import and waits
/// for it to complete.
pub async fn run_import(c: &Client, mapped: &[(&str, &str)]) {
    for (source, field) in mapped {
        choose(c, source, field).await;
    }
    click_run_import(c).await;
    wait_for(
        c,
        "document.querySelector('#job-state') && document.querySelector('#job-state').dataset.status === 'complete'",
        "the import to complete",
    )
    .await;
    // The focus its button held goes to the job's status (probe 69c D2: to the top of the page).
    wait_for(
        c,
        "document.activeElement.id === 'job-status'",
        "the focus on the job's status",
    )
    .await;
}

/// On the mapping screen: the field a source column goes to (`""`: none).
async fn choose(c: &Client, source: &str, field: &str) {
    c.execute(
        &format!("document.querySelector(\"select[name='map:{source}']\").value = '{field}';"),
        vec![],
    )
    .await
    .unwrap();
}

async fn click_run_import(c: &Client) {
    c.find(Locator::XPath("//button[text()='Run import']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// A file action that asks for a note: its button opens the dialog, and Run starts the job
/// and opens its page.
async fn a_person_runs_a_files_action(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    let space = app.bare_space("Orders").await;
    // Extracted first: the Files tab redraws a file's row when its extraction ends, which
    // would take the button away under the click.
    let file = app
        .upload_and_extract(&space, "orders.csv", b"name\nAda\n".to_vec())
        .await;
    let file = file["id"].as_str().unwrap().to_string();
    let action = serde_json::json!([{"operation": "send-to-erp", "label": "Send to ERP",
        "inputForm": {"type": "simple", "fields": [{"key": "note", "label": "Note", "type": "string"}]}}]);
    let (status, body) = app
        .patch_json(&format!("/files/{file}"), &serde_json::json!({"actions": action}))
        .await;
    assert_eq!(status, 200, "{body}");

    let driver = start_browser().await;
    let c = &driver.client;
    c.goto(&app.url("/sign-in")).await.unwrap();
    sign_in_form(c, "ada@example.com").await;
    c.goto(&app.url(&format!("/spaces/{space}?tab=files")))
        .await
        .unwrap();
    let button = format!("#file-{file} button[data-action-dialog]");
    wait_for(
        c,
        &format!("document.querySelector('{button}')"),
        "the action's button",
    )
    .await;
    // Clicked in the page, found afresh each time: a live refresh of the list (the file's
    // `file:updated`) may replace the row between finding the button and clicking it.
    let click = format!("document.querySelector('{button}')?.click()");
    for _ in 0..50 {
        c.execute(&click, vec![]).await.unwrap();
        let open = c
            .execute(
                "return !!document.querySelector('dialog.action-dialog[open]')",
                vec![],
            )
            .await
            .unwrap();
        if open == serde_json::json!(true) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    wait_for(
        c,
        "document.querySelector('dialog.action-dialog[open]')",
        "its dialog",
    )
    .await;
    c.find(Locator::Css("dialog[open] input[name='input:note']"))
        .await
        .unwrap()
        .send_keys("rush")
        .await
        .unwrap();
    c.find(Locator::Css("dialog[open] button[data-action-submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "location.pathname.startsWith('/jobs/')", "the job's page").await;
    let (_, jobs) = app.get_json("/jobs?pageSize=100").await;
    let started: Vec<_> = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["operation"] == "send-to-erp")
        .collect();
    assert_eq!(started.len(), 1, "{jobs}");
    assert_eq!(started[0]["source"], file.as_str());
    assert_eq!(started[0]["input"]["note"], "rush");
    let path = c.current_url().await.unwrap().path().to_string();
    assert_eq!(path, format!("/jobs/{}", started[0]["id"].as_str().unwrap()));
}

on_both!(a_person_uploads_and_imports_a_file, a_person_runs_a_files_action);

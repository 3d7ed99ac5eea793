//! Actions in headless Chromium: a workbook action with a confirmation and an input form run
//! by the example listener; a sheet action turned on by the selection, a toolbarBlocking job
//! and a toast outcome.

use crate::actions_grid::{guarded_actions, jobs_of, report_action};
use crate::browser::{sign_in_form, start_browser, text, wait_for, wait_for_within};
use crate::helpers::*;
use crate::listener::{serve_listener, workbook_with_records};
use crate::on_both;
use fantoccini::Locator;
use serde_json::json;

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
        json!([
            "1 record has errors (Contacts: 1); fix them first.",
            "Closed for the day"
        ])
    );
    // From another sheet of the workbook, it still says where the errors are (probe 67f D6).
    let (_, sheets) = app.get_json(&format!("/sheets?workbookId={wb}")).await;
    let companies = sheets["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slug"] == "companies")
        .map(|s| s["id"].as_str().unwrap().to_string())
        .unwrap();
    c.goto(&app.url(&format!("/workbooks/{wb}?sheet={companies}")))
        .await
        .unwrap();
    wait_for(
        c,
        "[...document.querySelectorAll('#workbook-actions button')].some(b => b.title === '1 record has errors (Contacts: 1); fix them first.')",
        "the other sheet's errors named",
    )
    .await;
    c.goto(&app.url(&format!("/workbooks/{wb}?sheet={contacts}")))
        .await
        .unwrap();
    wait_for(
        c,
        &format!("document.querySelector('{primary}')"),
        "the workbook's actions again",
    )
    .await;

    c.find(Locator::Css(primary))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let dialog = "#action-workbook-73656e642d7265706f7274";
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
    // A short window: the job's card comes below the grid, out of view, and is brought
    // into it (probe 78c D17: the click seemed to do nothing).
    c.set_window_size(1280, 420).await.unwrap();
    c.execute("window.scrollTo(0, 0);", vec![]).await.unwrap();
    c.find(Locator::Css(&format!("{dialog} [data-action-submit]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        c,
        "(function () { var j = document.getElementById('action-job'); if (!j) return false; \
           var r = j.getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight; })()",
        "the job's card in view",
    )
    .await;
    c.set_window_size(1280, 900).await.unwrap();

    wait_for_within(
        c,
        "document.querySelector('#action-job .job-overlay .job-percent')?.textContent === '40%'",
        &format!(
            "the job's progress under the overlay\nlistener:\n{}",
            listener.output()
        ),
        60,
    )
    .await;
    assert!(text(c, "#action-job .job-info")
        .await
        .contains("Preparing \"Q3 numbers\""));
    assert!(text(c, "#action-job .job-eta").await.contains("minutes left"));
    assert_eq!(
        c.execute(
            "return document.querySelector('#action-workbook-73656e642d7265706f7274').open;",
            vec![]
        )
        .await
        .unwrap(),
        json!(false)
    );

    wait_for_within(
        c,
        "document.querySelector('#job-outcome')",
        "the outcome dialog",
        60,
    )
    .await;
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
    // With the keyboard alone (probe 69c D15): the dialog has the focus, Tab stays within
    // it, and Escape closes it as its button does.
    wait_for(
        c,
        "document.activeElement.id === 'outcome-ack'",
        "the dialog's focus",
    )
    .await;
    for _ in 0..3 {
        c.active_element()
            .await
            .unwrap()
            .send_keys("\u{E004}")
            .await
            .unwrap();
    }
    wait_for(
        c,
        "document.getElementById('job-outcome').contains(document.activeElement)",
        "Tab kept within the dialog",
    )
    .await;
    c.active_element()
        .await
        .unwrap()
        .send_keys("\u{E00C}")
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
    chromium_runs_a_workbook_action_through_the_listener,
    chromium_blocks_the_toolbar_and_toasts_the_outcome,
);

//! In headless Chromium: times read as words with the exact time on hover, a sheet
//! action's `hasAllValid` following the selection live, and actions coming on live once
//! tracked changes are checked.

use crate::actions_grid_rules::sheet_with_checked_action;
use crate::browser::{sign_in_form, start_browser, wait_for};
use crate::helpers::*;
use crate::on_both;
use fantoccini::Locator;
use serde_json::json;

async fn chromium_shows_times_in_words_with_the_exact_time_on_hover(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Times").await;
    app.make_user("ada@example.com", true);
    let driver = start_browser().await;
    let c = &driver.client;
    c.goto(&app.url("/spaces")).await.unwrap();
    sign_in_form(c, "ada@example.com").await;
    c.goto(&app.url(&format!("/spaces/{space}?tab=activity")))
        .await
        .unwrap();
    wait_for(c, "document.querySelector('.activity-line time')", "the activity").await;
    let time = c
        .execute(
            "const t = document.querySelector('.activity-line time'); \
             return [t.textContent, t.title, t.getAttribute('datetime'), t.closest('li').textContent];",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        matches!(time[0].as_str(), Some("just now" | "1 minute ago")),
        "{time}"
    );
    let title = time[1].as_str().unwrap();
    assert!(title.ends_with(" UTC") && title.contains(" 20"), "{time}");
    assert!(time[2].as_str().unwrap().ends_with('Z'), "{time}");
    assert!(time[3].as_str().unwrap().contains("created this space"), "{time}");
    // The People page too.
    c.goto(&app.url("/people")).await.unwrap();
    wait_for(c, "document.querySelector('time[title]')", "a time on People").await;
}

async fn chromium_checks_has_all_valid_against_the_selection(db: Db) {
    let app = spawn_app(db).await;
    let (wb, _, valid, invalid) = sheet_with_checked_action(&app).await;
    app.make_user("ada@example.com", true);
    let driver = start_browser().await;
    let c = &driver.client;
    c.goto(&app.url("/spaces")).await.unwrap();
    sign_in_form(c, "ada@example.com").await;
    c.goto(&app.url(&format!("/workbooks/{wb}"))).await.unwrap();
    let button = "document.querySelector('#sheet-actions button')";
    wait_for(c, button, "the sheet's action").await;
    let state = || async {
        c.execute(
            &format!("const b = {button}; return [b.disabled, b.title];"),
            vec![],
        )
        .await
        .unwrap()
    };
    assert_eq!(
        state().await,
        json!([true, "1 record has errors; fix them first."])
    );
    let tick = |id: String| async move {
        c.find(Locator::Css(&format!("#row-{id} [data-select]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    };
    tick(valid).await;
    wait_for(
        c,
        &format!("!{button}.disabled"),
        "the action on for a valid selection",
    )
    .await;
    tick(invalid).await;
    wait_for(c, &format!("{button}.disabled"), "the action off again").await;
    assert_eq!(
        state().await,
        json!([true, "1 selected record has errors; fix them first."])
    );
}

async fn chromium_turns_actions_on_once_tracked_changes_are_checked(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Tracked").await;
    let body = json!({"name": "W", "spaceId": space, "settings": {"trackChanges": true},
        "actions": [{"label": "Go", "operation": "go"}],
        "sheets": [{"name": "A", "slug": "a", "fields": [{"key": "x", "type": "string"}]}]});
    let (status, wb) = app.post_json("/workbooks", &body).await;
    assert_eq!(status, 200, "{wb}");
    let wb = wb["data"]["id"].as_str().unwrap().to_string();
    let sheet = app.sheet_id(&json!({"id": space}), "a").await;
    let (status, _) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!([{"x": "1"}]))
        .await;
    assert_eq!(status, 200);
    app.make_user("ada@example.com", true);
    let driver = start_browser().await;
    let c = &driver.client;
    c.goto(&app.url("/spaces")).await.unwrap();
    sign_in_form(c, "ada@example.com").await;
    c.goto(&app.url(&format!("/workbooks/{wb}"))).await.unwrap();
    let button = "document.querySelector('#workbook-actions button')";
    wait_for(c, button, "the workbook's action").await;
    let title = c
        .execute(&format!("return [{button}.disabled, {button}.title];"), vec![])
        .await
        .unwrap();
    assert_eq!(
        title,
        json!([
            true,
            "Wait until your team's record hook has checked 1 changed record."
        ])
    );
    // The hook answers: the grid refreshes live and the action comes on.
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
    wait_for(c, &format!("!{button}.disabled"), "the action on once checked").await;

    // A change the hook never answers: past its 2 minutes the open grid shows the row as
    // not checked and the action comes on, with no reload (probe 74c D3).
    let (status, _) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!([{"x": "2"}]))
        .await;
    assert_eq!(status, 200);
    wait_for(c, &format!("{button}.disabled"), "the action held back again").await;
    {
        use diesel::prelude::*;
        use wharf::db::schema::commits;
        let mut conn = app.pool.get().unwrap();
        let long_ago = chrono::Utc::now().naive_utc() - chrono::TimeDelta::minutes(3);
        wharf::on_backend!(&mut *conn, c => diesel::update(commits::table.filter(commits::completed_at.is_null()))
            .set(commits::created_at.eq(long_ago))
            .execute(c))
        .unwrap();
    }
    wait_for(
        c,
        &format!("!{button}.disabled && document.querySelector('#grid tr.unanswered')"),
        "the action on, the row not checked",
    )
    .await;
}

on_both!(
    chromium_shows_times_in_words_with_the_exact_time_on_hover,
    chromium_checks_has_all_valid_against_the_selection,
    chromium_turns_actions_on_once_tracked_changes_are_checked,
);

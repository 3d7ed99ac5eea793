//! Bulk fixes in headless Chromium: a column's menu lists its values, replaces one (the
//! error count follows), the toast's Undo puts it back, and "Delete all shown" deletes the
//! filtered rows after saying how many.

use crate::browser::{click_css, text, wait_for};
use crate::browser_grid::grid_page;
use crate::helpers::*;
use crate::on_both;
use fantoccini::Locator;
use serde_json::{json, Value};

const ERRORS: &str = "document.querySelector('#count-error').textContent.trim()";
const ALL: &str = "document.querySelector('#count-all').textContent.trim()";
const TOAST: &str = "(document.querySelector('#bulk-status') || {}).textContent || ''";

async fn chromium_replaces_undoes_and_deletes_shown_rows(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    // Three tiers that are no option (errors), five premium, twelve silver.
    let rows: Vec<Value> = (0..20)
        .map(|i| {
            let tier = match i {
                0..=2 => "platinum",
                3..=7 => "premium",
                _ => "silver",
            };
            json!({"email": format!("p{i}@x.io"), "name": format!("P{i}"), "tier": tier})
        })
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &Value::Array(rows))
        .await;
    assert_eq!(status, 200, "{body}");

    let driver = grid_page(&app, space["id"].as_str().unwrap(), &sheet).await;
    let c = &driver.client;
    wait_for(c, &format!("{ERRORS} === '3'"), "three errors").await;

    // The Tier column's menu: its values with counts, most held first.
    click_css(c, "[data-column-menu='tier']").await;
    wait_for(
        c,
        "document.querySelector('#column-dialog').open",
        "the column menu",
    )
    .await;
    wait_for(
        c,
        "document.querySelectorAll('#column-values li').length === 3",
        "the values",
    )
    .await;
    let first = text(c, "#column-values li").await;
    assert!(first.starts_with("silver") && first.contains("12"), "{first}");

    // Replace the bad tier: the errors go.
    c.find(Locator::Css("#bulk-find"))
        .await
        .unwrap()
        .send_keys("platinum")
        .await
        .unwrap();
    c.find(Locator::Css("#bulk-replace"))
        .await
        .unwrap()
        .send_keys("gold")
        .await
        .unwrap();
    click_css(c, "#bulk-replace-button").await;
    wait_for(c, &format!("{TOAST}.includes('Replaced 3 values.')"), "the toast").await;
    wait_for(
        c,
        "!document.querySelector('#column-dialog').open",
        "the menu to close",
    )
    .await;
    wait_for(c, &format!("{ERRORS} === '0'"), "no errors after the replace").await;

    // One click undoes it all.
    click_css(c, "[data-bulk-undo]").await;
    wait_for(
        c,
        &format!("{TOAST}.includes('Undone: 3 values put back')"),
        "the undo",
    )
    .await;
    wait_for(c, &format!("{ERRORS} === '3'"), "the errors back").await;

    // Filter to the errors, delete all shown: the count is asked first.
    let search = c.find(Locator::Css("#grid-q")).await.unwrap();
    search.send_keys("filter: is error\u{E007}").await.unwrap();
    wait_for(
        c,
        "document.querySelectorAll('tbody tr[data-record]').length === 3 && document.querySelector('#delete-shown')",
        "three error rows and the delete button",
    )
    .await;
    click_css(c, "#delete-shown").await;
    wait_for(
        c,
        "document.querySelector('#delete-count')",
        "the count to confirm",
    )
    .await;
    assert_eq!(text(c, "#delete-count").await, "3");
    // Someone fixes one of them meanwhile: the delete is refused, and the question is
    // asked again with the view counted now (probe 68b D9: it kept offering 3).
    let (_, errors) = app
        .get_json(&format!("/sheets/{sheet}/records?filter=error"))
        .await;
    let fixed = errors["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": fixed, "values": {"tier": {"value": "gold"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    click_css(c, "[data-confirm-delete]").await;
    wait_for(
        c,
        "document.querySelector('#delete-count') && document.querySelector('#delete-count').textContent.trim() === '2'",
        "the count asked again",
    )
    .await;
    click_css(c, "[data-confirm-delete]").await;
    wait_for(
        c,
        &format!("{TOAST}.includes('Deleted 2 record')"),
        "the deletion's outcome",
    )
    .await;
    wait_for(
        c,
        &format!("{ALL} === '18' && {ERRORS} === '0'"),
        "the counts to follow",
    )
    .await;
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 18);
}

/// Answers the page's questions with `answer` from now on, keeping them to be read: htmx
/// asks after the click has returned, which WebDriver's alert calls do not always see.
async fn answer_questions(c: &fantoccini::Client, answer: bool) {
    c.execute(
        "window.asked = []; window.confirm = function (q) { window.asked.push(q); return arguments[0]; }"
            .replace("arguments[0]", if answer { "true" } else { "false" })
            .as_str(),
        vec![],
    )
    .await
    .unwrap();
}

/// Opens the Name column's menu, clicks Clear and declines its question, which must be
/// `question`.
async fn asks_before_clearing_name(c: &fantoccini::Client, question: &str) {
    click_css(c, "[data-column-menu='name']").await;
    wait_for(
        c,
        "document.querySelector('#column-dialog').open",
        "the column menu",
    )
    .await;
    wait_for(
        c,
        "document.querySelector('#column-values #column-count') !== null",
        "the values",
    )
    .await;
    answer_questions(c, false).await;
    click_css(c, "#bulk-clear-button").await;
    let asked = format!(
        "window.asked.length === 1 && window.asked[0] === {}",
        json!(question)
    );
    wait_for(c, &asked, "the question before clearing").await;
}

/// Probe 71d D6 and D7: "Clear these values" asks first, naming the column and how many
/// records; "Delete selected" says afterwards how many went.
async fn clearing_asks_and_deleting_selected_rows_says_how_many(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    // A long label beside its type (probe 78c D8), first so it is in view.
    let field = json!({"key": "optin", "type": "boolean", "label": "Newsletter opt-in confirmed by email"});
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/fields?insertAtIndex=0"), &field)
        .await;
    assert_eq!(status, 200, "{body}");
    // A label of 190 characters (probe 79b D1: its column grew to 1,625 px).
    let long = "Legal name of the company as registered with the authority in its country of incorporation, including any suffix such as GmbH, Ltd or Inc, exactly as shown on official documents";
    let field = json!({"key": "legal", "type": "string", "label": long});
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/fields?insertAtIndex=1"), &field)
        .await;
    assert_eq!(status, 200, "{body}");
    let rows: Vec<Value> = (0..6)
        .map(|i| json!({"email": format!("p{i}@x.io"), "name": format!("P{i}"), "tier": "silver"}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &Value::Array(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    let driver = grid_page(&app, space["id"].as_str().unwrap(), &sheet).await;
    let c = &driver.client;
    wait_for(c, &format!("{ALL} === '6'"), "six records").await;
    // Two rows ticked: the column's Clear names them, and declining clears nothing.
    c.execute(
        "document.querySelectorAll('[data-select]').forEach(function (b, i) { if (i < 2) b.click(); });",
        vec![],
    )
    .await
    .unwrap();
    asks_before_clearing_name(
        c,
        "Clear Name in the 2 selected records? Undo puts the values back.",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let named = page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["values"]["name"]["value"].is_string())
        .count();
    assert_eq!(named, 6, "nothing cleared");
    click_css(c, "#column-dialog > button[data-close-dialog]").await;
    // Delete selected: the question, then the page says how many went.
    answer_questions(c, true).await;
    click_css(c, "#delete-button").await;
    wait_for(
        c,
        &format!("{TOAST}.includes('Deleted 2 records.')"),
        "the deletion said",
    )
    .await;
    wait_for(c, &format!("{ALL} === '4'"), "the count to follow").await;
    // Once: a reload says nothing more (probe 76a D4).
    c.refresh().await.unwrap();
    wait_for(c, &format!("{ALL} === '4'"), "the page again").await;
    assert!(!text(c, "#bulk-status").await.contains("Deleted"));
    // Nothing selected, nothing filtered: the question counts the sheet (probe 76a D2).
    asks_before_clearing_name(
        c,
        "Clear Name in every record this view shows (4 records)? Undo puts the values back.",
    )
    .await;
    // A search that matches nothing says so once counted (probe 77a D6: no count at all).
    let url = c.current_url().await.unwrap();
    c.goto(&format!("{url}&q=nothing-like-this")).await.unwrap();
    wait_for(
        c,
        "document.getElementById('view-count') && !document.getElementById('view-count').hasAttribute('data-background')",
        "the view counted",
    )
    .await;
    // Every column's ⋯ takes its own clicks, over a long label or its type, in an empty
    // view too (probe 78c D8: the type was drawn over it).
    let covered: Vec<String> = serde_json::from_value(
        c.execute(
            "return Array.from(document.querySelectorAll('th .col-menu')).filter(function (b) { \
               var r = b.getBoundingClientRect(); if (r.right > window.innerWidth) return false; \
               return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) !== b; \
             }).map(function (b) { return b.dataset.columnMenu; });",
            vec![],
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert!(covered.is_empty(), "covered: {covered:?}");
    // The long label is cut short, its column no wider than a cell, and shown whole on hover.
    let header: Value = c
        .execute(
            "var b = document.querySelector(\"[data-column-menu='legal']\"); var th = b.closest('th'); \
             var label = th.querySelector('.label'); \
             return [th.getBoundingClientRect().width, label.scrollWidth > label.clientWidth, label.title];",
            vec![],
        )
        .await
        .unwrap();
    assert!(header[0].as_f64().unwrap() <= 400.0, "{header}");
    assert_eq!(header[1], true, "cut with an ellipsis: {header}");
    assert_eq!(header[2], long, "{header}");
    asks_before_clearing_name(
        c,
        "Clear Name in every record this view shows (no record matches)? Undo puts the values back.",
    )
    .await;
    // A value the field cannot hold is refused in the dialog, where the person looks
    // (probe 79b D6: the toast was behind it).
    c.execute(
        "document.querySelector('#bulk-form-set [name=value]').value = 'next tuesday'; \
         document.querySelector('#bulk-form-set [name=column]').value = 'joined';",
        vec![],
    )
    .await
    .unwrap();
    click_css(c, "#bulk-set-button").await;
    wait_for(
        c,
        "!document.querySelector('#column-dialog [data-dialog-error]').hidden && \
         document.querySelector('#column-dialog [data-dialog-error]').textContent.includes('Nothing was set')",
        "the refusal in the dialog",
    )
    .await;
}

on_both!(
    chromium_replaces_undoes_and_deletes_shown_rows,
    clearing_asks_and_deleting_selected_rows_says_how_many
);

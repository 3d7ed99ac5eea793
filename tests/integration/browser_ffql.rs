//! The grid's search box with `filter: <FFQL>` in headless Chromium: a query that cannot be
//! read shows why under the box (and offers no "Delete all shown"), a good one shows its
//! records and how many match.

use crate::browser::{text, wait_for};
use crate::browser_grid::grid_page;
use crate::helpers::*;
use crate::on_both;
use crate::records_ffql::people_in_space;
use fantoccini::Locator;

const ROWS: &str = "document.querySelectorAll('tbody tr[data-record]').length";

async fn the_search_box_shows_why_a_filter_cannot_be_read(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    let (space, sheet, _) = people_in_space(&app).await;
    let driver = grid_page(&app, &space, &sheet).await;
    let c = &driver.client;
    wait_for(c, &format!("{ROWS} === 5"), "the sheet's five records").await;

    let search = |typed: &'static str| async move {
        let input = c.find(Locator::Css("#grid-q")).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(&format!("{typed}\u{E007}")).await.unwrap();
    };
    search("filter: age eq )").await;
    wait_for(
        c,
        "document.querySelector('#grid-q-error')",
        "the error under the box",
    )
    .await;
    assert_eq!(
        text(c, "#grid-q-error").await,
        "unexpected \")\" at 16; expected a value"
    );
    assert_eq!(c.execute(&format!("return {ROWS};"), vec![]).await.unwrap(), 0);
    // Nothing to delete "shown" by a filter that cannot be read (it opened an empty dialog).
    assert_eq!(
        c.execute("return !!document.querySelector('#delete-shown');", vec![])
            .await
            .unwrap(),
        false
    );
    // What was typed stays in the box, to be corrected.
    let typed = c
        .execute("return document.querySelector('#grid-q').value;", vec![])
        .await
        .unwrap();
    assert_eq!(typed, "filter: age eq )");

    search("filter: age gt 10 and is valid").await;
    wait_for(
        c,
        &format!("{ROWS} === 2 && !document.querySelector('#grid-q-error')"),
        "the two matching records and no error",
    )
    .await;
    assert!(
        c.find(Locator::Css("#delete-shown")).await.is_ok(),
        "a readable filter's records can be deleted"
    );
    // How many records match comes beside the tabs once the page has shown.
    wait_for(
        c,
        "(document.querySelector('#view-count') || {}).textContent === '2 records match'",
        "the view's count",
    )
    .await;
}

/// "Errors in" narrows the view as soon as a column is chosen, as the tabs do (probe 78c
/// D22: it waited for Apply).
async fn errors_in_a_column_apply_when_chosen(db: Db) {
    let app = spawn_app(db).await;
    let records = serde_json::json!([{"email": "a@x.io", "tier": "platinum"}, {"email": "b@x.io", "tier": "gold"}, {"email": "c@x.io"}]);
    let (driver, _, _) = crate::browser_grid::grid_with(&app, records).await;
    let c = &driver.client;
    wait_for(c, &format!("{ROWS} === 3"), "three rows").await;
    c.find(Locator::Css("#grid-field option[value='tier']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, &format!("{ROWS} === 1"), "the row in error in Tier").await;
}

on_both!(
    the_search_box_shows_why_a_filter_cannot_be_read,
    errors_in_a_column_apply_when_chosen
);

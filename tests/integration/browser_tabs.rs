//! Many tabs of Wharf in one browser. Each open grid holds a live stream, and one browser
//! session may hold only a few (browsers allow six connections to a site): a page left in
//! a tab behind others lets its stream go, so the tab in front always gets live updates,
//! and a tab shown again catches up on what changed while it was hidden.

use crate::browser::wait_for_within;
use crate::browser_grid::grid_with;
use crate::browser_live::{rename, shows_name};
use crate::helpers::*;
use crate::on_both;
use serde_json::json;
use std::time::Duration;

on_both!(
    the_tab_in_front_is_live_with_seven_tabs_open,
    a_live_page_left_frees_its_stream_at_once
);

/// Clicking through live pages in one tab: each page left lets its stream go at once, so
/// the session's streams are free for the pages after (probe 64c D1: the sixth page within
/// five seconds was refused 429, for pages the person had already left).
async fn a_live_page_left_frees_its_stream_at_once(db: Db) {
    let app = spawn_app(db).await;
    let records = json!([{"email": "ada@acme.com", "name": "Ada"}]);
    let (driver, sheet, _) = grid_with(&app, records).await;
    let c = &driver.client;
    let grid_url = c.current_url().await.unwrap().to_string();
    for n in 0..3 {
        c.goto(&app.url("/space-configs")).await.unwrap();
        c.goto(&grid_url).await.unwrap();
        wait_for_within(
            c,
            "document.querySelector('tr[data-record]') !== null",
            &format!("the grid, visit {n}"),
            30,
        )
        .await;
    }
    c.goto(&app.url("/space-configs")).await.unwrap();
    // From a page with no stream, all of the session's streams are free.
    let script = r#"
        const url = arguments[0];
        return (async () => {
            const stops = [];
            const statuses = await Promise.all([0, 1, 2, 3, 4].map(async () => {
                const stop = new AbortController();
                stops.push(stop);
                return (await fetch(url, {signal: stop.signal})).status;
            }));
            stops.forEach((s) => s.abort());
            return statuses;
        })();
    "#;
    let statuses = c
        .execute(script, vec![json!(format!("/grid/{sheet}/live"))])
        .await
        .unwrap();
    assert_eq!(statuses, json!([200, 200, 200, 200, 200]));
}

async fn the_tab_in_front_is_live_with_seven_tabs_open(db: Db) {
    let app = spawn_app(db).await;
    let records = json!([{"email": "ada@acme.com", "name": "Ada"}]);
    let (driver, sheet, ids) = grid_with(&app, records).await;
    let c = &driver.client;
    let grid_url = c.current_url().await.unwrap().to_string();
    let first_tab = c.window().await.unwrap();
    // Six more tabs on the same grid, each opened in front of the others.
    for n in 2..=7 {
        let tab = c.new_window(true).await.unwrap().handle;
        c.switch_to_window(tab).await.unwrap();
        c.execute(&format!("location.href = {};", json!(grid_url)), vec![])
            .await
            .unwrap();
        wait_for_within(
            c,
            "document.querySelector('tr[data-record]') !== null",
            &format!("the grid in tab {n}"),
            30,
        )
        .await;
    }
    assert_eq!(
        c.execute("return document.visibilityState;", vec![])
            .await
            .unwrap(),
        json!("visible")
    );
    // The tabs behind let their streams go after a few seconds; the seventh's comes.
    tokio::time::sleep(Duration::from_secs(5)).await;
    rename(&app, &sheet, &ids[0], "Ada in front").await;
    wait_for_within(
        c,
        &shows_name(&ids[0], "Ada in front"),
        "the change, live in the seventh tab",
        30,
    )
    .await;

    // The first tab, hidden throughout, shows the change once it is in front again.
    c.switch_to_window(first_tab).await.unwrap();
    wait_for_within(
        c,
        &shows_name(&ids[0], "Ada in front"),
        "the change in the first tab, shown again",
        30,
    )
    .await;
    // And it is live again.
    rename(&app, &sheet, &ids[0], "Ada again").await;
    wait_for_within(
        c,
        &shows_name(&ids[0], "Ada again"),
        "a change, live in the first tab",
        30,
    )
    .await;
}

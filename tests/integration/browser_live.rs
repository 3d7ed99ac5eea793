//! The grid's live refresh in Chromium, with the page's refresh answers made late so the
//! races a loaded machine meets happen every time.

use crate::browser::{double_click_at, wait_for, wait_for_within};
use crate::browser_grid::{grid_with, open_editor};
use crate::helpers::*;
use crate::on_both;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, Locator};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Holds back every live refresh's answer `ms` milliseconds before htmx sees it, and
/// counts the refreshes sent (`window.__refreshes`) and answered (`window.__answered`).
async fn make_refreshes_late(c: &Client, ms: u64) {
    let script = format!(
        "window.__refreshes = 0; window.__answered = 0;
         const set = XMLHttpRequest.prototype.setRequestHeader, send = XMLHttpRequest.prototype.send;
         XMLHttpRequest.prototype.setRequestHeader = function (k, v) {{
           if (k === 'HX-Trigger' && v === 'live-refresh') this.__refresh = true;
           return set.apply(this, arguments);
         }};
         XMLHttpRequest.prototype.send = function () {{
           if (this.__refresh) {{
             window.__refreshes++;
             const xhr = this, onload = xhr.onload;
             xhr.onload = function () {{ window.__answered++; const args = arguments; setTimeout(() => onload.apply(xhr, args), {ms}); }};
           }}
           return send.apply(this, arguments);
         }};"
    );
    c.execute(&script, vec![]).await.unwrap();
}

/// Ada and Cy in the contacts sheet, and a browser signed in on its grid, whose live
/// connection has had time to open; returns the browser, the sheet and the records' ids.
async fn live_grid(app: &TestApp) -> (crate::browser::Driver, String, Vec<String>) {
    let records = json!([{"email": "ada@acme.com", "name": "Ada"}, {"email": "cy@acme.com", "name": "Cy"}]);
    let (driver, sheet, ids) = grid_with(app, records).await;
    let c = &driver.client;
    wait_for_within(
        c,
        "document.querySelectorAll('tr[data-record]').length === 2",
        "the grid",
        30,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await; // let its live connection open
    (driver, sheet, ids)
}

/// Renames the record `id` through the API (a change the grid hears of live).
pub(crate) async fn rename(app: &TestApp, sheet: &str, id: &str, name: &str) {
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": id, "values": {"name": {"value": name}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A script true once the grid shows `name` in the name cell of the record `id`.
pub(crate) fn shows_name(id: &str, name: &str) -> String {
    format!(
        "document.querySelector(\"#row-{id} td.cell[data-field='name'] .value\")?.textContent === '{name}'"
    )
}

/// A change announced while a refresh is on its way shows once that refresh has landed:
/// it is not lost with the grid the first refresh replaces.
async fn a_change_made_during_a_live_refresh_shows_after_it(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, ids) = live_grid(&app).await;
    let c = &driver.client;
    make_refreshes_late(c, 1500).await;
    rename(&app, &sheet, &ids[0], "First").await;
    wait_for_within(c, "window.__answered >= 1", "a live refresh's answer", 30).await;
    // The first refresh's answer (without this change) is held back: this change is
    // announced while htmx still waits for it.
    rename(&app, &sheet, &ids[0], "Second").await;
    wait_for_within(
        c,
        &shows_name(&ids[0], "Second"),
        "the second change in the grid",
        30,
    )
    .await;
}

/// An editor opened while a refresh is on its way stays open with what is typed in it (the
/// refresh's answer would replace it), and the change shows once the editor is saved.
async fn an_editor_opened_during_a_live_refresh_keeps_what_is_typed(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, ids) = live_grid(&app).await;
    let c = &driver.client;
    make_refreshes_late(c, 1500).await;
    rename(&app, &sheet, &ids[0], "Ada Lovelace").await;
    wait_for_within(c, "window.__refreshes >= 1", "a live refresh to leave", 30).await;
    let cy_email = format!("#row-{} td.cell[data-field='email']", ids[1]);
    open_editor(c, &cy_email).await;
    let input = c
        .find(Locator::Css(".cell-editor input[name=value]"))
        .await
        .unwrap();
    input.clear().await.unwrap();
    input.send_keys("cy@example.org").await.unwrap();
    // Past the held-back answer: the editor and its text are still there.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let typed = c
        .execute(
            "return document.querySelector('.cell-editor input[name=value]')?.value;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(typed, json!("cy@example.org"), "the editor kept what was typed");
    input.send_keys("\u{E007}").await.unwrap();
    let saved = format!(
        "document.querySelector(\"{cy_email} .value\")?.textContent === 'cy@example.org' && !document.querySelector('.cell-editor')"
    );
    wait_for_within(c, &saved, "the saved cell", 30).await;
    wait_for_within(
        c,
        &shows_name(&ids[0], "Ada Lovelace"),
        "the change made meanwhile",
        30,
    )
    .await;
    let (_, rec) = app
        .get_json(&format!("/sheets/{sheet}/records?ids={}", ids[1]))
        .await;
    assert_eq!(
        rec["data"]["records"][0]["values"]["email"]["value"], "cy@example.org",
        "{rec}"
    );
}

/// A refresh keeps what the person has under way in the grid: ticked rows (with the delete
/// button they turn on) and text typed in the search box but not sent, with the caret.
async fn a_live_refresh_keeps_ticked_rows_and_unsent_search_text(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, ids) = live_grid(&app).await;
    let c = &driver.client;
    c.find(Locator::Css(&format!("#row-{} [data-select]", ids[1])))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let search = c.find(Locator::Css("#grid-q")).await.unwrap();
    search.click().await.unwrap();
    search.send_keys("filter: age gt 30").await.unwrap();
    rename(&app, &sheet, &ids[0], "Ada Lovelace").await;
    wait_for_within(
        c,
        &shows_name(&ids[0], "Ada Lovelace"),
        "the change in the grid",
        30,
    )
    .await;
    let state = c
        .execute(
            &format!(
                "return [document.querySelector(\"#row-{} [data-select]\").checked,
                         document.getElementById('delete-ids').value,
                         document.getElementById('delete-button')?.disabled,
                         document.getElementById('grid-q').value,
                         document.activeElement && document.activeElement.id];",
                ids[1]
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        state,
        json!([true, ids[1], false, "filter: age gt 30", "grid-q"]),
        "ticks, delete button, search text and focus after the refresh"
    );
}

/// Keys typed into the search box while refreshes land, one after another, all stay
/// (probe 59a: a third of a sentence typed while an API client wrote was lost, the text
/// being put back a moment after the new box had taken keys).
async fn keys_typed_while_refreshes_land_all_stay(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, ids) = live_grid(&app).await;
    let c = &driver.client;
    let writing = Arc::new(AtomicBool::new(true));
    let writer = write_often(&app, &sheet, &ids[0], writing.clone());
    let typed = "the quick brown fox jumps over the lazy dog";
    c.execute("document.getElementById('grid-q').focus();", vec![])
        .await
        .unwrap();
    for ch in typed.chars() {
        // Keys pressed, to whatever has focus: a refresh replaces the box (and gives the new
        // one focus) between any two of them.
        let key = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: ch })
            .then(KeyAction::Up { value: ch });
        c.perform_actions(key).await.unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    writing.store(false, Ordering::Relaxed);
    let writes = writer.await.unwrap();
    assert!(
        writes >= 3,
        "the grid was refreshed while typing ({writes} writes)"
    );
    wait_for_within(
        c,
        &shows_name(&ids[0], &format!("Ada {writes}")),
        "the last change",
        30,
    )
    .await;
    let value = c
        .execute("return document.getElementById('grid-q').value;", vec![])
        .await
        .unwrap();
    assert_eq!(value, json!(typed), "every key typed is in the box");
}

/// An API client writing to the sheet every 150 ms, until `writing` is cleared; answers how
/// many writes it made.
fn write_often(
    app: &TestApp,
    sheet: &str,
    id: &str,
    writing: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<u32> {
    let (url, key) = (app.url(&format!("/v1/sheets/{sheet}/records")), app.key.clone());
    let id = id.to_string();
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut n = 0;
        while writing.load(Ordering::Relaxed) {
            n += 1;
            let body = json!([{"id": id, "values": {"name": {"value": format!("Ada {n}")}}}]);
            let answer = client
                .put(&url)
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status().as_u16(), 200);
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        n
    })
}

/// Double clicks made at a person's pace while refreshes land, each a real press and
/// release, all open the editor (probe 59b: a refresh replacing the cell between press and
/// release made the browser fire no click, and half of them opened nothing).
async fn double_clicks_while_refreshes_land_open_the_editor(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, ids) = live_grid(&app).await;
    let c = &driver.client;
    let writing = Arc::new(AtomicBool::new(true));
    let writer = write_often(&app, &sheet, &ids[0], writing.clone());
    let cell = format!("#row-{} td.cell[data-field='email']", ids[1]);
    let mut opened = 0;
    for _ in 0..8 {
        let rect = c
            .execute(
                &format!("const r = document.querySelector(\"{cell}\").getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2];"),
                vec![],
            )
            .await
            .unwrap();
        let (x, y) = (rect[0].as_f64().unwrap(), rect[1].as_f64().unwrap());
        double_click_at(c, (x, y), 90, 110).await;
        let mut open = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let editor = c
                .execute("return !!document.querySelector('.cell-editor');", vec![])
                .await
                .unwrap();
            if editor == json!(true) {
                open = true;
                break;
            }
        }
        if open {
            opened += 1;
            let escape = KeyActions::new("keyboard".into())
                .then(KeyAction::Down { value: '\u{E00C}' })
                .then(KeyAction::Up { value: '\u{E00C}' });
            c.perform_actions(escape).await.unwrap();
            wait_for(
                c,
                "!document.querySelector('.cell-editor')",
                "the editor to close",
            )
            .await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    writing.store(false, Ordering::Relaxed);
    let writes = writer.await.unwrap();
    assert!(writes >= 3, "the grid was refreshed meanwhile ({writes} writes)");
    assert_eq!(opened, 8, "double clicks that opened the editor");
}

/// Back to a grid whose copy in htmx's history holds an open cell editor (opened, then a
/// filter clicked) shows the grid as it is now and goes on updating (probe 59a: the old
/// editor came back and held every refresh back).
async fn back_to_a_grid_left_with_an_editor_open_updates(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, ids) = live_grid(&app).await;
    let c = &driver.client;
    let cy_email = format!("#row-{} td.cell[data-field='email']", ids[1]);
    open_editor(c, &cy_email).await;
    c.execute(
        "document.querySelector('nav.filters a:nth-child(3)').click();",
        vec![],
    )
    .await
    .unwrap();
    wait_for(
        c,
        "document.querySelector('nav.filters a:nth-child(3)')?.getAttribute('aria-current') === 'true' && location.search.includes('filter=error')",
        "the Error tab",
    )
    .await;
    c.back().await.unwrap();
    wait_for(
        c,
        "!location.search.includes('filter=error') && document.querySelectorAll('tr[data-record]').length === 2 && !document.querySelector('.cell-editor')",
        "the grid back, without the editor",
    )
    .await;
    rename(&app, &sheet, &ids[0], "Ada Back").await;
    wait_for_within(c, &shows_name(&ids[0], "Ada Back"), "a change after Back", 30).await;
}

on_both!(
    double_clicks_while_refreshes_land_open_the_editor,
    keys_typed_while_refreshes_land_all_stay,
    back_to_a_grid_left_with_an_editor_open_updates,
    a_change_made_during_a_live_refresh_shows_after_it,
    an_editor_opened_during_a_live_refresh_keeps_what_is_typed,
    a_live_refresh_keeps_ticked_rows_and_unsent_search_text,
);

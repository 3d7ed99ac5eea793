//! Typing in the grid as a quick spreadsheet user does, on a slow connection: keys pressed
//! while an editor opens or a save is on its way land where they were typed (probe 61e
//! D2), arrows walk an option list without saving each step (D3), a character typed on a
//! cell opens it and types over (D5), and the keyboard reaches the grid with Tab (D6).

use crate::browser::wait_for;
use crate::browser_grid::grid_with;
use crate::helpers::*;
use crate::on_both;
use fantoccini::Client;
use serde_json::{json, Value};

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const DOWN: &str = "\u{E015}";
const ESCAPE: &str = "\u{E00C}";
const SHIFT: &str = "\u{E008}";
/// Lets go of the modifier keys held.
const RELEASE: &str = "\u{E000}";

/// Every request of the page leaves 300 ms late, as over a slow connection.
async fn slow_network(c: &Client) {
    slow_network_by(c, 300).await;
}

/// Every request of the page leaves `ms` late.
pub(crate) async fn slow_network_by(c: &Client, ms: u64) {
    c.execute(
        &format!(
            "const send = XMLHttpRequest.prototype.send;
             XMLHttpRequest.prototype.send = function (body) {{ setTimeout(() => send.call(this, body), {ms}); }};"
        ),
        vec![],
    )
    .await
    .unwrap();
}

pub(crate) async fn focus_cell(c: &Client, field: &str) {
    c.execute(
        &format!("document.querySelector(\"tr[data-record] td.cell[data-field='{field}']\").click();"),
        vec![],
    )
    .await
    .unwrap();
    wait_for(
        c,
        &format!("document.activeElement.matches(\"td.cell[data-field='{field}']\")"),
        "the cell's focus",
    )
    .await;
}

pub(crate) async fn values_become(app: &TestApp, sheet: &str, want: &[(&str, Value)]) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
        last = page["data"]["records"][0]["values"].clone();
        if want.iter().all(|(k, v)| last[*k]["value"] == *v) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("values never became {want:?}: {last}");
}

async fn keys_typed_on_a_slow_connection_land_where_typed(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, _) = grid_with(&app, json!([{"email": "a@x.io", "name": "Person", "age": 27}])).await;
    let c = &driver.client;
    slow_network(c).await;
    focus_cell(c, "name").await;
    // Enter opens Name; Tabby goes into it while it loads; Tab saves it and moves to Age;
    // Enter opens Age, 33 goes into it, Enter saves it: all before the first answer.
    let keys = format!("{ENTER}Tabby{TAB}{ENTER}33{ENTER}");
    c.active_element().await.unwrap().send_keys(&keys).await.unwrap();
    let values = values_become(&app, &sheet, &[("name", json!("Tabby")), ("age", json!(33))]).await;
    assert_eq!(values["email"]["value"], "a@x.io", "{values}");
    wait_for(
        c,
        "!document.querySelector('.cell-editor')",
        "every editor closed",
    )
    .await;
    let (_, changes) = app.get_json(&format!("/sheets/{sheet}/changes")).await;
    assert_eq!(
        changes["data"].as_array().unwrap().len(),
        2,
        "two saves, nothing else: {changes}"
    );
}

async fn arrows_walk_options_and_typing_goes_over_a_cell(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, _) = grid_with(&app, json!([{"email": "a@x.io", "name": "Person"}])).await;
    let c = &driver.client;
    // A character typed on a cell opens its editor and replaces what it held.
    focus_cell(c, "name").await;
    c.active_element()
        .await
        .unwrap()
        .send_keys(&format!("Zed{ENTER}"))
        .await
        .unwrap();
    values_become(&app, &sheet, &[("name", json!("Zed"))]).await;
    // A burst (a barcode scanner) lands in the order typed (probe 67f D8: "abcdef" saved
    // "fabcde": a key pressed as the editor took the focus went in ahead of those waiting).
    for burst in ["abcdefghijklmnop", "qrstuvwxyz012345"] {
        wait_for(c, "!document.querySelector('.cell-editor')", "the editor closed").await;
        focus_cell(c, "name").await;
        c.active_element()
            .await
            .unwrap()
            .send_keys(&format!("{burst}{ENTER}"))
            .await
            .unwrap();
        values_become(&app, &sheet, &[("name", json!(burst))]).await;
    }
    // Two steps down an option list, then Enter: one save, of the option reached.
    wait_for(
        c,
        "!document.querySelector('.cell-editor')",
        "the name's editor closed",
    )
    .await;
    focus_cell(c, "tier").await;
    c.active_element().await.unwrap().send_keys(ENTER).await.unwrap();
    wait_for(
        c,
        "document.activeElement.tagName === 'SELECT'",
        "the option list",
    )
    .await;
    let (options, at): (Vec<String>, usize) = serde_json::from_value(
        c.execute(
            "const s = document.activeElement; return [Array.from(s.options).map(o => o.value), s.selectedIndex];",
            vec![],
        )
        .await
        .unwrap(),
    )
    .unwrap();
    let steps = (options.len() - 1 - at).min(2);
    assert!(steps >= 1, "{options:?} at {at}");
    let reached = options[at + steps].clone();
    c.active_element()
        .await
        .unwrap()
        .send_keys(&DOWN.repeat(steps))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (_, changes) = app.get_json(&format!("/sheets/{sheet}/changes")).await;
    assert_eq!(
        changes["data"].as_array().unwrap().len(),
        3,
        "the name's three saves, no step saved: {changes}"
    );
    c.active_element().await.unwrap().send_keys(ENTER).await.unwrap();
    values_become(&app, &sheet, &[("tier", json!(reached))]).await;
    let (_, changes) = app.get_json(&format!("/sheets/{sheet}/changes")).await;
    assert_eq!(changes["data"].as_array().unwrap().len(), 4, "{changes}");
    // The grid has a cell in the Tab order.
    c.refresh().await.unwrap();
    wait_for(
        c,
        "document.querySelector(\"#grid td.cell[tabindex='0']\")",
        "a cell in the Tab order",
    )
    .await;
    // An 800 px window keeps the top bar within it (probe 61e D7: Sign out was off-screen).
    c.set_window_size(800, 900).await.unwrap();
    c.refresh().await.unwrap();
    wait_for(c, "document.querySelector('.topbar')", "the page").await;
    wait_for(
        c,
        "document.documentElement.scrollWidth <= window.innerWidth",
        "no page-wide sideways scroll",
    )
    .await;
}

/// An editor open on a row someone deletes closes with Escape, the row going with it, and
/// the grid takes live updates again (probe 61e D1: nothing closed it, none came).
async fn an_editor_on_a_deleted_row_closes_and_live_updates_resume(db: Db) {
    let app = spawn_app(db).await;
    let records = json!([{"email": "a@x.io", "name": "First"}, {"email": "b@x.io", "name": "Second"}]);
    let (driver, sheet, ids) = grid_with(&app, records).await;
    let c = &driver.client;
    c.execute(
        &format!(
            "document.querySelector(\"#row-{} td.cell[data-field='name']\").click();",
            ids[0]
        ),
        vec![],
    )
    .await
    .unwrap();
    c.active_element()
        .await
        .unwrap()
        .send_keys(&format!("{ENTER}typing"))
        .await
        .unwrap();
    wait_for(c, "document.querySelector('.cell-editor')", "the editor").await;
    let (status, body) = app
        .delete(&format!("/sheets/{sheet}/records?ids={}", ids[0]))
        .await;
    assert_eq!(status, 200, "{body}");
    c.active_element().await.unwrap().send_keys(ESCAPE).await.unwrap();
    wait_for(
        c,
        &format!(
            "!document.querySelector('.cell-editor') && !document.getElementById('row-{}')",
            ids[0]
        ),
        "the editor and the deleted row gone",
    )
    .await;
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": ids[1], "values": {"name": {"value": "Changed live"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    wait_for(
        c,
        "document.getElementById('grid').textContent.includes('Changed live')",
        "the live update",
    )
    .await;
}

/// Typing over a date cell keeps the date typed, and over an option cell picks the option
/// the keys begin (probe 68b D12: the date picker and the option list dropped them).
async fn typing_over_a_date_or_an_option_cell_keeps_the_keys(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, _) = grid_with(&app, json!([{"email": "a@x.io", "tier": "gold"}])).await;
    let c = &driver.client;
    slow_network(c).await;
    focus_cell(c, "joined").await;
    c.active_element()
        .await
        .unwrap()
        .send_keys(&format!("31/12/2025{ENTER}"))
        .await
        .unwrap();
    values_become(&app, &sheet, &[("joined", json!("2025-12-31"))]).await;
    wait_for(
        c,
        "!document.querySelector('.cell-editor')",
        "the date's editor closed",
    )
    .await;
    focus_cell(c, "tier").await;
    c.active_element()
        .await
        .unwrap()
        .send_keys(&format!("si{ENTER}"))
        .await
        .unwrap();
    values_become(&app, &sheet, &[("tier", json!("silver"))]).await;
}

/// Tab walks a row's cells and then leaves them, either way, for what comes after or
/// before (probe 69c D4: the focus stayed on the row's last or first cell, a keyboard trap).
async fn tab_leaves_the_cells_of_a_row_at_its_ends(db: Db) {
    let app = spawn_app(db).await;
    let (driver, _, _) = grid_with(&app, json!([{"email": "a@x.io"}])).await;
    let c = &driver.client;
    let last: String = c
        .execute(
            "return [...document.querySelectorAll('tr[data-record] td.cell')].pop().dataset.field;",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    focus_cell(c, &last).await;
    c.active_element().await.unwrap().send_keys(TAB).await.unwrap();
    wait_for(
        c,
        "!document.activeElement.matches('td.cell')",
        "the focus past the last cell",
    )
    .await;
    focus_cell(c, "email").await;
    c.active_element()
        .await
        .unwrap()
        .send_keys(&format!("{SHIFT}{TAB}{RELEASE}"))
        .await
        .unwrap();
    wait_for(
        c,
        "!document.activeElement.matches('td.cell')",
        "the focus before the first cell",
    )
    .await;
    // Within the row, Tab still goes from cell to cell.
    focus_cell(c, "email").await;
    c.active_element().await.unwrap().send_keys(TAB).await.unwrap();
    wait_for(
        c,
        "document.activeElement.matches(\"td.cell[data-field='name']\")",
        "the next cell",
    )
    .await;
}

/// Delete or Backspace on a focused cell clears it, as in a spreadsheet (probe 78c D15:
/// nothing happened), on a slow connection too; a cell already empty is not saved again.
async fn delete_clears_a_focused_cell(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, _) = grid_with(
        &app,
        json!([{"email": "a@x.io", "name": "Person", "tier": "gold"}]),
    )
    .await;
    let c = &driver.client;
    slow_network(c).await;
    // Delete on Name, Backspace on Tier, then Delete on the emptied Name.
    for (field, key, cleared) in [
        ("name", "\u{E017}", true),
        ("tier", "\u{E003}", true),
        ("name", "\u{E017}", false),
    ] {
        focus_cell(c, field).await;
        c.active_element().await.unwrap().send_keys(key).await.unwrap();
        if cleared {
            values_become(&app, &sheet, &[(field, Value::Null), ("email", json!("a@x.io"))]).await;
        }
        wait_for(c, "!document.querySelector('.cell-editor')", "the editor closed").await;
    }
    // (Its editor opens and closes over the slow connection: given time to save, if it did.)
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    wait_for(c, "!document.querySelector('.cell-editor')", "no editor left").await;
    let (_, changes) = app.get_json(&format!("/sheets/{sheet}/changes")).await;
    assert_eq!(
        changes["data"].as_array().unwrap().len(),
        2,
        "two clears: {changes}"
    );
}

on_both!(
    delete_clears_a_focused_cell,
    tab_leaves_the_cells_of_a_row_at_its_ends,
    keys_typed_on_a_slow_connection_land_where_typed,
    arrows_walk_options_and_typing_goes_over_a_cell,
    an_editor_on_a_deleted_row_closes_and_live_updates_resume,
    typing_over_a_date_or_an_option_cell_keeps_the_keys
);

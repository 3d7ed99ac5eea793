//! The grid's cell editor in Chromium changes nothing unasked: a cell left with Enter or
//! Tab without typing keeps what it held (line breaks, a date the date picker cannot read,
//! a boolean that is neither), and after a save the keyboard stays in the grid.

use crate::browser::{click_css, wait_for};
use crate::browser_grid::{grid_with, open_editor};
use crate::helpers::*;
use crate::on_both;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Opens the editor of `field` in the only row and leaves it with `key`.
async fn open_and_leave(c: &Client, field: &str, key: &str) {
    open_editor(c, &format!("tr[data-record] td.cell[data-field='{field}']")).await;
    c.active_element().await.unwrap().send_keys(key).await.unwrap();
    // The editor closes and the keyboard is back in the grid.
    wait_for(
        c,
        "!document.querySelector('.cell-editor') && document.activeElement.matches('td.cell')",
        "the editor to close, focus on a cell",
    )
    .await;
}

async fn record(app: &TestApp, sheet: &str) -> Value {
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    page["data"]["records"][0].clone()
}

async fn the_editor_changes_nothing_unasked(db: Db) {
    let app = spawn_app(db).await;
    let records = json!([{"email": "ada@x.io", "name": "line1\nline2\r\nline3",
                          "joined": "15/03/2024", "subscribed": "maybe", "age": 5}]);
    let (driver, sheet, _) = grid_with(&app, records).await;
    let c = &driver.client;
    let before = record(&app, &sheet).await;
    for (field, key) in [
        ("name", ENTER),
        ("name", TAB),
        ("joined", TAB),
        ("subscribed", TAB),
        ("joined", ENTER),
    ] {
        open_and_leave(c, field, key).await;
    }
    let after = record(&app, &sheet).await;
    assert_eq!(
        after["versionId"], before["versionId"],
        "nothing was saved: {after}"
    );
    assert_eq!(after["values"], before["values"], "{after}");
    let (_, changes) = app.get_json(&format!("/sheets/{sheet}/changes")).await;
    assert!(
        !changes.to_string().contains("ada@example.com"),
        "no change is the person's: {changes}"
    );

    // A multi-line cell is edited in a box that keeps line breaks (Shift+Enter adds one).
    open_editor(c, "tr[data-record] td.cell[data-field='name']").await;
    wait_for(
        c,
        "document.activeElement.tagName === 'TEXTAREA'",
        "a multi-line editor",
    )
    .await;
    c.execute(
        "const t = document.activeElement; t.selectionStart = t.selectionEnd = t.value.length;",
        vec![],
    )
    .await
    .unwrap();
    let input = c.find(Locator::Css(".cell-editor textarea")).await.unwrap();
    input
        .send_keys(&format!("\u{E008}{ENTER}\u{E008}end{ENTER}"))
        .await
        .unwrap();
    wait_for(c, "!document.querySelector('.cell-editor')", "the save").await;
    // After a save the keyboard stays in the grid, on the cell below or beside.
    wait_for(
        c,
        "document.activeElement && document.activeElement.matches('td.cell')",
        "focus on a cell after the save",
    )
    .await;
    // (A browser sends a text box's line breaks as CR LF.)
    let after = record(&app, &sheet).await;
    let name = after["values"]["name"]["value"]
        .as_str()
        .unwrap()
        .replace("\r\n", "\n");
    assert_eq!(name, "line1\nline2\nline3\nend", "{after}");
}

/// A change someone else makes while a cell editor is open shows once the editor closes
/// (the live update waited for it, and was dropped).
async fn a_change_made_while_editing_shows_when_the_editor_closes(db: Db) {
    let app = spawn_app(db).await;
    let records = json!([{"email": "ada@x.io", "name": "Ada"}, {"email": "bo@x.io", "name": "Bo"}]);
    let (driver, sheet, ids) = grid_with(&app, records).await;
    let c = &driver.client;
    open_editor(c, &format!("#row-{} td.cell[data-field='name']", ids[0])).await;
    // Someone else renames Bo meanwhile; the open editor holds the update back.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": ids[1], "values": {"name": {"value": "Bo Renamed"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    c.active_element()
        .await
        .unwrap()
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    let second = format!("#row-{} td.cell[data-field='name']", ids[1]);
    wait_for(
        c,
        &format!("!document.querySelector('.cell-editor') && document.querySelector(\"{second}\").textContent.includes('Bo Renamed')"),
        "the held-back change once the editor closed",
    )
    .await;
}

/// Enter on a date read two ways, as its editor shows it, keeps that reading: the warning
/// goes (probe 72a D1: a person could not confirm it).
async fn enter_on_a_warned_date_confirms_its_reading(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, _) = grid_with(&app, json!([{"email": "ada@x.io", "joined": "01/05/2024"}])).await;
    let joined = async || record(&app, &sheet).await["values"]["joined"].clone();
    assert_eq!(joined().await["raw"], "01/05/2024");
    open_and_leave(&driver.client, "joined", ENTER).await;
    let mut cell = joined().await;
    for _ in 0..50 {
        if cell["raw"].is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        cell = joined().await;
    }
    assert_eq!(cell["value"], "2024-01-05", "{cell}");
    assert!(cell["raw"].is_null() && cell["messages"] == json!([]), "{cell}");
}

/// A click on another cell saves what was typed into an open editor, and closes one
/// nothing was typed into (probe 78c D20: both stayed open, unsaved, and a reload lost
/// them).
async fn a_click_away_saves_what_was_typed(db: Db) {
    let app = spawn_app(db).await;
    let records = json!([{"email": "ada@x.io", "name": "Ada"}, {"email": "bo@x.io", "name": "Bo"}]);
    let (driver, sheet, ids) = grid_with(&app, records).await;
    let c = &driver.client;
    let cell = |row: usize, field: &str| format!("#row-{} td.cell[data-field='{field}']", ids[row]);
    // Clicks `css` and waits for every editor to close.
    let click_away = async |css: &str| {
        click_css(c, css).await;
        wait_for(
            c,
            "!document.querySelector('.cell-editor')",
            "the editor to close",
        )
        .await;
    };
    let name = async |row: usize| {
        let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
        page["data"]["records"][row].clone()
    };
    open_editor(c, &cell(0, "name")).await;
    c.active_element()
        .await
        .unwrap()
        .send_keys("Ada Lovelace")
        .await
        .unwrap();
    click_away(&cell(1, "email")).await;
    let mut ada = name(0).await;
    for _ in 0..50 {
        if ada["values"]["name"]["value"] == "Ada Lovelace" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        ada = name(0).await;
    }
    assert_eq!(ada["values"]["name"]["value"], "Ada Lovelace", "{ada}");
    let focused = format!("document.activeElement.matches(\"{}\")", cell(1, "email"));
    wait_for(c, &focused, "the clicked cell focused").await;
    // Typed, then a click on a column's sort: saved first, and the sorted grid shows it
    // (probe 79b D2: it was read before the save and showed the old value).
    open_editor(c, &cell(1, "name")).await;
    c.active_element().await.unwrap().send_keys("Bob").await.unwrap();
    click_css(c, "th a[href*='sort=name']").await;
    let sorted = format!(
        "!document.querySelector('.cell-editor') && location.search.includes('sort=name') && document.querySelector(\"{}\").textContent.includes('Bob')",
        cell(1, "name")
    );
    wait_for(c, &sorted, "the sorted grid with the saved value").await;
    // Nothing typed: the editor closes and nothing is saved.
    let bo = name(1).await;
    open_editor(c, &cell(1, "name")).await;
    click_away(&cell(0, "email")).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(name(1).await["versionId"], bo["versionId"], "nothing saved");
}

on_both!(
    a_click_away_saves_what_was_typed,
    the_editor_changes_nothing_unasked,
    enter_on_a_warned_date_confirms_its_reading,
    a_change_made_while_editing_shows_when_the_editor_closes,
);

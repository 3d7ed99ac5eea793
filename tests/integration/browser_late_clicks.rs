//! Clicks between keys on a slow connection (probe 79b D5, D7): keys typed while an editor
//! opens or a save is on its way go into the cell they were typed on, not into a cell
//! clicked after them, and a double click beside an open editor opens its own.

use crate::browser::{click_css, wait_for};
use crate::browser_clicks::double_click;
use crate::browser_grid::grid_with;
use crate::browser_typing::{focus_cell, slow_network_by, values_become};
use crate::helpers::*;
use crate::on_both;
use fantoccini::Client;
use serde_json::{json, Value};

const ENTER: &str = "\u{E007}";

fn cell(record: &str, field: &str) -> String {
    format!("#row-{record} td.cell[data-field='{field}']")
}

/// A real click (WebDriver's, with the mouse) on the cell of `record` and `field`.
async fn click_cell(c: &Client, record: &str, field: &str) {
    click_css(c, &cell(record, field)).await;
}

/// Types `text` over the focused cell and waits until its editor holds it.
async fn type_into_editor(c: &Client, text: &str) {
    type_keys(c, text).await;
    wait_for(
        c,
        &format!("document.activeElement.value === {}", json!(text)),
        "the text in the cell's editor",
    )
    .await;
}

async fn type_keys(c: &Client, keys: &str) {
    c.active_element().await.unwrap().send_keys(keys).await.unwrap();
}

/// The record's values once `done` holds of them (10 s at most), else as they are then.
async fn settled(app: &TestApp, sheet: &str, record: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let values = record_values(app, sheet, record).await;
        if done(&values) {
            return values;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    record_values(app, sheet, record).await
}

/// Waits (10 s at most) for the record's `field` to hold `value`, and fails saying what
/// it holds if it does not.
async fn saved_as(app: &TestApp, sheet: &str, record: &str, field: &str, value: &str) {
    let values = settled(app, sheet, record, |v| v[field]["value"] == value).await;
    assert_eq!(values[field]["value"], value, "{values}");
}

/// Person and Other.
fn two_rows() -> Value {
    json!([{"email": "a@x.io", "name": "Person"}, {"email": "b@x.io", "name": "Other"}])
}

async fn record_values(app: &TestApp, sheet: &str, record: &str) -> Value {
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let all = page["data"]["records"].as_array().unwrap().clone();
    let found = all.iter().find(|r| r["id"] == record).unwrap();
    found["values"].clone()
}

/// An editor holding X1; a click on the next cell, Y2 typed there, a click on a third cell
/// and Enter, all while the first save is on its way: X1 and Y2 land where typed, and the
/// third cell is only opened (in the probe, Y2 went into it).
async fn keys_typed_before_a_click_stay_in_their_cell(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, ids) =
        grid_with(&app, json!([{"email": "a@x.io", "name": "Person", "age": 27}])).await;
    let c = &driver.client;
    focus_cell(c, "name").await;
    type_into_editor(c, "X1").await;
    slow_network_by(c, 800).await;
    click_cell(c, &ids[0], "email").await;
    type_keys(c, "Y2").await;
    click_cell(c, &ids[0], "age").await;
    type_keys(c, ENTER).await;
    values_become(&app, &sheet, &[("name", json!("X1")), ("email", json!("Y2"))]).await;
    wait_for(
        c,
        &format!(
            "document.querySelector(\"{} .cell-editor\")",
            cell(&ids[0], "age")
        ),
        "the age's editor, opened by Enter",
    )
    .await;
    let values = record_values(&app, &sheet, &ids[0]).await;
    assert_eq!(values["age"]["value"], 27, "{values}");
    let (_, changes) = app.get_json(&format!("/sheets/{sheet}/changes")).await;
    assert_eq!(
        changes["data"].as_array().unwrap().len(),
        2,
        "two saves: {changes}"
    );
}

/// A double click, keys typed before its editor came, a click on another row's cell and
/// keys typed there: each row gets its own (in the probe, the first took "QuickHello").
async fn keys_typed_while_an_editor_opens_stay_in_their_row(db: Db) {
    let app = spawn_app(db).await;
    let records = json!([{"email": "a@x.io", "name": "First"}, {"email": "b@x.io", "name": "Second"}]);
    let (driver, sheet, ids) = grid_with(&app, records).await;
    let c = &driver.client;
    slow_network_by(c, 800).await;
    double_click(c, &cell(&ids[0], "name")).await;
    type_keys(c, "Quick").await;
    click_cell(c, &ids[1], "name").await;
    type_keys(c, &format!("Hello{ENTER}")).await;
    for _ in 0..100 {
        let first = record_values(&app, &sheet, &ids[0]).await;
        let second = record_values(&app, &sheet, &ids[1]).await;
        if second["name"]["value"] == "Hello" {
            assert_eq!(first["name"]["value"], "Quick", "{first}");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "the second row never took Hello: {} / {}",
        record_values(&app, &sheet, &ids[0]).await,
        record_values(&app, &sheet, &ids[1]).await
    );
}

/// A double click on another cell of the row whose editor is open saves that editor and
/// opens one on the cell double-clicked (probe 79b D7: none opened).
async fn a_double_click_beside_an_open_editor_opens_its_own(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, ids) =
        grid_with(&app, json!([{"email": "a@x.io", "name": "Person", "age": 27}])).await;
    let c = &driver.client;
    focus_cell(c, "name").await;
    type_into_editor(c, "q").await;
    slow_network_by(c, 500).await;
    double_click(c, &cell(&ids[0], "age")).await;
    values_become(&app, &sheet, &[("name", json!("q"))]).await;
    wait_for(
        c,
        &format!(
            "document.activeElement.closest && document.activeElement.closest(\"{} .cell-editor\")",
            cell(&ids[0], "age")
        ),
        "the age's editor, focused",
    )
    .await;
}

/// Probe 80a: Delete clears and stays on its cell (D1: it moved down, so Delete, →,
/// Delete cleared a diagonal); a click while a save is on its way keeps the focus where
/// clicked (D2: the save's row took it back down and the keys typed went there); a click
/// on the cell whose editor is coming keeps the keys typed before it (D5).
async fn the_focus_stays_where_the_person_put_it(db: Db) {
    let app = spawn_app(db).await;
    let records = json!([{"email": "a@x.io", "name": "First", "age": 27},
                         {"email": "b@x.io", "name": "Second", "age": 30},
                         {"email": "c@x.io", "name": "Third", "age": 40}]);
    let (driver, sheet, ids) = grid_with(&app, records).await;
    let c = &driver.client;
    slow_network_by(c, 300).await;
    click_cell(c, &ids[0], "name").await;
    // Delete, →, Delete: the first row's name and the cell right of it.
    let right: String = c
        .execute(
            &format!(
                "return document.querySelector(\"{}\").nextElementSibling.dataset.field;",
                cell(&ids[0], "name")
            ),
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    type_keys(c, "\u{E017}\u{E014}\u{E017}").await;
    let cleared = |v: &Value| v["name"]["value"].is_null() && v[right.as_str()]["value"].is_null();
    let first = settled(&app, &sheet, &ids[0], cleared).await;
    assert!(
        first["name"]["value"].is_null() && first[right.as_str()]["value"].is_null(),
        "{first}"
    );
    wait_for(c, "!document.querySelector('.cell-editor')", "the editors closed").await;
    let second = record_values(&app, &sheet, &ids[1]).await;
    assert_eq!(second["name"]["value"], "Second", "{second}");
    assert!(!second[right.as_str()]["value"].is_null(), "{second}");

    // Enter saves Hello; a click on the third row meanwhile; 55 typed there.
    slow_network_by(c, 0).await;
    click_cell(c, &ids[1], "name").await;
    type_into_editor(c, "Hello").await;
    slow_network_by(c, 800).await;
    type_keys(c, ENTER).await;
    click_cell(c, &ids[2], "age").await;
    type_keys(c, &format!("55{ENTER}")).await;
    settled(&app, &sheet, &ids[2], |v| v["age"]["value"] == 55).await;
    assert_eq!(
        record_values(&app, &sheet, &ids[1]).await["name"]["value"],
        "Hello"
    );
    let third = record_values(&app, &sheet, &ids[2]).await;
    assert_eq!(third["age"]["value"], 55, "{third}");
    assert_eq!(third["name"]["value"], "Third", "{third}");

    // abc over a cell, a click on that cell before its editor came, def, Enter.
    wait_for(c, "!document.querySelector('.cell-editor')", "the editors closed").await;
    click_cell(c, &ids[2], "name").await;
    type_keys(c, "abc").await;
    click_cell(c, &ids[2], "name").await;
    type_keys(c, &format!("def{ENTER}")).await;
    settled(&app, &sheet, &ids[2], |v| v["name"]["value"] != "Third").await;
    assert_eq!(
        record_values(&app, &sheet, &ids[2]).await["name"]["value"],
        "abcdef"
    );
}

/// Keys typed over a cell, then a click on the search box and more keys with Enter, all
/// before the cell's editor came: the first keys are saved into the cell, the others go
/// into the search box, and Enter there searches (probe 83a D1: the cell's keys were
/// dropped, its editor left open, and the search's Enter lost; probe 80a D3: the late
/// editor took the search box's keys).
async fn keys_before_a_click_on_the_search_box_stay_in_their_cell(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, ids) = grid_with(&app, two_rows()).await;
    let c = &driver.client;
    slow_network_by(c, 800).await;
    click_cell(c, &ids[0], "name").await;
    type_keys(c, "abc").await;
    click_css(c, "#grid-q").await;
    type_keys(c, &format!("abc{ENTER}")).await;
    saved_as(&app, &sheet, &ids[0], "name", "abc").await;
    wait_for(
        c,
        &format!(
            "location.search.includes('q=abc') && !document.querySelector('.cell-editor') && \
             document.querySelector('#grid-q').value === 'abc' && \
             document.querySelector(\"#row-{}\") && !document.querySelector(\"#row-{}\")",
            ids[0], ids[1]
        ),
        "the grid searched for abc, no editor open",
    )
    .await;
}

/// Enter on a cell, then a click on the search box before the editor came: the editor,
/// nothing typed into it, closes when it comes, leaving the focus and the keys in the box.
async fn a_late_editor_left_for_the_search_box_closes(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, ids) = grid_with(&app, json!([{"email": "a@x.io", "name": "Person"}])).await;
    let c = &driver.client;
    click_cell(c, &ids[0], "name").await;
    slow_network_by(c, 800).await;
    type_keys(c, ENTER).await;
    click_css(c, "#grid-q").await;
    type_keys(c, "zzz").await;
    wait_for(c, "document.querySelector('.cell-editor')", "the late editor").await;
    wait_for(
        c,
        "!document.querySelector('.cell-editor') && document.activeElement.id === 'grid-q'",
        "the late editor closed, the focus in the search box",
    )
    .await;
    type_keys(c, "y").await;
    let typed = c
        .execute("return document.activeElement.value;", vec![])
        .await
        .unwrap();
    assert_eq!(typed, json!("zzzy"));
    let values = record_values(&app, &sheet, &ids[0]).await;
    assert_eq!(values["name"]["value"], "Person", "{values}");
}

/// Keys typed over a cell, then a click on a row's tick or a column's menu before the
/// editor came: the keys are saved, then the row is ticked or the menu opens (probe 83a
/// D7: the keys were dropped and the editor left open).
async fn a_click_on_a_tick_or_a_menu_waits_for_the_keys(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, ids) = grid_with(&app, two_rows()).await;
    let c = &driver.client;
    slow_network_by(c, 800).await;
    click_cell(c, &ids[0], "name").await;
    type_keys(c, "tick").await;
    click_css(c, &format!("#row-{} [data-select]", ids[1])).await;
    saved_as(&app, &sheet, &ids[0], "name", "tick").await;
    wait_for(
        c,
        &format!(
            "document.querySelector(\"#row-{} [data-select]\").checked && \
             document.querySelector('#selection-count').textContent === '1 selected' && \
             !document.querySelector('.cell-editor')",
            ids[1]
        ),
        "the second row ticked, no editor open",
    )
    .await;
    click_cell(c, &ids[1], "email").await;
    type_keys(c, "menu@x.io").await;
    click_css(c, "button[data-column-menu='name']").await;
    saved_as(&app, &sheet, &ids[1], "email", "menu@x.io").await;
    wait_for(
        c,
        "Array.from(document.querySelectorAll('dialog')).some(function (d) { return d.open; }) && !document.querySelector('.cell-editor')",
        "the column's menu open, no editor open",
    )
    .await;
}

/// Keys typed over a cell, then a click on a tab before the editor came: the keys are
/// saved, then the tab is shown (probe 80a D4: they were dropped without a word).
async fn a_click_on_a_tab_waits_for_the_keys_before_it(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, ids) = grid_with(&app, json!([{"email": "a@x.io", "name": "Person"}])).await;
    let c = &driver.client;
    slow_network_by(c, 800).await;
    click_cell(c, &ids[0], "name").await;
    type_keys(c, "abc").await;
    click_css(c, "nav.filters a[aria-current]").await;
    settled(&app, &sheet, &ids[0], |v| v["name"]["value"] == "abc").await;
    assert_eq!(record_values(&app, &sheet, &ids[0]).await["name"]["value"], "abc");
    wait_for(
        c,
        &format!(
            "!document.querySelector('.cell-editor') && document.querySelector(\"{}\").textContent.includes('abc')",
            cell(&ids[0], "name")
        ),
        "the grid shown again with abc",
    )
    .await;
}

/// Keys, a click on the search box, keys, a click on another row's cell, keys and Enter,
/// with no pause on a slow connection: each keys' text lands where it was typed (probe
/// 84a D1: the search box's text was saved into the second cell, as the press on it took
/// the focus before the keys for the box were played; seen at 300 ms with every input in
/// one action chain, which WebDriver's separate commands here do not time alike).
async fn keys_for_the_search_box_stay_there_when_a_cell_is_pressed_next(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, ids) = grid_with(&app, two_rows()).await;
    let c = &driver.client;
    slow_network_by(c, 800).await;
    click_cell(c, &ids[0], "name").await;
    type_keys(c, "L1").await;
    click_css(c, "#grid-q").await;
    type_keys(c, "xyz").await;
    click_cell(c, &ids[1], "name").await;
    type_keys(c, &format!("L2{ENTER}")).await;
    let second = settled(&app, &sheet, &ids[1], |v| v["name"]["value"] != "Other").await;
    assert_eq!(second["name"]["value"], "L2", "{second}");
    let first = record_values(&app, &sheet, &ids[0]).await;
    assert_eq!(first["name"]["value"], "L1", "{first}");
    wait_for(
        c,
        "document.querySelector('#grid-q').value === 'xyz' && !document.querySelector('.cell-editor')",
        "xyz in the search box, no editor open",
    )
    .await;
}

/// Keys, then a press on the page around the grid before the editor came: the keys are
/// saved and the editor closes, as a click away does (probe 84a D3: it stayed open).
async fn a_press_beside_the_grid_saves_the_keys(db: Db) {
    let app = spawn_app(db).await;
    let (driver, sheet, ids) = grid_with(&app, json!([{"email": "a@x.io", "name": "Person"}])).await;
    let c = &driver.client;
    slow_network_by(c, 800).await;
    click_cell(c, &ids[0], "name").await;
    type_keys(c, "away").await;
    click_css(c, "h1").await;
    saved_as(&app, &sheet, &ids[0], "name", "away").await;
    wait_for(c, "!document.querySelector('.cell-editor')", "no editor open").await;
}

on_both!(
    a_click_on_a_tab_waits_for_the_keys_before_it,
    the_focus_stays_where_the_person_put_it,
    keys_before_a_click_on_the_search_box_stay_in_their_cell,
    a_late_editor_left_for_the_search_box_closes,
    a_click_on_a_tick_or_a_menu_waits_for_the_keys,
    keys_for_the_search_box_stay_there_when_a_cell_is_pressed_next,
    a_press_beside_the_grid_saves_the_keys,
    keys_typed_before_a_click_stay_in_their_cell,
    keys_typed_while_an_editor_opens_stay_in_their_row,
    a_double_click_beside_an_open_editor_opens_its_own
);

//! The grid in Chromium: a signed-in grid page over given records, and its cell editor
//! opened and used as a person does.

use crate::browser::{sign_in_form, start_browser, wait_for, Driver};
use crate::helpers::*;
use fantoccini::{Client, Locator};
use serde_json::Value;

/// The contacts sheet holding `records`, and a browser signed in on its grid; returns the
/// browser, the sheet and the records' ids.
pub(crate) async fn grid_with(app: &TestApp, records: Value) -> (Driver, String, Vec<String>) {
    app.make_user("ada@example.com", true);
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/records"), &records).await;
    assert_eq!(status, 200, "{body}");
    let driver = grid_page(app, space["id"].as_str().unwrap(), &sheet).await;
    wait_for(
        &driver.client,
        "document.querySelector('tr[data-record]')",
        "the grid's rows",
    )
    .await;
    (driver, sheet, record_ids(&body))
}

/// A browser signed in as ada@example.com on the grid of `sheet`, the sheet of the first
/// workbook of `space`.
pub(crate) async fn grid_page(app: &TestApp, space: &str, sheet: &str) -> Driver {
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let driver = start_browser().await;
    let c = &driver.client;
    c.goto(&app.url("/spaces")).await.unwrap();
    sign_in_form(c, "ada@example.com").await;
    c.goto(&app.url(&format!("/workbooks/{wb}?sheet={sheet}")))
        .await
        .unwrap();
    driver
}

/// Opens the editor of the cell `css` names, as a double click does.
pub(crate) async fn open_editor(c: &Client, css: &str) {
    c.execute(
        &format!(
            "document.querySelector(\"{css}\").dispatchEvent(new MouseEvent('dblclick', {{bubbles: true}}));"
        ),
        vec![],
    )
    .await
    .unwrap();
    wait_for(
        c,
        "document.activeElement.closest && document.activeElement.closest('.cell-editor')",
        "the cell editor",
    )
    .await;
}

/// Double-clicks a cell, types `typed` into its editor and presses Enter.
pub(crate) async fn edit_cell(c: &Client, cell: &fantoccini::elements::Element, typed: &str) {
    c.execute(
        "arguments[0].dispatchEvent(new MouseEvent('dblclick', {bubbles: true}));",
        vec![serde_json::to_value(cell).unwrap()],
    )
    .await
    .unwrap();
    wait_for(
        c,
        "document.querySelector('.cell-editor input[name=value]') === document.activeElement",
        "the cell editor",
    )
    .await;
    let input = c
        .find(Locator::Css(".cell-editor input[name=value]"))
        .await
        .unwrap();
    input.clear().await.unwrap();
    input.send_keys(&format!("{typed}\u{E007}")).await.unwrap();
}

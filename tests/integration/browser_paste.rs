//! The grid and the clipboard: cells copied from a spreadsheet and pasted onto the grid
//! fill the cells from the one focused, right and down (probe 69c D7: nothing happened); a
//! focused cell copies what it shows (D8: nothing).

use crate::browser::wait_for;
use crate::browser_grid::grid_with;
use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

async fn names_and_ages(app: &TestApp, sheet: &str) -> Vec<(Value, Value)> {
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["values"]["name"]["value"].clone(),
                r["values"]["age"]["value"].clone(),
            )
        })
        .collect()
}

/// Clicks a record's Name cell and waits for its focus.
async fn focus_name(c: &fantoccini::Client, record: &str) {
    let cell = format!("#row-{record} td.cell[data-field='name']");
    c.execute(&format!("document.querySelector(\"{cell}\").click();"), vec![])
        .await
        .unwrap();
    wait_for(
        c,
        &format!("document.activeElement.matches(\"{cell}\")"),
        "the cell's focus",
    )
    .await;
}

async fn pasted_cells_fill_the_grid_from_the_focused_one(db: Db) {
    let app = spawn_app(db).await;
    let rows = json!([{"email": "a@x.io"}, {"email": "b@x.io"}, {"email": "c@x.io"}]);
    let (driver, sheet, ids) = grid_with(&app, rows).await;
    let c = &driver.client;
    focus_name(c, &ids[0]).await;
    // As Excel copies: a cell holding a line break is quoted; a fourth row has no row here.
    let copied = "Zed\t33\n\"Two\nlines\"\tforty\nx\t5\nExtra\t1\n";
    c.execute(
        "const dt = new DataTransfer(); dt.setData('text/plain', arguments[0]); \
         document.activeElement.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));",
        vec![json!(copied)],
    )
    .await
    .unwrap();
    wait_for(
        c,
        "document.getElementById('toasts').textContent.includes('Pasted 6 values; 2 did not fit')",
        "the paste's toast",
    )
    .await;
    assert_eq!(
        names_and_ages(&app, &sheet).await,
        vec![
            (json!("Zed"), json!(33)),
            (json!("Two\nlines"), json!("forty")),
            (json!("x"), json!(5)),
        ]
    );
    // The age that is no number is kept as pasted, in error, as if typed.
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["error"], 1, "{counts}");
    // Copied from the grid: the focused cell's value.
    focus_name(c, &ids[2]).await;
    let copied = c
        .execute(
            "const dt = new DataTransfer(); \
             document.activeElement.dispatchEvent(new ClipboardEvent('copy', {clipboardData: dt, bubbles: true, cancelable: true})); \
             return dt.getData('text/plain');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(copied, json!("x"));
}

on_both!(pasted_cells_fill_the_grid_from_the_focused_one);

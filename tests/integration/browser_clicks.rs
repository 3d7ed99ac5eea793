//! Clicks as people make them in Chromium (probe 57a): a double-clicked "Add row" adds one
//! row, deleting ticked rows says how many go, another column's menu opens empty, and a
//! cell of several lines opens with the caret after its text.

use crate::browser::{double_click_at, wait_for};
use crate::browser_grid::{grid_with, open_editor};
use crate::helpers::*;
use crate::on_both;
use fantoccini::Client;
use serde_json::json;
use std::time::Duration;

/// A real double click on the element `css` names.
pub(crate) async fn double_click(c: &Client, css: &str) {
    let rect = c
        .execute(
            &format!("const r = document.querySelector(\"{css}\").getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2];"),
            vec![],
        )
        .await
        .unwrap();
    let at = (rect[0].as_f64().unwrap(), rect[1].as_f64().unwrap());
    double_click_at(c, at, 60, 80).await;
}

/// Opens the menu of the column `key`, as its header's button does.
async fn open_column_menu(c: &Client, key: &str) {
    c.execute(
        &format!("document.querySelector(\"[data-column-menu='{key}']\").click();"),
        vec![],
    )
    .await
    .unwrap();
    wait_for(
        c,
        "document.getElementById('column-dialog').open",
        "the column menu",
    )
    .await;
}

async fn total(app: &TestApp, sheet: &str) -> i64 {
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    counts["data"]["counts"]["total"].as_i64().unwrap()
}

async fn clicks_count_as_people_mean_them(db: Db) {
    let app = spawn_app(db).await;
    let records = json!([
        {"name": "Ada\nLovelace", "email": "ada@x.org"},
        {"name": "Bob", "email": "bob@x.org"},
        {"name": "Cy", "email": "cy@x.org"},
    ]);
    let (driver, sheet, ids) = grid_with(&app, records).await;
    let c = &driver.client;

    double_click(c, "#add-row").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(total(&app, &sheet).await, 4, "a double click adds one row");
    // One more row, added with one click: it has the focus, on its first cell (probe 68b
    // D13). (The double click's second click went to the new page's button.)
    let before = c
        .execute(
            "return new URLSearchParams(location.search).get('added');",
            vec![],
        )
        .await
        .unwrap();
    c.execute("document.querySelector('#add-row').click();", vec![])
        .await
        .unwrap();
    let added = "new URLSearchParams(location.search).get('added')";
    wait_for(
        c,
        &format!(
            "{added} !== {before} && document.activeElement.matches('td.cell') && document.activeElement.closest('tr').id === 'row-' + {added}"
        ),
        "the new row's focus",
    )
    .await;
    assert_eq!(total(&app, &sheet).await, 5);

    // Two rows ticked: the question names them.
    for id in &ids[..2] {
        c.execute(
            &format!("document.querySelector(\"#row-{id} [data-select]\").click();"),
            vec![],
        )
        .await
        .unwrap();
    }
    wait_for(
        c,
        "document.querySelector('#delete-form').getAttribute('hx-confirm').startsWith('Delete the 2 selected rows (“') && document.querySelector('#selection-count').textContent === '2 selected'",
        "the count in the delete question",
    )
    .await;

    // Typed into one column's menu, then another column's menu opened: empty.
    open_column_menu(c, "name").await;
    c.execute(
        "document.getElementById('bulk-find').value = 'Ada'; document.getElementById('bulk-replace').value = 'Eve'; document.getElementById('column-dialog').close();",
        vec![],
    )
    .await
    .unwrap();
    open_column_menu(c, "email").await;
    let typed = c
        .execute(
            "return [document.getElementById('bulk-find').value, document.getElementById('bulk-replace').value];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(typed, json!(["", ""]), "what was typed for Name");
    c.execute("document.getElementById('column-dialog').close();", vec![])
        .await
        .unwrap();

    // A cell of two lines opens with the caret after them.
    open_editor(c, &format!("#row-{} td.cell[data-field='name']", ids[0])).await;
    let caret = c
        .execute(
            "const t = document.activeElement; return [t.tagName, t.selectionStart, t.value.length];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(caret[0], "TEXTAREA", "{caret}");
    assert_eq!(caret[1], caret[2], "the caret after the text: {caret}");
}

on_both!(clicks_count_as_people_mean_them);

//! Ticked rows as the grid shows them (probe 78c D11: a row ticked earlier and scrolled
//! away was deleted with the three meant, the question giving only a count): how many
//! are ticked, a way to untick them all, and a delete question naming the rows and
//! saying how many are out of view.

use crate::browser::{click_css, wait_for};
use crate::browser_grid::{edit_cell, grid_with};
use crate::helpers::*;
use crate::on_both;
use fantoccini::Client;
use serde_json::{json, Value};

async fn tick(c: &Client, id: &str) {
    c.execute(
        &format!("var b = document.querySelector(\"#row-{id} [data-select]\"); b.scrollIntoView({{block: 'center'}}); b.click();"),
        vec![],
    )
    .await
    .unwrap();
}

async fn ticked_rows_are_counted_named_and_cleared(db: Db) {
    let app = spawn_app(db).await;
    let records: Vec<Value> = (0..40)
        .map(|i| json!({"email": format!("person{i:02}@x.io"), "name": format!("Person {i:02}")}))
        // The last without its required email: in error.
        .map(|r| {
            if r["name"] == "Person 39" {
                json!({"name": "Person 39"})
            } else {
                r
            }
        })
        .collect();
    let (driver, sheet, ids) = grid_with(&app, Value::Array(records)).await;
    let c = &driver.client;
    c.set_window_size(1280, 800).await.unwrap();
    // Two ticked, then unticked together.
    tick(c, &ids[0]).await;
    tick(c, &ids[1]).await;
    wait_for(c, "document.querySelector('#selection-count').textContent === '2 selected' && !document.querySelector('#clear-selection').hidden", "the count").await;
    click_css(c, "#clear-selection").await;
    wait_for(
        c,
        "document.querySelector('#selection-count').hidden && document.querySelector('#delete-button').disabled && !document.querySelector('[data-select]:checked')",
        "nothing ticked",
    )
    .await;
    // All ticked, then one unticked: the header's box says some are (probe 83a D8: it
    // stayed ticked).
    click_css(c, "[data-select-all]").await;
    wait_for(
        c,
        "document.querySelector('#selection-count').textContent === '40 selected'",
        "all ticked",
    )
    .await;
    tick(c, &ids[5]).await;
    wait_for(
        c,
        "document.querySelector('#selection-count').textContent === '39 selected' && \
         !document.querySelector('[data-select-all]').checked && document.querySelector('[data-select-all]').indeterminate",
        "the header's box showing some ticked",
    )
    .await;
    click_css(c, "#clear-selection").await;
    wait_for(c, "!document.querySelector('[data-select]:checked') && !document.querySelector('[data-select-all]').indeterminate", "nothing ticked").await;
    // The first row ticked, then the last, which scrolls the first away: the question
    // names both and says one is out of view.
    tick(c, &ids[0]).await;
    tick(c, &ids[39]).await;
    // (The delete's answer loads the page again: the question is kept for the tab.)
    c.execute(
        "window.confirm = function (q) { sessionStorage.setItem('asked', q); return true; };",
        vec![],
    )
    .await
    .unwrap();
    click_css(c, "#delete-button").await;
    for _ in 0..100 {
        let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
        if counts["data"]["counts"]["total"] == 38 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(
        counts["data"]["counts"]["total"], 38,
        "the two ticked rows deleted"
    );
    let asked = c
        .execute("return sessionStorage.getItem('asked');", vec![])
        .await
        .unwrap();
    let asked = asked.as_str().unwrap();
    assert!(asked.starts_with("Delete the 2 selected rows (“"), "{asked}");
    assert!(
        asked.contains("person00@x.io") && asked.contains("Person 39"),
        "{asked}"
    );
    // A row in error is named by a value it holds, not by its message (probe 83a D2).
    assert!(!asked.contains("required"), "{asked}");
    assert!(asked.contains("1 of them is out of view."), "{asked}");
}

/// Scrolled right, a row's tick stays in view, marked when the row has an error (probe 78c
/// D21); a cell's message over the cell below lets a click through to it (D12).
async fn the_tick_stays_in_view_and_messages_let_clicks_through(db: Db) {
    let app = spawn_app(db).await;
    let records = json!([{"email": "a@x.io", "tier": "platinum"}, {"email": "b@x.io", "tier": "gold"}]);
    let (driver, _, ids) = grid_with(&app, records).await;
    let c = &driver.client;
    c.set_window_size(600, 800).await.unwrap();
    c.execute(
        "var s = document.querySelector('.grid-scroll'); s.scrollLeft = s.scrollWidth;",
        vec![],
    )
    .await
    .unwrap();
    let seen = c
        .execute(
            &format!(
                "var s = document.querySelector('.grid-scroll'); var b = document.querySelector(\"#row-{} [data-select]\"); \
                 var r = b.getBoundingClientRect(); \
                 return [s.scrollLeft > 0, document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === b, \
                         getComputedStyle(b.closest('td')).boxShadow.includes('inset')];",
                ids[0]
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        seen,
        json!([true, true, true]),
        "scrolled, the tick in view, marked"
    );
    // The tier in error, focused, shows its message over the cell below; a click there
    // reaches that cell.
    c.set_window_size(1280, 800).await.unwrap();
    c.execute(
        &format!(
            "document.querySelector(\"#row-{} td.cell[data-field='tier']\").click();",
            ids[0]
        ),
        vec![],
    )
    .await
    .unwrap();
    click_css(c, &format!("#row-{} td.cell[data-field='tier']", ids[1])).await;
    wait_for(
        c,
        &format!(
            "document.activeElement === document.querySelector(\"#row-{} td.cell[data-field='tier']\")",
            ids[1]
        ),
        "the cell below focused",
    )
    .await;
}

/// A ticked row whose cell is saved comes back ticked (probe 84a D4: it came back unticked
/// while the count still said "1 selected").
async fn a_saved_row_keeps_its_tick(db: Db) {
    let app = spawn_app(db).await;
    let records = json!([{"email": "a@x.io", "name": "Ann"}, {"email": "b@x.io", "name": "Bob"}]);
    let (driver, sheet, ids) = grid_with(&app, records).await;
    let c = &driver.client;
    tick(c, &ids[0]).await;
    let cell = c
        .find(fantoccini::Locator::Css(&format!(
            "#row-{} td.cell[data-field='name']",
            ids[0]
        )))
        .await
        .unwrap();
    edit_cell(c, &cell, "Anna").await;
    wait_for(
        c,
        &format!(
            "document.querySelector(\"#row-{} td.cell[data-field='name']\").textContent.includes('Anna') && !document.querySelector('.cell-editor')",
            ids[0]
        ),
        "the row saved",
    )
    .await;
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(page["data"]["records"][0]["values"]["name"]["value"], "Anna");
    wait_for(
        c,
        &format!(
            "document.querySelector(\"#row-{} [data-select]\").checked && document.querySelector('#selection-count').textContent === '1 selected'",
            ids[0]
        ),
        "the row still ticked",
    )
    .await;
}

on_both!(
    ticked_rows_are_counted_named_and_cleared,
    the_tick_stays_in_view_and_messages_let_clicks_through,
    a_saved_row_keeps_its_tick,
);

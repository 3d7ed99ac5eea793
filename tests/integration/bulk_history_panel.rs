//! The grid's list of a sheet's bulk changes (probe 78c D10: a bulk change could be undone
//! only from its toast, gone after a reload): each change with who made it, and Undo on
//! the viewer's own; a guest sees only its own.

use crate::browser::{click_css, wait_for};
use crate::browser_grid::grid_page;
use crate::bulk_jobs::grid_post;
use crate::bulk_undo::names;
use crate::helpers::*;
use crate::live_access::{guest_browser, guest_with_token};
use crate::on_both;
use serde_json::{json, Value};

/// The panel's rows, each row's HTML.
fn rows(panel: &str) -> Vec<String> {
    panel
        .split("<tr data-bulk=")
        .skip(1)
        .map(|row| row[..row.find("</tr>").unwrap()].to_string())
        .collect()
}

async fn panel(client: &reqwest::Client, app: &TestApp, sheet: &str) -> String {
    let resp = client
        .get(app.url(&format!("/grid/{sheet}/bulk")))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.text().await.unwrap()
}

/// The path an Undo form of the panel posts to.
fn undo_of(row: &str) -> String {
    let start = row.find("hx-post=\"").expect("an Undo button") + 9;
    row[start..start + row[start..].find('"').unwrap()].to_string()
}

async fn bulk_changes_are_listed_and_undone_from_the_sheet(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let space = app.space_from_blueprint().await;
    let space_id = space["id"].as_str().unwrap().to_string();
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows_in: Vec<Value> = (0..6)
        .map(|i| json!({"email": format!("p{i}@x.io"), "name": "N/A", "age": i}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &Value::Array(rows_in))
        .await;
    assert_eq!(status, 200, "{body}");
    // Before any: the panel says where bulk changes are made.
    assert!(panel(&app.client, &app, &sheet)
        .await
        .contains("No bulk change to this sheet yet"));
    // Ada's replace from the grid, then an integration's set through the API.
    let (status, toast) = grid_post(
        &app,
        &format!("/grid/{sheet}/bulk"),
        &[
            ("op", "replace"),
            ("column", "name"),
            ("find", "N/A"),
            ("replace", "Unknown"),
            ("whole", "1"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{toast}");
    let (status, body) = app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update"),
            &json!({"fieldUpdates": {"tier": {"value": "gold"}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // A guest's own change, through its token.
    let (_, token) = guest_with_token(&app, "gus@x.org", "Gus", &[&space_id]).await;
    let resp = app
        .client
        .patch(app.url(&format!("/v1/sheets/{sheet}/records/bulk-update?q=age%20lt%202")))
        .bearer_auth(&token)
        .json(&json!({"fieldUpdates": {"age": {"value": 40}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // The grid offers the list; newest first, who made each, Undo on Ada's only.
    let grid = app
        .page(&format!(
            "/workbooks/{}?sheet={sheet}",
            workbook_of(&app, &space_id).await
        ))
        .await;
    assert!(
        grid.contains("id=\"bulk-history-open\""),
        "the grid's Bulk changes button"
    );
    let listed = rows(&panel(&app.client, &app, &sheet).await);
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(
        listed[0].contains("Gus (guest)") && !listed[0].contains("data-bulk-undo"),
        "{}",
        listed[0]
    );
    assert!(
        listed[1].contains("an API key") && !listed[1].contains("data-bulk-undo"),
        "{}",
        listed[1]
    );
    assert!(
        listed[2].contains("ada@example.com") && listed[2].contains("Unknown"),
        "{}",
        listed[2]
    );
    // Undone from the list, after the toast is long gone.
    let (status, said) = grid_post(&app, &undo_of(&listed[2]), &[]).await;
    assert_eq!(status, 200, "{said}");
    assert!(said.contains("6 values put back"), "{said}");
    assert!(names(&app, &sheet).await.iter().all(|n| n == "N/A"));
    let listed = rows(&panel(&app.client, &app, &sheet).await);
    assert!(
        listed[2].contains("Undone by ada@example.com") && !listed[2].contains("data-bulk-undo"),
        "{}",
        listed[2]
    );

    // The guest sees its own change only, and may undo it.
    let browser = guest_browser(&app, &token).await;
    let mine = rows(&panel(&browser, &app, &sheet).await);
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert!(mine[0].contains("data-bulk-undo"), "{}", mine[0]);
    assert!(!mine[0].contains("ada@example.com") && !mine[0].contains("API key"));
}

async fn workbook_of(app: &TestApp, space: &str) -> String {
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    wbs["data"][0]["id"].as_str().unwrap().to_string()
}

/// In Chromium: the toolbar's button opens the list, its Undo undoes, and the list then
/// says so without a reload.
async fn chromium_undoes_from_the_list(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows_in: Vec<Value> = (0..4)
        .map(|i| json!({"email": format!("p{i}@x.io"), "name": "N/A"}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &Value::Array(rows_in))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, toast) = grid_post(
        &app,
        &format!("/grid/{sheet}/bulk"),
        &[("op", "set"), ("column", "name"), ("value", "Nobody")],
    )
    .await;
    assert_eq!(status, 200, "{toast}");
    let driver = grid_page(&app, space["id"].as_str().unwrap(), &sheet).await;
    let c = &driver.client;
    click_css(c, "#bulk-history-open").await;
    wait_for(
        c,
        "document.querySelector('#bulk-history [data-bulk-undo]')",
        "the list's Undo",
    )
    .await;
    // Undone meanwhile from another tab: the list's Undo is refused, and the list is asked
    // for again, so it stops offering it (probe 83a D3: it kept offering it).
    let (status, body) = grid_post(&app, &crate::bulk_jobs::undo_path(&toast), &[]).await;
    assert_eq!(status, 200, "{body}");
    click_css(c, "#bulk-history [data-bulk-undo]").await;
    wait_for(
        c,
        "document.querySelector('#bulk-history').textContent.includes('Undone by ada@example.com') && !document.querySelector('#bulk-history [data-bulk-undo]')",
        "the stale Undo gone from the list",
    )
    .await;
    assert!(names(&app, &sheet).await.iter().all(|n| n == "N/A"));
    // Another change, undone from the list.
    let (status, _) = grid_post(
        &app,
        &format!("/grid/{sheet}/bulk"),
        &[("op", "set"), ("column", "name"), ("value", "Nobody")],
    )
    .await;
    assert_eq!(status, 200);
    c.refresh().await.unwrap();
    click_css(c, "#bulk-history-open").await;
    wait_for(
        c,
        "document.querySelector('#bulk-history [data-bulk-undo]')",
        "the list's Undo",
    )
    .await;
    click_css(c, "#bulk-history [data-bulk-undo]").await;
    wait_for(
        c,
        "document.querySelector('#bulk-toast') && document.querySelector('#bulk-toast').textContent.includes('4 values put back')",
        "the undo's toast",
    )
    .await;
    wait_for(
        c,
        "document.querySelector('#bulk-history').textContent.includes('Undone by ada@example.com') && !document.querySelector('#bulk-history [data-bulk-undo]')",
        "the list showing it undone",
    )
    .await;
    assert!(names(&app, &sheet).await.iter().all(|n| n == "N/A"));
    // On a phone: the toolbar wraps within the screen, the list's words stay whole (probe
    // 80a D6, D7: the page was 460 px wide, "Undone by" ran down letter by letter).
    c.set_window_size(390, 844).await.unwrap();
    wait_for(
        c,
        "document.documentElement.scrollWidth <= window.innerWidth && \
         Array.from(document.querySelectorAll('#bulk-history td')).every(function (td) { return td.getBoundingClientRect().height < 100; })",
        "a page as wide as the phone, a list of whole words",
    )
    .await;
}

on_both!(
    bulk_changes_are_listed_and_undone_from_the_sheet,
    chromium_undoes_from_the_list
);

//! The dashboard's lists on a phone (390 px): a list scrolls sideways in its box, the page
//! stays as wide as the screen and words stay whole (probe 78c D19: the spaces list was 461
//! px wide, a space's name ran "Globe/x/onbo/ardin/g", a file's "Open" broke per letter,
//! the webhooks page was 700 px wide).

use crate::browser::{sign_in_form, start_browser, wait_for};
use crate::browser_grid::grid_with;
use crate::helpers::*;
use crate::on_both;

/// Every list on the page is within the screen or scrolls in its own box, and no cell runs
/// down a letter a line (a row of five actions stacks to 160 px).
const FITS: &str = "document.documentElement.scrollWidth <= window.innerWidth && \
    Array.from(document.querySelectorAll('table.list td')).every(function (td) { \
      return td.getBoundingClientRect().height < 200; })";

async fn lists_fit_a_phone(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    let space = app.space_from_blueprint().await;
    let space_id = space["id"].as_str().unwrap();
    let (status, body) = app
        .patch_json(
            &format!("/spaces/{space_id}"),
            &serde_json::json!({"name": "Globex onboarding of customers"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .upload(
            space_id,
            "customers-from-globex.csv",
            b"email,name\na@x.io,Ann\n".to_vec(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.sign_in("ada@example.com", PASSWORD).await;
    let token = app.csrf("/webhooks").await;
    let made = app
        .client
        .post(app.url("/webhooks"))
        .form(&[
            ("csrf_token", token.as_str()),
            (
                "url",
                "https://hooks.example.com/wharf/deliveries/receiver-of-globex-events",
            ),
            ("topics", ""),
        ])
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success(), "{}", made.status());

    let driver = start_browser().await;
    let c = &driver.client;
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&app.url("/spaces")).await.unwrap();
    sign_in_form(c, "ada@example.com").await;
    // Each page, and what it shows once ready.
    for (path, shown) in [
        ("/spaces".to_string(), "Globex onboarding"),
        (format!("/spaces/{space_id}"), "Customers"),
        (
            format!("/spaces/{space_id}?tab=files"),
            "customers-from-globex.csv",
        ),
        ("/space-configs".to_string(), "Customer onboarding"),
        ("/webhooks".to_string(), "receiver-of-globex-events"),
        ("/environments".to_string(), "development"),
        ("/people".to_string(), "ada@example.com"),
    ] {
        c.goto(&app.url(&path)).await.unwrap();
        let ready = format!("document.body.textContent.includes('{shown}') && {FITS}");
        wait_for(c, &ready, &format!("{path} to fit a phone")).await;
    }
}

/// A record's history, brought into view on a phone, is not under the top bar (probe 83a
/// D5: wrapped to three lines and sticky, the bar covered its heading and Undo).
async fn a_records_history_shows_on_a_phone(db: Db) {
    let app = spawn_app(db).await;
    let records: Vec<serde_json::Value> = (0..30)
        .map(|i| serde_json::json!({"email": format!("p{i}@x.io"), "name": format!("P {i}")}))
        .collect();
    let (driver, sheet, ids) = grid_with(&app, serde_json::Value::Array(records)).await;
    let c = &driver.client;
    let last = ids.last().unwrap();
    // A history taller than the screen.
    for i in 0..12 {
        let change =
            serde_json::json!([{"id": last, "values": {"name": {"value": format!("Name number {i}")}}}]);
        let (status, body) = app.put_json(&format!("/sheets/{sheet}/records"), &change).await;
        assert_eq!(status, 200, "{body}");
    }
    c.refresh().await.unwrap();
    c.set_window_size(390, 844).await.unwrap();
    wait_for(c, &format!("document.querySelector('#row-{last}')"), "the rows").await;
    c.execute(
        &format!("var b = document.querySelector('#row-{last} .history-open'); b.scrollIntoView({{block: 'end'}}); b.click();"),
        vec![],
    )
    .await
    .unwrap();
    wait_for(
        c,
        "(function () { var h = document.querySelector('#record-history > *'); if (!h) return false; \
           var r = h.getBoundingClientRect(); if (r.top < 0 || r.top > window.innerHeight) return false; \
           var at = document.elementFromPoint(r.left + 10, r.top + 5); \
           return !!at && !!at.closest('#record-history'); })()",
        "the history in view, not under the top bar",
    )
    .await;
}

on_both!(lists_fit_a_phone, a_records_history_shows_on_a_phone);

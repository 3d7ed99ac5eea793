//! The dashboard's lists on a phone (390 px): a list scrolls sideways in its box, the page
//! stays as wide as the screen and words stay whole (probe 78c D19: the spaces list was 461
//! px wide, a space's name ran "Globe/x/onbo/ardin/g", a file's "Open" broke per letter,
//! the webhooks page was 700 px wide).

use crate::browser::{sign_in_form, start_browser, wait_for};
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

on_both!(lists_fit_a_phone);

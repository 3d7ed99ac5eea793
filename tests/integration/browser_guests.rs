//! Real headless Chromium, two browsers: an admin invites a guest from the Guests tab; the
//! test reads the mail from the SMTP server; the guest opens the link, sees only that
//! space and fixes a cell; the admin's open grid shows the change live (and the guest's
//! presence); the guest uploads a file in its space and imports it, which the admin's grid
//! shows live too; a second use of the link gets its page.

use crate::browser::{csp_violations, record_csp_violations, sign_in_form, start_browser, text, wait_for};
use crate::browser_files::{run_import, upload_and_open_mapping};
use crate::browser_grid::edit_cell;
use crate::helpers::*;
use crate::on_both;
use crate::smtp::SmtpSink;
use fantoccini::Locator;
use serde_json::json;

async fn a_guest_invited_by_mail_fixes_a_cell_the_admin_sees_live(db: Db) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(db, move |s| s.smtp_url = Some(url)).await;
    app.make_user("ada@example.com", true);
    let space = app.space_from_blueprint().await;
    let other = app.space_from_blueprint().await;
    let other_id = other["id"].as_str().unwrap();
    app.patch_json(&format!("/spaces/{other_id}"), &json!({"name": "Other space"}))
        .await;
    let sid = space["id"].as_str().unwrap().to_string();
    let contacts = app.sheet_id(&space, "contacts").await;
    let (status, _) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": "amy@example.com", "name": "Amy", "age": "n/a"},
                    {"email": "bob@example.com", "name": "Bob", "age": "45"}]),
        )
        .await;
    assert_eq!(status, 200);
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={sid}")).await;
    let wid = wbs["data"][0]["id"].as_str().unwrap().to_string();

    // The admin signs in and invites from the Guests tab.
    let admin = start_browser().await;
    let a = &admin.client;
    record_csp_violations(a).await;
    a.goto(&app.url("/sign-in")).await.unwrap();
    sign_in_form(a, "ada@example.com").await;
    a.goto(&app.url(&format!("/spaces/{sid}"))).await.unwrap();
    a.find(Locator::LinkText("Guests"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(a, "document.querySelector('#guest-email')", "the invite form").await;
    a.find(Locator::Css("#guest-email"))
        .await
        .unwrap()
        .send_keys("gus@partner.example")
        .await
        .unwrap();
    a.find(Locator::Css("#guest-name"))
        .await
        .unwrap()
        .send_keys("Gus")
        .await
        .unwrap();
    a.find(Locator::Css("#guest-message"))
        .await
        .unwrap()
        .send_keys("Amy's age needs fixing")
        .await
        .unwrap();
    a.find(Locator::XPath("//button[text()='Send invitation']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        a,
        "document.querySelector('table.guests') && document.querySelector('table.guests').textContent.includes('gus@partner.example')",
        "the guest in the list",
    )
    .await;

    // The mail arrives at the SMTP server.
    let mail = sink.wait_for(1).await;
    assert!(mail.to.contains("gus@partner.example"));
    assert!(mail.body.contains("Amy's age needs fixing"), "{}", mail.body);
    let start = mail.body.find("/guest-links/").expect("a link");
    let link = mail.body[start..].split_whitespace().next().unwrap().to_string();

    // The admin keeps the grid open.
    a.goto(&app.url(&format!("/workbooks/{wid}?sheet={contacts}")))
        .await
        .unwrap();
    wait_for(
        a,
        "document.querySelectorAll('table.grid tbody tr[data-record]').length === 2",
        "the admin's grid",
    )
    .await;

    // The guest, in another browser, opens the link.
    let guest = start_browser().await;
    let g = &guest.client;
    record_csp_violations(g).await;
    g.goto(&app.url(&link)).await.unwrap();
    wait_for(
        g,
        "document.querySelector('form button.primary')",
        "the invitation page",
    )
    .await;
    g.find(Locator::Css("form button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(g, "location.pathname === '/guest'", "the guest's home").await;
    let home = text(g, "main").await;
    assert!(home.contains("Acme onboarding"), "{home}");
    assert!(!home.contains("Other space"), "only the invited space: {home}");
    let nav = g
        .execute("return document.querySelector('header').textContent;", vec![])
        .await
        .unwrap();
    let nav = nav.as_str().unwrap_or_default();
    assert!(
        !nav.contains("Environments") && !nav.contains("Space configs"),
        "{nav}"
    );

    g.find(Locator::LinkText("Customers"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(g, "document.querySelector('table.grid')", "the guest's grid").await;
    g.find(Locator::LinkText("Contacts"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        g,
        "document.querySelectorAll('table.grid tbody tr[data-record]').length === 2",
        "two records",
    )
    .await;

    // Each sees the other on the sheet.
    wait_for(
        a,
        "document.querySelector('#presence').textContent.includes('Gus (guest)')",
        "the guest in the admin's presence list",
    )
    .await;

    // The guest fixes Amy's age.
    let bad = g
        .find(Locator::Css("tr.invalid td.cell[data-field='age']"))
        .await
        .unwrap();
    edit_cell(g, &bad, "29").await;
    wait_for(
        g,
        "document.querySelector('#count-error').textContent.trim() === '0'",
        "the guest's Error count to drop",
    )
    .await;

    // The admin's open grid shows it at once.
    wait_for(
        a,
        "[...document.querySelectorAll('td[data-field=age] .value')].some(v => v.textContent === '29') && document.querySelector('#count-error').textContent.trim() === '0'",
        "the admin's grid to update live",
    )
    .await;

    // The guest uploads a file in its space and imports it into Contacts; the admin's
    // open grid shows the new record live.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("more.csv");
    std::fs::write(&csv, "E-mail,Full Name\ncid@example.com,Cid\n").unwrap();
    g.goto(&app.url(&format!("/guest/spaces/{sid}"))).await.unwrap();
    wait_for(g, "document.querySelector('#files-table')", "the guest's files").await;
    upload_and_open_mapping(g, &app, &csv, &contacts).await;
    run_import(g, &[("full_name", "name")]).await;
    wait_for(
        a,
        "document.querySelectorAll('table.grid tbody tr[data-record]').length === 3",
        "the admin's grid to show the imported record live",
    )
    .await;

    // The link clicked again in this browser goes on to the guest's spaces (probe 57a); in
    // another it is refused with its page (tests/integration/guests.rs).
    g.goto(&app.url(&link)).await.unwrap();
    wait_for(
        g,
        "location.pathname === '/guest' && document.querySelector('main')",
        "the guest's home",
    )
    .await;

    // Removed while its grid is open, the guest's page says the session ended, rather
    // than staying stale and then showing the team's sign-in form (probe 68b D10).
    g.goto(&app.url(&format!("/workbooks/{wid}?sheet={contacts}")))
        .await
        .unwrap();
    wait_for(
        g,
        "document.querySelectorAll('table.grid tbody tr[data-record]').length === 3",
        "the guest's grid again",
    )
    .await;
    let (_, guests) = app.get_json(&format!("/guests?spaceId={sid}")).await;
    let gid = guests["data"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = app.delete(&format!("/guests/{gid}")).await;
    assert_eq!(status, 200);
    wait_for(
        g,
        "location.pathname === '/guest/signed-out' && document.querySelector('main').textContent.includes('Your guest session has ended')",
        "the guest's page to say the session ended",
    )
    .await;
    // Later visits of that browser say so too.
    g.goto(&app.url(&format!("/workbooks/{wid}?sheet={contacts}")))
        .await
        .unwrap();
    wait_for(
        g,
        "location.pathname === '/guest/signed-out'",
        "the ended session's page",
    )
    .await;

    assert_eq!(
        csp_violations(a).await,
        json!([]),
        "admin pages break no CSP rule"
    );
    assert_eq!(
        csp_violations(g).await,
        json!([]),
        "guest pages break no CSP rule"
    );
    let _ = admin.client.clone().close().await;
    let _ = guest.client.clone().close().await;
}

on_both!(a_guest_invited_by_mail_fixes_a_cell_the_admin_sees_live);

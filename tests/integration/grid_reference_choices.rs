//! A reference cell's editor offers the referenced sheet's values: those holding what was
//! typed, the ones starting with it first, each once (probe 78c D14: the person had to open
//! the other sheet to learn its exact names).

use crate::browser::wait_for;
use crate::browser_grid::{grid_page, open_editor};
use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

/// Companies with these codes, one contact pointing at none of them; returns the space, the
/// contacts sheet and the contact's id.
async fn companies_and_a_contact(app: &TestApp) -> (Value, String, String) {
    app.make_user("ada@example.com", true);
    let space = app.space_from_blueprint().await;
    let companies = app.sheet_id(&space, "companies").await;
    // (ACME twice, and Acme beside it: each spelling once, probe 84b D7.)
    let codes = ["GLOBEX", "ACME", "Initech", "Acme", "Anglo", "GARCIA-SL", "ACME"];
    let rows: Vec<Value> = codes.iter().map(|c| json!({"code": c})).collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{companies}/records"), &Value::Array(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    let contacts = app.sheet_id(&space, "contacts").await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": "luis@x.io", "company": "García SL"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = record_ids(&body)[0].clone();
    (space, contacts, id)
}

/// The `value`s of the `<option>`s in an HTML answer.
fn options(html: &str) -> Vec<String> {
    html.split("<option value=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

async fn a_reference_editor_lists_the_referenced_values(db: Db) {
    let app = spawn_app(db).await;
    let (_, sheet, id) = companies_and_a_contact(&app).await;
    app.sign_in("ada@example.com", PASSWORD).await;
    let editor = app
        .page(&format!("/grid/{sheet}/records/{id}/edit?field=company"))
        .await;
    assert!(editor.contains("list=\"choices-"), "{editor}");
    assert_eq!(
        options(&editor),
        ["ACME", "Acme", "Anglo", "GARCIA-SL", "GLOBEX", "Initech"],
        "every company once, in order: {editor}"
    );
    // Typed text narrows them, in any case, those starting with it first.
    let narrowed = app
        .page(&format!("/grid/{sheet}/choices?field=company&value=gl"))
        .await;
    assert_eq!(options(&narrowed), ["GLOBEX", "Anglo"], "{narrowed}");
    let none = app
        .page(&format!("/grid/{sheet}/choices?field=company&value=zzz"))
        .await;
    assert!(options(&none).is_empty(), "{none}");
    // Text longer than any reference lists nothing, at once (probe 84b D6: 60,000
    // characters took seconds a request).
    let long = "a".repeat(10_000);
    let too_long = app
        .page(&format!("/grid/{sheet}/choices?field=company&value={long}"))
        .await;
    assert!(options(&too_long).is_empty(), "{too_long}");
    // Another field offers nothing; a field the sheet lacks is not found.
    let other = app.page(&format!("/grid/{sheet}/choices?field=name")).await;
    assert!(options(&other).is_empty(), "{other}");
    let resp = app
        .client
        .get(app.url(&format!("/grid/{sheet}/choices?field=nope")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    // Nobody signed in reads none of them.
    let stranger = reqwest::Client::new()
        .get(app.url(&format!("/grid/{sheet}/choices?field=company")))
        .send()
        .await
        .unwrap();
    let body = stranger.text().await.unwrap();
    assert!(!body.contains("GLOBEX"), "{body}");
}

/// In Chromium: typing into the editor narrows its list, and a value from it is saved and
/// valid.
async fn typing_narrows_the_list_and_its_value_is_saved(db: Db) {
    let app = spawn_app(db).await;
    let (space, sheet, _) = companies_and_a_contact(&app).await;
    let driver = grid_page(&app, space["id"].as_str().unwrap(), &sheet).await;
    let c = &driver.client;
    wait_for(c, "document.querySelector('tr[data-record]')", "the grid's rows").await;
    open_editor(c, "tr[data-record] td.cell[data-field='company']").await;
    let listed =
        "Array.from(document.querySelectorAll('.cell-editor datalist option')).map(o => o.value).join(',')";
    wait_for(
        c,
        &format!("{listed} === 'ACME,Acme,Anglo,GARCIA-SL,GLOBEX,Initech'"),
        "every company listed",
    )
    .await;
    // Select what the cell holds and type over it, as a person does.
    let input = c.active_element().await.unwrap();
    input.send_keys("\u{E009}a\u{E000}ga").await.unwrap();
    wait_for(
        c,
        &format!("{listed} === 'GARCIA-SL'"),
        "the list narrowed to GARCIA-SL",
    )
    .await;
    // The browser's own list picks (headless Chromium shows none): typed in full, it saves.
    input
        .send_keys("\u{E009}a\u{E000}GARCIA-SL\u{E007}")
        .await
        .unwrap();
    wait_for(c, "!document.querySelector('.cell-editor')", "the save").await;
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let company = &page["data"]["records"][0]["values"]["company"];
    assert_eq!(company["value"], "GARCIA-SL", "{company}");
    assert_eq!(company["valid"], true, "{company}");
}

on_both!(
    a_reference_editor_lists_the_referenced_values,
    typing_narrows_the_list_and_its_value_is_saved,
);

//! Reference cells carry the records they point at (`includeLinks`, Flatfile's `links`),
//! which a record hook reads with `record.getLinks()`: a commit of a sheet with reference
//! fields asks for them in its `dataUrl`.

use crate::commits::events_of;
use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

async fn insert(app: &TestApp, sheet: &str, records: Value) -> Vec<String> {
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/records"), &records).await;
    assert_eq!(status, 200, "{body}");
    record_ids(&body)
}

fn by_email<'a>(page: &'a Value, email: &str) -> &'a Value {
    page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["values"]["email"]["value"] == email)
        .unwrap_or_else(|| panic!("no record of {email}: {page}"))
}

async fn reference_cells_carry_their_linked_records(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let companies = app.sheet_id(&space, "companies").await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let acme = insert(
        &app,
        &companies,
        json!([{"code": "ACME", "name": "Acme Corp"}, {"code": "GLBX", "name": "Globex"}]),
    )
    .await;
    insert(
        &app,
        &contacts,
        json!([
            {"email": "ada@acme.com", "company": "ACME"},
            {"email": "bo@nowhere.io", "company": "NOPE"},
            {"email": "cy@none.io"}
        ]),
    )
    .await;

    let (status, page) = app
        .get_json(&format!("/sheets/{contacts}/records?includeLinks=true"))
        .await;
    assert_eq!(status, 200, "{page}");
    let ada = &by_email(&page, "ada@acme.com")["values"]["company"];
    assert_eq!(ada["value"], "ACME", "{ada}");
    let links = ada["links"].as_array().unwrap_or_else(|| panic!("links: {ada}"));
    assert_eq!(links.len(), 1, "{ada}");
    assert_eq!(links[0]["id"], acme[0].as_str(), "{ada}");
    assert_eq!(links[0]["values"]["name"]["value"], "Acme Corp", "{ada}");
    assert_eq!(links[0]["values"]["code"]["value"], "ACME", "{ada}");
    // A reference to nothing, and an empty cell, link to nothing.
    let bo = &by_email(&page, "bo@nowhere.io")["values"]["company"];
    assert!(bo.get("links").is_none(), "{bo}");
    assert_eq!(bo["valid"], false, "{bo}");
    let cy = &by_email(&page, "cy@none.io")["values"]["company"];
    assert!(cy.get("links").is_none(), "{cy}");

    // Without asking, no links; a malformed flag is refused.
    let (_, plain) = app.get_json(&format!("/sheets/{contacts}/records")).await;
    assert!(
        by_email(&plain, "ada@acme.com")["values"]["company"]
            .get("links")
            .is_none(),
        "{plain}"
    );
    let (status, body) = app
        .get_json(&format!("/sheets/{contacts}/records?includeLinks=yes"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("includeLinks"), "{body}");

    // The linked record follows a change of the target: renamed, then gone.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{companies}/records"),
            &json!([{"id": acme[0], "values": {"name": {"value": "Acme Holdings"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app
        .get_json(&format!("/sheets/{contacts}/records?includeLinks=true"))
        .await;
    let ada = &by_email(&page, "ada@acme.com")["values"]["company"];
    assert_eq!(
        ada["links"][0]["values"]["name"]["value"], "Acme Holdings",
        "{ada}"
    );
    let (status, body) = app
        .delete(&format!("/sheets/{companies}/records?ids={}", acme[0]))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app
        .get_json(&format!("/sheets/{contacts}/records?includeLinks=true"))
        .await;
    let ada = &by_email(&page, "ada@acme.com")["values"]["company"];
    assert!(ada.get("links").is_none(), "{ada}");
    assert_eq!(ada["valid"], false, "{ada}");

    // The contacts' commits ask for links in their dataUrl, which a hook reads; the
    // companies' have no reference field and do not. (On PostgreSQL a listing holds back
    // events while transactions that could slip in front run: ask until both show.)
    let url_of = |created: &[Value], sheet: &str| {
        created
            .iter()
            .find(|e| e["context"]["sheetId"] == sheet)
            .and_then(|e| e["dataUrl"].as_str())
            .map(str::to_string)
    };
    let mut created = Vec::new();
    for _ in 0..300 {
        created = events_of(&app, "commit:created").await;
        if url_of(&created, &contacts).is_some() && url_of(&created, &companies).is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let url = url_of(&created, &contacts).expect("a commit of the contacts");
    assert!(url.ends_with("&includeLinks=true"), "{url}");
    let plain = url_of(&created, &companies).expect("a commit of the companies");
    assert!(!plain.contains("includeLinks"), "{plain}");
    let (status, commit) = send(app.client.get(app.url(&format!("/{url}"))).bearer_auth(&app.key)).await;
    assert_eq!(status, 200, "{commit}");
    let records = commit["data"]["records"].as_array().unwrap();
    assert_eq!(records.len(), 3, "{commit}");
}

/// Links count toward what one page may hold (each cell carries its records whole): a page
/// past 64 MiB with them is refused with 422 saying to ask for fewer records, as a page of
/// huge cells is (a 200-record page came to 572 MiB).
async fn links_stay_within_a_pages_budget(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let companies = app.sheet_id(&space, "companies").await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let name = "n".repeat(900 * 1024);
    insert(&app, &companies, json!([{"code": "BIG", "name": name}])).await;
    let many: Vec<Value> = (0..80)
        .map(|i| json!({"email": format!("p{i}@x.io"), "company": "BIG"}))
        .collect();
    insert(&app, &contacts, Value::Array(many)).await;
    let (status, body) = app
        .get_json(&format!("/sheets/{contacts}/records?includeLinks=true"))
        .await;
    assert_eq!(
        status,
        422,
        "{}",
        &body.to_string()[..300.min(body.to_string().len())]
    );
    assert!(body.to_string().contains("pageSize"), "{body}");
    let (status, page) = app
        .get_json(&format!(
            "/sheets/{contacts}/records?includeLinks=true&pageSize=10"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["data"]["records"].as_array().unwrap().len(), 10);
    assert_eq!(
        page["data"]["records"][0]["values"]["company"]["links"][0]["values"]["code"]["value"],
        "BIG"
    );
}

on_both!(
    reference_cells_carry_their_linked_records,
    links_stay_within_a_pages_budget
);

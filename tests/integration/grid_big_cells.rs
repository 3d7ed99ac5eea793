//! A sheet of cells as big as a cell may be (1 MiB) stays usable in the grid: each cell
//! shows its start (the editor holds it whole), and a page of them too big for one read is
//! read shorter, its Next link going on from its last record.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

async fn a_page_of_megabyte_cells_opens_shorter(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let note = "q".repeat(1_000_000);
    for batch in 0..5 {
        let rows: Vec<_> = (0..14)
            .map(|i| json!({"email": format!("p{batch}-{i}@x.io"), "name": note}))
            .collect();
        let (status, body) = app
            .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
            .await;
        assert_eq!(
            status,
            200,
            "{}",
            &body.to_string()[..200.min(body.to_string().len())]
        );
    }
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let (_, wb) = app.get_json(&format!("/sheets/{sheet}")).await;
    let wb = wb["data"]["workbookId"].as_str().unwrap().to_string();
    let resp = app
        .client
        .get(app.url(&format!("/workbooks/{wb}?sheet={sheet}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let html = resp.text().await.unwrap();
    assert!(
        html.len() < 2_000_000,
        "cells are shortened: {} bytes",
        html.len()
    );
    assert!(html.contains("(1000000 characters in all: open the cell to see them)"));
    let shown = html.matches("id=\"row-").count();
    assert!((1..70).contains(&shown), "{shown} rows on the first page");
    let next = html
        .split("?sheet=")
        .filter_map(|s| s.split('"').next())
        .find(|s| s.contains("after="))
        .expect("a Next link");
    let rest = app
        .page(&format!(
            "/workbooks/{wb}?sheet={}",
            next.replace("&amp;", "&").replace("&#38;", "&")
        ))
        .await;
    let more = rest.matches("id=\"row-").count();
    assert_eq!(
        shown + more,
        70,
        "every record on the two pages: {shown} + {more}, next {next}"
    );
}

/// A value wider than its cell is cut short with an ellipsis; pointing at it shows it whole.
async fn a_long_value_shows_whole_on_hover(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let long = "Bartholomew Montgomery-Fitzwilliam <b>& Sons</b> of Greater Lancashire";
    let rows = json!([{"email": "a@x.io", "name": long}, {"email": "b@x.io", "name": "Ada"}]);
    let (status, _) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    assert_eq!(status, 200);
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let (_, wb) = app.get_json(&format!("/sheets/{sheet}")).await;
    let wb = wb["data"]["workbookId"].as_str().unwrap().to_string();
    let html = app.page(&format!("/workbooks/{wb}?sheet={sheet}")).await;
    let escaped =
        "Bartholomew Montgomery-Fitzwilliam &#60;b&#62;&#38; Sons&#60;/b&#62; of Greater Lancashire";
    assert!(
        html.contains(&format!("<span class=\"value\" title=\"{escaped}\">")),
        "the long name's tooltip, escaped"
    );
    assert!(
        html.contains("<span class=\"value\">Ada</span>"),
        "a short one has none"
    );
}

on_both!(
    a_page_of_megabyte_cells_opens_shorter,
    a_long_value_shows_whole_on_hover
);

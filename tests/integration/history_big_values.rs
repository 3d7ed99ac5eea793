//! A record's history with big values: the panel shows each value cut as the grid's cells
//! are, and the API's list of changes ends a page before its values grow past a budget
//! (100 changes of 1 MiB made a 210 MB panel: probe 65a D1). Undo still puts back the
//! whole value.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;
use wharf::model::record::history;

on_both!(a_history_of_big_values_stays_small_and_undo_puts_back_the_whole_value);

async fn a_history_of_big_values_stays_small_and_undo_puts_back_the_whole_value(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    // Quotes and accents: stored as JSON, cut in the middle of what they became.
    let big = |c: char| format!("{c}\"é<{}", "n".repeat(300_000));
    let (_, inserted) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "a@x.io", "name": big('A')}]),
        )
        .await;
    let rid = inserted["data"]["records"][0]["id"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    for c in ['B', 'C', 'D'] {
        let resp = app
            .client
            .put(app.url(&format!("/grid/{sheet}/records/{rid}")))
            .header("hx-request", "true")
            .header("x-csrf-token", &csrf)
            .form(&[("field", "name"), ("value", big(c).as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
    }

    let panel = app.page(&format!("/grid/{sheet}/records/{rid}/history")).await;
    assert!(panel.len() < 100_000, "the panel is {} bytes", panel.len());
    assert!(panel.contains("C&#34;é&#60;nnn"), "each value's start is shown");
    assert!(panel.contains("nnn…"), "and said to be cut");
    assert!(panel.contains("Undo my last change"));
    let resp = crate::history_deleted::grid_undo(&app, &sheet, &rid, &csrf).await;
    assert_eq!(resp.status().as_u16(), 200);
    let (_, records) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let name = &records["data"]["records"][0]["values"]["name"]["value"];
    assert_eq!(name.as_str(), Some(big('C').as_str()), "the whole value is back");

    // The API's list keeps values whole and ends a page at its budget, going on from there.
    let (status, changes) = app.get_json(&format!("/sheets/{sheet}/changes")).await;
    assert_eq!(status, 200);
    let all = changes["data"].as_array().unwrap();
    assert_eq!(all.len(), 4, "three saves and the undo");
    assert_eq!(all[0]["newValue"].as_str(), Some(big('B').as_str()));
    let sheet_id = wharf::ids::SheetId::parse(&sheet).unwrap();
    let mut conn = app.pool.get().unwrap();
    let (mut after, mut pages) = (None, Vec::new());
    loop {
        let page = history::of_sheet(&mut conn, &sheet_id, after, None, 1000, 1_300_000).unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        pages.push(page.len());
    }
    assert_eq!(
        pages,
        vec![2, 2],
        "two changes of about 600,000 characters each fit"
    );
    let one = history::of_sheet(&mut conn, &sheet_id, None, None, 1000, 10).unwrap();
    assert_eq!(one.len(), 1, "a change bigger than the budget comes alone");
}

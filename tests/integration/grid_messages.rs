//! What the grid tells a person: listener code's errors, warnings and `info` notes
//! (`record.addInfo`, kept but never shown: probe 51b 5), and a save on a record deleted
//! meanwhile in words (probe 49c 5).

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

async fn a_listeners_info_note_shows_in_the_grid(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let (_, inserted) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"code": "A", "name": "Acme"}, {"code": "B", "name": "Beta"}]),
        )
        .await;
    let ids: Vec<String> = inserted["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let note = |kind: &str, text: &str| json!({"value": "x", "messages": [{"type": kind, "message": text}]});
    let answer = json!([
        {"id": ids[0], "values": {"name": note("info", "checked <by> hook A")}},
        {"id": ids[1], "values": {"name": note("warn", "looks odd")}},
    ]);
    let (status, body) = app.put_json(&format!("/sheets/{sheet}/records"), &answer).await;
    assert_eq!(status, 200, "{body}");
    let (_, got) = app.get_json(&format!("/sheets/{sheet}")).await;
    let wb = got["data"]["workbookId"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let grid = app.page(&format!("/workbooks/{wb}?sheet={sheet}")).await;
    assert!(
        grid.contains(r#"<span class="msg info" role="tooltip">checked &#60;by&#62; hook A</span>"#),
        "{grid}"
    );
    assert!(grid.contains("has-info"), "the cell is marked");
    assert!(
        grid.contains(r#"<span class="msg warn" role="tooltip">looks odd</span>"#),
        "a warning still shows as one"
    );
}

async fn a_save_on_a_deleted_record_says_so(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let (_, inserted) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"code": "A", "name": "Acme"}]),
        )
        .await;
    let rid = inserted["data"]["records"][0]["id"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    let (status, body) = app.delete(&format!("/sheets/{sheet}/records?ids={rid}")).await;
    assert_eq!(status, 200, "{body}");
    let r = app
        .client
        .put(app.url(&format!("/grid/{sheet}/records/{rid}")))
        .header("hx-request", "true")
        .header("x-csrf-token", &csrf)
        .form(&[("field", "name"), ("value", "Acme 2")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let text = r.text().await.unwrap();
    assert!(text.contains("was deleted after your grid showed it"), "{text}");
}

on_both!(
    a_listeners_info_note_shows_in_the_grid,
    a_save_on_a_deleted_record_says_so
);

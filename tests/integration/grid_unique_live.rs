//! A grid save of a unique field can make or end a duplicate on other rows: the saver's own
//! grid hears of it as the others' do, so those rows show it (probe 49c 3). A save of any
//! other field is not echoed back to the grid that made it.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;
use std::time::Duration;

/// What the stream sends within `wait`.
async fn heard(resp: &mut reqwest::Response, wait: Duration) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, resp.chunk()).await {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

async fn a_unique_save_is_told_to_the_savers_own_grid(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let (_, inserted) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"code": "A", "name": "Acme"}, {"code": "B", "name": "Beta"}]),
        )
        .await;
    let second = inserted["data"]["records"][1]["id"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    let mut stream = app
        .client
        .get(app.url(&format!("/grid/{sheet}/live?client=mine")))
        .send()
        .await
        .unwrap();
    heard(&mut stream, Duration::from_millis(500)).await;
    let save = |field: &'static str, value: &'static str| {
        app.client
            .put(app.url(&format!("/grid/{sheet}/records/{second}")))
            .header("hx-request", "true")
            .header("x-csrf-token", &csrf)
            .header("x-wharf-client", "mine")
            .form(&[("field", field), ("value", value)])
            .send()
    };
    assert_eq!(save("name", "Beta 2").await.unwrap().status().as_u16(), 200);
    let after_name = heard(&mut stream, Duration::from_millis(1500)).await;
    assert!(!after_name.contains("event: changed"), "{after_name}");
    // `A` again: the first row is a duplicate now, which this grid must show.
    assert_eq!(save("code", "A").await.unwrap().status().as_u16(), 200);
    let after_code = heard(&mut stream, Duration::from_secs(5)).await;
    assert!(after_code.contains("event: changed"), "{after_code}");
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["error"], 2, "{counts}");
}

on_both!(a_unique_save_is_told_to_the_savers_own_grid);

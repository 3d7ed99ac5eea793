//! A webhook whose receiver comes back (a listener restarted) gets the deliveries waiting
//! for a later retry at once, not minutes later (probe 74c D1).

use crate::helpers::*;
use crate::on_both;
use crate::webhooks::{create_hook, Receiver};
use serde_json::json;
use std::time::Duration;

async fn a_receiver_back_gets_what_waited_at_once(db: Db) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let hook = create_hook(&app, &receiver.url, Some(json!(["records:*"]))).await;
    let id = hook["id"].as_str().unwrap().to_string();
    // Down: the first try and its retry (5 s later) fail; the next retry is minutes away.
    receiver.answer_next(&[503, 503]);
    let insert = async |email: &str| {
        let (status, body) = app
            .post_json(&format!("/sheets/{sheet}/records"), &json!([{"email": email}]))
            .await;
        assert_eq!(status, 200, "{body}");
    };
    insert("a@x.io").await;
    receiver.wait_for(2).await;
    let (_, log) = app.get_json(&format!("/webhooks/{id}/deliveries")).await;
    let waiting = log["data"][0].clone();
    assert_eq!(
        (waiting["status"].clone(), waiting["attempts"].clone()),
        (json!("pending"), json!(2)),
        "{waiting}"
    );
    // Back: the next event is taken, and the one waiting follows within seconds.
    insert("b@x.io").await;
    let started = std::time::Instant::now();
    loop {
        let (_, log) = app.get_json(&format!("/webhooks/{id}/deliveries")).await;
        let all = log["data"].as_array().unwrap().clone();
        if all.len() == 2 && all.iter().all(|d| d["status"] == "delivered") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still waiting: {log}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

on_both!(a_receiver_back_gets_what_waited_at_once);

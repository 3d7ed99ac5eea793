//! Several Wharf processes on one PostgreSQL database, as behind a load balancer: a grid
//! open on one process sees writes made through another.

use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

/// Reads an SSE stream until it sends `event: changed`, or gives up after `wait`.
async fn hears_change(mut resp: reqwest::Response, wait: Duration) -> bool {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, resp.chunk()).await {
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if seen.contains("event: changed") {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_on_one_process_sees_writes_through_another() {
    let first = spawn_app(Db::Postgres).await;
    let second = first.spawn_sibling();
    first.make_user("ada@example.com", true);
    let resp = second.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(resp.status(), 303);
    let space = first.space_from_blueprint().await;
    let contacts = first.sheet_id(&space, "contacts").await;

    // The grid's live stream, open on the second process.
    let stream = second
        .client
        .get(second.url(&format!("/grid/{contacts}/live?client=grid-1")))
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), 200);
    let listening = tokio::spawn(hears_change(stream, Duration::from_secs(10)));
    // Give the stream a moment to subscribe, then write through the first process.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, _) = first
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": {"value": "a@x.io"}}]),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        listening.await.expect("task"),
        "the second process's grid heard nothing"
    );
}

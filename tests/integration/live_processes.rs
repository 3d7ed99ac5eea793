//! Presence across PostgreSQL processes on a crowded sheet: who is there travels in notes
//! under `NOTIFY`'s payload limit, each person once, however many and however long-named.

use crate::helpers::*;
use crate::live_access::{guest_browser, open_stream};
use serde_json::{json, Value};
use std::time::Duration;

/// Reads until a `presence` event satisfies `wanted` (60 s at most); the last one seen.
async fn presence_until(resp: &mut reqwest::Response, wanted: impl Fn(&str) -> bool) -> (bool, String) {
    let mut pending = String::new();
    let mut last = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, resp.chunk()).await {
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            if event.starts_with("event: presence") {
                if wanted(&event) {
                    return (true, event);
                }
                last = event;
            }
        }
    }
    (false, last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowded_sheet_shows_its_people_on_another_process() {
    let first = spawn_app(Db::Postgres).await;
    let second = first.spawn_sibling();
    let space = first.space_from_blueprint().await;
    let sa = space["id"].as_str().unwrap();
    let sheet = first.sheet_id(&space, "contacts").await;

    // 150 guests with long names, each with the sheet open through the first process.
    let long = "Bartholomew-Maximilian ".repeat(7);
    let guests: Vec<Value> = (0..150)
        .map(|i| {
            json!({"environmentId": first.env_id.as_str(), "email": format!("g{i}@partner.example"),
                   "name": format!("Guest {i:03} {long}"), "spaces": [{"id": sa}]})
        })
        .collect();
    let (status, created) = first.post_json("/guests", &Value::Array(guests)).await;
    assert_eq!(status, 200, "{created}");
    let live = first.url(&format!("/grid/{sheet}/live"));
    let mut streams = Vec::new();
    for g in created["data"].as_array().unwrap() {
        let gid = g["id"].as_str().unwrap();
        let (_, token) = first.get_json(&format!("/guests/{gid}/token")).await;
        let browser = guest_browser(&first, token["data"]["token"].as_str().unwrap()).await;
        streams.push(open_stream(&browser, live.clone()).await);
        if streams.len() == 1 {
            // One guest with three tabs still counts once.
            streams.push(open_stream(&browser, live.clone()).await);
            streams.push(open_stream(&browser, live.clone()).await);
        }
    }

    // Ada, on the second process, sees them all: 20 by name and the rest counted.
    first.make_user("ada@example.com", true);
    assert_eq!(second.sign_in("ada@example.com", PASSWORD).await.status(), 303);
    let mut ada = open_stream(&second.client, second.url(&format!("/grid/{sheet}/live"))).await;
    let (seen, last) = presence_until(&mut ada, |e| {
        e.contains("Guest 000 Bartholomew") && e.contains("and 130 more")
    })
    .await;
    assert!(
        seen,
        "the second process does not show the first's 150 people: {last}"
    );
    assert!(last.contains("Guest 019 Bartholomew"), "{last}");
    drop(streams);
}

/// A guest removed through one process stops hearing the sheet open through another, at
/// once (not only at the periodic check), and leaves the grids of both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_removed_through_one_process_stops_hearing_on_another() {
    let first = spawn_app(Db::Postgres).await;
    let second = first.spawn_sibling();
    let space = first.space_from_blueprint().await;
    let sa = space["id"].as_str().unwrap();
    let sheet = first.sheet_id(&space, "contacts").await;
    let (gid, token) =
        crate::live_access::guest_with_token(&first, "gus@partner.example", "Gus", &[sa]).await;
    let gus = guest_browser(&second, &token).await;
    let mut gus_grid = open_stream(&gus, second.url(&format!("/grid/{sheet}/live"))).await;
    first.make_user("ada@example.com", true);
    assert_eq!(first.sign_in("ada@example.com", PASSWORD).await.status(), 303);
    let mut ada = open_stream(&first.client, first.url(&format!("/grid/{sheet}/live"))).await;
    let (seen, last) = presence_until(&mut ada, |e| e.contains("Gus (guest)")).await;
    assert!(seen, "Ada sees Gus: {last}");

    let (status, body) = first.delete(&format!("/guests/{gid}?spaceId={sa}")).await;
    assert_eq!(status, 200, "{body}");
    let mut got = String::new();
    let ended = tokio::time::timeout(Duration::from_millis(2500), async {
        while let Ok(Some(chunk)) = gus_grid.chunk().await {
            got.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "Gus's stream on the other process still runs: {got}"
    );
    let (gone, last) = presence_until(&mut ada, |e| !e.contains("Gus")).await;
    assert!(gone, "Gus left Ada's grid: {last}");
}

//! The grid's live stream: who else has the sheet open, and a change made between the
//! page's read and the stream's opening.

use crate::helpers::*;
use crate::on_both;

/// Reads an SSE response until its text so far contains `needle` (20 s at most).
async fn read_until(resp: &mut reqwest::Response, seen: &mut String, needle: &str) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !seen.contains(needle) {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("no `{needle}` in the stream: {seen}"))
            .expect("stream")
            .expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn the_grid_shows_who_else_has_the_sheet_open(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    app.make_user("ada@example.com", true);
    app.make_user("bob@example.com", false);
    app.sign_in("ada@example.com", PASSWORD).await;
    let bob = app.clone_with_new_client();
    bob.sign_in("bob@example.com", PASSWORD).await;
    let live = format!("/grid/{sheet}/live");

    let mut ada_stream = app
        .client
        .get(app.url(&format!("{live}?client=a")))
        .send()
        .await
        .unwrap();
    assert_eq!(ada_stream.status().as_u16(), 200);
    let mut ada_seen = String::new();
    read_until(&mut ada_stream, &mut ada_seen, "event: presence").await;
    assert!(
        !ada_seen.contains("ada@example.com"),
        "one is not shown to oneself: {ada_seen}"
    );

    let bob_stream = bob
        .client
        .get(format!("{}{live}?client=b", bob.base))
        .send()
        .await
        .unwrap();
    read_until(&mut ada_stream, &mut ada_seen, "bob@example.com").await;
    assert!(ada_seen.contains("Also here:"), "{ada_seen}");

    // Bob closes the page: Ada's grid no longer lists him, once the server notices (its
    // next keep-alive write to Bob's closed connection fails).
    drop(bob_stream);
    ada_seen.clear();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        read_until(&mut ada_stream, &mut ada_seen, "event: presence").await;
        let last = ada_seen
            .rsplit("event: presence")
            .next()
            .unwrap_or_default()
            .to_string();
        if !last.contains("bob@example.com") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Bob is still shown: {ada_seen}"
        );
        ada_seen.clear();
    }
}

/// A change that lands after the grid page read its records but before its live stream
/// opened is announced as the stream opens (the page would show it only at the next
/// change); a stream of a page read after the change hears nothing of it.
async fn a_change_before_the_stream_opens_is_announced(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let wb = app.get_json(&format!("/sheets/{sheet}")).await.1["data"]["workbookId"]
        .as_str()
        .unwrap()
        .to_string();
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let since_of = |page: &str| {
        let at = page.find("since=").expect("the page's stream says since when");
        page[at + 6..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
    };
    let before = since_of(&app.page(&format!("/workbooks/{wb}?sheet={sheet}")).await);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (status, _) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &serde_json::json!([{"name": "Late"}]),
        )
        .await;
    assert_eq!(status, 200);
    let after = since_of(&app.page(&format!("/workbooks/{wb}?sheet={sheet}")).await);
    let open = |since: String| {
        let url = app.url(&format!("/grid/{sheet}/live?client=a&since={since}"));
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap() }
    };
    let mut stale = open(before).await;
    let mut seen = String::new();
    read_until(&mut stale, &mut seen, "event: changed").await;
    let mut fresh = open(after).await;
    let mut seen = String::new();
    read_until(&mut fresh, &mut seen, "event: presence").await;
    assert!(!seen.contains("event: changed"), "{seen}");
}

on_both!(
    a_change_before_the_stream_opens_is_announced,
    the_grid_shows_who_else_has_the_sheet_open,
);

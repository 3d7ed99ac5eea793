//! Several Wharf processes on one PostgreSQL database, as behind a load balancer: a grid
//! open on one process sees writes made through another, and who has the sheet open
//! through another.

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

/// Reads an SSE stream until a `presence` event satisfies `wanted`, or gives up after `wait`;
/// returns the stream (to go on reading) and whether one did.
async fn presence_until(
    mut resp: reqwest::Response,
    wait: Duration,
    wanted: impl Fn(&str) -> bool,
) -> (reqwest::Response, bool) {
    let mut pending = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, resp.chunk()).await {
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            if event.starts_with("event: presence") && wanted(&event) {
                return (resp, true);
            }
        }
    }
    (resp, false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_shows_who_has_its_sheet_open_through_another_process() {
    let first = spawn_app(Db::Postgres).await;
    let second = first.spawn_sibling();
    first.make_user("ada@example.com", true);
    first.make_user("bob@example.com", false);
    assert_eq!(first.sign_in("ada@example.com", PASSWORD).await.status(), 303);
    assert_eq!(second.sign_in("bob@example.com", PASSWORD).await.status(), 303);
    let space = first.space_from_blueprint().await;
    let contacts = first.sheet_id(&space, "contacts").await;
    let open = |app: &TestApp| {
        let url = app.url(&format!("/grid/{contacts}/live"));
        let client = app.client.clone();
        async move { client.get(url).send().await.expect("stream") }
    };

    // Bob has the sheet open through the second process; Ada opens it through the first.
    let bob = open(&second).await;
    let ada = open(&first).await;
    let (ada, ada_sees_bob) =
        presence_until(ada, Duration::from_secs(15), |e| e.contains("bob@example.com")).await;
    assert!(ada_sees_bob, "Ada's grid shows Bob, who is on another process");
    let (bob, bob_sees_ada) =
        presence_until(bob, Duration::from_secs(15), |e| e.contains("ada@example.com")).await;
    assert!(bob_sees_ada, "Bob's grid shows Ada, who is on another process");

    // Ada closes her grid: Bob's shows her gone (her stream ends at its next keep-alive).
    drop(ada);
    let (_bob, gone) = presence_until(bob, Duration::from_secs(20), |e| !e.contains("ada@example.com")).await;
    assert!(gone, "Ada left Bob's grid once she closed hers");
}

/// The one-time link printed by one process creates the first admin through another,
/// once: a second use, on either process, is refused.
async fn the_first_admin_link_works_on_every_process(db: Db) {
    let first = spawn_app(db).await;
    let second = first.spawn_sibling();
    let link = first.setup_link.clone().expect("no user yet, so a setup link");
    let path = &link[link.find("/setup").unwrap()..];
    let token = &path[path.find("token=").unwrap() + 6..];
    let status = |resp: reqwest::Response| resp.status().as_u16();
    assert_eq!(
        status(second.client.get(second.url(path)).send().await.unwrap()),
        200
    );
    let form = [
        ("token", token),
        ("email", "root@example.com"),
        ("password", "a long enough password"),
    ];
    let done = second
        .client
        .post(second.url("/setup"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(status(done), 303);
    assert_eq!(
        status(
            second
                .client
                .get(second.url("/environments"))
                .send()
                .await
                .unwrap()
        ),
        200
    );
    for app in [&first, &second] {
        assert_eq!(
            status(app.client.get(app.url(path)).send().await.unwrap()),
            404,
            "used once"
        );
        let again = app
            .client
            .post(app.url("/setup"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_ne!(status(again), 303, "no second admin through the same link");
    }
}

/// Guesses spread over two processes share one account's budget.
async fn sign_in_limits_hold_across_processes(db: Db) {
    let first = spawn_app(db).await;
    let second = first.spawn_sibling();
    first.make_user("ada@example.com", false);
    let tokens = [first.sign_in_token().await, second.sign_in_token().await];
    let guesses = (0..30).map(|i| {
        let (app, token) = if i % 2 == 0 {
            (&first, &tokens[0])
        } else {
            (&second, &tokens[1])
        };
        async move {
            app.sign_in_with(token, "ada@example.com", &format!("guess {i}"))
                .await
                .status()
                .as_u16()
        }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let checked = answers.iter().filter(|s| **s == 401).count();
    let refused = answers.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, refused), (10, 20), "{answers:?}");
}

crate::on_both!(
    the_first_admin_link_works_on_every_process,
    sign_in_limits_hold_across_processes,
);

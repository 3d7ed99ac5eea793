//! Request bodies held at once are bounded, per caller and in all, with what they parse
//! into: a caller sending many of the biggest bodies at once is refused with 503 past its
//! share, and gets it back as its requests end (probe 67a D3: forty guests' 60 MB bodies
//! held 2.6 GB).

use crate::helpers::*;
use crate::on_both;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BODY: usize = 60 * 1024 * 1024;

/// A connection that has sent all but the last byte of a 60 MiB JSON body.
async fn stalled_body(app: &TestApp) -> tokio::net::TcpStream {
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/spaces HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {BODY}\r\n\r\n[",
        app.key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let spaces = vec![b' '; 1024 * 1024];
    let mut sent = 1;
    while sent + spaces.len() < BODY {
        if stream.write_all(&spaces).await.is_err() {
            break;
        }
        sent += spaces.len();
    }
    stream
}

async fn many_big_bodies_from_one_caller_are_held_to_its_share(db: Db) {
    let app = spawn_app(db).await;
    let mut held = Vec::new();
    for _ in 0..wharf::web::body_budget::MOST_HELD_EACH / BODY {
        held.push(stalled_body(&app).await);
    }
    // The server has read them (it answers nothing yet: the bodies are not complete).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut third = stalled_body(&app).await;
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(20), third.read(&mut answer))
        .await
        .expect("answered before its body ends")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).to_lowercase();
    assert!(answer.starts_with("http/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after"), "{answer}");
    assert!(
        answer.contains("request bodies to this server at once"),
        "{answer}"
    );
    // Its requests gone, the caller's share comes back.
    drop((held, third));
    let mut status = 0;
    for _ in 0..50 {
        let (s, _) = app.get_json("/spaces").await;
        let (made, _) = app
            .post_json("/spaces", &serde_json::json!({"name": "After"}))
            .await;
        assert_eq!(s, 200);
        status = made;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "the share came back");
}

/// `body` as JSON to the API at `path`, with the test key.
async fn post_raw(app: &TestApp, path: &str, body: String) -> reqwest::Response {
    app.api(reqwest::Method::POST, path)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// A body of many tiny values is held at what it parses into, and refused before it is
/// parsed (probe 67e D5: 63 MiB of `{},` took 2.5 GB). Alone past what a caller may hold,
/// it never fits: 413 saying what to send, not a 503 that clients retry for good (probe
/// 68a D3).
async fn a_body_of_many_tiny_values_is_refused_before_it_is_parsed(db: Db) {
    let app = spawn_app(db).await;
    let sheet = app.sheet_id(&app.space_from_blueprint().await, "companies").await;
    let body = format!("[{}{{}}]", "{},".repeat(10_000_000));
    let resp = post_raw(&app, &format!("/sheets/{sheet}/records"), body).await;
    assert_eq!(resp.status().as_u16(), 413);
    assert!(!resp.headers().contains_key("retry-after"));
    let said: serde_json::Value = resp.json().await.unwrap();
    assert!(said.to_string().contains("smaller batches"), "{said}");
    // Nor on a route that reads its body otherwise: a job's `complete` (probe 67h D3).
    let body = format!("{{\"outcome\": [{}{{}}]}}", "{},".repeat(10_000_000));
    let resp = post_raw(&app, "/jobs/us_jb_nothere1/complete", body).await;
    assert_eq!(resp.status().as_u16(), 413);
    // An ordinary batch goes in.
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &serde_json::json!([{"code": "A1"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

on_both!(
    many_big_bodies_from_one_caller_are_held_to_its_share,
    a_body_of_many_tiny_values_is_refused_before_it_is_parsed,
);

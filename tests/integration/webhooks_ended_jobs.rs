//! A `job:ready` waiting for its next try after its listener could not be reached is not
//! sent once the job ended without a listener (probe 74c D2: a Submit's `job:ready`
//! reached its listener, back after a restart, minutes after the job had failed "No
//! listener took this job", and its handler ran for a job every call then refused). A job
//! still waiting is sent as before.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A receiver on `listener` keeping the requests it gets; it answers each with `answer`,
/// or never (`None`: its handler runs on long after a try gives up).
pub(crate) fn raw_receiver(
    listener: tokio::net::TcpListener,
    answer: Option<&'static [u8]>,
) -> Arc<Mutex<Vec<String>>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let bodies: Arc<Mutex<Vec<String>>> = Default::default();
    let got = bodies.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let got = got.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                while let Ok(n) = sock.read(&mut chunk).await {
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf);
                    if text.contains("\r\n\r\n") && text.trim_end().ends_with('}') {
                        got.lock().unwrap().push(text.into_owned());
                        break;
                    }
                }
                match answer {
                    Some(answer) => drop(sock.write_all(answer).await),
                    None => tokio::time::sleep(Duration::from_secs(60)).await,
                }
            });
        }
    });
    bodies
}

/// A receiver on `port` answering 200 to every request; the bodies it got.
async fn listen_on(port: u16) -> Arc<Mutex<Vec<String>>> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the port again");
    raw_receiver(listener, Some(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"))
}

/// `n` jobs for listener code (`sync` of a new space named `space`), each sending a
/// `job:ready`; their ids.
pub(crate) async fn sync_jobs(app: &TestApp, space: &str, n: usize) -> Vec<String> {
    let space = app.bare_space(space).await;
    let mut jobs = Vec::new();
    for _ in 0..n {
        let body = json!({"type": "space", "operation": "sync", "source": space, "trigger": "immediate"});
        let (status, job) = app.post_json("/jobs", &body).await;
        assert_eq!(status, 200, "{job}");
        jobs.push(job["data"]["id"].as_str().unwrap().to_string());
    }
    jobs
}

async fn deliveries(app: &TestApp, hook: &str) -> Vec<Value> {
    let (_, log) = app.get_json(&format!("/webhooks/{hook}/deliveries")).await;
    log["data"].as_array().unwrap().clone()
}

async fn a_job_that_ended_is_not_sent_to_a_listener_back_later(db: Db) {
    let app = spawn_app(db).await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let hook = crate::webhooks::create_hook(
        &app,
        &format!("http://127.0.0.1:{port}/hook"),
        Some(json!(["job:ready"])),
    )
    .await;
    let hook = hook["id"].as_str().unwrap().to_string();
    let jobs = sync_jobs(&app, "Away", 2).await;
    // Both tries refused (the listener is down): each waits for its next try, 5 s on.
    for _ in 0..100 {
        let log = deliveries(&app, &hook).await;
        if log.len() == 2 && log.iter().all(|d| d["attempts"] == 1 && d["status"] == "pending") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The first job ends meanwhile; then the listener is back.
    let (status, body) = app
        .post_json(&format!("/jobs/{}/cancel", jobs[0]), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let bodies = listen_on(port).await;
    let sent = |job: &str| bodies.lock().unwrap().iter().filter(|b| b.contains(job)).count();
    for _ in 0..150 {
        if sent(&jobs[1]) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent(&jobs[1]), 1, "the job still waiting is sent");
    let mut ended = Value::Null;
    for _ in 0..100 {
        let log = deliveries(&app, &hook).await;
        ended = log
            .iter()
            .find(|d| d["status"] != "pending" && d["status"] != "delivered")
            .cloned()
            .unwrap_or_default();
        if !ended.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ended["status"], "failed", "{ended}");
    assert_eq!(
        ended["lastError"],
        format!("not sent again: job {} was already canceled", jobs[0]),
        "{ended}"
    );
    assert_eq!(sent(&jobs[0]), 0, "the ended job's event is not sent");
    // Sent again by hand, it is sent, whatever became of its job (probe 76b D4: it was
    // given up again).
    let (status, body) = app
        .post_json(
            &format!(
                "/webhooks/{hook}/deliveries/{}/retry",
                ended["id"].as_str().unwrap()
            ),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..100 {
        if sent(&jobs[0]) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent(&jobs[0]), 1, "sent on request");
}

on_both!(a_job_that_ended_is_not_sent_to_a_listener_back_later);

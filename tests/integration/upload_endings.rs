//! How an upload ends when its client misbehaves: a body that stops arriving is answered
//! 408 and leaves nothing, and a client that leaves once it has sent everything leaves a
//! file with its bytes (or no file), never a file whose bytes were deleted. The uploads are
//! exports, so no extraction adds objects of its own.

use crate::api_files::stored_files;
use crate::helpers::*;
use crate::on_both;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn upload_head(app: &TestApp, space: &str, length: usize) -> String {
    let addr = app.base.trim_start_matches("http://");
    format!(
        "POST /v1/files HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {length}\r\n\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"spaceId\"\r\n\r\n{space}\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\nexport\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n",
        app.key
    )
}

/// A connection that has sent an upload's head, promising a 10 MB body.
async fn upload_started(app: &TestApp, space: &str) -> tokio::net::TcpStream {
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(upload_head(app, space, 10_000_000).as_bytes())
        .await
        .unwrap();
    stream
}

async fn a_stalled_upload_is_answered_408_and_leaves_nothing(db: Db) {
    let app = spawn_app_with(db, |s| s.keep_alive_seconds = 1).await;
    let space = app.bare_space("Stalled").await;
    let mut stream = upload_started(&app, &space).await;
    stream.write_all(&[b'a'; 300_000]).await.unwrap();
    stream.flush().await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer while the connection is still open")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).to_string();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body sent less than 64 KiB in 1 s"), "{answer}");
    let mut left = usize::MAX;
    for _ in 0..50 {
        left = stored_files(&app);
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "no bytes are kept");
    let (_, list) = app.get_json("/files").await;
    assert_eq!(list["pagination"]["totalCount"], 0);
}

/// Clients that send a whole upload and close at once, at moments spread over the time
/// the server takes to store and record it (a bucket's last step is a request of its own):
/// every file listed has its bytes. The guard that deletes the bytes of an upload that
/// fails was dropped with the request, while the write it had started went on to make the
/// file: 26 of 80 such files had no bytes.
async fn a_client_that_leaves_after_sending_leaves_no_file_without_bytes(db: Db) {
    let s3 = crate::storage_s3::S3Server::start().await;
    let app = spawn_app_with(db, |s| s.storage = Some(s3.bucket("left"))).await;
    let space = app.bare_space("Left").await;
    let addr = app.base.trim_start_matches("http://").to_string();
    // Small ones, and some past a part (8 MiB), which go up as multipart uploads.
    let small = "a,b\n1,2\n\r\n--XyZ--\r\n".to_string();
    let big = format!("a,b\n{}\r\n--XyZ--\r\n", "1,2\n".repeat(2_400_000));
    let closers = (0..66u64).map(|n| {
        let (addr, head) = (addr.clone(), upload_head(&app, &space, 0));
        let body = if n < 60 { small.clone() } else { big.clone() };
        async move {
            let head = head.replace("Content-Length: 0", "Content-Length: LEN");
            let part_start = head.find("\r\n\r\n").unwrap() + 4;
            let length = head.len() - part_start + body.len();
            let head = head.replace("LEN", &length.to_string());
            let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.write_all(body.as_bytes()).await.unwrap();
            stream.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(n % 30)).await;
            // Reset, as a client that is killed or times out leaves. (Deprecated because a
            // linger blocks the dropping thread; one of zero resets at once.)
            #[allow(deprecated)]
            stream.set_linger(Some(Duration::ZERO)).unwrap();
            drop(stream);
        }
    });
    futures_util::future::join_all(closers).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, list) = app.get_json("/files?pageSize=100&mode=export").await;
    for file in list["data"].as_array().unwrap() {
        let id = file["id"].as_str().unwrap();
        let resp = app
            .client
            .get(app.url(&format!("/v1/files/{id}/download")))
            .bearer_auth(&app.key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "file {id} has its bytes");
    }
    assert_eq!(s3.pending_parts(), 0, "no multipart upload is left open");
}

/// An extraction canceled before any worker took it leaves its file saying so, as one
/// canceled while running does; the file read `partial` for good.
async fn an_extraction_canceled_before_it_starts_says_so(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let space = app.bare_space("Canceled").await;
    let (status, body) = app.upload(&space, "people.csv", b"a,b\n1,2\n".to_vec()).await;
    assert_eq!(status, 200, "{body}");
    let id = body["data"]["id"].as_str().unwrap();
    let (_, jobs) = app.get_json(&format!("/jobs?fileId={id}")).await;
    let job = jobs["data"][0]["id"].as_str().unwrap();
    let (status, body) = app
        .post_json(&format!("/jobs/{job}/cancel"), &serde_json::json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, file) = app.get_json(&format!("/files/{id}")).await;
    assert_eq!(file["data"]["status"], "failed", "{file}");
    assert_eq!(file["data"]["message"], "the extraction was canceled", "{file}");
}

/// An extraction canceled at any moment of its run leaves its file saying so (`failed`,
/// "the extraction was canceled") or, canceled too late, extracted: never `analyzing` for
/// good (a cancel landing just after the file was marked left it so).
async fn extractions_canceled_at_any_moment_leave_their_file_ended(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Cancel at any moment").await;
    let mut csv = String::from("email,name\n");
    for i in 0..3_000 {
        csv.push_str(&format!("p{i}@x.org,Person {i}\n"));
    }
    for round in 0..12u64 {
        let (status, body) = app.upload(&space, "people.csv", csv.clone().into_bytes()).await;
        assert_eq!(status, 200, "{body}");
        let id = body["data"]["id"].as_str().unwrap().to_string();
        let (_, jobs) = app.get_json(&format!("/jobs?fileId={id}")).await;
        let job = jobs["data"][0]["id"].as_str().unwrap().to_string();
        tokio::time::sleep(Duration::from_millis(round * 7)).await;
        let (status, body) = app
            .post_json(&format!("/jobs/{job}/cancel"), &serde_json::json!({}))
            .await;
        let ended = app.wait_job(&job).await;
        // A running extraction marks its file when its worker notices the cancel.
        let mut file = Value::Null;
        for _ in 0..100 {
            file = app.get_json(&format!("/files/{id}")).await.1["data"].clone();
            // Canceled before a worker took it, the file is marked as the cancel is seen.
            let waiting = file["status"] == "analyzing"
                || (ended["status"] == "canceled" && file["status"] == "partial");
            if !waiting {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        match ended["status"].as_str() {
            Some("canceled") => {
                assert_eq!(status, 200, "{body}");
                assert_eq!(file["status"], "failed", "round {round}: {file}");
                assert_eq!(file["message"], "the extraction was canceled", "{file}");
            }
            _ => {
                assert_eq!(ended["status"], "complete", "{ended}");
                assert_eq!(file["status"], "complete", "round {round}: {file}");
            }
        }
    }
}

/// A body that trickles a byte now and then (never idle for the whole period) is stopped
/// too: it must send 64 KiB each period (a slow-loris client held its upload open for good).
async fn a_trickling_upload_is_answered_408(db: Db) {
    let app = spawn_app_with(db, |s| s.keep_alive_seconds = 1).await;
    let space = app.bare_space("Trickle").await;
    let mut stream = upload_started(&app, &space).await;
    let started = std::time::Instant::now();
    let mut answer = vec![0u8; 4096];
    let n = loop {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still open after 10 s"
        );
        stream.write_all(b"a").await.unwrap();
        match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut answer)).await {
            Ok(read) => break read.unwrap(),
            Err(_) => continue,
        }
    };
    let answer = String::from_utf8_lossy(&answer[..n]).to_string();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

/// A JSON body that stops arriving is answered 408 too (it held its connection for good,
/// with room for the length it promised).
async fn a_stalled_json_body_is_answered_408(db: Db) {
    let app = spawn_app_with(db, |s| s.keep_alive_seconds = 1).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/spaces HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 60000000\r\n\r\n{{\"name\": ",
        app.key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer while the connection is still open")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).to_string();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

on_both!(
    a_stalled_json_body_is_answered_408,
    a_trickling_upload_is_answered_408,
    an_extraction_canceled_before_it_starts_says_so,
    extractions_canceled_at_any_moment_leave_their_file_ended,
    a_stalled_upload_is_answered_408_and_leaves_nothing,
    a_client_that_leaves_after_sending_leaves_no_file_without_bytes,
);

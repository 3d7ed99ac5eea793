//! A crowd of slow clients on a bucket-backed process (probe 54a): uploads and downloads
//! each hold memory and a connection to the store, so a process lets a bounded number
//! through at once and answers the rest 503 with `Retry-After`; a download whose client
//! takes nothing for a while ends and gives its place back.

use crate::helpers::*;
use crate::on_both;
use crate::storage_s3::S3Server;
use serde_json::Value;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use wharf::settings::Crowds;

const BOUNDARY: &str = "wharfcrowd";

/// An upload that sends its form and the first 64 KiB of a file it says is 100 MB, then
/// nothing: the server holds its place while the connection stays open.
async fn held_upload(app: &TestApp, space: &str) -> tokio::net::TcpStream {
    let form = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"spaceId\"\r\n\r\n{space}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\nexport\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"held.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let address = app
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.expect("connect");
    let head = format!(
        "POST /v1/files HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 100000000\r\n\r\n{form}",
        app.key
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&[7u8; 64 * 1024]).await.expect("first bytes");
    stream
}

async fn small_upload(app: &TestApp, space: &str) -> (u16, Value, Option<String>) {
    let form = reqwest::multipart::Form::new()
        .text("spaceId", space.to_string())
        .text("mode", "export")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"a,b\n1,2\n".to_vec()).file_name("s.csv"),
        );
    let resp = app
        .api(reqwest::Method::POST, "/files")
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, resp.json().await.unwrap_or(Value::Null), retry)
}

async fn uploads_past_the_crowd_are_503_until_a_place_frees(db: Db) {
    let s3 = S3Server::start().await;
    let app = spawn_app_with(db, |s| {
        let mut bucket = s3.bucket("crowd-up");
        bucket.crowds = Crowds {
            uploads: 2,
            ..Crowds::default()
        };
        s.storage = Some(bucket);
    })
    .await;
    let space = app.bare_space("Crowd").await;
    // The server takes a place once it reads a file's first bytes; a held upload that
    // reached it while a small one had the place is refused, and is opened again.
    let mut held = vec![held_upload(&app, &space).await, held_upload(&app, &space).await];
    let mut answer = (0, Value::Null, None);
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        for h in held.iter_mut() {
            let mut peek = [0u8; 1];
            if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(10), h.peek(&mut peek)).await {
                *h = held_upload(&app, &space).await;
            }
        }
        answer = small_upload(&app, &space).await;
        if answer.0 == 503 {
            break;
        }
    }
    let (status, body, retry) = answer;
    assert_eq!(status, 503, "{body}");
    assert!(retry.is_some(), "Retry-After");
    assert!(
        body.to_string()
            .contains("2 uploads to the file storage are under way"),
        "{body}"
    );
    // A client that gives up gives its place back.
    drop(held);
    let mut status = 0;
    for _ in 0..50 {
        status = small_upload(&app, &space).await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "a place freed once the held uploads closed");
}

async fn unread_downloads_end_and_give_their_place_back(db: Db) {
    // Larger than the socket buffers on the way hold (see storage_s3's slow download).
    const SIZE: u32 = 100_000_000;
    let s3 = S3Server::start().await;
    let app = spawn_app_with(db, |s| {
        let mut bucket = s3.bucket("crowd-down");
        bucket.crowds = Crowds {
            downloads: 2,
            idle: Duration::from_secs(2),
            ..Crowds::default()
        };
        s.storage = Some(bucket);
    })
    .await;
    let space = app.bare_space("Crowd").await;
    let bytes: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name("big.bin");
    let form = reqwest::multipart::Form::new()
        .text("spaceId", space.clone())
        .text("mode", "export")
        .part("file", part);
    let (status, file) = send(app.api(reqwest::Method::POST, "/files").multipart(form)).await;
    assert_eq!(status, 200, "{file}");
    let path = format!("/files/{}/download", file["data"]["id"].as_str().unwrap());
    let get = || {
        reqwest::Client::new()
            .get(app.url(&format!("/v1{path}")))
            .bearer_auth(&app.key)
            .send()
    };
    let unread = [get().await.expect("first"), get().await.expect("second")];
    assert!(unread.iter().all(|r| r.status() == 200));
    let third = get().await.expect("third");
    assert_eq!(third.status(), 503);
    assert!(third.headers().contains_key("retry-after"));
    let said = third.text().await.unwrap();
    assert!(
        said.contains("2 downloads from the file storage are under way"),
        "{said}"
    );

    // Two seconds without taking anything: both reads end, their places go back, and a
    // download that reads arrives whole.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let whole = get().await.expect("fourth");
    assert_eq!(whole.status(), 200);
    assert!(
        whole.bytes().await.expect("body") == bytes,
        "the download differs"
    );
    for mut stalled in unread {
        let mut got = 0;
        while let Ok(Some(chunk)) = stalled.chunk().await {
            got += chunk.len();
        }
        assert!(got < SIZE as usize, "a stalled download was read on to its end");
    }
}

/// A file recorded under another name of the same bucket (another endpoint's spelling) is
/// asked of the store without holding the server's threads: with the store stalled, two
/// downloads of it left the process unable to answer `/health` for 27 s, and the Files tab
/// held a database connection per such file (probe 54a M1, M2). A store that does not
/// answer is not a bucket "this process does not use".
async fn a_stalled_store_holds_no_server_thread(db: Db) {
    let mut s3 = S3Server::start().await;
    let app = spawn_app_with(db, |s| s.storage = Some(s3.bucket("stall"))).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let space = app.bare_space("Stall").await;
    let file = app
        .upload_and_extract(&space, "a.csv", b"Email\na@x.org\n".to_vec())
        .await;
    let id = file["id"].as_str().unwrap().to_string();
    {
        use diesel::prelude::*;
        use wharf::db::schema::files;
        let mut conn = app.pool.get().expect("conn");
        diesel::update(files::table.find(&id))
            .set(files::held_by.eq(Some("s3://wharf-files/stall at http://s3.internal:9000")))
            .execute(&mut conn)
            .unwrap();
    }
    // Readable here after all: downloaded, and listed as any file.
    let (status, _) = send(app.api(reqwest::Method::GET, &format!("/files/{id}/download"))).await;
    assert_eq!(status, 200);
    let tab = app.page(&format!("/spaces/{space}/files")).await;
    assert!(!tab.contains("does not use"), "{tab}");

    // The store stalls: it takes connections and never answers.
    let port: u16 = s3.endpoint.rsplit(':').next().unwrap().parse().unwrap();
    s3.stop();
    let stalled = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the store's port");
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = stalled.accept().await {
            open.push(socket);
        }
    });
    let downloads: Vec<_> = (0..3)
        .map(|_| {
            let request = app.api(reqwest::Method::GET, &format!("/files/{id}/download"));
            tokio::spawn(async move { send(request).await })
        })
        .collect();
    let pages: Vec<_> = (0..8)
        .map(|_| {
            let request = app.client.get(app.url(&format!("/spaces/{space}/files")));
            tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = std::time::Instant::now();
    let (status, _) = send(app.api(reqwest::Method::GET, "/spaces")).await;
    assert_eq!(status, 200);
    let health = app.client.get(app.url("/health")).send().await.expect("health");
    assert_eq!(health.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered in {:?} beside downloads and pages waiting on the store",
        started.elapsed()
    );
    // The pages answer once their few seconds of asking are over, as any page.
    for page in pages {
        assert_eq!(page.await.unwrap().expect("page"), 200);
    }
    for d in downloads {
        d.abort();
    }
    held.abort();
}

/// One caller holds at most its share of the places, so one guest token cannot shut the
/// others out (probe 55a 1): the seventh upload of one caller waits for one of its own to
/// end, while another caller still uploads.
async fn one_caller_holds_only_its_share(db: Db) {
    let s3 = S3Server::start().await;
    let app = spawn_app_with(db, |s| s.storage = Some(s3.bucket("shares"))).await;
    let space = app.bare_space("Shares").await;
    let mut held = Vec::new();
    for _ in 0..wharf::web::caller_places::UPLOADS_EACH {
        held.push(held_upload(&app, &space).await);
    }
    let mut answer = (0, Value::Null, None);
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        answer = small_upload(&app, &space).await;
        if answer.0 == 503 {
            break;
        }
    }
    let (status, body, _) = answer;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.to_string().contains("you have 6 uploads under way"),
        "{body}"
    );
    // A guest of the space is another caller.
    let token = crate::job_helpers::guest_token(&app, &space).await;
    let (status, file) = crate::job_helpers::guest_upload(&app, &token, &space, b"a\n1\n").await;
    assert_eq!(status, 200, "another caller uploads: {file}");
    drop(held);
}

on_both!(
    one_caller_holds_only_its_share,
    a_stalled_store_holds_no_server_thread,
    uploads_past_the_crowd_are_503_until_a_place_frees,
    unread_downloads_end_and_give_their_place_back
);

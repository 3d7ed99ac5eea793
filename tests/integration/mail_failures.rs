//! Mail that does not go: a name that would break a header, a server that says nothing,
//! a server that refuses the address, an outbox folder that cannot be written, a waiting
//! invitation that fails; and an Outbox page that lists large messages quickly.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wharf::mail::{outbox, Mail, Mailer};
use wharf::model::mail_retry::{self, Target, Waiting};

/// A guest of a new space, made through the API: (guest id, space id).
async fn guest_in_space(app: &TestApp, email: &str, name: &str) -> (String, String) {
    let sid = app.bare_space("Onboarding").await;
    let (status, created) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id.as_str(), "email": email, "name": name,
                     "spaces": [{"id": sid}]}]),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    (created["data"][0]["id"].as_str().unwrap().to_string(), sid)
}

fn waiting(app: &TestApp) -> Vec<mail_retry::MailRetry> {
    let mut conn = app.pool.get().unwrap();
    mail_retry::all(&mut conn).unwrap()
}

async fn invite(app: &TestApp, gid: &str, sid: &str) -> (u16, Value) {
    app.post_json("/invitations", &json!([{"guestId": gid, "spaceId": sid}]))
        .await
}

#[tokio::test]
async fn a_name_with_a_line_break_stays_inside_the_to_header() {
    let (settings, _dir) = test_settings(Db::Sqlite);
    let mailer = Mailer::from_settings(&settings).expect("mailer");
    let mail = Mail {
        to: "ada@example.com".into(),
        to_name: Some("Ada\r\nBcc: victim@other.io".into()),
        subject: "Hello\nBcc: victim@other.io".into(),
        text: "Hi\n".into(),
    };
    mailer.send(&mail).await.expect("written, no panic");
    let dir = outbox::dir(&settings.data_dir);
    let name = outbox::list(&dir, 1).unwrap()[0].name.clone();
    let raw = String::from_utf8(std::fs::read(dir.join(name)).unwrap()).unwrap();
    let head = raw.split("\r\n\r\n").next().unwrap();
    assert!(
        !head.lines().any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
        "no header was smuggled in: {head}"
    );
    let read = outbox::parse(raw.as_bytes());
    assert!(read.to.contains("<ada@example.com>"), "{}", read.to);
}

/// Makes a guest's stored name or email what no page or API call accepts any more (as
/// rows written before they were checked).
fn corrupt(app: &TestApp, gid: &str, column: &str, value: &str) {
    use diesel::RunQueryDsl;
    let mut conn = app.pool.get().unwrap();
    diesel::sql_query(format!(
        "UPDATE guests SET {column} = '{value}' WHERE id = '{gid}'"
    ))
    .execute(&mut *conn)
    .unwrap();
}

fn queue(app: &TestApp, gid: &str, sid: &str, seconds_ago: i64) {
    let mut conn = app.pool.get().unwrap();
    mail_retry::queue(
        &mut conn,
        &Waiting {
            target: Target::Guest(
                wharf::ids::GuestId::parse(gid).unwrap(),
                wharf::ids::SpaceId::parse(sid).unwrap(),
            ),
            from_name: None,
            message: None,
            invited_by: "test".into(),
            error: "the mail server was down".into(),
            delay: chrono::TimeDelta::seconds(-seconds_ago),
            lifetime: chrono::TimeDelta::hours(24),
            permanent: false,
        },
    )
    .unwrap();
}

async fn one_failing_retry_does_not_stop_the_others(db: Db) {
    let app = spawn_app_with(db, |s| s.mail_retry_seconds = 1).await;
    let (broken_name, s1) = guest_in_space(&app, "ada@example.com", "Ada").await;
    let (bad_email, s2) = guest_in_space(&app, "bob@example.com", "Bob").await;
    let (fine, s3) = guest_in_space(&app, "cy@example.com", "Cy").await;
    corrupt(&app, &broken_name, "name", "Ada\nBcc: victim@other.io");
    corrupt(&app, &bad_email, "email", "not an address");
    // Oldest first: the one that used to panic is tried before the others.
    queue(&app, &broken_name, &s1, 30);
    queue(&app, &bad_email, &s2, 20);
    queue(&app, &fine, &s3, 10);

    let deadline = Instant::now() + Duration::from_secs(20);
    let dir = outbox::dir(&app.data_dir);
    loop {
        let sent = outbox::list(&dir, 10).unwrap_or_default();
        let left = waiting(&app);
        let settled = left.len() == 1 && left[0].permanent;
        if sent.len() == 2 && settled {
            assert!(sent.iter().any(|m| m.to.contains("cy@example.com")));
            assert!(sent.iter().any(|m| m.to.contains("ada@example.com")));
            assert!(left[0].last_error.contains("is not an email address"), "{left:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the retries did not all settle: sent {sent:?}, waiting {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The failed one is shown where waiting mail is shown, and not tried again.
    app.make_user("admin@example.com", true);
    app.sign_in("admin@example.com", PASSWORD).await;
    let tab = app.page(&format!("/spaces/{s2}?tab=guests")).await;
    assert!(
        tab.contains("Mail not sent") && tab.contains("not tried again"),
        "{tab}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(waiting(&app)[0].tries, 2, "no try after the permanent failure");
}

/// A server that accepts connections and never says a word.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

async fn a_server_that_says_nothing_times_out_and_the_invitation_waits(db: Db) {
    let port = silent_server();
    let app = spawn_app_with(db, move |s| {
        s.smtp_url = Some(format!("smtp://127.0.0.1:{port}?timeout=1"));
    })
    .await;
    let (gid, sid) = guest_in_space(&app, "ada@example.com", "Ada").await;
    let started = Instant::now();
    let (status, body) = tokio::time::timeout(Duration::from_secs(40), invite(&app, &gid, &sid))
        .await
        .expect("the invitation answers instead of hanging");
    assert_eq!(status, 502, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("no answer within 1 seconds"), "{message}");
    assert!(message.contains("tries again"), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let left = waiting(&app);
    assert_eq!(left.len(), 1, "the invitation waits for another try");
    assert!(!left[0].permanent);
}

/// A server that refuses every recipient for good (550); counts the refusals.
fn refusing_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let refused = Arc::new(AtomicUsize::new(0));
    let count = refused.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let count = count.clone();
            std::thread::spawn(move || converse(stream, &count));
        }
    });
    (port, refused)
}

fn converse(mut stream: TcpStream, refused: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let _ = stream.write_all(b"220 refuser ready\r\n");
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        let command = line.to_ascii_uppercase();
        let answer: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250 refuser\r\n"
        } else if command.starts_with("RCPT") {
            refused.fetch_add(1, Ordering::SeqCst);
            b"550 5.1.1 no such mailbox here\r\n"
        } else if command.starts_with("QUIT") {
            let _ = stream.write_all(b"221 bye\r\n");
            return;
        } else {
            b"250 ok\r\n"
        };
        if stream.write_all(answer).is_err() {
            return;
        }
        line.clear();
    }
}

async fn a_refused_address_is_said_so_and_not_retried(db: Db) {
    let (port, refused) = refusing_server();
    let app = spawn_app_with(db, move |s| {
        s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        s.mail_retry_seconds = 1;
    })
    .await;
    let (gid, sid) = guest_in_space(&app, "ada@example.com", "Ada").await;
    let (status, body) = invite(&app, &gid, &sid).await;
    assert_eq!(status, 502, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("address refused"), "{message}");
    assert!(message.contains("does not try again"), "{message}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(refused.load(Ordering::SeqCst), 1, "tried once, not again");
    let left = waiting(&app);
    assert!(left.len() == 1 && left[0].permanent, "{left:?}");
    assert!(
        left[0].describe().contains("address refused"),
        "{}",
        left[0].describe()
    );
}

async fn an_outbox_that_cannot_be_written_is_named_and_the_invitation_waits(db: Db) {
    let app = spawn_app(db).await;
    // A file where the folder should be: nothing can be written under it (the tests run
    // as root, which permissions would not stop).
    std::fs::write(outbox::dir(&app.data_dir), b"not a folder").unwrap();
    let (gid, sid) = guest_in_space(&app, "ada@example.com", "Ada").await;
    let (status, body) = invite(&app, &gid, &sid).await;
    assert_eq!(status, 502, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("the outbox folder") && message.contains("cannot be written"),
        "{message}"
    );
    assert_eq!(waiting(&app).len(), 1, "the invitation waits for another try");
}

async fn the_outbox_page_lists_large_messages_without_reading_them(db: Db) {
    let app = spawn_app(db).await;
    let dir = outbox::dir(&app.data_dir);
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..3 {
        let head = format!(
            "From: wharf@example.com\r\nTo: ada@example.com\r\nSubject: Big one {i}\r\n\
             Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n\r\n"
        );
        let path = dir.join(format!("20261130T10000{i}_000000Z-big{i}.eml"));
        let file = std::fs::File::create(&path).unwrap();
        (&file).write_all(head.as_bytes()).unwrap();
        // 200 MB of body, sparse on disk.
        file.set_len(200 * 1024 * 1024).unwrap();
    }
    app.make_user("admin@example.com", true);
    app.sign_in("admin@example.com", PASSWORD).await;
    let started = Instant::now();
    let page = app.page("/outbox").await;
    let took = started.elapsed();
    assert!((0..3).all(|i| page.contains(&format!("Big one {i}"))), "{page}");
    assert!(took < Duration::from_secs(1), "listing took {took:?}");
}

on_both!(
    one_failing_retry_does_not_stop_the_others,
    a_server_that_says_nothing_times_out_and_the_invitation_waits,
    a_refused_address_is_said_so_and_not_retried,
    an_outbox_that_cannot_be_written_is_named_and_the_invitation_waits,
    the_outbox_page_lists_large_messages_without_reading_them,
);

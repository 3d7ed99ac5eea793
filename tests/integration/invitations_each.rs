//! `POST /v1/invitations` with several guests when some mail does not go: every other
//! invitation is still tried (or waits for the retries), and the answer says which went and
//! why each other did not.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wharf::model::mail_retry;

on_both!(
    a_refused_address_stops_none_of_the_others,
    with_the_mail_server_down_every_invitation_waits,
);

/// A mail server refusing for good every recipient whose address starts with `bad`; keeps
/// the recipients it took.
fn picky_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let taken = Arc::new(Mutex::new(Vec::new()));
    let kept = taken.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let kept = kept.clone();
            std::thread::spawn(move || converse(stream, &kept));
        }
    });
    (port, taken)
}

fn converse(mut stream: TcpStream, taken: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let _ = stream.write_all(b"220 picky ready\r\n");
    let (mut line, mut in_data, mut to) = (String::new(), false, String::new());
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        let command = line.to_ascii_uppercase();
        let answer: &[u8] = if in_data {
            if line == ".\r\n" {
                in_data = false;
                taken.lock().unwrap().push(to.clone());
                b"250 queued\r\n"
            } else {
                b""
            }
        } else if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250 picky\r\n"
        } else if command.starts_with("RCPT") {
            to = line.trim().to_string();
            if command.contains("<BAD") {
                b"550 5.1.1 no such mailbox here\r\n"
            } else {
                b"250 ok\r\n"
            }
        } else if command.starts_with("DATA") {
            in_data = true;
            b"354 go on\r\n"
        } else if command.starts_with("QUIT") {
            let _ = stream.write_all(b"221 bye\r\n");
            return;
        } else {
            b"250 ok\r\n"
        };
        if !answer.is_empty() && stream.write_all(answer).is_err() {
            return;
        }
        line.clear();
    }
}

/// Three guests of one new space (`ok1`, `bad2`, `ok3` at example.com): the invitations'
/// body.
async fn three_guests(app: &TestApp) -> serde_json::Value {
    let sid = app.bare_space("Onboarding").await;
    let mut invitations = Vec::new();
    for who in ["ok1", "bad2", "ok3"] {
        let (status, created) = app
            .post_json(
                "/guests",
                &json!([{"environmentId": app.env_id.as_str(), "email": format!("{who}@example.com"),
                         "name": who, "spaces": [{"id": sid}]}]),
            )
            .await;
        assert_eq!(status, 200, "{created}");
        invitations.push(json!({"guestId": created["data"][0]["id"], "spaceId": sid}));
    }
    json!(invitations)
}

fn waiting(app: &TestApp) -> Vec<mail_retry::MailRetry> {
    let mut conn = app.pool.get().unwrap();
    mail_retry::all(&mut conn).unwrap()
}

async fn a_refused_address_stops_none_of_the_others(db: Db) {
    let (port, taken) = picky_server();
    let app = spawn_app_with(db, move |s| s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    let invitations = three_guests(&app).await;
    let (status, body) = app.post_json("/invitations", &invitations).await;
    assert_eq!(status, 502, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Sent to ok1@example.com, ok3@example.com. Not sent to bad2@example.com: address refused"
        ),
        "{message}"
    );
    let taken = taken.lock().unwrap().clone();
    assert_eq!(taken.len(), 2, "{taken:?}");
    assert!(taken[1].contains("ok3@example.com"), "{taken:?}");
    let left = waiting(&app);
    assert!(left.len() == 1 && left[0].permanent, "{left:?}");
}

async fn with_the_mail_server_down_every_invitation_waits(db: Db) {
    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(db, move |s| s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    let invitations = three_guests(&app).await;
    let started = Instant::now();
    let (status, body) = app.post_json("/invitations", &invitations).await;
    assert_eq!(status, 502, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("Not sent to ok1@example.com: the mail server")
            && message.contains("Not sent to bad2@example.com: not tried")
            && message.contains("Not sent to ok3@example.com: not tried")
            && message.contains("tries again in the background"),
        "{message}"
    );
    assert!(!message.contains("Sent to"), "{message}");
    // The later ones were not tried one by one against a server that is down.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let left = waiting(&app);
    assert_eq!(left.len(), 3, "all three wait for a retry: {left:?}");
    assert!(left.iter().all(|w| !w.permanent), "{left:?}");
}

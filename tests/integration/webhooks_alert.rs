//! A webhook whose deliveries all failed for five days is turned off and the admins who
//! have joined are told by mail (the outbox here); one a receiver turned off with `410
//! Gone` is turned off without a mail. The delivery worker runs alone on a database.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wharf::mail::outbox;

/// A receiver on 127.0.0.1 that answers every request with `status` and `body`; returns
/// its URL.
pub(crate) async fn answering(status: u16, body: &'static [u8]) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                // Read the whole request first (headers, then content-length bytes).
                let (mut buf, mut chunk) = (Vec::new(), [0u8; 8192]);
                loop {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break;
                    }
                }
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(&[head.as_bytes(), body].concat()).await;
            });
        }
    });
    url
}

async fn five_failing_days_turn_a_webhook_off_and_the_admins_are_told(db: Db) {
    use diesel::prelude::*;
    use wharf::db::schema::webhooks;
    use wharf::model::{event, user, webhook};
    let (settings, _dir) = test_settings(db);
    let pool = wharf::app::prepare_database(&settings).unwrap();
    let mut conn = pool.get().unwrap();
    let hash = wharf::auth::password::hash(PASSWORD).unwrap();
    user::create(&mut conn, "ops@example.com", &hash, true).unwrap();
    user::create(&mut conn, "member@example.com", &hash, false).unwrap();
    user::create_invited(&mut conn, "not-yet@example.com", &hash, true).unwrap();
    let env = wharf::model::environment::find_by_name(&mut conn, "development")
        .unwrap()
        .unwrap()
        .id;
    let failing_url = answering(500, b"no").await;
    let gone_url = answering(410, b"no").await;
    let failing = webhook::create(&mut conn, &env, &failing_url, &["**".to_string()], "CRM sync").unwrap();
    let gone = webhook::create(&mut conn, &env, &gone_url, &["**".to_string()], "").unwrap();
    // Failing for six days already: the next failure is past the five.
    let since = wharf::model::now() - chrono::TimeDelta::days(6);
    diesel::update(webhooks::table.find(&failing.id))
        .set(webhooks::failing_since.eq(Some(since)))
        .execute(&mut conn)
        .unwrap();
    // Three events: the failing webhook's three failures are noted in one batch, and still
    // turn it off (and tell the admins) once.
    for n in 0..3 {
        event::emit(
            &mut conn,
            &event::Context::new(&env, "test"),
            "space:updated",
            json!({ "n": n }),
        )
        .unwrap();
    }

    let running = wharf::workers::webhooks::start(wharf::workers::webhooks::Context {
        pool: pool.clone(),
        settings: settings.clone(),
        render: wharf::web::api::events::event_json,
        worker_id: "alone".into(),
        mail: std::sync::Arc::new(wharf::mail::Mailer::from_settings(&settings).unwrap()),
    })
    .unwrap();
    let dir = outbox::dir(&settings.data_dir);
    let mut mails = Vec::new();
    for _ in 0..150 {
        let mut off = |id| !webhook::find_any(&mut conn, id).unwrap().unwrap().enabled;
        if off(&failing.id) && off(&gone.id) {
            mails = outbox::list(&dir, 10).unwrap_or_default();
            if !mails.is_empty() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Time for a mail that should not come (for the 410, or to others).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails_now = outbox::list(&dir, 10).unwrap_or_default();
    drop(running);
    assert_eq!(
        mails.len(),
        1,
        "one mail, to the one admin who has joined: {mails:?}"
    );
    assert_eq!(mails_now.len(), 1, "no mail for the 410: {mails_now:?}");
    let mail = &mails[0];
    assert!(mail.to.contains("ops@example.com"), "{}", mail.to);
    assert!(mail.subject.contains(&failing_url), "{}", mail.subject);
    let body = &mail.body;
    for shown in [
        failing_url.as_str(),
        "CRM sync",
        "\"development\"",
        &since.format("%Y-%m-%d %H:%M").to_string(),
        &format!("http://127.0.0.1/webhooks/{}", failing.id),
        "the receiver answered 500",
        "410 Gone",
    ] {
        assert!(body.contains(shown), "the mail says {shown:?}: {body}");
    }
    assert!(!body.contains(&gone_url), "{body}");
    let reason = webhook::find_any(&mut conn, &gone.id)
        .unwrap()
        .unwrap()
        .disabled_reason;
    assert!(reason.unwrap_or_default().contains("410"));
}

on_both!(five_failing_days_turn_a_webhook_off_and_the_admins_are_told);

//! Mail: the SMTP path against a real local server, the outbox without one, and a server
//! that is down.

use crate::helpers::*;
use crate::on_both;
use crate::smtp::SmtpSink;
use std::time::Duration;
use wharf::mail::{outbox, Mail, MailError, Mailer};

fn invitation() -> Mail {
    Mail {
        to: "ada@example.com".into(),
        to_name: Some("Ada Lovelace".into()),
        subject: "You are invited — Acme".into(),
        text: "Zoë invited you.\n\nOpen http://127.0.0.1/guest-links/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ\n".into(),
    }
}

fn settings_with(smtp_url: Option<String>) -> (wharf::settings::Settings, tempfile::TempDir) {
    let (mut settings, dir) = test_settings(Db::Sqlite);
    settings.smtp_url = smtp_url;
    settings.mail_from = "Wharf Test <wharf@example.com>".into();
    (settings, dir)
}

#[tokio::test]
async fn smtp_delivers_to_a_real_server() {
    let sink = SmtpSink::start();
    let (settings, _dir) = settings_with(Some(sink.url()));
    let mailer = Mailer::from_settings(&settings).expect("mailer");
    assert!(!mailer.uses_outbox());
    mailer.send(&invitation()).await.expect("sent");
    let got = sink.wait_for(1).await;
    assert!(got.to.contains("<ada@example.com>"), "{}", got.to);
    assert_eq!(got.subject, "You are invited — Acme");
    assert!(got.body.contains("Zoë invited you."), "{}", got.body);
    assert!(
        got.body
            .contains("/guest-links/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"),
        "{}",
        got.body
    );
    assert!(
        !outbox::dir(&settings.data_dir).exists(),
        "nothing goes to the outbox when SMTP is set"
    );
}

#[tokio::test]
async fn a_server_that_is_down_is_retried_then_reported() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (settings, _dir) = settings_with(Some(format!("smtp://user:s3cret@127.0.0.1:{port}")));
    let mailer = Mailer::from_settings(&settings)
        .expect("mailer")
        .with_retry_delays(vec![Duration::from_millis(10), Duration::from_millis(10)]);
    let err = mailer.send(&invitation()).await.expect_err("nothing listens");
    let MailError::Smtp { tries, .. } = &err else {
        panic!("not an SMTP error: {err}")
    };
    assert_eq!(*tries, 3);
    let shown = wharf::web::error::AppError::from(err).to_string();
    assert!(shown.contains(&format!("127.0.0.1:{port}")), "{shown}");
    assert!(!shown.contains("s3cret"), "credentials never shown: {shown}");
    assert!(shown.contains("did not take the message (3 tries)"), "{shown}");
}

async fn without_smtp_mail_lands_in_the_outbox_page(db: Db) {
    let app = spawn_app(db).await;
    let settings = wharf::settings::Settings {
        data_dir: app.data_dir.clone(),
        mail_from: "Wharf Test <wharf@example.com>".into(),
        ..test_settings(Db::Sqlite).0
    };
    let mailer = Mailer::from_settings(&settings).expect("mailer");
    assert!(mailer.uses_outbox());
    mailer.send(&invitation()).await.expect("written");
    let files = outbox::list(&outbox::dir(&app.data_dir), 10).expect("outbox");
    assert_eq!(files.len(), 1);
    let raw = std::fs::read(outbox::dir(&app.data_dir).join(&files[0].name)).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("\r\nSubject: "), "an RFC 5322 message: {text}");
    assert!(
        text.contains("From: \"Wharf Test\" <wharf@example.com>"),
        "{text}"
    );

    app.make_user("admin@example.com", true);
    app.make_user("member@example.com", false);
    app.sign_in("member@example.com", PASSWORD).await;
    let resp = app.client.get(app.url("/outbox")).send().await.unwrap();
    assert_eq!(resp.status(), 403, "members do not read the outbox");

    let app = app.with_new_client();
    app.sign_in("admin@example.com", PASSWORD).await;
    let list = app.page("/outbox").await;
    assert!(list.contains("You are invited — Acme"), "{list}");
    let href = format!("/outbox/{}", files[0].name);
    assert!(list.contains(&href), "{list}");
    let one = app.page(&href).await;
    assert!(one.contains("Zoë invited you."), "{one}");
    let resp = app
        .client
        .get(app.url("/outbox/..%2Fwharf.db"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

on_both!(without_smtp_mail_lands_in_the_outbox_page);

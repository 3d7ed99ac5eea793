//! An invitation while the mail server is down: the person is told clearly, and the mail
//! is tried again until the server takes it, each invitation once.

use crate::guests::{link_path, status_of};
use crate::helpers::*;
use crate::on_both;
use crate::smtp::SmtpSink;
use serde_json::json;

async fn a_mail_server_that_is_down_fails_the_invitation_clearly_and_it_is_retried(db: Db) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(db, move |s| {
        s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        s.mail_retry_seconds = 1;
    })
    .await;
    app.make_user("admin@example.com", true);
    app.sign_in("admin@example.com", PASSWORD).await;
    let space = app.space_from_blueprint().await;
    let sid = space["id"].as_str().unwrap();
    let (_, created) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id.as_str(), "email": "g@x.io", "name": "G", "spaces": [{"id": sid}]}]),
        )
        .await;
    let gid = created["data"][0]["id"].as_str().unwrap();
    let (status, body) = app
        .post_json("/invitations", &json!([{"guestId": gid, "spaceId": sid}]))
        .await;
    assert_eq!(status, 502, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("127.0.0.1:{port}"))
            && message.contains("Nothing was sent yet")
            && message.contains("tries again"),
        "{message}"
    );
    assert!(
        !wharf::mail::outbox::dir(&app.data_dir).exists(),
        "no silent fallback"
    );
    // A team member invited meanwhile waits too.
    let csrf = app.csrf("/people").await;
    let resp = app
        .client
        .post(app.url("/people"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "bob@example.com"),
            ("role", "member"),
        ])
        .send()
        .await
        .unwrap();
    let people = resp.text().await.unwrap();
    assert!(
        people.contains("bob@example.com was added, but the invitation was not sent")
            && people.contains("tries again"),
        "{people}"
    );
    let tab = app.page(&format!("/spaces/{sid}?tab=guests")).await;
    assert!(
        tab.contains("Mail waiting: tried"),
        "the Guests tab shows it waiting: {tab}"
    );
    let people = app.page("/people").await;
    assert!(people.contains("Mail waiting: tried"), "{people}");
    assert!(
        people.contains("Send a new link"),
        "the person waiting for mail can be sent a new link: {people}"
    );

    // An invitation to a space archived while it waits is not sent (probe 49a F4).
    let closing = app.bare_space("Closing").await;
    let (_, later) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id.as_str(), "email": "late@x.io", "name": "L", "spaces": [{"id": closing}]}]),
        )
        .await;
    let late = later["data"][0]["id"].as_str().unwrap();
    let (status, _) = app
        .post_json("/invitations", &json!([{"guestId": late, "spaceId": closing}]))
        .await;
    assert_eq!(status, 502);
    let (status, body) = app
        .post_json(&format!("/spaces/{closing}/archive"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");

    // The server comes up: both invitations go, each with a link that works.
    let sink = SmtpSink::start_on(port);
    let limit = std::time::Duration::from_secs(30);
    let first = sink.wait_within(1, limit).await;
    let second = sink.wait_within(2, limit).await;
    let (guest_mail, member_mail) = if first.to.contains("g@x.io") {
        (first, second)
    } else {
        (second, first)
    };
    assert!(member_mail.to.contains("bob@example.com"), "{}", member_mail.to);
    assert!(member_mail.body.contains("/invites/"), "{}", member_mail.body);
    let guest = new_client();
    let opened = open_link(&guest, &app.url(&link_path(&guest_mail.body)), &[]).await;
    assert_eq!(opened.status().as_u16(), 303, "the retried link opens the space");
    assert_eq!(
        status_of(&guest, app.url(&format!("/guest/spaces/{sid}"))).await,
        200
    );
    let mut waiting = 1;
    for _ in 0..100 {
        let mut conn = app.pool.get().unwrap();
        waiting = wharf::model::mail_retry::all(&mut conn).unwrap().len();
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(waiting, 0, "nothing waits once sent");
    assert!(!app
        .page(&format!("/spaces/{sid}?tab=guests"))
        .await
        .contains("Mail waiting"));
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        sink.messages().len(),
        2,
        "each invitation went once, none to the archived space"
    );
}

on_both!(a_mail_server_that_is_down_fails_the_invitation_clearly_and_it_is_retried);

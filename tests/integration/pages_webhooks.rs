//! The dashboard's Webhooks page: admins add a webhook (its secret shown once), disable and
//! enable it, send a test and read the delivery log, send a delivery again, rotate the
//! secret and delete it; members, guests and forged forms are refused; values are escaped.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A tiny receiver on 127.0.0.1: answers 200 with a short text (holding `<b>`, which the
/// log must show as text), keeps the `webhook-id` and body of each delivery.
#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(String, String)>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        let r = Receiver {
            url,
            got: Arc::default(),
        };
        let me = r.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let me = me.clone();
                tokio::spawn(async move { me.serve(sock).await });
            }
        });
        r
    }

    async fn serve(&self, mut sock: tokio::net::TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
        let header = |name: &str| {
            head.lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim() == name)
                .map(|(_, v)| v.trim().to_string())
        };
        let len: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        while buf.len() < head_end + len {
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let Some(id) = header("webhook-id") else {
            return; // not a delivery (a stray request to a reused port)
        };
        let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
        self.got.lock().unwrap().push((id, body));
        let text = "ok <b>thanks</b>";
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
            text.len()
        );
        let _ = sock.write_all(answer.as_bytes()).await;
    }

    /// Waits until `n` deliveries came in (up to 30 s).
    async fn wait_for(&self, n: usize) -> Vec<(String, String)> {
        for _ in 0..300 {
            let got = self.got.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the receiver did not get {n} deliveries");
    }
}

async fn post_form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    app.client.post(app.url(path)).form(fields).send().await.unwrap()
}

/// The id of the (only) webhook the list page links to.
fn hook_id(html: &str) -> String {
    let start = html.find("href=\"/webhooks/us_wh_").expect("a webhook link") + 16;
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

/// Polls the delivery log page until `done` holds (up to 30 s).
async fn wait_log(app: &TestApp, id: &str, done: impl Fn(&str) -> bool) -> String {
    let mut html = String::new();
    for _ in 0..300 {
        html = app.page(&format!("/webhooks/{id}")).await;
        if done(&html) {
            return html;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the log never got there:\n{html}");
}

async fn admins_manage_webhooks_on_the_dashboard(db: Db) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let list = app.page("/webhooks").await;
    assert!(
        list.contains("href=\"/webhooks\" aria-current=\"page\">Webhooks</a>"),
        "{list}"
    );
    let token = app.csrf("/webhooks").await;

    // Bad input: the API's words, on the form, 422, nothing added.
    let bad = post_form(
        &app,
        "/webhooks",
        &[
            ("csrf_token", &token),
            ("url", "ftp://example.com/x"),
            ("topics", ""),
        ],
    )
    .await;
    assert_eq!(bad.status().as_u16(), 422);
    let html = bad.text().await.unwrap();
    assert!(
        html.contains("must start with http:// or https:// (not ftp:)"),
        "{html}"
    );
    assert!(
        html.contains("value=\"ftp://example.com/x\""),
        "the form keeps what was typed"
    );
    let bad = post_form(
        &app,
        "/webhooks",
        &[
            ("csrf_token", &token),
            ("url", &receiver.url),
            ("topics", "records:*, a b"),
        ],
    )
    .await;
    assert_eq!(bad.status().as_u16(), 422);
    assert!(bad
        .text()
        .await
        .unwrap()
        .contains("is not a topic: use names like"));
    assert!(app
        .page("/webhooks")
        .await
        .contains("No webhooks in this environment."));

    // Added, in the selected environment (the API sees it), its secret shown once.
    let added = post_form(
        &app,
        "/webhooks",
        &[
            ("csrf_token", &token),
            ("url", &receiver.url),
            ("topics", "records:*\njob:*"),
            ("description", "CRM <script>alert(1)</script>"),
        ],
    )
    .await;
    assert_eq!(added.status().as_u16(), 200);
    let html = added.text().await.unwrap();
    let start = html.find("<code id=\"new-secret\">").expect("the secret") + 22;
    let secret = html[start..start + html[start..].find('<').unwrap()].to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(html.contains("it will not be shown again"));
    assert!(
        html.contains("CRM &#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert(1)"), "escaped");
    let id = hook_id(&html);
    let (_, api) = app.get_json(&format!("/webhooks/{id}")).await;
    assert_eq!(api["data"]["topics"], json!(["records:*", "job:*"]), "{api}");
    assert_eq!(api["data"]["url"], receiver.url.as_str());
    let reload = app.page("/webhooks").await;
    assert!(
        !reload.contains(&secret) && !reload.contains("new-secret"),
        "shown once"
    );
    assert!(reload.contains("<code>records:*, job:*</code>"), "{reload}");
    // The same form sent again (a reload of the page that showed the secret, a double
    // click): refused, no second webhook to deliver every event twice.
    let again = post_form(
        &app,
        "/webhooks",
        &[
            ("csrf_token", &token),
            ("url", &receiver.url),
            ("topics", "job:*, records:*"),
            ("description", "CRM <script>alert(1)</script>"),
        ],
    )
    .await;
    let again = again.text().await.unwrap();
    assert!(
        again.contains("a webhook to this URL with these topics is already here"),
        "{again}"
    );
    let (_, listed) = app.get_json("/webhooks").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");

    // Disabled, then enabled again.
    let r = post_form(
        &app,
        &format!("/webhooks/{id}/disable"),
        &[("csrf_token", &token)],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, api) = app.get_json(&format!("/webhooks/{id}")).await;
    assert_eq!(api["data"]["enabled"], false);
    let page = app.page("/webhooks").await;
    assert!(
        page.contains(&format!("action=\"/webhooks/{id}/enable\"")),
        "{page}"
    );
    let refused = post_form(&app, &format!("/webhooks/{id}/test"), &[("csrf_token", &token)]).await;
    assert_eq!(refused.status().as_u16(), 422);
    assert!(refused.text().await.unwrap().contains("enable it to test it"));
    post_form(&app, &format!("/webhooks/{id}/enable"), &[("csrf_token", &token)]).await;
    let (_, api) = app.get_json(&format!("/webhooks/{id}")).await;
    assert_eq!(api["data"]["enabled"], true);

    // A test ping: delivered, and the log shows request and answer, escaped.
    let sent = post_form(&app, &format!("/webhooks/{id}/test"), &[("csrf_token", &token)]).await;
    assert_eq!(sent.status().as_u16(), 303);
    assert_eq!(sent.headers()["location"], format!("/webhooks/{id}").as_str());
    let got = receiver.wait_for(1).await;
    let (delivery, body) = got[0].clone();
    assert!(body.contains("webhook:test"), "{body}");
    let log = wait_log(&app, &id, |h| h.contains("delivered") && h.contains("thanks")).await;
    assert!(log.contains("<strong>webhook:test</strong>"), "{log}");
    assert!(log.contains(&format!("webhook-id: {delivery}")), "{log}");
    assert!(
        log.contains("ok &#60;b&#62;thanks&#60;/b&#62;"),
        "the answer, escaped: {log}"
    );
    assert!(
        log.contains("&#34;topic&#34;: &#34;webhook:test&#34;"),
        "the request: {log}"
    );
    assert!(log.contains("<td>200</td>"), "{log}");
    assert!(
        log.contains(&format!("action=\"/webhooks/{id}/test\"")),
        "Send test here too"
    );
    assert!(!log.contains(&secret));
    assert!(
        app.page("/webhooks").await.contains("delivered (HTTP 200)"),
        "the list shows the last delivery"
    );

    // Sent again: the same webhook-id, a second attempt in the log.
    let again = post_form(
        &app,
        &format!("/webhooks/{id}/deliveries/{delivery}/retry"),
        &[("csrf_token", &token)],
    )
    .await;
    assert_eq!(again.status().as_u16(), 303);
    let got = receiver.wait_for(2).await;
    assert_eq!(got[1].0, delivery, "the same webhook-id");
    wait_log(&app, &id, |h| h.contains("2 attempts")).await;

    // A new secret, shown once.
    let list = app.page("/webhooks").await;
    let at = list.find("name=\"shown\" value=\"").expect("the secret shown") + 20;
    let shown = list[at..at + list[at..].find('"').unwrap()].to_string();
    let rotate = async || {
        let fields = [("csrf_token", token.as_str()), ("shown", shown.as_str())];
        post_form(&app, &format!("/webhooks/{id}/rotate-secret"), &fields).await
    };
    let html = rotate().await.text().await.unwrap();
    let start = html.find("<code id=\"new-secret\">").expect("the new secret") + 22;
    let new_secret = &html[start..start + html[start..].find('<').unwrap()];
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    // Sent again from the same page (a reload): refused, the receiver's secret still signs
    // (probe 72b D9: a second rotate ended it at once).
    let again = rotate().await.text().await.unwrap();
    assert!(
        again.contains("the secret was rotated since this page was shown"),
        "{again}"
    );
    assert!(!again.contains("new-secret"), "{again}");

    // Deleted (the page asks first).
    assert!(html.contains(&format!(
        "action=\"/webhooks/{id}/delete\" data-confirm=\"Delete the webhook for {}",
        receiver.url
    )));
    let r = post_form(&app, &format!("/webhooks/{id}/delete"), &[("csrf_token", &token)]).await;
    assert_eq!(r.status().as_u16(), 303);
    let (status, _) = app.get_json(&format!("/webhooks/{id}")).await;
    assert_eq!(status, 404);
    assert!(app
        .page("/webhooks")
        .await
        .contains("No webhooks in this environment."));
}

async fn members_guests_and_forged_forms_are_refused(db: Db) {
    let app = spawn_app(db).await;
    let (_, hook) = app
        .post_json(
            "/webhooks",
            // Test pings only: the log's paging counts them.
            &json!({"url": "http://127.0.0.1:9/x", "topics": ["layer:created"], "description": "kept"}),
        )
        .await;
    let id = hook["data"]["id"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", true);
    app.make_user("max@example.com", false);

    // A member: no link, 403 on the page and on every form.
    app.sign_in("max@example.com", PASSWORD).await;
    assert!(!app.page("/spaces").await.contains("href=\"/webhooks\""));
    let member_token = app.csrf("/spaces").await;
    let page = app.client.get(app.url("/webhooks")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 403);
    let show = app
        .client
        .get(app.url(&format!("/webhooks/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(show.status().as_u16(), 403);
    let (_, _) = app.post_json(&format!("/webhooks/{id}/test"), &json!({})).await;
    let (_, log) = app.get_json(&format!("/webhooks/{id}/deliveries")).await;
    let delivery = log["data"][0]["id"].as_str().expect("a delivery").to_string();
    let retry = format!("deliveries/{delivery}/retry");
    for path in [
        "disable",
        "enable",
        "delete",
        "rotate-secret",
        "test",
        retry.as_str(),
    ] {
        let r = post_form(
            &app,
            &format!("/webhooks/{id}/{path}"),
            &[("csrf_token", &member_token)],
        )
        .await;
        assert_eq!(r.status().as_u16(), 403, "{path}");
    }
    let r = post_form(
        &app,
        "/webhooks",
        &[("csrf_token", &member_token), ("url", "http://127.0.0.1:9/y")],
    )
    .await;
    assert_eq!(r.status().as_u16(), 403);

    // A guest's session never reaches it.
    let space = app.space_from_blueprint().await;
    let sid = space["id"].as_str().unwrap();
    let (_, g) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id, "email": "g@x.io", "name": "G", "spaces": [{"id": sid}]}]),
        )
        .await;
    let gid = g["data"][0]["id"].as_str().unwrap();
    let (_, t) = app.get_json(&format!("/guests/{gid}/token?spaceId={sid}")).await;
    let guest = new_client();
    let link = app.url(&format!("/guest-links/{}", t["data"]["token"].as_str().unwrap()));
    assert_eq!(open_link(&guest, &link, &[]).await.status().as_u16(), 303);
    let r = guest.get(app.url("/webhooks")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/sign-in");

    // An admin's form without its token, or with another's, changes nothing.
    app.sign_in("ada@example.com", PASSWORD).await;
    let no_token = post_form(&app, &format!("/webhooks/{id}/disable"), &[]).await;
    assert_eq!(no_token.status().as_u16(), 403);
    let forged = post_form(
        &app,
        &format!("/webhooks/{id}/delete"),
        &[("csrf_token", &member_token)],
    )
    .await;
    assert_eq!(forged.status().as_u16(), 403);
    let r = post_form(&app, "/webhooks", &[("url", "http://127.0.0.1:9/z")]).await;
    assert_eq!(r.status().as_u16(), 403);
    let (_, api) = app.get_json(&format!("/webhooks/{id}")).await;
    assert_eq!(api["data"]["enabled"], true);
    let (_, all) = app.get_json("/webhooks").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 1, "{all}");
    assert!(app.page("/webhooks").await.contains("kept"));

    // The log comes 20 deliveries a page, newest first.
    for _ in 0..20 {
        let (st, b) = app.post_json(&format!("/webhooks/{id}/test"), &json!({})).await;
        assert_eq!(st, 200, "{b}");
    }
    let first = app.page(&format!("/webhooks/{id}")).await;
    assert_eq!(first.matches("Send again</button>").count(), 20);
    assert!(
        first.contains(&format!("href=\"/webhooks/{id}?page=2\">Older")),
        "{first}"
    );
    assert!(!first.contains(&delivery), "the oldest is on page 2");
    let second = app.page(&format!("/webhooks/{id}?page=2")).await;
    assert_eq!(second.matches("Send again</button>").count(), 1);
    assert!(second.contains(&format!("webhook-id: {delivery}")), "{second}");
    assert!(second.contains(&format!("href=\"/webhooks/{id}?page=1\">← Newer")));
    assert!(!second.contains("Older"));
}

on_both!(
    admins_manage_webhooks_on_the_dashboard,
    members_guests_and_forged_forms_are_refused
);

//! Who may manage webhooks (secret keys of their environment only), the URLs and topics
//! refused when a webhook is made, and private addresses under `WHARF_WEBHOOK_PRIVATE=deny`.

use crate::helpers::*;
use crate::on_both;
use crate::webhooks::{create_hook, wait_delivery, Receiver};
use serde_json::json;

async fn only_secret_keys_manage_webhooks_and_urls_are_checked(db: Db) {
    let app = spawn_app(db).await;
    let hook = create_hook(&app, "https://example.com/hook", None).await;
    let id = hook["id"].as_str().unwrap();

    // A guest token.
    let sid = app.bare_space("Guests here").await;
    let (_, g) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id, "email": "g@x.io", "name": "G", "spaces": [{"id": sid}]}]),
        )
        .await;
    let gid = g["data"][0]["id"].as_str().unwrap();
    let (_, token) = app.get_json(&format!("/guests/{gid}/token?spaceId={sid}")).await;
    let token = token["data"]["token"].as_str().unwrap();
    // A team member signed in (not an admin), and a signed-in admin: sessions are not keys.
    app.make_user("member@example.com", false);
    app.make_user("admin@example.com", true);
    let member = app.clone_with_new_client();
    assert_eq!(
        member
            .sign_in("member@example.com", PASSWORD)
            .await
            .status()
            .as_u16(),
        303
    );
    let admin = app.clone_with_new_client();
    assert_eq!(
        admin
            .sign_in("admin@example.com", PASSWORD)
            .await
            .status()
            .as_u16(),
        303
    );
    for path in ["/v1/webhooks".to_string(), format!("/v1/webhooks/{id}")] {
        let as_guest = app
            .client
            .get(app.url(&path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(matches!(as_guest.status().as_u16(), 403 | 404), "{path}");
        for b in [&member, &admin] {
            let r = b.client.get(app.url(&path)).send().await.unwrap();
            assert!(matches!(r.status().as_u16(), 401 | 404), "{path}");
        }
    }
    let made = app
        .client
        .post(app.url("/v1/webhooks"))
        .bearer_auth(token)
        .json(&json!({"url": "https://evil.example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status().as_u16(), 403);

    // A key of another environment sees none of it.
    let prod_key = app.production_key();
    let r = app
        .client
        .get(app.url(&format!("/v1/webhooks/{id}")))
        .bearer_auth(&prod_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);

    // URLs and topics that cannot work are refused with a message, nothing made.
    for (url, words) in [
        ("ftp://example.com/x", "http://"),
        ("not a url", "not a URL"),
        ("http://169.254.169.254/latest", "cannot reach"),
        ("https://user:pw@example.com/", "password"),
        ("https://example.com:0/hook", "port 0"),
    ] {
        let (status, body) = app.post_json("/webhooks", &json!({"url": url})).await;
        assert_eq!(status, 422, "{url}: {body}");
        assert!(
            body["errors"][0]["message"].as_str().unwrap().contains(words),
            "{body}"
        );
    }
    for topic in ["bad topic", "records:craeted", "jobs:*"] {
        let (status, body) = app
            .post_json(
                "/webhooks",
                &json!({"url": "https://example.com", "topics": [topic]}),
            )
            .await;
        assert_eq!(status, 422, "{topic}: {body}");
        assert!(body.to_string().contains(topic), "{body}");
    }
    // No topic at all: only a Submit's receiver (with a slug) hears nothing.
    let quiet = json!({"url": "https://example.com/quiet", "topics": []});
    let (status, body) = app.post_json("/webhooks", &quiet).await;
    assert_eq!(status, 422, "{body}");
    let quiet = json!({"url": "https://example.com/quiet", "topics": [], "slug": "quiet-crm"});
    let (status, body) = app.post_json("/webhooks", &quiet).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["topics"], json!([]), "{body}");
    let quiet_id = body["data"]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .patch_json(&format!("/webhooks/{quiet_id}"), &json!({"slug": ""}))
        .await;
    assert_eq!(status, 422, "its slug stays while it hears nothing: {body}");
    app.delete(&format!("/webhooks/{quiet_id}")).await;
    let (status, _) = app
        .patch_json(&format!("/webhooks/{id}"), &json!({"url": "gopher://x"}))
        .await;
    assert_eq!(status, 422);
    let (_, all) = app.get_json("/webhooks").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 1);
    assert_eq!(all["data"][0]["url"], "https://example.com/hook");
    let (status, _) = app.delete(&format!("/webhooks/{id}")).await;
    assert_eq!(status, 200);
    let (status, _) = app.get_json(&format!("/webhooks/{id}")).await;
    assert_eq!(status, 404);
}

async fn private_addresses_are_refused_unless_allowed(db: Db) {
    let app = spawn_app_with(db, |s| s.webhook_private = false).await;
    let receiver = Receiver::start().await;
    // An address written in the URL is refused when the webhook is made (probe 46a L7).
    for url in [
        receiver.url.clone(),
        receiver.url.replace("127.0.0.1", "localhost"),
        "http://10.0.0.1/h".into(),
    ] {
        let body = json!({"environmentId": app.env_id, "url": url});
        let (status, refused) = app.post_json("/webhooks", &body).await;
        assert_eq!(status, 422, "{url}: {refused}");
        assert!(
            refused.to_string().contains("WHARF_WEBHOOK_PRIVATE=allow"),
            "{refused}"
        );
    }
    // One made before the setting changed (or a name that resolves to such an address) is
    // refused at each delivery.
    let made = |url: &str| {
        let mut conn = app.pool.get().unwrap();
        wharf::model::webhook::create(&mut conn, &app.env_id, url, &["**".to_string()], "")
            .unwrap()
            .id
            .to_string()
    };
    let id = made(&receiver.url);
    let id = id.as_str();
    app.post_json(&format!("/webhooks/{id}/test"), &json!({})).await;
    let d = wait_delivery(&app, id, |d| d["attempts"] == 1).await;
    let error = d["lastError"].as_str().unwrap();
    assert!(
        error.contains("refused") && error.contains("127.0.0.1") && error.contains("loopback or private"),
        "{error}"
    );
    assert!(error.contains("WHARF_WEBHOOK_PRIVATE"), "{error}");
    assert_eq!(d["status"], "pending", "tried again later");
    // The same by name: the check is on the resolved address.
    let by_name = made(&receiver.url.replace("127.0.0.1", "localhost"));
    let id = by_name.as_str();
    app.post_json(&format!("/webhooks/{id}/test"), &json!({})).await;
    let d = wait_delivery(&app, id, |d| d["attempts"] == 1).await;
    let error = d["lastError"].as_str().unwrap();
    assert!(
        error.contains("refused: `localhost`") && error.contains("loopback or private"),
        "{error}"
    );
    assert!(receiver.got().is_empty());
}

on_both!(
    only_secret_keys_manage_webhooks_and_urls_are_checked,
    private_addresses_are_refused_unless_allowed,
);

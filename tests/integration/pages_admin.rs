//! What admins manage on the Environments page.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;
use wharf::model::{api_key, environment};

async fn post_delete(app: &TestApp, env: &str, token: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/environments/{env}/delete")))
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap()
}

async fn admins_delete_an_environment_once_it_holds_no_spaces(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.make_user("max@example.com", false);
    let (staging, staging_key) = {
        let mut conn = app.pool.get().unwrap();
        let env = environment::create(&mut conn, "staging", false, "{}", None).unwrap();
        let (_, key) = api_key::create(&mut conn, &env.id).unwrap();
        (env.id.to_string(), key)
    };
    let in_staging = |method, path: &str| {
        app.client
            .request(method, app.url(&format!("/v1{path}")))
            .bearer_auth(&staging_key)
    };
    let (status, space) =
        send(in_staging(reqwest::Method::POST, "/spaces").json(&json!({"name": "Pilot"}))).await;
    assert_eq!(status, 200, "{space}");
    let space_id = space["data"]["id"].as_str().unwrap().to_string();

    // A member cannot, even with a valid token.
    app.sign_in("max@example.com", PASSWORD).await;
    let member_token = app.csrf("/spaces").await;
    assert_eq!(
        post_delete(&app, &staging, &member_token).await.status().as_u16(),
        403
    );

    app.sign_in("ada@example.com", PASSWORD).await;
    let page = app.page("/environments").await;
    assert!(
        page.contains(&format!("action=\"/environments/{staging}/delete\""))
            && page.contains(
                "data-confirm=\"Delete the environment “staging” with its API keys, space configs and guests?"
            ),
        "{page}"
    );
    let token = app.csrf("/environments").await;
    assert_eq!(post_delete(&app, &staging, "forged").await.status().as_u16(), 403);
    // Revoking a key that never was is not reported done.
    let unknown = app
        .client
        .post(app.url("/keys/us_key_nonexist/revoke"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);

    // Refused while it holds a space (archived or not), with the reason on the page.
    send(in_staging(
        reqwest::Method::POST,
        &format!("/spaces/{space_id}/archive"),
    ))
    .await;
    let refused = post_delete(&app, &staging, &token).await;
    assert_eq!(refused.status().as_u16(), 422);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("“staging” still holds 1 space (archived ones count too); delete it first")
            && html.contains("on the Spaces page"),
        "{html}"
    );
    let (status, _) = send(in_staging(reqwest::Method::GET, "/spaces")).await;
    assert_eq!(status, 200, "nothing was deleted");

    // What the API says about it is true.
    let (status, err) = send(in_staging(
        reqwest::Method::DELETE,
        &format!("/environments/{staging}"),
    ))
    .await;
    assert_eq!(status, 409);
    assert!(
        err["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("an admin can delete it on the dashboard's Environments page once it holds no spaces"),
        "{err}"
    );

    // Without spaces, but with a webhook and a secret: refused, naming them.
    let (status, _) = send(in_staging(
        reqwest::Method::DELETE,
        &format!("/spaces/{space_id}"),
    ))
    .await;
    assert_eq!(status, 200);
    let hook = json!({"url": "https://example.com/hook", "topics": ["**"]});
    let (status, hook) = send(in_staging(reqwest::Method::POST, "/webhooks").json(&hook)).await;
    assert_eq!(status, 200, "{hook}");
    let secret = json!({"name": "CRM_TOKEN", "value": "s3cret"});
    let (status, secret) = send(in_staging(reqwest::Method::POST, "/secrets").json(&secret)).await;
    assert_eq!(status, 200, "{secret}");
    let refused = post_delete(&app, &staging, &token).await;
    assert_eq!(refused.status().as_u16(), 422);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("“staging” still has 1 webhook and 1 secret, which cannot be recovered once deleted"),
        "{html}"
    );
    for path in [
        format!("/webhooks/{}", hook["data"]["id"].as_str().unwrap()),
        format!("/secrets/{}", secret["data"][0]["id"].as_str().unwrap()),
    ] {
        let (status, body) = send(in_staging(reqwest::Method::DELETE, &path)).await;
        assert_eq!(status, 200, "{path}: {body}");
    }

    // Empty, it goes, with its keys.
    let deleted = post_delete(&app, &staging, &token).await;
    assert_eq!(deleted.status().as_u16(), 303);
    assert!(!app.page("/environments").await.contains(&staging));
    let (status, _) = send(in_staging(reqwest::Method::GET, "/spaces")).await;
    assert_eq!(status, 401, "its keys went with it");

    // The last environment stays.
    let production = {
        let mut conn = app.pool.get().unwrap();
        environment::find_by_name(&mut conn, "production")
            .unwrap()
            .unwrap()
            .id
            .to_string()
    };
    assert_eq!(
        post_delete(&app, &production, &token).await.status().as_u16(),
        303
    );
    let last = post_delete(&app, app.env_id.as_ref(), &token).await;
    assert_eq!(last.status().as_u16(), 422);
    assert!(last
        .text()
        .await
        .unwrap()
        .contains("“development” is the only environment and Wharf needs one"));
    assert_eq!(
        app.client
            .get(app.url("/spaces"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
}

on_both!(admins_delete_an_environment_once_it_holds_no_spaces);

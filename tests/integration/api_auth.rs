use crate::helpers::*;
use crate::on_both;
use wharf::model::{api_key, environment};

async fn requests_without_a_live_key_are_refused(db: Db) {
    let app = spawn_app(db).await;
    let resp = app.client.get(app.url("/v1/spaces")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("Bearer"));

    let resp = app
        .client
        .get(app.url("/v1/spaces"))
        .bearer_auth("sk_not_a_real_key")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);

    // A revoked key stops working at once.
    let (key, secret) = {
        let mut conn = app.pool.get().unwrap();
        api_key::create(&mut conn, &app.env_id).unwrap()
    };
    let ok = app
        .client
        .get(app.url("/v1/spaces"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    // Two keys in one request: refused, not the first taken and the second ignored.
    let two = app
        .api(reqwest::Method::GET, "/spaces")
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(two.status().as_u16(), 400);
    let said = two.text().await.unwrap();
    assert!(said.contains("two Authorization headers"), "{said}");
    api_key::revoke(&mut app.pool.get().unwrap(), &key.id).unwrap();
    let resp = app
        .client
        .get(app.url("/v1/spaces"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

/// A caller nobody knows is refused before its body is read: a malformed body with a bad
/// key is a 401 (not the body's 400), and a body declared huge but never sent is answered at
/// once, while the same request with a live key waits for the body it was promised.
async fn an_unknown_key_is_refused_before_the_body_is_read(db: Db) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let path = format!("/v1/sheets/{sheet}/records");
    let resp = app
        .client
        .post(app.url(&path))
        .bearer_auth("sk_not_a_real_key")
        .header("content-type", "application/json")
        .body("[{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let addr = app.base.trim_start_matches("http://").to_string();
    let promise = |key: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
             Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n[",
        )
    };
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(promise("sk_not_a_real_key").as_bytes())
        .await
        .unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("answered without the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream.write_all(promise(&app.key).as_bytes()).await.unwrap();
    let mut more = vec![0u8; 4096];
    let waited = tokio::time::timeout(std::time::Duration::from_secs(2), stream.read(&mut more)).await;
    assert!(waited.is_err(), "a live key's request waits for its body");
    assert!(app.sheet_rows(&sheet).await.is_empty());
}

async fn keys_are_stored_hashed(db: Db) {
    let app = spawn_app(db).await;
    let mut conn = app.pool.get().unwrap();
    let keys = api_key::list(&mut conn, &app.env_id).unwrap();
    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0].secret_hash, app.key);
    assert!(!keys[0].secret_hash.contains(&app.key[3..]));
    assert_eq!(keys[0].secret_hash.len(), 64);
}

async fn another_environments_objects_are_not_found(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let other_key = {
        let mut conn = app.pool.get().unwrap();
        let prod = environment::find_by_name(&mut conn, "production")
            .unwrap()
            .unwrap();
        api_key::create(&mut conn, &prod.id).unwrap().1
    };
    let space_id = space["id"].as_str().unwrap();
    for path in [
        format!("/v1/spaces/{space_id}"),
        format!("/v1/sheets/{sheet}/records"),
        format!("/v1/sheets/{sheet}"),
    ] {
        let resp = app
            .client
            .get(app.url(&path))
            .bearer_auth(&other_key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path}");
    }
    let resp = app
        .client
        .get(app.url("/v1/spaces"))
        .bearer_auth(&other_key)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 0);
    // Writing into another environment's sheet is refused the same way, and changes nothing.
    let resp = app
        .client
        .post(app.url(&format!("/v1/sheets/{sheet}/records")))
        .bearer_auth(&other_key)
        .json(&serde_json::json!([{"email": {"value": "x@y.z"}}]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 0);
}

async fn a_key_cannot_change_an_environment_that_holds_data(db: Db) {
    let app = spawn_app(db).await;
    let (_, envs) = app.get_json("/environments").await;
    let prod = envs["data"][1]["id"].as_str().unwrap().to_string();
    {
        let mut conn = app.pool.get().unwrap();
        api_key::create(&mut conn, &wharf::ids::EnvironmentId(prod.clone())).unwrap();
    }
    let (status, body) = app.delete(&format!("/environments/{prod}")).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = app
        .patch_json(
            &format!("/environments/{prod}"),
            &serde_json::json!({"name": "gone"}),
        )
        .await;
    assert_eq!(status, 403);
    let (_, still) = app.get_json(&format!("/environments/{prod}")).await;
    assert_eq!(still["data"]["name"], "production");
    let (status, _) = app.delete(&format!("/environments/{}", app.env_id)).await;
    assert_eq!(status, 409, "not its own environment either");
    let (_, created) = app
        .post_json("/environments", &serde_json::json!({"name": "scratch"}))
        .await;
    let (status, _) = app
        .delete(&format!(
            "/environments/{}",
            created["data"]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200, "an empty environment it just made is fine");
}

/// A key of one environment cannot rename or delete another that holds no space or key but
/// does hold what an admin set up (a deployed space config, a webhook), nor an empty one it
/// did not create; one it created itself only while that holds nothing.
async fn a_key_manages_only_environments_it_created_and_left_empty(db: Db) {
    let app = spawn_app(db).await;
    let (_, envs) = app.get_json("/environments").await;
    let prod = envs["data"][1]["id"].as_str().unwrap().to_string();
    // The default production environment holds nothing yet, but this key did not make it.
    let (status, body) = app
        .patch_json(
            &format!("/environments/{prod}"),
            &serde_json::json!({"name": "mine"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("its own environment"));
    let (status, _) = app.delete(&format!("/environments/{prod}")).await;
    assert_eq!(status, 403);
    // An admin deploys a space config and sets a webhook into production.
    {
        let mut conn = app.pool.get().unwrap();
        let env = wharf::ids::EnvironmentId(prod.clone());
        wharf::model::space_config::deploy(&mut conn, &env, &contacts_blueprint()).unwrap();
    }
    let prod_key = app.production_key();
    let (status, _) = send(
        app.client
            .post(app.url("/v1/webhooks"))
            .bearer_auth(&prod_key)
            .json(&serde_json::json!({"environmentId": prod, "url": "https://example.com/hook", "topics": ["space:created"]})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = app.delete(&format!("/environments/{prod}")).await;
    assert_eq!(status, 403);
    let (_, still) = app.get_json(&format!("/environments/{prod}")).await;
    assert_eq!(still["data"]["name"], "production");
    let (_, configs) = send(
        app.client
            .get(app.url("/v1/space-configs"))
            .bearer_auth(&prod_key),
    )
    .await;
    assert_eq!(configs["data"].as_array().unwrap().len(), 1, "{configs}");
    // One it created: renamed while empty; once it holds a space config, no longer.
    let (_, created) = app
        .post_json("/environments", &serde_json::json!({"name": "scratch"}))
        .await;
    let scratch = created["data"]["id"].as_str().unwrap().to_string();
    let (status, renamed) = app
        .patch_json(
            &format!("/environments/{scratch}"),
            &serde_json::json!({"name": "scratch-2"}),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (200, Some("scratch-2")),
        "{renamed}"
    );
    {
        let mut conn = app.pool.get().unwrap();
        let env = wharf::ids::EnvironmentId(scratch.clone());
        wharf::model::space_config::deploy(&mut conn, &env, &contacts_blueprint()).unwrap();
    }
    let (status, _) = app.delete(&format!("/environments/{scratch}")).await;
    assert_eq!(status, 403);
    // Another key of this environment did not create it either.
    let (_, other) = app
        .post_json("/environments", &serde_json::json!({"name": "scratch-3"}))
        .await;
    let other_key = {
        let mut conn = app.pool.get().unwrap();
        api_key::create(&mut conn, &app.env_id).unwrap().1
    };
    let other_id = other["data"]["id"].as_str().unwrap();
    let (status, _) = send(
        app.client
            .delete(app.url(&format!("/v1/environments/{other_id}")))
            .bearer_auth(&other_key),
    )
    .await;
    assert_eq!(status, 403);
}

on_both!(
    an_unknown_key_is_refused_before_the_body_is_read,
    a_key_manages_only_environments_it_created_and_left_empty,
    a_key_cannot_change_an_environment_that_holds_data,
    requests_without_a_live_key_are_refused,
    keys_are_stored_hashed,
    another_environments_objects_are_not_found
);

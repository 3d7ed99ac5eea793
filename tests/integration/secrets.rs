//! `GET/POST/DELETE /v1/secrets`, as `event.secrets(name)` reads them: environment and
//! space scopes, replacing by name, secret keys only, values kept out of events.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

fn named(list: &Value, name: &str) -> Option<String> {
    list["data"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|s| s["name"] == name)
        .map(|s| s["value"].as_str().unwrap().to_string())
}

async fn secrets_by_environment_and_space(db: Db) {
    let app = spawn_app(db).await;
    let sid = app.bare_space("Acme").await;
    let env = app.env_id.to_string();
    let (status, body) = app
        .post_json(
            "/secrets",
            &json!({"name": "CRM_TOKEN", "value": "env-value", "environmentId": env}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(named(&body, "CRM_TOKEN").as_deref(), Some("env-value"));
    let (status, body) = app
        .post_json(
            "/secrets",
            &json!({"name": "CRM_TOKEN", "value": "space-value", "environmentId": env, "spaceId": sid}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.post_json(
        "/secrets",
        &json!({"name": "OTHER", "value": "x", "environmentId": env}),
    )
    .await;

    // What the listener asks: environmentId and spaceId; the space's value stands first.
    let (_, in_space) = app
        .get_json(&format!("/secrets?environmentId={env}&spaceId={sid}"))
        .await;
    assert_eq!(named(&in_space, "CRM_TOKEN").as_deref(), Some("space-value"));
    assert_eq!(named(&in_space, "OTHER").as_deref(), Some("x"));
    assert_eq!(in_space["data"].as_array().unwrap().len(), 2, "{in_space}");
    let (_, env_only) = app.get_json(&format!("/secrets?environmentId={env}")).await;
    assert_eq!(named(&env_only, "CRM_TOKEN").as_deref(), Some("env-value"));

    // Setting a name again replaces its value; deleting the space's brings back the other.
    app.post_json(
        "/secrets",
        &json!({"name": "CRM_TOKEN", "value": "rotated", "environmentId": env}),
    )
    .await;
    let (_, env_only) = app.get_json("/secrets").await;
    assert_eq!(named(&env_only, "CRM_TOKEN").as_deref(), Some("rotated"));
    let space_secret = in_space["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "CRM_TOKEN")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = app.delete(&format!("/secrets/{space_secret}")).await;
    assert_eq!(status, 200);
    let (_, in_space) = app.get_json(&format!("/secrets?spaceId={sid}")).await;
    assert_eq!(named(&in_space, "CRM_TOKEN").as_deref(), Some("rotated"));
    let (status, _) = app.delete(&format!("/secrets/{space_secret}")).await;
    assert_eq!(status, 404);

    // Values appear in no event.
    let (_, events) = app
        .get_json("/events?pageSize=1000&includeAcknowledged=true")
        .await;
    let text = events.to_string();
    assert!(!text.contains("env-value") && !text.contains("rotated"), "{text}");
    // Listener code that keeps secrets hears of each change (probe 48b 7): three made
    // (one in the space), the environment's CRM_TOKEN set again, the space's deleted.
    let said: Vec<(String, String, Value)> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["topic"].as_str().unwrap().starts_with("secret:"))
        .map(|e| {
            let topic = e["topic"].as_str().unwrap().to_string();
            let name = e["payload"]["name"].as_str().unwrap().to_string();
            (topic, name, e["context"]["spaceId"].clone())
        })
        .collect();
    let no_space = Value::Null;
    let in_sid = json!(sid);
    assert_eq!(
        said,
        [
            ("secret:created".into(), "CRM_TOKEN".into(), no_space.clone()),
            ("secret:created".into(), "CRM_TOKEN".into(), in_sid.clone()),
            ("secret:created".into(), "OTHER".into(), no_space.clone()),
            ("secret:updated".into(), "CRM_TOKEN".into(), no_space),
            ("secret:deleted".into(), "CRM_TOKEN".into(), in_sid),
        ],
        "{text}"
    );
}

async fn secrets_refuse_bad_input_and_other_callers(db: Db) {
    let app = spawn_app(db).await;
    for (body, key) in [
        (json!({"name": "A\nB", "value": "v"}), "name"),
        (json!({"name": " ", "value": "v"}), "name"),
        (json!({"name": "A", "value": ""}), "value"),
        (json!({"name": "A", "value": "x".repeat(70_000)}), "value"),
        // An actor's secret would be the whole environment's (probe 45b M1).
        (
            json!({"name": "A", "value": "v", "actorId": "us_usr_alice"}),
            "actorId",
        ),
    ] {
        let (status, resp) = app.post_json("/secrets", &body).await;
        assert_eq!(status, 422, "{resp}");
        assert!(resp.to_string().contains(key), "{resp}");
    }
    let (_, list) = app.get_json("/secrets").await;
    assert_eq!(list["data"], json!([]), "nothing kept");
    // A read naming an actor, as `event.secrets()` sends one, reads the environment's.
    app.post_json("/secrets", &json!({"name": "TOKEN", "value": "env-token"}))
        .await;
    let (status, resp) = app.get_json("/secrets?actorId=us_key_abcdefgh").await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["data"][0]["name"], "TOKEN", "{resp}");
    app.delete(&format!("/secrets/{}", resp["data"][0]["id"].as_str().unwrap()))
        .await;

    // Another environment's space, and another environment's key.
    let prod_key = app.production_key();
    let sid = app.bare_space("Mine").await;
    app.post_json("/secrets", &json!({"name": "T", "value": "v", "spaceId": sid}))
        .await;
    let (status, _) = send(
        app.client
            .get(app.url(&format!("/v1/secrets?spaceId={sid}")))
            .bearer_auth(&prod_key),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = send(app.client.get(app.url("/v1/secrets")).bearer_auth(&prod_key)).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!([]));

    // A guest's token and a signed-in admin's session are not secret keys.
    let (_, g) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id, "email": "g@x.io", "name": "G", "spaces": [{"id": sid}]}]),
        )
        .await;
    let gid = g["data"][0]["id"].as_str().unwrap();
    let (_, token) = app.get_json(&format!("/guests/{gid}/token?spaceId={sid}")).await;
    let token = token["data"]["token"].as_str().unwrap();
    let (status, _) = send(
        app.client
            .get(app.url(&format!("/v1/secrets?spaceId={sid}")))
            .bearer_auth(token),
    )
    .await;
    assert!(matches!(status, 401 | 403 | 404), "{status}");
    app.make_user("admin@example.com", true);
    let admin = app.clone_with_new_client();
    admin.sign_in("admin@example.com", PASSWORD).await;
    let r = admin.client.get(app.url("/v1/secrets")).send().await.unwrap();
    assert!(matches!(r.status().as_u16(), 401 | 403), "{}", r.status());
}

/// Many clients setting the same names at once: none fails, one value per name and scope.
async fn concurrent_sets_keep_one_per_name(db: Db) {
    let app = spawn_app(db).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (client, base, key) = (app.client.clone(), app.base.clone(), app.key.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..5 {
                let (status, body) = send(
                    client
                        .post(format!("{base}/v1/secrets"))
                        .bearer_auth(&key)
                        .json(&json!({"name": format!("K{n}"), "value": format!("v{i}")})),
                )
                .await;
                assert_eq!(status, 200, "{body}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (_, list) = app.get_json("/secrets").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 5, "{list}");
}

on_both!(
    secrets_by_environment_and_space,
    secrets_refuse_bad_input_and_other_callers,
    concurrent_sets_keep_one_per_name,
);

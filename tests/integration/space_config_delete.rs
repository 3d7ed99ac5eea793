//! Deleting a space config, through the API and the dashboard: only one no space was made
//! from, only in its own environment, and never leaving a space made from a config that is
//! gone, however a delete and space creations meet.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

on_both!(
    a_space_config_no_space_uses_is_deleted_through_the_api,
    the_dashboard_deletes_a_space_config_and_says_why_it_will_not,
    a_delete_and_spaces_created_at_once_never_leave_a_space_without_its_config,
    a_blueprint_with_a_member_written_twice_is_refused,
);

async fn a_blueprint_with_a_member_written_twice_is_refused(db: Db) {
    let app = spawn_app(db).await;
    // serde keeps the last of two: this deployed `Second` (probe 64e D7).
    let text = r#"{"name": "First", "slug": "twice", "name": "Second", "workbooks": []}"#;
    let request = app
        .api(reqwest::Method::POST, "/space-configs")
        .header("content-type", "application/json")
        .body(text);
    let (status, body) = send(request).await;
    assert_eq!(status, 400, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("$.name: `name` is written twice"), "{body}");
    let (_, configs) = app.get_json("/space-configs").await;
    assert!(
        !configs.to_string().contains("twice"),
        "nothing deployed: {configs}"
    );
}

async fn deploy(app: &TestApp, slug: &str) -> String {
    let mut blueprint = contacts_blueprint();
    blueprint["slug"] = json!(slug);
    blueprint["name"] = json!(format!("Config {slug}"));
    let (status, body) = app.post_json("/space-configs", &blueprint).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["id"].as_str().unwrap().to_string()
}

async fn space_from(app: &TestApp, config: &str) -> (u16, serde_json::Value) {
    app.post_json(
        "/spaces",
        &json!({"name": "From config", "spaceConfigId": config}),
    )
    .await
}

async fn a_space_config_no_space_uses_is_deleted_through_the_api(db: Db) {
    let app = spawn_app(db).await;
    let unused = deploy(&app, "unused").await;
    let used = deploy(&app, "used").await;
    let (status, space) = space_from(&app, &used).await;
    assert_eq!(status, 200, "{space}");

    // Another environment's key does not reach it.
    let other = app.production_key();
    let (status, _) = send(
        app.client
            .delete(app.url(&format!("/v1/space-configs/{unused}")))
            .bearer_auth(&other),
    )
    .await;
    assert_eq!(status, 404);

    let (status, body) = app.delete(&format!("/space-configs/{unused}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["success"], json!(true));
    let (status, _) = app.get_json(&format!("/space-configs/{unused}")).await;
    assert_eq!(status, 404);
    let (status, _) = app.delete(&format!("/space-configs/{unused}")).await;
    assert_eq!(status, 404, "deleted already");
    let (status, body) = space_from(&app, &unused).await;
    assert!(status == 400 || status == 422, "{status} {body}");

    // One a space was made from stays, and says why.
    let (status, body) = app.delete(&format!("/space-configs/{used}")).await;
    assert_eq!(status, 409, "{body}");
    let said = body.to_string();
    assert!(said.contains("Config used") && said.contains("1 space"), "{said}");
    let (status, _) = app.get_json(&format!("/space-configs/{used}")).await;
    assert_eq!(status, 200);

    // Once the space is gone, so may the config be.
    let space_id = space["data"]["id"].as_str().unwrap();
    let (status, body) = app.delete(&format!("/spaces/{space_id}")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.delete(&format!("/space-configs/{used}")).await;
    assert_eq!(status, 200, "{body}");
    let (_, list) = app.get_json("/space-configs").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "{list}");
}

async fn the_dashboard_deletes_a_space_config_and_says_why_it_will_not(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", false);
    app.sign_in("ada@example.com", PASSWORD).await;
    let unused = deploy(&app, "unused").await;
    let used = deploy(&app, "used").await;
    let (status, _) = space_from(&app, &used).await;
    assert_eq!(status, 200);
    let page = app.page("/space-configs").await;
    assert!(
        page.contains(&format!("action=\"/space-configs/{unused}/delete\"")),
        "{page}"
    );
    let csrf = meta_csrf(&page);
    let post = |id: &str, token: &str| {
        app.client
            .post(app.url(&format!("/space-configs/{id}/delete")))
            .form(&[("csrf_token", token)])
            .send()
    };

    // Without the page's token nothing goes.
    assert_eq!(post(&unused, "forged").await.unwrap().status(), 403);
    let (status, _) = app.get_json(&format!("/space-configs/{unused}")).await;
    assert_eq!(status, 200);

    let done = post(&unused, &csrf).await.unwrap();
    assert_eq!(done.status(), 303);
    let (status, _) = app.get_json(&format!("/space-configs/{unused}")).await;
    assert_eq!(status, 404);

    let refused = post(&used, &csrf).await.unwrap();
    assert_eq!(refused.status(), 409);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("Not deleted: “Config used” was used to create 1 space"),
        "{html}"
    );
    let (status, _) = app.get_json(&format!("/space-configs/{used}")).await;
    assert_eq!(status, 200);
}

async fn a_delete_and_spaces_created_at_once_never_leave_a_space_without_its_config(db: Db) {
    let app = spawn_app(db).await;
    for round in 0..6 {
        let config = deploy(&app, &format!("race{round}")).await;
        let creates = (0..8).map(|_| space_from(&app, &config));
        let delete = async {
            // The delete lands among the creates, a little later each round.
            tokio::time::sleep(std::time::Duration::from_millis(round * 3)).await;
            app.delete(&format!("/space-configs/{config}")).await
        };
        let (created, (deleted, body)) = tokio::join!(futures_util::future::join_all(creates), delete);
        let made = created.iter().filter(|(s, _)| *s == 200).count();
        for (status, body) in &created {
            assert!(
                [200, 400, 422].contains(status),
                "a create answered {status} {body}"
            );
        }
        let (_, spaces) = app.get_json("/spaces?pageSize=1000").await;
        let from_config = spaces["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["spaceConfigId"] == json!(config))
            .count();
        assert_eq!(from_config, made, "every space made keeps its config");
        match deleted {
            200 => assert_eq!(made, 0, "deleted while {made} spaces were made from it"),
            409 => assert!(made > 0, "{body}"),
            other => panic!("the delete answered {other} {body}"),
        }
    }
}

//! A link to a space, workbook or job of another of the person's environments says where
//! it is and switches there in one click, back to that page (probe 62b D7: a bare 404 read
//! as lost data on a first day).

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

async fn post_prod(app: &TestApp, key: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
    let (status, got) = send(
        app.client
            .post(app.url(&format!("/v1{path}")))
            .bearer_auth(key)
            .json(&body),
    )
    .await;
    assert_eq!(status, 200, "{path}: {got}");
    got["data"].clone()
}

fn form_value(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle).unwrap_or_else(|| panic!("{name}: {html}")) + needle.len();
    html[start..start + html[start..].find('"').unwrap()]
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

async fn a_link_into_another_environment_offers_to_switch(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let prod = app.production_key();
    let space = post_prod(&app, &prod, "/spaces", json!({"name": "Launch"})).await;
    let space_id = space["id"].as_str().unwrap().to_string();
    let wb = post_prod(
        &app,
        &prod,
        "/workbooks",
        json!({"name": "W", "spaceId": space_id, "sheets": [{"name": "S", "fields": [{"key": "a", "type": "string"}]}]}),
    )
    .await;
    let wb_id = wb["id"].as_str().unwrap().to_string();
    let job = post_prod(
        &app,
        &prod,
        "/jobs",
        json!({"type": "workbook", "operation": "export", "source": wb_id}),
    )
    .await;
    let job_id = job["id"].as_str().unwrap().to_string();

    for (path, what) in [
        (format!("/spaces/{space_id}?tab=files"), "space"),
        (format!("/workbooks/{wb_id}"), "workbook"),
        (format!("/jobs/{job_id}"), "job"),
    ] {
        let resp = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path}");
        let html = resp.text().await.unwrap();
        assert!(
            html.contains(&format!(
                "this {what} is in the production environment; your pages show development"
            )),
            "{html}"
        );
        assert!(html.contains("Switch to production and open it"));
        assert_eq!(form_value(&html, "next"), path);
    }
    // Nothing anywhere: the plain 404.
    let html = app
        .client
        .get(app.url("/spaces/us_sp_00000000"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("switch-to-open"), "{html}");

    // The switch opens the page asked for; a next page of another site is not followed.
    let page = app
        .client
        .get(app.url(&format!("/spaces/{space_id}?tab=files")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (csrf, env) = (
        form_value(&page, "csrf_token"),
        form_value(&page, "environment_id"),
    );
    let switch = |next: &'static str| {
        let form = [
            ("csrf_token", csrf.clone()),
            ("environment_id", env.clone()),
            ("next", next.to_string()),
        ];
        app.client.post(app.url("/switch-environment")).form(&form).send()
    };
    let evil = switch("//evil.example/x").await.unwrap();
    assert_eq!(evil.status().as_u16(), 303);
    assert_eq!(evil.headers()["location"], "/spaces");
    let next = format!("/spaces/{space_id}?tab=files");
    let form = [
        ("csrf_token", csrf.clone()),
        ("environment_id", env.clone()),
        ("next", next.clone()),
    ];
    let went = app
        .client
        .post(app.url("/switch-environment"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(went.status().as_u16(), 303);
    assert_eq!(went.headers()["location"], next.as_str());
    let opened = app.page(&next).await;
    assert!(opened.contains("Launch"), "the space, in production now");
}

on_both!(a_link_into_another_environment_offers_to_switch);

//! A guest's job names no guest of another space, no secret beyond its spaces and none of
//! the team's own objects (webhooks, API keys, team members): listener code acts on what a
//! job names with the team's key (probe 78b D1: only spaces' objects were checked).

use crate::guest_reach::{as_bearer, workbook_of};
use crate::helpers::*;
use crate::live_access::guest_with_token;
use crate::on_both;
use serde_json::json;

async fn a_guest_job_names_no_one_elses_people_or_secrets(db: Db) {
    let app = spawn_app(db).await;
    let (mine, theirs) = (app.bare_space("Mine").await, app.bare_space("Theirs").await);
    let (my_wb, _) = workbook_of(&app, &mine).await;
    let (_, token) = guest_with_token(&app, "g@x.io", "G", &[&mine]).await;
    let (colleague, _) = guest_with_token(&app, "c@x.io", "C", &[&mine]).await;
    let (stranger, _) = guest_with_token(&app, "s@x.io", "S", &[&theirs]).await;
    // A secret named after its scope; the answer lists that scope's secrets.
    let secret = async |space: Option<&str>| {
        let name = format!("K_{}", space.unwrap_or("ENV").replace('_', ""));
        let mut body = json!({"name": name, "value": "v", "environmentId": app.env_id.as_str()});
        if let Some(space) = space {
            body["spaceId"] = json!(space);
        }
        let (status, made) = app.post_json("/secrets", &body).await;
        assert_eq!(status, 200, "{made}");
        let listed = made["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name.as_str());
        listed.unwrap_or_else(|| panic!("{made}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (env_secret, their_secret, my_secret) = (
        secret(None).await,
        secret(Some(&theirs)).await,
        secret(Some(&mine)).await,
    );
    let (status, hook) = app
        .post_json(
            "/webhooks",
            &json!({"environmentId": app.env_id, "url": "http://127.0.0.1:9/"}),
        )
        .await;
    assert_eq!(status, 200, "{hook}");
    let webhook = hook["data"]["id"].as_str().unwrap().to_string();
    // Another space's config (probe 79a D5).
    let other = app.space_from_blueprint().await;
    let config = other["spaceConfigId"]
        .as_str()
        .unwrap_or_else(|| panic!("{other}"))
        .to_string();
    let job = |named: &str| json!({"type": "workbook", "operation": "report", "source": my_wb, "input": {"id": named}});
    for named in [&stranger, &env_secret, &their_secret, &webhook, &config] {
        let (status, answer) = as_bearer(&app, &token, &job(named)).await;
        assert_eq!(status, 403, "{named}: {answer}");
        assert!(answer.to_string().contains("not of your spaces"), "{answer}");
    }
    // A guest of its own space, its space's secret, and an id naming nothing are its own.
    for named in [&colleague, &my_secret, &"us_g_nobody12".to_string()] {
        let (status, answer) = as_bearer(&app, &token, &job(named)).await;
        assert_eq!(status, 200, "{named}: {answer}");
    }
}

on_both!(a_guest_job_names_no_one_elses_people_or_secrets);

//! The same rule for names an environment, an invitation or a webhook carries, and for the
//! dashboard's forms and `wharf env create`: environment names are one line of at most
//! 64 characters, an invitation's `fromName` of at most 200, a webhook's description of
//! at most 1,000. A refusal names its key and stores (or sends) nothing.

use crate::helpers::*;
use crate::names_everywhere::{bad_names, refused_at};
use crate::on_both;
use serde_json::{json, Value};

const ADMIN: &str = "admin@example.com";

async fn signed_in_admin(db: Db) -> TestApp {
    let app = spawn_app(db).await;
    app.make_user(ADMIN, true);
    app.sign_in(ADMIN, PASSWORD).await;
    app
}

/// Posts a dashboard form with the CSRF token of `page`; returns the status and the page.
async fn post_form(app: &TestApp, page: &str, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let csrf = app.csrf(page).await;
    let mut all = vec![("csrf_token", csrf.as_str())];
    all.extend_from_slice(fields);
    let resp = app.client.post(app.url(path)).form(&all).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn environment_names(app: &TestApp) -> Vec<String> {
    let (_, listed) = app.get_json("/environments").await;
    listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

/// No environment name passes for another environment: none shaped like an id, none that
/// reads as another's but for case; and a team keeps at most 100 (probe 66f D1, D2: a key
/// renamed its environment to development's id, and the command line's deploys and keys
/// for that id went to it; another made 20,000 environments).
async fn no_environment_passes_for_another_and_there_are_at_most_a_hundred(db: Db) {
    let app = signed_in_admin(db).await;
    let own = format!("/environments/{}", app.env_id);
    let (status, body) = app.patch_json(&own, &json!({"name": "US_ENV_abcdefgh"})).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["errors"][0]["message"].as_str().unwrap().contains("us_env_"),
        "{body}"
    );
    let (status, body) = app
        .post_json("/environments", &json!({"name": "Production"}))
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = app.patch_json(&own, &json!({"name": "PRODUCTION"})).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = app.patch_json(&own, &json!({"name": "Development"})).await;
    assert_eq!(status, 200, "its own name in other case: {body}");
    let (ok, _, err) = crate::cli::wharf(&app.settings, &["env", "create", "us_env_zzzzzzzz"], None);
    assert!(!ok, "{err}");
    assert!(err.contains("us_env_"), "{err}");
    // An id on the command line is an id only.
    let (ok, _, err) = crate::cli::wharf(
        &app.settings,
        &["key", "create", "--env", "us_env_zzzzzzzz"],
        None,
    );
    assert!(!ok);
    assert!(err.contains("no environment has the id"), "{err}");
    let (ok, key, err) = crate::cli::wharf(
        &app.settings,
        &["key", "create", "--env", app.env_id.as_str()],
        None,
    );
    assert!(ok && key.trim().starts_with("sk_"), "{err}");

    let made = environment_names(&app).await.len();
    for n in made..100 {
        let (status, body) = app
            .post_json("/environments", &json!({"name": format!("e{n}")}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = app
        .post_json("/environments", &json!({"name": "one too many"}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("at most 100"), "{body}");
    let (_, listed) = app.get_json("/environments?pageSize=1000").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 100, "{listed}");
}

async fn environment_names_are_checked_by_api_dashboard_and_cli(db: Db) {
    let app = signed_in_admin(db).await;
    for (case, bad) in bad_names(64) {
        let (status, body) = app.post_json("/environments", &json!({"name": bad})).await;
        refused_at(status, &body, 422, "name", case);
        let path = format!("/environments/{}", app.env_id);
        let (status, body) = app.patch_json(&path, &json!({"name": bad})).await;
        refused_at(status, &body, 422, "name", case);
        let (status, page) =
            post_form(&app, "/environments", "/environments", &[("name", bad.as_str())]).await;
        assert_eq!(status, 422, "{case}");
        assert!(
            page.contains("an environment name is one line of at most 64 characters"),
            "{case}"
        );
        let (status, _) = post_form(&app, "/environments", &path, &[("name", bad.as_str())]).await;
        assert_eq!(status, 422, "{case}");
    }
    assert_eq!(environment_names(&app).await, ["development", "production"]);

    let (status, body) = app.post_json("/environments", &json!({"name": "Søren"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = post_form(&app, "/environments", "/environments", &[("name", "محمد")]).await;
    assert_eq!(status, 303);
    let (status, body) = app
        .post_json("/environments", &json!({"name": "ø".repeat(64)}))
        .await;
    assert_eq!(status, 200, "64 characters, whatever their bytes: {body}");
    assert_eq!(environment_names(&app).await.len(), 5);

    let (ok, _, err) = crate::cli::wharf(&app.settings, &["env", "create", "x\u{202E}gnp.exe"], None);
    assert!(!ok);
    assert!(err.contains("text-direction"), "{err}");
    let (ok, _, _) = crate::cli::wharf(&app.settings, &["env", "create", "Ῥόδος"], None);
    assert!(ok);
    assert_eq!(environment_names(&app).await.len(), 6);
}

fn outbox(app: &TestApp) -> Vec<wharf::mail::outbox::ReadMail> {
    wharf::mail::outbox::list(&wharf::mail::outbox::dir(&app.data_dir), 10).unwrap()
}

async fn an_invitations_from_name_is_one_line(db: Db) {
    let app = spawn_app(db).await;
    let sid = app.bare_space("Onboarding").await;
    let guest = json!([{"environmentId": app.env_id.as_str(), "email": "ada@example.com",
                        "name": "Ada", "spaces": [{"id": sid}]}]);
    let (_, created) = app.post_json("/guests", &guest).await;
    let gid = created["data"][0]["id"].as_str().unwrap();
    let invite = |from: &str| json!({"guestId": gid, "spaceId": sid, "fromName": from});
    let mut cases = bad_names(200);
    cases.push(("a subject past 998 characters", "f".repeat(3_000)));
    for (case, bad) in &cases {
        let (status, body) = app.post_json("/invitations", &json!([invite(bad)])).await;
        refused_at(status, &body, 422, "$[0].fromName", case);
        // Checked for every invitation before any is sent.
        let both = json!([invite("Grace"), invite(bad)]);
        let (status, body) = app.post_json("/invitations", &both).await;
        refused_at(status, &body, 422, "$[1].fromName", case);
    }
    assert!(outbox(&app).is_empty(), "nothing was sent");
    let (status, body) = app
        .post_json("/invitations", &json!([invite("Søren Kierkegaard")]))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        outbox(&app)[0].subject,
        "Søren Kierkegaard invited you to Onboarding"
    );
}

async fn webhooks(app: &TestApp) -> Vec<Value> {
    let (_, listed) = app.get_json("/webhooks").await;
    listed["data"].as_array().unwrap().clone()
}

async fn a_webhooks_description_is_one_line_of_1000(db: Db) {
    let app = signed_in_admin(db).await;
    let url = "http://127.0.0.1:9/hook";
    let mut cases = bad_names(1000);
    cases.push(("as long as the attack", "d".repeat(300_000)));
    for (case, bad) in &cases {
        let (status, body) = app
            .post_json("/webhooks", &json!({"url": url, "description": bad}))
            .await;
        refused_at(status, &body, 422, "description", case);
    }
    for (case, bad) in bad_names(500) {
        // The form's field holds 500 characters; what is past it is the server's to refuse.
        let bad = if case == "too long" { "d".repeat(1001) } else { bad };
        let form = [
            ("url", url),
            ("topics", ""),
            ("slug", ""),
            ("description", bad.as_str()),
        ];
        let (status, page) = post_form(&app, "/webhooks", "/webhooks", &form).await;
        assert_eq!(status, 422, "{case}");
        assert!(page.contains("is one line of at most 1,000 characters"), "{case}");
    }
    assert!(webhooks(&app).await.is_empty(), "nothing was made");

    let (status, made) = app
        .post_json("/webhooks", &json!({"url": url, "description": "d".repeat(1000)}))
        .await;
    assert_eq!(status, 200, "{made}");
    let id = made["data"]["id"].as_str().unwrap();
    for (case, bad) in &cases {
        let (status, body) = app
            .patch_json(&format!("/webhooks/{id}"), &json!({"description": bad}))
            .await;
        refused_at(status, &body, 422, "description", case);
    }
    let (status, body) = app
        .patch_json(
            &format!("/webhooks/{id}"),
            &json!({"description": "CRM für Søren — محمد"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(webhooks(&app).await[0]["description"], "CRM für Søren — محمد");
}

async fn the_dashboards_workbook_form_checks_names(db: Db) {
    let app = signed_in_admin(db).await;
    let sid = app.bare_space("Names").await;
    let page = format!("/spaces/{sid}");
    let path = format!("/spaces/{sid}/workbooks");
    let sheets = |name: &str, label: &str| {
        json!([{"name": name, "slug": "s", "fields": [{"key": "k", "type": "string", "label": label}]}])
            .to_string()
    };
    for (case, bad) in bad_names(200) {
        let good_sheets = sheets("Sheet", "Label");
        let (status, html) = post_form(
            &app,
            &page,
            &path,
            &[("name", bad.as_str()), ("sheets", good_sheets.as_str())],
        )
        .await;
        assert_eq!(status, 422, "{case}");
        assert!(
            html.contains("a workbook name is one line of at most 200"),
            "{case}"
        );
        let (status, html) = post_form(
            &app,
            &page,
            &path,
            &[("name", "Orders"), ("sheets", sheets(&bad, "Label").as_str())],
        )
        .await;
        assert_eq!(status, 422, "{case}");
        assert!(html.contains("$[0].name: a sheet name is one line"), "{case}");
        // What was typed stays, in the form opened again, to be fixed (probe 45a D15).
        assert!(
            html.contains("<details class=\"card\" open>") && html.contains("value=\"Orders\""),
            "{case}"
        );
        assert!(
            !html.contains("\"key\": \"email\""),
            "{case}: the sample replaced what was typed"
        );
        let (status, html) = post_form(
            &app,
            &page,
            &path,
            &[("name", "Orders"), ("sheets", sheets("Sheet", &bad).as_str())],
        )
        .await;
        assert_eq!(status, 422, "{case}");
        assert!(
            html.contains("$[0].fields[0].label: a field label is one line"),
            "{case}"
        );
    }
    // A JSON mistake is said where it is (probe 72b D13: "must be a JSON array" for a comma).
    let trailing = r#"[{"name":"S","fields":[{"key":"a","type":"string"}],}]"#;
    for (sheets, said) in [
        (
            trailing,
            "Sheets, line 1, column 53: not valid JSON: trailing comma<",
        ),
        ("", "Give the workbook its sheets"),
        ("{}", "Sheets must be a JSON array of sheet configs"),
    ] {
        let (status, html) = post_form(&app, &page, &path, &[("name", "Orders"), ("sheets", sheets)]).await;
        assert_eq!(status, 422, "{sheets}");
        assert!(html.contains(said), "{sheets}: {html}");
    }
    let (_, listed) = app.get_json(&format!("/workbooks?spaceId={sid}")).await;
    assert_eq!(listed["data"], json!([]), "nothing was made");
    let (status, _) = post_form(
        &app,
        &page,
        &path,
        &[("name", "Søren"), ("sheets", sheets("محمد", "Имя").as_str())],
    )
    .await;
    assert_eq!(status, 303);
    let (_, listed) = app.get_json(&format!("/workbooks?spaceId={sid}")).await;
    assert_eq!(listed["data"][0]["name"], "Søren");
}

on_both!(
    environment_names_are_checked_by_api_dashboard_and_cli,
    no_environment_passes_for_another_and_there_are_at_most_a_hundred,
    an_invitations_from_name_is_one_line,
    a_webhooks_description_is_one_line_of_1000,
    the_dashboards_workbook_form_checks_names,
);

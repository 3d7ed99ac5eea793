//! What a job or an event names besides its source stays inside what its maker reaches: a
//! guest's job points at its own space only, a job's file is of its space, an event's job
//! and file are of the key's environment; and a guest reads the team's people as "Team
//! member", as the presence line shows them.

use crate::helpers::*;
use crate::live_access::{guest_browser, guest_with_token};
use crate::on_both;
use serde_json::{json, Value};

pub(crate) async fn workbook_of(app: &TestApp, space: &str) -> (String, String) {
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "W", "spaceId": space, "actions": [{"operation": "report", "label": "Report"}],
                    "sheets": [{"name": "S", "slug": "s", "fields": [{"key": "name", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let id = wb["data"]["id"].as_str().unwrap().to_string();
    (id, wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string())
}

/// The CSRF token of a guest's browser session, from its space's page.
async fn guest_csrf(app: &TestApp, browser: &reqwest::Client, space: &str) -> String {
    let home = browser
        .get(app.url(&format!("/guest/spaces/{space}")))
        .send()
        .await
        .unwrap();
    meta_csrf(&home.text().await.unwrap())
}

pub(crate) async fn as_bearer(app: &TestApp, token: &str, body: &Value) -> (u16, Value) {
    send(app.client.post(app.url("/v1/jobs")).bearer_auth(token).json(body)).await
}

async fn a_jobs_destination_and_file_stay_in_its_space(db: Db) {
    let app = spawn_app(db).await;
    let (mine, theirs) = (app.bare_space("Mine").await, app.bare_space("Theirs").await);
    let (my_wb, my_sheet) = workbook_of(&app, &mine).await;
    let (their_wb, their_sheet) = workbook_of(&app, &theirs).await;
    let (_, token) = guest_with_token(&app, "g@x.io", "G", &[&mine]).await;
    let job = |destination: &str| {
        // (Made, not started: one run of an action at a time, see actions_once.rs.)
        json!({"type": "workbook", "operation": "report", "source": my_wb,
               "destination": destination, "trigger": "manual"})
    };
    for elsewhere in [&their_wb, &their_sheet, &"us_wb_doesnotexist".to_string()] {
        let (status, body) = as_bearer(&app, &token, &job(elsewhere)).await;
        assert_eq!(status, 404, "{elsewhere}: {body}");
    }
    let (_, jobs) = app.get_json("/jobs?pageSize=100").await;
    assert_eq!(
        jobs["data"].as_array().unwrap().len(),
        0,
        "no job was made: {jobs}"
    );
    for own in [&my_wb, &my_sheet] {
        let (status, body) = as_bearer(&app, &token, &job(own)).await;
        assert_eq!(status, 200, "{own}: {body}");
    }

    // From the Files tab too: a guest of both spaces imports a file of one into its own
    // space only.
    let (_, both) = guest_with_token(&app, "both@x.io", "B", &[&mine, &theirs]).await;
    let browser = guest_browser(&app, &both).await;
    let csrf = guest_csrf(&app, &browser, &mine).await;
    let upload = app
        .upload_and_extract(&mine, "m.csv", b"name\nAda\n".to_vec())
        .await;
    let import = |sheet: &str| {
        browser
            .post(app.url(&format!("/files/{}/import", upload["id"].as_str().unwrap())))
            .form(&[("csrf_token", csrf.as_str()), ("sheet", sheet)])
            .send()
    };
    assert_eq!(import(&their_sheet).await.unwrap().status().as_u16(), 404);
    assert_eq!(import(&my_sheet).await.unwrap().status().as_u16(), 303);

    // A file of another space on a job: 422, whoever asks.
    let (status, file) = app.upload(&theirs, "t.csv", b"name\nAda\n".to_vec()).await;
    assert_eq!(status, 200, "{file}");
    let file_id = file["data"]["id"].as_str().unwrap();
    let (status, body) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "report", "source": my_wb, "fileId": file_id}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("fileId"), "{body}");

    // An event naming another environment's job: 404.
    let other_env = app.production_key();
    let (_, other_space) = send(
        app.client
            .post(app.url("/v1/spaces"))
            .bearer_auth(&other_env)
            .json(&json!({"name": "Prod"})),
    )
    .await;
    let prod_space = other_space["data"]["id"].as_str().unwrap();
    let (status, prod_job) = send(
        app.client
            .post(app.url("/v1/jobs"))
            .bearer_auth(&other_env)
            .json(&json!({"type": "space", "operation": "configure", "source": prod_space})),
    )
    .await;
    assert_eq!(status, 200, "{prod_job}");
    let (status, body) = app
        .post_json(
            "/events",
            &json!({"topic": "job:ready", "domain": "job",
                    "context": {"environmentId": app.env_id, "jobId": prod_job["data"]["id"]}, "payload": {}}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
}

async fn a_guest_reads_team_members_as_team_member(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Shared").await;
    let (_, sheet) = workbook_of(&app, &space).await;
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!([{"name": "Ada"}]))
        .await;
    assert_eq!(status, 200, "{body}");
    let id = record_ids(&body)[0].clone();
    app.make_user("bea@team.example", false);
    app.sign_in("bea@team.example", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    let save = app
        .client
        .put(app.url(&format!("/grid/{sheet}/records/{id}")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("field", "name"),
            ("value", "Bea's"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(save.status().as_u16(), 200);
    let team_view = app.page(&format!("/grid/{sheet}/records/{id}/history")).await;
    assert!(team_view.contains("bea@team.example"), "{team_view}");

    let (_, token) = guest_with_token(&app, "g@x.io", "G", &[&space]).await;
    let guest = guest_browser(&app, &token).await;
    let history = guest
        .get(app.url(&format!("/grid/{sheet}/records/{id}/history")))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(history.status().as_u16(), 200);
    let html = history.text().await.unwrap();
    assert!(html.contains("Team member"), "{html}");
    assert!(!html.contains("bea@team.example"), "{html}");
    // A stale save's refusal names no address either.
    let guest_csrf = guest_csrf(&app, &guest, &space).await;
    let stale = guest
        .put(app.url(&format!("/grid/{sheet}/records/{id}")))
        .header("HX-Request", "true")
        .form(&[
            ("csrf_token", guest_csrf.as_str()),
            ("field", "name"),
            ("value", "G's"),
            ("version", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 409);
    let text = stale.text().await.unwrap();
    assert!(
        text.contains("Team member") && !text.contains("bea@team.example"),
        "{text}"
    );
}

/// What is the team's stays the team's: its import (a guest cannot stop it), exports and
/// file actions, record metadata, read-only fields of new records; and a session an API
/// guest token opens ends with the token.
async fn a_guest_leaves_the_teams_things_alone(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Shared").await;
    let (wb, sheet) = workbook_of(&app, &space).await;
    let (_, token) = guest_with_token(&app, "g@x.io", "G", &[&space]).await;
    let bearer = |m: reqwest::Method, path: &str| app.client.request(m, app.url(path)).bearer_auth(&token);

    let (status, team_job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "delete-records", "source": wb, "config": {"sheet": sheet}}),
        )
        .await;
    assert_eq!(status, 200, "{team_job}");
    let id = team_job["data"]["id"].as_str().unwrap();
    let (status, body) = send(bearer(reqwest::Method::POST, &format!("/v1/jobs/{id}/cancel"))).await;
    assert_eq!(status, 403, "{body}");
    // Nor from the grid's job card, in a browser.
    let browser = guest_browser(&app, &token).await;
    let csrf = guest_csrf(&app, &browser, &space).await;
    let card = browser
        .post(app.url(&format!("/grid/jobs/{id}/cancel")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(card.status().as_u16(), 403);
    let (_, now) = app.get_json(&format!("/jobs/{id}")).await;
    assert_ne!(now["data"]["status"], "canceled", "{now}");

    for (field, value) in [
        ("mode", "export"),
        ("actions", r#"[{"operation": "x", "label": "X"}]"#),
    ] {
        let form = reqwest::multipart::Form::new()
            .text("spaceId", space.clone())
            .text(field, value)
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"name\nAda\n".to_vec()).file_name("a.csv"),
            );
        let (status, body) = send(bearer(reqwest::Method::POST, "/v1/files").multipart(form)).await;
        assert_eq!(status, 403, "{field}: {body}");
    }
    let (_, files) = app.get_json(&format!("/files?spaceId={space}")).await;
    assert_eq!(
        files["data"].as_array().unwrap().len(),
        0,
        "nothing kept: {files}"
    );

    let (status, made) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!([{"name": "Ada"}]))
        .await;
    assert_eq!(status, 200);
    let rid = record_ids(&made)[0].clone();
    let (status, _) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": rid, "values": {}, "metadata": {"approved": false}}]),
        )
        .await;
    assert_eq!(status, 200);
    let update = |metadata: Value| {
        bearer(reqwest::Method::PUT, &format!("/v1/sheets/{sheet}/records"))
            .json(&json!([{"id": rid, "values": {"name": {"value": "Ada L."}}, "metadata": metadata}]))
    };
    let (status, body) = send(update(json!({"approved": true}))).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = send(update(json!({"approved": false}))).await;
    assert_eq!(status, 200, "metadata sent back as it is: {body}");

    // A read-only field of a new record.
    let (status, fixed) = app
        .post_json(
            "/workbooks",
            &json!({"name": "F", "spaceId": space, "sheets": [{"name": "F", "slug": "f", "fields": [
                {"key": "name", "type": "string"}, {"key": "score", "type": "number", "readonly": true}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{fixed}");
    let fixed_sheet = fixed["data"]["sheets"][0]["id"].as_str().unwrap();
    let insert = |body: Value| {
        bearer(
            reqwest::Method::POST,
            &format!("/v1/sheets/{fixed_sheet}/records"),
        )
        .json(&body)
    };
    let (status, body) = send(insert(json!([{"name": "A"}, {"name": "B", "score": 99}]))).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = send(insert(json!([{"name": "A", "score": null}]))).await;
    assert_eq!(status, 200, "{body}");

    // The token ends in two seconds: so does the session it opens.
    {
        use diesel::prelude::*;
        use wharf::db::schema::guest_links;
        let mut conn = app.pool.get().unwrap();
        diesel::update(guest_links::table.filter(guest_links::reusable.eq(true)))
            .set(guest_links::expires_at.eq(wharf::model::now() + chrono::Duration::seconds(2)))
            .execute(&mut *conn)
            .unwrap();
    }
    let browser = guest_browser(&app, &token).await;
    let home = browser
        .get(app.url(&format!("/guest/spaces/{space}")))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status().as_u16(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let later = browser
        .get(app.url(&format!("/guest/spaces/{space}")))
        .send()
        .await
        .unwrap();
    assert_ne!(later.status().as_u16(), 200, "the session ended with its token");
}

async fn one_record(app: &TestApp, sheet: &str) -> String {
    let body = json!([{"name": {"value": "Ada"}}]);
    let (status, added) = app.post_json(&format!("/sheets/{sheet}/records"), &body).await;
    assert_eq!(status, 200, "{added}");
    added["data"]["records"][0]["id"].as_str().unwrap().to_string()
}

/// An action's `config` and `input` reach the listener, which acts with the team's key: a
/// guest's job names nothing outside its spaces there either (probe 47c D4).
async fn a_guest_action_names_only_its_spaces(db: Db) {
    let app = spawn_app(db).await;
    let (mine, theirs) = (app.bare_space("Mine").await, app.bare_space("Theirs").await);
    let (my_wb, my_sheet) = workbook_of(&app, &mine).await;
    let (their_wb, their_sheet) = workbook_of(&app, &theirs).await;
    let (my_record, their_record) = (
        one_record(&app, &my_sheet).await,
        one_record(&app, &their_sheet).await,
    );
    let (_, token) = guest_with_token(&app, "g@x.io", "G", &[&mine]).await;
    let action = |config: Value, input: Value| json!({"type": "workbook", "operation": "report", "source": my_wb, "config": config, "input": input});
    let refused = [
        action(json!({"sheet": their_sheet}), json!({})),
        action(json!({}), json!({"sheetId": their_sheet})),
        action(json!({"nested": {"ids": [my_sheet, their_wb]}}), json!({})),
        action(json!({}), json!({"spaceId": theirs})),
        action(json!({}), json!({"records": [my_record, their_record]})),
        // Numbered ids naming nothing, whole or inside a text: refused as the ones of
        // other spaces are, so the answers list nothing of what exists (probe 59d D3).
        action(json!({}), json!({"recordId": "us_rc_999999"})),
        action(json!({}), json!({"note": "see us_rc_999999 and us_evt_999999"})),
        // Inside a text that listener code splits, trims or parses (probe 52a 6).
        action(json!({"sheets": format!("{my_sheet},{their_sheet}")}), json!({})),
        action(json!({"target": format!("sheet:{their_sheet}")}), json!({})),
        action(json!({}), json!({"sheetId": format!(" {their_sheet}")})),
        action(
            json!({}),
            json!({"url": format!("https://example.com/v1/sheets/{their_sheet}/records")}),
        ),
        // Percent-encoded separators, and an id glued to a word (probe 59c D1).
        action(
            json!({}),
            json!({"list": format!("{my_record}%2C{their_record}")}),
        ),
        action(
            json!({}),
            json!({"url": format!("https://h/v1/sheets%2F{their_sheet}%2Frecords")}),
        ),
        action(json!({"target": format!("x{their_sheet}")}), json!({})),
        // Encoded twice, and JSON held in a string with a \u escape (probe 59d D1).
        action(
            json!({}),
            json!({"next": format!("/v1/sheets/%25{:02X}{}", b'u', &their_sheet[1..])}),
        ),
        action(
            json!({}),
            json!({"payload": format!("{{\"sheet\": \"\\u0075{}\"}}", &their_sheet[1..])}),
        ),
        json!({"type": "workbook", "operation": "report", "source": my_wb, "info": format!("please copy {their_sheet}")}),
    ];
    for body in &refused {
        let (status, answer) = as_bearer(&app, &token, body).await;
        assert_eq!(status, 403, "{body}: {answer}");
        assert!(answer.to_string().contains("not of your spaces"), "{answer}");
    }
    let (_, jobs) = app.get_json("/jobs?pageSize=100").await;
    assert_eq!(
        jobs["data"].as_array().unwrap().len(),
        0,
        "no job was made: {jobs}"
    );
    // Wharf's own jobs carry input and metadata to listeners too (probe 50a F6).
    let bulk = json!({"type": "workbook", "operation": "bulk-change", "source": my_wb,
                      "config": {"sheet": my_sheet, "changes": [{"field": "name", "set": "x"}]},
                      "metadata": {"sheet": their_sheet}});
    let (status, answer) = as_bearer(&app, &token, &bulk).await;
    assert_eq!(status, 403, "{answer}");
    // Their `ids` and `exceptions` name only records of the guest's spaces (probe 61a D2);
    // an id naming no record is left to the job, which skips records deleted meanwhile.
    for key in ["ids", "exceptions"] {
        let delete = json!({"type": "workbook", "operation": "delete-records", "source": my_wb,
                            "config": {"sheet": my_sheet, key: [my_record, their_record]}});
        let (status, answer) = as_bearer(&app, &token, &delete).await;
        assert_eq!(status, 403, "{key}: {answer}");
        assert!(answer.to_string().contains(&their_record), "{answer}");
    }
    let gone = json!({"type": "workbook", "operation": "delete-records", "source": my_wb,
                      "config": {"sheet": my_sheet, "ids": ["us_rc_987654321"]}});
    let (status, answer) = as_bearer(&app, &token, &gone).await;
    assert_eq!(status, 200, "{answer}");
    let made = answer["data"]["id"].as_str().unwrap().to_string();
    app.delete(&format!("/jobs/{made}")).await;
    // An id as a key, another space's commit, and a mapping's own keys (probe 51a F3).
    let (mut their_commit, mut their_event) = (None, None);
    for _ in 0..100 {
        let (_, events) = app
            .get_json("/events?topic=commit:created&includeAcknowledged=true&pageSize=100")
            .await;
        let theirs = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["context"]["sheetId"] == their_sheet.as_str());
        their_event = theirs.and_then(|e| e["id"].as_str().map(str::to_string));
        their_commit = theirs.and_then(|e| e["context"]["commitId"].as_str().map(str::to_string));
        if their_commit.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let their_commit = their_commit.expect("their sheet's commit");
    let (my_wb2, my_sheet2) = workbook_of(&app, &mine).await;
    let map = json!({"type": "workbook", "operation": "map", "source": my_wb, "destination": my_wb2,
                     "config": {"sourceSheetId": my_sheet, "destinationSheetId": my_sheet2, "extra": {"sheet": their_sheet}}});
    // Another environment's space, workbook and sheet are outside too (probe 58c F1: they
    // read as naming nothing, looked for in the guest's environment only).
    let prod = app.production_key();
    let made = |path: &'static str, body: Value| {
        let request = app
            .client
            .post(app.url(&format!("/v1{path}")))
            .bearer_auth(&prod)
            .json(&body);
        async move { send(request).await }
    };
    let (status, prod_space) = made("/spaces", json!({"name": "Prod"})).await;
    assert_eq!(status, 200, "{prod_space}");
    let prod_space = prod_space["data"]["id"].as_str().unwrap().to_string();
    let (status, prod_wb) = made(
        "/workbooks",
        json!({"name": "P", "spaceId": prod_space, "sheets": [{"name": "S", "fields": [{"key": "a", "type": "string"}]}]}),
    )
    .await;
    assert_eq!(status, 200, "{prod_wb}");
    let (prod_wb_id, prod_sheet) = (
        prod_wb["data"]["id"].as_str().unwrap().to_string(),
        prod_wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string(),
    );
    for named in [&prod_space, &prod_wb_id, &prod_sheet] {
        let body = action(
            json!({"x": named}),
            json!({"url": format!("https://h/v1/sheets/{named}")}),
        );
        let (status, answer) = as_bearer(&app, &token, &body).await;
        assert_eq!(status, 403, "{body}: {answer}");
    }
    for body in [
        action(json!({}), json!({ their_sheet.clone(): true })),
        action(json!({"commitId": their_commit}), json!({})),
        action(json!({"eventId": their_event.expect("their event")}), json!({})),
        map,
    ] {
        let (status, answer) = as_bearer(&app, &token, &body).await;
        assert_eq!(status, 403, "{body}: {answer}");
        assert!(answer.to_string().contains("not of your spaces"), "{answer}");
    }
    let own = action(
        json!({"sheet": my_sheet, "note": "us_sp_ is a prefix", "url": format!("/v1/sheets/{my_sheet}/records")}),
        // Words that only look like ids, naming nothing, are a customer's (probe 59c D3).
        json!({"records": [my_record], "spaceId": mine, "label": "plain text",
               "note": "regions: us_dc_metro, us_fl_miami, us_wb_2024; benchmark: us_sp_500; deploy to us_env_prod",
               "region": "us_fl_miami"}),
    );
    let (status, answer) = as_bearer(&app, &token, &own).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["input"]["records"], json!([my_record]), "{answer}");
    // The team's key names what it likes.
    let (status, answer) = app
        .post_json(
            "/jobs",
            &action(json!({"sheet": their_sheet}), json!({"records": [their_record]})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
}

/// `spaces.list` with a guest token lists the guest's spaces, as a portal listing "my
/// spaces" asks (probe 57c: 403 before), and none other, archived ones closed to it.
async fn a_guest_lists_its_own_spaces(db: Db) {
    let app = spawn_app(db).await;
    let mine = app.bare_space("Mine").await;
    let also = app.bare_space("Also mine").await;
    app.bare_space("Theirs").await;
    let (_, token) = guest_with_token(&app, "g@example.com", "G", &[&mine, &also]).await;
    let list = |query: &'static str| {
        send(
            app.client
                .get(app.url(&format!("/v1/spaces{query}")))
                .bearer_auth(&token),
        )
    };
    let names = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, body) = list("?sortField=name").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body), ["Also mine", "Mine"]);
    assert_eq!(body["pagination"]["totalCount"], 2, "{body}");
    let (status, body) = app
        .post_json(&format!("/spaces/{also}/archive"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = list("").await;
    assert_eq!(names(&body), ["Mine"]);
    let (_, body) = list("?archived=true").await;
    assert_eq!(names(&body), Vec::<String>::new());
}

on_both!(
    a_guest_lists_its_own_spaces,
    a_jobs_destination_and_file_stay_in_its_space,
    a_guest_action_names_only_its_spaces,
    a_guest_reads_team_members_as_team_member,
    a_guest_leaves_the_teams_things_alone,
);

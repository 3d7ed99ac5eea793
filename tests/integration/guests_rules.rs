//! Guests: what a guest's name and email may be, what an email change ends, and how
//! links, tokens and sessions follow a guest's spaces.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

fn link_path(body: &str) -> String {
    let start = body.find("/guest-links/").expect("a link in the mail");
    body[start..].split_whitespace().next().expect("link").to_string()
}

fn newest_mail(app: &TestApp) -> wharf::mail::outbox::ReadMail {
    wharf::mail::outbox::list(&wharf::mail::outbox::dir(&app.data_dir), 10)
        .unwrap()
        .into_iter()
        .next()
        .expect("a mail")
}

async fn status_of(client: &reqwest::Client, url: String) -> u16 {
    client.get(url).send().await.unwrap().status().as_u16()
}

async fn add_guest(app: &TestApp, email: &str, name: &str, space: &str) -> (u16, Value) {
    app.post_json(
        "/guests",
        &json!([{"environmentId": app.env_id.as_str(), "email": email, "name": name,
                 "spaces": [{"id": space}]}]),
    )
    .await
}

async fn invite(app: &TestApp, gid: &str, sid: &str) -> (u16, Value) {
    app.post_json("/invitations", &json!([{"guestId": gid, "spaceId": sid}]))
        .await
}

async fn post_form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let csrf = app.csrf("/spaces").await;
    let mut all = vec![("csrf_token", csrf.as_str())];
    all.extend_from_slice(fields);
    app.client.post(app.url(path)).form(&all).send().await.unwrap()
}

async fn names_with_line_breaks_are_refused(db: Db) {
    let app = spawn_app(db).await;
    let sid = app.bare_space("Onboarding").await;
    for name in [
        "Ada\nBcc: victim@other.io",
        "Ada\r\nLovelace",
        "Tab\there",
        "Ada\u{202E}moc.evil",
    ] {
        let (status, body) = add_guest(&app, "ada@example.com", name, &sid).await;
        assert_eq!(status, 422, "{name:?}: {body}");
        assert!(body.to_string().contains("line breaks"), "{body}");
    }
    let (status, created) = add_guest(&app, "ada@example.com", "Ada", &sid).await;
    assert_eq!(status, 200, "{created}");
    let gid = created["data"][0]["id"].as_str().unwrap();
    let (status, body) = app
        .patch_json(&format!("/guests/{gid}"), &json!({"name": "Ada\nLovelace"}))
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = app
        .post_json(
            "/invitations",
            &json!([{"guestId": gid, "spaceId": sid, "fromName": "Grace\nBcc: x@other.io"}]),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // A personal message is quoted in the mail: a few pages at most.
    let long = "word ".repeat(2_000);
    let (status, body) = app
        .post_json(
            "/invitations",
            &json!([{"guestId": gid, "spaceId": sid, "message": long}]),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["key"], "$[0].message", "{body}");
    let (_, listed) = app.get_json("/guests").await;
    assert_eq!(listed["data"][0]["name"], "Ada");

    // The Guests tab refuses it too, creating nothing.
    app.make_user("admin@example.com", true);
    app.sign_in("admin@example.com", PASSWORD).await;
    let resp = post_form(
        &app,
        &format!("/spaces/{sid}/guests"),
        &[("email", "bob@example.com"), ("name", "Bob\nBcc: x@other.io")],
    )
    .await;
    assert_eq!(resp.status().as_u16(), 422);
    assert!(resp.text().await.unwrap().contains("line breaks"));
    let resp = post_form(
        &app,
        &format!("/spaces/{sid}/guests"),
        &[("email", "bob@example.com"), ("name", "Bob"), ("message", &long)],
    )
    .await;
    assert_eq!(resp.status().as_u16(), 422);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("the message is at most 5000 characters"));
    let resp = post_form(
        &app,
        &format!("/spaces/{sid}/guests"),
        &[
            ("email", "bob@example.com"),
            ("name", "Bob"),
            ("message", "pay \u{202e}moc.live"),
        ],
    )
    .await;
    assert_eq!(resp.status().as_u16(), 422);
    assert!(resp.text().await.unwrap().contains("text-direction"));
    let (_, listed) = app.get_json("/guests").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");
}

async fn addresses_are_checked_before_anything_is_made(db: Db) {
    let app = spawn_app(db).await;
    let sid = app.bare_space("Onboarding").await;
    for email in [
        "<img src=x onerror=alert(1)>@example.com",
        "a@b.c,victim@other.io",
        "\"quoted local\"@example.com",
        "Ada <ada@example.com>",
        "ada@localhost",
    ] {
        let (status, body) = add_guest(&app, email, "Ada", &sid).await;
        assert_eq!(status, 422, "{email}: {body}");
        assert!(body.to_string().contains("is not an email address"), "{body}");
    }
    let (_, listed) = app.get_json("/guests").await;
    assert_eq!(listed["data"], json!([]), "nothing was created");

    app.make_user("admin@example.com", true);
    app.sign_in("admin@example.com", PASSWORD).await;
    for email in ["a@b.c,victim@other.io", "\"quoted\"@example.com"] {
        let resp = post_form(&app, "/people", &[("email", email), ("role", "member")]).await;
        assert_eq!(resp.status().as_u16(), 422, "{email}");
        assert!(resp.text().await.unwrap().contains("is not an email address"));
        let resp = post_form(
            &app,
            &format!("/spaces/{sid}/guests"),
            &[("email", email), ("name", "Someone")],
        )
        .await;
        assert_eq!(resp.status().as_u16(), 422, "{email}");
    }
    let mut conn = app.pool.get().unwrap();
    assert_eq!(
        wharf::model::user::count(&mut conn).unwrap(),
        1,
        "no member was made"
    );
    assert!(
        wharf::mail::outbox::list(&wharf::mail::outbox::dir(&app.data_dir), 10)
            .unwrap()
            .is_empty()
    );
}

async fn a_new_email_ends_what_went_to_the_old_one(db: Db) {
    let app = spawn_app(db).await;
    let sid = app.bare_space("Onboarding").await;
    let (_, created) = add_guest(&app, "ada@exmaple.com", "Ada", &sid).await;
    let gid = created["data"][0]["id"].as_str().unwrap().to_string();
    // A session opened with one mailed link, another link mailed and not opened yet, and
    // an API guest token: all went to the mistyped address.
    assert_eq!(invite(&app, &gid, &sid).await.0, 200);
    let browser = new_client();
    let opened = open_link(&browser, &app.url(&link_path(&newest_mail(&app).body)), &[]).await;
    assert_eq!(opened.status().as_u16(), 303);
    assert_eq!(
        status_of(&browser, app.url(&format!("/guest/spaces/{sid}"))).await,
        200
    );
    assert_eq!(invite(&app, &gid, &sid).await.0, 200);
    let unopened = link_path(&newest_mail(&app).body);
    let (_, token) = app.get_json(&format!("/guests/{gid}/token?spaceId={sid}")).await;
    let token = token["data"]["token"].as_str().unwrap().to_string();
    let as_guest = |t: &str| {
        app.client
            .get(app.url(&format!("/v1/spaces/{sid}")))
            .bearer_auth(t)
            .send()
    };
    assert_eq!(as_guest(&token).await.unwrap().status().as_u16(), 200);

    let (status, body) = app
        .patch_json(&format!("/guests/{gid}"), &json!({"email": "ada@example.com"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        status_of(&new_client(), app.url(&unopened)).await,
        410,
        "the unopened link"
    );
    assert_eq!(
        as_guest(&token).await.unwrap().status().as_u16(),
        401,
        "the API guest token"
    );
    assert_ne!(
        status_of(&browser, app.url(&format!("/guest/spaces/{sid}"))).await,
        200,
        "the browser session"
    );
    // A name change alone ends nothing.
    assert_eq!(invite(&app, &gid, &sid).await.0, 200);
    let fresh = new_client();
    let link = link_path(&newest_mail(&app).body);
    assert_eq!(
        open_link(&fresh, &app.url(&link), &[]).await.status().as_u16(),
        303
    );
    let (status, _) = app
        .patch_json(&format!("/guests/{gid}"), &json!({"name": "Ada L."}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        status_of(&fresh, app.url(&format!("/guest/spaces/{sid}"))).await,
        200
    );
}

async fn adding_a_guest_again_takes_the_new_name(db: Db) {
    let app = spawn_app(db).await;
    let a = app.bare_space("One").await;
    let b = app.bare_space("Two").await;
    let (_, first) = add_guest(&app, "ada@example.com", "Ada", &a).await;
    let (status, again) = add_guest(&app, "ADA@example.com", "Ada Lovelace", &b).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["data"][0]["id"], first["data"][0]["id"]);
    assert_eq!(again["data"][0]["name"], "Ada Lovelace");
    let (_, got) = app
        .get_json(&format!("/guests/{}", first["data"][0]["id"].as_str().unwrap()))
        .await;
    assert_eq!(got["data"]["name"], "Ada Lovelace");
}

async fn a_guest_token_is_told_it_cannot_call_a_key_route(db: Db) {
    let app = spawn_app(db).await;
    let sid = app.bare_space("One").await;
    let (_, created) = add_guest(&app, "ada@example.com", "Ada", &sid).await;
    let gid = created["data"][0]["id"].as_str().unwrap();
    let (_, token) = app.get_json(&format!("/guests/{gid}/token")).await;
    let token = token["data"]["token"].as_str().unwrap();
    let resp = app
        .client
        .get(app.url("/v1/guests"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    // A live guest token is a known caller refused the route: 403, not "who are you?".
    assert_eq!(resp.status().as_u16(), 403);
    let body = resp.text().await.unwrap();
    assert!(body.contains("guest tokens cannot call this route"), "{body}");
    let made_up = app
        .client
        .get(app.url("/v1/guests"))
        .bearer_auth("gt_not_a_token_anyone_was_given")
        .send()
        .await
        .unwrap();
    assert_eq!(made_up.status().as_u16(), 401);
    assert!(made_up
        .text()
        .await
        .unwrap()
        .contains("unknown, expired or revoked"));

    // Its link page does not claim it works once: it opens as often as needed.
    let page = new_client()
        .get(app.url(&format!("/guest-links/{token}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("works once"), "{page}");
    assert!(page.contains("as often as needed"), "{page}");
}

async fn a_guest_whose_last_space_is_deleted_is_signed_out(db: Db) {
    let app = spawn_app(db).await;
    let one = app.bare_space("One").await;
    let (_, created) = add_guest(&app, "ada@example.com", "Ada", &one).await;
    let gid = created["data"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.post_json("/invitations", &json!([{"guestId": gid, "spaceId": one}]))
            .await
            .0,
        200
    );
    let browser = new_client();
    let link = link_path(&newest_mail(&app).body);
    assert_eq!(
        open_link(&browser, &app.url(&link), &[]).await.status().as_u16(),
        303
    );
    assert_eq!(status_of(&browser, app.url("/guest")).await, 200);

    assert_eq!(app.delete(&format!("/spaces/{one}")).await.0, 200);
    let two = app.bare_space("Two").await;
    let (status, _) = add_guest(&app, "ada@example.com", "Ada", &two).await;
    assert_eq!(status, 200);
    assert_eq!(
        status_of(&browser, app.url(&format!("/guest/spaces/{two}"))).await,
        303,
        "the old session does not open the later space"
    );
}

/// A browser session opened with an API guest token ends when that token is revoked (its
/// guest taken out of the token's space), even while the guest keeps another space (probe
/// 51c 1: it kept opening the other space); a session from a mailed link to the space the
/// guest keeps stays.
async fn a_session_ends_with_the_api_token_that_opened_it(db: Db) {
    let app = spawn_app(db).await;
    let (a, b) = (app.bare_space("A").await, app.bare_space("B").await);
    let (status, created) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id.as_str(), "email": "two@example.com", "name": "Two",
                     "spaces": [{"id": a}, {"id": b}]}]),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let gid = created["data"][0]["id"].as_str().unwrap().to_string();
    let (_, token) = app.get_json(&format!("/guests/{gid}/token?spaceId={a}")).await;
    let token = token["data"]["token"].as_str().unwrap().to_string();
    let by_token = new_client();
    let opened = open_link(&by_token, &app.url(&format!("/guest-links/{token}")), &[]).await;
    assert_eq!(opened.status().as_u16(), 303);
    assert_eq!(invite(&app, &gid, &b).await.0, 200);
    let by_mail = new_client();
    let link = link_path(&newest_mail(&app).body);
    assert_eq!(
        open_link(&by_mail, &app.url(&link), &[]).await.status().as_u16(),
        303
    );
    for browser in [&by_token, &by_mail] {
        assert_eq!(
            status_of(browser, app.url(&format!("/guest/spaces/{b}"))).await,
            200
        );
    }

    let (status, body) = app.delete(&format!("/guests/{gid}?spaceId={a}")).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(
        status_of(&by_token, app.url(&format!("/guest/spaces/{b}"))).await,
        200,
        "the token's session ended with it"
    );
    assert_eq!(
        status_of(&by_mail, app.url(&format!("/guest/spaces/{b}"))).await,
        200,
        "the mailed link's session to the space kept"
    );
    // A session opened while its token was being revoked (the revoke's sweep of sessions
    // ran first: probe 52a 7) ends with the token all the same.
    let (_, token) = app.get_json(&format!("/guests/{gid}/token?spaceId={b}")).await;
    let token = token["data"]["token"].as_str().unwrap().to_string();
    let late = new_client();
    let opened = open_link(&late, &app.url(&format!("/guest-links/{token}")), &[]).await;
    assert_eq!(opened.status().as_u16(), 303);
    assert_eq!(
        status_of(&late, app.url(&format!("/guest/spaces/{b}"))).await,
        200
    );
    {
        use diesel::prelude::*;
        use wharf::db::schema::guest_links;
        let mut conn = app.pool.get().unwrap();
        diesel::update(guest_links::table.filter(guest_links::reusable.eq(true)))
            .set(guest_links::revoked_at.eq(chrono::Utc::now().naive_utc()))
            .execute(&mut *conn)
            .unwrap();
    }
    assert_ne!(
        status_of(&late, app.url(&format!("/guest/spaces/{b}"))).await,
        200
    );
}

/// Makes the guest's `lastAccessed` ten minutes old; returns it as the API shows it.
async fn age_last_access(app: &TestApp, gid: &str) -> String {
    {
        use diesel::RunQueryDsl;
        let mut conn = app.pool.get().unwrap();
        let old = (chrono::Utc::now().naive_utc() - chrono::TimeDelta::minutes(10))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        diesel::sql_query(format!(
            "UPDATE guest_spaces SET last_accessed_at = '{old}' WHERE guest_id = '{gid}'"
        ))
        .execute(&mut *conn)
        .unwrap();
    }
    last_access(app, gid).await
}

async fn last_access(app: &TestApp, gid: &str) -> String {
    let (_, got) = app.get_json(&format!("/guests/{gid}")).await;
    got["data"]["spaces"][0]["lastAccessed"]
        .as_str()
        .expect("lastAccessed")
        .to_string()
}

async fn last_accessed_follows_the_guests_requests(db: Db) {
    let app = spawn_app(db).await;
    let sid = app.bare_space("One").await;
    let (_, created) = add_guest(&app, "ada@example.com", "Ada", &sid).await;
    let gid = created["data"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(invite(&app, &gid, &sid).await.0, 200);
    let browser = new_client();
    let link = link_path(&newest_mail(&app).body);
    assert_eq!(
        open_link(&browser, &app.url(&link), &[]).await.status().as_u16(),
        303
    );

    let old = age_last_access(&app, &gid).await;
    assert_eq!(
        status_of(&browser, app.url(&format!("/guest/spaces/{sid}"))).await,
        200
    );
    let moved = last_access(&app, &gid).await;
    assert!(moved > old, "a browser request moves it: {old} -> {moved}");

    let (_, token) = app.get_json(&format!("/guests/{gid}/token?spaceId={sid}")).await;
    let token = token["data"]["token"].as_str().unwrap().to_string();
    let old = age_last_access(&app, &gid).await;
    let resp = app
        .client
        .get(app.url(&format!("/v1/spaces/{sid}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let moved = last_access(&app, &gid).await;
    assert!(
        moved > old,
        "an API guest token request moves it: {old} -> {moved}"
    );
}

async fn an_archived_space_is_closed_to_its_guests(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sid = space["id"].as_str().unwrap().to_string();
    let sheet = app.sheet_id(&space, "contacts").await;
    let other = app.bare_space("Other").await;
    let (_, created) = add_guest(&app, "ada@example.com", "Ada", &sid).await;
    let gid = created["data"][0]["id"].as_str().unwrap().to_string();
    let (status, again) = add_guest(&app, "ada@example.com", "Ada", &other).await;
    assert_eq!(status, 200, "a second space keeps the session alive: {again}");
    assert_eq!(invite(&app, &gid, &sid).await.0, 200);
    let browser = new_client();
    let link = link_path(&newest_mail(&app).body);
    assert_eq!(
        open_link(&browser, &app.url(&link), &[]).await.status().as_u16(),
        303
    );
    let (_, token) = app.get_json(&format!("/guests/{gid}/token?spaceId={sid}")).await;
    let token = token["data"]["token"].as_str().expect("token").to_string();
    let records = |token: &str| {
        app.client
            .get(app.url(&format!("/v1/sheets/{sheet}/records")))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(
        status_of(&browser, app.url(&format!("/guest/spaces/{sid}"))).await,
        200
    );
    assert_eq!(records(&token).await.unwrap().status().as_u16(), 200);
    let file = app.upload_and_extract(&sid, "a.csv", b"a\n1\n".to_vec()).await;
    let fid = file["id"].as_str().unwrap().to_string();
    let (_, jobs) = app.get_json(&format!("/jobs?fileId={fid}")).await;
    let job = jobs["data"][0]["id"].as_str().unwrap().to_string();
    let closed = [format!("/files/{fid}/download"), format!("/jobs/{job}")];
    for path in &closed {
        assert_eq!(status_of(&browser, app.url(path)).await, 200, "{path}");
    }

    assert_eq!(
        app.post_json(&format!("/spaces/{sid}/archive"), &json!({}))
            .await
            .0,
        200
    );
    let page = browser
        .get(app.url(&format!("/guest/spaces/{sid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 403);
    let text = page.text().await.unwrap();
    assert!(text.contains("this space was archived"), "{text}");
    let home = browser
        .get(app.url("/guest"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("Other") && !home.contains("Acme onboarding"),
        "{home}"
    );
    // Its files' and jobs' pages say so too, not "not found" (probe 61a D1).
    for path in &closed {
        let page = browser.get(app.url(path)).send().await.unwrap();
        assert_eq!(page.status().as_u16(), 403, "{path}");
        assert!(
            page.text().await.unwrap().contains("this space was archived"),
            "{path}"
        );
    }
    let api = records(&token).await.unwrap();
    assert_eq!(api.status().as_u16(), 403);
    assert!(api.text().await.unwrap().contains("this space was archived"));
    let upload = app
        .client
        .post(app.url("/v1/files"))
        .bearer_auth(&token)
        .multipart(
            reqwest::multipart::Form::new()
                .text("spaceId", sid.clone())
                .text("environmentId", app.env_id.to_string())
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(b"a\n1\n".to_vec()).file_name("x.csv"),
                ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status().as_u16(), 403, "no upload into it either");
    // Its jobs through the API say so too (probe 71a D2: "job not found", "source not found").
    let job_read = app
        .client
        .get(app.url(&format!("/v1/jobs/{job}")))
        .bearer_auth(&token);
    let job_made = app
        .client
        .post(app.url("/v1/jobs"))
        .bearer_auth(&token)
        .json(&json!({"type": "sheet", "operation": "doit", "source": sheet, "trigger": "manual"}));
    for call in [job_read, job_made] {
        let answer = call.send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 403);
        assert!(answer.text().await.unwrap().contains("this space was archived"));
    }
    let (_, files) = app.get_json(&format!("/files?spaceId={sid}")).await;
    assert_eq!(files["data"].as_array().unwrap().len(), 1, "the team's file only");

    assert_eq!(
        app.post_json(&format!("/spaces/{sid}/unarchive"), &json!({}))
            .await
            .0,
        200
    );
    assert_eq!(
        status_of(&browser, app.url(&format!("/guest/spaces/{sid}"))).await,
        200
    );
    assert_eq!(records(&token).await.unwrap().status().as_u16(), 200);
}

on_both!(
    an_archived_space_is_closed_to_its_guests,
    last_accessed_follows_the_guests_requests,
    names_with_line_breaks_are_refused,
    addresses_are_checked_before_anything_is_made,
    a_new_email_ends_what_went_to_the_old_one,
    adding_a_guest_again_takes_the_new_name,
    a_guest_token_is_told_it_cannot_call_a_key_route,
    a_guest_whose_last_space_is_deleted_is_signed_out,
    a_session_ends_with_the_api_token_that_opened_it,
);

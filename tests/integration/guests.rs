//! Guests: the API in Flatfile's shapes, invitations by mail (a real local SMTP server),
//! magic links (single use, expiry, revocation), and what a guest may reach.

use crate::helpers::*;
use crate::on_both;
use crate::smtp::SmtpSink;
use serde_json::{json, Value};

/// The `/guest-links/...` path in a mail's text.
pub(crate) fn link_path(body: &str) -> String {
    let start = body.find("/guest-links/").expect("a link in the mail");
    body[start..].split_whitespace().next().expect("link").to_string()
}

/// Two spaces from the contacts blueprint; the second is renamed "Other space".
async fn two_spaces(app: &TestApp) -> (Value, Value) {
    let a = app.space_from_blueprint().await;
    let b = app.space_from_blueprint().await;
    let (status, b) = app
        .patch_json(
            &format!("/spaces/{}", b["id"].as_str().unwrap()),
            &json!({"name": "Other space"}),
        )
        .await;
    assert_eq!(status, 200, "{b}");
    (a, b["data"].clone())
}

async fn workbook_id(app: &TestApp, space: &Value) -> String {
    let (_, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    wbs["data"][0]["id"].as_str().unwrap().to_string()
}

async fn one_record(app: &TestApp, sheet: &str, email: &str) -> String {
    let (status, inserted) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!([{"email": email}]))
        .await;
    assert_eq!(status, 200, "{inserted}");
    inserted["data"]["records"][0]["id"].as_str().unwrap().to_string()
}

pub(crate) async fn status_of(client: &reqwest::Client, url: String) -> u16 {
    client.get(url).send().await.unwrap().status().as_u16()
}

async fn the_api_speaks_flatfiles_guest_shapes(db: Db) {
    let app = spawn_app(db).await;
    let (a, b) = two_spaces(&app).await;
    let (sa, sb) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let env = app.env_id.as_str();

    // A grant of some workbooks or sheets of a space is refused, not widened to the space.
    for narrower in [
        json!({"id": sa, "workbooks": [{"id": "us_wb_x"}]}),
        json!({"id": sa, "sheets": [{"id": "us_sh_x"}]}),
    ] {
        let (status, refused) = app
            .post_json(
                "/guests",
                &json!([{"environmentId": env, "email": "Ada@Example.com", "name": "Ada", "spaces": [narrower]}]),
            )
            .await;
        assert_eq!(status, 422, "{refused}");
        assert!(
            refused["errors"][0]["key"]
                .as_str()
                .unwrap()
                .starts_with("spaces[0]."),
            "{refused}"
        );
    }
    let (_, none) = app.get_json("/guests").await;
    assert_eq!(none["data"], json!([]), "nothing was made");
    let (status, created) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": env, "email": "Ada@Example.com", "name": "Ada",
                     "spaces": [{"id": sa, "workbooks": []}]}]),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let g = &created["data"][0];
    let gid = g["id"].as_str().unwrap().to_string();
    assert!(gid.starts_with("us_g_"), "{g}");
    assert_eq!(g["email"], "ada@example.com");
    assert_eq!(g["environmentId"], env);
    assert_eq!(g["spaces"], json!([{"id": sa}]));
    assert!(g["createdAt"].as_str().unwrap().ends_with('Z'));

    let (_, listed) = app.get_json(&format!("/guests?spaceId={sa}")).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let (_, listed) = app
        .get_json(&format!("/guests?spaceId={sa}&email=ada%40example.com"))
        .await;
    assert_eq!(listed["data"][0]["id"], gid.as_str());
    let (_, none) = app.get_json(&format!("/guests?spaceId={sb}")).await;
    assert_eq!(none["data"], json!([]));

    let (status, patched) = app
        .patch_json(
            &format!("/guests/{gid}"),
            &json!({"name": "Ada L.", "spaces": [{"id": sa}, {"id": sb}]}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["data"]["name"], "Ada L.");
    assert_eq!(patched["data"]["spaces"].as_array().unwrap().len(), 2);

    let (status, token) = app.get_json(&format!("/guests/{gid}/token?spaceId={sa}")).await;
    assert_eq!(status, 200, "{token}");
    assert!(token["data"]["token"].as_str().unwrap().starts_with("gt_"));
    assert_eq!(token["data"]["valid"], true);

    let (status, sent) = app
        .post_json(
            "/invitations",
            &json!([{"guestId": gid, "spaceId": sa, "fromName": "Grace", "message": "Welcome aboard"}]),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent, json!({"data": {"success": true}}));
    let mails = wharf::mail::outbox::list(&wharf::mail::outbox::dir(&app.data_dir), 10).unwrap();
    assert_eq!(mails.len(), 1, "without SMTP the mail is in the outbox");
    assert!(mails[0].to.contains("ada@example.com"));
    assert_eq!(mails[0].subject, "Grace invited you to Acme onboarding");
    assert!(mails[0].body.contains("> Welcome aboard"), "{}", mails[0].body);
    assert!(mails[0].body.contains("/guest-links/gt_"), "{}", mails[0].body);

    let (status, _) = app.delete(&format!("/guests/{gid}?spaceId={sb}")).await;
    assert_eq!(status, 200);
    let (_, one) = app.get_json(&format!("/guests/{gid}")).await;
    assert_eq!(one["data"]["spaces"], json!([{"id": sa}]));

    let (status, removed) = app.delete(&format!("/guests/{gid}")).await;
    assert_eq!((status, removed), (200, json!({"data": {"success": true}})));
    let (status, _) = app.get_json(&format!("/guests/{gid}")).await;
    assert_eq!(status, 404);

    let (_, added) = app
        .get_json(&format!("/events?spaceId={sa}&topic=space:guestAdded"))
        .await;
    assert_eq!(added["data"].as_array().unwrap().len(), 1, "{added}");
    let (_, gone) = app
        .get_json(&format!("/events?spaceId={sa}&topic=space%3AguestRemoved"))
        .await;
    assert_eq!(gone["data"].as_array().unwrap().len(), 1, "{gone}");
    let (_, gone_b) = app
        .get_json(&format!("/events?spaceId={sb}&topic=space%3AguestRemoved"))
        .await;
    assert_eq!(gone_b["data"].as_array().unwrap().len(), 1, "{gone_b}");

    // Another environment's ID names nothing here.
    let (status, _) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": "us_env_other1", "email": "x@example.com", "name": "X", "spaces": [{"id": sa}]}]),
        )
        .await;
    assert_eq!(status, 404);
}

async fn an_invited_guest_opens_its_space_once_and_nothing_else(db: Db) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(db, move |s| s.smtp_url = Some(url)).await;
    let (a, b) = two_spaces(&app).await;
    let (sa, sb) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let (wa, wb) = (workbook_id(&app, &a).await, workbook_id(&app, &b).await);
    let (sheet_a, sheet_b) = (
        app.sheet_id(&a, "contacts").await,
        app.sheet_id(&b, "contacts").await,
    );
    let (rec_a, rec_b) = (
        one_record(&app, &sheet_a, "a@x.io").await,
        one_record(&app, &sheet_b, "b@x.io").await,
    );

    // An admin invites from the Guests tab.
    app.make_user("admin@example.com", true);
    app.sign_in("admin@example.com", PASSWORD).await;
    let csrf = app.csrf(&format!("/spaces/{sa}?tab=guests")).await;
    let resp = app
        .client
        .post(app.url(&format!("/spaces/{sa}/guests")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "guest@partner.example"),
            ("name", "Gus"),
            ("message", "Please fix the ages"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let tab = app.page(&format!("/spaces/{sa}?tab=guests")).await;
    assert!(
        tab.contains("guest@partner.example") && tab.contains("Gus"),
        "{tab}"
    );
    // Where it went, the page says (probe 57a: nothing was said).
    let went = resp.headers()["location"].to_str().unwrap().to_string();
    let said = app.page(&went).await;
    assert!(
        said.contains("Invitation sent to guest@partner.example."),
        "{went}: {said}"
    );
    // An id of no guest of the space says nothing.
    let other = app
        .page(&format!("/spaces/{sa}?tab=guests&sent=us_g_nothere1"))
        .await;
    assert!(!other.contains("Invitation sent"), "{other}");

    let mail = sink.wait_for(1).await;
    assert!(mail.to.contains("guest@partner.example"), "{}", mail.to);
    assert!(mail.body.contains("Please fix the ages"), "{}", mail.body);
    let link = link_path(&mail.body);

    // The guest, in its own browser.
    let guest = new_client();
    let shown = guest.get(app.url(&link)).send().await.unwrap();
    assert_eq!(shown.status().as_u16(), 200);
    assert!(shown.text().await.unwrap().contains("Open Acme onboarding"));
    let opened = open_link(&guest, &app.url(&link), &[]).await;
    assert_eq!(opened.status().as_u16(), 303);
    assert_eq!(opened.headers()["location"], "/guest");
    let home = guest.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        home.headers()["location"],
        "/guest",
        "a guest's home is its spaces"
    );
    let home = guest
        .get(app.url("/guest"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("Acme onboarding") && home.contains(&format!("/workbooks/{wa}")),
        "{home}"
    );
    assert!(!home.contains("Other space") && !home.contains(&wb), "{home}");
    assert!(
        !home.contains("/environments") && !home.contains("/space-configs"),
        "{home}"
    );

    // Its space: the grid, downloads, editing.
    assert_eq!(status_of(&guest, app.url(&format!("/workbooks/{wa}"))).await, 200);
    assert_eq!(
        status_of(&guest, app.url(&format!("/grid/{sheet_a}/download.csv"))).await,
        200
    );
    assert_eq!(
        status_of(&guest, app.url(&format!("/workbooks/{wa}/download.xlsx"))).await,
        200
    );
    let grid = guest
        .get(app.url(&format!("/workbooks/{wa}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = &meta_csrf(&grid);
    let saved = guest
        .put(app.url(&format!("/grid/{sheet_a}/records/{rec_a}")))
        .header("hx-request", "true")
        .header("x-csrf-token", token)
        .form(&[("field", "age"), ("value", "42")])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status().as_u16(), 200);
    let (_, records) = app.get_json(&format!("/sheets/{sheet_a}/records")).await;
    assert_eq!(
        records["data"]["records"][0]["values"]["age"]["value"], 42,
        "{records}"
    );

    // Space B's objects do not exist for this guest; team pages are not for guests.
    for path in [
        format!("/workbooks/{wb}"),
        format!("/grid/{sheet_b}/download.csv"),
        format!("/workbooks/{wb}/download.xlsx"),
        format!("/grid/{sheet_b}/records/{rec_b}"),
        format!("/grid/{sheet_b}/live"),
    ] {
        assert_eq!(status_of(&guest, app.url(&path)).await, 404, "{path}");
    }
    let other = guest
        .put(app.url(&format!("/grid/{sheet_b}/records/{rec_b}")))
        .header("hx-request", "true")
        .header("x-csrf-token", token)
        .form(&[("field", "age"), ("value", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
    for path in [
        format!("/spaces/{sa}"),
        "/spaces".to_string(),
        "/environments".to_string(),
        "/outbox".to_string(),
        "/space-configs".to_string(),
    ] {
        assert_eq!(
            status_of(&guest, app.url(&path)).await,
            303,
            "{path} sends a guest to sign in"
        );
    }
    assert_eq!(status_of(&guest, app.url(&format!("/v1/spaces/{sb}"))).await, 401);

    // The link worked once: another browser is told so.
    let fresh = new_client();
    let again = fresh.get(app.url(&link)).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 410);
    assert!(again.text().await.unwrap().contains("already used"));
    let again = fresh.post(app.url(&link)).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 410);
    // Clicked again in the browser it opened, it goes on to the guest's spaces (probe 57a:
    // the guest was told to ask for a new invitation).
    let again = guest.get(app.url(&link)).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 303);
    assert_eq!(again.headers()["location"], "/guest");

    // Removing the guest ends its session at once.
    let gid = {
        let (_, g) = app.get_json(&format!("/guests?spaceId={sa}")).await;
        g["data"][0]["id"].as_str().unwrap().to_string()
    };
    let csrf = app.csrf("/spaces").await;
    let removed = app
        .client
        .post(app.url(&format!("/spaces/{sa}/guests/{gid}/remove")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status().as_u16(), 303);
    // The guest is told its session ended and how to get back in, not asked for a password.
    let gone = guest
        .get(app.url(&format!("/workbooks/{wa}")))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status().as_u16(), 303);
    assert_eq!(gone.headers()["location"], "/guest/signed-out");
    let page = guest.get(app.url("/guest/signed-out")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("Your guest session has ended") && page.contains("new invitation link"),
        "{page}"
    );
    assert_eq!(status_of(&guest, app.url("/guest")).await, 303);
    // Later requests of that browser say so too (probe 68b D10), but its home is the
    // team's sign-in, for a team member using it (probe 68e D3).
    let again = guest
        .get(app.url(&format!("/workbooks/{wa}")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["location"], "/guest/signed-out");
    let home = guest.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.headers()["location"], "/spaces");
    let _ = sb;
}

async fn expired_replaced_and_unknown_links_get_their_pages(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sid = space["id"].as_str().unwrap();
    let (_, created) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id.as_str(), "email": "g@x.io", "name": "G", "spaces": [{"id": sid}]}]),
        )
        .await;
    let gid = created["data"][0]["id"].as_str().unwrap();
    let invite = json!([{"guestId": gid, "spaceId": sid}]);
    assert_eq!(app.post_json("/invitations", &invite).await.0, 200);
    assert_eq!(app.post_json("/invitations", &invite).await.0, 200);
    let dir = wharf::mail::outbox::dir(&app.data_dir);
    let mails = wharf::mail::outbox::list(&dir, 10).unwrap();
    assert_eq!(mails.len(), 2);
    // Newest first: the second invitation replaced the first.
    let (newer, older) = (link_path(&mails[0].body), link_path(&mails[1].body));
    let client = new_client();

    let resp = client.get(app.url(&older)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 410);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("no longer works") && html.contains("new link"),
        "{html}"
    );
    assert!(!html.contains("g@x.io"));

    let token = newer.trim_start_matches("/guest-links/");
    {
        let mut conn = app.pool.get().unwrap();
        assert_eq!(
            wharf::model::guest_link::expire_for_tests(&mut conn, token).unwrap(),
            1
        );
    }
    let resp = client.post(app.url(&newer)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 410);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("expired") && html.contains("invite you again"),
        "{html}"
    );
    assert!(resp_has_no_cookie(&client, &app).await);

    let resp = client
        .get(app.url("/guest-links/gt_NotARealTokenAtAllButLongEnough1234567890"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert!(resp.text().await.unwrap().contains("not valid"));
}

/// The client holds no guest session.
async fn resp_has_no_cookie(client: &reqwest::Client, app: &TestApp) -> bool {
    client
        .get(app.url("/guest"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
        == 303
}

async fn a_guest_token_reaches_only_its_spaces_through_the_api(db: Db) {
    let app = spawn_app(db).await;
    let (a, b) = two_spaces(&app).await;
    let (sa, sb) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let (sheet_a, sheet_b) = (
        app.sheet_id(&a, "contacts").await,
        app.sheet_id(&b, "contacts").await,
    );
    let wb = workbook_id(&app, &b).await;
    let (_, created) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id.as_str(), "email": "g@x.io", "name": "G", "spaces": [{"id": sa}]}]),
        )
        .await;
    let gid = created["data"][0]["id"].as_str().unwrap();
    let (_, token) = app.get_json(&format!("/guests/{gid}/token?spaceId={sa}")).await;
    let token = token["data"]["token"].as_str().unwrap().to_string();
    let as_guest = |method: reqwest::Method, path: &str| {
        app.client
            .request(method, app.url(&format!("/v1{path}")))
            .bearer_auth(&token)
    };
    let get = |path: String| send(as_guest(reqwest::Method::GET, &path));

    assert_eq!(get(format!("/spaces/{sa}")).await.0, 200);
    assert_eq!(get(format!("/sheets/{sheet_a}/records")).await.0, 200);
    let (status, _) = send(
        as_guest(reqwest::Method::POST, &format!("/sheets/{sheet_a}/records"))
            .json(&json!([{"email": "new@x.io"}])),
    )
    .await;
    assert_eq!(status, 200);
    let (_, listed) = get("/workbooks".into()).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["data"][0]["spaceId"], sa);

    for path in [
        format!("/spaces/{sb}"),
        format!("/workbooks?spaceId={sb}"),
        format!("/workbooks/{wb}"),
        format!("/sheets/{sheet_b}"),
        format!("/sheets/{sheet_b}/records"),
        format!("/sheets/{sheet_b}/counts"),
        format!("/sheets/{sheet_b}/download"),
    ] {
        assert_eq!(get(path.clone()).await.0, 404, "{path}");
    }
    let (status, _) = send(
        as_guest(reqwest::Method::POST, &format!("/sheets/{sheet_b}/records"))
            .json(&json!([{"email": "x@x.io"}])),
    )
    .await;
    assert_eq!(status, 404);
    for path in ["/environments", "/space-configs", "/guests", "/events"] {
        assert_eq!(get(path.to_string()).await.0, 403, "{path}");
    }
    // The spaces it lists are its own.
    let (status, listed) = get("/spaces".to_string()).await;
    assert_eq!(status, 200, "{listed}");
    assert!(!listed.to_string().contains(sb), "{listed}");
    assert!(listed.to_string().contains(sa), "{listed}");
    assert_eq!(get(format!("/guests/{gid}")).await.0, 403);

    // Another site's form cannot use a link in someone's browser: it lacks the page's token.
    let victim = new_client();
    let forged = victim
        .post(app.url(&format!("/guest-links/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert_eq!(
        status_of(&victim, app.url("/guest")).await,
        303,
        "no session opened"
    );

    // The same token opens the guest's access in a browser, more than once.
    let browser = new_client();
    for _ in 0..2 {
        let opened = open_link(&browser, &app.url(&format!("/guest-links/{token}")), &[]).await;
        assert_eq!(opened.status().as_u16(), 303);
    }

    // Taking the space away ends the token's access at once.
    assert_eq!(app.delete(&format!("/guests/{gid}?spaceId={sa}")).await.0, 200);
    assert_eq!(get(format!("/spaces/{sa}")).await.0, 401);
}

on_both!(
    the_api_speaks_flatfiles_guest_shapes,
    an_invited_guest_opens_its_space_once_and_nothing_else,
    expired_replaced_and_unknown_links_get_their_pages,
    a_guest_token_reaches_only_its_spaces_through_the_api,
);

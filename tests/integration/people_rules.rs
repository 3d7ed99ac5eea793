//! People: no one's password is taken over through an invitation link, and the admins
//! who count for "the last admin" are the ones who have joined.

use crate::helpers::*;
use crate::on_both;

async fn post_form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let csrf = app.csrf("/spaces").await;
    let mut all = vec![("csrf_token", csrf.as_str())];
    all.extend_from_slice(fields);
    app.client.post(app.url(path)).form(&all).send().await.unwrap()
}

fn user_id(app: &TestApp, email: &str) -> String {
    let mut conn = app.pool.get().unwrap();
    wharf::model::user::find_by_email(&mut conn, email)
        .unwrap()
        .expect("user")
        .id
        .to_string()
}

fn outbox(app: &TestApp) -> Vec<wharf::mail::outbox::ReadMail> {
    wharf::mail::outbox::list(&wharf::mail::outbox::dir(&app.data_dir), 10).unwrap()
}

async fn status(client: &reqwest::Client, url: &str) -> u16 {
    client.get(url).send().await.unwrap().status().as_u16()
}

async fn no_link_is_mailed_to_someone_who_has_a_password(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("admin@example.com", true);
    app.make_user("root@example.com", true);
    app.sign_in("admin@example.com", PASSWORD).await;
    let root_browser = app.clone_with_new_client();
    root_browser.sign_in("root@example.com", PASSWORD).await;
    let root = user_id(&app, "root@example.com");

    let resp = post_form(&app, &format!("/people/{root}/invite"), &[]).await;
    assert_eq!(resp.status().as_u16(), 409);
    let page = resp.text().await.unwrap();
    assert!(page.contains("has a password already"), "{page}");
    assert!(
        outbox(&app).is_empty(),
        "no set-password link was written to the Outbox"
    );

    let again = app.clone_with_new_client();
    assert_eq!(
        again
            .sign_in("root@example.com", PASSWORD)
            .await
            .status()
            .as_u16(),
        303
    );
    assert_eq!(status(&root_browser.client, &app.url("/spaces")).await, 200);
}

async fn setting_a_password_ends_every_other_session(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("admin@example.com", true);
    app.sign_in("admin@example.com", PASSWORD).await;
    let resp = post_form(
        &app,
        "/people",
        &[("email", "bob@example.com"), ("role", "member")],
    )
    .await;
    assert_eq!(resp.status().as_u16(), 303);
    let body = outbox(&app).first().expect("a mail").body.clone();
    let start = body.find("/invites/").expect("a link");
    let link = body[start..].split_whitespace().next().unwrap().to_string();

    // A session Bob's account had before the password was set (however it came about).
    let old_token = {
        let mut conn = app.pool.get().unwrap();
        let bob = wharf::model::user::find_by_email(&mut conn, "bob@example.com")
            .unwrap()
            .unwrap();
        wharf::model::session::create(&mut conn, &bob.id).unwrap()
    };
    let old = new_client();
    let with_old = |path: &str| {
        old.get(app.url(path))
            .header("Cookie", format!("wharf_session={old_token}"))
            .send()
    };
    assert_eq!(with_old("/spaces").await.unwrap().status().as_u16(), 200);

    let bob = new_client();
    let set = open_link(
        &bob,
        &app.url(&link),
        &[
            ("password", "a brand new password"),
            ("confirm", "a brand new password"),
        ],
    )
    .await;
    assert_eq!(set.status().as_u16(), 303);
    assert_eq!(
        status(&bob, &app.url("/spaces")).await,
        200,
        "the link signed Bob in"
    );
    assert_eq!(
        with_old("/spaces").await.unwrap().status().as_u16(),
        303,
        "the session from before the password was set ended"
    );
}

async fn the_last_admin_is_the_last_one_who_has_joined(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("admin@example.com", true);
    app.sign_in("admin@example.com", PASSWORD).await;
    let resp = post_form(
        &app,
        "/people",
        &[("email", "new@example.com"), ("role", "admin")],
    )
    .await;
    assert_eq!(resp.status().as_u16(), 303);
    let (admin, invited) = (
        user_id(&app, "admin@example.com"),
        user_id(&app, "new@example.com"),
    );

    let resp = post_form(&app, &format!("/people/{admin}/role"), &[("role", "member")]).await;
    assert_eq!(resp.status().as_u16(), 422, "the invited admin has not joined");
    assert!(resp.text().await.unwrap().contains("at least one admin"));
    let resp = post_form(&app, &format!("/people/{admin}/remove"), &[]).await;
    assert_eq!(resp.status().as_u16(), 422);
    assert_eq!(
        status(&app.client, &app.url("/people")).await,
        200,
        "still an admin"
    );

    // The admin who has not joined may be demoted or removed.
    let link = crate::people::newest_invite_link(&app);
    let resp = post_form(&app, &format!("/people/{invited}/role"), &[("role", "member")]).await;
    assert_eq!(resp.status().as_u16(), 303);
    let resp = post_form(&app, &format!("/people/{invited}/remove"), &[]).await;
    assert_eq!(resp.status().as_u16(), 303);
    // Their link says it was withdrawn, not replaced (probe 72b D6).
    let page = reqwest::Client::new().get(app.url(&link)).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 410);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("This invitation was withdrawn") && !page.contains("replaced"),
        "{page}"
    );
}

/// `wharf user create` checks the address as the pages do, and makes nobody when it is bad.
async fn the_cli_refuses_an_address_that_is_not_one(db: Db) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let (settings, _dir) = test_settings(db);
    wharf::app::prepare_database(&settings).expect("a migrated database");
    let create = |email: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wharf"))
            .args(["user", "create", "--email", email, "--admin"])
            .env("DATABASE_URL", &settings.database_url)
            .env("WHARF_DATA_DIR", &settings.data_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("wharf runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"a long enough password\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for bad in [
        "a@b.c,victim@other.io",
        "<img src=x>@example.com",
        "\"q\"@example.com",
    ] {
        let (ok, err) = create(bad);
        assert!(!ok, "{bad} was accepted");
        assert!(err.contains("is not an email address"), "{err}");
    }
    let (ok, err) = create("ada@example.com");
    assert!(ok, "{err}");
    let pool = wharf::db::build_pool(&settings.database_url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    assert_eq!(
        wharf::model::user::count(&mut conn).unwrap(),
        1,
        "only the good one"
    );
}

on_both!(
    the_cli_refuses_an_address_that_is_not_one,
    no_link_is_mailed_to_someone_who_has_a_password,
    setting_a_password_ends_every_other_session,
    the_last_admin_is_the_last_one_who_has_joined,
);

//! The People page: team invitations by email (a link to set a password), roles, removal,
//! and the last admin who stays.

use crate::helpers::*;
use crate::on_both;

/// The `/invites/...` path in the newest outbox message.
pub(crate) fn newest_invite_link(app: &TestApp) -> String {
    let mails = wharf::mail::outbox::list(&wharf::mail::outbox::dir(&app.data_dir), 10).unwrap();
    let body = &mails.first().expect("a mail").body;
    let start = body.find("/invites/").expect("a link");
    let link = body[start..].split_whitespace().next().unwrap().to_string();
    // Not a guest's prefix (probe 51c 3).
    assert!(link.starts_with("/invites/ti_"), "{link}");
    link
}

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

async fn an_invited_member_sets_a_password_once_and_signs_in(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("admin@example.com", true);
    app.sign_in("admin@example.com", PASSWORD).await;
    let resp = post_form(
        &app,
        "/people",
        &[("email", "Bob@Example.com"), ("role", "member")],
    )
    .await;
    assert_eq!(resp.status().as_u16(), 303);
    // Said once, where it goes (probe 72b D4: nothing said a mail went out).
    let went = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(app
        .page(&went)
        .await
        .contains("Invitation sent to bob@example.com."));
    let people = app.page("/people").await;
    assert!(
        people.contains("bob@example.com") && people.contains("invited"),
        "{people}"
    );
    // Invited again: the way on, and the form as typed (probe 72b D5, D11).
    let again = post_form(
        &app,
        "/people",
        &[("email", "bob@example.com"), ("role", "admin")],
    )
    .await;
    assert_eq!(again.status().as_u16(), 422);
    let again = again.text().await.unwrap();
    assert!(
        again.contains("bob@example.com is invited already and has not joined yet"),
        "{again}"
    );
    assert!(
        again.contains(r#"value="bob@example.com" required"#)
            && again.contains(r#"<option value="admin" selected>"#),
        "{again}"
    );

    // Sent again, the first link says a newer one replaced it, in a member's words, not a
    // guest's about a space (probe 58b F14).
    let first = newest_invite_link(&app);
    let bob = user_id(&app, "bob@example.com");
    let resent = post_form(&app, &format!("/people/{bob}/invite"), &[]).await;
    assert_eq!(resent.status().as_u16(), 303);
    let went = resent.headers()["location"].to_str().unwrap().to_string();
    assert!(app
        .page(&went)
        .await
        .contains("A new link was sent to bob@example.com"));
    let link = newest_invite_link(&app);
    assert_ne!(link, first);
    let replaced = new_client().get(app.url(&first)).send().await.unwrap();
    assert_eq!(replaced.status().as_u16(), 410);
    let replaced = replaced.text().await.unwrap();
    assert!(
        replaced.contains("This invitation no longer works")
            && replaced.contains("A newer invitation replaced it"),
        "{replaced}"
    );
    assert!(!replaced.contains("space"), "{replaced}");

    // Not a password anyone knows until the link is used.
    let outsider = new_client();
    let form = outsider.get(app.url(&link)).send().await.unwrap();
    assert_eq!(form.status().as_u16(), 200);
    assert!(form.text().await.unwrap().contains("bob@example.com"));
    let forged = new_client()
        .post(app.url(&link))
        .form(&[
            ("password", "a forged password!"),
            ("confirm", "a forged password!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status().as_u16(),
        403,
        "another site's form lacks the page's token"
    );
    let short = open_link(
        &outsider,
        &app.url(&link),
        &[("password", "short"), ("confirm", "short")],
    )
    .await;
    assert_eq!(
        short.status().as_u16(),
        422,
        "a weak password does not use the link"
    );
    let set = open_link(
        &outsider,
        &app.url(&link),
        &[
            ("password", "a brand new password"),
            ("confirm", "a brand new password"),
        ],
    )
    .await;
    assert_eq!(set.status().as_u16(), 303);
    assert_eq!(
        outsider
            .get(app.url("/spaces"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200,
        "the link signed Bob in"
    );
    // Opened again, the used invitation says to sign in with that password.
    let again = new_client().get(app.url(&link)).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 410);
    let again = again.text().await.unwrap();
    assert!(
        again.contains("sign in with your email") && again.contains("wharf user password"),
        "{again}"
    );
    assert_eq!(
        outsider
            .get(app.url("/people"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403,
        "members do not manage people"
    );
    let again = new_client()
        .post(app.url(&link))
        .form(&[
            ("password", "another password!"),
            ("confirm", "another password!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 410);
    assert!(again.text().await.unwrap().contains("already used"));

    let bob = app.clone_with_new_client();
    assert_eq!(
        bob.sign_in("bob@example.com", "a brand new password")
            .await
            .status()
            .as_u16(),
        303
    );
    assert!(!app.page("/people").await.contains(">invited<"));
}

async fn roles_change_and_the_last_admin_stays(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("admin@example.com", true);
    app.make_user("carol@example.com", false);
    app.sign_in("admin@example.com", PASSWORD).await;
    let (admin, carol) = (
        user_id(&app, "admin@example.com"),
        user_id(&app, "carol@example.com"),
    );

    let carol_browser = app.clone_with_new_client();
    carol_browser.sign_in("carol@example.com", PASSWORD).await;
    assert_eq!(
        carol_browser
            .client
            .get(app.url("/environments"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    // A member cannot change roles.
    let csrf = carol_browser.csrf("/spaces").await;
    let refused = carol_browser
        .client
        .post(app.url(&format!("/people/{carol}/role")))
        .form(&[("csrf_token", csrf.as_str()), ("role", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let said = refused.text().await.unwrap();
    assert!(
        said.contains("only admins can manage people"),
        "says what was refused: {said}"
    );

    // The only admin can be neither demoted nor removed.
    let resp = post_form(&app, &format!("/people/{admin}/role"), &[("role", "member")]).await;
    assert_eq!(resp.status().as_u16(), 422);
    assert!(resp.text().await.unwrap().contains("at least one admin"));
    let resp = post_form(&app, &format!("/people/{admin}/remove"), &[]).await;
    assert_eq!(resp.status().as_u16(), 422);

    // With a second admin, the first may step down.
    let resp = post_form(&app, &format!("/people/{carol}/role"), &[("role", "admin")]).await;
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(
        carol_browser
            .client
            .get(app.url("/environments"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200,
        "the new role applies at once"
    );
    let resp = post_form(&app, &format!("/people/{admin}/role"), &[("role", "member")]).await;
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(
        app.client
            .get(app.url("/people"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );

    // Carol, now the only admin, removes the first admin: their session ends at once.
    let csrf = carol_browser.csrf("/spaces").await;
    let removed = carol_browser
        .client
        .post(app.url(&format!("/people/{admin}/remove")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status().as_u16(), 303);
    assert_eq!(
        app.client
            .get(app.url("/spaces"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        303
    );
    let people = carol_browser.page("/people").await;
    assert!(!people.contains("admin@example.com"), "{people}");
}

/// A person removed takes the invitations they sent and nobody used with them (probe 67a
/// D6: a removed admin's pending admin invitation still made an admin); those another
/// admin sent still work.
async fn a_removed_admins_pending_invitations_stop_working(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("admin@example.com", true);
    app.make_user("second@example.com", true);
    app.sign_in("second@example.com", PASSWORD).await;
    let resp = post_form(
        &app,
        "/people",
        &[("email", "evil@example.com"), ("role", "admin")],
    )
    .await;
    assert_eq!(resp.status().as_u16(), 303);
    let theirs = newest_invite_link(&app);
    app.sign_in("admin@example.com", PASSWORD).await;
    let resp = post_form(
        &app,
        "/people",
        &[("email", "fine@example.com"), ("role", "member")],
    )
    .await;
    assert_eq!(resp.status().as_u16(), 303);
    let kept = newest_invite_link(&app);
    let second = user_id(&app, "second@example.com");
    let resp = post_form(&app, &format!("/people/{second}/remove"), &[]).await;
    assert_eq!(resp.status().as_u16(), 303);
    let gone = new_client().get(app.url(&theirs)).send().await.unwrap();
    assert_eq!(gone.status().as_u16(), 410, "the removed admin's invitation");
    let set = [
        ("password", "a long new password"),
        ("confirm", "a long new password"),
    ];
    let tried = new_client()
        .post(app.url(&theirs))
        .form(&set)
        .send()
        .await
        .unwrap();
    assert_eq!(tried.status().as_u16(), 410);
    let works = new_client().get(app.url(&kept)).send().await.unwrap();
    assert_eq!(works.status().as_u16(), 200, "another admin's invitation");
    // Sent again by an admin who stays, it works.
    let evil = user_id(&app, "evil@example.com");
    let resent = post_form(&app, &format!("/people/{evil}/invite"), &[]).await;
    assert_eq!(resent.status().as_u16(), 303);
    let again = new_client()
        .get(app.url(&newest_invite_link(&app)))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 200);
}

/// A link whose inviter was removed while its mail was on the way is stored withdrawn, and
/// the person's earlier link stays as it was (probe 68a D2: the removal withdrew the
/// inviter's links, then the mail's own was stored working).
async fn a_link_mailed_as_its_inviter_is_removed_is_stored_withdrawn(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("admin@example.com", true);
    app.sign_in("admin@example.com", PASSWORD).await;
    let resp = post_form(
        &app,
        "/people",
        &[("email", "late@example.com"), ("role", "admin")],
    )
    .await;
    assert_eq!(resp.status().as_u16(), 303);
    let earlier = newest_invite_link(&app);
    // What the mail of a removed inviter stores once the mail server took it.
    let late = wharf::ids::UserId::parse(&user_id(&app, "late@example.com")).unwrap();
    let token = wharf::model::guest_link::new_team_token();
    {
        let mut conn = app.pool.get().unwrap();
        wharf::model::team::store_invite(&mut conn, &token, &late, "removed@example.com", 24).unwrap();
    }
    let withdrawn = new_client()
        .get(app.url(&format!("/invites/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(withdrawn.status().as_u16(), 410);
    let works = new_client().get(app.url(&earlier)).send().await.unwrap();
    assert_eq!(
        works.status().as_u16(),
        200,
        "the earlier link of an admin who stays"
    );
}

on_both!(
    an_invited_member_sets_a_password_once_and_signs_in,
    roles_change_and_the_last_admin_stays,
    a_removed_admins_pending_invitations_stop_working,
    a_link_mailed_as_its_inviter_is_removed_is_stored_withdrawn,
);

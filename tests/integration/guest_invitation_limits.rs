//! Invitations are mail sent in Wharf's name: an archived space gets none (its link could
//! not open it, and a link mailed before it was archived is not used up on it), and one
//! sender or one address gets only so many at a time (probe 48d F1, F2).

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

fn mails(app: &TestApp) -> Vec<wharf::mail::outbox::ReadMail> {
    wharf::mail::outbox::list(&wharf::mail::outbox::dir(&app.data_dir), 1000).unwrap()
}

async fn add_guest(app: &TestApp, email: &str, space: &str) -> String {
    let (status, created) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id.as_str(), "email": email, "name": "Ada",
                     "spaces": [{"id": space}]}]),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    created["data"][0]["id"].as_str().unwrap().to_string()
}

async fn invite(app: &TestApp, body: Value) -> (u16, Value) {
    app.post_json("/invitations", &body).await
}

async fn an_archived_space_sends_no_invitation_and_spends_no_link(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Closed for now").await;
    let gid = add_guest(&app, "ada@example.com", &space).await;
    assert_eq!(
        invite(&app, json!([{"guestId": gid, "spaceId": space}])).await.0,
        200
    );
    let mailed = mails(&app);
    assert_eq!(mailed.len(), 1);
    let link = crate::guests::link_path(&mailed[0].body);
    // The guest looks at its link's page before the space is archived, and presses its
    // button after.
    let browser = new_client();
    let page = browser
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link_csrf = form_csrf(&page);
    let (status, body) = app
        .post_json(&format!("/spaces/{space}/archive"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");

    // The API and the Guests tab refuse to invite to it, and nothing is mailed.
    let (status, body) = invite(&app, json!([{"guestId": gid, "spaceId": space}])).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("is archived"), "{body}");
    app.make_user("admin@example.com", true);
    app.sign_in("admin@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("email", "new@example.com"),
        ("name", "New"),
    ];
    let resp = app
        .client
        .post(app.url(&format!("/spaces/{space}/guests")))
        .form(&form)
        .send()
        .await
        .unwrap();
    let page = resp.text().await.unwrap();
    assert!(page.contains("is archived"), "{page}");
    assert_eq!(mails(&app).len(), 1, "nothing more was mailed");
    let (_, guests) = app.get_json(&format!("/guests?spaceId={space}")).await;
    assert_eq!(
        guests["data"].as_array().unwrap().len(),
        1,
        "no guest was added: {guests}"
    );

    // The link mailed before says the space is closed, and pressing it uses nothing up.
    let pressed = browser
        .post(app.url(&link))
        .form(&[("csrf_token", link_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(pressed.status().as_u16(), 403);
    assert!(pressed.text().await.unwrap().contains("closed for now"));
    let shown = browser.get(app.url(&link)).send().await.unwrap();
    assert_eq!(shown.status().as_u16(), 403);
    assert!(shown.text().await.unwrap().contains("closed for now"));
    let (status, body) = app
        .post_json(&format!("/spaces/{space}/unarchive"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let opened = open_link(&browser, &app.url(&link), &[]).await;
    assert_eq!(
        opened.status().as_u16(),
        303,
        "the link still opens the space once it is back"
    );
}

async fn invitations_are_limited_per_address_and_repeats_go_once(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Partners").await;
    let gid = add_guest(&app, "ada@example.com", &space).await;

    // The same guest and space fifty times in one call: one mail.
    let same: Vec<Value> = (0..50)
        .map(|_| json!({"guestId": gid, "spaceId": space}))
        .collect();
    let (status, body) = invite(&app, Value::Array(same)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(mails(&app).len(), 1);

    // Ten to one address within the window, then a 429 saying when, and nothing sent.
    for n in 2..=wharf::ops::invitations::PER_RECIPIENT {
        let (status, body) = invite(&app, json!([{"guestId": gid, "spaceId": space}])).await;
        assert_eq!(status, 200, "invitation {n}: {body}");
    }
    assert_eq!(mails(&app).len(), wharf::ops::invitations::PER_RECIPIENT);
    let resp = app
        .client
        .post(app.url("/v1/invitations"))
        .bearer_auth(&app.key)
        .json(&json!([{"guestId": gid, "spaceId": space}]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let wait: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&wait), "{wait}");
    let body: Value = resp.json().await.unwrap();
    assert!(body.to_string().contains("too many invitations"), "{body}");
    assert_eq!(
        mails(&app).len(),
        wharf::ops::invitations::PER_RECIPIENT,
        "nothing more was sent"
    );

    // The Guests tab's new link is refused the same way, and says so, not that the guest
    // was just added (probe 66c D1).
    app.make_user("admin@example.com", true);
    app.sign_in("admin@example.com", PASSWORD).await;
    let csrf = app.csrf(&format!("/spaces/{space}?tab=guests")).await;
    let page = app
        .client
        .post(app.url(&format!("/spaces/{space}/guests/{gid}/invite")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("No new link was sent to ada@example.com") && page.contains("too many invitations"),
        "{page}"
    );
    assert!(!page.contains("was added to the space"), "{page}");

    // Nor is the same inbox under a `+tag` (probe 49a F2).
    let tagged = add_guest(&app, "Ada+2@Example.com", &space).await;
    let (status, body) = invite(&app, json!([{"guestId": tagged, "spaceId": space}])).await;
    assert_eq!(status, 429, "{body}");

    // Another address is not held by this one's limit.
    let other = add_guest(&app, "grace@example.com", &space).await;
    let (status, body) = invite(&app, json!([{"guestId": other, "spaceId": space}])).await;
    assert_eq!(status, 200, "{body}");
}

/// The People page's links to join the team count the same way (probe 49a F3).
async fn team_invitations_are_limited_too(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("admin@example.com", true);
    app.sign_in("admin@example.com", PASSWORD).await;
    let csrf = app.csrf("/people").await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("email", "bob@example.com"),
        ("role", "member"),
    ];
    let added = app
        .client
        .post(app.url("/people"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(added.status().is_redirection(), "{}", added.status());
    let people = app.page("/people").await;
    let bob = people.find("bob@example.com").expect("bob's row");
    let at = bob + people[bob..].find("/people/us_usr_").expect("bob's buttons");
    let id: String = people[at + 8..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let resend = || {
        app.client
            .post(app.url(&format!("/people/{id}/invite")))
            .form(&[("csrf_token", csrf.as_str())])
            .send()
    };
    for _ in 1..wharf::ops::invitations::PER_RECIPIENT {
        let r = resend().await.unwrap();
        assert!(r.status().is_redirection(), "{}", r.status());
    }
    assert_eq!(mails(&app).len(), wharf::ops::invitations::PER_RECIPIENT);
    let refused = resend().await.unwrap().text().await.unwrap();
    assert!(
        refused.contains("was not sent a link") && refused.contains("too many invitations"),
        "{refused}"
    );
    assert_eq!(mails(&app).len(), wharf::ops::invitations::PER_RECIPIENT);
}

on_both!(
    team_invitations_are_limited_too,
    an_archived_space_sends_no_invitation_and_spends_no_link,
    invitations_are_limited_per_address_and_repeats_go_once,
);

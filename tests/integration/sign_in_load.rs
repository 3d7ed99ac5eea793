//! Sign-ins under pressure: a flood of wrong passwords does not take the database from
//! everyone else (the hash is checked holding no connection), and signing in while an
//! admin removes that person answers as a wrong password would, never 500.

use crate::helpers::*;
use crate::on_both;
use std::time::{Duration, Instant};

on_both!(
    a_flood_of_wrong_sign_ins_leaves_the_database_to_others,
    signing_in_while_being_removed_is_refused_cleanly,
);

/// A browser with the sign-in form open: its client (holding the form's cookie) and token.
async fn sign_in_form(app: &TestApp) -> (reqwest::Client, String) {
    let browser = app.clone_with_new_client();
    let token = form_csrf(&browser.page("/sign-in").await);
    (browser.client, token)
}

async fn post_sign_in(
    app: &TestApp,
    client: &reqwest::Client,
    token: &str,
    email: &str,
    password: &str,
) -> u16 {
    client
        .post(app.url("/sign-in"))
        .form(&[("csrf_token", token), ("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn a_flood_of_wrong_sign_ins_leaves_the_database_to_others(db: Db) {
    // Two connections: hashes holding them (tens of milliseconds each) would queue every
    // other request behind the flood.
    let app = spawn_app_with(db, |s| s.pool_size = 2).await;
    let mut forms = Vec::new();
    for _ in 0..90 {
        forms.push(sign_in_form(&app).await);
    }
    let flood = futures_util::future::join_all(forms.iter().enumerate().map(|(i, (client, token))| {
        let app = &app;
        async move {
            post_sign_in(
                app,
                client,
                token,
                &format!("nobody{i}@example.com"),
                "wrong password 1",
            )
            .await
        }
    }));
    let reads = async {
        let mut slowest = Duration::ZERO;
        for _ in 0..20 {
            let started = Instant::now();
            let (status, body) = app.get_json("/spaces").await;
            assert_eq!(status, 200, "{body}");
            slowest = slowest.max(started.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        slowest
    };
    let (answers, slowest) = tokio::join!(flood, reads);
    assert!(answers.iter().all(|s| *s == 401), "{answers:?}");
    assert!(
        slowest < Duration::from_millis(1000),
        "an API read waited {slowest:?} behind the sign-ins"
    );
}

async fn signing_in_while_being_removed_is_refused_cleanly(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("admin@example.com", true);
    app.sign_in("admin@example.com", PASSWORD).await;
    for round in 0..8u64 {
        let email = format!("leaving{round}@example.com");
        app.make_user(&email, false);
        let id = {
            let mut conn = app.pool.get().unwrap();
            wharf::model::user::find_by_email(&mut conn, &email)
                .unwrap()
                .unwrap()
                .id
                .to_string()
        };
        let (client, token) = sign_in_form(&app).await;
        let csrf = app.csrf("/spaces").await;
        let remove = async {
            tokio::time::sleep(Duration::from_millis(round * 4)).await;
            app.client
                .post(app.url(&format!("/people/{id}/remove")))
                .form(&[("csrf_token", csrf.as_str())])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        };
        let (signed_in, removed) =
            tokio::join!(post_sign_in(&app, &client, &token, &email, PASSWORD), remove);
        assert_eq!(removed, 303, "round {round}");
        assert!(
            signed_in == 303 || signed_in == 401,
            "round {round}: sign-in answered {signed_in}"
        );
        // Whichever came first, the removed person holds no session.
        let home = client.get(app.url("/spaces")).send().await.unwrap();
        assert_ne!(
            home.status(),
            200,
            "round {round}: a removed person's session lives on"
        );
    }
}

//! Sign-in protections and the headers every page carries.

use crate::helpers::*;
use crate::on_both;

fn has_session_cookie(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap_or_default().starts_with("wharf_session="))
}

fn form_token(html: &str) -> String {
    let needle = "name=\"csrf_token\" value=\"";
    let start = html.find(needle).expect("token field") + needle.len();
    html[start..start + html[start..].find('"').expect("end")].to_string()
}

async fn sign_in_needs_the_token_of_its_own_form(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);

    // Another site's form (login CSRF) carries no token, and the browser sends no cookie.
    let forged = app
        .client
        .post(app.url("/sign-in"))
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert!(!has_session_cookie(&forged), "no session from a forged form");
    let again = forged.text().await.unwrap();
    assert!(again.contains("The sign-in form expired"), "{again}");

    // A token read by another browser does not fit this browser's cookie.
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let other_html = other
        .get(app.url("/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let foreign = app
        .sign_in_with(&form_token(&other_html), "ada@example.com", PASSWORD)
        .await;
    assert_eq!(foreign.status().as_u16(), 403);
    assert!(!has_session_cookie(&foreign));
    let spaces = app.client.get(app.url("/spaces")).send().await.unwrap();
    assert_eq!(spaces.status().as_u16(), 303, "still signed out");

    // The refused form came back with a token that works: the person just signs in again.
    let ok = app
        .sign_in_with(&form_token(&again), "ada@example.com", PASSWORD)
        .await;
    assert_eq!(ok.status().as_u16(), 303);
    assert!(has_session_cookie(&ok));
    let page = app.client.get(app.url("/spaces")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
}

async fn every_page_refuses_framing_and_sniffing_under_a_strict_policy(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    let check = |resp: &reqwest::Response| {
        let h = resp.headers();
        let what = resp.url().path().to_string();
        assert_eq!(h["x-frame-options"], "DENY", "{what}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
        let csp = h["content-security-policy"].to_str().unwrap();
        for part in [
            "frame-ancestors 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "default-src 'none'",
        ] {
            assert!(csp.contains(part), "{what}: {csp}");
        }
        assert!(!csp.contains("unsafe-"), "{what}: {csp}");
        // Pages (a new key's secret among them) are kept in no cache; only assets are.
        let cache = h["cache-control"].to_str().unwrap();
        match what.starts_with("/assets/") {
            true => assert!(cache.starts_with("public"), "{what}: {cache}"),
            false => assert_eq!(cache, "no-store", "{what}"),
        }
    };
    check(&app.client.get(app.url("/sign-in")).send().await.unwrap());
    app.sign_in("ada@example.com", PASSWORD).await;
    for path in ["/spaces", "/environments", "/no-such-page", "/assets/app.js"] {
        check(&app.client.get(app.url(path)).send().await.unwrap());
    }
    // The pages need no inline code: no handler attributes, no eval'd trigger filters.
    let html = app.page("/spaces").await;
    assert!(
        !html.contains("onchange=") && !html.contains("onclick="),
        "{html}"
    );
    assert!(
        html.contains("\"includeIndicatorStyles\":false"),
        "htmx adds no inline style"
    );
}

/// A client of its own from another local address, and the token of the sign-in form it
/// opened.
async fn sign_in_form_from(app: &TestApp, address: [u8; 4]) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(address))
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = client
        .get(app.url("/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let needle = "name=\"csrf_token\" value=\"";
    let start = html.find(needle).expect("token field") + needle.len();
    let token = html[start..start + html[start..].find('"').unwrap()].to_string();
    (client, token)
}

async fn sign_in_refuses_at_once_over_the_limit_without_locking_out_others(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", false);
    app.make_user("bob@example.com", false);
    let token = app.sign_in_token().await;

    // 40 guesses at one account, all at once: the account's 10 attempts are checked, the
    // rest refused at once, without waiting and without hashing.
    let started = std::time::Instant::now();
    let guesses = (0..40).map(|i| {
        let (app, token) = (&app, token.clone());
        async move {
            let resp = app
                .sign_in_with(&token, "ada@example.com", &format!("guess number {i}"))
                .await;
            let retry = resp
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            (resp.status().as_u16(), retry)
        }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let checked = answers.iter().filter(|(s, _)| *s == 401).count();
    let refused: Vec<_> = answers.iter().filter(|(s, _)| *s == 429).collect();
    assert_eq!((checked, refused.len()), (10, 30), "{answers:?}");
    for (_, retry) in &refused {
        let retry = retry.expect("a refusal says when to retry");
        assert!((1..=900).contains(&retry), "Retry-After {retry}");
    }
    assert!(started.elapsed().as_secs() < 10, "took {:?}", started.elapsed());

    // Refused at once now, even with the right password, and the page says why.
    let t = std::time::Instant::now();
    let locked = app.sign_in_with(&token, "ada@example.com", PASSWORD).await;
    assert_eq!(locked.status().as_u16(), 429);
    assert!(t.elapsed().as_millis() < 500, "{:?}", t.elapsed());
    assert!(locked
        .text()
        .await
        .unwrap()
        .contains("Too many failed sign-ins. Try again in 15 minutes."));

    // Ada herself, from another address, signs in: guesses from one address lock the
    // account there only (a stranger who knows her email cannot lock her out).
    let (elsewhere, own_token) = sign_in_form_from(&app, [127, 0, 0, 2]).await;
    let own_token = own_token.as_str();
    let ada = elsewhere
        .post(app.url("/sign-in"))
        .form(&[
            ("csrf_token", own_token),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ada.status().as_u16(), 303);

    // Someone else behind the same address signs into their own account at once.
    let t = std::time::Instant::now();
    let bob = app.sign_in_with(&token, "bob@example.com", PASSWORD).await;
    assert_eq!(bob.status().as_u16(), 303);
    assert!(t.elapsed().as_secs() < 3, "{:?}", t.elapsed());
}

/// Behind a trusted reverse proxy the sign-in limits count the addresses it forwards: a
/// stranger's guesses lock the account for the stranger only (probe 63b N1: every
/// request came from the proxy, and ten guesses locked the owner out too). A header from
/// a connection that is no trusted proxy is not believed.
async fn sign_in_limits_count_the_address_a_trusted_proxy_forwards(db: Db) {
    let app = spawn_app_with(db, |s| {
        s.trusted_proxies = wharf::web::client_address::parse_trusted("127.0.0.1").unwrap();
    })
    .await;
    app.make_user("ada@example.com", false);
    let token = app.sign_in_token().await;
    let sign_in_from = |from: &'static str, password: String| {
        let (app, token) = (&app, token.clone());
        async move {
            app.client
                .post(app.url("/sign-in"))
                .header("x-forwarded-for", from)
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("email", "ada@example.com"),
                    ("password", password.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let mut stranger = Vec::new();
    for i in 0..11 {
        stranger.push(sign_in_from("198.51.100.7", format!("guess number {i}")).await);
    }
    assert_eq!(&stranger[..10], &[401; 10]);
    assert_eq!(stranger[10], 429);
    // Ada, forwarded from her own address, gets in.
    assert_eq!(sign_in_from("203.0.113.20", PASSWORD.to_string()).await, 303);

    // From a connection that is not the proxy, a forwarded address is the client's own
    // word: its guesses count against its connection, whatever it claims.
    let (direct, own_token) = sign_in_form_from(&app, [127, 0, 0, 3]).await;
    let answers = eleven_guesses(&app, &direct, &own_token, &[]).await;
    assert_eq!(answers[10], 429, "{answers:?}");

    // A proxy that adds its own line after the client's (HAProxy): the client's line is
    // its own word, the proxy's the address counted (probe 65c D2).
    let through = eleven_guesses(&app, &app.client, &token, &["198.51.100.8"]).await;
    assert_eq!(through[10], 429, "{through:?}");
}

/// Eleven wrong passwords for ada, each claiming another address in its first
/// `X-Forwarded-For` line, then the lines `then` (a proxy's); the answers' statuses.
async fn eleven_guesses(app: &TestApp, client: &reqwest::Client, token: &str, then: &[&str]) -> Vec<u16> {
    let mut answers = Vec::new();
    for i in 0..11 {
        let mut request = client
            .post(app.url("/sign-in"))
            .header("x-forwarded-for", format!("192.0.2.{i}"));
        for line in then {
            request = request.header("x-forwarded-for", *line);
        }
        let resp = request
            .form(&[
                ("csrf_token", token),
                ("email", "ada@example.com"),
                ("password", format!("guess {i} of {}", then.len()).as_str()),
            ])
            .send()
            .await
            .unwrap();
        answers.push(resp.status().as_u16());
    }
    answers
}

/// A sign-in with an address longer than any account's is refused without being stored or
/// shown back: each counted try is a row, and megabyte addresses filled the database.
async fn an_overlong_address_is_refused_and_not_kept(db: Db) {
    use diesel::prelude::*;
    use wharf::db::schema::sign_in_attempts;
    let app = spawn_app(db).await;
    let token = app.sign_in_token().await;
    let long = format!("{}@example.com", "x".repeat(300_000));
    let resp = app.sign_in_with(&token, &long, "a long enough password").await;
    assert_eq!(resp.status().as_u16(), 401);
    let page = resp.text().await.unwrap();
    assert!(page.contains("That email and password do not match an account."));
    assert!(!page.contains("xxxxxxxxxx"), "the address is not shown back");
    // An address with a space is no account's either: a try as `owner@x.io from:1.2.3.4`
    // would otherwise have spent the owner's budget from that address.
    let token = app.sign_in_token().await;
    let resp = app
        .sign_in_with(&token, "owner@x.io from:127.0.0.1", "a long enough password")
        .await;
    assert_eq!(resp.status().as_u16(), 401);
    let mut conn = app.pool.get().unwrap();
    let kept: i64 = sign_in_attempts::table.count().get_result(&mut *conn).unwrap();
    assert_eq!(kept, 0);
}

/// A form sent without its token is refused as one with a wrong token (403), and an
/// address with a parameter that cannot be read says which words failed, without
/// actix's internals.
async fn a_form_without_its_token_is_forbidden(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let resp = app
        .client
        .post(app.url("/environments"))
        .form(&[("name", "sneaky")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert!(!app.page("/environments").await.contains("sneaky"));
    let resp = app.client.get(app.url("/spaces?page=abc")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let text = resp.text().await.unwrap();
    assert!(
        text.contains("a parameter of the address could not be read"),
        "{text}"
    );
    assert!(!text.contains("Query deserialize error"), "{text}");
}

on_both!(
    a_form_without_its_token_is_forbidden,
    an_overlong_address_is_refused_and_not_kept,
    sign_in_needs_the_token_of_its_own_form,
    sign_in_refuses_at_once_over_the_limit_without_locking_out_others,
    sign_in_limits_count_the_address_a_trusted_proxy_forwards,
    every_page_refuses_framing_and_sniffing_under_a_strict_policy,
);

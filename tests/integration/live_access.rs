//! Live streams last only as long as the access behind them: a guest removed from the
//! space or deleted, a member removed or signed out, stops hearing changes at once and
//! leaves the other grids' presence. One session cannot hold more than its share of
//! streams, and the server stays responsive while many are open.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};
use std::time::Duration;

/// A guest of `spaces` named `name`; its id and a token that opens a browser session.
pub async fn guest_with_token(app: &TestApp, email: &str, name: &str, spaces: &[&str]) -> (String, String) {
    let spaces: Vec<Value> = spaces.iter().map(|s| json!({"id": s})).collect();
    let (status, g) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id.as_str(), "email": email, "name": name, "spaces": spaces}]),
        )
        .await;
    assert_eq!(status, 200, "{g}");
    let gid = g["data"][0]["id"].as_str().unwrap().to_string();
    let (_, token) = app.get_json(&format!("/guests/{gid}/token")).await;
    (gid, token["data"]["token"].as_str().unwrap().to_string())
}

/// A browser with a guest session opened by `token`.
pub async fn guest_browser(app: &TestApp, token: &str) -> reqwest::Client {
    let browser = new_client();
    let opened = open_link(&browser, &app.url(&format!("/guest-links/{token}")), &[]).await;
    assert_eq!(opened.status().as_u16(), 303);
    browser
}

pub async fn open_stream(client: &reqwest::Client, url: String) -> reqwest::Response {
    let resp = client.get(url).send().await.expect("stream");
    assert_eq!(resp.status().as_u16(), 200);
    resp
}

/// Reads a stream until it ends, or `wait` passes; returns whether it ended and what came.
async fn read_to_end(resp: &mut reqwest::Response, wait: Duration) -> (bool, String) {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(Ok(None)) | Ok(Err(_)) => return (true, seen),
            Err(_) => return (false, seen),
        }
    }
}

/// Reads until the latest `presence` event satisfies `wanted` (20 s at most).
async fn presence_comes(resp: &mut reqwest::Response, wanted: impl Fn(&str) -> bool) -> bool {
    let mut pending = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, resp.chunk()).await {
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            if event.starts_with("event: presence") && wanted(&event) {
                return true;
            }
        }
    }
    false
}

async fn write_a_record(app: &TestApp, sheet: &str) {
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "late@x.io"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Asserts a stream ends within 3 s and carried no record change; gives what it carried.
async fn ends_without_changes(stream: &mut reqwest::Response, who: &str) -> String {
    let (ended, seen) = read_to_end(stream, Duration::from_secs(3)).await;
    assert!(ended, "{who}'s stream still runs: {seen}");
    assert!(
        !seen.contains("event: changed"),
        "{who} heard a change after losing access: {seen}"
    );
    seen
}

async fn a_guest_removed_from_the_space_stops_hearing_and_leaves_presence(db: Db) {
    let app = spawn_app(db).await;
    let a = app.space_from_blueprint().await;
    let b = app.space_from_blueprint().await;
    let (sa, sb) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let sheet = app.sheet_id(&a, "contacts").await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    // Invited to two spaces: losing one leaves the session alive, but not this stream
    // (a session opened with a token for the lost space would end with that token).
    let (gid, _) = guest_with_token(&app, "gus@partner.example", "Gus", &[sa, sb]).await;
    let (_, token) = app.get_json(&format!("/guests/{gid}/token?spaceId={sb}")).await;
    let gus = guest_browser(&app, token["data"]["token"].as_str().unwrap()).await;
    let live = app.url(&format!("/grid/{sheet}/live"));
    let mut gus_grid = open_stream(&gus, live.clone()).await;
    let mut gus_files = open_stream(&gus, app.url(&format!("/spaces/{sa}/files/live"))).await;
    let mut gus_other = open_stream(&gus, app.url(&format!("/spaces/{sb}/files/live"))).await;
    let mut ada = open_stream(&app.client, live.clone()).await;
    assert!(presence_comes(&mut ada, |e| e.contains("Gus (guest)")).await);

    // Ada removes Gus from the space on its Guests tab.
    let csrf = app.csrf(&format!("/spaces/{sa}?tab=guests")).await;
    let removed = app
        .client
        .post(app.url(&format!("/spaces/{sa}/guests/{gid}/remove")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status().as_u16(), 303);
    write_a_record(&app, &sheet).await;
    ends_without_changes(&mut gus_grid, "Gus's grid").await;
    let (ended, seen) = read_to_end(&mut gus_files, Duration::from_secs(3)).await;
    assert!(ended, "Gus's Files tab still runs: {seen}");
    assert!(
        presence_comes(&mut ada, |e| !e.contains("Gus")).await,
        "Gus left Ada's grid"
    );
    let (ended, _) = read_to_end(&mut gus_other, Duration::from_secs(1)).await;
    assert!(!ended, "the space Gus still has keeps its stream");
    assert_eq!(gus.get(live).send().await.unwrap().status().as_u16(), 404);
}

async fn a_deleted_guest_stops_hearing(db: Db) {
    let app = spawn_app(db).await;
    let a = app.space_from_blueprint().await;
    let sa = a["id"].as_str().unwrap();
    let sheet = app.sheet_id(&a, "contacts").await;
    let (gid, token) = guest_with_token(&app, "gus@partner.example", "Gus", &[sa]).await;
    let gus = guest_browser(&app, &token).await;
    let mut grid = open_stream(&gus, app.url(&format!("/grid/{sheet}/live"))).await;
    let (status, body) = app.delete(&format!("/guests/{gid}")).await;
    assert_eq!(status, 200, "{body}");
    write_a_record(&app, &sheet).await;
    ends_without_changes(&mut grid, "the deleted guest").await;
}

async fn a_guest_of_an_archived_space_stops_hearing(db: Db) {
    let app = spawn_app(db).await;
    let a = app.space_from_blueprint().await;
    let sa = a["id"].as_str().unwrap();
    let sheet = app.sheet_id(&a, "contacts").await;
    let (_, token) = guest_with_token(&app, "gus@partner.example", "Gus", &[sa]).await;
    let gus = guest_browser(&app, &token).await;
    let mut grid = open_stream(&gus, app.url(&format!("/grid/{sheet}/live"))).await;
    let (status, body) = app.post_json(&format!("/spaces/{sa}/archive"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    write_a_record(&app, &sheet).await;
    ends_without_changes(&mut grid, "the archived space's guest").await;
    let again = gus
        .get(app.url(&format!("/grid/{sheet}/live")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 403, "no new stream either");
}

async fn a_member_who_signs_out_or_is_removed_stops_hearing(db: Db) {
    let app = spawn_app(db).await;
    let a = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&a, "contacts").await;
    app.make_user("ada@example.com", true);
    app.make_user("bob@example.com", false);
    app.make_user("cy@example.com", false);
    app.sign_in("ada@example.com", PASSWORD).await;
    let (bob, cy) = (app.clone_with_new_client(), app.clone_with_new_client());
    bob.sign_in("bob@example.com", PASSWORD).await;
    cy.sign_in("cy@example.com", PASSWORD).await;
    let live = app.url(&format!("/grid/{sheet}/live"));
    let mut bob_grid = open_stream(&bob.client, live.clone()).await;
    let mut cy_grid = open_stream(&cy.client, live.clone()).await;
    let mut ada = open_stream(&app.client, live.clone()).await;
    assert!(presence_comes(&mut ada, |e| e.contains("bob@") && e.contains("cy@")).await);

    // Bob signs out in another tab.
    let csrf = bob.csrf("/spaces").await;
    let out = bob
        .client
        .post(format!("{}/sign-out", bob.base))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 303);
    write_a_record(&app, &sheet).await;
    ends_without_changes(&mut bob_grid, "Bob").await;
    assert!(presence_comes(&mut ada, |e| !e.contains("bob@") && e.contains("cy@")).await);
    // Cy, still in the team, heard that write.
    let mut cy_seen = String::new();
    while !cy_seen.contains("event: changed") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), cy_grid.chunk()).await;
        cy_seen.push_str(&String::from_utf8_lossy(&chunk.unwrap().unwrap().unwrap()));
    }

    // Ada removes Cy from the team on the People page.
    let mut conn = app.pool.get().unwrap();
    let cy_id = wharf::model::user::find_by_email(&mut conn, "cy@example.com")
        .unwrap()
        .unwrap()
        .id;
    drop(conn);
    let csrf = app.csrf("/people").await;
    let removed = app
        .client
        .post(app.url(&format!("/people/{cy_id}/remove")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status().as_u16(), 303);
    write_a_record(&app, &sheet).await;
    ends_without_changes(&mut cy_grid, "Cy").await;
    assert!(
        presence_comes(&mut ada, |e| !e.contains("cy@")).await,
        "Cy left Ada's grid"
    );
}

/// A session ended where nobody announced it (here: straight in the database) still ends
/// its streams, at the next periodic check.
async fn an_unannounced_end_of_access_is_caught_by_the_periodic_check(db: Db) {
    let app = spawn_app(db).await;
    let a = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&a, "contacts").await;
    app.make_user("bob@example.com", false);
    app.sign_in("bob@example.com", PASSWORD).await;
    let mut grid = open_stream(&app.client, app.url(&format!("/grid/{sheet}/live"))).await;
    {
        use diesel::prelude::*;
        let mut conn = app.pool.get().unwrap();
        diesel::delete(wharf::db::schema::sessions::table)
            .execute(&mut conn)
            .unwrap();
    }
    let (ended, seen) = read_to_end(&mut grid, Duration::from_secs(12)).await;
    assert!(ended, "the stream outlived its session: {seen}");
}

async fn one_session_holds_a_few_streams_and_the_server_stays_responsive(db: Db) {
    let app = spawn_app(db).await;
    let a = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&a, "contacts").await;
    app.make_user("ada@example.com", false);
    app.sign_in("ada@example.com", PASSWORD).await;
    let live = app.url(&format!("/grid/{sheet}/live"));
    let tries = (0..60).map(|_| {
        let (client, live) = (app.client.clone(), live.clone());
        async move { client.get(live).send().await.expect("stream") }
    });
    let answers = futures_util::future::join_all(tries).await;
    let open = answers.iter().filter(|r| r.status().as_u16() == 200).count();
    let refused: Vec<&reqwest::Response> = answers.iter().filter(|r| r.status().as_u16() == 429).collect();
    assert_eq!((open, refused.len()), (5, 55), "5 streams per session");
    assert!(refused[0].headers().contains_key("retry-after"));

    // Another person is not held back, and health answers at once.
    app.make_user("bob@example.com", false);
    let bob = app.clone_with_new_client();
    bob.sign_in("bob@example.com", PASSWORD).await;
    let bob_stream = bob.client.get(live.clone()).send().await.unwrap();
    assert_eq!(bob_stream.status().as_u16(), 200);
    let started = std::time::Instant::now();
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // The refusal says what to do.
    let last = answers.into_iter().find(|r| r.status().as_u16() == 429).unwrap();
    let body: Value = last.json().await.unwrap();
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("close one"), "{body}");
}

/// 160 streams of one guest (32 browsers, 5 tabs each): the guest is shown once, and the
/// server answers at once while they are open and one more person arrives.
async fn many_open_streams_leave_the_server_responsive(db: Db) {
    let app = spawn_app(db).await;
    let a = app.space_from_blueprint().await;
    let sa = a["id"].as_str().unwrap();
    let sheet = app.sheet_id(&a, "contacts").await;
    let (_, token) = guest_with_token(&app, "gus@partner.example", "Gus", &[sa]).await;
    let live = app.url(&format!("/grid/{sheet}/live"));
    let mut browsers = Vec::new();
    for _ in 0..32 {
        browsers.push(guest_browser(&app, &token).await);
    }
    let opening = browsers.iter().flat_map(|b| (0..5).map(move |_| b)).map(|b| {
        let live = live.clone();
        async move { b.get(live).send().await.expect("stream") }
    });
    let streams = futures_util::future::join_all(opening).await;
    assert!(streams.iter().all(|s| s.status().as_u16() == 200));

    let started = std::time::Instant::now();
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    app.make_user("ada@example.com", false);
    app.sign_in("ada@example.com", PASSWORD).await;
    let mut ada = open_stream(&app.client, live).await;
    let mut first = String::new();
    while !first.contains("event: presence") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), ada.chunk()).await;
        first.push_str(&String::from_utf8_lossy(&chunk.unwrap().unwrap().unwrap()));
    }
    assert_eq!(
        first.matches("Gus (guest)").count(),
        1,
        "one person, shown once: {first}"
    );
    drop(streams);
}

on_both!(
    a_guest_of_an_archived_space_stops_hearing,
    many_open_streams_leave_the_server_responsive,
    a_guest_removed_from_the_space_stops_hearing_and_leaves_presence,
    a_deleted_guest_stops_hearing,
    a_member_who_signs_out_or_is_removed_stops_hearing,
    an_unannounced_end_of_access_is_caught_by_the_periodic_check,
    one_session_holds_a_few_streams_and_the_server_stays_responsive,
);

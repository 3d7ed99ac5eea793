//! A caller whose access ends while its request's body is still arriving writes nothing: a
//! guest removed during its upload, a key revoked during its insert (probe 78b D2, D3: both
//! landed, checked only when the request began). And the form around a file is bounded
//! (probe 78a D6: 20,000 small parts were all held).

use crate::helpers::*;
use crate::live_access::guest_with_token;
use crate::on_both;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends a request whose body arrives in two halves, `meanwhile` running between them
/// (after a pause past the time a quick body takes); its status and body.
/// A browser session of a new team member `email`: its cookie's token and CSRF token.
pub(crate) fn session_of(app: &TestApp, email: &str) -> (String, String) {
    app.make_user(email, true);
    let mut conn = app.pool.get().unwrap();
    let person = wharf::model::user::find_by_email(&mut conn, email)
        .unwrap()
        .unwrap();
    let token = wharf::model::session::create(&mut conn, &person.id).unwrap();
    let (session, _) = wharf::model::session::find(&mut conn, &token).unwrap().unwrap();
    (token, session.csrf_token)
}

/// Ends the browser session of `token`, as signing out does.
pub(crate) async fn sign_out(app: &TestApp, token: String) {
    let mut conn = app.pool.get().unwrap();
    let (session, _) = wharf::model::session::find(&mut conn, &token).unwrap().unwrap();
    wharf::model::session::delete(&mut conn, &session.token_hash).unwrap();
}

pub(crate) async fn sent_in_two(
    app: &TestApp,
    head: &str,
    body: &[u8],
    meanwhile: impl std::future::Future<Output = ()>,
) -> (u16, String) {
    sent_in_two_pausing(app, head, body, 600, meanwhile).await
}

/// As [`sent_in_two`], pausing `pause_ms` before and after `meanwhile`.
async fn sent_in_two_pausing(
    app: &TestApp,
    head: &str,
    body: &[u8],
    pause_ms: u64,
    meanwhile: impl std::future::Future<Output = ()>,
) -> (u16, String) {
    let address = app.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "{head}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let half = body.len() / 2;
    stream.write_all(&body[..half]).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
    meanwhile.await;
    tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
    stream.write_all(&body[half..]).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A multipart form of a CSV and these fields, with its boundary.
fn form(fields: &[(&str, &str)], csv: &str) -> (String, Vec<u8>) {
    let boundary = "wharfboundary7";
    let mut body = String::new();
    for (name, value) in fields {
        body +=
            &format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n");
    }
    body += &format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"late.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    (boundary.to_string(), body.into_bytes())
}

/// The bearer secret a request head sends.
fn secret_of(head: &str) -> String {
    let after = head.split_once("Bearer ").unwrap().1;
    after.split_once("\r\n").unwrap().0.to_string()
}

/// The head of an upload's request with this key or guest token and form boundary.
fn upload_head(token: &str, boundary: &str) -> String {
    format!(
        "POST /v1/files HTTP/1.1\r\nHost: wharf\r\nAuthorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
    )
}

async fn files_of(app: &TestApp, space: &str) -> Vec<Value> {
    let (status, files) = app.get_json(&format!("/files?spaceId={space}")).await;
    assert_eq!(status, 200, "{files}");
    files["data"].as_array().unwrap().clone()
}

async fn a_guest_removed_during_its_upload_stores_nothing(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let space = space["id"].as_str().unwrap().to_string();
    let (gid, token) = guest_with_token(&app, "late@x.org", "Late", &[&space]).await;
    let csv = format!("Email\n{}", "a@x.org\n".repeat(2_000));
    let (boundary, body) = form(&[("spaceId", &space)], &csv);
    let head = upload_head(&token, &boundary);
    let remove = async {
        let (status, body) = app.delete(&format!("/guests/{gid}?spaceId={space}")).await;
        assert_eq!(status, 200, "{body}");
    };
    let (status, said) = sent_in_two(&app, &head, &body, remove).await;
    assert!(matches!(status, 401 | 403), "{status} {said}");
    assert!(files_of(&app, &space).await.is_empty(), "nothing stored");

    // A guest still invited uploads the same way.
    let (_, token) = guest_with_token(&app, "kept@x.org", "Kept", &[&space]).await;
    let head = upload_head(&token, &boundary);
    let (status, said) = sent_in_two(&app, &head, &body, async {}).await;
    assert_eq!(status, 200, "{said}");
    assert_eq!(files_of(&app, &space).await.len(), 1);
}

async fn a_key_revoked_during_its_insert_writes_nothing(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (key, secret) = {
        let mut conn = app.pool.get().unwrap();
        wharf::model::api_key::create(&mut conn, &app.env_id).unwrap()
    };
    let rows: Vec<Value> = (0..500).map(|i| json!({"email": format!("p{i}@x.io")})).collect();
    let body = serde_json::to_vec(&rows).unwrap();
    let head = format!(
        "POST /v1/sheets/{sheet}/records HTTP/1.1\r\nHost: wharf\r\nAuthorization: Bearer {secret}\r\nContent-Type: application/json\r\n"
    );
    let pool = app.pool.clone();
    let revoke = async move {
        let mut conn = pool.get().unwrap();
        assert_eq!(wharf::model::api_key::revoke(&mut conn, &key.id).unwrap(), 1);
    };
    let (status, said) = sent_in_two(&app, &head, &body, revoke).await;
    assert_eq!(status, 401, "{said}");
    assert!(said.contains("revoked while the request was arriving"), "{said}");
    // A body that takes a quarter of a second is asked about too (probe 79a D8: under a
    // second it was not).
    let (key, secret) = {
        let mut conn = app.pool.get().unwrap();
        wharf::model::api_key::create(&mut conn, &app.env_id).unwrap()
    };
    let quick_head = head.replace(&*secret_of(&head), &secret);
    let pool = app.pool.clone();
    let revoke = async move {
        let mut conn = pool.get().unwrap();
        assert_eq!(wharf::model::api_key::revoke(&mut conn, &key.id).unwrap(), 1);
    };
    let (status, said) = sent_in_two_pausing(&app, &quick_head, &body, 120, revoke).await;
    assert_eq!(status, 401, "{said}");
    // An upload's key revoked meanwhile is a 401 too, as a new request's would be (probe
    // 79a D9: it was 403).
    let (key, secret) = {
        let mut conn = app.pool.get().unwrap();
        wharf::model::api_key::create(&mut conn, &app.env_id).unwrap()
    };
    let space_id = space["id"].as_str().unwrap();
    let (boundary, form_body) = form(&[("spaceId", space_id)], "Email\na@x.org\n");
    let pool = app.pool.clone();
    let revoke = async move {
        let mut conn = pool.get().unwrap();
        assert_eq!(wharf::model::api_key::revoke(&mut conn, &key.id).unwrap(), 1);
    };
    let (status, said) = sent_in_two(&app, &upload_head(&secret, &boundary), &form_body, revoke).await;
    assert_eq!(status, 401, "{said}");
    assert!(files_of(&app, space_id).await.is_empty(), "nothing stored");
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 0, "{counts}");
    // A live key's slow insert lands.
    let head = format!(
        "POST /v1/sheets/{sheet}/records HTTP/1.1\r\nHost: wharf\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n",
        app.key
    );
    let (status, said) = sent_in_two(&app, &head, &body, async {}).await;
    assert_eq!(status, 200, "{said}");
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 500, "{counts}");
}

/// A guest's slow insert into a space archived while it arrived writes nothing (probe 79a
/// D3: archiving revokes no token, and the insert landed).
async fn a_guest_insert_into_a_space_archived_meanwhile_writes_nothing(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let space = space["id"].as_str().unwrap().to_string();
    let token = crate::job_helpers::guest_token(&app, &space).await;
    let rows: Vec<Value> = (0..50).map(|i| json!({"email": format!("p{i}@x.io")})).collect();
    let head = format!(
        "POST /v1/sheets/{sheet}/records HTTP/1.1\r\nHost: wharf\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
    );
    let archive = async {
        let (status, body) = app
            .post_json(&format!("/spaces/{space}/archive"), &json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
    };
    let (status, said) = sent_in_two(&app, &head, &serde_json::to_vec(&rows).unwrap(), archive).await;
    assert_eq!(status, 403, "{said}");
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 0, "{counts}");
}

/// A page's slow form (the grid's add row) from a person signed out while it arrived adds
/// nothing (probe 79a D4: the row was added).
async fn a_page_form_from_a_session_ended_meanwhile_does_nothing(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (token, csrf) = session_of(&app, "ada@example.com");
    let body = format!("csrf_token={csrf}&pad={}", "a".repeat(3_000));
    let head = format!(
        "POST /grid/{sheet}/rows HTTP/1.1\r\nHost: wharf\r\nCookie: wharf_session={token}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    );
    let total = async || {
        let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
        counts["data"]["counts"]["total"].as_i64().unwrap()
    };
    // Signed in throughout, the slow form adds its row.
    let (status, said) = sent_in_two(&app, &head, body.as_bytes(), async {}).await;
    assert!(status < 400, "{status} {said}");
    assert_eq!(total().await, 1);
    let (status, said) = sent_in_two(&app, &head, body.as_bytes(), sign_out(&app, token)).await;
    assert!(matches!(status, 303 | 401 | 403), "{status} {said}");
    assert_eq!(total().await, 1, "no row added");
}

async fn the_form_around_a_file_is_bounded(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let space = space["id"].as_str().unwrap().to_string();
    let many: Vec<(String, String)> = (0..150).map(|i| (format!("x{i}"), "1".to_string())).collect();
    let big = "y".repeat(60_000);
    let heavy: Vec<(String, String)> = (0..5).map(|i| (format!("note{i}"), big.clone())).collect();
    for (fields, said) in [
        (many, "more than 100 parts"),
        (heavy, "beside the file take more than 256 KB"),
    ] {
        let mut fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        fields.push(("spaceId", &space));
        let (boundary, body) = form(&fields, "Email\na@x.org\n");
        let resp = app
            .api(reqwest::Method::POST, "/files")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        let text = resp.text().await.unwrap();
        assert!(text.contains(said), "{text}");
    }
    assert!(files_of(&app, &space).await.is_empty());
}

on_both!(
    a_guest_removed_during_its_upload_stores_nothing,
    a_key_revoked_during_its_insert_writes_nothing,
    a_page_form_from_a_session_ended_meanwhile_does_nothing,
    a_guest_insert_into_a_space_archived_meanwhile_writes_nothing,
    the_form_around_a_file_is_bounded
);

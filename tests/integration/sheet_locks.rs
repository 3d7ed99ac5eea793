//! `POST /v1/sheets/{id}/lock` and `.../unlock`: while listener code holds a sheet locked,
//! people (the grid) and guests cannot change its records; secret keys can.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

/// A companies sheet with one record: the space's id, the sheet's and the record's.
async fn one_company(app: &TestApp) -> (String, String, String) {
    let space = app.space_from_blueprint().await;
    let sid = space["id"].as_str().unwrap().to_string();
    let sheet = app.sheet_id(&space, "companies").await;
    let rows = json!([{"code": "A", "name": "Acme"}]);
    let (_, inserted) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    let rid = inserted["data"]["records"][0]["id"].as_str().unwrap().to_string();
    (sid, sheet, rid)
}

async fn a_locked_sheet_takes_no_changes_from_people_or_guests(db: Db) {
    let app = spawn_app(db).await;
    let (sid, sheet, rid) = one_company(&app).await;
    app.make_user("ada@example.com", false);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    let (_, g) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id, "email": "g@x.io", "name": "G", "spaces": [{"id": sid}]}]),
        )
        .await;
    let gid = g["data"][0]["id"].as_str().unwrap();
    let (_, token) = app.get_json(&format!("/guests/{gid}/token?spaceId={sid}")).await;
    let token = token["data"]["token"].as_str().unwrap().to_string();

    let (status, body) = app.post_json(&format!("/sheets/{sheet}/lock"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (_, got) = app.get_json(&format!("/sheets/{sheet}")).await;
    assert!(got["data"]["lockedAt"].is_string(), "{got}");

    // A person in the grid.
    let save = |value: &'static str| {
        app.client
            .put(app.url(&format!("/grid/{sheet}/records/{rid}")))
            .header("hx-request", "true")
            .header("x-csrf-token", &csrf)
            .form(&[("field", "name"), ("value", value)])
            .send()
    };
    let wb = got["data"]["workbookId"].as_str().unwrap().to_string();
    let grid = app.page(&format!("/workbooks/{wb}?sheet={sheet}")).await;
    assert!(
        grid.contains("id=\"sheet-locked\""),
        "the grid says the sheet is locked"
    );
    let r = save("Grid").await.unwrap();
    assert_eq!(r.status().as_u16(), 409);
    assert!(r.text().await.unwrap().contains("locked"));
    // No editor opens where no save would be taken (probe 49c 6).
    let editor = app
        .client
        .get(app.url(&format!("/grid/{sheet}/records/{rid}/edit?field=name")))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(editor.status().as_u16(), 409);
    assert!(editor.text().await.unwrap().contains("locked"));
    // A guest through the API.
    let (status, body) = send(
        app.client
            .put(app.url(&format!("/v1/sheets/{sheet}/records")))
            .bearer_auth(&token)
            .json(&json!([{"id": rid, "values": {"name": "Guest"}}])),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    // The listener (a secret key) works on it.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": rid, "values": {"name": "Listener"}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, _) = app
        .post_json(&format!("/sheets/{sheet}/unlock"), &json!({}))
        .await;
    assert_eq!(status, 200);
    let r = save("Grid").await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let grid = app.page(&format!("/workbooks/{wb}?sheet={sheet}")).await;
    assert!(!grid.contains("id=\"sheet-locked\""));
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(page["data"]["records"][0]["values"]["name"]["value"], "Grid");
    let (_, ev) = app
        .get_json("/events?topic=sheet:updated&includeAcknowledged=true")
        .await;
    assert_eq!(ev["data"].as_array().unwrap().len(), 2, "locked, unlocked: {ev}");

    // Guests cannot lock (secret keys only).
    let (status, _) = send(
        app.client
            .post(app.url(&format!("/v1/sheets/{sheet}/lock")))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, 403);
}

on_both!(a_locked_sheet_takes_no_changes_from_people_or_guests);

/// A guest's write whose body is still arriving when the team locks the sheet is refused:
/// the lock is checked again as the records are written, not only when the request began.
async fn a_lock_taken_while_a_guests_body_arrives_holds(db: Db) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sid = space["id"].as_str().unwrap().to_string();
    let sheet = app.sheet_id(&space, "companies").await;
    let token = crate::job_helpers::guest_token(&app, &sid).await;
    let body = json!([{"code": "G", "name": "Guest"}]).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/sheets/{sheet}/records HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, locked) = app.post_json(&format!("/sheets/{sheet}/lock"), &json!({})).await;
    assert_eq!(status, 200, "{locked}");
    sock.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = String::new();
    sock.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 409"), "{answer}");
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(page["data"]["records"], json!([]), "nothing written");
}

/// A person's grid save that waits for its turn to write while the sheet is locked is
/// refused when its turn comes: the lock is read under the sheet's write lock, in the
/// save's own transaction (probe 49c 1: the save landed after the lock had answered).
async fn a_grid_save_waiting_behind_a_lock_is_refused(db: Db) {
    let app = spawn_app(db).await;
    let (_, sheet, rid) = one_company(&app).await;
    app.make_user("ada@example.com", false);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;

    let save = app
        .client
        .put(app.url(&format!("/grid/{sheet}/records/{rid}")))
        .header("hx-request", "true")
        .header("x-csrf-token", &csrf)
        .form(&[("field", "name"), ("value", "During the lock")]);
    let answer = sent_behind_a_lock(&app, &sheet, save).await;
    assert_eq!(answer.status().as_u16(), 409);
    assert!(answer.text().await.unwrap().contains("locked"));
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(page["data"]["records"][0]["values"]["name"]["value"], "Acme");
}

/// The sheet held as a write holds it while `request` is sent; the lock is taken in that
/// same transaction, then the request may go on. Its answer.
async fn sent_behind_a_lock(
    app: &TestApp,
    sheet: &str,
    request: reqwest::RequestBuilder,
) -> reqwest::Response {
    use diesel::RunQueryDsl;
    let mut held = app.pool.get().expect("conn");
    let postgres = matches!(&*held, wharf::db::AnyConnection::Postgres(_));
    let (begin, hold) = if postgres {
        (
            "BEGIN",
            format!("SELECT seq FROM sheets WHERE id = '{sheet}' FOR UPDATE"),
        )
    } else {
        ("BEGIN IMMEDIATE", "SELECT 1".to_string())
    };
    diesel::sql_query(begin).execute(&mut *held).unwrap();
    diesel::sql_query(hold).execute(&mut *held).unwrap();
    let sending = tokio::spawn(request.send());
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let lock = format!(
        "UPDATE sheets SET locked_at = CURRENT_TIMESTAMP, locked_by = 'listener' WHERE id = '{sheet}'"
    );
    diesel::sql_query(lock).execute(&mut *held).unwrap();
    diesel::sql_query("COMMIT").execute(&mut *held).unwrap();
    drop(held);
    sending.await.unwrap().unwrap()
}

/// A guest's API writes waiting for their turn when the lock comes are refused then
/// (probe 50a F1), an update, a delete and a new field alike.
async fn a_guests_write_waiting_behind_a_lock_is_refused(db: Db) {
    let app = spawn_app(db).await;
    let (sid, sheet, rid) = one_company(&app).await;
    let token = crate::job_helpers::guest_token(&app, &sid).await;
    let (unlock_path, nothing) = (format!("/sheets/{sheet}/unlock"), json!({}));
    let unlock = || app.post_json(&unlock_path, &nothing);
    let records = app.url(&format!("/v1/sheets/{sheet}/records"));
    let update = app
        .client
        .put(&records)
        .bearer_auth(&token)
        .json(&json!([{"id": rid, "values": {"name": {"value": "Guest"}}}]));
    let answer = sent_behind_a_lock(&app, &sheet, update).await;
    assert_eq!(answer.status().as_u16(), 409, "{}", answer.text().await.unwrap());
    assert_eq!(unlock().await.0, 200);
    let delete = app
        .client
        .delete(format!("{records}?ids={rid}"))
        .bearer_auth(&token);
    assert_eq!(
        sent_behind_a_lock(&app, &sheet, delete).await.status().as_u16(),
        409
    );
    assert_eq!(unlock().await.0, 200);
    let field = app
        .client
        .post(app.url(&format!("/v1/sheets/{sheet}/fields")))
        .bearer_auth(&token)
        .json(&json!({"key": "note", "type": "string", "label": "Note"}));
    assert_eq!(
        sent_behind_a_lock(&app, &sheet, field).await.status().as_u16(),
        409
    );
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(
        page["data"]["records"][0]["values"]["name"]["value"], "Acme",
        "{page}"
    );
    assert!(
        page["data"]["records"][0]["values"].get("note").is_none(),
        "{page}"
    );
}

/// A guest's file delete that finds its sheet locked after the bytes went says so, and so
/// does the file: the answer "try again once it is unlocked" read as if nothing had changed,
/// while the file no longer downloaded (probe 54a M4). Deleted again once unlocked, it goes.
/// PostgreSQL only: there the test can hold the row's delete (on the space) and not the
/// checks before the bytes; SQLite's one writer holds the guest's own bookkeeping too, so
/// its delete meets the lock before any byte goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_delete_meeting_a_lock_says_what_it_did() {
    let app = spawn_app(Db::Postgres).await;
    let sid = app.bare_space("Uploads").await;
    let token = crate::job_helpers::guest_token(&app, &sid).await;
    let (status, file) = crate::job_helpers::guest_upload(&app, &token, &sid, b"Email\na@x.org\n").await;
    assert_eq!(status, 200, "{file}");
    let id = file["data"]["id"].as_str().unwrap().to_string();
    let (_, jobs) = app.get_json(&format!("/jobs?fileId={id}")).await;
    app.wait_job(jobs["data"][0]["id"].as_str().unwrap()).await;
    let (_, file) = app.get_json(&format!("/files/{id}")).await;
    let (_, wb) = app
        .get_json(&format!(
            "/workbooks/{}",
            file["data"]["workbookId"].as_str().unwrap()
        ))
        .await;
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();

    // The space held (the row's delete waits for it) while the bytes go; the sheet is
    // locked in that same transaction.
    use diesel::RunQueryDsl;
    let mut held = app.pool.get().expect("conn");
    match &*held {
        wharf::db::AnyConnection::Postgres(_) => {
            diesel::sql_query("BEGIN").execute(&mut *held).unwrap();
            diesel::sql_query(format!("SELECT id FROM spaces WHERE id = '{sid}' FOR UPDATE"))
                .execute(&mut *held)
                .unwrap();
        }
        _ => unreachable!("PostgreSQL only"),
    }
    let delete = app
        .client
        .delete(app.url(&format!("/v1/files/{id}")))
        .bearer_auth(&token);
    let sending = tokio::spawn(delete.send());
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    diesel::sql_query(format!(
        "UPDATE sheets SET locked_at = CURRENT_TIMESTAMP, locked_by = 'listener' WHERE id = '{sheet}'"
    ))
    .execute(&mut *held)
    .unwrap();
    diesel::sql_query("COMMIT").execute(&mut *held).unwrap();
    drop(held);
    let answer = sending.await.unwrap().unwrap();
    assert_eq!(answer.status().as_u16(), 409);
    let said = answer.text().await.unwrap();
    assert!(
        said.contains("its bytes were deleted") && said.contains("is locked"),
        "{said}"
    );
    let (_, file) = app.get_json(&format!("/files/{id}")).await;
    assert!(
        file["data"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Deleted in part"),
        "{file}"
    );
    assert_eq!(file["data"]["status"], "purged", "its bytes are gone: {file}");
    // A purged file says so when downloaded, and keeps its status (probe 59c D5).
    let (status, body) = send(app.api(reqwest::Method::GET, &format!("/files/{id}/download"))).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.to_string().contains("were deleted"), "{body}");
    let (status, body) = app
        .patch_json(&format!("/files/{id}"), &json!({"status": "complete"}))
        .await;
    assert_eq!(status, 409, "{body}");
    let (_, file) = app.get_json(&format!("/files/{id}")).await;
    assert_eq!(file["data"]["status"], "purged", "{file}");

    assert_eq!(
        app.post_json(&format!("/sheets/{sheet}/unlock"), &json!({}))
            .await
            .0,
        200
    );
    let again = app
        .client
        .delete(app.url(&format!("/v1/files/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(app.get_json(&format!("/files/{id}")).await.0, 404);
}

on_both!(
    a_lock_taken_while_a_guests_body_arrives_holds,
    a_grid_save_waiting_behind_a_lock_is_refused,
    a_guests_write_waiting_behind_a_lock_is_refused,
);

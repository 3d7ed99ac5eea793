//! Commits and record hooks over HTTP, as `@flatfile/plugin-record-hook` drives them:
//! `commit:created` with a relative `dataUrl`, `GET` on it, a gzip `PUT` of the hook's
//! changes and messages, `commit:completed`, `X-Disable-Hooks` / `X-Force-Hooks`.

use crate::helpers::*;
use crate::on_both;
use flate2::write::GzEncoder;
use serde_json::{json, Value};
use std::io::Write;

pub(crate) async fn events_of(app: &TestApp, topic: &str) -> Vec<Value> {
    let (status, body) = app
        .get_json(&format!(
            "/events?topic={topic}&includeAcknowledged=true&pageSize=1000"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().expect("events").clone()
}

pub(crate) async fn insert(app: &TestApp, sheet: &str, records: Value, headers: &[(&str, &str)]) -> Value {
    let mut req = app
        .api(reqwest::Method::POST, &format!("/sheets/{sheet}/records"))
        .json(&records);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let (status, body) = send(req).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn gzip(value: &Value) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(value.to_string().as_bytes()).unwrap();
    enc.finish().unwrap()
}

/// `PUT {base}/{dataUrl}` the way the listener sends it: gzip, `X-Disable-Hooks: true`.
pub(crate) async fn put_gzip(app: &TestApp, data_url: &str, body: &Value) -> (u16, Value) {
    send(
        app.client
            .put(app.url(&format!("/{data_url}")))
            .bearer_auth(&app.key)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .header("x-disable-hooks", "true")
            .body(gzip(body)),
    )
    .await
}

async fn a_hook_reads_and_answers_a_commit(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    insert(
        &app,
        &sheet,
        json!([{"email": "  Ada@Example.com ", "name": "Ada"}, {"email": "bob@example.com"}]),
        &[],
    )
    .await;

    let created = events_of(&app, "commit:created").await;
    assert_eq!(created.len(), 1, "one write, one commit: {created:?}");
    let event = &created[0];
    let ctx = &event["context"];
    assert_eq!(ctx["sheetId"], sheet.as_str());
    assert_eq!(ctx["sheetSlug"], "contacts", "the bare slug recordHook matches");
    let commit = ctx["commitId"].as_str().expect("commitId");
    assert!(ctx["versionId"].is_string());
    assert_eq!(event["payload"]["trackChanges"], false);
    let data_url = event["dataUrl"].as_str().expect("dataUrl");
    // The contacts sheet has a reference field: the hook reads its links too.
    assert_eq!(
        data_url,
        format!("v1/sheets/{sheet}/records?commitId={commit}&includeLinks=true")
    );

    // The hook reads the commit's records, every field listed (null where empty).
    let (status, read) = send(
        app.client
            .get(app.url(&format!("/{data_url}")))
            .bearer_auth(&app.key),
    )
    .await;
    assert_eq!(status, 200, "{read}");
    let records = read["data"]["records"].as_array().expect("records").clone();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["values"]["age"]["value"], Value::Null);
    assert!(records[1]["values"].as_object().unwrap().contains_key("company"));

    // It answers: a changed value and an error message of its own, gzip.
    let ada = records[0]["id"].as_str().unwrap().to_string();
    let bob = records[1]["id"].as_str().unwrap().to_string();
    let answer = json!([
        {"id": ada, "values": {"email": {"value": "ada@example.com", "messages": []}}},
        {"id": bob, "values": {"name": {"value": null, "messages": [
            {"message": "a contact needs a name", "type": "error", "source": "custom-logic"}]}}}
    ]);
    let (status, body) = put_gzip(&app, data_url, &answer).await;
    assert_eq!(status, 200, "{body}");

    let (_, page) = app
        .get_json(&format!("/sheets/{sheet}/records?includeCounts=true"))
        .await;
    let recs = page["data"]["records"].as_array().unwrap();
    assert_eq!(recs[0]["values"]["email"]["value"], "ada@example.com");
    assert_eq!(recs[1]["valid"], false, "the hook's error counts: {page}");
    let msgs = &recs[1]["values"]["name"]["messages"];
    assert_eq!(msgs[0]["message"], "a contact needs a name", "{msgs}");
    assert_eq!(msgs[0]["type"], "error");
    assert_eq!(page["data"]["counts"]["error"], 1, "{page}");
    assert_eq!(page["data"]["counts"]["errorsByField"]["name"], 1, "{page}");

    // The answer started no new commit, and completed this one.
    assert_eq!(
        events_of(&app, "commit:created").await.len(),
        1,
        "hooks must not loop"
    );
    let completed = events_of(&app, "commit:completed").await;
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0]["context"]["commitId"], commit);
    let (_, c) = app.get_json(&format!("/commits/{commit}")).await;
    assert!(c["data"]["completedAt"].is_string(), "{c}");

    // The messages stay when another field changes; a new value in the cell clears them.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": bob, "values": {"age": {"value": 41}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, one) = app.get_json(&format!("/sheets/{sheet}/records?ids={bob}")).await;
    assert_eq!(one["data"]["records"][0]["valid"], false, "{one}");
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": bob, "values": {"name": {"value": "Bob"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app
        .get_json(&format!("/sheets/{sheet}/records?ids={bob}&includeCounts=true"))
        .await;
    let rec = &page["data"]["records"][0];
    assert_eq!(rec["valid"], true, "{page}");
    assert_eq!(rec["values"]["name"]["messages"], json!([]));
    assert_eq!(page["data"]["counts"]["error"], 0, "{page}");
}

/// A workbook's `settings.trackChanges` holds for its sheets (unless one says otherwise).
async fn workbook_settings_track_changes(db: Db) {
    let app = spawn_app(db).await;
    let sid = app.bare_space("Tracked").await;
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "W", "spaceId": sid, "settings": {"trackChanges": true}, "sheets": [
                {"name": "A", "slug": "a", "fields": [{"key": "x", "type": "string"}]},
                {"name": "B", "slug": "b", "settings": {"trackChanges": false}, "fields": [{"key": "x", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    for (i, tracked) in [(0, true), (1, false)] {
        let sheet = wb["data"]["sheets"][i]["id"].as_str().unwrap().to_string();
        insert(&app, &sheet, json!([{"x": "1"}]), &[]).await;
        let created = events_of(&app, "commit:created").await;
        let event = created
            .iter()
            .find(|e| e["context"]["sheetId"] == sheet.as_str())
            .unwrap();
        assert_eq!(event["payload"]["trackChanges"], tracked, "{event}");
    }
}

/// Messages of a bad shape are refused in words; nothing is written.
async fn bad_messages_are_refused(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let body = insert(&app, &sheet, json!([{"code": "A"}]), &[]).await;
    let id = body["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let many: Vec<Value> = (0..101).map(|i| json!({"message": format!("m{i}")})).collect();
    for (cell, words) in [
        (
            json!({"value": "B", "messages": [{"message": "x", "type": "fatal"}]}),
            "fatal",
        ),
        (json!({"value": "B", "messages": [{"type": "error"}]}), "message"),
        (
            json!({"value": "B", "messages": [{"message": "x".repeat(10_001)}]}),
            "10000 characters",
        ),
        (json!({"value": "B", "messages": many}), "100 messages"),
    ] {
        let (status, resp) = app
            .put_json(
                &format!("/sheets/{sheet}/records"),
                &json!([{"id": id, "values": {"code": cell}}]),
            )
            .await;
        assert_eq!(status, 400, "{resp}");
        assert!(resp.to_string().contains(words), "{words}: {resp}");
    }
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(page["data"]["records"][0]["values"]["code"]["value"], "A");
}

async fn disable_and_force_hooks_headers(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    insert(
        &app,
        &sheet,
        json!([{"code": "A"}]),
        &[("X-Disable-Hooks", "true")],
    )
    .await;
    assert!(
        events_of(&app, "commit:created").await.is_empty(),
        "disabled hooks: no commit"
    );
    insert(
        &app,
        &sheet,
        json!([{"code": "B"}]),
        &[("X-Disable-Hooks", "true"), ("X-Force-Hooks", "true")],
    )
    .await;
    insert(&app, &sheet, json!([{"code": "C"}]), &[]).await;
    assert_eq!(events_of(&app, "commit:created").await.len(), 2);
}

async fn completing_a_commit_without_changes(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    insert(&app, &sheet, json!([{"code": "A"}]), &[]).await;
    let commit = events_of(&app, "commit:created").await[0]["context"]["commitId"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..2 {
        let (status, body) = app
            .post_json(&format!("/commits/{commit}/complete"), &json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        events_of(&app, "commit:completed").await.len(),
        1,
        "completed once"
    );
    let (status, _) = app.post_json("/commits/us_cm_nothere/complete", &json!({})).await;
    assert_eq!(status, 404);
    // A commit id of another sheet does not open this sheet's records.
    let other = app.sheet_id(&space, "contacts").await;
    let (status, body) = app
        .get_json(&format!("/sheets/{other}/records?commitId={commit}"))
        .await;
    assert_eq!(status, 404, "{body}");
}

async fn hooks_cannot_pin_wharfs_own_messages(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let body = insert(&app, &sheet, json!([{"name": "No email"}]), &[]).await;
    let id = body["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let url = events_of(&app, "commit:created").await[0]["dataUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, read) = send(app.client.get(app.url(&format!("/{url}"))).bearer_auth(&app.key)).await;
    // A hook that echoes the record back, Wharf's required message included.
    let echoed =
        json!([{"id": id, "values": {"email": read["data"]["records"][0]["values"]["email"].clone()}}]);
    let (status, body) = put_gzip(&app, &url, &echoed).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": id, "values": {"email": "now@example.com"}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rec = &body["data"]["records"][0];
    assert_eq!(
        rec["valid"], true,
        "the required message went with the fix: {rec}"
    );
}

async fn a_gzip_bomb_is_refused_and_nothing_is_stored(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    // ~100 MB of JSON that gzips to about 100 KB.
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(b"[{\"code\": \"").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..100 {
        enc.write_all(&chunk).unwrap();
    }
    enc.write_all(b"\"}]").unwrap();
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let (status, body) = send(
        app.api(reqwest::Method::POST, &format!("/sheets/{sheet}/records"))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(bomb),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    let (_, page) = app
        .get_json(&format!("/sheets/{sheet}/records?includeCounts=true"))
        .await;
    assert_eq!(page["data"]["counts"]["total"], 0);
    // A small gzip body is read as JSON.
    let (status, body) = send(
        app.api(reqwest::Method::POST, &format!("/sheets/{sheet}/records"))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(gzip(&json!([{"code": "Z"}]))),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        app.api(reqwest::Method::POST, &format!("/sheets/{sheet}/records"))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body("not gzip at all"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

async fn external_constraints_are_kept(db: Db) {
    let app = spawn_app(db).await;
    let mut blueprint = contacts_blueprint();
    blueprint["workbooks"][0]["sheets"][1]["fields"][0]["constraints"]
        .as_array_mut()
        .unwrap()
        .push(
            json!({"type": "external", "validator": "email", "label": "Company email",
                     "description": "checked by the listener", "config": {"domains": ["example.com"]}}),
        );
    let (status, config) = app.post_json("/space-configs", &blueprint).await;
    assert_eq!(status, 200, "{config}");
    let text = config.to_string();
    assert!(
        text.contains("\"validator\":\"email\"") && text.contains("\"domains\""),
        "{text}"
    );
    blueprint["workbooks"][0]["sheets"][0]["fields"][0]["constraints"] = json!([{"type": "external"}]);
    let (status, body) = app.post_json("/space-configs", &blueprint).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("validator"), "{body}");
}

/// Hooks answering while people write: nothing fails, the counts equal the data.
async fn hook_answers_and_writes_at_once(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let mut writers = Vec::new();
    for w in 0..4 {
        let (client, base, key, sheet) = (
            app.client.clone(),
            app.base.clone(),
            app.key.clone(),
            sheet.clone(),
        );
        writers.push(tokio::spawn(async move {
            for i in 0..10 {
                let (status, body) = send(
                    client
                        .post(format!("{base}/v1/sheets/{sheet}/records"))
                        .bearer_auth(&key)
                        .json(&json!([{"code": format!("W{w}-{i}")}])),
                )
                .await;
                assert_eq!(status, 200, "{body}");
                let id = body["data"]["records"][0]["id"].as_str().unwrap().to_string();
                // On PostgreSQL a listing holds back events while older writes are still
                // in flight (so pollers miss none): ask again until one shows.
                let mut url = None;
                for _ in 0..100 {
                    let (_, ev) = send(
                        client
                            .get(format!("{base}/v1/events?topic=commit:created&pageSize=1000&includeAcknowledged=true"))
                            .bearer_auth(&key),
                    )
                    .await;
                    url = ev["data"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|e| e["payload"]["count"] == 1 && e["dataUrl"].is_string())
                        .map(|e| e["dataUrl"].as_str().unwrap().to_string());
                    if url.is_some() {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                let url = url.expect("a commit");
                let answer = json!([{"id": id, "values": {"name": {"value": "checked", "messages": [
                    {"message": "flagged", "type": if i % 2 == 0 { "error" } else { "warn" }}]}}}]);
                let (status, body) = send(
                    client
                        .put(format!("{base}/{url}"))
                        .bearer_auth(&key)
                        .header("content-type", "application/json")
                        .body(answer.to_string()),
                )
                .await;
                // The url may be of another writer's commit: then the record is not in it,
                // but the record still exists, and the answer applies.
                assert_eq!(status, 200, "{body}");
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let (_, page) = app
        .get_json(&format!(
            "/sheets/{sheet}/records?includeCounts=true&pageSize=1000"
        ))
        .await;
    let recs = page["data"]["records"].as_array().unwrap();
    assert_eq!(recs.len(), 40);
    let invalid = recs.iter().filter(|r| r["valid"] == false).count();
    assert_eq!(invalid, 20, "{page}");
    assert_eq!(page["data"]["counts"]["total"], 40);
    assert_eq!(page["data"]["counts"]["error"], 20, "{page}");
    assert_eq!(page["data"]["counts"]["valid"], 20, "{page}");
}

/// `settings.trackChanges`: the grid marks records whose commit waits for the hook, and
/// shows the labels of checks listener code makes.
async fn the_grid_marks_records_being_checked(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let mut blueprint = contacts_blueprint();
    let companies = &mut blueprint["workbooks"][0]["sheets"][0];
    companies["settings"] = json!({"trackChanges": true});
    companies["fields"][1]["constraints"] =
        json!([{"type": "external", "validator": "name-check", "label": "Registry <check>"}]);
    let (status, config) = app.post_json("/space-configs", &blueprint).await;
    assert_eq!(status, 200, "{config}");
    let body = json!({"name": "Tracked", "spaceConfigId": config["data"]["id"]});
    let (_, space) = app.post_json("/spaces", &body).await;
    let space = space["data"].clone();
    let sheet = app.sheet_id(&space, "companies").await;
    insert(&app, &sheet, json!([{"code": "A"}]), &[]).await;
    let created = events_of(&app, "commit:created").await;
    assert_eq!(created[0]["payload"]["trackChanges"], true);
    let commit = created[0]["context"]["commitId"].as_str().unwrap().to_string();
    let (_, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let page = app.page(&format!("/workbooks/{wb}?sheet={sheet}")).await;
    assert!(
        page.contains("class=\"checking\"") || page.contains(" checking\""),
        "{page}"
    );
    assert!(
        page.contains("Registry &#60;check&#62;") || page.contains("Registry &lt;check&gt;"),
        "escaped label: {page}"
    );
    let (status, _) = app
        .post_json(&format!("/commits/{commit}/complete"), &json!({}))
        .await;
    assert_eq!(status, 200);
    let page = app.page(&format!("/workbooks/{wb}?sheet={sheet}")).await;
    assert!(!page.contains("aria-busy=\"true\""), "no longer checking");

    // A commit the hook never answers stops blocking after two minutes, marked as such.
    insert(&app, &sheet, json!([{"code": "B"}]), &[]).await;
    {
        use diesel::prelude::*;
        use wharf::db::schema::commits;
        let mut conn = app.pool.get().unwrap();
        let old = wharf::model::now() - chrono::TimeDelta::minutes(3);
        diesel::update(commits::table.filter(commits::completed_at.is_null()))
            .set(commits::created_at.eq(old))
            .execute(&mut conn)
            .unwrap();
    }
    let page = app.page(&format!("/workbooks/{wb}?sheet={sheet}")).await;
    assert!(!page.contains("aria-busy=\"true\""), "{page}");
    assert!(page.contains(" unanswered\""), "{page}");
}

/// Record hooks are the team's rules: a guest's token cannot skip them (`X-Disable-Hooks`),
/// nor answer or complete a commit, which would mark its records checked unchecked.
async fn a_guest_cannot_skip_or_answer_hooks(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let guest = crate::job_helpers::guest_token(&app, space["id"].as_str().unwrap()).await;
    let as_guest = |method: reqwest::Method, path: &str| {
        app.client
            .request(method, app.url(&format!("/v1{path}")))
            .bearer_auth(&guest)
    };
    let (status, body) = send(
        as_guest(reqwest::Method::POST, &format!("/sheets/{sheet}/records"))
            .header("x-disable-hooks", "true")
            .json(&json!([{"code": "G"}])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let created = events_of(&app, "commit:created").await;
    assert_eq!(
        created.len(),
        1,
        "the guest's write still ran the hooks: {created:?}"
    );
    let commit = created[0]["context"]["commitId"].as_str().unwrap().to_string();
    let id = body["data"]["records"][0]["id"].as_str().unwrap().to_string();

    let (status, body) = send(
        as_guest(
            reqwest::Method::PUT,
            &format!("/sheets/{sheet}/records?commitId={commit}"),
        )
        .json(&json!([{"id": id, "values": {"code": {"value": "H"}}}])),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("API key"), "{body}");
    let (status, body) =
        send(as_guest(reqwest::Method::POST, &format!("/commits/{commit}/complete")).json(&json!({}))).await;
    assert_eq!(status, 403, "{body}");
    assert!(events_of(&app, "commit:completed").await.is_empty());
    let (_, c) = app.get_json(&format!("/commits/{commit}")).await;
    assert!(c["data"]["completedAt"].is_null(), "{c}");
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(page["data"]["records"][0]["values"]["code"]["value"], "G");

    // The team's key still answers it.
    let (status, body) = app
        .post_json(&format!("/commits/{commit}/complete"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
}

on_both!(
    the_grid_marks_records_being_checked,
    a_hook_reads_and_answers_a_commit,
    workbook_settings_track_changes,
    bad_messages_are_refused,
    disable_and_force_hooks_headers,
    completing_a_commit_without_changes,
    hooks_cannot_pin_wharfs_own_messages,
    a_gzip_bomb_is_refused_and_nothing_is_stored,
    external_constraints_are_kept,
    hook_answers_and_writes_at_once,
    a_guest_cannot_skip_or_answer_hooks,
);

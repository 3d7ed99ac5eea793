//! `sheets.updateSheet`, and what `sheets.addField` and `sheets.removeField` refuse: bad
//! fields (400 naming the path), taken keys, positions past the end, callers who may not
//! write the sheet; a field inserted before the others keeps every value in place.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

async fn update_sheet_changes_name_slug_and_metadata(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let companies = app.sheet_id(&space, "companies").await;
    let contacts = app.sheet_id(&space, "contacts").await;

    let (status, body) = app
        .patch_json(
            &format!("/sheets/{contacts}"),
            &json!({"name": "People", "slug": "people", "metadata": {"rowHeaders": [1]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["name"], "People");
    assert_eq!(body["data"]["slug"], "people");
    assert_eq!(body["data"]["metadata"], json!({"rowHeaders": [1]}));
    let (_, got) = app.get_json(&format!("/sheets/{contacts}")).await;
    assert_eq!(got["data"]["name"], "People");
    assert_eq!(got["data"]["config"]["slug"], "people");
    assert_eq!(got["data"]["metadata"]["rowHeaders"], json!([1]));
    // Its references still resolve: a contact of a known company is valid.
    app.post_json(&format!("/sheets/{companies}/records"), &json!([{"code": "A"}]))
        .await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": "a@x.io", "company": "A"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["records"][0]["valid"], true, "{body}");

    // A slug another sheet has: 409. The slug a reference names the sheet by: 422.
    let (status, body) = app
        .patch_json(&format!("/sheets/{contacts}"), &json!({"slug": "companies"}))
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = app
        .patch_json(&format!("/sheets/{companies}"), &json!({"slug": "firms"}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["errors"][0]["message"].as_str().unwrap().contains("People"),
        "{body}"
    );
    let (status, body) = app
        .patch_json(&format!("/sheets/{companies}"), &json!({"name": "  "}))
        .await;
    assert_eq!(status, 422, "{body}");
    // A name shows in tabs and lists: one line, nothing that turns the text around it.
    for name in ["a\nb", "tab\there", "x\u{202e}gnp.exe", "\u{7}bell"] {
        let (status, body) = app
            .patch_json(&format!("/sheets/{companies}"), &json!({ "name": name }))
            .await;
        assert_eq!(status, 422, "{name:?}: {body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("one line"),
            "{body}"
        );
    }
    let (status, body) = app
        .patch_json(&format!("/sheets/{companies}"), &json!({"name": "Firms"}))
        .await;
    assert_eq!(status, 200, "{body}");

    let (_, ev) = app
        .get_json("/events?topic=sheet:updated&includeAcknowledged=true")
        .await;
    assert_eq!(ev["data"].as_array().unwrap().len(), 2, "{ev}");
}

async fn add_field_refuses_bad_fields_taken_keys_and_inner_positions(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let add = |body: serde_json::Value, query: &'static str| {
        let path = format!("/sheets/{sheet}/fields{query}");
        let app = &app;
        async move { app.post_json(&path, &body).await }
    };
    let (status, body) = add(json!({"key": "x", "type": "colour"}), "").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["key"], "$.type", "{body}");
    let (status, body) = add(json!({"type": "string"}), "").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["key"], "$.key", "{body}");
    // A key with spaces around it would be stored as sent and read trimmed: refused.
    for key in [" x", "x ", "x\n"] {
        let (status, body) = add(json!({"key": key, "type": "string"}), "").await;
        assert_eq!(status, 400, "{key:?}: {body}");
        assert_eq!(body["errors"][0]["key"], "$.key", "{body}");
    }
    let (status, body) = add(json!({"key": "email", "type": "string"}), "").await;
    assert_eq!(status, 409, "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("email"));
    let (status, body) = add(json!({"key": "x", "type": "string"}), "?insertAtIndex=8").await;
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("past the end"));
    let (status, body) = add(json!({"key": "x", "type": "string"}), "?insertAtIndex=first").await;
    assert_eq!(status, 400, "{body}");
    // In the body, where a client building the field may put it, it is the position too.
    let (status, body) = add(json!({"key": "x", "type": "string", "insertAtIndex": -1}), "").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["key"], "insertAtIndex", "{body}");
    let (status, body) = add(
        json!({"key": "x", "type": "reference", "config": {"ref": "nowhere", "key": "code"}}),
        "",
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["key"], "$.config.ref", "{body}");
    let (_, got) = app.get_json(&format!("/sheets/{sheet}")).await;
    assert_eq!(got["data"]["config"]["fields"].as_array().unwrap().len(), 7);

    // At the end, named or not; the grid shows it on the next load.
    let field = json!({"key": "x", "type": "string", "label": "Xylophone"});
    let (status, body) = add(field.clone(), "?insertAtIndex=7").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], field);
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let (_, got) = app.get_json(&format!("/sheets/{sheet}")).await;
    let wb = got["data"]["workbookId"].as_str().unwrap();
    let grid = app.page(&format!("/workbooks/{wb}?sheet={sheet}")).await;
    assert!(grid.contains("Xylophone"), "the grid shows the new column");
    let (status, _) = app.delete(&format!("/sheets/{sheet}/fields/x")).await;
    assert_eq!(status, 200);
    let grid = app.page(&format!("/workbooks/{wb}?sheet={sheet}")).await;
    assert!(!grid.contains("Xylophone"), "and no longer once removed");
}

async fn a_new_reference_finds_its_targets_at_once(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let companies = app.sheet_id(&space, "companies").await;
    let contacts = app.sheet_id(&space, "contacts").await;
    app.post_json(
        &format!("/sheets/{companies}/records"),
        &json!([{"code": "A", "name": "Acme"}, {"code": "B", "name": "Bolt"}]),
    )
    .await;
    app.post_json(
        &format!("/sheets/{contacts}/records"),
        &json!([{"email": "a@x.io", "name": "Acme"}, {"email": "b@x.io", "name": "Nobody"}]),
    )
    .await;
    // Companies' names were neither unique nor referenced: no keys were kept for them.
    let (status, body) = app
        .post_json(
            &format!("/sheets/{contacts}/fields"),
            &json!({"key": "employer", "type": "reference", "config": {"ref": "companies", "key": "name"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, jobs) = app.get_json("/jobs").await;
    let job = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["operation"] == "recheck-records")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.wait_job(&job).await["status"], "complete");
    let (_, page) = app.get_json(&format!("/sheets/{contacts}/records")).await;
    let records = page["data"]["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    // Set the new reference: a known company name is valid, an unknown one is not.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"id": records[0]["id"], "values": {"employer": "Acme"}},
                    {"id": records[1]["id"], "values": {"employer": "Nobody"}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app.get_json(&format!("/sheets/{contacts}/records")).await;
    let records = page["data"]["records"].as_array().unwrap();
    assert_eq!(records[0]["valid"], true, "{}", records[0]);
    assert_eq!(records[1]["valid"], false, "{}", records[1]);
}

async fn only_writers_of_the_space_change_fields(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sid = space["id"].as_str().unwrap().to_string();
    let sheet = app.sheet_id(&space, "contacts").await;
    let other = app.bare_space("Elsewhere").await;
    let token = |space: String| {
        let app = &app;
        async move {
            let (_, g) = app
                .post_json(
                    "/guests",
                    &json!([{"environmentId": app.env_id, "email": format!("g-{space}@x.io"), "name": "G",
                             "spaces": [{"id": space}]}]),
                )
                .await;
            let gid = g["data"][0]["id"].as_str().unwrap().to_string();
            let (_, t) = app
                .get_json(&format!("/guests/{gid}/token?spaceId={space}"))
                .await;
            t["data"]["token"].as_str().unwrap().to_string()
        }
    };
    let outsider = token(other).await;
    let guest = token(sid).await;
    let call = |method: reqwest::Method, path: String, who: &str, body: serde_json::Value| {
        send(
            app.client
                .request(method, app.url(&format!("/v1{path}")))
                .bearer_auth(who)
                .json(&body),
        )
    };
    let field = json!({"key": "x", "type": "string"});
    let fields = format!("/sheets/{sheet}/fields");
    // Another space's guest: the sheet does not exist.
    let (status, _) = call(reqwest::Method::POST, fields.clone(), &outsider, field.clone()).await;
    assert_eq!(status, 404);
    let (status, _) = call(
        reqwest::Method::DELETE,
        format!("{fields}/name"),
        &outsider,
        json!({}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        reqwest::Method::PATCH,
        format!("/sheets/{sheet}"),
        &outsider,
        json!({"name": "Mine"}),
    )
    .await;
    assert_eq!(status, 404);
    // Locked: the space's guest is refused, a secret key is not.
    app.post_json(&format!("/sheets/{sheet}/lock"), &json!({})).await;
    let (status, body) = call(reqwest::Method::POST, fields.clone(), &guest, field.clone()).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("locked"));
    let (status, body) = app.post_json(&fields, &field).await;
    assert_eq!(status, 200, "{body}");
    app.post_json(&format!("/sheets/{sheet}/unlock"), &json!({}))
        .await;
    // A guest adds a field; removing one (a required one would beat `hasAllValid`) and
    // renaming the sheet are the team's.
    let (status, body) = call(reqwest::Method::DELETE, format!("{fields}/x"), &guest, json!({})).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = call(
        reqwest::Method::DELETE,
        format!("{fields}/email"),
        &guest,
        json!({}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = call(
        reqwest::Method::PATCH,
        format!("/sheets/{sheet}"),
        &guest,
        json!({"metadata": {"x": 1}}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = call(
        reqwest::Method::POST,
        fields.clone(),
        &guest,
        json!({"key": "y", "type": "string", "description": "d".repeat(100 * 1024)}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = app.delete(&format!("{fields}/x")).await;
    assert_eq!(status, 200, "{body}");
    let (_, got) = app.get_json(&format!("/sheets/{sheet}")).await;
    assert_eq!(got["data"]["config"]["fields"].as_array().unwrap().len(), 7);
}

/// A guest adds a field only to a sheet whose records it may edit: a new required field
/// makes every record an error, which a read-only or add-only sheet does not let it do.
async fn a_guest_adds_no_field_to_a_sheet_it_may_not_edit(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Rules").await;
    let sheet = |slug: &str, access: serde_json::Value| json!({"name": slug, "slug": slug, "access": access, "fields": [{"key": "name", "type": "string"}]});
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "W", "spaceId": space, "sheets": [
                sheet("readonly", json!([])), sheet("addonly", json!(["add"])), sheet("open", json!(["*"]))]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let (_, g) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id, "email": "g@x.io", "name": "G", "spaces": [{"id": space}]}]),
        )
        .await;
    let gid = g["data"][0]["id"].as_str().unwrap();
    let (_, t) = app
        .get_json(&format!("/guests/{gid}/token?spaceId={space}"))
        .await;
    let guest = t["data"]["token"].as_str().unwrap().to_string();
    let post = |path: String, body: serde_json::Value| {
        send(
            app.client
                .post(app.url(&format!("/v1{path}")))
                .bearer_auth(&guest)
                .json(&body),
        )
    };
    let required = json!({"key": "x", "type": "string", "constraints": [{"type": "required"}]});
    for s in wb["data"]["sheets"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        let (status, body) = post(format!("/sheets/{id}/fields"), required.clone()).await;
        let expected = if s["slug"] == "open" { 200 } else { 403 };
        assert_eq!(status, expected, "{}: {body}", s["slug"]);
        let (_, got) = app.get_json(&format!("/sheets/{id}")).await;
        let count = got["data"]["config"]["fields"].as_array().unwrap().len();
        assert_eq!(count, if expected == 200 { 2 } else { 1 }, "{}", s["slug"]);
    }
    // A job's source that is nowhere reads to a guest as one of another space: not found.
    let (status, body) = post(
        "/jobs".into(),
        json!({"type": "workbook", "operation": "map", "source": "us_wb_nowhere1"}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
}

/// `insertAtIndex` in the body (where a client building the field may put it) is the
/// field's position, as in the query, and not kept as part of the field.
async fn a_position_in_the_body_places_the_field(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let field = json!({"key": "nick", "type": "string", "label": "Nickname", "insertAtIndex": 1});
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/fields"), &field).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"].get("insertAtIndex").is_none(), "{body}");
    let (_, got) = app.get_json(&format!("/sheets/{sheet}")).await;
    let fields = &got["data"]["config"]["fields"];
    assert_eq!(fields[0]["key"], "email", "{got}");
    assert_eq!(fields[1]["key"], "nick", "{got}");
    assert!(fields[1].get("insertAtIndex").is_none(), "{got}");
}

/// `insertAtIndex=0`: every record's values, kept inputs, messages and unique keys move up
/// one place with their fields, so reads, searches, sorts and unique checks find them where
/// they were, and the counts stay as they are.
async fn a_field_inserted_first_keeps_every_value_in_place(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let path = format!("/sheets/{sheet}/records");
    let (status, body) = app
        .post_json(
            &path,
            &json!([
                {"email": "a@x.io", "name": "Ann", "age": "n/a", "tier": "premium"},
                {"email": "A@X.IO", "name": "Bob", "age": 30},
                {"email": "c@x.io", "name": "Cy", "age": 40},
            ]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<String> = body["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let counts_before = app.get_json(&format!("/sheets/{sheet}/counts")).await.1["data"]["counts"].clone();
    assert_eq!(counts_before["error"], 2, "{counts_before}");

    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/fields?insertAtIndex=0"),
            &json!({"key": "nick", "type": "string", "label": "Nickname"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, got) = app.get_json(&format!("/sheets/{sheet}")).await;
    assert_eq!(got["data"]["config"]["fields"][0]["key"], "nick");
    assert_eq!(got["data"]["config"]["fields"][1]["key"], "email");
    let check = |page: &serde_json::Value| {
        let r = &page["data"]["records"];
        assert_eq!(r[0]["values"]["nick"]["value"], serde_json::Value::Null, "{page}");
        assert_eq!(r[0]["values"]["name"]["value"], "Ann", "{page}");
        assert_eq!(r[0]["values"]["age"]["value"], "n/a", "{page}");
        assert_eq!(r[0]["values"]["age"]["valid"], false, "{page}");
        assert_eq!(r[0]["values"]["tier"]["value"], "gold", "{page}");
        assert_eq!(
            r[0]["values"]["email"]["messages"][0]["source"], "unique-constraint",
            "{page}"
        );
        assert_eq!(
            r[1]["values"]["email"]["messages"][0]["source"], "unique-constraint",
            "{page}"
        );
        assert_eq!(r[2]["values"]["email"]["valid"], true, "{page}");
        assert_eq!(r[2]["values"]["age"]["value"], 40, "{page}");
    };
    check(&app.get_json(&path).await.1);
    let counts = app.get_json(&format!("/sheets/{sheet}/counts")).await.1["data"]["counts"].clone();
    assert_eq!(counts, counts_before);
    // The re-check the new field queues agrees.
    let (_, jobs) = app.get_json("/jobs?pageSize=100").await;
    let recheck = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["operation"] == "recheck-records")
        .map(|j| j["id"].as_str().unwrap().to_string());
    if let Some(job) = recheck {
        app.wait_job(&job).await;
    }
    check(&app.get_json(&path).await.1);
    let counts = app.get_json(&format!("/sheets/{sheet}/counts")).await.1["data"]["counts"].clone();
    assert_eq!(counts, counts_before);

    // Search and sort find the moved values; the unique keys moved with their field.
    let (_, found) = app
        .get_json(&format!("{path}?searchField=name&searchValue=Bob"))
        .await;
    assert_eq!(found["data"]["records"][0]["id"], ids[1].as_str(), "{found}");
    let (_, sorted) = app
        .get_json(&format!("{path}?sortField=name&sortDirection=desc&pageSize=2"))
        .await;
    assert_eq!(sorted["data"]["records"][0]["id"], ids[2].as_str(), "{sorted}");
    let (status, body) = app
        .put_json(
            &path,
            &json!([{"id": ids[2], "values": {"email": {"value": "a@X.io"}, "nick": {"value": "C"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["records"][0]["values"]["email"]["messages"][0]["source"], "unique-constraint",
        "{body}"
    );
    assert_eq!(
        body["data"]["records"][0]["values"]["nick"]["value"], "C",
        "{body}"
    );
    let counts = app.get_json(&format!("/sheets/{sheet}/counts")).await.1["data"]["counts"].clone();
    assert_eq!(counts["error"], 3, "{counts}");
}

on_both!(
    a_guest_adds_no_field_to_a_sheet_it_may_not_edit,
    a_position_in_the_body_places_the_field,
    a_field_inserted_first_keeps_every_value_in_place,
    update_sheet_changes_name_slug_and_metadata,
    add_field_refuses_bad_fields_taken_keys_and_inner_positions,
    a_new_reference_finds_its_targets_at_once,
    only_writers_of_the_space_change_fields
);

async fn the_flatfile_client_changes_fields(db: Db) {
    let app = spawn_app(db).await;
    let report = crate::flatfile_client::run_client_suite(&app, "fields.test.mjs").await;
    assert!(report.contains("pass 1") && report.contains("fail 0"), "{report}");
}

on_both!(the_flatfile_client_changes_fields);

/// A write checked against a sheet's fields as they were before a field change (a request
/// that loaded the sheet just before) is refused, and writes nothing.
async fn a_write_on_fields_that_changed_meanwhile_is_refused(db: Db) {
    use wharf::ids::{RecordId, SheetId};
    use wharf::model::commit::Hooks;
    use wharf::model::record::{self, RecordUpdate};
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (_, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "a@x.io", "name": "Ada", "age": 36}]),
        )
        .await;
    let rid = body["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let mut conn = app.pool.get().unwrap();
    let id = SheetId::parse(&sheet).unwrap();
    let stale = wharf::model::sheet::load_context(&mut conn, &app.env_id, &id).unwrap();

    let (status, body) = app.delete(&format!("/sheets/{sheet}/fields/name")).await;
    assert_eq!(status, 200, "{body}");
    let update = RecordUpdate {
        id: RecordId::parse(&rid).unwrap(),
        values: [("age".to_string(), json!(37))].into_iter().collect(),
        messages: Default::default(),
        metadata: None,
        config: None,
        uploaded: Default::default(),
        confirms: false,
    };
    let refused = record::update(&mut conn, &stale, &[update], "test", &Hooks::Skip);
    assert!(
        matches!(&refused, Err(wharf::model::ModelError::Stale(m)) if m.contains("changed")),
        "{:?}",
        refused.err()
    );
    let refused = record::insert(
        &mut conn,
        &stale,
        vec![vec![json!("b@x.io"), json!("Bo")]],
        "test",
        &Hooks::Skip,
    );
    assert!(matches!(refused, Err(wharf::model::ModelError::Stale(_))));
    drop(conn);
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let records = page["data"]["records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["values"]["age"]["value"], 36, "{page}");
    assert_eq!(records[0]["values"]["email"]["value"], "a@x.io", "{page}");
}

on_both!(a_write_on_fields_that_changed_meanwhile_is_refused);

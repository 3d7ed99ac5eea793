use crate::helpers::*;
use crate::on_both;
use serde_json::json;

async fn a_space_from_a_config_gets_its_workbooks(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    assert!(space["id"].as_str().unwrap().starts_with("us_sp_"));
    assert_eq!(space["name"], "Acme onboarding");
    assert_eq!(space["environmentId"], app.env_id.as_str());
    assert_eq!(space["workbooksCount"], 1);
    let (status, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, 200);
    let wb = &wbs["data"][0];
    assert!(wb["id"].as_str().unwrap().starts_with("us_wb_"));
    assert_eq!(wb["name"], "Customers");
    let slugs: Vec<&str> = wb["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["companies", "contacts"]);
    assert_eq!(wb["sheets"][1]["config"]["fields"][0]["key"], "email");
    assert_eq!(wb["sheets"][1]["recordCounts"]["total"], 0);
}

async fn an_invalid_blueprint_lists_every_problem_with_its_path(db: Db) {
    let app = spawn_app(db).await;
    let mut bad = contacts_blueprint();
    bad["workbooks"][0]["sheets"][1]["fields"][2]["type"] = json!("decimal");
    bad["workbooks"][0]["sheets"][1]["fields"][5]["config"]["options"] = json!([]);
    let (status, body) = app.post_json("/space-configs", &bad).await;
    assert_eq!(status, 422, "{body}");
    let keys: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        vec![
            "$.workbooks[0].sheets[1].fields[2].type",
            "$.workbooks[0].sheets[1].fields[5].config.options"
        ]
    );
    let (_, list) = app.get_json("/space-configs").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "nothing is deployed");
}

async fn redeploying_a_slug_updates_it(db: Db) {
    let app = spawn_app(db).await;
    let (_, first) = app.post_json("/space-configs", &contacts_blueprint()).await;
    let mut changed = contacts_blueprint();
    changed["name"] = json!("Onboarding v2");
    let (_, second) = app.post_json("/space-configs", &changed).await;
    assert_eq!(first["data"]["id"], second["data"]["id"]);
    let (_, got) = app
        .get_json(&format!(
            "/space-configs/{}",
            first["data"]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(got["data"]["name"], "Onboarding v2");
}

async fn spaces_list_search_update_archive_and_delete(db: Db) {
    let app = spawn_app(db).await;
    for name in ["Alpha imports", "Beta imports", "Gamma"] {
        let (status, _) = app.post_json("/spaces", &json!({"name": name})).await;
        assert_eq!(status, 200);
    }
    let env = app.env_id.as_str();
    let (_, all) = app.get_json(&format!("/spaces?environmentId={env}")).await;
    assert_eq!(all["pagination"]["totalCount"], 3);
    let (_, found) = app.get_json("/spaces?search=imports").await;
    assert_eq!(found["data"].as_array().unwrap().len(), 2);
    // A search past any name is a 400 on both databases (SQLite's LIKE was a 500: probe 65e D4).
    let (status, body) = app
        .get_json(&format!("/spaces?search={}", "x".repeat(55_000)))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["key"], "search", "{body}");
    let (_, page) = app.get_json("/spaces?pageSize=2&pageNumber=2").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["pagination"]["pageCount"], 2);

    let id = all["data"][0]["id"].as_str().unwrap().to_string();
    // A body saved by a Windows tool, after a byte-order mark (probe 65e D6).
    let (status, updated) = send(
        app.api(reqwest::Method::PATCH, &format!("/spaces/{id}"))
            .header("content-type", "application/json")
            .body("\u{feff}{\"name\": \"Renamed\"}"),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["name"], "Renamed");
    let (status, _) = app
        .patch_json(&format!("/spaces/{id}"), &json!({"name": "  "}))
        .await;
    assert_eq!(status, 422);
    // A name that would turn the text after it around, or break a line, is refused.
    for name in ["Invoices \u{202E}gnp.exe", "Two\nlines"] {
        let (status, body) = app
            .patch_json(&format!("/spaces/{id}"), &json!({"name": name}))
            .await;
        assert_eq!(status, 422, "{name:?}: {body}");
        let (status, body) = app.post_json("/spaces", &json!({"name": name})).await;
        assert_eq!(status, 422, "{name:?}: {body}");
    }

    let (status, _) = app.post_json(&format!("/spaces/{id}/archive"), &json!({})).await;
    assert_eq!(status, 200);
    let (_, active) = app.get_json("/spaces").await;
    assert_eq!(active["data"].as_array().unwrap().len(), 2);
    let (_, archived) = app.get_json("/spaces?archived=true").await;
    assert_eq!(archived["data"][0]["id"], id.as_str());
    // A flag that is neither is named (probe 60a 7: `query`, a serde message).
    let (status, body) = app.get_json("/spaces?archived=maybe").await;
    assert_eq!(
        (status, &body["errors"][0]["key"]),
        (400, &json!("archived")),
        "{body}"
    );
    app.post_json(&format!("/spaces/{id}/unarchive"), &json!({}))
        .await;

    let (status, _) = app.delete(&format!("/spaces/{id}")).await;
    assert_eq!(status, 200);
    let (status, _) = app.get_json(&format!("/spaces/{id}")).await;
    assert_eq!(status, 404);
    let (status, body) = app
        .post_json("/spaces", &json!({"spaceConfigId": "us_sc_missing1"}))
        .await;
    assert_eq!(status, 422, "{body}");
}

async fn workbooks_are_created_with_sheets_and_checked(db: Db) {
    let app = spawn_app(db).await;
    let (_, space) = app.post_json("/spaces", &json!({"name": "Bare"})).await;
    let space_id = space["data"]["id"].as_str().unwrap();
    let body = json!({"name": "Orders", "spaceId": space_id, "sheets": [
        {"name": "Orders", "fields": [{"key": "sku", "type": "string"}, {"key": "qty", "type": "number"}]}
    ]});
    let (status, wb) = app.post_json("/workbooks", &body).await;
    assert_eq!(status, 200, "{wb}");
    assert_eq!(wb["data"]["sheets"][0]["slug"], "orders");
    let wb_id = wb["data"]["id"].as_str().unwrap();
    let (_, sheets) = app.get_json(&format!("/sheets?workbookId={wb_id}")).await;
    assert_eq!(sheets["data"].as_array().unwrap().len(), 1);

    let bad = json!({"name": "Bad", "spaceId": space_id, "sheets": [{"name": "S", "fields": [{"key": "a", "type": "nope"}]}]});
    let (status, err) = app.post_json("/workbooks", &bad).await;
    assert_eq!(status, 422);
    assert_eq!(err["errors"][0]["key"], "$.sheets[0].fields[0].type");
    let spaced = json!({"name": "Bad", "spaceId": space_id, "sheets": [{"name": "S", "fields": [
        {"key": "a", "type": "string"}, {"key": " b", "type": "string"}]}]});
    let (status, err) = app.post_json("/workbooks", &spaced).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["errors"][0]["key"], "$.sheets[0].fields[1].key", "{err}");

    let (status, renamed) = app
        .patch_json(&format!("/workbooks/{wb_id}"), &json!({"name": "Orders 2024"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(renamed["data"]["name"], "Orders 2024");
    let (status, _) = app.delete(&format!("/workbooks/{wb_id}")).await;
    assert_eq!(status, 200);
    let (status, _) = app.get_json(&format!("/workbooks/{wb_id}")).await;
    assert_eq!(status, 404);
}

async fn every_change_writes_an_event(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let space_id = space["id"].as_str().unwrap();
    let sheet = app.sheet_id(&space, "companies").await;
    app.post_json(
        &format!("/sheets/{sheet}/records"),
        &json!([{"code": {"value": "A1"}}]),
    )
    .await;
    let (_, events) = app.get_json(&format!("/events?spaceId={space_id}")).await;
    let topics: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["topic"].as_str().unwrap())
        .collect();
    assert_eq!(
        topics,
        vec![
            "space:created",
            "workbook:created",
            "records:created",
            "commit:created"
        ]
    );
    let last = &events["data"][2];
    assert_eq!(last["context"]["sheetId"], sheet.as_str());
    assert_eq!(last["context"]["spaceId"], space_id);
    assert!(last["context"]["actorId"]
        .as_str()
        .unwrap()
        .starts_with("us_key_"));
    let (_, only) = app
        .get_json(&format!("/events?spaceId={space_id}&topic=records:created"))
        .await;
    assert_eq!(only["data"].as_array().unwrap().len(), 1);
    let (status, one) = app
        .get_json(&format!("/events/{}", last["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(one["data"]["payload"]["count"], 1);
}

/// A space's and a workbook's `namespace` are kept, listed by, and carried by every event in
/// them as Flatfile's are (`namespaces` and `context.namespaces`); a sheet job's events name
/// its workbook too.
async fn namespaces_are_kept_and_carried_by_events(db: Db) {
    let app = spawn_app(db).await;
    let (status, bad) = app
        .post_json("/spaces", &json!({"name": "S", "namespace": "two words"}))
        .await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(bad["errors"][0]["key"], "namespace");
    let (status, space) = app
        .post_json("/spaces", &json!({"name": "Portal", "namespace": "portal"}))
        .await;
    assert_eq!(status, 200, "{space}");
    assert_eq!(space["data"]["namespace"], "portal");
    let space_id = space["data"]["id"].as_str().unwrap();
    app.post_json("/spaces", &json!({"name": "Plain"})).await;
    let (_, listed) = app.get_json("/spaces?namespace=portal").await;
    let names: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Portal"]);
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Orders", "spaceId": space_id, "namespace": "staging",
                    "sheets": [{"name": "Orders", "slug": "orders", "fields": [{"key": "n", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    assert_eq!(wb["data"]["namespace"], "staging");
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap();
    app.post_json(&format!("/sheets/{sheet}/records"), &json!([{"n": "1"}]))
        .await;
    app.post_json(
        "/jobs",
        &json!({"type": "sheet", "operation": "tidy", "source": sheet, "trigger": "immediate"}),
    )
    .await;
    let (_, events) = app
        .get_json(&format!(
            "/events?spaceId={space_id}&pageSize=50&includeAcknowledged=true"
        ))
        .await;
    let by_topic = |topic: &str| {
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["topic"] == topic)
            .unwrap_or_else(|| panic!("no {topic} in {events}"))
            .clone()
    };
    assert_eq!(by_topic("space:created")["namespaces"], json!(["space:portal"]));
    let created = by_topic("workbook:created");
    assert_eq!(created["namespaces"], json!(["space:portal", "workbook:staging"]));
    assert_eq!(
        created["context"]["namespaces"],
        json!(["space:portal", "workbook:staging"])
    );
    let ready = by_topic("job:ready");
    assert_eq!(ready["context"]["sheetId"], sheet);
    assert_eq!(ready["context"]["workbookId"], wb["data"]["id"], "{ready}");
    assert_eq!(ready["namespaces"], json!(["space:portal", "workbook:staging"]));
    // Deleting carries them too (read before the rows go: probe 48b 1), in a copy of the
    // space so that this one keeps its own for the check below.
    let (_, copy) = app
        .post_json("/spaces", &json!({"name": "Portal 2", "namespace": "portal"}))
        .await;
    let copy_id = copy["data"]["id"].as_str().unwrap().to_string();
    let (_, copy_wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "W", "spaceId": copy_id, "namespace": "staging", "sheets": []}),
        )
        .await;
    let copy_wb = copy_wb["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(app.delete(&format!("/workbooks/{copy_wb}")).await.0, 200);
    assert_eq!(app.delete(&format!("/spaces/{copy_id}")).await.0, 200);
    let (_, gone) = app
        .get_json(&format!(
            "/events?spaceId={copy_id}&pageSize=50&includeAcknowledged=true"
        ))
        .await;
    let namespaces_of = |topic: &str| {
        let all = gone["data"].as_array().unwrap();
        let e = all.iter().find(|e| e["topic"] == topic);
        e.unwrap_or_else(|| panic!("no {topic} in {gone}"))["namespaces"].clone()
    };
    assert_eq!(
        namespaces_of("workbook:deleted"),
        json!(["space:portal", "workbook:staging"])
    );
    assert_eq!(namespaces_of("space:deleted"), json!(["space:portal"]));
    // Taken away: later events carry none.
    let (status, changed) = app
        .patch_json(&format!("/spaces/{space_id}"), &json!({"namespace": ""}))
        .await;
    assert_eq!(status, 200, "{changed}");
    assert!(changed["data"].get("namespace").is_none(), "{changed}");
    let (_, events) = app
        .get_json(&format!("/events?spaceId={space_id}&topic=space:updated"))
        .await;
    assert!(events["data"][0].get("namespaces").is_none(), "{events}");
}

/// A space delete whose storage fails part-way leaves no file listed without its bytes:
/// the files whose bytes went are deleted whole, the error says how many, and the space with
/// its other files stays until the delete is asked again.
async fn a_space_delete_cut_off_by_its_storage_leaves_no_file_without_bytes(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Cut off").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let file = app
            .upload_and_extract(
                &space,
                &format!("f{i}.csv"),
                format!("a,b\n{i},x\n{i},y,z\n").into_bytes(),
            )
            .await;
        ids.push(file["id"].as_str().unwrap().to_string());
    }
    // The second file's bytes cannot be deleted: a folder stands where its object was.
    let second = app.data_dir.join("storage/files").join(&ids[1]);
    std::fs::remove_file(&second).unwrap();
    std::fs::create_dir_all(second.join("stuck")).unwrap();
    let (status, body) = app.delete(&format!("/spaces/{space}")).await;
    assert_eq!(status, 500, "this machine's folder failed, not a store: {body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("1 of the space's 3 files were deleted"),
        "{body}"
    );
    let (status, _) = app.get_json(&format!("/spaces/{space}")).await;
    assert_eq!(status, 200, "the space stays");
    let (_, files) = app.get_json(&format!("/files?spaceId={space}")).await;
    let left: Vec<&str> = files["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        left,
        [ids[1].as_str(), ids[2].as_str()],
        "the first file went whole"
    );
    // The second file's rejected rows went before its own bytes would not: it says so.
    assert_eq!(files["data"][0]["rejectCount"], 0, "{files}");
    assert_eq!(files["data"][1]["rejectCount"], 1, "{files}");
    let download = app
        .api(reqwest::Method::GET, &format!("/files/{}/download", ids[2]))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200, "a file listed still downloads");

    std::fs::remove_dir_all(&second).unwrap();
    let (status, body) = app.delete(&format!("/spaces/{space}")).await;
    assert_eq!(status, 200, "asked again, the delete finishes: {body}");
    let (status, _) = app.get_json(&format!("/spaces/{space}")).await;
    assert_eq!(status, 404);
    assert_eq!(crate::api_files::stored_files(&app), 0, "no bytes are left");
}

/// `autoConfigure: true` (Flatfile's, which `@flatfile/plugin-space-configure` listens for):
/// the space gets a `space:configure` job, ready, that listener code acknowledges, sets the
/// space up under and completes. Without it, no job.
async fn a_space_made_with_auto_configure_gets_its_configure_job(db: Db) {
    let app = spawn_app(db).await;
    let (status, plain) = app.post_json("/spaces", &json!({"name": "Plain"})).await;
    assert_eq!(status, 200, "{plain}");
    assert_eq!(plain["data"]["autoConfigure"], false);
    let (status, made) = app
        .post_json("/spaces", &json!({"name": "Auto", "autoConfigure": true}))
        .await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["data"]["autoConfigure"], true);
    let space = made["data"]["id"].as_str().unwrap().to_string();
    let (_, jobs) = app.get_json("/jobs?pageSize=100").await;
    let jobs = jobs["data"].as_array().unwrap();
    assert_eq!(
        jobs.len(),
        1,
        "only the auto-configured space has a job: {jobs:?}"
    );
    let job = &jobs[0];
    assert_eq!(
        (job["type"].as_str(), job["operation"].as_str()),
        (Some("space"), Some("configure"))
    );
    assert_eq!(
        (job["source"].as_str(), job["status"].as_str()),
        (Some(space.as_str()), Some("ready"))
    );
    let id = job["id"].as_str().unwrap().to_string();
    let mut ready = None;
    for _ in 0..100 {
        let (_, events) = app
            .get_json("/events?topic=job:ready&includeAcknowledged=true&pageSize=100")
            .await;
        ready = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["context"]["jobId"] == id.as_str())
            .cloned();
        if ready.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let ready = ready.expect("job:ready");
    assert_eq!(ready["payload"]["job"], "space:configure", "{ready}");
    assert_eq!(ready["context"]["spaceId"], space.as_str());

    // What `configureSpace` does with it.
    assert_eq!(
        app.post_json(&format!("/jobs/{id}/ack"), &json!({"info": "Configuring"}))
            .await
            .0,
        200
    );
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Contacts", "spaceId": space,
                    "sheets": [{"name": "Contacts", "slug": "contacts", "fields": [{"key": "email", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let wb_id = wb["data"]["id"].as_str().unwrap();
    let (status, _) = app
        .patch_json(
            &format!("/spaces/{space}"),
            &json!({"metadata": {"configured": true}}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, done) = app
        .post_json(
            &format!("/jobs/{id}/complete"),
            &json!({"outcome": {"message": "Set up"}}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    let (_, job) = app.get_json(&format!("/jobs/{id}")).await;
    assert_eq!(job["data"]["status"], "complete");
    let (_, got) = app.get_json(&format!("/spaces/{space}")).await;
    assert_eq!(got["data"]["primaryWorkbookId"], wb_id);
    assert_eq!(got["data"]["metadata"], json!({"configured": true}));
    // `null` empties a space's and a workbook's metadata, as a sheet's (probe 60a 1: kept).
    let (status, _) = app
        .patch_json(&format!("/workbooks/{wb_id}"), &json!({"metadata": {"x": 1}}))
        .await;
    assert_eq!(status, 200);
    for path in [format!("/spaces/{space}"), format!("/workbooks/{wb_id}")] {
        let (status, body) = app.patch_json(&path, &json!({"metadata": null})).await;
        assert_eq!(status, 200, "{body}");
        let (_, got) = app.get_json(&path).await;
        assert_eq!(got["data"]["metadata"], json!({}), "{path}: {got}");
    }
}

on_both!(
    a_space_made_with_auto_configure_gets_its_configure_job,
    a_space_delete_cut_off_by_its_storage_leaves_no_file_without_bytes,
    namespaces_are_kept_and_carried_by_events,
    a_space_from_a_config_gets_its_workbooks,
    an_invalid_blueprint_lists_every_problem_with_its_path,
    redeploying_a_slug_updates_it,
    spaces_list_search_update_archive_and_delete,
    workbooks_are_created_with_sheets_and_checked,
    every_change_writes_an_event,
);

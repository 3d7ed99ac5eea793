//! Bulk changes: `PUT /v1/sheets/{id}/find-replace` and `PATCH .../records/bulk-update`
//! over a selection, all or nothing, validated, counted, one commit.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

async fn seeded(app: &TestApp) -> String {
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows: Vec<Value> = (0..20)
        .map(|i| {
            json!({"email": format!("p{i}@x.io"), "name": if i % 2 == 0 { "N/A" } else { "Ann N/A Lee" },
                   "tier": if i < 5 { "premium" } else { "silver" }, "age": i})
        })
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &Value::Array(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    sheet
}

async fn page(app: &TestApp, sheet: &str) -> Value {
    let (_, p) = app
        .get_json(&format!(
            "/sheets/{sheet}/records?includeCounts=true&pageSize=100"
        ))
        .await;
    p
}

async fn find_and_replace_over_a_selection(db: Db) {
    let app = spawn_app(db).await;
    let sheet = seeded(&app).await;
    // Whole values only ("quoted"), in records whose age is 10 or more.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/find-replace?q=age%20gte%2010"),
            &json!({"find": "\"N/A\"", "replace": "", "fieldKey": "name"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["changed"], 5, "{body}");
    let version = body["data"]["versionId"].as_str().unwrap().to_string();
    let p = page(&app, &sheet).await;
    let names: Vec<Value> = p["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["name"]["value"].clone())
        .collect();
    assert_eq!(names[0], json!("N/A"), "age 0 is outside the selection");
    assert_eq!(names[10], Value::Null, "emptied");
    assert_eq!(names[11], json!("Ann N/A Lee"), "a part is not the whole value");
    // The change is one commit of the records it changed, announced to hooks.
    let (_, c) = app.get_json(&format!("/commits/{version}")).await;
    assert_eq!(c["data"]["count"], 5, "{c}");
    let (_, ev) = app
        .get_json("/events?topic=commit:created&includeAcknowledged=true")
        .await;
    assert!(ev.to_string().contains(&version), "{ev}");

    // Parts of values, everywhere.
    let (_, body) = app
        .put_json(
            &format!("/sheets/{sheet}/find-replace"),
            &json!({"find": "N/A ", "replace": "", "fieldKey": "name"}),
        )
        .await;
    assert_eq!(body["data"]["changed"], 10, "{body}");
    let p = page(&app, &sheet).await;
    assert_eq!(p["data"]["records"][1]["values"]["name"]["value"], "Ann Lee");

    // Flatfile's find and replace may be numbers (or true/false): compared as shown.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/find-replace"),
            &json!({"find": "\"7\"", "replace": 70, "fieldKey": "age"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["changed"], 1, "{body}");
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/find-replace"),
            &json!({"find": 70, "replace": 71, "fieldKey": "age"}),
        )
        .await;
    assert_eq!(
        (status, body["data"]["changed"].clone()),
        (200, json!(1)),
        "{body}"
    );
    let p = page(&app, &sheet).await;
    assert_eq!(p["data"]["records"][7]["values"]["age"]["value"], 71);
    // A misspelt key is refused, not read as "replace with nothing".
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/find-replace"),
            &json!({"find": "Ann", "Replace": "Bo", "fieldKey": "name"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("unknown field `Replace`"), "{body}");
    let (status, body) = app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update"),
            &json!({"fieldUpdates": {}, "fieldUpdate": {"name": {"value": "x"}}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let p = page(&app, &sheet).await;
    assert_eq!(
        p["data"]["records"][1]["values"]["name"]["value"], "Ann Lee",
        "nothing changed"
    );
}

async fn bulk_update_validates_counts_and_is_all_or_nothing(db: Db) {
    let app = spawn_app(db).await;
    let sheet = seeded(&app).await;
    // An enum by its alternative name becomes its value; an unknown one is an error.
    let (status, body) = send(
        app.api(
            reqwest::Method::PATCH,
            &format!("/sheets/{sheet}/records/bulk-update?filter=all&q=age%20lt%203"),
        )
        .header("x-disable-hooks", "true")
        .json(&json!({"fieldUpdates": {"tier": {"value": "bronze"}}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["changed"], 3);
    let p = page(&app, &sheet).await;
    assert_eq!(p["data"]["counts"]["error"], 3, "{p}");
    assert_eq!(p["data"]["counts"]["errorsByField"]["tier"], 3, "{p}");
    // X-Disable-Hooks: a version, no commit:created.
    let (_, ev) = app
        .get_json("/events?topic=commit:created&includeAcknowledged=true")
        .await;
    assert_eq!(ev["data"].as_array().unwrap().len(), 1, "only the insert's: {ev}");

    // Setting one email on many records: the unique rule marks every holder.
    let (_, body) = app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update?q=age%20gte%2018"),
            &json!({"fieldUpdates": {"email": "same@x.io"}}),
        )
        .await;
    assert_eq!(body["data"]["changed"], 2, "{body}");
    let p = page(&app, &sheet).await;
    assert_eq!(p["data"]["counts"]["errorsByField"]["email"], 2, "{p}");

    // Mistakes: nothing changes.
    for (path, body, status) in [
        (
            format!("/sheets/{sheet}/records/bulk-update"),
            json!({"fieldUpdates": {"nope": 1}}),
            422,
        ),
        (
            format!("/sheets/{sheet}/records/bulk-update?q=age%20eq%20)"),
            json!({"fieldUpdates": {"name": "x"}}),
            400,
        ),
        (
            format!("/sheets/{sheet}/records/bulk-update"),
            json!({"fieldUpdates": {}}),
            422,
        ),
    ] {
        let (got, resp) = app.patch_json(&path, &body).await;
        assert_eq!(got, status, "{path}: {resp}");
    }
    let after = page(&app, &sheet).await;
    assert_eq!(after["data"]["records"], p["data"]["records"], "nothing changed");
}

/// Bulk changes and single-record saves at once: none fails, counts equal the data.
async fn bulk_changes_beside_writers(db: Db) {
    let app = spawn_app(db).await;
    let sheet = seeded(&app).await;
    let mut tasks = Vec::new();
    for w in 0..3 {
        let (client, base, key, sheet) = (
            app.client.clone(),
            app.base.clone(),
            app.key.clone(),
            sheet.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for i in 0..6 {
                let req = if w == 0 {
                    client
                        .patch(format!(
                            "{base}/v1/sheets/{sheet}/records/bulk-update?q=age%20lt%2010"
                        ))
                        .json(&json!({"fieldUpdates": {"tier": if i % 2 == 0 { "gold" } else { "nope" }}}))
                } else {
                    client
                        .post(format!("{base}/v1/sheets/{sheet}/records"))
                        .json(&json!([{"email": format!("w{w}-{i}@x.io"), "age": 5}]))
                };
                let (status, body) = send(req.bearer_auth(&key)).await;
                assert_eq!(status, 200, "{body}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let p = page(&app, &sheet).await;
    let recs = p["data"]["records"].as_array().unwrap();
    assert_eq!(recs.len(), 32);
    let errors = recs.iter().filter(|r| r["valid"] == false).count() as i64;
    assert_eq!(p["data"]["counts"]["error"], errors, "{p}");
    assert_eq!(p["data"]["counts"]["total"], 32);
}

/// `POST /v1/sheets/{id}/validate` re-checks every record from what was given: a record
/// whose stored check was lost gets it back, listener messages stay, counts follow.
async fn validate_rechecks_every_record(db: Db) {
    use diesel::prelude::*;
    use wharf::db::schema::{records, sheets};
    let app = spawn_app(db).await;
    let sheet = seeded(&app).await;
    let (_, bronze) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "b@x.io", "tier": "bronze"}]),
        )
        .await;
    let bronze = bronze["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let (_, p) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let flagged = p["data"]["records"][3]["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": flagged, "values": {"name": {"messages": [{"message": "check me", "type": "error"}]}}}]),
        )
        .await;
    assert_eq!(status, 200);
    // The bronze record's stored check is lost (and the counts with it).
    {
        let n: i64 = bronze.trim_start_matches("us_rc_").parse().unwrap();
        let mut conn = app.pool.get().unwrap();
        diesel::update(records::table.find(n))
            .set((
                records::valid.eq(true),
                records::error_fields.eq(None::<String>),
                records::messages.eq(None::<String>),
            ))
            .execute(&mut conn)
            .unwrap();
        diesel::update(sheets::table)
            .set((
                sheets::error_count.eq(1),
                sheets::errors_by_field.eq(r#"{"name":1}"#),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/validate"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["checked"], 21);
    let (_, p) = app
        .get_json(&format!(
            "/sheets/{sheet}/records?includeCounts=true&filter=error"
        ))
        .await;
    let recs = p["data"]["records"].as_array().unwrap();
    let ids: Vec<&str> = recs.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![flagged.as_str(), bronze.as_str()], "{p}");
    assert_eq!(recs[0]["values"]["name"]["messages"][0]["message"], "check me");
    assert_eq!(recs[1]["values"]["tier"]["valid"], false);
    assert_eq!(p["data"]["counts"]["error"], 2, "{p}");
    assert_eq!(
        p["data"]["counts"]["errorsByField"],
        json!({"name": 1, "tier": 1}),
        "{p}"
    );
}

/// Find and replace reads only the records whose stored text holds what is found: text
/// that JSON escapes (quotes, backslashes, line breaks), text beyond ASCII, and inputs kept
/// as typed because they are not valid must all still be found.
async fn find_and_replace_finds_escaped_text_and_kept_inputs(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows = json!([
        {"email": "a@x.io", "name": "Café \"Le\" \\ Bar\nTwo", "tier": "platnum", "age": 1},
        {"email": "b@x.io", "name": "Le Bar", "tier": "premium", "age": 2},
        {"email": "c@x.io", "name": "Ünïcode \"Le\" \\ x", "tier": "platnum", "age": 3},
    ]);
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(page(&app, &sheet).await["data"]["counts"]["error"], 2);

    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/find-replace"),
            &json!({"find": "\"Le\" \\", "replace": "la", "fieldKey": "name"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["changed"], 2, "{body}");
    // An option that is not one of the field's stays as typed; it is found and fixed.
    let (_, body) = app
        .put_json(
            &format!("/sheets/{sheet}/find-replace"),
            &json!({"find": "platnum", "replace": "Silver", "fieldKey": "tier"}),
        )
        .await;
    assert_eq!(body["data"]["changed"], 2, "{body}");
    // An option given by another name (`premium`) is stored and shown as its value
    // (`gold`): what the cell shows is found, not the input kept beside it.
    let (_, body) = app
        .put_json(
            &format!("/sheets/{sheet}/find-replace"),
            &json!({"find": "premium", "replace": "Silver", "fieldKey": "tier"}),
        )
        .await;
    assert_eq!(body["data"]["changed"], 0, "{body}");
    let p = page(&app, &sheet).await;
    let names: Vec<&str> = p["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["name"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Café la Bar\nTwo", "Le Bar", "Ünïcode la x"]);
    assert_eq!(p["data"]["counts"]["error"], 0, "{p}");
    let tiers: Vec<&Value> = p["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["values"]["tier"]["value"])
        .collect();
    assert_eq!(tiers, [&json!("silver"), &json!("gold"), &json!("silver")]);
}

/// A sheet of more than 10,000 records is validated in the background: 202 with the
/// `sheet:recheck-records` job, which puts back a stored check that was lost.
async fn validating_a_big_sheet_is_a_job(db: Db) {
    use diesel::prelude::*;
    use wharf::db::schema::records;
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows: Vec<Value> = (0..10_001)
        .map(|i| json!({"email": format!("p{i}@x.io"), "tier": if i == 7 { "bronze" } else { "silver" }}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &Value::Array(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, c) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(c["data"]["counts"]["error"], 1, "{c}");
    // The bronze record's stored check is lost, and the counts with it.
    {
        use wharf::db::schema::sheets;
        let mut conn = app.pool.get().unwrap();
        diesel::update(records::table.filter(records::valid.eq(false)))
            .set((
                records::valid.eq(true),
                records::error_fields.eq(None::<String>),
                records::messages.eq(None::<String>),
            ))
            .execute(&mut *conn)
            .unwrap();
        diesel::update(sheets::table)
            .set((sheets::error_count.eq(0), sheets::errors_by_field.eq("{}")))
            .execute(&mut *conn)
            .unwrap();
    }
    let (_, c) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(c["data"]["counts"]["error"], 0, "{c}");
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/validate"), &json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["data"]["success"], true);
    let job = body["data"]["jobId"].as_str().unwrap();
    let done = app.wait_job(job).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert!(done["outcome"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Checked 10,001 records"));
    let (_, p) = app
        .get_json(&format!(
            "/sheets/{sheet}/records?filter=error&includeCounts=true"
        ))
        .await;
    assert_eq!(p["data"]["records"].as_array().unwrap().len(), 1, "{p}");
    assert_eq!(p["data"]["records"][0]["values"]["tier"]["valid"], false);
    assert_eq!(p["data"]["counts"]["error"], 1, "{p}");
}

on_both!(
    validating_a_big_sheet_is_a_job,
    find_and_replace_finds_escaped_text_and_kept_inputs,
    validate_rechecks_every_record,
    find_and_replace_over_a_selection,
    bulk_update_validates_counts_and_is_all_or_nothing,
    bulk_changes_beside_writers,
);

//! Bulk changes and delete jobs against a changing sheet and a locked one: a field added
//! between two batches moves the changed field, not the change; an undo finds its fields
//! again by key; a guest's job may not change a locked sheet.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};
use wharf::db::write_tx;
use wharf::ids::{RecordId, SheetId};
use wharf::model::record::bulk::{self, Change};
use wharf::model::record::bulk_history;
use wharf::model::{sheet, ModelError};

/// A companies sheet of three records, and their ids.
pub(crate) async fn three_companies(app: &TestApp) -> (Value, String, Vec<i64>) {
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let rows: Vec<Value> = (0..3)
        .map(|i| json!({"code": {"value": format!("C{i}")}, "name": {"value": "Old"}}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    let ids = body["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| RecordId::parse(r["id"].as_str().unwrap()).unwrap().0)
        .collect();
    (space, sheet, ids)
}

/// Each record's cells by field key, in id order.
pub(crate) async fn cells(app: &TestApp, sheet: &str) -> Vec<Value> {
    let (status, body) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"].clone())
        .collect()
}

/// A bulk job's batch and an undo work from the sheet as it is when they run: a field added
/// first in the sheet after the job read it (its context) shifts every field by one, and
/// the change still lands in `name`, then the undo puts `name` back.
async fn a_field_added_meanwhile_moves_the_field_not_the_change(db: Db) {
    let app = spawn_app(db).await;
    let (_, sheet, ids) = three_companies(&app).await;
    let sheet_id = SheetId::parse(&sheet).unwrap();
    let mut conn = app.pool.get().expect("conn");
    let before = sheet::load_context(&mut conn, &app.env_id, &sheet_id).expect("context");
    let name = before.config.field_index("name").unwrap();
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/fields"),
            &json!({"key": "note", "type": "string", "label": "Note", "insertAtIndex": 0}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let entry = bulk_history::create(&mut conn, &sheet_id, "tester", "Set Name", None).expect("entry");
    let changes = [(name, Change::Set(json!("New")))];
    write_tx::<_, ModelError, _>(&mut conn, |conn| {
        bulk::apply_batch(conn, &before, &ids, &[], &changes, "tester", &entry).map(|_| ())
    })
    .expect("the batch follows the new fields");
    for record in cells(&app, &sheet).await {
        assert_eq!(record["name"]["value"], "New", "{record}");
        assert_eq!(record["note"]["value"], Value::Null, "{record}");
        assert!(
            record["code"]["value"].as_str().unwrap().starts_with('C'),
            "{record}"
        );
    }
    let undone = bulk_history::undo(&mut conn, &before, &entry, "tester").expect("undone");
    assert_eq!(undone.restored, 3);
    for record in cells(&app, &sheet).await {
        assert_eq!(record["name"]["value"], "Old", "{record}");
    }
}

/// While a sheet is locked, a guest's delete-records or bulk-change job is refused (409) as
/// its direct calls are, and nothing changes; a secret key's job still runs.
async fn a_guests_job_may_not_change_a_locked_sheet(db: Db) {
    let app = spawn_app(db).await;
    let (space, sheet, _) = three_companies(&app).await;
    let space_id = space["id"].as_str().unwrap();
    let (_, sheet_body) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = sheet_body["data"]["workbookId"].as_str().unwrap().to_string();
    let guest = crate::job_helpers::guest_token(&app, space_id).await;
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/lock"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    for config in [
        json!({"sheet": sheet}),
        json!({"sheet": sheet, "changes": [{"field": "name", "set": "Guest"}]}),
    ] {
        let operation = if config.get("changes").is_some() {
            "bulk-change"
        } else {
            "delete-records"
        };
        let (status, body) = send(app.client.post(app.url("/v1/jobs")).bearer_auth(&guest).json(
            &json!({"type": "workbook", "operation": operation, "source": workbook,
                              "trigger": "immediate", "config": config}),
        ))
        .await;
        assert_eq!(status, 409, "{operation}: {body}");
        assert!(body.to_string().contains("locked"), "{body}");
    }
    let names: Vec<Value> = cells(&app, &sheet)
        .await
        .iter()
        .map(|r| r["name"]["value"].clone())
        .collect();
    assert_eq!(names, vec![json!("Old"); 3]);
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "delete-records", "source": workbook,
                    "trigger": "immediate", "config": {"sheet": sheet}}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let job = app.wait_job(job["data"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "complete", "{job}");
    assert!(cells(&app, &sheet).await.is_empty());
}

/// A delete-records job's config replaced by an unreadable one is refused (422) as a new
/// job's would be.
async fn a_jobs_config_is_checked_when_it_changes(db: Db) {
    let app = spawn_app(db).await;
    let (_, sheet, _) = three_companies(&app).await;
    let (_, sheet_body) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = sheet_body["data"]["workbookId"].as_str().unwrap().to_string();
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "delete-records", "source": workbook,
                    "config": {"sheet": sheet, "q": "name eq Nobody"}}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let id = job["data"]["id"].as_str().unwrap();
    let (status, body) = app
        .patch_json(
            &format!("/jobs/{id}"),
            &json!({"config": {"sheet": sheet, "q": "(((("}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("config"), "{body}");
    // A bulk change's own checks hold for one made as a job.
    let (status, body) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "bulk-change", "source": workbook,
                    "config": {"sheet": sheet, "changes": [{"field": "nope", "set": "x"}]}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("nope"), "{body}");
    // A misspelt selection is refused, not dropped (left out, it selected every record).
    let (status, body) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "delete-records", "source": workbook,
                    "config": {"sheet": sheet, "recordIds": ["us_rc_1"]}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("config.recordIds"), "{body}");
    // Each operation takes its own keys: a bulk change's config sent as a delete is refused.
    for (operation, config) in [
        (
            "delete-records",
            json!({"sheet": sheet, "changes": [{"field": "name", "set": "x"}]}),
        ),
        (
            "bulk-change",
            json!({"sheet": sheet, "changes": [{"field": "name", "set": "x"}], "exceptions": ["us_rc_1"]}),
        ),
    ] {
        let (status, body) = app
            .post_json(
                "/jobs",
                &json!({"type": "workbook", "operation": operation, "source": workbook, "config": config}),
            )
            .await;
        assert_eq!(status, 422, "{operation}: {body}");
    }
    for misspelt in ["query=name%20eq%20Nobody", "fliter=valid"] {
        let (status, body) = app
            .patch_json(
                &format!("/sheets/{sheet}/records/bulk-update?{misspelt}"),
                &json!({"fieldUpdates": {"name": {"value": "Everyone"}}}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = send(
            app.api(
                reqwest::Method::PUT,
                &format!("/sheets/{sheet}/find-replace?{misspelt}"),
            )
            .json(&json!({"find": "Old", "replace": "Everyone", "fieldKey": "name"})),
        )
        .await;
        assert_eq!(status, 400, "{body}");
    }
    assert_eq!(cells(&app, &sheet).await.len(), 3, "nothing deleted");
    assert!(
        cells(&app, &sheet)
            .await
            .iter()
            .all(|c| c["name"]["value"] == "Old"),
        "nothing changed"
    );
}

/// Find and replace works on what a cell shows, not on the input kept beside it: an option
/// given in another spelling, a padded number, a date written another way, `yes` for true.
async fn find_and_replace_sees_what_cells_show(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows = json!([
        {"email": {"value": "a@x.io"}, "tier": {"value": "Gold"}, "age": {"value": " 12 "}},
        {"email": {"value": "b@x.io"}, "tier": {"value": "premium"}, "joined": {"value": "01/02/2024"}},
        {"email": {"value": "c@x.io"}, "subscribed": {"value": "yes"}},
        {"email": {"value": "d@x.io"}, "joined": {"value": "05/03/2024"}},
    ]);
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    assert_eq!(status, 200, "{body}");
    let replace =
        |find: &str, replace: &str, field: &str| json!({"find": find, "replace": replace, "fieldKey": field});
    for (body, changed) in [
        (replace("gold", "silver", "tier"), 2),
        (replace("\"12\"", "13", "age"), 1),
        (replace("2024-01", "2023-12", "joined"), 1),
        (replace("\"true\"", "false", "subscribed"), 1),
        // "Gold" was given, but "gold" is shown: nothing holds "Go".
        (replace("Go", "Ba", "tier"), 0),
    ] {
        let (status, answer) = app
            .put_json(&format!("/sheets/{sheet}/find-replace"), &body)
            .await;
        assert_eq!(status, 200, "{body}: {answer}");
        assert_eq!(answer["data"]["changed"], changed, "{body}: {answer}");
    }
    let records = cells(&app, &sheet).await;
    assert_eq!(records[0]["tier"]["value"], "silver");
    assert_eq!(records[0]["age"]["value"], 13);
    assert_eq!(records[1]["tier"]["value"], "silver");
    assert_eq!(records[1]["joined"]["value"], "2023-12-02");
    assert_eq!(records[2]["subscribed"]["value"], false);
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["error"], 0, "{counts}");
    // Dates that read back as the dates they are change nothing: the cell keeps the input
    // it was read from and its month-first warning (probe 60b D1: both were lost, and the
    // undo brought neither back).
    let month_first = |records: &[Value]| records[3]["joined"]["messages"].to_string();
    assert!(month_first(&records).contains("month first"), "{}", records[3]);
    let (status, answer) = app
        .put_json(
            &format!("/sheets/{sheet}/find-replace"),
            &replace("-", "/", "joined"),
        )
        .await;
    assert_eq!((status, &answer["data"]["changed"]), (200, &json!(0)), "{answer}");
    let records = cells(&app, &sheet).await;
    assert_eq!(records[3]["joined"]["value"], "2024-05-03");
    assert!(month_first(&records).contains("month first"), "{}", records[3]);
}

/// A find and replace that would make one cell bigger than a cell may be (1 MiB) changes
/// nothing and says which record and field, rather than leave that cell out unsaid.
async fn a_replacement_too_big_for_a_cell_changes_nothing(db: Db) {
    let app = spawn_app(db).await;
    let (_, sheet, ids) = three_companies(&app).await;
    let big = "a".repeat(600_000);
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"code": {"value": "BIG"}, "name": {"value": big}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let big_id = body["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let (status, answer) = app
        .put_json(
            &format!("/sheets/{sheet}/find-replace"),
            &json!({"find": "a", "replace": "aa", "fieldKey": "name"}),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(&big_id) && message.contains("1200000 bytes"),
        "{message}"
    );
    // "Old" holds no "a"; the big cell is as it was.
    let records = cells(&app, &sheet).await;
    assert_eq!(records.len(), ids.len() + 1);
    assert_eq!(records[3]["name"]["value"].as_str().unwrap().len(), 600_000);
    // One byte under the limit is fine.
    let (status, answer) = app
        .put_json(
            &format!("/sheets/{sheet}/find-replace"),
            &json!({"find": big, "replace": "b".repeat(1024 * 1024), "fieldKey": "name"}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["changed"], 1, "{answer}");
}

/// A bulk job run again (after a crash, or canceled and retried while its take-back may
/// still be running) first puts back what every earlier attempt changed, even one already
/// marked undone: one undo of the finished job then takes everything back.
async fn a_rerun_takes_back_earlier_attempts_first(db: Db) {
    use diesel::prelude::*;
    use wharf::db::schema::bulk_changes;
    let app = spawn_app(db).await;
    let (_, sheet, ids) = three_companies(&app).await;
    let (_, sheet_body) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = sheet_body["data"]["workbookId"].as_str().unwrap().to_string();
    let set = json!({"sheet": sheet, "changes": [{"field": "name", "set": "Job"}]});
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "bulk-change", "source": workbook, "config": set}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let job_id = wharf::ids::JobId::parse(job["data"]["id"].as_str().unwrap()).unwrap();
    let actor = job["data"]["createdBy"].as_str().unwrap().to_string();
    // An earlier attempt changed two records, and its take-back was claimed, not done.
    let sheet_id = SheetId::parse(&sheet).unwrap();
    let mut conn = app.pool.get().expect("conn");
    let ctx = sheet::load_context(&mut conn, &app.env_id, &sheet_id).expect("context");
    let name = ctx.config.field_index("name").unwrap();
    let dead = bulk_history::create(&mut conn, &sheet_id, &actor, "Set Name", Some(&job_id)).expect("entry");
    write_tx::<_, ModelError, _>(&mut conn, |conn| {
        bulk::apply_batch(
            conn,
            &ctx,
            &ids[..2],
            &[],
            &[(name, Change::Set(json!("Job")))],
            &actor,
            &dead,
        )
        .map(|_| ())
    })
    .expect("the earlier attempt's batch");
    diesel::update(bulk_changes::table.filter(bulk_changes::id.eq(&dead)))
        .set(bulk_changes::undone_at.eq(Some(chrono::Utc::now().naive_utc())))
        .execute(&mut *conn)
        .expect("claimed");
    drop(conn);

    let (status, body) = app
        .post_json(&format!("/jobs/{job_id}/execute"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let done = app.wait_job(job_id.as_str()).await;
    assert_eq!(done["status"], "complete", "{done}");
    // It said what it was doing before its own work began (probe 57b L1).
    let (_, events) = app
        .get_json("/events?topic=job:updated&includeAcknowledged=true&pageSize=100")
        .await;
    assert!(
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["context"]["jobId"] == job_id.as_str()
                && e["payload"]["info"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("putting back what the stopped run had changed")),
        "{events}"
    );
    let names = |records: Vec<Value>| {
        records
            .iter()
            .map(|r| r["name"]["value"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(cells(&app, &sheet).await), vec![json!("Job"); 3]);
    let undo = json!({"sheet": sheet, "undo": done["outcome"]["bulkId"]});
    let (status, undo_job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "bulk-change", "source": workbook, "trigger": "immediate", "config": undo}),
        )
        .await;
    assert_eq!(status, 200, "{undo_job}");
    let undone = app.wait_job(undo_job["data"]["id"].as_str().unwrap()).await;
    assert_eq!(undone["status"], "complete", "{undone}");
    assert_eq!(names(cells(&app, &sheet).await), vec![json!("Old"); 3]);
}

/// Records in `sheet` that `q` selects.
pub(crate) async fn count(app: &TestApp, sheet: &str, q: &str) -> i64 {
    let q = crate::records_ffql::urlencode(q);
    let (status, body) = app
        .get_json(&format!(
            "/sheets/{sheet}/records?includeCounts=true&pageSize=1&q={q}"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["counts"]["total"].as_i64().expect("a total")
}

/// A lock taken while a guest's job runs stops it at its next batch (only its start used
/// to check): a bulk change puts back what it had changed, a delete keeps what it had
/// deleted and says how many.
async fn a_lock_stops_a_guests_running_job(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let space_id = space["id"].as_str().unwrap();
    let sheet = app.sheet_id(&space, "companies").await;
    let (_, sheet_body) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = sheet_body["data"]["workbookId"].as_str().unwrap().to_string();
    // Four batches' worth.
    const TOTAL: i64 = 20_000;
    for part in 0..2 {
        let rows: Vec<Value> = (0..TOTAL / 2)
            .map(|i| json!({"code": {"value": format!("C{part}-{i}")}, "name": {"value": "Old"}}))
            .collect();
        let (status, body) = app
            .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let guest = crate::job_helpers::guest_token(&app, space_id).await;
    for config in [
        json!({"sheet": sheet, "changes": [{"field": "name", "set": "Guest"}]}),
        json!({"sheet": sheet}),
    ] {
        let operation = if config.get("changes").is_some() {
            "bulk-change"
        } else {
            "delete-records"
        };
        let (status, job) = send(app.client.post(app.url("/v1/jobs")).bearer_auth(&guest).json(
            &json!({"type": "workbook", "operation": operation, "source": workbook,
                    "trigger": "immediate", "config": config}),
        ))
        .await;
        assert_eq!(status, 200, "{operation}: {job}");
        let id = job["data"]["id"].as_str().unwrap().to_string();
        // Lock once the first batch is written and reported.
        let started = std::time::Instant::now();
        loop {
            let (_, now) = app.get_json(&format!("/jobs/{id}")).await;
            let progress = now["data"]["progress"].as_i64().unwrap_or(0);
            let status = now["data"]["status"].as_str().unwrap_or_default().to_string();
            assert!(
                !["complete", "failed", "canceled"].contains(&status.as_str()),
                "{operation} ended first: {now}"
            );
            if progress > 0 {
                break;
            }
            assert!(started.elapsed().as_secs() < 60, "{operation} never began: {now}");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let (status, body) = app.post_json(&format!("/sheets/{sheet}/lock"), &json!({})).await;
        assert_eq!(status, 200, "{body}");
        let done = app.wait_job(&id).await;
        assert_eq!(done["status"], "failed", "{operation}: {done}");
        let said = done["outcome"]["message"].to_string() + &done["info"].to_string();
        assert!(said.contains("was locked while this job ran"), "{done}");
        if operation == "bulk-change" {
            assert_eq!(count(&app, &sheet, r#"name eq "Old""#).await, TOTAL, "{done}");
        } else {
            let left = count(&app, &sheet, r#"name eq "Old""#).await;
            assert!(left > 0 && left < TOTAL, "stopped between batches: {left} left");
            assert!(
                said.contains(&format!(
                    "after deleting {} of 20,000 records",
                    wharf::extract::thousands((TOTAL - left) as u64)
                )),
                "{done}"
            );
        }
        let (status, body) = app
            .post_json(&format!("/sheets/{sheet}/unlock"), &json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// An undo after its field was removed and added again under the same key leaves the new
/// field alone: the removed field's old values do not come back into it.
async fn an_undo_skips_a_field_removed_and_added_again(db: Db) {
    let app = spawn_app(db).await;
    let (_, sheet, _) = three_companies(&app).await;
    let (_, sheet_body) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = sheet_body["data"]["workbookId"].as_str().unwrap().to_string();
    let (status, body) = app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update"),
            &json!({"fieldUpdates": {"name": "New"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let bulk_id = body["data"]["bulkChangeId"]
        .as_str()
        .expect("an entry")
        .to_string();
    let (status, body) = app.delete(&format!("/sheets/{sheet}/fields/name")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/fields"),
            &json!({"key": "name", "type": "string", "label": "Name"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let undo = json!({"sheet": sheet, "undo": bulk_id});
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "bulk-change", "source": workbook,
                    "trigger": "immediate", "config": undo}),
        )
        .await;
    // Nothing of it is left to put back: said so, rather than undone as nothing (probe
    // 63a D5).
    assert_eq!(status, 422, "{job}");
    assert!(
        job.to_string().contains("nothing of this change is left to undo"),
        "{job}"
    );
    for record in cells(&app, &sheet).await {
        assert!(
            record["name"]["value"].is_null(),
            "the new field stays empty: {record}"
        );
        assert!(record["code"]["value"].is_string(), "{record}");
    }
}

on_both!(
    a_rerun_takes_back_earlier_attempts_first,
    a_replacement_too_big_for_a_cell_changes_nothing,
    find_and_replace_sees_what_cells_show,
    a_field_added_meanwhile_moves_the_field_not_the_change,
    a_guests_job_may_not_change_a_locked_sheet,
    a_jobs_config_is_checked_when_it_changes,
    a_lock_stops_a_guests_running_job,
    an_undo_skips_a_field_removed_and_added_again,
);

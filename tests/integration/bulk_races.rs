//! A bulk-change job against what happens beside it: a field added while the job starts
//! (its selection is read on the fields of that moment, not those it loaded first: probe
//! 48c 1), and a lock taken while the server was down (the earlier attempt's cells go
//! back before the lock stops the job: 48c 2).

use crate::bulk_hardening::{cells, three_companies};
use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};
use wharf::db::{write_tx, AnyConnection};
use wharf::ids::{JobId, SheetId};
use wharf::model::record::bulk::{self, Change};
use wharf::model::record::bulk_history;
use wharf::model::{sheet, sheet_fields, ModelError};

async fn workbook_of(app: &TestApp, sheet: &str) -> String {
    let (_, body) = app.get_json(&format!("/sheets/{sheet}")).await;
    body["data"]["workbookId"].as_str().unwrap().to_string()
}

fn names(records: &[Value]) -> Vec<Value> {
    records.iter().map(|r| r["name"]["value"].clone()).collect()
}

/// The job has loaded the sheet and waits to write its history entry when a field is
/// added first in the sheet (on PostgreSQL the test holds the history table; on SQLite,
/// one writer at a time, whose job cannot be held there alone, the field comes before the
/// job starts). Either way the records its query picks change.
async fn a_field_added_as_the_job_starts_moves_no_selection(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let (_, sheet, _) = three_companies(&app).await;
    let workbook = workbook_of(&app, &sheet).await;
    let config = json!({"sheet": sheet, "q": "code eq C1 or code eq C2",
                        "changes": [{"field": "name", "set": "New"}]});
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "bulk-change", "source": workbook,
                    "trigger": "immediate", "config": config}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let job_id = job["data"]["id"].as_str().unwrap().to_string();

    let sheet_id = SheetId::parse(&sheet).unwrap();
    let field = json!({"key": "note", "type": "string", "label": "Note"});
    let mut held = app.pool.get().expect("conn");
    if matches!(&*held, AnyConnection::Postgres(_)) {
        let hold = ["BEGIN", "LOCK TABLE bulk_changes IN EXCLUSIVE MODE"];
        for statement in hold {
            diesel::RunQueryDsl::execute(diesel::sql_query(statement), &mut *held).expect("held");
        }
        app.start_workers();
        // Until the job has read the sheet and waits on the history table.
        for _ in 0..200 {
            let (_, j) = app.get_json(&format!("/jobs/{job_id}")).await;
            if j["data"]["status"] == "executing" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        sheet_fields::add_field(&mut held, &app.env_id, &sheet_id, &field, Some(0), "tester").expect("added");
        diesel::RunQueryDsl::execute(diesel::sql_query("COMMIT"), &mut *held).expect("committed");
    } else {
        sheet_fields::add_field(&mut held, &app.env_id, &sheet_id, &field, Some(0), "tester").expect("added");
        app.start_workers();
    }
    drop(held);

    let done = app.wait_job(&job_id).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(
        names(&cells(&app, &sheet).await),
        [json!("Old"), json!("New"), json!("New")]
    );
}

/// An earlier attempt (cut off by a crash) changed two records; the sheet was locked while
/// the server was down. The guest's job, run again, fails on the lock with nothing of its
/// change left.
async fn a_lock_found_on_a_rerun_leaves_nothing_half_done(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let (space, sheet, ids) = three_companies(&app).await;
    let workbook = workbook_of(&app, &sheet).await;
    let guest = crate::job_helpers::guest_token(&app, space["id"].as_str().unwrap()).await;
    let config = json!({"sheet": sheet, "changes": [{"field": "name", "set": "Guest"}]});
    let (status, job) = send(app.client.post(app.url("/v1/jobs")).bearer_auth(&guest).json(&json!(
        {"type": "workbook", "operation": "bulk-change", "source": workbook, "trigger": "immediate", "config": config}
    )))
    .await;
    assert_eq!(status, 200, "{job}");
    let job_id = JobId::parse(job["data"]["id"].as_str().unwrap()).unwrap();
    let actor = job["data"]["createdBy"].as_str().unwrap().to_string();
    let sheet_id = SheetId::parse(&sheet).unwrap();
    let mut conn = app.pool.get().expect("conn");
    let ctx = sheet::load_context(&mut conn, &app.env_id, &sheet_id).expect("context");
    let name = ctx.config.field_index("name").unwrap();
    let earlier =
        bulk_history::create(&mut conn, &sheet_id, &actor, "Set Name", Some(&job_id)).expect("entry");
    write_tx::<_, ModelError, _>(&mut conn, |conn| {
        let changes = [(name, Change::Set(json!("Guest")))];
        bulk::apply_batch(conn, &ctx, &ids[..2], &[], &changes, &actor, &earlier).map(|_| ())
    })
    .expect("the earlier attempt's batch");
    drop(conn);
    assert_eq!(
        names(&cells(&app, &sheet).await),
        [json!("Guest"), json!("Guest"), json!("Old")]
    );
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/lock"), &json!({})).await;
    assert_eq!(status, 200, "{body}");

    app.start_workers();
    let done = app.wait_job(job_id.as_str()).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(done["info"].to_string().contains("locked"), "{done}");
    assert_eq!(names(&cells(&app, &sheet).await), vec![json!("Old"); 3]);
}

/// An undo job finds the change claimed by another undo job that has not ended (cut off
/// and waiting to resume): it leaves the change to that one instead of putting every value
/// back beside it (probe 48c 3: two undos at once both said they undid it all).
async fn an_undo_leaves_a_change_claimed_by_another_undo_job(db: Db) {
    use diesel::prelude::*;
    use wharf::db::schema::bulk_changes;
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let (_, sheet, _) = three_companies(&app).await;
    let workbook = workbook_of(&app, &sheet).await;
    let bulk_id = crate::bulk_undo::set_names(&app, &sheet, "Set").await;
    let undo_job = |trigger: &'static str| {
        json!({"type": "workbook", "operation": "bulk-change", "source": workbook,
               "trigger": trigger, "config": {"sheet": sheet, "undo": bulk_id}})
    };
    let (status, first) = app.post_json("/jobs", &undo_job("manual")).await;
    assert_eq!(status, 200, "{first}");
    let first = first["data"]["id"].as_str().unwrap().to_string();
    let actor = app.get_json(&format!("/jobs/{first}")).await.1["data"]["createdBy"]
        .as_str()
        .unwrap()
        .to_string();
    // The first undo claimed the change and was cut off before its first batch.
    let mut conn = app.pool.get().expect("conn");
    diesel::update(bulk_changes::table.filter(bulk_changes::id.eq(&bulk_id)))
        .set((
            bulk_changes::undone_at.eq(Some(chrono::Utc::now().naive_utc())),
            bulk_changes::undone_by.eq(Some(actor.as_str())),
            bulk_changes::undo_pending.eq(true),
            bulk_changes::undo_job.eq(Some(first.as_str())),
        ))
        .execute(&mut *conn)
        .expect("claimed");
    drop(conn);

    let (status, second) = app.post_json("/jobs", &undo_job("immediate")).await;
    assert_eq!(status, 200, "{second}");
    app.start_workers();
    let second = app.wait_job(second["data"]["id"].as_str().unwrap()).await;
    assert_eq!(second["status"], "failed", "{second}");
    assert!(second["info"].to_string().contains(&first), "{second}");
    assert_eq!(names(&cells(&app, &sheet).await), vec![json!("Set"); 3]);

    let (status, body) = app.post_json(&format!("/jobs/{first}/execute"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let done = app.wait_job(&first).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert!(done["outcome"]["message"].to_string().contains('3'), "{done}");
    assert_eq!(names(&cells(&app, &sheet).await), vec![json!("Old"); 3]);
}

/// A person's undo cut off by a stop (its claim a while old) is finished by a secret key's
/// undo, not refused as done (probe 50a F4).
async fn a_secret_key_finishes_a_persons_undo_cut_off(db: Db) {
    use diesel::prelude::*;
    use wharf::db::schema::bulk_changes;
    let app = spawn_app(db).await;
    let (_, sheet, _) = three_companies(&app).await;
    let workbook = workbook_of(&app, &sheet).await;
    let bulk_id = crate::bulk_undo::set_names(&app, &sheet, "Set").await;
    let mut conn = app.pool.get().expect("conn");
    let a_while_ago = wharf::model::now() - chrono::TimeDelta::minutes(5);
    diesel::update(bulk_changes::table.filter(bulk_changes::id.eq(&bulk_id)))
        .set((
            bulk_changes::undone_at.eq(Some(a_while_ago)),
            bulk_changes::undone_by.eq(Some("us_usr_someone1")),
            bulk_changes::undo_pending.eq(true),
        ))
        .execute(&mut *conn)
        .expect("claimed");
    drop(conn);
    let undo = json!({"type": "workbook", "operation": "bulk-change", "source": workbook,
                      "trigger": "immediate", "config": {"sheet": sheet, "undo": bulk_id}});
    let (status, job) = app.post_json("/jobs", &undo).await;
    assert_eq!(status, 200, "{job}");
    let done = app.wait_job(job["data"]["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(names(&cells(&app, &sheet).await), vec![json!("Old"); 3]);
}

on_both!(
    a_secret_key_finishes_a_persons_undo_cut_off,
    an_undo_leaves_a_change_claimed_by_another_undo_job,
    a_field_added_as_the_job_starts_moves_no_selection,
    a_lock_found_on_a_rerun_leaves_nothing_half_done,
);

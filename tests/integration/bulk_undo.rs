//! Undoing bulk changes in turn: the undo of a later change (or a canceled one's
//! take-back) puts back what the earlier change wrote, so the earlier one still undoes;
//! a cell a person changed since stays as they left it.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

/// Sets every record's `name` in one bulk change; returns its id.
pub(crate) async fn set_names(app: &TestApp, sheet: &str, name: &str) -> String {
    let (status, body) = app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update"),
            &json!({"fieldUpdates": {"name": name}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["bulkChangeId"]
        .as_str()
        .expect("an entry")
        .to_string()
}

/// Asks for the undo of `bulk` as a job; the job once it has ended.
async fn undo_job(app: &TestApp, workbook: &str, sheet: &str, bulk: &str) -> Value {
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "bulk-change", "source": workbook,
                    "trigger": "immediate", "config": {"sheet": sheet, "undo": bulk}}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    app.wait_job(job["data"]["id"].as_str().unwrap()).await
}

async fn undo(app: &TestApp, workbook: &str, sheet: &str, bulk: &str) -> Value {
    let done = undo_job(app, workbook, sheet, bulk).await;
    assert_eq!(done["status"], "complete", "{done}");
    done
}

pub(crate) async fn names(app: &TestApp, sheet: &str) -> Vec<Value> {
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["name"]["value"].clone())
        .collect()
}

async fn bulk_changes_undo_in_turn(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let rows: Vec<Value> = (0..3)
        .map(|i| json!({"code": {"value": format!("C{i}")}, "name": {"value": "Old"}}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    let first = body["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let (_, sheet_body) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = sheet_body["data"]["workbookId"].as_str().unwrap().to_string();

    let a = set_names(&app, &sheet, "A").await;
    let b = set_names(&app, &sheet, "B").await;
    // A person's own change after both: no undo takes it away.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": first, "values": {"name": {"value": "Mine"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let undone = undo(&app, &workbook, &sheet, &b).await;
    assert_eq!(
        names(&app, &sheet).await,
        vec![json!("Mine"), json!("A"), json!("A")],
        "{undone}"
    );
    let undone = undo(&app, &workbook, &sheet, &a).await;
    assert_eq!(
        names(&app, &sheet).await,
        vec![json!("Mine"), json!("Old"), json!("Old")],
        "the earlier change undoes after the later one's undo: {undone}"
    );
    let message = undone["outcome"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains('2') && message.contains('1'),
        "2 put back, 1 kept: {message}"
    );
}

/// A cell another bulk change wrote last counts as changed since, even when it wrote the
/// same value: undoing the earlier change leaves it, and the later change's undo puts back
/// what was there before it (a person's edit).
async fn an_undo_leaves_what_a_later_bulk_change_wrote(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let rows: Vec<Value> = (0..3)
        .map(|i| json!({"code": {"value": format!("C{i}")}, "name": {"value": "Old"}}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    let first = body["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let (_, sheet_body) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = sheet_body["data"]["workbookId"].as_str().unwrap().to_string();
    let a = set_names(&app, &sheet, "X").await;
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": first, "values": {"name": {"value": "Mine"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update?ids={first}"),
            &json!({"fieldUpdates": {"name": "X"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let b = body["data"]["bulkChangeId"]
        .as_str()
        .expect("an entry")
        .to_string();
    undo(&app, &workbook, &sheet, &a).await;
    assert_eq!(
        names(&app, &sheet).await,
        vec![json!("X"), json!("Old"), json!("Old")]
    );
    undo(&app, &workbook, &sheet, &b).await;
    assert_eq!(
        names(&app, &sheet).await,
        vec![json!("Mine"), json!("Old"), json!("Old")]
    );
}

/// An undo stopped between two batches (a lock taken on a guest's undo job) keeps what it
/// put back, and the change may be undone again: the rest comes back then.
async fn an_undo_stopped_between_batches_may_be_undone_again(db: Db) {
    use wharf::ids::{RecordId, SheetId};
    use wharf::model::record::bulk::Change;
    use wharf::model::record::bulk_history;
    use wharf::model::{sheet, ModelError};
    const TOTAL: usize = 12_000;
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let rows: Vec<Value> = (0..TOTAL)
        .map(|i| json!({"code": {"value": format!("C{i}")}, "name": {"value": "Old"}}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<i64> = record_ids(&body)
        .iter()
        .map(|id| RecordId::parse(id).unwrap().0)
        .collect();
    let sheet_id = SheetId::parse(&sheet).unwrap();
    let mut conn = app.pool.get().expect("conn");
    let ctx = sheet::load_context(&mut conn, &app.env_id, &sheet_id).expect("context");
    let name = ctx.config.field_index("name").unwrap();
    let entry = crate::bulk_job_selection::job_batch(&mut conn, &ctx, &ids, name, Change::Set(json!("New")));
    let stopped =
        bulk_history::undo_checked(&mut conn, &ctx, &entry, "tester", None, &mut |_, _, restored| {
            match restored {
                0 => Ok(()),
                _ => Err(ModelError::Conflict("locked".into())),
            }
        });
    assert!(stopped.is_err(), "stopped before its second batch");
    let put_back = names_count(&app, &sheet, "Old").await;
    assert!(put_back > 0 && put_back < TOTAL as i64, "{put_back} put back");
    let done = bulk_history::undo(&mut conn, &ctx, &entry, "tester").expect("undone again");
    // The cells its first try put back count as put back, not as changed by someone since.
    assert_eq!((done.restored, done.kept), (TOTAL, 0));
    assert_eq!(names_count(&app, &sheet, "Old").await, TOTAL as i64);
}

/// An undo that has started runs to its end: a cancel is refused (stopped halfway it would
/// leave the change half undone); one not yet started may be canceled.
async fn a_running_undo_is_not_canceled(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"code": "C1", "name": "Old"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, sheet_body) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = sheet_body["data"]["workbookId"].as_str().unwrap().to_string();
    let bulk = set_names(&app, &sheet, "New").await;
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "bulk-change", "source": workbook,
                    "trigger": "immediate", "config": {"sheet": sheet, "undo": bulk}}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let id = job["data"]["id"].as_str().unwrap().to_string();
    let set_status = |to: &'static str| {
        use diesel::prelude::*;
        use wharf::db::schema::jobs;
        let mut conn = app.pool.get().unwrap();
        diesel::update(jobs::table.filter(jobs::id.eq(&id)))
            .set(jobs::status.eq(to))
            .execute(&mut *conn)
            .unwrap();
    };
    // As a worker that took it.
    set_status("executing");
    let (status, body) = app.post_json(&format!("/jobs/{id}/cancel"), &json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("runs to its end"), "{body}");
    // Nor deleted under its worker.
    let (status, body) = app.delete(&format!("/jobs/{id}")).await;
    assert_eq!(status, 409, "{body}");
    set_status("ready");
    let (status, body) = app.post_json(&format!("/jobs/{id}/cancel"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
}

/// How many records have this name.
async fn names_count(app: &TestApp, sheet: &str, name: &str) -> i64 {
    let q = format!("name eq \"{name}\"");
    let (status, body) = app
        .get_json(&format!("/sheets/{sheet}/counts?q={}", urlencoding(&q)))
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["counts"]["total"].as_i64().expect("a total")
}

fn urlencoding(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// An undo cut off by a stop after it claimed its entry (the claim commits before the cells
/// go back) is finished by its author's next undo, not refused as "already undone".
async fn an_undo_cut_off_after_its_claim_is_finished_when_asked_again(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let rows: Vec<Value> = (0..3)
        .map(|i| json!({"code": {"value": format!("C{i}")}, "name": {"value": "Old"}}))
        .collect();
    assert_eq!(
        app.post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
            .await
            .0,
        200
    );
    let (_, sheet_body) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = sheet_body["data"]["workbookId"].as_str().unwrap().to_string();
    let bulk = set_names(&app, &sheet, "New").await;
    let actor: String = {
        use diesel::prelude::*;
        use wharf::db::schema::bulk_changes;
        let mut conn = app.pool.get().unwrap();
        let actor: String = bulk_changes::table
            .find(&bulk)
            .select(bulk_changes::actor)
            .first(&mut *conn)
            .unwrap();
        // What a stop right after the claim leaves.
        diesel::update(bulk_changes::table.find(&bulk))
            .set((
                bulk_changes::undone_at.eq(Some(wharf::model::now())),
                bulk_changes::undone_by.eq(Some(actor.clone())),
                bulk_changes::undo_pending.eq(true),
            ))
            .execute(&mut *conn)
            .unwrap();
        actor
    };
    assert!(actor.starts_with("us_key_"), "{actor}");
    // Just claimed, by an undo answered at once that may still be running: left to it
    // (probe 49a F6); a minute on, it was cut off, and the next undo finishes it.
    let beside = undo_job(&app, &workbook, &sheet, &bulk).await;
    assert_eq!(beside["status"], "failed", "{beside}");
    assert!(
        beside["info"].to_string().contains("being undone right now"),
        "{beside}"
    );
    assert_eq!(names(&app, &sheet).await, vec![json!("New"); 3]);
    {
        use diesel::prelude::*;
        use wharf::db::schema::bulk_changes;
        let mut conn = app.pool.get().unwrap();
        let a_while_ago = wharf::model::now() - chrono::TimeDelta::minutes(2);
        diesel::update(bulk_changes::table.find(&bulk))
            .set(bulk_changes::undone_at.eq(Some(a_while_ago)))
            .execute(&mut *conn)
            .unwrap();
    }
    let done = undo(&app, &workbook, &sheet, &bulk).await;
    assert_eq!(names(&app, &sheet).await, vec![json!("Old"); 3], "{done}");
    // Finished, it is final: a cell set since to what the change wrote stays, and asked
    // again, the undo is refused.
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let first = page["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": first, "values": {"name": {"value": "New"}}}]),
        )
        .await;
    assert_eq!(status, 200);
    // Refused when asked for, before any job is made.
    let (status, again) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "bulk-change", "source": workbook,
                    "trigger": "immediate", "config": {"sheet": sheet, "undo": bulk}}),
        )
        .await;
    assert_eq!(status, 409, "{again}");
    assert!(again.to_string().contains("already undone"), "{again}");
    assert_eq!(
        names(&app, &sheet).await,
        vec![json!("New"), json!("Old"), json!("Old")]
    );
}

/// An undo puts a date back as it was given, with what was said of it (probe 60c D8: the
/// date came back typed, its `01/05/2024` and "read month first" warning lost).
async fn an_undo_puts_a_date_back_as_it_was_given(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "a@x.io", "joined": "01/05/2024"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let joined = |page: &Value| page["data"]["records"][0]["values"]["joined"].clone();
    let (_, before) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert!(
        joined(&before)["messages"].to_string().contains("month first"),
        "{before}"
    );
    let (status, changed) = app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update"),
            &json!({"fieldUpdates": {"joined": "2023-12-31"}}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    let bulk = changed["data"]["bulkChangeId"].as_str().unwrap().to_string();
    let (_, sheet_body) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = sheet_body["data"]["workbookId"].as_str().unwrap().to_string();
    undo(&app, &workbook, &sheet, &bulk).await;
    let (_, after) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(joined(&after)["value"], "2024-01-05", "{after}");
    assert_eq!(joined(&after)["messages"], joined(&before)["messages"], "{after}");
}

/// A change whose field was removed since has nothing left to put back: its undo says
/// so and stays unused (probe 63a D5: "Undone: 0 values put back", and the undo spent).
async fn a_change_of_a_removed_field_has_nothing_to_undo(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let rows = json!([{"code": "C1", "name": "Old"}, {"code": "C2", "name": "Old"}]);
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    assert_eq!(status, 200, "{body}");
    let (_, sheet_body) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = sheet_body["data"]["workbookId"].as_str().unwrap().to_string();
    let bulk = set_names(&app, &sheet, "New").await;
    let (status, body) = app.delete(&format!("/sheets/{sheet}/fields/name")).await;
    assert!(status == 200 || status == 202, "{status} {body}");
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "bulk-change", "source": workbook,
                    "trigger": "immediate", "config": {"sheet": sheet, "undo": bulk}}),
        )
        .await;
    let said = match status {
        200 => app
            .wait_job(job["data"]["id"].as_str().unwrap())
            .await
            .to_string(),
        _ => job.to_string(),
    };
    assert!(
        said.contains("nothing of this change is left to undo"),
        "{status} {said}"
    );
}

/// A person's edit of a cell two bulk changes wrote, after both are undone: the edit
/// stays, and its own undo brings back the value from before the bulk changes, never a
/// value taken back everywhere else (probe 65a D2, 65d D7).
async fn undoing_an_edit_after_the_bulk_change_was_undone_never_brings_it_back(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let rows: Vec<Value> = (0..2)
        .map(|i| json!({"code": {"value": format!("C{i}")}, "name": {"value": "Old"}}))
        .collect();
    let (_, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    let first = body["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let (_, sheet_body) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = sheet_body["data"]["workbookId"].as_str().unwrap().to_string();
    let earlier = set_names(&app, &sheet, "EARLY").await;
    let bulk = set_names(&app, &sheet, "BULK").await;

    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    let grid = |method: reqwest::Method, path: String| {
        app.client
            .request(method, app.url(&path))
            .header("hx-request", "true")
            .header("x-csrf-token", &csrf)
    };
    let saved = grid(reqwest::Method::PUT, format!("/grid/{sheet}/records/{first}"))
        .form(&[("field", "name"), ("value", "Fresh")])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status().as_u16(), 200);
    // Undone newest first: the earlier change's undo follows the edit's history past the
    // later, undone one (probe 65d D7).
    undo(&app, &workbook, &sheet, &bulk).await;
    assert_eq!(names(&app, &sheet).await, vec![json!("Fresh"), json!("EARLY")]);
    undo(&app, &workbook, &sheet, &earlier).await;
    assert_eq!(names(&app, &sheet).await, vec![json!("Fresh"), json!("Old")]);

    let undone = grid(
        reqwest::Method::POST,
        format!("/grid/{sheet}/records/{first}/undo"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(undone.status().as_u16(), 200);
    assert_eq!(
        names(&app, &sheet).await,
        vec![json!("Old"), json!("Old")],
        "the edit's undo puts back the value from before the undone bulk changes"
    );
}

on_both!(
    undoing_an_edit_after_the_bulk_change_was_undone_never_brings_it_back,
    a_change_of_a_removed_field_has_nothing_to_undo,
    an_undo_puts_a_date_back_as_it_was_given,
    an_undo_cut_off_after_its_claim_is_finished_when_asked_again,
    bulk_changes_undo_in_turn,
    an_undo_leaves_what_a_later_bulk_change_wrote,
    an_undo_stopped_between_batches_may_be_undone_again,
    a_running_undo_is_not_canceled,
    a_save_of_what_a_bulk_change_wrote_is_kept_by_its_undo,
);

/// A person's save over an editor opened before a bulk change, of the value the bulk change
/// wrote meanwhile, is their own value too: the bulk change's undo leaves it (probe 70b D1:
/// the save was answered, then undone with the job).
async fn a_save_of_what_a_bulk_change_wrote_is_kept_by_its_undo(db: Db) {
    use crate::editing::{editor_version, save};
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows = json!([{"email": "a@x.io", "name": "Ann"}, {"email": "b@x.io", "name": "Bob"}]);
    let (_, inserted) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    let rid = inserted["data"]["records"][0]["id"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    let version = editor_version(
        &app.page(&format!("/grid/{sheet}/records/{rid}/edit?field=name"))
            .await,
    );
    let bulk = set_names(&app, &sheet, "Bea").await;
    let fields = [("field", "name"), ("value", "Bea"), ("version", version.as_str())];
    let (status, body) = save(
        &app.client,
        &app,
        &csrf,
        &format!("/grid/{sheet}/records/{rid}"),
        &fields,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let done = crate::bulk_jobs::run_bulk_job(&app, &sheet, json!({"undo": bulk})).await;
    assert_eq!(done["status"], "complete", "{done}");
    let (_, got) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let names: Vec<Value> = got["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["name"]["value"].clone())
        .collect();
    assert_eq!(
        names,
        vec![json!("Bea"), json!("Bob")],
        "Ada's save kept, Bob's name put back"
    );
}

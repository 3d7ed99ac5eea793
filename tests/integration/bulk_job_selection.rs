//! A bulk change run as a job reads its selection when it starts, and checks each batch
//! against it again when the batch is written: a record someone changed meanwhile so that
//! the selection no longer picks it keeps their change.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;
use wharf::db::write_tx;
use wharf::ids::{RecordId, SheetId};
use wharf::model::record::bulk::{self, Change};
use wharf::model::record::bulk_history;
use wharf::model::{sheet, ModelError};

/// A companies sheet holding `rows`: its id, the insert's answer, and the records' ids.
async fn companies_holding(app: &TestApp, rows: serde_json::Value) -> (String, serde_json::Value, Vec<i64>) {
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<i64> = record_ids(&body)
        .iter()
        .map(|id| RecordId::parse(id).unwrap().0)
        .collect();
    (sheet, body, ids)
}

/// A bulk job's batch as its worker writes it: `change` to field `field` of the records
/// `ids`, under a new history entry; the entry.
pub(crate) fn job_batch(
    conn: &mut wharf::db::AnyConnection,
    ctx: &wharf::model::sheet::SheetContext,
    ids: &[i64],
    field: usize,
    change: Change,
) -> wharf::ids::BulkChangeId {
    let entry = bulk_history::create(conn, &ctx.sheet.id, "tester", "Change", None).expect("entry");
    write_tx::<_, ModelError, _>(conn, |conn| {
        bulk::apply_batch(conn, ctx, ids, &[], &[(field, change)], "tester", &entry)
    })
    .expect("the batch");
    entry
}

async fn a_batch_changes_only_what_the_selection_still_picks(db: Db) {
    let app = spawn_app(db).await;
    let rows = json!([{"code": "C1", "name": "Fix me"}, {"code": "C2", "name": "Fix me"}]);
    let (sheet, body, ids) = companies_holding(&app, rows).await;
    let sheet_id = SheetId::parse(&sheet).unwrap();
    let mut conn = app.pool.get().expect("conn");
    // The job's view, taken when it started: both records picked.
    let ctx = sheet::load_context(&mut conn, &app.env_id, &sheet_id).expect("context");
    let code = ctx.config.field_index("code").unwrap();
    // Meanwhile a person fixes the second record by hand.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": record_ids(&body)[1], "values": {"name": {"value": "Fixed by hand"}, "code": {"value": "MINE"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let entry = bulk_history::create(&mut conn, &sheet_id, "tester", "Set Code", None).expect("entry");
    let params = [("q".to_string(), r#"name eq "Fix me""#.to_string())];
    let written = write_tx::<_, ModelError, _>(&mut conn, |conn| {
        bulk::apply_batch(
            conn,
            &ctx,
            &ids,
            &params,
            &[(code, Change::Set(json!("BULK")))],
            "tester",
            &entry,
        )
    })
    .expect("the batch");
    assert_eq!(written.0.rows, vec![ids[0]], "only the record still picked");
    assert_eq!(written.1, 1, "one cell");
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let codes: Vec<_> = page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["code"]["value"].clone())
        .collect();
    assert_eq!(codes, vec![json!("BULK"), json!("MINE")]);
}

/// A stopped job's take-back keeps the cells changed since, and that later change's history
/// then starts from the value before the job: undoing the later change brings back the
/// value before the job, never the stopped job's.
async fn a_stopped_job_leaves_nothing_behind_a_later_change(db: Db) {
    let app = spawn_app(db).await;
    let rows = json!([{"code": "C1", "name": "User 1"}, {"code": "C2", "name": "User 2"},
                      {"code": "C3", "name": "User 3"}]);
    let (sheet, body, ids) = companies_holding(&app, rows).await;
    let sheet_id = SheetId::parse(&sheet).unwrap();
    let mut conn = app.pool.get().expect("conn");
    let ctx = sheet::load_context(&mut conn, &app.env_id, &sheet_id).expect("context");
    let name = ctx.config.field_index("name").unwrap();
    // A job's first batch: every name replaced.
    let change = Change::Replace {
        find: "User".into(),
        replace: "A".into(),
        whole: false,
        any_case: false,
    };
    let job_entry = job_batch(&mut conn, &ctx, &ids, name, change);
    // Meanwhile a bulk update overwrites the first record's name.
    let first = record_ids(&body)[0].clone();
    let (status, later) = app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update?ids={first}"),
            &json!({"fieldUpdates": {"name": "B"}}),
        )
        .await;
    assert_eq!(status, 200, "{later}");
    let later = later["data"]["bulkChangeId"].as_str().unwrap().to_string();
    // And a person types the third name back as it was.
    let third = record_ids(&body)[2].clone();
    let (status, put) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": third, "values": {"name": {"value": "User 3"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{put}");
    // The job is stopped: what it wrote goes, but for the cell changed since; the one
    // already showing what was there counts as back.
    let undone = bulk_history::take_back(&mut conn, &ctx, &job_entry, "tester").expect("taken back");
    assert_eq!((undone.restored, undone.kept), (2, 1));
    let names = |page: serde_json::Value| crate::records_search::names(&page);
    assert_eq!(
        names(app.get_json(&format!("/sheets/{sheet}/records")).await.1),
        ["B", "User 2", "User 3"]
    );
    // Undoing the later change: the value before the job, not the job's "A 1".
    let done = crate::bulk_jobs::run_bulk_job(&app, &sheet, json!({"undo": later})).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(
        names(app.get_json(&format!("/sheets/{sheet}/records")).await.1),
        ["User 1", "User 2", "User 3"]
    );
}

/// A cell a stopped job wrote, changed by a bulk change that was undone (the job's value
/// back), then by another: taking the job back and undoing the last change leaves the value
/// before the job, whichever of the later changes followed the job's value.
async fn a_stopped_job_leaves_nothing_behind_an_undone_change(db: Db) {
    let app = spawn_app(db).await;
    let (sheet, body, ids) = companies_holding(&app, json!([{"code": "C1", "name": "User 1"}])).await;
    let sheet_id = SheetId::parse(&sheet).unwrap();
    let mut conn = app.pool.get().expect("conn");
    let ctx = sheet::load_context(&mut conn, &app.env_id, &sheet_id).expect("context");
    let name = ctx.config.field_index("name").unwrap();
    let job_entry = job_batch(&mut conn, &ctx, &ids, name, Change::Set(json!("J")));
    let record = record_ids(&body)[0].clone();
    let set_name = async |to: &str| {
        let (status, answer) = app
            .patch_json(
                &format!("/sheets/{sheet}/records/bulk-update?ids={record}"),
                &json!({"fieldUpdates": {"name": to}}),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        answer["data"]["bulkChangeId"].as_str().unwrap().to_string()
    };
    let name_now =
        async || crate::records_search::names(&app.get_json(&format!("/sheets/{sheet}/records")).await.1);
    let x3 = set_name("X3").await;
    let done = crate::bulk_jobs::run_bulk_job(&app, &sheet, json!({"undo": x3})).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(name_now().await, ["J"], "the undo put the job's value back");
    let x4 = set_name("X4").await;
    bulk_history::take_back(&mut conn, &ctx, &job_entry, "tester").expect("taken back");
    assert_eq!(name_now().await, ["X4"], "a later change keeps its value");
    let done = crate::bulk_jobs::run_bulk_job(&app, &sheet, json!({"undo": x4})).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(name_now().await, ["User 1"], "never the stopped job's value");
}

/// An empty `q` or `searchValue` in a write's selection is refused as an empty `ids` is:
/// read as no filter, it selected every record (probe 63a D1: `"q": ""` emptied a sheet).
async fn an_empty_query_selects_nothing_to_write(db: Db) {
    let app = spawn_app(db).await;
    let rows = json!([{"code": "C1", "name": "One"}, {"code": "C2", "name": "Two"}]);
    let (sheet, _, _) = companies_holding(&app, rows).await;
    let (_, wb) = app.get_json(&format!("/sheets/{sheet}")).await;
    let wb = wb["data"]["workbookId"].as_str().unwrap().to_string();
    for selection in [json!({"q": ""}), json!({"q": "  "}), json!({"searchValue": ""})] {
        let mut config = json!({"sheet": sheet});
        config
            .as_object_mut()
            .unwrap()
            .extend(selection.as_object().unwrap().clone());
        let job = json!({"type": "workbook", "operation": "delete-records", "source": wb,
                         "trigger": "immediate", "config": config});
        let (status, body) = app.post_json("/jobs", &job).await;
        assert_eq!(status, 422, "{selection}: {body}");
        assert!(
            body.to_string().contains("leave it out to select every record"),
            "{body}"
        );
    }
    for q in ["q=", "q=%20", "searchValue="] {
        let (status, body) = app
            .patch_json(
                &format!("/sheets/{sheet}/records/bulk-update?{q}"),
                &json!({"fieldUpdates": {"name": {"value": "Everyone"}}}),
            )
            .await;
        assert_eq!(status, 422, "{q}: {body}");
        let (status, body) = app
            .put_json(
                &format!("/sheets/{sheet}/find-replace?{q}"),
                &json!({"find": "o", "replace": "0", "fieldKey": "name"}),
            )
            .await;
        assert_eq!(status, 422, "{q}: {body}");
    }
    let (_, records) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let names: Vec<&str> = records["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["name"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["One", "Two"], "nothing deleted or changed");
    // A read may ask with an empty `q`: it changes nothing.
    let (status, _) = app.get_json(&format!("/sheets/{sheet}/records?q=")).await;
    assert_eq!(status, 200);
}

on_both!(
    an_empty_query_selects_nothing_to_write,
    a_batch_changes_only_what_the_selection_still_picks,
    a_stopped_job_leaves_nothing_behind_a_later_change,
    a_stopped_job_leaves_nothing_behind_an_undone_change
);

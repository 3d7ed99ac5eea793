//! Undoing bulk changes in turn: the undo of a later change (or a canceled one's
//! take-back) puts back what the earlier change wrote, so the earlier one still undoes;
//! a cell a person changed since stays as they left it.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

/// Sets every record's `name` in one bulk change; returns its id.
async fn set_names(app: &TestApp, sheet: &str, name: &str) -> String {
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

async fn undo(app: &TestApp, workbook: &str, sheet: &str, bulk: &str) -> Value {
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "bulk-change", "source": workbook,
                    "trigger": "immediate", "config": {"sheet": sheet, "undo": bulk}}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let done = app.wait_job(job["data"]["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "complete", "{done}");
    done
}

async fn names(app: &TestApp, sheet: &str) -> Vec<Value> {
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

on_both!(bulk_changes_undo_in_turn);

//! A bulk change canceled midway takes back what it wrote, and its versionId names no
//! commit.

use crate::bulk_jobs::{companies, values};
use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

/// A bulk job canceled midway takes back every value it changed: nothing half done.
async fn a_canceled_bulk_job_leaves_nothing_changed(db: Db) {
    let app = spawn_app(db).await;
    let sheet = companies(&app, 40_000, "x").await;
    // What every record holds before the job that gets canceled; a job that finishes
    // before its cancel lands (a fast run) makes its value the new baseline, and we try again.
    let mut baseline = "x".to_string();
    let mut seen = 0i64;
    let mut canceled_midway = false;
    let mut canceled_job = String::new();
    let mut canceled_value = String::new();
    for attempt in 0..6 {
        let value = format!("y{attempt}");
        let (status, body) = app
            .patch_json(
                &format!("/sheets/{sheet}/records/bulk-update"),
                &json!({"fieldUpdates": {"name": value}}),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let job_id = body["data"]["jobId"].as_str().unwrap().to_string();
        // Cancel once its first batch is written (its cells show in the sheet's changes).
        for _ in 0..3000 {
            let (_, changes) = app
                .get_json(&format!("/sheets/{sheet}/changes?pageSize=1&afterId={seen}"))
                .await;
            if changes["data"].as_array().is_some_and(|c| !c.is_empty()) {
                let (status, _) = app.post_json(&format!("/jobs/{job_id}/cancel"), &json!({})).await;
                canceled_midway = status == 200;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let job = app.wait_job(&job_id).await;
        if canceled_midway {
            assert_eq!(job["status"], "canceled", "{job}");
            canceled_job = job_id;
            canceled_value = value;
            break;
        }
        assert_eq!(job["status"], "complete", "{job}");
        baseline = value;
        // Past this job's changes, so the next attempt watches for its own.
        let mut after = seen;
        while let Some(last) = {
            let (_, page) = app
                .get_json(&format!("/sheets/{sheet}/changes?pageSize=10000&afterId={after}"))
                .await;
            page["data"]
                .as_array()
                .and_then(|c| c.last())
                .and_then(|c| c["id"].as_i64())
        } {
            after = last;
        }
        seen = after;
    }
    assert!(canceled_midway, "every job ended before its cancel landed");
    // The worker notices at its next batch and takes back what it wrote.
    let want = vec![(json!(baseline), 40_000)];
    let mut last = Vec::new();
    for _ in 0..600 {
        last = values(&app, &sheet, "name").await;
        if last == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(last, want);
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 40_000, "{counts}");
    // Its versionId names no commit, and says so (probe 57d F6: "once it completes").
    let (status, body) = app
        .get_json(&format!("/sheets/{sheet}/records?versionId={canceled_job}"))
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.to_string().contains("made no commit"), "{body}");
    // The job said it was taking back, then that it had.
    let mut info = Value::Null;
    for _ in 0..100 {
        let (_, job) = app.get_json(&format!("/jobs/{canceled_job}")).await;
        info = job["data"]["info"].clone();
        if info
            .as_str()
            .is_some_and(|i| i.starts_with("Stopped: put back the"))
        {
            break;
        }
        assert_eq!(info, "Canceled: taking back what it had written", "{job}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        info.as_str().unwrap().starts_with("Stopped: put back the"),
        "{info}"
    );
    // The grid's toast for the job says so too (it said "nothing was changed").
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let toast = app.page(&format!("/grid/{sheet}/bulk/jobs/{canceled_job}")).await;
    assert!(toast.contains("Stopped: put back the"), "{toast}");

    // Retried once its take-back has ended: every record changed, and each cell's history
    // reads as it went, every change from the value the one before left (probe 67c D1: the
    // take-back's own changes were rewritten into "x → x").
    let (status, body) = app
        .post_json(&format!("/jobs/{canceled_job}/retry"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.wait_job(&canceled_job).await["status"], "complete");
    assert_eq!(
        values(&app, &sheet, "name").await,
        vec![(json!(canceled_value), 40_000)]
    );
    history_chains(&app, &sheet);

    // Canceled and at once retried, while the canceled attempt's take-back may still run:
    // the retry ends with every record changed, and stays so.
    let (status, body) = app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update"),
            &json!({"fieldUpdates": {"name": "z"}}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let job_id = body["data"]["jobId"].as_str().unwrap().to_string();
    for _ in 0..3000 {
        let (_, job) = app.get_json(&format!("/jobs/{job_id}")).await;
        if job["data"]["progress"].as_i64().unwrap_or(0) > 0 || job["data"]["status"] == "complete" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    app.post_json(&format!("/jobs/{job_id}/cancel"), &json!({})).await;
    let (status, body) = app.post_json(&format!("/jobs/{job_id}/retry"), &json!({})).await;
    if status == 200 {
        let job = app.wait_job(&job_id).await;
        assert_eq!(job["status"], "complete", "{job}");
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        assert_eq!(
            values(&app, &sheet, "name").await,
            vec![(json!("z"), 40_000)],
            "{body}"
        );
    }
}

/// Each cell's changes follow each other (a change starts from the value the one before
/// left) and none is a change of nothing.
fn history_chains(app: &TestApp, sheet: &str) {
    use diesel::prelude::*;
    use wharf::db::schema::record_changes as rc;
    let mut conn = app.pool.get().unwrap();
    let changes: Vec<(i64, String, String, String)> = rc::table
        .filter(rc::sheet_id.eq(sheet))
        .order(rc::id.asc())
        .select((rc::record_id, rc::field, rc::old_value, rc::new_value))
        .load(&mut *conn)
        .unwrap();
    let mut last: std::collections::HashMap<(i64, String), String> = Default::default();
    for (record, field, old, new) in changes {
        assert_ne!(old, new, "a change of nothing: record {record}, {field}");
        if let Some(before) = last.get(&(record, field.clone())) {
            assert_eq!(&old, before, "record {record}, {field}: starts elsewhere");
        }
        last.insert((record, field), new);
    }
}

/// A running bulk job's toast offers Cancel; an undo's does not, as an undo runs to its
/// end (probe 71d D3: its Cancel was there and always refused).
async fn an_undos_toast_offers_no_cancel(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let sheet = companies(&app, 5, "x").await;
    let (status, body) = app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update"),
            &json!({"fieldUpdates": {"name": "y"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let bulk = body["data"]["bulkChangeId"].as_str().unwrap();
    let (_, sheet_json) = app.get_json(&format!("/sheets/{sheet}")).await;
    let wb = sheet_json["data"]["workbookId"].clone();
    for (config, offers_cancel) in [
        (json!({"sheet": sheet, "undo": bulk}), false),
        (
            json!({"sheet": sheet, "changes": [{"field": "name", "set": "z"}]}),
            true,
        ),
    ] {
        let (status, job) = app
            .post_json(
                "/jobs",
                &json!({"type": "workbook", "operation": "bulk-change", "source": wb,
                        "trigger": "immediate", "config": config}),
            )
            .await;
        assert_eq!(status, 200, "{job}");
        let id = job["data"]["id"].as_str().unwrap();
        let toast = app.page(&format!("/grid/{sheet}/bulk/jobs/{id}")).await;
        assert!(toast.contains("Waiting to start"), "{toast}");
        assert_eq!(
            toast.contains(">Cancel</button>"),
            offers_cancel,
            "{config}: {toast}"
        );
    }
}

on_both!(
    an_undos_toast_offers_no_cancel,
    a_canceled_bulk_job_leaves_nothing_changed
);

/// A bulk job whose sheet is deleted midway fails saying so, on both databases (probe 70b
/// D2: "something went wrong on our side" on SQLite, a bare "sheet not found" on
/// PostgreSQL). A job that ends before the delete lands tries again.
async fn a_bulk_job_whose_sheet_is_deleted_says_so(db: Db) {
    let app = spawn_app(db).await;
    for attempt in 0..4 {
        let sheet = companies(&app, 40_000, "x").await;
        let (status, body) = app
            .patch_json(
                &format!("/sheets/{sheet}/records/bulk-update"),
                &json!({"fieldUpdates": {"name": format!("y{attempt}")}}),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let job_id = body["data"]["jobId"].as_str().unwrap().to_string();
        for _ in 0..3000 {
            let (_, changes) = app.get_json(&format!("/sheets/{sheet}/changes?pageSize=1")).await;
            if changes["data"].as_array().is_some_and(|c| !c.is_empty()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let (status, body) = app.delete(&format!("/sheets/{sheet}")).await;
        assert_eq!(status, 200, "{body}");
        let job = app.wait_job(&job_id).await;
        if job["status"] == "complete" {
            continue;
        }
        assert_eq!(job["status"], "failed", "{job}");
        let info = job["info"].as_str().unwrap_or_default();
        assert!(info.contains("was deleted while this change ran"), "{job}");
        return;
    }
    panic!("every bulk job ended before its sheet was deleted");
}

on_both!(a_bulk_job_whose_sheet_is_deleted_says_so);

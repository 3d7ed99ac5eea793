//! A Submit's frozen records go with what they belong to: deleting the space deletes them
//! and their submission at once, and a submission whose job was deleted is dropped with its
//! records by the delivery worker at its next try, once.

use crate::helpers::*;
use crate::on_both;
use crate::submit::{submit_ready, wait_job_until};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The frozen-record files under the data folder's storage.
fn frozen_files(data: &Path) -> Vec<PathBuf> {
    let root = data.join("storage").join("submissions");
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return Vec::new();
    };
    dirs.flatten()
        .flat_map(|d| {
            std::fs::read_dir(d.path())
                .into_iter()
                .flatten()
                .flatten()
                .map(|f| f.path())
        })
        .collect()
}

fn submission_rows(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use wharf::db::schema::submissions;
    let mut conn = app.pool.get().unwrap();
    submissions::table.count().get_result(&mut conn).unwrap()
}

/// Starts a Submit whose receiver keeps failing; answers (job, space, workbook, contacts
/// sheet) once its records are frozen.
async fn failing_submit(app: &TestApp) -> (String, String, String, String) {
    let (receiver, wb, contacts) = submit_ready(app).await;
    receiver.answer_next(&[(502, ""); 8]);
    let body = json!({"type": "workbook", "operation": "submit", "source": wb, "trigger": "immediate"});
    let (status, job) = app.post_json("/jobs", &body).await;
    assert_eq!(status, 200, "{job}");
    let id = job["data"]["id"].as_str().unwrap().to_string();
    receiver.wait_for(1, 30).await;
    let job: Value = wait_job_until(app, &id, 10, |j| {
        j["info"].as_str().is_some_and(|i| i.contains("502"))
    })
    .await;
    (id, job["spaceId"].as_str().unwrap().to_string(), wb, contacts)
}

async fn frozen_records_go_with_their_space(db: Db) {
    let app = spawn_app(db).await;
    let (_, space, _, _) = failing_submit(&app).await;
    // Each sheet's records and their versions.
    let frozen = frozen_files(&app.settings.data_dir);
    assert!(frozen.len() >= 2 && frozen.len().is_multiple_of(2), "{frozen:?}");
    assert_eq!(submission_rows(&app), 1);
    let (status, body) = app.delete(&format!("/spaces/{space}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(frozen_files(&app.settings.data_dir), Vec::<PathBuf>::new());
    assert_eq!(submission_rows(&app), 0);
}

async fn frozen_records_go_once_their_job_is_deleted(db: Db) {
    use diesel::prelude::*;
    use wharf::db::schema::submissions;
    let app = spawn_app(db).await;
    let (job, _, _, _) = failing_submit(&app).await;
    let (status, body) = app.delete(&format!("/jobs/{job}")).await;
    assert_eq!(status, 200, "{body}");
    {
        // Its next try now rather than after the back-off.
        let mut conn = app.pool.get().unwrap();
        diesel::update(submissions::table)
            .set(submissions::next_attempt_at.eq(Some(chrono::Utc::now().naive_utc())))
            .execute(&mut conn)
            .unwrap();
    }
    for _ in 0..300 {
        if submission_rows(&app) == 0 && frozen_files(&app.settings.data_dir).is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "still {} submission(s), files {:?}",
        submission_rows(&app),
        frozen_files(&app.settings.data_dir)
    );
}

/// Deleting the workbook, or a sheet it froze, drops a Submit waiting to deliver: its job
/// is canceled saying why, its frozen records go at once (probe 69b D5: the next try
/// delivered the deleted records, and its `recordsUrl` served them).
async fn a_submit_waiting_to_deliver_goes_with_its_workbook_or_sheet(db: Db) {
    for what in ["workbook", "sheet"] {
        let app = spawn_app(db).await;
        let (job, _, wb, contacts) = failing_submit(&app).await;
        assert_eq!(submission_rows(&app), 1);
        let path = match what {
            "workbook" => format!("/workbooks/{wb}"),
            _ => format!("/sheets/{contacts}"),
        };
        let (status, body) = app.delete(&path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(submission_rows(&app), 0, "{what}");
        assert_eq!(
            frozen_files(&app.settings.data_dir),
            Vec::<PathBuf>::new(),
            "{what}"
        );
        let (_, got) = app.get_json(&format!("/jobs/{job}")).await;
        assert_eq!(got["data"]["status"], "canceled", "{what}: {got}");
        let info = got["data"]["info"].as_str().unwrap_or_default();
        assert!(
            info.contains(&format!("the {what}"))
                && info.contains("was deleted before its records were delivered"),
            "{what}: {got}"
        );
    }
}

on_both!(
    frozen_records_go_with_their_space,
    frozen_records_go_once_their_job_is_deleted,
    a_submit_waiting_to_deliver_goes_with_its_workbook_or_sheet
);

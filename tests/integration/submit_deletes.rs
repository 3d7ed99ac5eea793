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

/// Starts a Submit whose receiver keeps failing; answers (job, space) once its records are
/// frozen.
async fn failing_submit(app: &TestApp) -> (String, String) {
    let (receiver, wb, _) = submit_ready(app).await;
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
    (id, job["spaceId"].as_str().unwrap().to_string())
}

async fn frozen_records_go_with_their_space(db: Db) {
    let app = spawn_app(db).await;
    let (_, space) = failing_submit(&app).await;
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
    let (job, _) = failing_submit(&app).await;
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

on_both!(
    frozen_records_go_with_their_space,
    frozen_records_go_once_their_job_is_deleted
);

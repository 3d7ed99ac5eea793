//! Processes that do not share a data folder and a Submit: the records it froze are in the
//! folder of the process that ran its job, so only that process delivers them, a records
//! link through another says where they are, and a space deleted through another hands them
//! over to the holder. (PostgreSQL only: SQLite has one process.)

use crate::helpers::*;
use crate::processes_files::{another_process, sent, wait_until};
use crate::submit::{submit_ready, wait_job_until};
use diesel::prelude::*;
use serde_json::{json, Value};
use wharf::db::schema::submissions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_records_stay_with_the_process_that_froze_them() {
    let first = spawn_app(Db::Postgres).await;
    let (receiver, wb, _) = submit_ready(&first).await;
    receiver.answer_next(&[(502, ""); 8]);
    let body = json!({"type": "workbook", "operation": "submit", "source": wb, "trigger": "immediate"});
    let (status, job) = first.post_json("/jobs", &body).await;
    assert_eq!(status, 200, "{job}");
    let job_id = job["data"]["id"].as_str().unwrap().to_string();
    receiver.wait_for(1, 30).await;
    let job: Value = wait_job_until(&first, &job_id, 10, |j| {
        j["info"].as_str().is_some_and(|i| i.contains("502"))
    })
    .await;
    let space = job["spaceId"].as_str().unwrap().to_string();
    // Started after the freeze, the second process holds none of it.
    let (second_base, _its_folder) = another_process(&first);
    let folder_id = |dir: &std::path::Path| {
        std::fs::read_to_string(dir.join("storage").join("holder-id")).expect("a folder id")
    };
    let first_folder = folder_id(&first.data_dir);
    let held_by: Option<String> = {
        let mut conn = first.pool.get().unwrap();
        submissions::table
            .select(submissions::held_by)
            .first(&mut conn)
            .unwrap()
    };
    assert_eq!(held_by.as_deref(), Some(first_folder.trim()));
    // Files under storage/submissions/<id>/: each sheet's records and their versions.
    let frozen = |data: &std::path::Path| -> usize {
        let Ok(dirs) = std::fs::read_dir(data.join("storage").join("submissions")) else {
            return 0;
        };
        dirs.flatten()
            .map(|d| std::fs::read_dir(d.path()).map(|f| f.count()).unwrap_or(0))
            .sum()
    };
    assert!(
        frozen(&first.data_dir) >= 2,
        "the first process froze the records"
    );

    // Due now, but held by a folder neither process has: neither tries it.
    let due_now = |held: &str| {
        let mut conn = first.pool.get().unwrap();
        diesel::update(submissions::table)
            .set((
                submissions::held_by.eq(Some(held.to_string())),
                submissions::next_attempt_at.eq(Some(chrono::Utc::now().naive_utc())),
                submissions::claimed_by.eq(None::<String>),
                submissions::claimed_at.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(&mut conn)
            .unwrap();
    };
    due_now("a-folder-no-process-has");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(receiver.got().len(), 1, "no process tried what it cannot read");
    // Held by the first again: it tries at once.
    due_now(first_folder.trim());
    receiver.wait_for(2, 30).await;

    // The Activity tab through the second says which process delivers it.
    first.make_user("ada@example.com", true);
    first.sign_in("ada@example.com", PASSWORD).await;
    let block = |base: String| {
        let url = format!("{base}/spaces/{space}/submissions");
        let client = first.client.clone();
        async move { sent(client.get(url)).await.text().await.unwrap() }
    };
    let there = block(second_base.clone()).await;
    assert!(
        there.contains("by the Wharf process that froze its records"),
        "{there}"
    );
    let here = block(first.base.clone()).await;
    assert!(
        !here.contains("by the Wharf process that froze its records"),
        "{here}"
    );

    // The records link through the second says where the records are.
    let link = receiver.got()[0].json()["data"]["sheets"][0]["recordsUrl"]
        .as_str()
        .expect("a records link")
        .to_string();
    let path = &link[link.find("/v1/").expect("an API link")..];
    let resp = sent(first.client.get(format!("{second_base}{path}"))).await;
    assert_eq!(resp.status().as_u16(), 503);
    let said = resp.text().await.unwrap();
    assert!(said.contains("WHARF_STORAGE_URL"), "{said}");
    let resp = sent(first.client.get(format!("{}{path}", first.base))).await;
    assert_eq!(resp.status().as_u16(), 200, "the holder serves them");

    // The space deleted through the second: the holder deletes the frozen records.
    let resp = sent(
        first
            .client
            .delete(format!("{second_base}/v1/spaces/{space}"))
            .bearer_auth(&first.key),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    wait_until(
        || frozen(&first.data_dir) == 0,
        "the holder deletes the records frozen in its folder",
    )
    .await;
    let mut conn = first.pool.get().unwrap();
    let left: i64 = submissions::table.count().get_result(&mut conn).unwrap();
    assert_eq!(left, 0, "the submission went with its space");
}

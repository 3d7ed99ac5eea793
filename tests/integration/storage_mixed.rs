//! Processes on one database that keep files in different places: one with a bucket, one
//! in its data folder (a forgotten `WHARF_STORAGE_URL`). Each file records where its bytes
//! are, so the other process says so instead of "not found", the mix is found at start, and
//! a delete through either reaches the bytes. (PostgreSQL only: SQLite has one process.)

use crate::helpers::*;
use crate::processes_files::{sent, wait_until};
use crate::storage_s3::S3Server;
use wharf::app::Application;

fn message(body: &serde_json::Value) -> String {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Records `to` as the holder of the files `from` holds.
fn rehold(conn: &mut wharf::db::AnyConnection, from: &str, to: &str) {
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE files SET held_by = '{to}' WHERE held_by = '{from}'"
        )),
        conn,
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_without_the_bucket_says_where_the_bytes_are() {
    let s3 = S3Server::start().await;
    let first = spawn_app_with(Db::Postgres, |s| s.storage = Some(s3.bucket("team"))).await;
    // The second forgot the bucket: it keeps files in its own data folder.
    let second_folder = tempfile::tempdir().expect("temp dir");
    let mut local = first.settings.clone();
    local.storage = None;
    local.data_dir = second_folder.path().to_path_buf();
    let second = Application::build(local).expect("second process builds");
    let second_base = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    let through_second = |method: reqwest::Method, path: &str| {
        first
            .client
            .request(method, format!("{second_base}/v1{path}"))
            .bearer_auth(&first.key)
    };

    let space = first.bare_space("Mixed storage").await;
    let (status, file) = first
        .upload(&space, "in-bucket.csv", b"Email\na@x.org\n".to_vec())
        .await;
    assert_eq!(status, 200, "{file}");
    let in_bucket = file["data"]["id"].as_str().unwrap().to_string();
    assert!(
        !s3.objects_under("team").is_empty(),
        "the upload is in the bucket"
    );

    // Through the second: a 503 naming the bucket and the setting, not "not found".
    let resp = sent(through_second(
        reqwest::Method::GET,
        &format!("/files/{in_bucket}/download"),
    ))
    .await;
    assert_eq!(resp.status().as_u16(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    let said = message(&body);
    assert!(
        said.contains("in-bucket.csv")
            && said.contains(&format!("s3://wharf-files/team at {}", s3.endpoint))
            && said.contains("WHARF_STORAGE_URL"),
        "{body}"
    );

    // A file the second received is in its folder: the first says so the other way round.
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"Email\nb@x.org\n".to_vec()).file_name("in-folder.csv"),
        )
        .text("spaceId", space.clone());
    let resp = sent(through_second(reqwest::Method::POST, "/files").multipart(form)).await;
    assert_eq!(resp.status().as_u16(), 200);
    let file: serde_json::Value = resp.json().await.unwrap();
    let in_folder = file["data"]["id"].as_str().expect("an uploaded file").to_string();
    let (status, body) = first.get_json(&format!("/files/{in_folder}/download")).await;
    assert_eq!(status, 503, "{body}");
    assert!(message(&body).contains("data folder"), "{body}");

    // What each process warns of at start: the other kind's files.
    let second_holder =
        std::fs::read_to_string(second_folder.path().join("storage").join("holder-id")).unwrap();
    {
        let mut conn = first.pool.get().expect("conn");
        let seen_by_second =
            wharf::model::file::kept_where_unreadable(&mut conn, second_holder.trim()).unwrap();
        assert_eq!(seen_by_second.len(), 1, "{seen_by_second:?}");
        assert!(seen_by_second[0].0.starts_with("s3://") && seen_by_second[0].1 >= 1);
        let bucket_name = seen_by_second[0].0.clone();
        let seen_by_first = wharf::model::file::kept_where_unreadable(&mut conn, &bucket_name).unwrap();
        assert_eq!(seen_by_first, vec![(second_holder.trim().to_string(), 1)]);
    }
    // The bucket's file recorded under another spelling of its endpoint: the first reads it
    // all the same, so it warns only of the folder's file (probe 71e D2).
    let settings = first.settings.clone();
    let storage = tokio::task::spawn_blocking(move || wharf::storage::Storage::from_settings(&settings))
        .await
        .unwrap()
        .expect("the first's store");
    let first_holder = storage.holder().expect("a bucket holder");
    let respelled = first_holder.replace("127.0.0.1", "localhost");
    assert_ne!(respelled, first_holder);
    let pool = first.pool.clone();
    let (respelled_kept, unreadable) = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("conn");
        rehold(&mut conn, &first_holder, &respelled);
        let kept = wharf::model::file::kept_where_unreadable(&mut conn, &first_holder).unwrap();
        let unreadable =
            wharf::workers::handed_over::unreadable_here(&mut conn, &storage, &first_holder).unwrap();
        // Back as it was, for the delete below.
        rehold(&mut conn, &respelled, &first_holder);
        (kept, unreadable)
    })
    .await
    .unwrap();
    assert_eq!(
        respelled_kept.len(),
        2,
        "both kinds recorded elsewhere: {respelled_kept:?}"
    );
    assert_eq!(unreadable, vec![(second_holder.trim().to_string(), 1)]);

    // A delete through the second hands the bucket's bytes to a process using the bucket.
    let resp = sent(through_second(
        reqwest::Method::DELETE,
        &format!("/files/{in_bucket}"),
    ))
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    wait_until(
        || {
            s3.objects_under("team")
                .iter()
                .all(|p| !p.to_string_lossy().contains(&in_bucket))
        },
        "a process using the bucket deletes the bytes of a file deleted through one without it",
    )
    .await;
}

/// A process on another bucket (another prefix here) leaves the extraction of a file in the
/// shared bucket to a process that reads it: it failed such jobs as "no longer in storage",
/// marking the file failed (probe 54a M3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_on_another_bucket_leaves_extractions_to_others() {
    let s3 = S3Server::start().await;
    let first = spawn_app_with(Db::Postgres, |s| {
        s.storage = Some(s3.bucket("team"));
        s.job_workers = 0;
    })
    .await;
    let space = first.bare_space("Two buckets").await;
    // The other process runs jobs, on another bucket.
    let other_dir = tempfile::tempdir().expect("temp dir");
    let mut other = first.settings.clone();
    other.data_dir = other_dir.path().to_path_buf();
    other.storage = Some(s3.bucket("elsewhere"));
    other.job_workers = 2;
    let other = Application::build(other).expect("the other process builds");
    tokio::spawn(other.run_until_stopped());

    let (status, file) = first
        .upload(&space, "shared.csv", b"Email\na@x.org\n".to_vec())
        .await;
    assert_eq!(status, 200, "{file}");
    let id = file["data"]["id"].as_str().unwrap().to_string();
    let (_, found) = first.get_json(&format!("/jobs?fileId={id}")).await;
    let job = found["data"][0]["id"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let (_, got) = first.get_json(&format!("/jobs/{job}")).await;
    assert_eq!(got["data"]["status"], "ready", "left to others: {got}");
    let (_, f) = first.get_json(&format!("/files/{id}")).await;
    assert_ne!(f["data"]["status"], "failed", "{f}");

    // A process on the file's bucket extracts it.
    let third_dir = tempfile::tempdir().expect("temp dir");
    let mut third = first.settings.clone();
    third.data_dir = third_dir.path().to_path_buf();
    third.job_workers = 2;
    let third = Application::build(third).expect("a third process builds");
    tokio::spawn(third.run_until_stopped());
    let done = first.wait_job(&job).await;
    assert_eq!(done["status"], "complete", "{done}");
}

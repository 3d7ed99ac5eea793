//! A process sharing the bucket whose scratch folder cannot take a copy of a file (a full
//! or unwritable disk) leaves the extraction to the other processes rather than failing it
//! (probe 67g D3). PostgreSQL only: SQLite has one process.

use crate::helpers::*;
use crate::storage_s3::S3Server;
use std::time::Duration;
use wharf::app::Application;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_cannot_copy_a_file_leaves_its_extraction_to_the_others() {
    let s3 = S3Server::start().await;
    let first = spawn_app_with(Db::Postgres, |s| {
        s.storage = Some(s3.bucket("scratch"));
        s.job_workers = 0;
    })
    .await;
    // The only process with workers at first cannot write a download: its scratch folder
    // (`storage/tmp`) is a plain file.
    let broken_dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(broken_dir.path().join("storage")).expect("storage folder");
    std::fs::write(broken_dir.path().join("storage/tmp"), b"not a folder").expect("scratch file");
    let mut settings = first.settings.clone();
    settings.data_dir = broken_dir.path().to_path_buf();
    settings.job_workers = 2;
    let broken = Application::build(settings).expect("the process with a broken scratch folder builds");
    tokio::spawn(broken.run_until_stopped());

    let space = first.bare_space("Scratch").await;
    let mut uploaded = Vec::new();
    for n in 0..3 {
        let csv = format!("Email,Name\nuser{n}@x.org,Person {n}\n");
        let (status, file) = first.upload(&space, &format!("f{n}.csv"), csv.into_bytes()).await;
        assert_eq!(status, 200, "{file}");
        let id = file["data"]["id"].as_str().unwrap().to_string();
        let (_, found) = first.get_json(&format!("/jobs?fileId={id}")).await;
        uploaded.push((id, found["data"][0]["id"].as_str().unwrap().to_string()));
    }
    // It claims them and gives them back, again and again: none fails.
    tokio::time::sleep(Duration::from_secs(4)).await;
    for (file_id, job_id) in &uploaded {
        let (_, job) = first.get_json(&format!("/jobs/{job_id}")).await;
        let status = job["data"]["status"].as_str().unwrap_or_default();
        assert!(["ready", "executing"].contains(&status), "{job}");
        let (_, file) = first.get_json(&format!("/files/{file_id}")).await;
        assert_ne!(file["data"]["status"], "failed", "{file}");
    }

    // A process that can copy them extracts them all.
    let healthy_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = first.settings.clone();
    settings.data_dir = healthy_dir.path().to_path_buf();
    settings.job_workers = 2;
    let healthy = Application::build(settings).expect("the healthy process builds");
    tokio::spawn(healthy.run_until_stopped());
    for (file_id, job_id) in &uploaded {
        let job = first.wait_job(job_id).await;
        assert_eq!(job["status"], "complete", "{job}");
        let (_, file) = first.get_json(&format!("/files/{file_id}")).await;
        assert_eq!(file["data"]["status"], "complete", "{file}");
    }
}

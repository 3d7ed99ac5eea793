//! Processes that do not share a data folder: each holds only the files it received, and a
//! process that claims an extraction of a file it does not hold leaves the job to the
//! others instead of failing it. (PostgreSQL only: SQLite has one process.)

use crate::helpers::*;
use wharf::app::Application;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_without_the_file_leaves_its_extraction_to_the_others() {
    let first = spawn_app(Db::Postgres).await;
    // A second process on the same database with a data folder of its own.
    let other_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = first.settings.clone();
    settings.data_dir = other_dir.path().to_path_buf();
    let second = Application::build(settings).expect("second process builds");
    tokio::spawn(second.run_until_stopped());

    let space = first.bare_space("Two folders").await;
    let mut csv = String::from("Email,Name\n");
    for i in 0..20_000 {
        csv.push_str(&format!("user{i}@x.org,Person {i}\n"));
    }
    let mut files = Vec::new();
    for n in 0..8 {
        let (status, file) = first
            .upload(&space, &format!("f{n}.csv"), csv.clone().into_bytes())
            .await;
        assert_eq!(status, 200, "{file}");
        files.push(file["data"]["id"].as_str().unwrap().to_string());
    }
    for id in files {
        let (_, jobs) = first.get_json(&format!("/jobs?fileId={id}")).await;
        let job = first.wait_job(jobs["data"][0]["id"].as_str().unwrap()).await;
        assert_eq!(job["status"], "complete", "{job}");
        let (_, file) = first.get_json(&format!("/files/{id}")).await;
        assert_eq!(file["data"]["status"], "complete", "{file}");
    }
}

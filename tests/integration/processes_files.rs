//! Processes that do not share a data folder: each holds only the files it received, and a
//! process that claims an extraction of a file it does not hold leaves the job to the
//! others instead of failing it. (PostgreSQL only: SQLite has one process.)

use crate::helpers::*;
use wharf::app::Application;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_without_the_file_leaves_its_extraction_to_the_others() {
    let first = spawn_app(Db::Postgres).await;
    let (_second, _its_folder) = another_process(&first);

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

/// A file or a space deleted through a process whose data folder does not hold the bytes:
/// the holder deletes them (they stayed in its folder for good), and a download through the
/// other process says where the bytes are instead of "not found".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_through_another_process_reaches_the_bytes_holder() {
    let first = spawn_app(Db::Postgres).await;
    let (second_base, _its_folder) = another_process(&first);
    let through_second = |method: reqwest::Method, path: &str| {
        first
            .client
            .request(method, format!("{second_base}/v1{path}"))
            .bearer_auth(&first.key)
    };
    let held = |id: &str| first.data_dir.join("storage").join("files").join(id).is_file();

    let space = first.bare_space("Two folders").await;
    let (status, file) = first
        .upload(&space, "kept.csv", b"Email\na@x.org\n".to_vec())
        .await;
    assert_eq!(status, 200, "{file}");
    let kept = file["data"]["id"].as_str().unwrap().to_string();
    assert!(held(&kept), "the first process holds the upload");

    // A download through the second says why it cannot serve the bytes.
    let resp = sent(through_second(
        reqwest::Method::GET,
        &format!("/files/{kept}/download"),
    ))
    .await;
    assert_eq!(resp.status().as_u16(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    let message = body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("kept.csv") && message.contains("WHARF_STORAGE_URL"),
        "{body}"
    );

    // The Files tab through the second offers no download link that would fail.
    first.make_user("ada@example.com", true);
    first.sign_in("ada@example.com", PASSWORD).await;
    let files_tab = |base: String| {
        let url = format!("{base}/spaces/{space}/files");
        let client = first.client.clone();
        async move { sent(client.get(url)).await.text().await.unwrap() }
    };
    let link = format!("/files/{kept}/download");
    let there = files_tab(first.base.clone()).await;
    assert!(there.contains(&link), "{there}");
    let here = files_tab(second_base.clone()).await;
    assert!(here.contains("kept.csv") && !here.contains(&link), "{here}");
    assert!(
        here.contains("Download through the process that received it"),
        "{here}"
    );

    // Deleted through the second, the first deletes its bytes.
    let resp = sent(through_second(reqwest::Method::DELETE, &format!("/files/{kept}"))).await;
    assert_eq!(resp.status().as_u16(), 200);
    let (status, _) = first.get_json(&format!("/files/{kept}")).await;
    assert_eq!(status, 404);
    wait_until(
        || !held(&kept),
        "the holder deletes the bytes of the file deleted elsewhere",
    )
    .await;

    // A file uploaded before folders had ids records none: its holder claims it at start,
    // and a delete through the second reaches it then too.
    let (status, file) = first
        .upload(&space, "old.csv", b"Email\nc@x.org\n".to_vec())
        .await;
    assert_eq!(status, 200, "{file}");
    let old = file["data"]["id"].as_str().unwrap().to_string();
    {
        use diesel::prelude::*;
        use wharf::db::schema::files;
        let mut conn = first.pool.get().expect("conn");
        // Recorded under an id its folder lost: found, to be said at start.
        diesel::update(files::table.find(&old))
            .set(files::held_by.eq(Some("folder_lost")))
            .execute(&mut conn)
            .unwrap();
        let here = std::fs::read_to_string(first.data_dir.join("storage").join("holder-id")).unwrap();
        let found =
            wharf::model::file::recorded_elsewhere(&mut conn, &[old.clone(), kept.clone()], here.trim());
        assert_eq!(found.unwrap(), vec![("folder_lost".to_string(), 1)]);
        diesel::update(files::table.find(&old))
            .set(files::held_by.eq(None::<String>))
            .execute(&mut conn)
            .unwrap();
    }
    let storage = wharf::storage::Storage::local(first.data_dir.join("storage"));
    wharf::workers::handed_over::at_start(&first.pool, &storage).unwrap();
    let resp = sent(through_second(
        reqwest::Method::GET,
        &format!("/files/{old}/download"),
    ))
    .await;
    assert_eq!(
        resp.status().as_u16(),
        503,
        "the claimed file is known to be elsewhere"
    );
    let resp = sent(through_second(reqwest::Method::DELETE, &format!("/files/{old}"))).await;
    assert_eq!(resp.status().as_u16(), 200);
    wait_until(
        || !held(&old),
        "the holder deletes the bytes of a file it claimed",
    )
    .await;

    // A space deleted through the second: the bytes of its files go too.
    let (status, file) = first
        .upload(&space, "second.csv", b"Email\nb@x.org\n".to_vec())
        .await;
    assert_eq!(status, 200, "{file}");
    let in_space = file["data"]["id"].as_str().unwrap().to_string();
    assert!(held(&in_space));
    let resp = sent(through_second(
        reqwest::Method::DELETE,
        &format!("/spaces/{space}"),
    ))
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    wait_until(
        || !held(&in_space),
        "the holder deletes the bytes of the space's file",
    )
    .await;
}

/// A second process on `first`'s database with a data folder of its own: its address, and
/// the folder (removed when dropped).
pub fn another_process(first: &TestApp) -> (String, tempfile::TempDir) {
    let folder = tempfile::tempdir().expect("temp dir");
    let mut settings = first.settings.clone();
    settings.data_dir = folder.path().to_path_buf();
    let second = Application::build(settings).expect("second process builds");
    let base = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    (base, folder)
}

/// A request through the second process, answered.
pub async fn sent(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.expect("the request is answered")
}

/// Waits up to 30 s for `done`.
pub async fn wait_until(done: impl Fn() -> bool, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what}: not within 30 s");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

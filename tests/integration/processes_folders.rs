//! Processes on one PostgreSQL database without a bucket, each with its data folder: a
//! folder copied from a running process's (its `holder-id` with it) refuses to start, as
//! deletes through the others would be handed to the wrong folder; a folder shared by two
//! processes is one folder and starts. (PostgreSQL only: SQLite has one process.)

use crate::helpers::*;
use wharf::app::Application;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_data_folder_refuses_to_start() {
    let first = spawn_app(Db::Postgres).await;
    let id_file = |dir: &std::path::Path| dir.join("storage").join("holder-id");

    // A folder of its own starts.
    let own = tempfile::tempdir().unwrap();
    let mut settings = first.settings.clone();
    settings.data_dir = own.path().to_path_buf();
    assert!(Application::build(settings).is_ok(), "a folder of its own starts");

    // The same folder, shared: it holds the first process's mark.
    let shared = Application::build(first.settings.clone());
    assert!(shared.is_ok(), "a shared folder starts: {:?}", shared.err());

    // A copy of the first's folder id in another folder.
    let copy = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(copy.path().join("storage")).unwrap();
    std::fs::copy(id_file(&first.data_dir), id_file(copy.path())).unwrap();
    let mut settings = first.settings.clone();
    settings.data_dir = copy.path().to_path_buf();
    let refused = Application::build(settings).err().expect("the copy is refused");
    let said = format!("{refused:#}");
    assert!(
        said.contains("copied")
            && said.contains("holder-id")
            && said.contains(&copy.path().display().to_string()),
        "{said}"
    );

    // Given its own id, it starts.
    std::fs::remove_file(id_file(copy.path())).unwrap();
    let mut settings = first.settings.clone();
    settings.data_dir = copy.path().to_path_buf();
    assert!(Application::build(settings).is_ok(), "with its own id it starts");
}

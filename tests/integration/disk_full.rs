//! A full disk: the database refusing writes with the words it uses when it is out of
//! space (SQLite's `SQLITE_FULL`, PostgreSQL's `No space left on device`), raised here by
//! triggers. A person is told the server is out of space (507, or the job's message), and
//! what an extraction wrote before the disk filled is taken back once there is room.

use crate::helpers::*;
use crate::on_both;
use diesel::connection::SimpleConnection;
use serde_json::json;
use std::time::Duration;

on_both!(
    an_extraction_that_runs_out_of_space_is_taken_back_once_there_is_room,
    writes_refused_for_want_of_space_are_a_507_that_says_so
);

/// Record inserts past `after` records, every delete of a record (a take-back needs room
/// too: deletes write to the log) and, with `files`, new files fail as on a full disk.
fn fill_the_disk(app: &TestApp, after: i64, files: bool) {
    let mut conn = app.pool.get().expect("conn");
    let postgres = app.settings.database_url.starts_with("postgres");
    let mut sql = match postgres {
        true => format!(
            "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               RAISE EXCEPTION 'could not extend file \"base/1/2\": No space left on device' \
               USING ERRCODE = 'disk_full'; END $$; \
             CREATE TRIGGER full_inserts AFTER INSERT ON records FOR EACH ROW \
               WHEN (NEW.id > {after}) EXECUTE FUNCTION disk_full(); \
             CREATE TRIGGER full_deletes BEFORE DELETE ON records FOR EACH ROW \
               EXECUTE FUNCTION disk_full();"
        ),
        false => format!(
            "CREATE TRIGGER full_inserts AFTER INSERT ON records WHEN NEW.id > {after} \
               BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END; \
             CREATE TRIGGER full_deletes BEFORE DELETE ON records \
               BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;"
        ),
    };
    if files {
        sql.push_str(match postgres {
            true => {
                "CREATE TRIGGER full_files BEFORE INSERT ON files FOR EACH ROW EXECUTE FUNCTION disk_full();"
            }
            false => {
                "CREATE TRIGGER full_files BEFORE INSERT ON files \
                      BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;"
            }
        });
    }
    conn.batch_execute(&sql).expect("triggers");
}

fn free_some_space(app: &TestApp) {
    let mut conn = app.pool.get().expect("conn");
    let sql = match app.settings.database_url.starts_with("postgres") {
        true => "DROP FUNCTION disk_full() CASCADE;",
        false => "DROP TRIGGER full_inserts; DROP TRIGGER full_deletes; DROP TRIGGER IF EXISTS full_files;",
    };
    conn.batch_execute(sql).expect("drop triggers");
}

fn records_kept(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use wharf::db::schema::records;
    let mut conn = app.pool.get().expect("conn");
    records::table.count().get_result(&mut conn).expect("count")
}

fn csv(rows: usize) -> Vec<u8> {
    let mut out = String::from("name,email\n");
    for i in 0..rows {
        out.push_str(&format!("Person {i},p{i}@example.com\n"));
    }
    out.into_bytes()
}

async fn an_extraction_that_runs_out_of_space_is_taken_back_once_there_is_room(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Full disk").await;
    // Three batches of 5,000 rows: the first is written, the second runs out of space.
    fill_the_disk(&app, 7_000, false);
    let (status, file) = app.upload(&space, "people.csv", csv(12_000)).await;
    assert_eq!(status, 200, "{file}");
    let file_id = file["data"]["id"].as_str().unwrap().to_string();
    let (_, jobs) = app.get_json(&format!("/jobs?fileId={file_id}")).await;
    let job_id = jobs["data"][0]["id"].as_str().unwrap().to_string();
    let job = app.wait_job(&job_id).await;
    assert_eq!(job["status"], "failed", "{job}");
    let said = job["outcome"]["message"].as_str().unwrap_or_default().to_string();
    assert!(said.contains("out of disk space"), "{job}");

    // The extraction could not take back the batch it wrote (deletes need room too).
    free_some_space(&app);
    let mut taken_back = None;
    for _ in 0..300 {
        let (_, now) = app.get_json(&format!("/files/{file_id}")).await;
        if now["data"]["status"] == "failed" {
            taken_back = Some(now["data"].clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let f = taken_back.expect("the file is marked failed once there is room");
    assert!(f["workbookId"].is_null(), "{f}");
    let message = f["message"].as_str().unwrap_or_default();
    assert!(message.contains("out of disk space"), "{f}");
    assert_eq!(records_kept(&app), 0, "no partial workbook stays");
    let (_, workbooks) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    assert_eq!(workbooks["data"].as_array().unwrap().len(), 0, "{workbooks}");

    // With room, the same file is read whole.
    let (status, retried) = app.post_json(&format!("/jobs/{job_id}/retry"), &json!({})).await;
    assert_eq!(status, 200, "{retried}");
    let job = app.wait_job(&job_id).await;
    assert_eq!(job["status"], "complete", "{job}");
    assert_eq!(records_kept(&app), 12_000);
}

async fn writes_refused_for_want_of_space_are_a_507_that_says_so(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let space_id = space["id"].as_str().unwrap().to_string();
    fill_the_disk(&app, 0, true);
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": {"value": "a@example.com"}}]),
        )
        .await;
    assert_eq!(status, 507, "{body}");
    assert_eq!(body["errors"][0]["key"], "storage_full", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("out of disk space") && message.contains("admin"),
        "{body}"
    );
    let (status, body) = app.upload(&space_id, "people.csv", csv(3)).await;
    assert_eq!(status, 507, "{body}");
    free_some_space(&app);
    assert_eq!(records_kept(&app), 0);
    let (_, files) = app.get_json(&format!("/files?spaceId={space_id}")).await;
    assert_eq!(files["data"].as_array().unwrap().len(), 0, "{files}");
    // Nothing of the refused upload stays in storage either (only the folder's own id).
    let stored: Vec<_> = walk(&app.data_dir.join("storage"))
        .into_iter()
        .filter(|p| !p.ends_with("holder-id"))
        .collect();
    assert!(stored.is_empty(), "{stored:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| match e.path().is_dir() {
            true => walk(&e.path()),
            false => vec![e.path()],
        })
        .collect()
}

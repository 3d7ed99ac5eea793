//! Writers take turns: a save made while a job writes batch after batch waits for one
//! batch, not for the whole job (on SQLite a waiter polling for the lock used to miss the
//! instant between two batches again and again, and failed after the 10 s busy timeout).

use crate::helpers::*;
use crate::on_both;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long each of the job's batches holds the write lock.
const BATCH: Duration = Duration::from_millis(200);

async fn a_save_beside_a_job_waits_for_one_batch_not_the_job(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let path = format!("/sheets/{sheet}/records");
    let (status, body) = app
        .post_json(&path, &json!([{"email": {"value": "a@x.io"}}]))
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["data"]["records"][0]["id"].as_str().unwrap().to_string();

    // A job's batches, back to back, each its own write transaction.
    let done = Arc::new(AtomicBool::new(false));
    let job = {
        let (pool, done) = (app.pool.clone(), done.clone());
        std::thread::spawn(move || {
            let mut conn = pool.get().expect("conn");
            let mut batches = 0;
            while !done.load(Ordering::Relaxed) {
                wharf::db::write_tx(&mut conn, |_| {
                    std::thread::sleep(BATCH);
                    Ok::<_, diesel::result::Error>(())
                })
                .expect("a batch");
                batches += 1;
            }
            batches
        })
    };
    tokio::time::sleep(BATCH).await;

    let mut waits = Vec::new();
    for i in 0..5 {
        let started = Instant::now();
        let (status, body) = app
            .put_json(
                &path,
                &json!([{"id": id, "values": {"name": {"value": format!("n{i}")}}}]),
            )
            .await;
        waits.push(started.elapsed());
        assert_eq!(status, 200, "save {i}: {body}");
    }
    done.store(true, Ordering::Relaxed);
    let batches = tokio::task::spawn_blocking(move || job.join().expect("job thread"))
        .await
        .unwrap();
    assert!(batches >= 1, "the job wrote ({batches} batches)");
    // A save takes a few writes of its own; each waits for the batch in progress at most.
    let slowest = waits.iter().max().unwrap();
    assert!(
        *slowest < BATCH * 5,
        "a save waited {slowest:?} beside batches of {BATCH:?}: {waits:?}"
    );
    let (_, body) = app.get_json(&path).await;
    assert_eq!(body["data"]["records"][0]["values"]["name"]["value"], "n4");
}

/// A save behind a sheet held longer than the busy wait (a field change on a big sheet, a
/// process stuck) answers 503 with `Retry-After` after about 10 s, on both databases,
/// instead of holding its connection until the sheet is free; `/health` answers meanwhile.
async fn a_save_behind_a_held_sheet_answers_busy_in_time(db: Db) {
    // The default pool: the job workers' claims wait for the held database too.
    let app = spawn_app_with(db, |s| s.pool_size = 8).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let path = format!("/sheets/{sheet}/records");
    let held = Arc::new(AtomicBool::new(false));
    let holder = {
        let (pool, held, sheet) = (app.pool.clone(), held.clone(), sheet.clone());
        std::thread::spawn(move || {
            use diesel::connection::SimpleConnection;
            let mut conn = pool.get().expect("conn");
            let hold = match &mut *conn {
                wharf::db::AnyConnection::Sqlite(_) => "BEGIN IMMEDIATE".to_string(),
                wharf::db::AnyConnection::Postgres(_) => {
                    format!("BEGIN; SELECT seq FROM sheets WHERE id = '{sheet}' FOR UPDATE")
                }
            };
            conn.batch_execute(&hold).expect("held");
            held.store(true, Ordering::Relaxed);
            std::thread::sleep(Duration::from_secs(26));
            conn.batch_execute("ROLLBACK").expect("let go");
        })
    };
    while !held.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    let save = app
        .api(reqwest::Method::POST, &path)
        .json(&json!([{"email": {"value": "late@x.io"}}]))
        .send();
    let health = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t = Instant::now();
        let resp = app.client.get(app.url("/health")).send().await.unwrap();
        (resp.status().as_u16(), t.elapsed())
    };
    let (save, (health, health_took)) = tokio::join!(save, health);
    let save = save.unwrap();
    let took = started.elapsed();
    assert_eq!(save.status().as_u16(), 503, "after {took:?}");
    assert_eq!(save.headers()["retry-after"], "1");
    assert!(took < Duration::from_secs(14), "answered after {took:?}");
    assert_eq!(health, 200);
    assert!(health_took < Duration::from_secs(1), "{health_took:?}");
    // Locking the sheet is a short write of its row, outside the write transactions on
    // PostgreSQL until this test: it waited for as long as the sheet was held.
    let t = Instant::now();
    let lock = app
        .api(reqwest::Method::POST, &format!("/sheets/{sheet}/lock"))
        .send()
        .await
        .unwrap();
    assert_eq!(lock.status().as_u16(), 503, "after {:?}", t.elapsed());
    assert!(t.elapsed() < Duration::from_secs(14), "{:?}", t.elapsed());
    tokio::task::spawn_blocking(move || holder.join().unwrap())
        .await
        .unwrap();
    let (status, body) = app
        .post_json(&path, &json!([{"email": {"value": "late@x.io"}}]))
        .await;
    assert_eq!(status, 200, "the retry goes through: {body}");
}

on_both!(
    a_save_beside_a_job_waits_for_one_batch_not_the_job,
    a_save_behind_a_held_sheet_answers_busy_in_time
);

/// Writers take turns per database: a process with two SQLite databases (the test suite
/// opens one per test) lets one write while the other is held past the busy wait. With one
/// queue for the process, the held database's waiting writers stalled the other's too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_database_does_not_hold_another() {
    let held = spawn_app(Db::Sqlite).await;
    let free = spawn_app(Db::Sqlite).await;
    let space = free.space_from_blueprint().await;
    let sheet = free.sheet_id(&space, "contacts").await;
    // The held database's writer holds its turn (and SQLite's lock) for 12 s.
    let holder = {
        let pool = held.pool.clone();
        std::thread::spawn(move || {
            let mut conn = pool.get().expect("conn");
            wharf::db::write_tx(&mut conn, |_| {
                std::thread::sleep(Duration::from_secs(12));
                Ok::<_, diesel::result::Error>(())
            })
            .expect("held")
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A second writer of the held database queues behind it...
    let waiting = {
        let pool = held.pool.clone();
        std::thread::spawn(move || {
            let mut conn = pool.get().expect("conn");
            wharf::db::write_tx(&mut conn, |_| Ok::<_, diesel::result::Error>(()))
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ...while the other database takes saves at once.
    let started = Instant::now();
    let (status, body) = free
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": {"value": "a@x.io"}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    tokio::task::spawn_blocking(move || {
        holder.join().unwrap();
        let _ = waiting.join().unwrap();
    })
    .await
    .unwrap();
}

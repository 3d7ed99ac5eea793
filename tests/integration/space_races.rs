//! A space deleted while people and clients add to it, and one guest invited to many spaces
//! at once: every request ends as 200 or 404 (never a broken foreign key's 500 or a
//! deadlock's 503), and what is kept equals what was answered.

use crate::helpers::*;
use crate::on_both;
use futures_util::future::join_all;
use serde_json::{json, Value};

/// A CSV of `rows` rows, big enough that its extraction runs for a while.
fn csv(rows: usize) -> Vec<u8> {
    let mut text = String::from("name,email,city\n");
    for i in 0..rows {
        text.push_str(&format!("P{i},p{i}@x.io,C{i}\n"));
    }
    text.into_bytes()
}

/// Uploads, workbooks, secrets and jobs sent into a space while it is deleted, then the
/// delete: every answer is 200 or 404, and nothing of the space is left.
async fn a_space_deleted_while_clients_add_to_it_leaves_nothing(db: Db) {
    let app = spawn_app(db).await;
    let bytes = csv(3_000);
    for round in 0..6 {
        let space = app.bare_space(&format!("Doomed {round}")).await;
        let adds = (0..8).map(|i| {
            let (app, space, bytes) = (&app, space.clone(), bytes.clone());
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(5 * i)).await;
                let (status, body) = match i % 4 {
                    0 | 1 => app.upload(&space, &format!("f{i}.csv"), bytes).await,
                    2 => {
                        app.post_json(
                            "/workbooks",
                            &json!({"name": format!("W{i}"), "spaceId": space,
                                    "sheets": [{"name": "S", "slug": "s", "fields": [{"key": "a", "type": "string"}]}]}),
                        )
                        .await
                    }
                    _ => {
                        app.post_json(
                            "/secrets",
                            &json!({"name": format!("K{i}"), "value": "v", "environmentId": app.env_id,
                                    "spaceId": space}),
                        )
                        .await
                    }
                };
                (status, body)
            }
        });
        let delete = async {
            tokio::time::sleep(std::time::Duration::from_millis(20 + 15 * round)).await;
            app.delete(&format!("/spaces/{space}")).await
        };
        let (added, deleted) = tokio::join!(join_all(adds), delete);
        for (status, body) in &added {
            assert!(*status == 200 || *status == 404, "round {round}: {status} {body}");
        }
        assert_eq!(deleted.0, 200, "round {round}: {}", deleted.1);
        assert_eq!(app.get_json(&format!("/spaces/{space}")).await.0, 404);
        let (_, files) = app.get_json(&format!("/files?spaceId={space}")).await;
        assert_eq!(files["data"].as_array().map_or(0, Vec::len), 0, "{files}");
        let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
        assert_eq!(wbs["data"].as_array().map_or(0, Vec::len), 0, "{wbs}");
    }
    let (_, files) = app.get_json("/files?pageSize=1000").await;
    assert_eq!(files["data"].as_array().unwrap().len(), 0);
    no_file_bytes_left(&app).await;
}

/// Every file whose row went lost its bytes and rejected rows too, once extractions still
/// reading a deleted file have stopped (a few seconds at most).
async fn no_file_bytes_left(app: &TestApp) {
    let files = app.data_dir.join("storage").join("files");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let stored = walkdir(&files);
        if stored.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "bytes of deleted files left: {stored:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Small uploads landing all around a space's delete (the last rows of a space read
/// apart from its delete missed a file added in between): none leaves its bytes.
async fn uploads_landing_as_their_space_goes_leave_no_bytes(db: Db) {
    let app = spawn_app(db).await;
    let bytes = csv(3);
    for round in 0..12u64 {
        let space = app.bare_space(&format!("Gone {round}")).await;
        let uploads = (0..16u64).map(|i| {
            let (app, space, bytes) = (&app, space.clone(), bytes.clone());
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(3 * i)).await;
                app.upload(&space, &format!("f{i}.csv"), bytes).await
            }
        });
        let delete = async {
            tokio::time::sleep(std::time::Duration::from_millis(10 + 2 * round)).await;
            app.delete(&format!("/spaces/{space}")).await
        };
        let (added, deleted) = tokio::join!(join_all(uploads), delete);
        for (status, body) in &added {
            assert!(*status == 200 || *status == 404, "round {round}: {status} {body}");
        }
        assert_eq!(deleted.0, 200, "round {round}: {}", deleted.1);
    }
    let (_, files) = app.get_json("/files?pageSize=1000").await;
    assert_eq!(files["data"].as_array().unwrap().len(), 0, "{files}");
    no_file_bytes_left(&app).await;
}

fn walkdir(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walkdir(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

/// Spaces deleted while another write holds the database (SQLite) or the spaces
/// (PostgreSQL) longer than a request waits for its turn: once the files' bytes are gone each
/// delete waits for its rows too and answers 200, leaving nothing (it answered 503 after
/// 10 s and left the space, its files listed without bytes); and the waiting deletes leave
/// connections for the rest (they took the whole pool, and `/health` answered 503).
async fn deletes_behind_a_long_write_finish_and_leave_the_pool(db: Db) {
    let app = spawn_app(db).await;
    let kept = app.bare_space("Kept").await;
    let mut spaces = Vec::new();
    for s in 0..6 {
        let space = app.bare_space(&format!("Held {s}")).await;
        let (status, body) = app.upload(&space, "f.csv", csv(2)).await;
        assert_eq!(status, 200, "{body}");
        spaces.push(space);
    }
    // Extractions done, so only the held write stands in the way.
    let (_, jobs) = app.get_json("/jobs?pageSize=100").await;
    for job in jobs["data"].as_array().unwrap() {
        app.wait_job(job["id"].as_str().unwrap()).await;
    }
    let held = {
        let pool = app.pool.clone();
        let ids: Vec<wharf::ids::SpaceId> = spaces
            .iter()
            .map(|s| wharf::ids::SpaceId::parse(s).unwrap())
            .collect();
        std::thread::spawn(move || {
            let mut conn = pool.get().expect("conn");
            wharf::db::write_tx(&mut conn, |conn| {
                wharf::model::space::hold(conn, &ids)?;
                std::thread::sleep(std::time::Duration::from_secs(13));
                Ok::<_, diesel::result::Error>(())
            })
            .expect("the long write");
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let paths: Vec<String> = spaces.iter().map(|s| format!("/spaces/{s}")).collect();
    let deletes = join_all(paths.iter().map(|p| app.delete(p)));
    let meanwhile = async {
        let mut answers = Vec::new();
        for _ in 0..5 {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let health = app.client.get(app.url("/health")).send().await.unwrap();
            answers.push(("health", health.status().as_u16()));
            answers.push(("space", app.get_json(&format!("/spaces/{kept}")).await.0));
        }
        answers
    };
    let (deleted, answers) = tokio::join!(deletes, meanwhile);
    for (status, body) in &deleted {
        assert_eq!(*status, 200, "{body}");
    }
    assert!(
        answers.iter().all(|(_, s)| *s == 200),
        "while deletes waited: {answers:?}"
    );
    tokio::task::spawn_blocking(move || held.join().unwrap())
        .await
        .unwrap();
    for space in &spaces {
        assert_eq!(app.get_json(&format!("/spaces/{space}")).await.0, 404);
        let (_, files) = app.get_json(&format!("/files?spaceId={space}")).await;
        assert_eq!(files["data"].as_array().map_or(0, Vec::len), 0, "{files}");
    }
    no_file_bytes_left(&app).await;
}

/// Extractions waiting for a worker (none runs here) canceled while their space is deleted:
/// every cancel is answered 200 or 404 and the delete 200, with no deadlock between them
/// (a cancel took the job's row before the space, a delete the space before the jobs).
async fn cancels_of_queued_extractions_while_their_space_goes_do_not_deadlock(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    for round in 0..3 {
        let space = app.bare_space(&format!("Busy {round}")).await;
        // Sheets enough that the delete's cascade takes a moment.
        for w in 0..12 {
            let sheets: Vec<Value> = (0..25)
                .map(|i| json!({"name": format!("S{i}"), "slug": format!("s{i}"), "fields": [{"key": "a", "type": "string"}]}))
                .collect();
            let (status, body) = app
                .post_json(
                    "/workbooks",
                    &json!({"name": format!("W{w}"), "spaceId": space, "sheets": sheets}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        for i in 0..30 {
            let (status, body) = app.upload(&space, &format!("f{i}.csv"), csv(2)).await;
            assert_eq!(status, 200, "{body}");
        }
        let (_, jobs) = app.get_json(&format!("/jobs?spaceId={space}&pageSize=100")).await;
        let ids: Vec<String> = jobs["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), 30, "{jobs}");
        let cancels = ids.iter().enumerate().map(|(i, id)| {
            let app = &app;
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(5 * i as u64)).await;
                app.post_json(&format!("/jobs/{id}/cancel"), &json!({})).await
            }
        });
        let path = format!("/spaces/{space}");
        let (canceled, deleted) = tokio::join!(join_all(cancels), app.delete(&path));
        assert_eq!(deleted.0, 200, "round {round}: {}", deleted.1);
        for (status, body) in &canceled {
            assert!(*status == 200 || *status == 404, "round {round}: {status} {body}");
        }
    }
}

/// Sixteen invitations of one email (in mixed case) to sixteen spaces at once: all 200, and
/// one guest holds every space, as when they are sent one after another.
async fn one_email_invited_to_many_spaces_at_once_is_one_guest(db: Db) {
    let app = spawn_app(db).await;
    let mut spaces = Vec::new();
    for i in 0..16 {
        spaces.push(app.bare_space(&format!("S{i}")).await);
    }
    for round in 0..5 {
        let answers = join_all(spaces.iter().enumerate().map(|(i, space)| {
            let app = &app;
            let email = match i % 3 {
                0 => format!("Gus{round}@Partner.io"),
                _ => format!("gus{round}@partner.io"),
            };
            async move {
                app.post_json(
                    "/guests",
                    &json!([{"environmentId": app.env_id, "email": email, "name": "Gus", "spaces": [{"id": space}]}]),
                )
                .await
            }
        }))
        .await;
        for (status, body) in &answers {
            assert_eq!(*status, 200, "round {round}: {body}");
        }
        let (_, guests) = app
            .get_json(&format!("/guests?email=gus{round}@partner.io"))
            .await;
        let list = guests["data"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{guests}");
        let held: Vec<&Value> = list[0]["spaces"].as_array().unwrap().iter().collect();
        assert_eq!(held.len(), 16, "{guests}");
    }
}

/// One blueprint deployed by several clients at once (a CI job run twice): all succeed, and
/// its slug is one space config.
async fn one_slug_deployed_at_once_is_one_space_config(db: Db) {
    let app = spawn_app(db).await;
    for round in 0..4 {
        let mut blueprint = contacts_blueprint();
        blueprint["slug"] = json!(format!("onboarding-{round}"));
        let answers = join_all((0..8).map(|_| app.post_json("/space-configs", &blueprint))).await;
        for (status, body) in &answers {
            assert_eq!(*status, 200, "round {round}: {body}");
        }
        let ids: std::collections::HashSet<&str> = answers
            .iter()
            .map(|(_, b)| b["data"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 1, "round {round}: {ids:?}");
    }
}

on_both!(
    one_slug_deployed_at_once_is_one_space_config,
    a_space_deleted_while_clients_add_to_it_leaves_nothing,
    uploads_landing_as_their_space_goes_leave_no_bytes,
    cancels_of_queued_extractions_while_their_space_goes_do_not_deadlock,
    deletes_behind_a_long_write_finish_and_leave_the_pool,
    one_email_invited_to_many_spaces_at_once_is_one_guest,
);

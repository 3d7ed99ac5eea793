//! Jobs changed under their feet while they run: the source's fields, a mapping the other
//! way, the job itself deleted, and a canceled job's take-back raced by the sweep.

use crate::helpers::*;
use crate::job_helpers::{
    counts, destination, extracted, map_body, start_mapping, wait_running, wait_status, wait_writing,
};
use crate::on_both;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A field added to the source sheet while it is mapped (here by the team, at the
/// front): the source is read by column position, so the mapping stops and takes back what
/// it wrote rather than map later rows' values into the wrong fields. One added after the
/// columns it reads moves nothing: the mapping goes on.
async fn a_source_field_change_stops_the_mapping(db: Db) {
    const ROWS: usize = 60_000;
    let app = spawn_app(db).await;
    let space = app.bare_space("Shifted").await;
    let (src_wb, src_sheet) = extracted(&app, &space, ROWS).await;
    let (dst_wb, dst_sheet) = destination(&app, &space).await;
    let id = start_mapping(
        &app,
        map_body(&src_wb, &src_sheet, &dst_wb, &dst_sheet, "immediate"),
    )
    .await;
    wait_writing(&app, &id, &dst_sheet).await;
    let (code, body) = app
        .post_json(
            &format!("/sheets/{src_sheet}/fields?insertAtIndex=0"),
            &json!({"key": "zzz", "type": "string"}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let done = wait_status(&app, &id, &["complete", "failed"]).await;
    let (other_wb, other_sheet) = destination(&app, &space).await;
    let appended = start_mapping(
        &app,
        map_body(&src_wb, &src_sheet, &other_wb, &other_sheet, "immediate"),
    )
    .await;
    wait_writing(&app, &appended, &other_sheet).await;
    let (code, body) = app
        .post_json(
            &format!("/sheets/{src_sheet}/fields"),
            &json!({"key": "last", "type": "string"}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let after = wait_status(&app, &appended, &["complete", "failed"]).await;
    assert_eq!(after["status"], "complete", "{after}");
    assert_eq!(counts(&app, &other_sheet).await["total"], ROWS);
    if done["status"] == "complete" {
        // The mapping ended before the change: no value moved to another field.
        let (_, page) = app
            .get_json(&format!(
                "/sheets/{dst_sheet}/records?q=name%20like%20%22user%25%22&pageSize=1"
            ))
            .await;
        let shifted = &page["data"]["records"];
        assert_eq!(shifted.as_array().unwrap().len(), 0, "{shifted}");
        assert_eq!(counts(&app, &dst_sheet).await["total"], ROWS);
        return;
    }
    let message = done["outcome"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("source") && message.contains("changed"),
        "{message}"
    );
    assert_eq!(
        counts(&app, &dst_sheet).await["total"],
        0,
        "what it wrote is taken back"
    );
}

/// Two sheets mapped into each other at once: each maps the records its source held when
/// it was asked to run, not the other's later output (which fed each other without end).
async fn mappings_in_opposite_directions_both_end(db: Db) {
    const ROWS: usize = 30_000;
    let app = spawn_app(db).await;
    let space = app.bare_space("Both ways").await;
    let (src_wb, src_sheet) = extracted(&app, &space, ROWS).await;
    let (dst_wb, dst_sheet) = destination(&app, &space).await;
    let mut rows = Vec::new();
    for i in 0..ROWS {
        rows.push(json!({"email": format!("other{i}@x.org"), "name": format!("Other {i}")}));
    }
    for chunk in rows.chunks(10_000) {
        let (status, body) = app
            .post_json(&format!("/sheets/{dst_sheet}/records"), &json!(chunk))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let there = start_mapping(
        &app,
        map_body(&src_wb, &src_sheet, &dst_wb, &dst_sheet, "immediate"),
    )
    .await;
    let back = start_mapping(
        &app,
        map_body(&dst_wb, &dst_sheet, &src_wb, &src_sheet, "immediate"),
    )
    .await;
    let mut mapped = Vec::new();
    for id in [&there, &back] {
        let done = wait_status(&app, id, &["complete", "failed"]).await;
        assert_eq!(done["status"], "complete", "{done}");
        let message = done["outcome"]["message"].as_str().unwrap_or_default();
        let n: usize = message
            .strip_prefix("Mapped ")
            .and_then(|m| m.split(' ').next()?.replace(',', "").parse().ok())
            .unwrap_or_else(|| panic!("{done}"));
        mapped.push(n);
    }
    // The first was asked before the second existed; the second maps what the first's
    // destination held when it was asked (batches the first had written by then, if any).
    assert_eq!(mapped[0], ROWS, "{mapped:?}");
    assert!((ROWS..=2 * ROWS).contains(&mapped[1]), "{mapped:?}");
    for (sheet, n) in [(&dst_sheet, mapped[0]), (&src_sheet, mapped[1])] {
        assert_eq!(
            counts(&app, sheet).await["total"],
            ROWS + n,
            "its own records and what the other mapped, once"
        );
    }
}

/// A new space with a file of 150,000 rows whose extraction is running: (space, file, job).
async fn big_file_extracting(app: &TestApp, space_name: &str) -> (String, String, String) {
    let space = app.bare_space(space_name).await;
    let mut csv = String::from("Email,Name\n");
    for i in 0..150_000 {
        csv.push_str(&format!("user{i}@x.org,Person {i}\n"));
    }
    let (status, file) = app.upload(&space, "big.csv", csv.into_bytes()).await;
    assert_eq!(status, 200, "{file}");
    let file = file["data"]["id"].as_str().unwrap().to_string();
    let (_, jobs) = app.get_json(&format!("/jobs?fileId={file}")).await;
    let job = jobs["data"][0]["id"].as_str().unwrap().to_string();
    wait_running(app, &job).await;
    (space, file, job)
}

/// Deleting an extraction job while it runs: the file says the extraction stopped and the
/// partial `[file]` workbook goes, as after a cancel (it stayed, linked to nothing).
async fn deleting_a_running_extraction_leaves_no_workbook(db: Db) {
    let app = spawn_app(db).await;
    let (space, file, job) = big_file_extracting(&app, "Deleted job").await;
    let (code, body) = app.delete(&format!("/jobs/{job}")).await;
    assert_eq!(code, 200, "{body}");
    let start = Instant::now();
    let f = loop {
        let (_, f) = app.get_json(&format!("/files/{file}")).await;
        let running = ["partial", "analyzing"].contains(&f["data"]["status"].as_str().unwrap_or(""));
        if !running || start.elapsed() > Duration::from_secs(60) {
            break f;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    if f["data"]["status"] == "complete" {
        return; // the extraction ended before the deletion reached it
    }
    assert_eq!(f["data"]["status"], "failed", "{f}");
    assert_eq!(f["data"]["workbookId"], Value::Null, "{f}");
    let (_, left) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    assert_eq!(left["data"].as_array().unwrap().len(), 0, "{left}");
}

/// A running extraction canceled and a new one of the same file started at once (a second
/// tab, "extract again"): the new one waits for the canceled one to take back its workbook,
/// then ends with the file complete, naming its workbook, the only one of the file.
async fn an_extraction_started_as_another_is_canceled_ends_alone(db: Db) {
    let app = spawn_app(db).await;
    let (space, file, job) = big_file_extracting(&app, "Cancel and again").await;
    let (code, body) = app.post_json(&format!("/jobs/{job}/cancel"), &json!({})).await;
    assert_eq!(code, 200, "{body}");
    let again = json!({"type": "file", "operation": "extract", "source": file});
    let (code, body) = app.post_json("/jobs", &again).await;
    assert_eq!(code, 200, "{body}");
    let second = body["data"]["id"].as_str().unwrap().to_string();
    let (code, body) = app
        .post_json(&format!("/jobs/{second}/execute"), &json!({}))
        .await;
    assert_eq!(code, 200, "{body}");
    let done = app.wait_job(&second).await;
    assert_eq!(done["status"], "complete", "{done}");
    let (_, f) = app.get_json(&format!("/files/{file}")).await;
    assert_eq!(f["data"]["status"], "complete", "{f}");
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    let ids: Vec<&Value> = wbs["data"].as_array().unwrap().iter().map(|w| &w["id"]).collect();
    assert_eq!(ids, [&f["data"]["workbookId"]], "{wbs}");
    let sheet = wbs["data"][0]["sheets"][0]["id"].as_str().unwrap();
    assert_eq!(counts(&app, sheet).await["total"], 150_000);
}

/// Deleting a file while it is extracted fails its job saying so (it said "sheet not
/// found", the workbook having gone with the file).
async fn deleting_a_file_mid_extraction_says_so(db: Db) {
    let app = spawn_app(db).await;
    let (_, file, job) = big_file_extracting(&app, "Deleted file").await;
    let (code, body) = app.delete(&format!("/files/{file}")).await;
    assert_eq!(code, 200, "{body}");
    let done = app.wait_job(&job).await;
    if done["status"] == "complete" {
        return; // the extraction ended before the deletion reached it
    }
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done.to_string()
            .contains("the file was deleted while it was being extracted"),
        "{done}"
    );
}

/// A job a worker runs is known as held, from any connection (on PostgreSQL any process):
/// the sweep that finishes stopped jobs' take-backs leaves such a job to its worker (both
/// taking a canceled bulk change back at once ended with "put back 0 values").
async fn a_running_job_is_held_from_every_connection(db: Db) {
    use wharf::ids::JobId;
    use wharf::model::job_queue::{hold, is_held, let_go};
    let app = spawn_app(db).await;
    // One id per backend: both variants run in this one process, whose list of held jobs
    // they share (one id for both had the other variant see it held).
    let id = match db {
        Db::Sqlite => JobId::parse("us_jb_heldsqlite").unwrap(),
        Db::Postgres => JobId::parse("us_jb_heldpostgres").unwrap(),
    };
    let mut worker = app.pool.get().unwrap();
    let mut other = app.pool.get().unwrap();
    assert!(!is_held(&mut other, &id).unwrap());
    hold(&mut worker, &id).unwrap();
    assert!(is_held(&mut other, &id).unwrap());
    assert!(is_held(&mut other, &id).unwrap(), "asking does not take it");
    let_go(&mut worker, &id).unwrap();
    assert!(!is_held(&mut other, &id).unwrap());
    // Another process's worker: only its session's advisory lock says so.
    if let wharf::db::AnyConnection::Postgres(c) = &mut *worker {
        use diesel::RunQueryDsl;
        let lock = format!(
            "SELECT pg_advisory_lock({}, hashtext('{id}'))",
            wharf::model::job_queue::LOCK_SPACE
        );
        diesel::sql_query(lock).execute(c).unwrap();
        assert!(is_held(&mut other, &id).unwrap());
        diesel::sql_query("SELECT pg_advisory_unlock_all()")
            .execute(c)
            .unwrap();
        assert!(!is_held(&mut other, &id).unwrap());
    }
}

/// A mapping maps the records its source held when it was asked to run: records written
/// into the source before a worker takes the job are not its to copy (two opposite mappings
/// started at once copied each other's new records on a loaded machine).
async fn a_mapping_maps_the_records_its_source_held_when_asked(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let space = app.bare_space("Ceiling").await;
    let (src_wb, src_sheet) = destination(&app, &space).await;
    let (dst_wb, dst_sheet) = destination(&app, &space).await;
    let batch = |from: usize| {
        json!((from..from + 50)
            .map(|i| json!({"email": format!("p{i}@x.org"), "name": format!("P {i}")}))
            .collect::<Vec<_>>())
    };
    let (status, body) = app
        .post_json(&format!("/sheets/{src_sheet}/records"), &batch(0))
        .await;
    assert_eq!(status, 200, "{body}");
    let id = start_mapping(
        &app,
        map_body(&src_wb, &src_sheet, &dst_wb, &dst_sheet, "immediate"),
    )
    .await;
    // Written after the mapping was asked for, before any worker took it.
    let (status, body) = app
        .post_json(&format!("/sheets/{src_sheet}/records"), &batch(50))
        .await;
    assert_eq!(status, 200, "{body}");
    let mut working = app.settings.clone();
    working.job_workers = 2;
    let sibling = wharf::app::Application::build(working).expect("a process with workers");
    tokio::spawn(sibling.run_until_stopped());
    let done = wait_status(&app, &id, &["complete", "failed"]).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(counts(&app, &dst_sheet).await["total"], 50, "only the first 50");
    assert_eq!(counts(&app, &src_sheet).await["total"], 100);
}

/// A delete or a bulk change works on the records there when it was asked to run: one
/// resumed after a crash selects again, and records written since are not its (a resumed
/// delete had deleted records people inserted after it began).
async fn deletes_and_bulk_changes_leave_records_written_after_they_were_asked(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let space = app.bare_space("Ceiling").await;
    let (wb, sheet) = destination(&app, &space).await;
    let (other_wb, other_sheet) = destination(&app, &space).await;
    let batch = |from: usize| {
        json!((from..from + 20)
            .map(|i| json!({"email": format!("p{i}@x.org"), "name": "before"}))
            .collect::<Vec<_>>())
    };
    let job = |wb: &str, config: Value| json!({"type": "workbook", "operation": "bulk-change", "source": wb, "trigger": "immediate", "config": config});
    for s in [&sheet, &other_sheet] {
        assert_eq!(
            app.post_json(&format!("/sheets/{s}/records"), &batch(0)).await.0,
            200
        );
    }
    let mut delete = job(&wb, json!({"sheet": sheet, "filter": "all"}));
    delete["operation"] = json!("delete-records");
    let bulk = job(
        &other_wb,
        json!({"sheet": other_sheet, "changes": [{"field": "name", "set": "after"}]}),
    );
    let mut ids = Vec::new();
    for body in [delete, bulk] {
        let (status, made) = app.post_json("/jobs", &body).await;
        assert_eq!(status, 200, "{made}");
        ids.push(made["data"]["id"].as_str().unwrap().to_string());
    }
    for s in [&sheet, &other_sheet] {
        assert_eq!(
            app.post_json(&format!("/sheets/{s}/records"), &batch(20)).await.0,
            200
        );
    }
    let mut working = app.settings.clone();
    working.job_workers = 2;
    let sibling = wharf::app::Application::build(working).expect("a process with workers");
    tokio::spawn(sibling.run_until_stopped());
    for id in &ids {
        let done = wait_status(&app, id, &["complete", "failed"]).await;
        assert_eq!(done["status"], "complete", "{done}");
    }
    assert_eq!(
        counts(&app, &sheet).await["total"],
        20,
        "the 20 written after stay"
    );
    let (_, page) = app
        .get_json(&format!("/sheets/{other_sheet}/records?pageSize=100"))
        .await;
    let names: Vec<&str> = page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["name"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(names.iter().filter(|n| **n == "after").count(), 20, "{names:?}");
    assert_eq!(names.iter().filter(|n| **n == "before").count(), 20, "{names:?}");
}

/// A canceled extraction whose process stopped after it let go of its job but before it
/// took back its half-made workbook, its checkpoint still naming it: the next start takes
/// it back, and the file names no workbook (it had kept the half-made one as "the earlier
/// extraction's").
async fn a_canceled_extractions_half_made_workbook_goes_at_the_next_start(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let space = app.bare_space("Half made").await;
    let (status, file) = app.upload(&space, "half.csv", b"name\nAda\n".to_vec()).await;
    assert_eq!(status, 200, "{file}");
    let file_id = file["data"]["id"].as_str().unwrap().to_string();
    let (_, jobs) = app.get_json(&format!("/jobs?fileId={file_id}")).await;
    let job_id = jobs["data"][0]["id"].as_str().unwrap().to_string();
    let (half_made, _) = destination(&app, &space).await;
    {
        use diesel::prelude::*;
        use wharf::db::schema::{files, jobs};
        let mut conn = app.pool.get().unwrap();
        diesel::update(files::table.find(&file_id))
            .set((
                files::status.eq("analyzing"),
                files::workbook_id.eq(Some(&half_made)),
                files::extracting_job.eq(Some(&job_id)),
            ))
            .execute(&mut *conn)
            .unwrap();
        let checkpoint = json!({"workbookId": half_made, "before": null}).to_string();
        diesel::update(jobs::table.find(&job_id))
            .set((jobs::status.eq("canceled"), jobs::checkpoint.eq(Some(checkpoint))))
            .execute(&mut *conn)
            .unwrap();
    }
    let mut working = app.settings.clone();
    working.job_workers = 2;
    let sibling = wharf::app::Application::build(working).expect("a process with workers");
    tokio::spawn(sibling.run_until_stopped());
    let deadline = Instant::now() + Duration::from_secs(20);
    let f = loop {
        let (_, f) = app.get_json(&format!("/files/{file_id}")).await;
        if f["data"]["status"] != "analyzing" || Instant::now() > deadline {
            break f;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(f["data"]["status"], "failed", "{f}");
    assert_eq!(f["data"]["workbookId"], Value::Null, "{f}");
    let message = f["data"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("canceled") && !message.contains("earlier"),
        "{message}"
    );
    let (status, _) = app.get_json(&format!("/workbooks/{half_made}")).await;
    assert_eq!(status, 404, "the half-made workbook went");
}

on_both!(
    a_canceled_extractions_half_made_workbook_goes_at_the_next_start,
    deletes_and_bulk_changes_leave_records_written_after_they_were_asked,
    an_extraction_started_as_another_is_canceled_ends_alone,
    a_mapping_maps_the_records_its_source_held_when_asked,
    a_source_field_change_stops_the_mapping,
    mappings_in_opposite_directions_both_end,
    deleting_a_running_extraction_leaves_no_workbook,
    deleting_a_file_mid_extraction_says_so,
    a_running_job_is_held_from_every_connection,
);

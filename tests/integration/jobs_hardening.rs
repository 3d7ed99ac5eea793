//! Jobs under hostile or careless use: a mapping onto its own source, a cancel and an
//! instant retry, listener calls on Wharf's own jobs, a guest driving a job into a space it
//! cannot reach, and the source or destination deleted while a mapping runs.

use crate::helpers::*;
use crate::job_helpers::*;
use crate::on_both;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

async fn a_mapping_onto_its_own_source_sheet_is_refused(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Loop").await;
    let (wb, sheet) = extracted(&app, &space, 3).await;
    let (status, body) = app
        .post_json("/jobs", &map_body(&wb, &sheet, &wb, &sheet, "immediate"))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.to_string().contains("cannot be mapped onto itself"),
        "{body}"
    );
    let (_, jobs) = app.get_json(&format!("/jobs?workbookId={wb}")).await;
    let maps = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["operation"] == "map")
        .count();
    assert_eq!(maps, 0, "no mapping job was made: {jobs}");
    assert_eq!(counts(&app, &sheet).await["total"], 3);
}

/// Cancel, then retry at once, twice over: the destination ends with each source record
/// exactly once (the old attempt's last batch is neither lost nor written twice).
async fn cancel_and_instant_retry_write_each_record_once(db: Db) {
    const ROWS: usize = 60_000;
    let app = spawn_app(db).await;
    let space = app.bare_space("Retry").await;
    let (src_wb, src_sheet) = extracted(&app, &space, ROWS).await;
    let (dst_wb, dst_sheet) = destination(&app, &space).await;
    let id = start_mapping(
        &app,
        map_body(&src_wb, &src_sheet, &dst_wb, &dst_sheet, "immediate"),
    )
    .await;
    for _ in 0..2 {
        wait_writing(&app, &id, &dst_sheet).await;
        let (status, body) = send(app.api(Method::POST, &format!("/jobs/{id}/cancel"))).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = send(app.api(Method::POST, &format!("/jobs/{id}/retry"))).await;
        assert_eq!(status, 200, "{body}");
    }
    let done = wait_status(&app, &id, &["complete", "failed"]).await;
    assert_eq!(done["status"], "complete", "{done}");
    // The old attempts may still be taking back what they wrote: wait for the counts to settle.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let c = counts(&app, &dst_sheet).await;
    assert_eq!(c["total"], ROWS as i64, "{c}");
    assert_eq!(c["error"], 0, "no duplicates: {c}");
}

/// A listener's calls (ack, complete, fail, a change of status, info or progress) on a job
/// Wharf runs itself are refused; the mapping then completes normally.
async fn listener_calls_on_built_in_jobs_are_refused(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Built in").await;
    let (src_wb, src_sheet) = extracted(&app, &space, 5).await;
    let (dst_wb, dst_sheet) = destination(&app, &space).await;
    // A mapping created but not run yet: nobody may move it to ready or executing by hand.
    let id = start_mapping(&app, map_body(&src_wb, &src_sheet, &dst_wb, &dst_sheet, "manual")).await;
    let said = [
        json!({"status": "executing"}),
        json!({"status": "ready"}),
        json!({"status": "complete"}),
        json!({"status": "failed"}),
        json!({"info": "made up"}),
        json!({"progress": 99}),
        json!({"estimatedCompletionAt": "2030-01-01T00:00:00Z"}),
    ];
    for change in said {
        let (code, body) = app.patch_json(&format!("/jobs/{id}"), &change).await;
        assert_eq!(code, 409, "{change}: {body}");
        assert!(body.to_string().contains("run by Wharf itself"), "{body}");
    }
    let (code, body) = app
        .patch_json(&format!("/jobs/{id}"), &json!({"metadata": {"note": "ours"}}))
        .await;
    assert_eq!(code, 200, "metadata is the caller's own: {body}");
    for call in ["ack", "complete", "fail"] {
        let (code, body) = app.post_json(&format!("/jobs/{id}/{call}"), &json!({})).await;
        assert_eq!(code, 409, "{call}: {body}");
    }
    let (_, j) = app.get_json(&format!("/jobs/{id}")).await;
    assert_eq!(j["data"]["status"], "planning", "{j}");
    let (code, _) = app.post_json(&format!("/jobs/{id}/execute"), &json!({})).await;
    assert_eq!(code, 200);
    let done = wait_status(&app, &id, &["complete", "failed"]).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(counts(&app, &dst_sheet).await["total"], 5);
}

/// A job whose source is not an id of its type is refused.
async fn a_job_source_that_is_not_an_id_is_refused(db: Db) {
    let app = spawn_app(db).await;
    for (kind, source) in [
        ("workbook", "not-an-id"),
        ("file", "../etc"),
        ("sheet", "us_wb_x"),
    ] {
        let (code, body) = app
            .post_json(
                "/jobs",
                &json!({"type": kind, "operation": "custom", "source": source}),
            )
            .await;
        assert_eq!(code, 422, "{kind} {source}: {body}");
        assert!(body.to_string().contains("source"), "{body}");
    }
}

/// A mapping someone else made from the guest's space into another space: the guest can
/// neither see nor drive it, and nothing of the guest's lands in the other space.
async fn a_guest_cannot_drive_a_mapping_into_another_space(db: Db) {
    let app = spawn_app(db).await;
    let mine = app.bare_space("Guest's").await;
    let theirs = app.bare_space("Other").await;
    let (src_wb, src_sheet) = extracted(&app, &mine, 3).await;
    let (dst_wb, dst_sheet) = destination(&app, &theirs).await;
    let id = start_mapping(&app, map_body(&src_wb, &src_sheet, &dst_wb, &dst_sheet, "manual")).await;
    let token = guest_token(&app, &mine).await;
    let as_guest = |method: Method, path: &str| {
        app.client
            .request(method, app.url(&format!("/v1{path}")))
            .bearer_auth(&token)
    };
    for (method, path) in [
        (Method::GET, format!("/jobs/{id}")),
        (Method::GET, format!("/jobs/{id}/plan")),
        (Method::POST, format!("/jobs/{id}/execute")),
        (Method::POST, format!("/jobs/{id}/retry")),
        (Method::POST, format!("/jobs/{id}/cancel")),
    ] {
        let (code, body) = send(as_guest(method.clone(), &path).json(&json!({}))).await;
        assert_eq!(code, 404, "{method} {path}: {body}");
    }
    let (code, plan) =
        send(as_guest(Method::PATCH, &format!("/jobs/{id}/plan")).json(&json!({"fieldMapping": []}))).await;
    assert_eq!(code, 404, "{plan}");
    let (_, list) = send(as_guest(Method::GET, &format!("/jobs?spaceId={mine}"))).await;
    let listed: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|j| j["id"].as_str())
        .collect();
    assert!(!listed.contains(&id.as_str()), "{list}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, j) = app.get_json(&format!("/jobs/{id}")).await;
    assert_eq!(j["data"]["status"], "planning", "{j}");
    assert_eq!(counts(&app, &dst_sheet).await["total"], 0);
}

/// A guest cancels, or acknowledges the outcome of, only jobs it started or could start: not
/// the team's space jobs nor a workbook job for an action not offered to guests. It runs
/// (executes or retries) only jobs it started.
async fn a_guest_cannot_stop_the_teams_jobs(db: Db) {
    let app = spawn_app(db).await;
    let mine = app.bare_space("Guest's").await;
    let (src_wb, src_sheet) = extracted(&app, &mine, 3).await;
    let (dst_wb, dst_sheet) = destination(&app, &mine).await;
    let token = guest_token(&app, &mine).await;
    let as_guest = |path: &str| {
        app.client
            .post(app.url(&format!("/v1{path}")))
            .bearer_auth(&token)
            .json(&json!({}))
    };
    let (_, space_job) = app
        .post_json(
            "/jobs",
            &json!({"type": "space", "operation": "configure", "source": mine, "trigger": "immediate"}),
        )
        .await;
    let (_, team_job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "team-only-export", "source": dst_wb, "trigger": "immediate"}),
        )
        .await;
    for j in [&space_job, &team_job] {
        let id = j["data"]["id"].as_str().unwrap();
        for call in ["cancel", "outcome/ack"] {
            let (code, body) = send(as_guest(&format!("/jobs/{id}/{call}"))).await;
            assert_eq!(code, 403, "{call} {id}: {body}");
        }
        let (_, now) = app.get_json(&format!("/jobs/{id}")).await;
        assert_eq!(now["data"]["status"], "ready", "{now}");
        assert_eq!(now["data"]["outcomeAcknowledgedAt"], Value::Null, "{now}");
    }
    // The team's import it may neither stop (stopped, an import takes back what it wrote)
    // nor run: a job runs as whoever made it, so the guest would write as the team.
    let (code, teams) = app
        .post_json(
            "/jobs",
            &map_body(&src_wb, &src_sheet, &dst_wb, &dst_sheet, "manual"),
        )
        .await;
    assert_eq!(code, 200, "{teams}");
    let teams = teams["data"]["id"].as_str().unwrap();
    let (code, body) = send(as_guest(&format!("/jobs/{teams}/execute"))).await;
    assert_eq!(code, 403, "{body}");
    // Whose job it is is said first: not the lock of a sheet it writes (probe 56a F5).
    let (code, body) = app
        .post_json(&format!("/sheets/{dst_sheet}/lock"), &json!({}))
        .await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = send(as_guest(&format!("/jobs/{teams}/execute"))).await;
    assert_eq!(code, 403, "{body}");
    assert!(body.to_string().contains("the team's"), "{body}");
    let (code, body) = app
        .post_json(&format!("/sheets/{dst_sheet}/unlock"), &json!({}))
        .await;
    assert_eq!(code, 200, "{body}");
    // Nor re-plan it: where the team's import puts each column is the team's to say.
    let (code, body) = send(
        app.client
            .patch(app.url(&format!("/v1/jobs/{teams}/plan")))
            .bearer_auth(&token)
            .json(&json!({"fieldMapping": []})),
    )
    .await;
    assert_eq!(code, 403, "{body}");
    let (code, body) = send(as_guest(&format!("/jobs/{teams}/cancel"))).await;
    assert_eq!(code, 403, "{body}");
    assert!(body.to_string().contains("the team's"), "{body}");
    let (code, body) = app.post_json(&format!("/jobs/{teams}/cancel"), &json!({})).await;
    assert_eq!(code, 200, "the team cancels it: {body}");
    let (code, body) = send(as_guest(&format!("/jobs/{teams}/retry"))).await;
    assert_eq!(code, 403, "{body}");
    assert!(body.to_string().contains("the team's"), "{body}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, now) = app.get_json(&format!("/jobs/{teams}")).await;
    assert_eq!(now["data"]["status"], "canceled", "{now}");
    assert_eq!(counts(&app, &dst_sheet).await["total"], 0, "nothing was written");

    // Its own import, not yet run, it may cancel.
    let (code, own) = send(
        app.client
            .post(app.url("/v1/jobs"))
            .bearer_auth(&token)
            .json(&map_body(&src_wb, &src_sheet, &dst_wb, &dst_sheet, "manual")),
    )
    .await;
    assert_eq!(code, 200, "{own}");
    let own = own["data"]["id"].as_str().unwrap();
    let (code, body) = send(as_guest(&format!("/jobs/{own}/cancel"))).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["data"]["status"], "canceled");
}

/// The source workbook deleted while a mapping runs: the job fails saying so, and the
/// records it wrote are taken back. The destination sheet deleted: it fails saying so.
async fn a_mapping_says_when_its_source_or_destination_was_deleted(db: Db) {
    const ROWS: usize = 60_000;
    let app = spawn_app(db).await;
    let space = app.bare_space("Deleted").await;
    let (src_wb, src_sheet) = extracted(&app, &space, ROWS).await;
    let (dst_wb, dst_sheet) = destination(&app, &space).await;
    let id = start_mapping(
        &app,
        map_body(&src_wb, &src_sheet, &dst_wb, &dst_sheet, "immediate"),
    )
    .await;
    wait_writing(&app, &id, &dst_sheet).await;
    let (code, body) = app.delete(&format!("/workbooks/{src_wb}")).await;
    assert_eq!(code, 200, "{body}");
    let done = wait_status(&app, &id, &["complete", "failed"]).await;
    assert_eq!(done["status"], "failed", "{done}");
    let message = done["outcome"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("source") && message.contains("deleted"),
        "{message}"
    );
    assert_eq!(
        counts(&app, &dst_sheet).await["total"],
        0,
        "what it wrote is taken back"
    );

    let (src_wb, src_sheet) = extracted(&app, &space, ROWS).await;
    let id = start_mapping(
        &app,
        map_body(&src_wb, &src_sheet, &dst_wb, &dst_sheet, "immediate"),
    )
    .await;
    wait_writing(&app, &id, &dst_sheet).await;
    let (code, body) = app.delete(&format!("/sheets/{dst_sheet}")).await;
    assert_eq!(code, 200, "{body}");
    let done = wait_status(&app, &id, &["complete", "failed"]).await;
    assert_eq!(done["status"], "failed", "{done}");
    let message = done["outcome"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("destination") && message.contains("deleted"),
        "{message}"
    );
}

/// Deleting a space while a file is extracted into it goes through at once (on
/// PostgreSQL the deletion and each batch's write deadlocked: 503 after a second).
async fn a_space_is_deleted_while_its_file_is_extracted(db: Db) {
    let app = spawn_app(db).await;
    for round in 0..3 {
        let space = app.bare_space(&format!("Doomed {round}")).await;
        let mut csv = String::from("Email,Name\n");
        for i in 0..150_000 {
            csv.push_str(&format!("user{i}@x.org,Person {i}\n"));
        }
        let (status, file) = app.upload(&space, "big.csv", csv.into_bytes()).await;
        assert_eq!(status, 200, "{file}");
        let (_, jobs) = app
            .get_json(&format!("/jobs?fileId={}", file["data"]["id"].as_str().unwrap()))
            .await;
        let job = jobs["data"][0]["id"].as_str().unwrap().to_string();
        wait_running(&app, &job).await;
        let (code, body) = app.delete(&format!("/spaces/{space}")).await;
        assert_eq!(code, 200, "{body}");
        let (code, _) = app.get_json(&format!("/spaces/{space}")).await;
        assert_eq!(code, 404);
    }
    let (code, _) = app.get_json("/spaces").await;
    assert_eq!(code, 200, "the server keeps serving");
}

/// While a sheet is locked, whoever sets a job going that writes it is judged, not the
/// job's author: a guest's mapping into it, a guest executing the team's mapping, a guest
/// retrying the team's delete job all get 409 and write nothing; a guest cannot start a
/// re-check at all; a key still can run its own.
async fn a_lock_holds_whoever_starts_the_job(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Locked").await;
    let (src_wb, src_sheet) = extracted(&app, &space, 3).await;
    let (dst_wb, dst_sheet) = destination(&app, &space).await;
    let token = guest_token(&app, &space).await;
    let as_guest = |method: Method, path: &str| {
        app.client
            .request(method, app.url(&format!("/v1{path}")))
            .bearer_auth(&token)
    };
    // The team's jobs, made before the lock: a mapping waiting, a delete canceled.
    let team_map = start_mapping(&app, map_body(&src_wb, &src_sheet, &dst_wb, &dst_sheet, "manual")).await;
    let (status, del) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "delete-records", "source": src_wb,
                    "config": {"sheet": src_sheet}}),
        )
        .await;
    assert_eq!(status, 200, "{del}");
    let team_delete = del["data"]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .post_json(&format!("/jobs/{team_delete}/cancel"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    for sheet in [&dst_sheet, &src_sheet] {
        let (status, body) = app.post_json(&format!("/sheets/{sheet}/lock"), &json!({})).await;
        assert_eq!(status, 200, "{body}");
    }

    let (code, body) = send(as_guest(Method::POST, "/jobs").json(&map_body(
        &src_wb,
        &src_sheet,
        &dst_wb,
        &dst_sheet,
        "immediate",
    )))
    .await;
    assert_eq!(code, 409, "a guest's mapping: {body}");
    assert!(body.to_string().contains("locked"), "{body}");
    // The team's jobs are not the guest's to run, which is said before any lock (probe 56a F5).
    let (code, body) = send(as_guest(Method::POST, &format!("/jobs/{team_map}/execute"))).await;
    assert_eq!(code, 403, "a guest executing the team's mapping: {body}");
    let (code, body) = send(as_guest(Method::POST, &format!("/jobs/{team_delete}/retry"))).await;
    assert_eq!(code, 403, "a guest retrying the team's delete: {body}");
    let (code, body) = send(as_guest(Method::POST, "/jobs").json(
        &json!({"type": "sheet", "operation": "recheck-records", "source": dst_sheet, "trigger": "immediate"}),
    ))
    .await;
    assert_eq!(code, 403, "a guest's re-check: {body}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(counts(&app, &dst_sheet).await["total"], 0);
    assert_eq!(counts(&app, &src_sheet).await["total"], 3);
    let (_, j) = app.get_json(&format!("/jobs/{team_map}")).await;
    assert_eq!(j["data"]["status"], "planning", "{j}");

    // The key that locked it still imports.
    let (status, body) = app
        .post_json(&format!("/jobs/{team_map}/execute"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let done = wait_status(&app, &team_map, &["complete", "failed"]).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(counts(&app, &dst_sheet).await["total"], 3);
}

/// A lock taken while a guest's mapping runs stops it at its next batch and takes back
/// what it had written.
async fn a_lock_stops_a_guests_running_mapping(db: Db) {
    // Twenty batches: the lock lands while it runs even when a busy machine answers the
    // test's polls slowly (at 40,000 rows the mapping once ended between two polls).
    const ROWS: usize = 100_000;
    let app = spawn_app(db).await;
    let space = app.bare_space("Import").await;
    let (src_wb, src_sheet) = extracted(&app, &space, ROWS).await;
    let (dst_wb, dst_sheet) = destination(&app, &space).await;
    let token = guest_token(&app, &space).await;
    let (code, job) = send(
        app.client
            .post(app.url("/v1/jobs"))
            .bearer_auth(&token)
            .json(&map_body(&src_wb, &src_sheet, &dst_wb, &dst_sheet, "immediate")),
    )
    .await;
    assert_eq!(code, 200, "{job}");
    let id = job["data"]["id"].as_str().unwrap().to_string();
    wait_writing(&app, &id, &dst_sheet).await;
    let (status, body) = app
        .post_json(&format!("/sheets/{dst_sheet}/lock"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let done = wait_status(&app, &id, &["complete", "failed"]).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done["outcome"]["message"].to_string().contains("was locked"),
        "{done}"
    );
    assert_eq!(counts(&app, &dst_sheet).await["total"], 0, "taken back");
}

/// A file's workbook can only be one of the file's space: pointing it at another space's
/// would let the file's guests import that space's records through the dashboard.
async fn a_files_workbook_stays_in_its_space(db: Db) {
    let app = spawn_app(db).await;
    let mine = app.bare_space("Mine").await;
    let theirs = app.bare_space("Theirs").await;
    let (own_wb, _) = extracted(&app, &mine, 2).await;
    let (other_wb, _) = destination(&app, &theirs).await;
    let (_, files) = app.get_json(&format!("/files?spaceId={mine}")).await;
    let file = files["data"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .patch_json(&format!("/files/{file}"), &json!({"workbookId": other_wb}))
        .await;
    assert_eq!(status, 404, "{body}");
    let (_, f) = app.get_json(&format!("/files/{file}")).await;
    assert_eq!(f["data"]["workbookId"], own_wb.as_str());
}

/// A job not run yet (a listener's job still `created`, a mapping waiting in `planning`) is
/// not the grid's running job: it neither shows as running nor blocks the workbook.
async fn a_job_not_run_yet_is_not_the_grids_running_job(db: Db) {
    use wharf::model::job::{self, JobInput};
    let app = spawn_app(db).await;
    let space = app.bare_space("Grid").await;
    let (wb, _) = destination(&app, &space).await;
    let space_id = wharf::ids::SpaceId(space.clone());
    let mut conn = app.pool.get().unwrap();
    let make = |status: &str| JobInput {
        job_type: "workbook".into(),
        operation: "tidy".into(),
        source: wb.clone(),
        status: status.into(),
        ..JobInput::new(&app.env_id, Some(&space_id))
    };
    let shown = |conn: &mut wharf::db::AnyConnection| {
        wharf::model::job_subject::latest_unacknowledged(conn, std::slice::from_ref(&wb), "us_usr_ada")
            .unwrap()
    };
    job::create(&mut conn, make("created"), "us_usr_ada").unwrap();
    assert!(shown(&mut conn).is_none(), "a job not run yet");
    let ready = job::create(&mut conn, make("ready"), "us_usr_ada").unwrap();
    assert_eq!(shown(&mut conn).map(|j| j.id), Some(ready.id));
}

on_both!(
    a_job_not_run_yet_is_not_the_grids_running_job,
    a_space_is_deleted_while_its_file_is_extracted,
    a_mapping_onto_its_own_source_sheet_is_refused,
    cancel_and_instant_retry_write_each_record_once,
    listener_calls_on_built_in_jobs_are_refused,
    a_job_source_that_is_not_an_id_is_refused,
    a_guest_cannot_drive_a_mapping_into_another_space,
    a_guest_cannot_stop_the_teams_jobs,
    a_mapping_says_when_its_source_or_destination_was_deleted,
    a_lock_holds_whoever_starts_the_job,
    a_lock_stops_a_guests_running_mapping,
    a_files_workbook_stays_in_its_space,
);

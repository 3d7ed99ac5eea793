//! A job cut off by `kill -9` runs again after a restart, without duplicating or losing
//! records: the real binary, killed in the middle of an extraction and of a mapping.

use crate::helpers::*;
use crate::on_both;
use crate::real_binary::{created_key, Server};
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

/// Rows of the test file: enough that extraction and mapping take a few seconds.
const ROWS: usize = 150_000;

impl Server {
    /// A new space with the big CSV uploaded: (space, file, its extraction job).
    async fn upload_big(&self, space_name: &str) -> (String, String, String) {
        let (_, space) = send(
            self.api(reqwest::Method::POST, "/spaces")
                .json(&json!({"name": space_name})),
        )
        .await;
        let space_id = space["data"]["id"].as_str().unwrap().to_string();
        let form = reqwest::multipart::Form::new()
            .text("spaceId", space_id.clone())
            .part(
                "file",
                reqwest::multipart::Part::bytes(big_csv()).file_name("big.csv"),
            );
        let (status, file) = send(self.api(reqwest::Method::POST, "/files").multipart(form)).await;
        assert_eq!(status, 200, "{file}");
        let file_id = file["data"]["id"].as_str().unwrap().to_string();
        let jobs = self.get(&format!("/jobs?fileId={file_id}")).await;
        let job_id = jobs["data"][0]["id"].as_str().unwrap().to_string();
        (space_id, file_id, job_id)
    }

    /// A new workbook of people (a unique email, a name) in the space, and a mapping of the
    /// source sheet into it, started: (its sheet, the mapping job).
    async fn map_into_new_sheet(&self, space_id: &str, src_wb: &str, src_sheet: &str) -> (String, String) {
        let (status, dest) = send(self.api(reqwest::Method::POST, "/workbooks").json(&json!({
            "name": "Target", "spaceId": space_id,
            "sheets": [{"name": "People", "slug": "people", "fields": [
                {"key": "email", "type": "string", "label": "Email", "constraints": [{"type": "unique"}]},
                {"key": "name", "type": "string", "label": "Name"}]}]
        })))
        .await;
        assert_eq!(status, 200, "{dest}");
        let dest_wb = dest["data"]["id"].as_str().unwrap().to_string();
        let dest_sheet = dest["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
        let (status, job) = send(self.api(reqwest::Method::POST, "/jobs").json(&json!({
            "type": "workbook", "operation": "map", "source": src_wb, "destination": dest_wb,
            "trigger": "immediate", "config": {"sourceSheetId": src_sheet, "destinationSheetId": dest_sheet}
        })))
        .await;
        assert_eq!(status, 200, "{job}");
        (dest_sheet, job["data"]["id"].as_str().unwrap().to_string())
    }

    /// A stop asked for (SIGTERM, as a service manager sends), waited for.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let exit = self.child.wait().expect("reaped");
        assert!(exit.success(), "a stopped server exits cleanly: {exit}");
    }

    /// Waits until a job runs again in this process (progress of its own, after `before`,
    /// the job's last update by the previous process).
    async fn wait_rerun(&self, job_id: &str, before: &Value) {
        let start = Instant::now();
        loop {
            let job = self.get(&format!("/jobs/{job_id}")).await["data"].clone();
            assert_ne!(job["status"], "complete", "{job}");
            let rerun = job["updatedAt"].as_str() > before.as_str();
            if rerun && job["status"] == "executing" && job["progress"].as_i64().unwrap_or(0) >= 10 {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(300),
                "never ran again: {job}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the job is executing and past `percent`; panics if it finished first.
    async fn wait_midway(&self, job_id: &str, percent: i64) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(300) {
            let job = self.get(&format!("/jobs/{job_id}")).await;
            let status = job["data"]["status"].as_str().unwrap_or("").to_string();
            assert!(
                !["complete", "failed"].contains(&status.as_str()),
                "the job ended before the kill: {job}"
            );
            if status == "executing" && job["data"]["progress"].as_i64().unwrap_or(0) >= percent {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("job {job_id} never got midway");
    }

    async fn wait_done(&self, job_id: &str) -> Value {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(420) {
            let job = self.get(&format!("/jobs/{job_id}")).await;
            if ["complete", "failed", "canceled"].contains(&job["data"]["status"].as_str().unwrap_or("")) {
                return job["data"].clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("job {job_id} did not finish after the restart");
    }
}

fn big_csv() -> Vec<u8> {
    let mut out = String::from("Email,Name,Note\n");
    for i in 0..ROWS {
        out.push_str(&format!("user{i}@x.org,Person {i},n{i}\n"));
    }
    out.into_bytes()
}

/// Checks a sheet holds exactly the file's rows, once each, in order.
async fn assert_all_rows_once(server: &Server, sheet_id: &str, key: &str) {
    let counts = server.get(&format!("/sheets/{sheet_id}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], ROWS as i64, "{counts}");
    let mut seen = 0usize;
    for page in 1.. {
        let got = server
            .get(&format!(
                "/sheets/{sheet_id}/records?pageSize=50000&pageNumber={page}"
            ))
            .await;
        let recs = got["data"]["records"].as_array().unwrap().clone();
        if recs.is_empty() {
            break;
        }
        for r in &recs {
            assert_eq!(r["values"][key]["value"], format!("user{seen}@x.org"));
            seen += 1;
        }
    }
    assert_eq!(seen, ROWS);
}

async fn a_job_cut_off_by_kill_runs_again_after_restart(db: Db) {
    let (settings, _dir) = test_settings(db);
    let key = created_key(&settings);

    // An extraction, killed midway.
    let server = Server::start(&settings, &key).await;
    let (space_id, file_id, extract_id) = server.upload_big("Crash").await;
    server.wait_midway(&extract_id, 20).await;
    server.kill();

    let server = Server::start(&settings, &key).await;
    let job = server.wait_done(&extract_id).await;
    assert_eq!(job["status"], "complete", "{job}");
    let file = server.get(&format!("/files/{file_id}")).await;
    let wb_id = file["data"]["workbookId"].as_str().unwrap().to_string();
    let wbs = server.get(&format!("/workbooks?spaceId={space_id}")).await;
    assert_eq!(
        wbs["data"].as_array().unwrap().len(),
        1,
        "the cut-off attempt's workbook is gone"
    );
    let wb = server.get(&format!("/workbooks/{wb_id}")).await;
    let src_sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    assert_all_rows_once(&server, &src_sheet, "email").await;

    // A mapping into a new workbook, killed midway.
    let (dest_sheet, map_id) = server.map_into_new_sheet(&space_id, &wb_id, &src_sheet).await;
    server.wait_midway(&map_id, 20).await;
    server.kill();

    let server = Server::start(&settings, &key).await;
    let job = server.wait_done(&map_id).await;
    assert_eq!(job["status"], "complete", "{job}");
    assert_all_rows_once(&server, &dest_sheet, "email").await;
    let counts = server.get(&format!("/sheets/{dest_sheet}/counts")).await;
    assert_eq!(
        counts["data"]["counts"]["error"], 0,
        "no duplicate emails: {counts}"
    );
    server.kill();
}

/// A mapping canceled and then cut off by `kill -9` before its take-back ends: the next
/// start takes back what it wrote (nothing half imported stays), and says so; a retry then
/// imports every row once.
async fn a_cancel_cut_off_by_kill_is_taken_back_after_restart(db: Db) {
    let (settings, _dir) = test_settings(db);
    let key = created_key(&settings);
    let server = Server::start(&settings, &key).await;
    let (space_id, file_id, extract_id) = server.upload_big("Cancel").await;
    let job = server.wait_done(&extract_id).await;
    assert_eq!(job["status"], "complete", "{job}");
    let file = server.get(&format!("/files/{file_id}")).await;
    let wb_id = file["data"]["workbookId"].as_str().unwrap().to_string();
    let wb = server.get(&format!("/workbooks/{wb_id}")).await;
    let src_sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let (dest_sheet, map_id) = server.map_into_new_sheet(&space_id, &wb_id, &src_sheet).await;
    server.wait_midway(&map_id, 20).await;
    let (status, _) = send(server.api(reqwest::Method::POST, &format!("/jobs/{map_id}/cancel"))).await;
    assert_eq!(status, 200);
    server.kill();

    let server = Server::start(&settings, &key).await;
    let start = Instant::now();
    let (mut total, mut info) = (Value::Null, Value::Null);
    while start.elapsed() < Duration::from_secs(120) {
        total = server.get(&format!("/sheets/{dest_sheet}/counts")).await["data"]["counts"]["total"].clone();
        info = server.get(&format!("/jobs/{map_id}")).await["data"]["info"].clone();
        if total == 0 && info.as_str().is_some_and(|i| i.starts_with("Stopped: took back")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(total, 0, "what the canceled mapping wrote is taken back");
    assert!(
        info.as_str().is_some_and(|i| i.starts_with("Stopped: took back")),
        "{info}"
    );
    let (status, body) = send(server.api(reqwest::Method::POST, &format!("/jobs/{map_id}/retry"))).await;
    assert_eq!(status, 200, "{body}");
    let job = server.wait_done(&map_id).await;
    assert_eq!(job["status"], "complete", "{job}");
    assert_all_rows_once(&server, &dest_sheet, "email").await;
    server.kill();
}

/// A mapping cut off by `kill -9` whose plan no longer holds when it runs again (a mapped
/// field of its destination removed while it waited): it fails and takes back what the
/// first attempt wrote, so running the import again makes no duplicates.
async fn a_resumed_mapping_whose_plan_broke_takes_back_its_records(db: Db) {
    let (settings, _dir) = test_settings(db);
    let key = created_key(&settings);
    let server = Server::start(&settings, &key).await;
    let (space_id, file_id, extract_id) = server.upload_big("Broken plan").await;
    assert_eq!(server.wait_done(&extract_id).await["status"], "complete");
    let file = server.get(&format!("/files/{file_id}")).await;
    let src_wb = file["data"]["workbookId"].as_str().unwrap().to_string();
    let wb = server.get(&format!("/workbooks/{src_wb}")).await;
    let src_sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let (dest_sheet, map_id) = server.map_into_new_sheet(&space_id, &src_wb, &src_sheet).await;
    server.wait_midway(&map_id, 20).await;
    server.kill();

    // Up again without job workers: the job waits while its destination loses a field.
    let idle = wharf::settings::Settings {
        job_workers: 0,
        ..settings.clone()
    };
    let server = Server::start(&idle, &key).await;
    let counts = server.get(&format!("/sheets/{dest_sheet}/counts")).await;
    assert!(
        counts["data"]["counts"]["total"].as_i64().unwrap() > 0,
        "{counts}"
    );
    let (status, body) = send(server.api(
        reqwest::Method::DELETE,
        &format!("/sheets/{dest_sheet}/fields/name"),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    server.kill();

    let server = Server::start(&settings, &key).await;
    let job = server.wait_done(&map_id).await;
    assert_eq!(job["status"], "failed", "{job}");
    let counts = server.get(&format!("/sheets/{dest_sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 0, "taken back: {counts}");
    server.kill();
}

/// A job that stops the server twice (a file built to exhaust memory, say) is failed with a
/// message at the next start instead of stopping it a third time; a person's retry runs it.
async fn a_job_that_stopped_the_server_twice_is_not_run_again(db: Db) {
    let (settings, _dir) = test_settings(db);
    let key = created_key(&settings);
    let server = Server::start(&settings, &key).await;
    let (space_id, file_id, job_id) = server.upload_big("Crash loop").await;
    server.wait_midway(&job_id, 10).await;
    let before = server.get(&format!("/jobs/{job_id}")).await["data"]["updatedAt"].clone();
    server.kill();
    // The second run is cut off too, once it has made progress of its own.
    let server = Server::start(&settings, &key).await;
    server.wait_rerun(&job_id, &before).await;
    server.kill();

    let server = Server::start(&settings, &key).await;
    let job = server.wait_done(&job_id).await;
    assert_eq!(job["status"], "failed", "{job}");
    let message = job["outcome"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("stopped 2 times"), "{message}");
    let file = server.get(&format!("/files/{file_id}")).await;
    assert_eq!(file["data"]["status"], "failed", "{file}");
    assert_eq!(file["data"]["message"], message, "{file}");
    let wbs = server.get(&format!("/workbooks?spaceId={space_id}")).await;
    assert_eq!(
        wbs["data"].as_array().unwrap().len(),
        0,
        "no partial workbook: {wbs}"
    );
    // A person's retry is a deliberate new run (as a new upload would be): it runs, and
    // with nothing stopping it this time, completes.
    let (status, _) = send(server.api(reqwest::Method::POST, &format!("/jobs/{job_id}/retry"))).await;
    assert_eq!(status, 200);
    let job = server.wait_done(&job_id).await;
    assert_eq!(job["status"], "complete", "{job}");
    let file = server.get(&format!("/files/{file_id}")).await;
    assert_eq!(file["data"]["status"], "complete", "{file}");
    server.kill();
}

/// Stops asked for (a deploy's restarts) are not crashes: a job stopped that way twice
/// still runs to the end.
async fn a_job_stopped_gracefully_twice_still_completes(db: Db) {
    let (settings, _dir) = test_settings(db);
    let key = created_key(&settings);
    let mut server = Server::start(&settings, &key).await;
    let (_, file_id, job_id) = server.upload_big("Restarts").await;
    server.wait_midway(&job_id, 10).await;
    for round in 0..2 {
        server.stop();
        server = Server::start(&settings, &key).await;
        // A stopping server finishes the requests in flight first, and its workers go on
        // meanwhile: the job may have completed before it exited. Else it runs again here.
        let start = Instant::now();
        loop {
            let job = server.get(&format!("/jobs/{job_id}")).await["data"].clone();
            assert_ne!(job["status"], "failed", "round {round}: {job}");
            if job["status"] == "complete"
                || job["status"] == "executing" && job["progress"].as_i64().unwrap_or(0) >= 10
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(300),
                "never ran again: {job}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let job = server.wait_done(&job_id).await;
    assert_eq!(job["status"], "complete", "{job}");
    let file = server.get(&format!("/files/{file_id}")).await;
    assert_eq!(file["data"]["status"], "complete", "{file}");
    server.kill();
}

/// A re-extraction canceled, then `kill -9` before its worker took back its workbook: after
/// the restart the file is failed, names the earlier extraction's workbook, and that is the
/// file's only workbook (the file read `analyzing` for good beside two workbooks).
async fn a_canceled_extraction_cut_off_by_kill_is_taken_back_after_restart(db: Db) {
    let (settings, _dir) = test_settings(db);
    let key = created_key(&settings);
    let server = Server::start(&settings, &key).await;
    let (space_id, file_id, extract_id) = server.upload_big("Cancel extraction").await;
    assert_eq!(server.wait_done(&extract_id).await["status"], "complete");
    let first = server.get(&format!("/files/{file_id}")).await["data"]["workbookId"].clone();
    let again = json!({"type": "file", "operation": "extract", "source": file_id});
    let (status, job) = send(server.api(reqwest::Method::POST, "/jobs").json(&again)).await;
    assert_eq!(status, 200, "{job}");
    let again_id = job["data"]["id"].as_str().unwrap().to_string();
    send(server.api(reqwest::Method::POST, &format!("/jobs/{again_id}/execute"))).await;
    server.wait_midway(&again_id, 20).await;
    let (status, _) = send(server.api(reqwest::Method::POST, &format!("/jobs/{again_id}/cancel"))).await;
    assert_eq!(status, 200);
    server.kill();

    let server = Server::start(&settings, &key).await;
    let start = Instant::now();
    let mut file = Value::Null;
    while start.elapsed() < Duration::from_secs(60) {
        file = server.get(&format!("/files/{file_id}")).await["data"].clone();
        if file["status"] != "analyzing" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(file["status"], "failed", "{file}");
    assert_eq!(
        file["message"],
        "the extraction was canceled; the workbook of the earlier extraction is kept"
    );
    assert_eq!(file["workbookId"], first, "{file}");
    let wbs = server.get(&format!("/workbooks?spaceId={space_id}")).await;
    let ids: Vec<&Value> = wbs["data"].as_array().unwrap().iter().map(|w| &w["id"]).collect();
    assert_eq!(ids, [&first], "{wbs}");
    server.kill();
}

on_both!(
    a_canceled_extraction_cut_off_by_kill_is_taken_back_after_restart,
    a_resumed_mapping_whose_plan_broke_takes_back_its_records,
    a_cancel_cut_off_by_kill_is_taken_back_after_restart,
    a_job_stopped_gracefully_twice_still_completes,
    a_job_cut_off_by_kill_runs_again_after_restart,
    a_job_that_stopped_the_server_twice_is_not_run_again
);

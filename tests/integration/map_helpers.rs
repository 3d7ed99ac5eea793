//! A file mapped onto a sheet through the API, as the mapping tests do it.

use crate::api_mapping::create_map_job;
use crate::helpers::*;
use serde_json::Value;

/// Uploads `bytes` as `name` into `space`, waits for its extraction, and makes a mapping
/// job of its first sheet onto `dest` (of workbook `dest_wb`), in planning; the job's id.
pub(crate) async fn map_job_for(
    app: &TestApp,
    space: &str,
    name: &str,
    bytes: Vec<u8>,
    dest_wb: &str,
    dest: &str,
) -> String {
    let file = app.upload_and_extract(space, name, bytes).await;
    let src_wb = file["workbookId"].as_str().unwrap().to_string();
    let (_, src) = app.get_json(&format!("/workbooks/{src_wb}")).await;
    let src_sheet = src["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    create_map_job(app, &src_wb, &src_sheet, dest_wb, dest).await
}

/// Runs a job in planning and waits for it to end; the job as it ended.
pub(crate) async fn run_job(app: &TestApp, job: &str) -> Value {
    let (status, _) = send(
        app.api(reqwest::Method::POST, &format!("/jobs/{job}/execute"))
            .header("content-length", "0"),
    )
    .await;
    assert_eq!(status, 200);
    app.wait_job(job).await
}

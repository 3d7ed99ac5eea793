//! Issue 7's figures, side by side in one run:
//! - `sqlite3 .import` of an N-row CSV (default 1,000,000 rows, 10 columns) into a fresh
//!   database: the reference;
//! - the same CSV uploaded to Wharf (curl, streamed from disk), then extracted by the
//!   `file:extract` job into a `[file]` workbook, on SQLite (`BENCH_DB=postgres`: on
//!   PostgreSQL, beside `psql \copy` of the CSV into a table of text columns);
//! - the mapping of that sheet onto the typed 10-field sheet (every cell cast and validated);
//! - the process's peak memory after each step, to show it stays flat in the file's size.
//!
//! Run: `cargo bench --bench files` (BENCH_ROWS=100000 for a quick run).

#[path = "common.rs"]
mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use wharf::app::{prepare_database, Application};
use wharf::model::{api_key, environment};
use wharf::settings::Settings;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Peak resident memory of this process so far, in MiB (Linux).
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn wait_job(client: &reqwest::Client, base: &str, key: &str, id: &str) -> anyhow::Result<Value> {
    loop {
        let job: Value = client
            .get(format!("{base}/jobs/{id}"))
            .bearer_auth(key)
            .send()
            .await?
            .json()
            .await?;
        if ["complete", "failed", "canceled"].contains(&job["data"]["status"].as_str().unwrap_or("")) {
            return Ok(job["data"].clone());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    wharf::memory::no_huge_pages();
    let rows = bench_rows();
    let dir = tempfile::Builder::new().prefix("wharf-bench-files").tempdir()?;
    let csv_path = dir.path().join("people.csv");
    {
        let mut w = csv::Writer::from_path(&csv_path)?;
        w.write_record(FIELDS)?;
        for i in 0..rows {
            w.write_record(row(i))?;
        }
        w.flush()?;
    }
    let size_mib = std::fs::metadata(&csv_path)?.len() as f64 / (1024.0 * 1024.0);
    println!(
        "rows: {rows}, file: {size_mib:.1} MiB, dir: {}",
        dir.path().display()
    );

    // The reference loader, and the database Wharf runs on: SQLite's file beside
    // `sqlite3 .import`, or PostgreSQL (`BENCH_DB=postgres`) beside `psql \copy`.
    let (reference, import_time, database_url) = if bench_on_postgres() {
        let admin = postgres_admin_url(dir.path())?;
        let took = psql_copy(&admin, &csv_path)?;
        let url = fresh_postgres_database(&admin, &format!("bench_files_{}", std::process::id()))?;
        ("`psql \\copy`", took, url)
    } else {
        let took = sqlite_import(&dir.path().join("import.db"), &csv_path)?;
        let url = format!("sqlite://{}", dir.path().join("wharf.db").display());
        ("`sqlite3 .import`", took, url)
    };

    let settings = Settings {
        pool_size: 4,
        ..bench_settings(database_url, dir.path())
    };
    // `RUST_LOG=wharf::jobs=debug` shows where a job's time goes.
    if let Ok(filter) = std::env::var("RUST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    }
    let app = Application::build(settings.clone())?;
    let base = format!("http://127.0.0.1:{}/v1", app.port());
    tokio::spawn(app.run_until_stopped());
    let key = {
        let pool = prepare_database(&settings)?;
        let mut conn = pool.get()?;
        let env = environment::find_by_name(&mut conn, "development")?.expect("development");
        api_key::create(&mut conn, &env.id)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .1
    };
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let config: Value = post("/space-configs", blueprint()).await?.json().await?;
    let space: Value = post("/spaces", json!({"spaceConfigId": config["data"]["id"]}))
        .await?
        .json()
        .await?;
    let space_id = space["data"]["id"].as_str().expect("space").to_string();
    let wbs: Value = client
        .get(format!("{base}/workbooks?spaceId={space_id}"))
        .bearer_auth(&key)
        .send()
        .await?
        .json()
        .await?;
    let dest_wb = wbs["data"][0]["id"].as_str().expect("workbook").to_string();
    let dest_sheet = wbs["data"][0]["sheets"][0]["id"]
        .as_str()
        .expect("sheet")
        .to_string();
    let before = peak_mib();

    // Upload with curl, streamed from disk (marked for a profiler started from outside).
    println!("upload");
    let started = Instant::now();
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "-f", "-H"])
        .arg(format!("Authorization: Bearer {key}"))
        .arg("-F")
        .arg(format!("spaceId={space_id}"))
        .arg("-F")
        .arg(format!("file=@{}", csv_path.display()))
        .arg(format!("{base}/files"))
        .output()
        .await?;
    anyhow::ensure!(
        out.status.success(),
        "upload failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let upload_time = started.elapsed();
    let file: Value = serde_json::from_slice(&out.stdout)?;
    let file_id = file["data"]["id"].as_str().expect("file id").to_string();
    let after_upload = peak_mib();
    let jobs: Value = client
        .get(format!("{base}/jobs?fileId={file_id}"))
        .bearer_auth(&key)
        .send()
        .await?
        .json()
        .await?;
    let extract_id = jobs["data"][0]["id"].as_str().expect("job").to_string();
    let job = wait_job(&client, &base, &key, &extract_id).await?;
    anyhow::ensure!(job["status"] == "complete", "extraction failed: {job}");
    let extract_time = started.elapsed() - upload_time;
    let after_extract = peak_mib();

    let file: Value = client
        .get(format!("{base}/files/{file_id}"))
        .bearer_auth(&key)
        .send()
        .await?
        .json()
        .await?;
    let src_wb = file["data"]["workbookId"].as_str().expect("workbook").to_string();
    // A mark for a profiler started from outside (see bench/README.md).
    println!("mapping");
    let started = Instant::now();
    let map: Value = post(
        "/jobs",
        json!({"type": "workbook", "operation": "map", "source": src_wb, "destination": dest_wb,
               "trigger": "immediate", "config": {"destinationSheetId": dest_sheet}}),
    )
    .await?
    .json()
    .await?;
    let map_id = map["data"]["id"].as_str().expect("map job").to_string();
    let job = wait_job(&client, &base, &key, &map_id).await?;
    anyhow::ensure!(job["status"] == "complete", "mapping failed: {job}");
    let map_time = started.elapsed();
    let after_map = peak_mib();

    let per_s = |d: Duration| rows as f64 / d.as_secs_f64();
    println!();
    println!("| step | wall time | rows/s | peak memory after |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| {reference} (reference) | {:.2} s | {:.0} | |",
        import_time.as_secs_f64(),
        per_s(import_time)
    );
    println!("| Wharf, before the upload | | | {before:.0} MiB |");
    println!(
        "| upload ({size_mib:.0} MiB, curl) | {:.2} s | | {after_upload:.0} MiB |",
        upload_time.as_secs_f64()
    );
    println!(
        "| extraction into `[file]` workbook | {:.2} s | {:.0} | {after_extract:.0} MiB |",
        extract_time.as_secs_f64(),
        per_s(extract_time)
    );
    println!(
        "| mapping onto the typed sheet | {:.2} s | {:.0} | {after_map:.0} MiB |",
        map_time.as_secs_f64(),
        per_s(map_time)
    );
    println!(
        "| extraction / {reference} | {:.1}x | | |",
        extract_time.as_secs_f64() / import_time.as_secs_f64()
    );
    println!(
        "| upload + extraction + mapping / {reference} | {:.1}x | | |",
        (upload_time + extract_time + map_time).as_secs_f64() / import_time.as_secs_f64()
    );
    Ok(())
}

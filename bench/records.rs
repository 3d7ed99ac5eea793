//! Issue 2's figures, side by side in one run:
//! - insert N records (default 1,000,000) into a typed 10-field sheet through
//!   `POST /v1/sheets/{id}/records` in batches of 10,000, on SQLite, validated;
//! - `sqlite3 .import` of the same rows as CSV into a fresh database;
//! - p95 of reading 100-record pages with counts: first, last, errors, sorted by a field.
//!
//! Run: `cargo bench --bench records` (BENCH_ROWS=100000 for a quick run).

#[path = "common.rs"]
mod common;

use common::*;
use std::io::Write;
use std::time::{Duration, Instant};
use wharf::app::{prepare_database, Application};
use wharf::model::{api_key, environment};
use wharf::settings::Settings;

const BATCH: usize = 10_000;

// The same allocator as the `wharf` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let rows: usize = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::Builder::new().prefix("wharf-bench").tempdir()?;
    println!("rows: {rows}, batch: {BATCH}, dir: {}", dir.path().display());

    // The reference: sqlite3 .import of the same rows as CSV.
    let csv_path = dir.path().join("rows.csv");
    {
        let mut w = csv::Writer::from_path(&csv_path)?;
        w.write_record(FIELDS)?;
        for i in 0..rows {
            w.write_record(row(i))?;
        }
        w.flush()?;
    }
    let import_db = dir.path().join("import.db");
    let started = Instant::now();
    let mut child = std::process::Command::new("sqlite3")
        .arg(&import_db)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("sqlite3 is needed for the reference (apt-get install sqlite3): {e}"))?;
    writeln!(
        child.stdin.take().expect("stdin"),
        "PRAGMA journal_mode=WAL;\n.mode csv\n.import {} people",
        csv_path.display()
    )?;
    anyhow::ensure!(child.wait()?.success(), "sqlite3 .import failed");
    let import_time = started.elapsed();
    println!("sqlite3 .import: {:.2} s", import_time.as_secs_f64());

    // Wharf on a fresh SQLite file.
    let settings = Settings {
        database_url: format!("sqlite://{}", dir.path().join("wharf.db").display()),
        data_dir: dir.path().to_path_buf(),
        bind: "127.0.0.1:0".parse()?,
        base_url: "http://127.0.0.1".into(),
        pool_size: 4,
    };
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
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let config: serde_json::Value = post("/space-configs", blueprint()).await?.json().await?;
    let space: serde_json::Value = post(
        "/spaces",
        serde_json::json!({"spaceConfigId": config["data"]["id"]}),
    )
    .await?
    .json()
    .await?;
    let wbs: serde_json::Value = client
        .get(format!(
            "{base}/workbooks?spaceId={}",
            space["data"]["id"].as_str().expect("space id")
        ))
        .bearer_auth(&key)
        .send()
        .await?
        .json()
        .await?;
    let sheet = wbs["data"][0]["sheets"][0]["id"]
        .as_str()
        .expect("sheet id")
        .to_string();

    let bodies: Vec<Vec<u8>> = (0..rows)
        .step_by(BATCH)
        .map(|s| batch_body(s, (s + BATCH).min(rows)))
        .collect();
    let started = Instant::now();
    for body in bodies {
        let resp = client
            .post(format!("{base}/sheets/{sheet}/records"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        anyhow::ensure!(
            resp.status().is_success(),
            "insert failed: {}",
            resp.text().await?
        );
        resp.bytes().await?;
    }
    let insert_time = started.elapsed();
    println!(
        "wharf insert: {:.2} s ({:.0} records/s), {:.2}x sqlite3 .import",
        insert_time.as_secs_f64(),
        rows as f64 / insert_time.as_secs_f64(),
        insert_time.as_secs_f64() / import_time.as_secs_f64()
    );

    let last_page = rows.div_ceil(100);
    let error_pages = (rows / 20).div_ceil(100);
    let cases = [
        (
            "first page",
            "pageSize=100&pageNumber=1&includeCounts=true".to_string(),
        ),
        (
            "last page",
            format!("pageSize=100&pageNumber={last_page}&includeCounts=true"),
        ),
        (
            "middle page",
            format!("pageSize=100&pageNumber={}&includeCounts=true", last_page / 2),
        ),
        (
            "errors, first page",
            "pageSize=100&filter=error&includeCounts=true".to_string(),
        ),
        (
            "errors, last page",
            format!("pageSize=100&filter=error&pageNumber={error_pages}&includeCounts=true"),
        ),
        (
            "sorted by age",
            "pageSize=100&sortField=age&sortDirection=asc&includeCounts=true".to_string(),
        ),
        (
            "sorted by city desc",
            "pageSize=100&sortField=city&sortDirection=desc&includeCounts=true".to_string(),
        ),
        (
            "search one field",
            "pageSize=100&searchField=last_name&searchValue=Knuth&includeCounts=true".to_string(),
        ),
    ];
    println!("\n| page (100 records, with counts) | p50 ms | p95 ms |\n| --- | --- | --- |");
    for (name, query) in cases {
        let url = format!("{base}/sheets/{sheet}/records?{query}");
        let first = client.get(&url).bearer_auth(&key).send().await?; // warms caches and creates sort indexes
        anyhow::ensure!(first.status().is_success(), "{name}: {}", first.text().await?);
        first.bytes().await?;
        let mut samples: Vec<Duration> = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            let resp = client.get(&url).bearer_auth(&key).send().await?;
            let body = resp.bytes().await?;
            samples.push(t.elapsed());
            anyhow::ensure!(body.len() > 100, "{name}: empty page");
        }
        let p50 = percentile(&mut samples, 0.5);
        let p95 = percentile(&mut samples, 0.95);
        println!("| {name} | {:.1} | {:.1} |", ms(p50), ms(p95));
    }
    Ok(())
}

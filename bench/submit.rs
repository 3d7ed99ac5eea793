//! Issue 15's figure: a built-in Submit of a `BENCH_ROWS` (1,000,000) record workbook to a
//! receiver on this machine that answers 202 at once and then pulls every sheet's
//! `recordsUrl` (JSON Lines, or CSV with `BENCH_FORMAT=csv`) to the end. Beside it, the
//! reference: `sqlite3` writing the same rows (from its `.import` copy) as CSV.
//!
//! - freezing: from the job's claim to its submission row (the records streamed into the
//!   stored file), read from the database;
//! - whole delivery: from `POST /v1/jobs` until the receiver has read the last record.
//!
//! Run: `cargo bench --bench submit` (`BENCH_ROWS=100000` for a quick run).

#[path = "common.rs"]
mod common;

use actix_web::{web, App, HttpResponse, HttpServer};
use common::*;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What the receiver saw: records read through the links, and when it finished.
#[derive(Default)]
struct Shared {
    lines: Mutex<u64>,
    done: Mutex<Option<Instant>>,
    format: String,
}

fn start_receiver(shared: Arc<Shared>) -> anyhow::Result<String> {
    let data = web::Data::from(shared);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .default_service(web::to(receive))
            })
            .workers(1)
            .bind(("127.0.0.1", 0))?;
            let _ = tx.send(server.addrs()[0]);
            server.run().await
        })
    });
    Ok(format!("http://{}/submit", rx.recv()?))
}

/// Answers 202 at once; then reads every sheet's records link to the end, counting lines.
async fn receive(body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let payload: Value = serde_json::from_slice(&body).unwrap_or_default();
    if payload["type"] != "workbook.submitted" {
        return HttpResponse::Ok().finish();
    }
    let links: Vec<String> = payload["data"]["sheets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["recordsUrl"].as_str().map(str::to_string))
        .collect();
    let shared = shared.into_inner();
    actix_web::rt::spawn(async move {
        let client = reqwest::Client::new();
        let mut lines = 0u64;
        for link in links {
            let url = if shared.format == "csv" {
                format!("{link}&format=csv")
            } else {
                link
            };
            let Ok(mut resp) = client.get(url).send().await else {
                return;
            };
            while let Ok(Some(chunk)) = resp.chunk().await {
                lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
            }
            if shared.format == "csv" {
                lines -= 1; // the header
            }
        }
        *shared.lines.lock().expect("lock") = lines;
        *shared.done.lock().expect("lock") = Some(Instant::now());
    });
    HttpResponse::Accepted().finish()
}

/// `sqlite3` writing the `.import` copy's rows as CSV; its wall time.
fn sqlite3_csv(db: &std::path::Path, out: &std::path::Path) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut child = std::process::Command::new("sqlite3")
        .arg(db)
        .stdin(std::process::Stdio::piped())
        .spawn()?;
    writeln!(
        child.stdin.take().expect("stdin"),
        ".headers on\n.mode csv\n.output {}\nSELECT * FROM people;",
        out.display()
    )?;
    anyhow::ensure!(child.wait()?.success(), "sqlite3 export failed");
    Ok(started.elapsed())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    wharf::memory::no_huge_pages();
    let rows = bench_rows();
    let format = std::env::var("BENCH_FORMAT").unwrap_or_else(|_| "jsonl".into());
    let p = prepare(rows).await?;
    let reference = sqlite3_csv(&p.import_db, &p.dir.path().join("export.csv"))?;
    println!("sqlite3 CSV export: {:.2} s", reference.as_secs_f64());

    let shared = Arc::new(Shared {
        format: format.clone(),
        ..Default::default()
    });
    let url = start_receiver(shared.clone())?;
    let api = |method: reqwest::Method, path: &str| {
        p.client
            .request(method, format!("{}{path}", p.base))
            .bearer_auth(&p.key)
    };
    let hook = api(reqwest::Method::POST, "/webhooks")
        .json(&json!({"url": url, "slug": "sink", "topics": ["submit:none"]}))
        .send()
        .await?;
    anyhow::ensure!(hook.status().is_success(), "webhook: {}", hook.text().await?);
    let actions = json!({"actions": [{"label": "Submit", "operation": "submit", "deliverTo": "sink"}]});
    let patched = api(reqwest::Method::PATCH, &format!("/workbooks/{}", p.workbook))
        .json(&actions)
        .send()
        .await?;
    anyhow::ensure!(
        patched.status().is_success(),
        "actions: {}",
        patched.text().await?
    );

    let started = Instant::now();
    let job: Value = api(reqwest::Method::POST, "/jobs")
        .json(
            &json!({"type": "workbook", "operation": "submit", "source": p.workbook, "trigger": "immediate"}),
        )
        .send()
        .await?
        .json()
        .await?;
    let job_id = job["data"]["id"].as_str().expect("job id").to_string();
    let finished = loop {
        if let Some(at) = *shared.done.lock().expect("lock") {
            break at;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "the delivery did not end"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let whole = finished - started;
    let lines = *shared.lines.lock().expect("lock");
    anyhow::ensure!(
        lines == rows as u64,
        "the receiver read {lines} records, not {rows}"
    );

    // Freezing: the job's claim to its submission row.
    let pool = wharf::app::prepare_database(&p.settings)?;
    let freeze = {
        use diesel::prelude::*;
        use wharf::db::schema::{jobs, submissions};
        let mut conn = pool.get()?;
        let started_at: Option<chrono::NaiveDateTime> = jobs::table
            .filter(jobs::id.eq(&job_id))
            .select(jobs::started_at)
            .first(&mut conn)?;
        let frozen_at: chrono::NaiveDateTime = submissions::table
            .filter(submissions::job_id.eq(&job_id))
            .select(submissions::created_at)
            .first(&mut conn)?;
        (frozen_at - started_at.expect("started")).to_std()?
    };
    println!(
        "freeze: {:.2} s ({:.2}x sqlite3 CSV; goal <= 1.5x)",
        freeze.as_secs_f64(),
        freeze.as_secs_f64() / reference.as_secs_f64()
    );
    println!(
        "whole delivery ({format} pulled): {:.2} s ({:.2}x sqlite3 CSV; goal <= 3x)",
        whole.as_secs_f64(),
        whole.as_secs_f64() / reference.as_secs_f64()
    );
    Ok(())
}

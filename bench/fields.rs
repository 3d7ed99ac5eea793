//! Field changes on a big sheet (issue 16, probe 57b): a field put first, then removed, on
//! the 10-field sheet of N records (default 1,000,000) once its search index and sort
//! indexes are built, while a client saves a cell every 100 ms. Reports each change's
//! request time, when its re-check job completed, and the longest a save waited meanwhile
//! (saves wait for the change's transaction; past 10 s they answer 503).
//!
//! Run: `cargo build --release --bench fields`, then `RUST_LOG=warn target/release/deps/fields-*`
//! (`BENCH_ROWS=100000` for a quick run; `BENCH_DB=postgres` on PostgreSQL).

#[path = "common.rs"]
mod common;

use common::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    wharf::memory::no_huge_pages();
    let rows = bench_rows();
    let p = prepare(rows).await?;
    let started = Instant::now();
    indexes_built(&p).await?;
    println!("indexes built after {:.1} s", started.elapsed().as_secs_f64());
    let (base, key, sheet) = (p.base.clone(), p.key.clone(), p.sheet.clone());
    let first: Value = p
        .client
        .get(format!("{base}/sheets/{sheet}/records?pageSize=1"))
        .bearer_auth(&key)
        .send()
        .await?
        .json()
        .await?;
    let record = first["data"]["records"][0]["id"].clone();

    // A person saving one cell every 100 ms for the whole run: the longest wait, and failures.
    let stop = Arc::new(AtomicBool::new(false));
    let saver = {
        let (client, base, key, sheet, stop) = (
            p.client.clone(),
            base.clone(),
            key.clone(),
            sheet.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let (mut longest, mut failed, mut n) = (Duration::ZERO, 0, 0u64);
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let t = Instant::now();
                let answer = client
                    .put(format!("{base}/sheets/{sheet}/records"))
                    .bearer_auth(&key)
                    .json(&json!([{"id": record, "values": {"notes": {"value": format!("save {n}")}}}]))
                    .send()
                    .await;
                longest = longest.max(t.elapsed());
                if !answer.is_ok_and(|a| a.status().is_success()) {
                    failed += 1;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (longest, failed, n)
        })
    };

    println!("\n| change | request | its re-check complete after |");
    println!("| --- | --- | --- |");
    let steps: [(&str, reqwest::RequestBuilder); 2] = [
        (
            "a string field put first (`insertAtIndex=0`)",
            p.client
                .post(format!("{base}/sheets/{sheet}/fields?insertAtIndex=0"))
                .json(&json!({"key": "lead", "type": "string"})),
        ),
        (
            "that field removed",
            p.client.delete(format!("{base}/sheets/{sheet}/fields/lead")),
        ),
    ];
    for (name, request) in steps {
        let t = Instant::now();
        let answer = request.bearer_auth(&key).send().await?;
        let status = answer.status();
        let body: Value = answer.json().await?;
        anyhow::ensure!(status.is_success(), "{name}: {status} {body}");
        let asked = t.elapsed();
        // Every re-check of the sheet complete (the change queued one).
        loop {
            let jobs: Value = p
                .client
                .get(format!("{base}/jobs?pageSize=100"))
                .bearer_auth(&key)
                .send()
                .await?
                .json()
                .await?;
            let rechecks: Vec<&Value> = jobs["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|j| j["operation"] == "recheck-records" && j["source"] == sheet.as_str())
                .collect();
            if let Some(j) = rechecks
                .iter()
                .find(|j| j["status"] == "failed" || j["status"] == "canceled")
            {
                anyhow::bail!("{name}: {j}");
            }
            if !rechecks.is_empty() && rechecks.iter().all(|j| j["status"] == "complete") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!(
            "| {name} | {:.2} s | {:.2} s |",
            asked.as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
    }
    stop.store(true, Ordering::Relaxed);
    let (longest, failed, saves) = saver.await?;
    println!(
        "\nsaves meanwhile: {saves}, failed: {failed}, longest wait: {:.2} s",
        longest.as_secs_f64()
    );
    Ok(())
}

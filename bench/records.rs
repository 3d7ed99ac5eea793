//! Issue 2's figures, side by side in one run:
//! - insert N records (default 1,000,000) into a typed 10-field sheet through
//!   `POST /v1/sheets/{id}/records` in batches of 10,000, on SQLite, validated;
//! - `sqlite3 .import` of the same rows as CSV into a fresh database;
//! - p95 of reading 100-record pages with counts: first, last, errors, sorted by a field,
//!   searched; first 5 s after the load ends (its indexes still being built), then once
//!   every index is built.
//!
//! Run: `cargo bench --bench records` (BENCH_ROWS=100000 for a quick run).

#[path = "common.rs"]
mod common;

use common::*;
use std::time::{Duration, Instant};

// The same allocator as the `wharf` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    wharf::memory::no_huge_pages();
    let rows = bench_rows();
    let p = prepare(rows).await?;
    let (base, key, sheet, client) = (&p.base, &p.key, &p.sheet, &p.client);
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
            "search one field, common value",
            "pageSize=100&searchField=last_name&searchValue=Knuth&includeCounts=true".to_string(),
        ),
        (
            "search all fields, a value that occurs once",
            format!(
                "pageSize=100&searchValue=user{}@example.com&includeCounts=true",
                rows / 2
            ),
        ),
        (
            "search one field, a value that occurs once",
            format!(
                "pageSize=100&searchField=email&searchValue=user{}@example.com&includeCounts=true",
                rows / 2
            ),
        ),
        (
            "search a term that matches nothing",
            "pageSize=100&searchValue=zzzq&includeCounts=true".to_string(),
        ),
        (
            "errors in one field (filterField)",
            "pageSize=100&filterField=age&includeCounts=true".to_string(),
        ),
    ];
    // Issue 17: the same reads 5 s after the load ends, while the indexes the load's end
    // started are still being built: each case's first read and 5 more.
    let load_ended = Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!(
        "\n5 s after the load ended (indexes being built):\n\n| page (100 records, with counts) | at s | first ms | p50 ms | max ms |\n| --- | --- | --- | --- | --- |"
    );
    for (name, query) in &cases {
        let url = format!("{base}/sheets/{sheet}/records?{query}");
        let at = load_ended.elapsed();
        let mut samples: Vec<Duration> = Vec::new();
        for _ in 0..6 {
            let t = Instant::now();
            let resp = client.get(&url).bearer_auth(key).send().await?;
            anyhow::ensure!(resp.status().is_success(), "{name}: {}", resp.text().await?);
            resp.bytes().await?;
            samples.push(t.elapsed());
        }
        let first = samples[0];
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} |",
            at.as_secs_f64(),
            ms(first),
            ms(percentile(&mut samples, 0.5)),
            ms(percentile(&mut samples, 1.0))
        );
    }
    // The first sort by a field and the first search ask for the sheet's indexes, built
    // in the background: ask, then wait for them before measuring.
    let started = Instant::now();
    for query in ["sortField=age", "sortField=city", "searchValue=warm"] {
        let url = format!("{base}/sheets/{sheet}/records?pageSize=1&{query}");
        client.get(url).bearer_auth(key).send().await?.bytes().await?;
    }
    let pool = wharf::app::prepare_database(&p.settings)?;
    let mut conn = pool.get()?;
    let sheet_seq = wharf::model::sheet::get(&mut conn, &wharf::ids::SheetId(sheet.clone()))?.seq;
    let ready = |conn: &mut wharf::db::AnyConnection| -> anyhow::Result<bool> {
        use wharf::model::record::{indexes::catalog_has, search_index};
        Ok(search_index::exists(conn, sheet_seq)?
            && catalog_has(conn, &format!("records_sort_{sheet_seq}_3"))?
            && catalog_has(conn, &format!("records_sort_{sheet_seq}_8"))?)
    };
    while !ready(&mut conn)? {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "indexes not built in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "sort and search indexes built in the background: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("\n| page (100 records, with counts) | p50 ms | p95 ms |\n| --- | --- | --- |");
    for (name, query) in cases {
        let url = format!("{base}/sheets/{sheet}/records?{query}");
        let first = client.get(&url).bearer_auth(key).send().await?; // warms caches and creates sort indexes
        anyhow::ensure!(first.status().is_success(), "{name}: {}", first.text().await?);
        first.bytes().await?;
        let mut samples: Vec<Duration> = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            let resp = client.get(&url).bearer_auth(key).send().await?;
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

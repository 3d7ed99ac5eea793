//! Issue 3's figures, side by side in one run, on a sheet of N records (default 1,000,000):
//! the grid page (100 rows, with counts) for the first page, the last page, filter Error,
//! a one-field search and a sort; saving a cell; and Datasette serving the same rows from
//! SQLite (its table JSON with the count, and with `_nocount=1`).
//!
//! Run: `bench/grid.sh` (installs Datasette into bench/.venv, then `cargo bench --bench grid`).

#[path = "common.rs"]
mod common;

use common::*;
use std::time::{Duration, Instant};
use wharf::app::prepare_database;
use wharf::model::{session, user};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SAMPLES: usize = 100;

async fn sample(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, String)],
) -> anyhow::Result<(f64, f64)> {
    let get = || {
        let mut r = client.get(url);
        for (k, v) in headers {
            r = r.header(*k, v);
        }
        r.send()
    };
    let first = get().await?; // warms caches and creates sort indexes
    anyhow::ensure!(first.status().is_success(), "{url}: {}", first.status());
    first.bytes().await?;
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let t = Instant::now();
        let resp = get().await?;
        anyhow::ensure!(resp.status().is_success(), "{url}: {}", resp.status());
        resp.bytes().await?;
        samples.push(t.elapsed());
    }
    Ok((
        ms(percentile(&mut samples, 0.5)),
        ms(percentile(&mut samples, 0.95)),
    ))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    wharf::memory::no_huge_pages();
    let rows = bench_rows();
    let datasette = std::env::var("DATASETTE").unwrap_or_else(|_| "bench/.venv/bin/datasette".into());
    let p = prepare(rows).await?;

    // A signed-in person: a session cookie and its CSRF token.
    let (cookie, csrf) = {
        let pool = prepare_database(&p.settings)?;
        let mut conn = pool.get()?;
        let hash = wharf::auth::password::hash("bench password 123")?;
        let u =
            user::create(&mut conn, "bench@example.com", &hash, true).map_err(|e| anyhow::anyhow!("{e}"))?;
        let token = session::create(&mut conn, &u.id)?;
        let (s, _) = session::find(&mut conn, &token)?.expect("session");
        (format!("wharf_session={token}"), s.csrf_token)
    };
    let origin = p.base.trim_end_matches("/v1").to_string();
    let grid = format!("{origin}/workbooks/{}?sheet={}", p.workbook, p.sheet);
    let wharf_cases = [
        ("first page", grid.clone()),
        ("last page", format!("{grid}&last=true")),
        ("filter Error", format!("{grid}&filter=error")),
        ("search one field", format!("{grid}&q=Knuth&qf=last_name")),
        ("sort by a field", format!("{grid}&sort=age")),
    ];

    // Datasette on the same rows, imported by sqlite3 into its own file.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut ds = std::process::Command::new(&datasette)
        .args([
            "serve",
            p.import_db.to_str().expect("path"),
            "--port",
            &port.to_string(),
            "--setting",
            "sql_time_limit_ms",
            "60000",
            "--setting",
            "suggest_facets",
            "off",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| anyhow::anyhow!("starting {datasette} (run bench/grid.sh, or set DATASETTE): {e}"))?;
    let ds_base = format!("http://127.0.0.1:{port}/import/people.json?_size=100");
    for _ in 0..100 {
        if p.client.get(&ds_base).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let near_end = rows.saturating_sub(100);
    let ds_cases = [
        ("first page", ds_base.clone()),
        ("last page", format!("{ds_base}&_next={near_end}")),
        ("filter Error", format!("{ds_base}&age__exact=n/a")),
        ("search one field", format!("{ds_base}&last_name__contains=Knuth")),
        ("sort by a field", format!("{ds_base}&_sort=age")),
    ];

    let auth = [("cookie", cookie.clone())];
    println!("\n| grid page (100 rows, with counts) | Wharf p50 ms | Wharf p95 ms | Datasette p95 ms (count) | Datasette p95 ms (_nocount=1) | vs count | vs _nocount |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for ((name, wurl), (_, durl)) in wharf_cases.iter().zip(ds_cases.iter()) {
        let (w50, w95) = sample(&p.client, wurl, &auth).await?;
        let (_, d95) = sample(&p.client, durl, &[]).await?;
        let (_, n95) = sample(&p.client, &format!("{durl}&_nocount=1"), &[]).await?;
        println!(
            "| {name} | {w50:.1} | {w95:.1} | {d95:.1} | {n95:.1} | {:.0}x | {:.1}x |",
            d95 / w95,
            n95 / w95
        );
    }
    let _ = ds.kill();

    // Saving a cell, as the grid does (htmx PUT with the CSRF header).
    let mut samples = Vec::new();
    for i in 0..200u64 {
        let id = 1 + (i * 4_999) % rows as u64;
        let t = Instant::now();
        let resp = p
            .client
            .put(format!("{origin}/grid/{}/records/us_rc_{id}", p.sheet))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .header("hx-request", "true")
            .form(&[("field", "age"), ("value", &(20 + i % 50).to_string())])
            .send()
            .await?;
        anyhow::ensure!(resp.status().is_success(), "save failed: {}", resp.status());
        resp.bytes().await?;
        samples.push(t.elapsed());
    }
    println!(
        "\nsave a cell: p50 {:.1} ms, p95 {:.1} ms ({} saves)",
        ms(percentile(&mut samples, 0.5)),
        ms(percentile(&mut samples, 0.95)),
        samples.len()
    );
    Ok(())
}

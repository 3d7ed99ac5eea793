//! Hardening item 0: many API clients writing one sheet at once. Each client loops for
//! the run's length: insert 100 records, update 10 of them, read a page with counts,
//! delete 10. Reports requests, failures and per-operation p50/p95, then checks that the
//! kept counts equal the records that are there. SQLite, and PostgreSQL when
//! `BENCH_PG_URL` names a server whose user may create databases (or when
//! `scripts/pg-test-cluster.sh` can start one).
//!
//! Run: `cargo bench --bench writers` (BENCH_CLIENTS=32, BENCH_SECONDS=20 by default).

#[path = "common.rs"]
mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use wharf::app::{prepare_database, Application};
use wharf::model::{api_key, environment};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let clients = env_num("BENCH_CLIENTS", 32) as usize;
    let seconds = env_num("BENCH_SECONDS", 20);
    let dir = tempfile::Builder::new().prefix("wharf-writers").tempdir()?;
    println!("{clients} clients for {seconds} s each backend\n");
    println!("| backend | requests | failed | insert p50/p95 ms | update p50/p95 ms | read p50/p95 ms | delete p50/p95 ms | counts |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let sqlite = format!("sqlite://{}", dir.path().join("wharf.db").display());
    run("SQLite", &sqlite, dir.path(), clients, seconds).await?;
    match bench_postgres(dir.path(), "wharf_writers") {
        Ok(url) => run("PostgreSQL", &url, dir.path(), clients, seconds).await?,
        Err(e) => println!("PostgreSQL skipped: {e}"),
    }
    Ok(())
}

struct Client {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Client {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value, Duration) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let t = Instant::now();
        let (status, json) = match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                (status, resp.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        };
        (status, json, t.elapsed())
    }
}

#[derive(Default)]
struct Tally {
    samples: BTreeMap<&'static str, Vec<Duration>>,
    failed: usize,
    first_failure: Option<String>,
}

impl Tally {
    fn add(&mut self, op: &'static str, status: u16, body: &Value, took: Duration) {
        self.samples.entry(op).or_default().push(took);
        if status != 200 {
            self.failed += 1;
            self.first_failure
                .get_or_insert_with(|| format!("{op}: {status} {body}"));
        }
    }
}

async fn client_loop(c: std::sync::Arc<Client>, sheet: String, n: usize, until: Instant) -> Tally {
    let path = format!("/sheets/{sheet}/records");
    let mut t = Tally::default();
    let mut round = 0;
    while Instant::now() < until {
        round += 1;
        let batch: Vec<Value> = (0..100)
            .map(|i| {
                let cells = row(n * 1_000_000 + round * 100 + i);
                let obj: serde_json::Map<String, Value> = FIELDS
                    .iter()
                    .zip(cells)
                    .map(|(k, v)| (k.to_string(), json!({ "value": v })))
                    .collect();
                Value::Object(obj)
            })
            .collect();
        let (s, body, took) = c.call(reqwest::Method::POST, &path, Some(json!(batch))).await;
        t.add("insert", s, &body, took);
        let ids: Vec<String> = body["data"]["records"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| r["id"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if ids.len() < 20 {
            continue;
        }
        let updates: Vec<Value> = ids[..10]
            .iter()
            .map(|id| json!({"id": id, "values": {"city": {"value": format!("c{n}-{round}")}}}))
            .collect();
        let (s, body, took) = c.call(reqwest::Method::PUT, &path, Some(json!(updates))).await;
        t.add("update", s, &body, took);
        let (s, body, took) = c
            .call(
                reqwest::Method::GET,
                &format!("{path}?pageSize=100&includeCounts=true"),
                None,
            )
            .await;
        t.add("read", s, &body, took);
        let (s, body, took) = c
            .call(
                reqwest::Method::DELETE,
                &format!("{path}?ids={}", ids[10..20].join(",")),
                None,
            )
            .await;
        t.add("delete", s, &body, took);
    }
    t
}

async fn run(
    name: &str,
    url: &str,
    dir: &std::path::Path,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let settings = bench_settings(url.to_string(), dir);
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
    let c = std::sync::Arc::new(Client {
        base,
        key,
        http: reqwest::Client::new(),
    });
    let (_, config, _) = c
        .call(reqwest::Method::POST, "/space-configs", Some(blueprint()))
        .await;
    let (_, space, _) = c
        .call(
            reqwest::Method::POST,
            "/spaces",
            Some(json!({"spaceConfigId": config["data"]["id"]})),
        )
        .await;
    let space_id = space["data"]["id"].as_str().expect("space").to_string();
    let (_, wbs, _) = c
        .call(
            reqwest::Method::GET,
            &format!("/workbooks?spaceId={space_id}"),
            None,
        )
        .await;
    let sheet = wbs["data"][0]["sheets"][0]["id"]
        .as_str()
        .expect("sheet")
        .to_string();

    let until = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|n| tokio::spawn(client_loop(c.clone(), sheet.clone(), n, until)))
        .collect();
    let mut all = Tally::default();
    for task in tasks {
        let t = task.await?;
        all.failed += t.failed;
        if all.first_failure.is_none() {
            all.first_failure = t.first_failure;
        }
        for (op, s) in t.samples {
            all.samples.entry(op).or_default().extend(s);
        }
    }
    let requests: usize = all.samples.values().map(Vec::len).sum();
    let mut cols = Vec::new();
    for op in ["insert", "update", "read", "delete"] {
        let mut s = all.samples.remove(op).unwrap_or_default();
        cols.push(if s.is_empty() {
            "-".to_string()
        } else {
            format!(
                "{:.0} / {:.0}",
                ms(percentile(&mut s, 0.5)),
                ms(percentile(&mut s, 0.95))
            )
        });
    }
    let counts = check_counts(&c, &sheet).await?;
    println!(
        "| {name} | {requests} | {} | {} | {counts} |",
        all.failed,
        cols.join(" | ")
    );
    if let Some(f) = all.first_failure {
        println!("first failure: {f}");
    }
    Ok(())
}

/// "exact" when the kept total and error counts equal the records that are there.
async fn check_counts(c: &Client, sheet: &str) -> anyhow::Result<String> {
    let (mut total, mut errors) = (0i64, 0i64);
    for page in 1.. {
        let path = format!("/sheets/{sheet}/records?pageSize=10000&pageNumber={page}");
        let (_, body, _) = c.call(reqwest::Method::GET, &path, None).await;
        let records = body["data"]["records"].as_array().cloned().unwrap_or_default();
        if records.is_empty() {
            break;
        }
        total += records.len() as i64;
        errors += records.iter().filter(|r| r["valid"] == false).count() as i64;
    }
    let (_, counts, _) = c
        .call(reqwest::Method::GET, &format!("/sheets/{sheet}/counts"), None)
        .await;
    let kept = &counts["data"]["counts"];
    Ok(if kept["total"] == total && kept["error"] == errors {
        format!("exact ({total} records)")
    } else {
        format!("WRONG: kept {kept}, there are {total} with {errors} errors")
    })
}

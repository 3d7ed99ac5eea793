//! Issue 14's figure: webhook deliveries to a receiver on this machine (127.0.0.1), on
//! SQLite then PostgreSQL. Events are custom events (`POST /v1/events`), each delivered to
//! one webhook; the receiver answers 200 at once.
//!
//! - backlog: `BENCH_EVENTS` (5,000) events wait (the receiver holds its first requests),
//!   then the receiver opens: events delivered per second until the last arrives;
//! - live: events created at `BENCH_RATE` (1,000) per second for `BENCH_SECONDS` (10):
//!   the latency from each event's commit (its `createdAt`, in the delivered JSON) to its
//!   arrival at the receiver (the receiver's clock; same machine), p50/p95/p99.
//!
//! Run: `cargo bench --bench webhooks`.

#[path = "common.rs"]
mod common;

use actix_web::{web, App, HttpResponse, HttpServer};
use common::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
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

/// One request the receiver answered: the event's id and `createdAt`, and when it came.
struct Arrival {
    event_id: String,
    created_at: String,
    at: chrono::DateTime<chrono::Utc>,
    seen: Instant,
}

struct Shared {
    gate: tokio::sync::watch::Receiver<bool>,
    got: Mutex<Vec<Arrival>>,
}

struct Receiver {
    url: String,
    gate: tokio::sync::watch::Sender<bool>,
    shared: Arc<Shared>,
}

impl Receiver {
    /// A receiver on its own thread and runtime, so it does not share Wharf's.
    fn start() -> anyhow::Result<Receiver> {
        let (gate, gate_rx) = tokio::sync::watch::channel(true);
        let shared = Arc::new(Shared {
            gate: gate_rx,
            got: Mutex::default(),
        });
        let data = web::Data::from(shared.clone());
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
        let addr = rx.recv()?;
        Ok(Receiver {
            url: format!("http://{addr}/hook"),
            gate,
            shared,
        })
    }

    fn take(&self) -> Vec<Arrival> {
        std::mem::take(&mut *self.shared.got.lock().expect("lock"))
    }

    fn count(&self) -> usize {
        self.shared.got.lock().expect("lock").len()
    }
}

async fn receive(body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let mut gate = shared.gate.clone();
    let _ = gate.wait_for(|open| *open).await;
    let at = chrono::Utc::now();
    let seen = Instant::now();
    let event: Value = serde_json::from_slice(&body).unwrap_or_default();
    shared.got.lock().expect("lock").push(Arrival {
        event_id: event["id"].as_str().unwrap_or_default().to_string(),
        created_at: event["createdAt"].as_str().unwrap_or_default().to_string(),
        at,
        seen,
    });
    HttpResponse::Ok().body("ok")
}

struct Api {
    client: reqwest::Client,
    base: String,
    key: String,
    env_id: String,
}

impl Api {
    async fn event(&self, n: usize) -> anyhow::Result<()> {
        let resp = self
            .client
            .post(format!("{}/events", self.base))
            .bearer_auth(&self.key)
            .json(&json!({
                "topic": "space:updated", "domain": "space",
                "context": {"environmentId": self.env_id}, "payload": {"n": n}
            }))
            .send()
            .await?;
        anyhow::ensure!(resp.status().is_success(), "event: {}", resp.text().await?);
        Ok(())
    }
}

/// Waits until `n` distinct events arrived; returns them.
async fn wait_for(receiver: &Receiver, n: usize, limit: Duration) -> anyhow::Result<Vec<Arrival>> {
    let started = Instant::now();
    while receiver.count() < n {
        anyhow::ensure!(
            started.elapsed() < limit,
            "only {} of {n} deliveries arrived",
            receiver.count()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let got = receiver.take();
    let distinct: HashSet<&str> = got.iter().map(|a| a.event_id.as_str()).collect();
    anyhow::ensure!(distinct.len() == n, "{} distinct of {n}", distinct.len());
    Ok(got)
}

async fn run(name: &str, database_url: &str, dir: &std::path::Path) -> anyhow::Result<()> {
    let settings = bench_settings(database_url.to_string(), &dir.join(name));
    std::fs::create_dir_all(&settings.data_dir)?;
    let app = Application::build(settings.clone())?;
    let base = format!("http://127.0.0.1:{}/v1", app.port());
    tokio::spawn(app.run_until_stopped());
    let (key, env_id) = {
        let pool = prepare_database(&settings)?;
        let mut conn = pool.get()?;
        let env = environment::find_by_name(&mut conn, "development")?.expect("development");
        let key = api_key::create(&mut conn, &env.id)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .1;
        (key, env.id.to_string())
    };
    let api = Arc::new(Api {
        client: reqwest::Client::new(),
        base,
        key,
        env_id,
    });
    let receiver = Receiver::start()?;
    let resp = api
        .client
        .post(format!("{}/webhooks", api.base))
        .bearer_auth(&api.key)
        .json(&json!({"environmentId": api.env_id, "url": receiver.url, "topics": ["space:updated"]}))
        .send()
        .await?;
    anyhow::ensure!(resp.status().is_success(), "webhook: {}", resp.text().await?);

    // Backlog: all wait, then the receiver opens.
    let events = env_num("BENCH_EVENTS", 5000) as usize;
    receiver.gate.send_replace(false);
    let created = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in 0..8 {
        let api = api.clone();
        tasks.spawn(async move {
            for n in (chunk..events).step_by(8) {
                api.event(n).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let created = created.elapsed();
    let opened = Instant::now();
    receiver.gate.send_replace(true);
    let got = wait_for(&receiver, events, Duration::from_secs(300)).await?;
    let last = got.iter().map(|a| a.seen).max().expect("arrivals");
    let drain = last.duration_since(opened);
    let backlog_rate = events as f64 / drain.as_secs_f64();

    // Live: a steady stream of events, each timed from its commit to its arrival.
    let rate = env_num("BENCH_RATE", 1000) as usize;
    let seconds = env_num("BENCH_SECONDS", 10) as usize;
    let total = rate * seconds;
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut sent = 0;
    let mut tasks = tokio::task::JoinSet::new();
    while sent < total {
        tick.tick().await;
        let due = (started.elapsed().as_secs_f64() * rate as f64) as usize;
        while sent < due.min(total) {
            let api = api.clone();
            tasks.spawn(async move { api.event(sent).await });
            sent += 1;
        }
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let sending = started.elapsed();
    let got = wait_for(&receiver, total, Duration::from_secs(300)).await?;
    let last = got.iter().map(|a| a.seen).max().expect("arrivals");
    let live_rate = total as f64 / last.duration_since(started).as_secs_f64();
    let mut latencies: Vec<Duration> = got
        .iter()
        .map(|a| {
            let created = chrono::DateTime::parse_from_rfc3339(&a.created_at)
                .map(|t| t.with_timezone(&chrono::Utc))
                .unwrap_or(a.at);
            (a.at - created).to_std().unwrap_or_default()
        })
        .collect();
    println!(
        "| {name} | {events} in {:.1} s, then {backlog_rate:.0} events/s | {total} at {:.0}/s: {live_rate:.0} events/s | {:.1} / {:.1} / {:.1} |",
        created.as_secs_f64(),
        total as f64 / sending.as_secs_f64(),
        ms(percentile(&mut latencies, 0.50)),
        ms(percentile(&mut latencies, 0.95)),
        ms(percentile(&mut latencies, 0.99)),
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::Builder::new().prefix("wharf-webhooks").tempdir()?;
    println!("| backend | backlog: created, then delivered | live: created, delivered | commit to arrival p50 / p95 / p99 ms |");
    println!("| --- | --- | --- | --- |");
    let sqlite = format!("sqlite://{}", dir.path().join("wharf.db").display());
    run("SQLite", &sqlite, dir.path()).await?;
    match bench_postgres(dir.path(), "wharf_webhooks") {
        Ok(url) => run("PostgreSQL", &url, dir.path()).await?,
        Err(e) => println!("PostgreSQL skipped: {e}"),
    }
    Ok(())
}

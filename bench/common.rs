//! Shared by the benchmarks: the 10-field sheet, its generated rows, timing helpers.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::Write;
use std::time::{Duration, Instant};
use wharf::app::{prepare_database, Application};
use wharf::model::{api_key, environment};
use wharf::settings::Settings;

const BATCH: usize = 10_000;

pub const FIELDS: [&str; 10] = [
    "first_name",
    "last_name",
    "email",
    "age",
    "salary",
    "active",
    "joined",
    "tier",
    "city",
    "notes",
];

/// How many rows a benchmark runs on: `BENCH_ROWS`, or 1,000,000.
pub fn bench_rows() -> usize {
    std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// The typed 10-field sheet the benchmarks fill.
pub fn blueprint() -> Value {
    json!({
        "name": "Bench", "slug": "bench",
        "workbooks": [{"name": "Bench", "sheets": [{"name": "People", "slug": "people", "fields": [
            {"key": "first_name", "type": "string", "label": "First name"},
            {"key": "last_name", "type": "string", "label": "Last name"},
            {"key": "email", "type": "string", "label": "Email", "constraints": [{"type": "required"}]},
            {"key": "age", "type": "number", "label": "Age"},
            {"key": "salary", "type": "number", "label": "Salary"},
            {"key": "active", "type": "boolean", "label": "Active"},
            {"key": "joined", "type": "date", "label": "Joined"},
            {"key": "tier", "type": "enum", "label": "Tier", "config": {"options": [
                {"value": "gold", "label": "Gold"}, {"value": "silver", "label": "Silver"}, {"value": "bronze", "label": "Bronze"}]}},
            {"key": "city", "type": "string", "label": "City"},
            {"key": "notes", "type": "string", "label": "Notes"}
        ]}]}]
    })
}

const FIRST: [&str; 8] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken",
];
const LAST: [&str; 8] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
];
const CITIES: [&str; 6] = ["Lisbon", "Oslo", "Lagos", "Lima", "Osaka", "Perth"];
const TIERS: [&str; 3] = ["gold", "Silver", "bronze"];

/// Row `i` as text cells; one row in 20 has an age that is not a number.
pub fn row(i: usize) -> [String; 10] {
    let h = i.wrapping_mul(2654435761) % 1_000_003;
    [
        FIRST[i % 8].to_string(),
        LAST[h % 8].to_string(),
        format!("user{i}@example.com"),
        if i % 20 == 7 {
            "n/a".to_string()
        } else {
            (18 + h % 60).to_string()
        },
        format!("{}.{:02}", 20_000 + h % 90_000, h % 100),
        if h.is_multiple_of(2) {
            "yes".into()
        } else {
            "no".into()
        },
        format!("20{:02}-{:02}-{:02}", 10 + h % 15, 1 + h % 12, 1 + h % 28),
        TIERS[h % 3].to_string(),
        CITIES[h % 6].to_string(),
        format!("note {h}"),
    ]
}

/// Rows `start..end` as the body of `POST /v1/sheets/{id}/records`.
pub fn batch_body(start: usize, end: usize) -> Vec<u8> {
    let records: Vec<Value> = (start..end)
        .map(|i| {
            let cells = row(i);
            let obj: serde_json::Map<String, Value> = FIELDS
                .iter()
                .zip(cells)
                .map(|(k, v)| (k.to_string(), json!({ "value": v })))
                .collect();
            Value::Object(obj)
        })
        .collect();
    serde_json::to_vec(&records).expect("serialize")
}

pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A running Wharf on a fresh SQLite file whose 10-field sheet holds `rows` records loaded
/// through the API, and the same rows imported by `sqlite3 .import` into `import_db`.
pub struct Prepared {
    pub rows: usize,
    pub base: String,
    pub key: String,
    pub sheet: String,
    pub workbook: String,
    pub settings: Settings,
    pub import_db: std::path::PathBuf,
    pub import_time: Duration,
    pub insert_time: Duration,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
}

/// Which database a benchmark runs Wharf on; `BENCH_DB=postgres` picks PostgreSQL
/// (`BENCH_PG_URL`, or a throwaway cluster started by `scripts/pg-test-cluster.sh`).
pub fn bench_on_postgres() -> bool {
    std::env::var("BENCH_DB").is_ok_and(|v| v == "postgres")
}

/// An admin URL of a PostgreSQL server for the benchmarks.
pub fn postgres_admin_url(dir: &std::path::Path) -> anyhow::Result<String> {
    if let Ok(url) = std::env::var("BENCH_PG_URL") {
        return Ok(url);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pg-test-cluster.sh");
    let out = std::process::Command::new(script)
        .arg(dir.join("pg"))
        .arg(std::process::id().to_string())
        .output()?;
    anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

/// A fresh database named `name` on the server; returns its URL.
pub fn fresh_postgres_database(admin: &str, name: &str) -> anyhow::Result<String> {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let mut conn = diesel::PgConnection::establish(admin)?;
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))?;
    conn.batch_execute(&format!("CREATE DATABASE {name}"))?;
    Ok(format!("{}/{name}", admin.rsplit_once('/').expect("url").0))
}

/// Settings for a benchmark's own Wharf on `database_url`, storing under `dir`.
pub fn bench_settings(database_url: String, dir: &std::path::Path) -> Settings {
    Settings {
        database_url,
        data_dir: dir.to_path_buf(),
        bind: "127.0.0.1:0".parse().expect("address"),
        base_url: "http://127.0.0.1".into(),
        pool_size: 8,
        max_upload_mb: 4096,
        smtp_url: None,
        mail_from: wharf::settings::DEFAULT_MAIL_FROM.into(),
        guest_link_hours: 24,
        mail_retry_seconds: 60,
        keep_alive_seconds: 75,
        read_budget: std::time::Duration::from_secs(10),
        job_workers: 2,
        event_retention_days: 30,
        webhook_private: true,
        job_ack_seconds: 300,
        cron: false,
        storage: None,
        index_from_records: 20_000,
        extract: None,
        trusted_proxies: Vec::new(),
    }
}

/// A fresh database `name` on `BENCH_PG_URL`'s server, or on a throwaway cluster.
pub fn bench_postgres(dir: &std::path::Path, name: &str) -> anyhow::Result<String> {
    fresh_postgres_database(&postgres_admin_url(dir)?, name)
}

/// The reference loader on SQLite: `sqlite3 .import` of the CSV into a fresh database file.
pub fn sqlite_import(db: &std::path::Path, csv_path: &std::path::Path) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut child = std::process::Command::new("sqlite3")
        .arg(db)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("sqlite3 is needed for the reference (apt-get install sqlite3): {e}"))?;
    writeln!(
        child.stdin.take().expect("stdin"),
        "PRAGMA journal_mode=WAL;\n.mode csv\n.import {} people",
        csv_path.display()
    )?;
    anyhow::ensure!(child.wait()?.success(), "sqlite3 .import failed");
    Ok(started.elapsed())
}

/// The reference loader: `psql \copy` of the CSV into a fresh table of text columns.
pub fn psql_copy(admin: &str, csv_path: &std::path::Path) -> anyhow::Result<Duration> {
    let url = fresh_postgres_database(admin, "bench_copy")?;
    let columns: Vec<String> = FIELDS.iter().map(|f| format!("{f} text")).collect();
    let create = format!("CREATE TABLE people ({})", columns.join(", "));
    let status = std::process::Command::new("psql")
        .arg(&url)
        .arg("-qc")
        .arg(&create)
        .status()?;
    anyhow::ensure!(status.success(), "psql create table failed");
    let started = Instant::now();
    let copy = format!(
        "\\copy people FROM '{}' WITH (FORMAT csv, HEADER true)",
        csv_path.display()
    );
    let status = std::process::Command::new("psql")
        .arg(&url)
        .arg("-qc")
        .arg(&copy)
        .status()?;
    anyhow::ensure!(status.success(), "psql \\copy failed");
    Ok(started.elapsed())
}

pub async fn prepare(rows: usize) -> anyhow::Result<Prepared> {
    let dir = tempfile::Builder::new().prefix("wharf-bench").tempdir()?;
    let postgres = bench_on_postgres();
    println!(
        "rows: {rows}, batch: {BATCH}, database: {}, dir: {}",
        if postgres { "PostgreSQL" } else { "SQLite" },
        dir.path().display()
    );

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
    let pg_admin = if postgres {
        Some(postgres_admin_url(dir.path())?)
    } else {
        None
    };
    let copy_time = match &pg_admin {
        Some(admin) => {
            let t = psql_copy(admin, &csv_path)?;
            println!("psql \\copy: {:.2} s", t.as_secs_f64());
            Some(t)
        }
        None => None,
    };
    let import_time = sqlite_import(&import_db, &csv_path)?;
    println!("sqlite3 .import: {:.2} s", import_time.as_secs_f64());

    // Wharf on a fresh SQLite file.
    let database_url = match &pg_admin {
        Some(admin) => fresh_postgres_database(admin, &format!("bench_wharf_{}", std::process::id()))?,
        None => format!("sqlite://{}", dir.path().join("wharf.db").display()),
    };
    let settings = Settings {
        pool_size: 4,
        ..bench_settings(database_url, dir.path())
    };
    // `RUST_LOG=warn` shows what went wrong inside Wharf during a run.
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
    let wbs: Value = client
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
    let workbook = wbs["data"][0]["id"].as_str().expect("workbook id").to_string();

    let bodies: Vec<Vec<u8>> = (0..rows)
        .step_by(BATCH)
        .map(|s| batch_body(s, (s + BATCH).min(rows)))
        .collect();
    println!("inserting {rows} records");
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
    let (reference, reference_time) = match copy_time {
        Some(t) => ("psql \\copy", t),
        None => ("sqlite3 .import", import_time),
    };
    println!(
        "wharf insert: {:.2} s ({:.0} records/s), {:.2}x {reference}",
        insert_time.as_secs_f64(),
        rows as f64 / insert_time.as_secs_f64(),
        insert_time.as_secs_f64() / reference_time.as_secs_f64()
    );
    Ok(Prepared {
        rows,
        base,
        key,
        sheet,
        workbook,
        settings,
        import_db,
        import_time,
        insert_time,
        client,
        dir,
    })
}

/// Waits (30 minutes at most) until the sheet's search index and its 10 sort indexes, which
/// the load's end started, are built.
pub async fn indexes_built(p: &Prepared) -> anyhow::Result<()> {
    let started = Instant::now();
    let pool = prepare_database(&p.settings)?;
    let mut conn = pool.get()?;
    let seq = wharf::model::sheet::get(&mut conn, &wharf::ids::SheetId(p.sheet.clone()))?.seq;
    loop {
        let sorts = (0..10)
            .filter(|i| {
                wharf::model::record::indexes::catalog_has(&mut conn, &format!("records_sort_{seq}_{i}"))
                    .unwrap_or(false)
            })
            .count();
        if sorts == 10 && wharf::model::record::search_index::exists(&mut conn, seq)? {
            return Ok(());
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(1800), "indexes not built");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

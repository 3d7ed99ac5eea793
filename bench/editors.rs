//! Issue 9's figure: people editing one sheet together in the grid. `BENCH_EDITORS`
//! signed-in people (50) edit cells of one sheet over loopback for `BENCH_SECONDS` (30)
//! while `BENCH_STREAMS` grids (200) have the sheet's event stream open. Each edit is what
//! the grid does: open the cell's editor (which carries the record's version), then save
//! the cell with that version. Editors pick cells at random among `BENCH_RECORDS` (200)
//! records x 3 fields, so some edits meet someone else's newer change and are refused
//! (409), as the grid refuses them.
//!
//! Reported: accepted and refused saves, save p50/p95/p99, and then checked:
//! - no lost update: every accepted save is in the sheet's history exactly once and no
//!   refused one is, each cell's final value is its last accepted save, and every accepted
//!   save was made on a version that already held the cell's previous change (nobody
//!   overwrote a change they had not seen);
//! - every accepted save reached every open stream: each stream got exactly as many
//!   `changed` events as there were accepted saves (an event names no save, so a missed
//!   one shows as too few, unless an event for nothing made up for it; both are reported).
//!
//! `BENCH_THINK_MS` (0) pauses each editor between edits (0.5 to 1.5 times it, at random,
//! after a random start); 0 is a closed loop, the worst case. SQLite, then PostgreSQL as
//! in the other benchmarks.
//!
//! Run: `cargo bench --bench editors`.

#[path = "common.rs"]
mod common;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wharf::app::{prepare_database, Application};
use wharf::model::{api_key, environment, session, user};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EDITED: [&str; 3] = ["city", "notes", "first_name"];

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Plan {
    editors: usize,
    streams: usize,
    records: usize,
    seconds: u64,
    think: Duration,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    wharf::memory::no_huge_pages();
    let plan = Plan {
        editors: env_num("BENCH_EDITORS", 50) as usize,
        streams: env_num("BENCH_STREAMS", 200) as usize,
        records: env_num("BENCH_RECORDS", 200) as usize,
        seconds: env_num("BENCH_SECONDS", 30),
        think: Duration::from_millis(env_num("BENCH_THINK_MS", 0)),
    };
    let dir = tempfile::Builder::new().prefix("wharf-editors").tempdir()?;
    println!(
        "{} editors, {} open streams, {} records x {} fields, {} s, {} ms between an editor's edits\n",
        plan.editors,
        plan.streams,
        plan.records,
        EDITED.len(),
        plan.seconds,
        plan.think.as_millis()
    );
    println!("| backend | saves accepted | refused (409) | failed | saves/s | save p50 / p95 / p99 ms | lost updates | history | deliveries |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let sqlite = format!("sqlite://{}", dir.path().join("wharf.db").display());
    run("SQLite", &sqlite, dir.path(), &plan).await?;
    match bench_postgres(dir.path(), "wharf_editors") {
        Ok(url) => run("PostgreSQL", &url, dir.path(), &plan).await?,
        Err(e) => println!("PostgreSQL skipped: {e}"),
    }
    Ok(())
}

/// One accepted save: the cell, the value, and the version the editor saw.
struct Accepted {
    record: String,
    field: &'static str,
    value: String,
    base: i64,
}

#[derive(Default)]
struct EditorTally {
    accepted: Vec<Accepted>,
    /// Values of saves refused with 409: none may show in the history.
    refused: Vec<String>,
    failed: usize,
    first_failure: Option<String>,
    saves: Vec<Duration>,
}

/// A signed-in person: a session cookie and the page's CSRF token.
struct Person {
    cookie: String,
    csrf: String,
}

/// The text of `name="version" value="..."` in the editor's HTML.
fn version_in(html: &str) -> Option<i64> {
    let needle = "name=\"version\" value=\"";
    let start = html.find(needle)? + needle.len();
    html[start..start + html[start..].find('"')?].parse().ok()
}

#[allow(clippy::too_many_arguments)]
async fn editor(
    http: reqwest::Client,
    base: String,
    sheet: String,
    records: Arc<Vec<String>>,
    person: Person,
    n: usize,
    until: Instant,
    think: Duration,
) -> EditorTally {
    let mut t = EditorTally::default();
    let mut seq = 0usize;
    let mut rng = StdRng::seed_from_u64(n as u64 + 1);
    // People do not act in step: a random start, and pauses of half to one and a half times
    // the think time.
    let pause = |rng: &mut StdRng| think.mul_f64(rng.gen_range(0.5..1.5));
    if !think.is_zero() {
        tokio::time::sleep(think.mul_f64(rng.gen_range(0.0..1.0))).await;
    }
    while Instant::now() < until {
        seq += 1;
        let record = &records[rng.gen_range(0..records.len())];
        let field = EDITED[rng.gen_range(0..EDITED.len())];
        let opened = http
            .get(format!("{base}/grid/{sheet}/records/{record}/edit?field={field}"))
            .header("cookie", &person.cookie)
            .header("hx-request", "true")
            .send()
            .await;
        let html = match opened {
            Ok(r) if r.status().is_success() => r.text().await.unwrap_or_default(),
            Ok(r) => {
                t.failed += 1;
                t.first_failure
                    .get_or_insert_with(|| format!("opening the editor: {}", r.status()));
                continue;
            }
            Err(e) => {
                t.failed += 1;
                t.first_failure
                    .get_or_insert_with(|| format!("opening the editor: {e}"));
                continue;
            }
        };
        let Some(version) = version_in(&html) else {
            t.failed += 1;
            t.first_failure
                .get_or_insert_with(|| format!("no version in {html}"));
            continue;
        };
        let value = format!("e{n}-{seq}");
        let started = Instant::now();
        let saved = http
            .put(format!("{base}/grid/{sheet}/records/{record}"))
            .header("cookie", &person.cookie)
            .header("hx-request", "true")
            .header("x-wharf-client", format!("editor-{n}"))
            .form(&[
                ("csrf_token", person.csrf.as_str()),
                ("field", field),
                ("value", value.as_str()),
                ("version", version.to_string().as_str()),
            ])
            .send()
            .await;
        let status = match saved {
            Ok(r) => {
                let s = r.status().as_u16();
                let _ = r.bytes().await;
                s
            }
            Err(_) => 0,
        };
        t.saves.push(started.elapsed());
        match status {
            200 => t.accepted.push(Accepted {
                record: record.clone(),
                field,
                value,
                base: version,
            }),
            409 => t.refused.push(value),
            s => {
                t.failed += 1;
                t.first_failure.get_or_insert_with(|| format!("saving: {s}"));
            }
        }
        if !think.is_zero() {
            tokio::time::sleep(pause(&mut rng)).await;
        }
    }
    t
}

/// Counts the `changed` events of one open grid stream until `stop` is set.
async fn stream(
    http: reqwest::Client,
    url: String,
    cookie: String,
    opened: Arc<AtomicUsize>,
    stop: Arc<tokio::sync::Notify>,
) -> anyhow::Result<usize> {
    let resp = http.get(&url).header("cookie", cookie).send().await?;
    anyhow::ensure!(resp.status().is_success(), "stream: {}", resp.status());
    opened.fetch_add(1, Ordering::SeqCst);
    let mut resp = resp;
    let mut pending = Vec::new();
    let mut changed = 0;
    let stopped = stop.notified();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            chunk = resp.chunk() => {
                let Some(chunk) = chunk? else { break };
                pending.extend_from_slice(&chunk);
                while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
                    if pending[..end].starts_with(b"event: changed") {
                        changed += 1;
                    }
                    pending.drain(..end + 2);
                }
            }
            _ = &mut stopped => break,
        }
    }
    Ok(changed)
}

async fn run(name: &str, url: &str, dir: &std::path::Path, plan: &Plan) -> anyhow::Result<()> {
    let settings = bench_settings(url.to_string(), dir);
    let app = Application::build(settings.clone())?;
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let pool = prepare_database(&settings)?;
    let (key, cookies) = {
        let mut conn = pool.get()?;
        let env = environment::find_by_name(&mut conn, "development")?.expect("development");
        let key = api_key::create(&mut conn, &env.id)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .1;
        // Sessions made directly: signing 50 people in would time argon2, not editing.
        let mut cookies = Vec::new();
        for n in 0..plan.editors {
            let u = user::create(&mut conn, &format!("editor{n}@example.com"), "unused", n == 0)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let token = session::create(&mut conn, &u.id)?;
            cookies.push(format!("{}={token}", wharf::auth::SESSION_COOKIE));
        }
        (key, cookies)
    };
    let http = reqwest::Client::builder().pool_max_idle_per_host(512).build()?;
    let api = |m: reqwest::Method, p: &str| http.request(m, format!("{base}/v1{p}")).bearer_auth(&key);
    let config: Value = api(reqwest::Method::POST, "/space-configs")
        .json(&blueprint())
        .send()
        .await?
        .json()
        .await?;
    let space: Value = api(reqwest::Method::POST, "/spaces")
        .json(&json!({"spaceConfigId": config["data"]["id"]}))
        .send()
        .await?
        .json()
        .await?;
    let space_id = space["data"]["id"].as_str().expect("space");
    let wbs: Value = api(reqwest::Method::GET, &format!("/workbooks?spaceId={space_id}"))
        .send()
        .await?
        .json()
        .await?;
    let workbook = wbs["data"][0]["id"].as_str().expect("workbook").to_string();
    let sheet = wbs["data"][0]["sheets"][0]["id"]
        .as_str()
        .expect("sheet")
        .to_string();
    let rows: Vec<Value> = (0..plan.records)
        .map(|i| {
            let obj: serde_json::Map<String, Value> = FIELDS
                .iter()
                .zip(row(i))
                .map(|(k, v)| (k.to_string(), json!({ "value": v })))
                .collect();
            Value::Object(obj)
        })
        .collect();
    let inserted: Value = api(reqwest::Method::POST, &format!("/sheets/{sheet}/records"))
        .json(&rows)
        .send()
        .await?
        .json()
        .await?;
    let records: Arc<Vec<String>> = Arc::new(
        inserted["data"]["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect(),
    );
    let mut people = Vec::new();
    for cookie in &cookies {
        let page = http
            .get(format!("{base}/workbooks/{workbook}"))
            .header("cookie", cookie)
            .send()
            .await?
            .text()
            .await?;
        let start = page.find("name=\"csrf-token\" content=\"").expect("csrf") + 27;
        let csrf = page[start..start + page[start..].find('"').unwrap()].to_string();
        people.push(Person {
            cookie: cookie.clone(),
            csrf,
        });
    }

    // The open grids, each on its own connection, then the editors.
    let opened = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(tokio::sync::Notify::new());
    let streams: Vec<_> = (0..plan.streams)
        .map(|i| {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("client");
            tokio::spawn(stream(
                client,
                format!("{base}/grid/{sheet}/live?client=viewer-{i}"),
                cookies[i % cookies.len()].clone(),
                opened.clone(),
                stop.clone(),
            ))
        })
        .collect();
    while opened.load(Ordering::SeqCst) < plan.streams {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let until = started + Duration::from_secs(plan.seconds);
    let editors: Vec<_> = people
        .into_iter()
        .enumerate()
        .map(|(n, person)| {
            tokio::spawn(editor(
                http.clone(),
                base.clone(),
                sheet.clone(),
                records.clone(),
                person,
                n,
                until,
                plan.think,
            ))
        })
        .collect();
    let mut all = EditorTally::default();
    for e in editors {
        let t = e.await?;
        all.accepted.extend(t.accepted);
        all.refused.extend(t.refused);
        all.failed += t.failed;
        all.saves.extend(t.saves);
        if all.first_failure.is_none() {
            all.first_failure = t.first_failure;
        }
    }
    let elapsed = started.elapsed();
    // Let the last events arrive, then close the streams.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.notify_waiters();
    let mut delivered = Vec::new();
    for s in streams {
        delivered.push(s.await??);
    }

    let accepted = all.accepted.len();
    let history = check_history(&http, &base, &key, &sheet, &all.accepted, &all.refused).await?;
    // Each accepted save is one `changed` event on every stream: fewer means one was
    // missed (or several folded into one after a lag), more means an event for nothing.
    let fewer = delivered.iter().filter(|d| **d < accepted).count();
    let more = delivered.iter().filter(|d| **d > accepted).count();
    let deliveries = if fewer + more == 0 {
        format!("all {} streams got all {accepted}", delivered.len())
    } else {
        format!(
            "of {} streams, {fewer} got FEWER events than saves (fewest {}), {more} got MORE (most {})",
            delivered.len(),
            delivered.iter().min().unwrap_or(&0),
            delivered.iter().max().unwrap_or(&0)
        )
    };
    let saves = &mut all.saves;
    println!(
        "| {name} | {accepted} | {} | {} | {:.0} | {:.1} / {:.1} / {:.1} | {} | {} | {deliveries} |",
        all.refused.len(),
        all.failed,
        (accepted + all.refused.len()) as f64 / elapsed.as_secs_f64(),
        ms(percentile(saves, 0.5)),
        ms(percentile(saves, 0.95)),
        ms(percentile(saves, 0.99)),
        history.lost,
        history.summary,
    );
    if let Some(f) = all.first_failure {
        println!("first failure: {f}");
    }
    Ok(())
}

/// A record's id and a field key.
type Cell = (String, String);
/// A change in the history: the version it made, the value, who made it.
type Saved = (i64, String, String);

struct HistoryCheck {
    lost: String,
    summary: String,
}

/// Compares the accepted saves with the sheet's history and its final values.
async fn check_history(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    sheet: &str,
    accepted: &[Accepted],
    refused: &[String],
) -> anyhow::Result<HistoryCheck> {
    let mut changes = Vec::new();
    let mut after = 0i64;
    loop {
        let page: Value = http
            .get(format!(
                "{base}/v1/sheets/{sheet}/changes?afterId={after}&pageSize=10000"
            ))
            .bearer_auth(key)
            .send()
            .await?
            .json()
            .await?;
        let items = page["data"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        after = items.last().unwrap()["id"].as_i64().expect("change id");
        changes.extend(items);
    }
    // The cells' changes in the order they were made; the insert's own entries aside.
    let by_value: HashMap<&str, &Accepted> = accepted.iter().map(|a| (a.value.as_str(), a)).collect();
    let mut cells: HashMap<Cell, Vec<Saved>> = HashMap::new();
    let refused: std::collections::HashSet<&str> = refused.iter().map(String::as_str).collect();
    let mut times_in_history: HashMap<&str, usize> = HashMap::new();
    let mut refused_but_written = 0;
    let mut misplaced = 0;
    for c in &changes {
        let value = c["newValue"].as_str().unwrap_or_default().to_string();
        if refused.contains(value.as_str()) {
            refused_but_written += 1;
        }
        let Some((&key, _)) = by_value.get_key_value(value.as_str()) else {
            continue;
        };
        *times_in_history.entry(key).or_default() += 1;
        let a = by_value[value.as_str()];
        if c["recordId"].as_str() != Some(a.record.as_str()) || c["field"].as_str() != Some(a.field) {
            misplaced += 1;
        }
        let version: i64 = c["versionId"]
            .as_str()
            .and_then(|v| v.trim_start_matches("us_vr_").parse().ok())
            .unwrap_or(-1);
        cells
            .entry((
                c["recordId"].as_str().unwrap().to_string(),
                c["field"].as_str().unwrap().to_string(),
            ))
            .or_default()
            .push((
                version,
                value,
                c["actorId"].as_str().unwrap_or_default().to_string(),
            ));
    }
    let mut unseen_overwrites = 0;
    for list in cells.values() {
        for pair in list.windows(2) {
            let (prev_version, _, prev_actor) = &pair[0];
            let (_, value, actor) = &pair[1];
            let a = by_value[value.as_str()];
            if a.base < *prev_version && prev_actor != actor {
                unseen_overwrites += 1;
            }
        }
    }
    // Final values.
    let records: Value = http
        .get(format!("{base}/v1/sheets/{sheet}/records?pageSize=10000"))
        .bearer_auth(key)
        .send()
        .await?
        .json()
        .await?;
    let mut wrong_final = 0;
    for r in records["data"]["records"].as_array().cloned().unwrap_or_default() {
        let id = r["id"].as_str().unwrap().to_string();
        for field in EDITED {
            if let Some(list) = cells.get(&(id.clone(), field.to_string())) {
                let last = &list.last().unwrap().1;
                if r["values"][field]["value"].as_str() != Some(last.as_str()) {
                    wrong_final += 1;
                }
            }
        }
    }
    // Each accepted save exactly once in the history.
    let once = by_value
        .keys()
        .filter(|v| times_in_history.get(*v) == Some(&1))
        .count();
    let missing = by_value
        .keys()
        .filter(|v| !times_in_history.contains_key(*v))
        .count();
    let repeated = times_in_history.values().filter(|n| **n > 1).count();
    let problems = missing + repeated + misplaced + wrong_final + unseen_overwrites + refused_but_written;
    let lost = if problems == 0 {
        "none".to_string()
    } else {
        format!(
            "{missing} missing from history, {repeated} in it more than once, {misplaced} in another cell, \
             {wrong_final} cells not at their last save, \
             {unseen_overwrites} overwrites of unseen changes, {refused_but_written} refused saves written"
        )
    };
    Ok(HistoryCheck {
        lost,
        summary: format!("{once} of {} saves once each", accepted.len()),
    })
}

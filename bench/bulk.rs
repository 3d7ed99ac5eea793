//! Issue 16's figures, side by side in one run, on N records (default 1,000,000) of the
//! typed 10-field sheet, each step after the one before (so both sides hold the same rows):
//! 1. find and replace in one field (tier `silver` -> `gold`, a third of the records);
//! 2. bulk update of the error records (`filter=error`, age set to 40);
//! 3. delete by query (a `delete-records` job, `q=age lt 30`);
//! 4. pages of 100 records for a `q` with `and`/`or`: p50/p95 over 50 requests.
//!
//! The reference runs the same statements with the `sqlite3` CLI on the plain table that
//! `sqlite3 .import` made of the same rows (text columns, no index; the same pragmas as
//! Wharf's connections), and with `psql` on a `\copy` of them when `BENCH_PG_URL` is given.
//! A bulk change of more than 10,000 records answers 202 with a job: Wharf's time is from
//! the request until the job reads as finished.
//!
//! Run: `cargo bench --bench bulk` (`BENCH_ROWS=100000` for a quick run; `BENCH_DB=postgres`
//! runs Wharf on PostgreSQL; `BENCH_STEPS=2` runs only step 2, to profile it).

#[path = "common.rs"]
mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A reference CLI (`sqlite3` or `psql`) kept open, fed one statement at a time; a
/// statement's time is from writing it until the CLI has printed its result.
struct Cli {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

const END: &str = "__bench_end__";

impl Cli {
    fn sqlite(db: &std::path::Path) -> anyhow::Result<Cli> {
        let mut cli = Cli::spawn("sqlite3", Command::new("stdbuf").args(["-oL", "sqlite3"]).arg(db))?;
        cli.run("PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;")?;
        Ok(cli)
    }

    fn psql(url: &str) -> anyhow::Result<Cli> {
        Cli::spawn(
            "psql",
            Command::new("psql").args([url, "-At", "-v", "ON_ERROR_STOP=0"]),
        )
    }

    fn spawn(name: &'static str, cmd: &mut Command) -> anyhow::Result<Cli> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| anyhow::anyhow!("{name} is needed for the reference: {e}"))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Ok(Cli {
            name,
            child,
            stdin,
            stdout,
        })
    }

    /// Runs `sql`; returns its time and the lines it printed.
    fn run(&mut self, sql: &str) -> anyhow::Result<(Duration, Vec<String>)> {
        let end = match self.name {
            "sqlite3" => format!(".print {END}"),
            _ => format!("\\echo {END}"),
        };
        // Unfinished, the statement would take the end marker in as more SQL.
        let semicolon = if sql.trim_end().ends_with(';') { "" } else { ";" };
        let started = Instant::now();
        writeln!(self.stdin, "{sql}{semicolon}\n{end}")?;
        self.stdin.flush()?;
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            anyhow::ensure!(self.stdout.read_line(&mut line)? > 0, "{} stopped", self.name);
            let line = line.trim_end();
            if line == END {
                break;
            }
            lines.push(line.to_string());
        }
        Ok((started.elapsed(), lines))
    }

    /// Runs a data change; returns its time and the number of rows it changed.
    fn change(&mut self, sql: &str) -> anyhow::Result<(Duration, u64)> {
        let (time, lines) = match self.name {
            "sqlite3" => self.run(&format!("{sql}; SELECT changes();"))?,
            _ => self.run(&format!("{sql};"))?,
        };
        // sqlite3 prints the count; psql the command tag (`UPDATE 333334`).
        let n = lines
            .last()
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok());
        let n = n.ok_or_else(|| anyhow::anyhow!("{}: `{sql}` printed {lines:?}", self.name))?;
        Ok((time, n))
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let quit = if self.name == "sqlite3" { ".quit" } else { "\\q" };
        let _ = writeln!(self.stdin, "{quit}");
        let _ = self.child.wait();
    }
}

/// The same statement in each reference's SQL.
struct Statement {
    sqlite: String,
    psql: String,
}

struct Api<'a> {
    p: &'a Prepared,
}

impl Api<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.p.base)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<(reqwest::StatusCode, Value)> {
        let resp = req.bearer_auth(&self.p.key).send().await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        anyhow::ensure!(status.is_success(), "{status}: {body}");
        Ok((status, body))
    }

    async fn total(&self) -> anyhow::Result<u64> {
        let url = self.url(&format!(
            "/sheets/{}/records?pageSize=1&includeCounts=true",
            self.p.sheet
        ));
        let (_, body) = self.send(self.p.client.get(url)).await?;
        body["data"]["counts"]["total"]
            .as_u64()
            .ok_or_else(|| anyhow::anyhow!("no counts: {body}"))
    }

    /// Waits for a job to finish; returns its outcome's message.
    async fn wait_job(&self, id: &str) -> anyhow::Result<String> {
        loop {
            let (_, job) = self
                .send(self.p.client.get(self.url(&format!("/jobs/{id}"))))
                .await?;
            let status = job["data"]["status"].as_str().unwrap_or_default();
            match status {
                "complete" => {
                    return Ok(job["data"]["outcome"]["message"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string());
                }
                "failed" | "canceled" => anyhow::bail!("job {id} {status}: {}", job["data"]),
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    /// A bulk change: answered at once (200) or as a job (202) that is waited for. Returns
    /// how many records it changed.
    async fn bulk(&self, req: reqwest::RequestBuilder) -> anyhow::Result<u64> {
        let (status, body) = self.send(req).await?;
        match body["data"]["jobId"].as_str() {
            Some(job) if status == reqwest::StatusCode::ACCEPTED => first_number(&self.wait_job(job).await?),
            _ => body["data"]["changed"]
                .as_u64()
                .ok_or_else(|| anyhow::anyhow!("no count: {body}")),
        }
    }
}

/// The count in a job's outcome ("Replaced 333,334 value(s) in People: ...").
fn first_number(message: &str) -> anyhow::Result<u64> {
    message
        .split_whitespace()
        .find_map(|w| w.replace(',', "").parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no count in `{message}`"))
}

fn ratio(wharf: Duration, reference: Duration) -> String {
    format!("{:.1}x", wharf.as_secs_f64() / reference.as_secs_f64())
}

/// The psql reference: a `\copy` of the rows on `BENCH_PG_URL` (`prepare` already made it
/// when Wharf itself runs on PostgreSQL).
fn psql_reference(p: &Prepared) -> anyhow::Result<Option<Cli>> {
    let Ok(admin) = std::env::var("BENCH_PG_URL") else {
        return Ok(None);
    };
    if !bench_on_postgres() {
        let t = psql_copy(&admin, &p.dir.path().join("rows.csv"))?;
        println!("psql \\copy: {:.2} s", t.as_secs_f64());
    }
    let url = format!("{}/bench_copy", admin.rsplit_once('/').expect("url").0);
    Ok(Some(Cli::psql(&url)?))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    wharf::memory::no_huge_pages();
    let rows = bench_rows();
    let p = prepare(rows).await?;
    let api = Api { p: &p };
    // The load's end starts the sheet's indexes (search, and a sort index per field); the
    // bulk changes run on the sheet as it is once they are built, keeping them up.
    let started = Instant::now();
    indexes_built(&p).await?;
    println!(
        "search index and 10 sort indexes, started by the load's end, built after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // `BENCH_SETTLE=30` waits that many seconds more, so the steps run after the background
    // work that follows the builds (merging the search index) has ended.
    if let Some(settle) = std::env::var("BENCH_SETTLE").ok().and_then(|v| v.parse().ok()) {
        tokio::time::sleep(Duration::from_secs(settle)).await;
    }
    let mut sqlite = Cli::sqlite(&p.import_db)?;
    let mut psql = psql_reference(&p)?;
    let sheet = &p.sheet;

    println!(
        "\n| step | Wharf | records changed (sheet total before -> after) | sqlite3 | rows | ratio |{}",
        if psql.is_some() {
            " psql | rows | ratio |"
        } else {
            ""
        }
    );
    println!(
        "| --- | --- | --- | --- | --- | --- |{}",
        if psql.is_some() { " --- | --- | --- |" } else { "" }
    );
    // Only the number fields are compared as numbers: text that is not a number is no age.
    let steps: Vec<(&str, Statement)> = vec![
        (
            // The cells show `silver` (the option's value; `Silver`, its label, is the
            // input kept beside it); the plain table holds the input.
            "1. find and replace: tier `silver` -> `gold`",
            Statement {
                sqlite: "UPDATE people SET tier = replace(tier, 'Silver', 'gold') WHERE instr(tier, 'Silver') > 0".into(),
                psql: "UPDATE people SET tier = replace(tier, 'Silver', 'gold') WHERE strpos(tier, 'Silver') > 0".into(),
            },
        ),
        (
            "2. bulk update of the error records: age = 40",
            Statement {
                sqlite: "UPDATE people SET age = '40' WHERE age NOT GLOB '[0-9]*'".into(),
                psql: "UPDATE people SET age = '40' WHERE age !~ '^[0-9]'".into(),
            },
        ),
        (
            "3. delete by query: `age lt 30`",
            Statement {
                sqlite: "DELETE FROM people WHERE age GLOB '[0-9]*' AND CAST(age AS REAL) < 30".into(),
                psql: "DELETE FROM people WHERE age ~ '^[0-9.]+$' AND age::numeric < 30".into(),
            },
        ),
    ];
    // `BENCH_STEPS=2` (or `1,3`) runs only those steps, to profile one.
    let only: Option<Vec<usize>> = std::env::var("BENCH_STEPS")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect());
    for (n, (name, statement)) in steps.into_iter().enumerate() {
        if only.as_ref().is_some_and(|o| !o.contains(&(n + 1))) {
            continue;
        }
        let before = api.total().await?;
        let started = Instant::now();
        let answer = match n {
            0 => {
                let req = p.client.put(api.url(&format!("/sheets/{sheet}/find-replace")));
                api.bulk(req.json(&json!({"find": "silver", "replace": "gold", "fieldKey": "tier"})))
                    .await?
            }
            1 => {
                let req = p
                    .client
                    .patch(api.url(&format!("/sheets/{sheet}/records/bulk-update?filter=error")));
                api.bulk(req.json(&json!({"fieldUpdates": {"age": {"value": 40}}})))
                    .await?
            }
            _ => {
                let body = json!({
                    "type": "workbook", "operation": "delete-records", "source": p.workbook,
                    "trigger": "immediate", "config": {"sheet": sheet, "q": "age lt 30"},
                });
                let (_, job) = api.send(p.client.post(api.url("/jobs")).json(&body)).await?;
                let id = job["data"]["id"].as_str().expect("job id").to_string();
                first_number(&api.wait_job(&id).await?)?
            }
        };
        let wharf = started.elapsed();
        let after = api.total().await?;
        let (s_time, s_rows) = sqlite.change(&statement.sqlite)?;
        // Both sides must have done the same thing for the ratio to mean anything.
        anyhow::ensure!(
            answer == s_rows,
            "{name}: Wharf changed {answer} records, sqlite3 {s_rows} rows"
        );
        let mut line = format!(
            "| {name} | {:.2} s | {answer} ({before} -> {after} records) | {:.2} s | {s_rows} | **{}** |",
            wharf.as_secs_f64(),
            s_time.as_secs_f64(),
            ratio(wharf, s_time)
        );
        if let Some(psql) = psql.as_mut() {
            let (t, r) = psql.change(&statement.psql)?;
            line.push_str(&format!(
                " {:.2} s | {r} | **{}** |",
                t.as_secs_f64(),
                ratio(wharf, t)
            ));
        }
        println!("{line}");
    }

    // 4. Pages for a `q` with and/or. The first read asks for the sort indexes of the
    // fields it compares (built in the background); they are waited for before measuring.
    // Two records kept by step 3 (age 30 or more), found by email.
    let kept = |from: usize| {
        (from..rows)
            .find(|&i| row(i)[3].parse::<u32>().is_ok_and(|age| age >= 30))
            .map(|i| row(i)[2].clone())
            .expect("a record aged 30 or more")
    };
    let (a, b) = (kept(rows / 2), kept(rows - rows / 10));
    let cases: Vec<(&str, String, Statement)> = vec![
        (
            "common",
            r#"(city eq "Oslo" or city eq "Perth") and age gte 60"#.into(),
            Statement {
                sqlite: "SELECT * FROM people WHERE (city = 'Oslo' OR city = 'Perth') \
                         AND age GLOB '[0-9]*' AND CAST(age AS REAL) >= 60 LIMIT 100"
                    .into(),
                psql: "SELECT * FROM people WHERE (city = 'Oslo' OR city = 'Perth') \
                       AND age ~ '^[0-9.]+$' AND age::numeric >= 60 LIMIT 100"
                    .into(),
            },
        ),
        (
            "rare",
            format!(r#"(email eq "{a}" or email eq "{b}") and age gte 30"#),
            Statement {
                sqlite: format!(
                    "SELECT * FROM people WHERE (email = '{a}' OR email = '{b}') \
                     AND age GLOB '[0-9]*' AND CAST(age AS REAL) >= 30 LIMIT 100"
                ),
                psql: format!(
                    "SELECT * FROM people WHERE (email = '{a}' OR email = '{b}') \
                     AND age ~ '^[0-9.]+$' AND age::numeric >= 30 LIMIT 100"
                ),
            },
        ),
    ];
    let started = Instant::now();
    for (_, q, _) in &cases {
        let url = api.url(&format!("/sheets/{sheet}/records"));
        api.send(p.client.get(url).query(&[("pageSize", "1"), ("q", q)]))
            .await?;
    }
    let pool = wharf::app::prepare_database(&p.settings)?;
    let mut conn = pool.get()?;
    let seq = wharf::model::sheet::get(&mut conn, &wharf::ids::SheetId(sheet.clone()))?.seq;
    // age, email, city
    for field in [3, 2, 8] {
        let name = format!("records_sort_{seq}_{field}");
        while !wharf::model::record::indexes::catalog_has(&mut conn, &name)? {
            anyhow::ensure!(started.elapsed() < Duration::from_secs(900), "{name} not built");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    println!(
        "\nsort indexes of age, email and city built in the background: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "\n| `q` page of 100 | records | Wharf p50 / p95 ms | with counts p50 / p95 ms | sqlite3 p50 / p95 ms | p95 ratio |{}",
        if psql.is_some() {
            " psql p50 / p95 ms | p95 ratio |"
        } else {
            ""
        }
    );
    println!(
        "| --- | --- | --- | --- | --- | --- |{}",
        if psql.is_some() { " --- | --- |" } else { "" }
    );
    for (name, q, statement) in &cases {
        let mut times = [Vec::new(), Vec::new()];
        let mut total = 0;
        for (i, counts) in ["false", "true"].into_iter().enumerate() {
            let url = api.url(&format!("/sheets/{sheet}/records"));
            let params = [("pageSize", "100"), ("q", q.as_str()), ("includeCounts", counts)];
            api.send(p.client.get(&url).query(&params)).await?; // warm-up
            for _ in 0..50 {
                let t = Instant::now();
                let (_, body) = api.send(p.client.get(&url).query(&params)).await?;
                times[i].push(t.elapsed());
                anyhow::ensure!(
                    body["data"]["records"].as_array().is_some_and(|r| !r.is_empty()),
                    "{name}: empty page"
                );
                if counts == "true" {
                    total = body["data"]["counts"]["total"].as_u64().unwrap_or_default();
                }
            }
        }
        let [mut plain, mut counted] = times;
        let reference = |cli: &mut Cli, sql: &str| -> anyhow::Result<Vec<Duration>> {
            cli.run(sql)?; // warm-up
            (0..50).map(|_| Ok(cli.run(sql)?.0)).collect()
        };
        let mut s = reference(&mut sqlite, &statement.sqlite)?;
        let wharf_p95 = percentile(&mut plain, 0.95);
        let mut line = format!(
            "| {name}: `{q}` | {total} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} / {:.1} | **{}** |",
            ms(percentile(&mut plain, 0.5)),
            ms(wharf_p95),
            ms(percentile(&mut counted, 0.5)),
            ms(percentile(&mut counted, 0.95)),
            ms(percentile(&mut s, 0.5)),
            ms(percentile(&mut s, 0.95)),
            ratio(wharf_p95, percentile(&mut s, 0.95)),
        );
        if let Some(cli) = psql.as_mut() {
            let mut t = reference(cli, &statement.psql)?;
            line.push_str(&format!(
                " {:.1} / {:.1} | **{}** |",
                ms(percentile(&mut t, 0.5)),
                ms(percentile(&mut t, 0.95)),
                ratio(wharf_p95, percentile(&mut t, 0.95))
            ));
        }
        println!("{line}");
    }
    Ok(())
}

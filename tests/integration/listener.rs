//! Flatfile listener code runs unchanged against Wharf: the example in examples/listener
//! (published `@flatfile/listener`, `plugin-record-hook`, `plugin-job-handler`) receives
//! Wharf's signed webhooks (serve.mjs) or polls its events (poll.mjs), and its record hook
//! and job handler act on Wharf's data.

use crate::browser::{sign_in_form, start_browser, text, wait_for};
use crate::browser_grid::edit_cell;
use crate::helpers::*;
use crate::on_both;
use fantoccini::Locator;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// `node <script>` from examples/listener, killed when dropped (even when the test panics).
pub(crate) struct NodeListener {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Drop for NodeListener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl NodeListener {
    /// What it printed so far (for failure messages).
    pub(crate) fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

fn example_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/listener");
    assert!(
        dir.join("node_modules/@flatfile/listener").exists(),
        "examples/listener/node_modules is missing: run `npm ci --prefix examples/listener` \
         (scripts/test.sh does)"
    );
    dir
}

/// Starts `node <script>` with `env` and waits (up to 30 s) for a line starting with
/// `ready`; returns the process and that line.
pub(crate) fn start_node(script: &str, env: &[(&str, String)], ready: &str) -> (NodeListener, String) {
    let mut child = Command::new("node")
        .arg(script)
        .current_dir(example_dir())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let output = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel();
    // Both pipes are drained for the whole run: a full pipe would stall the listener.
    for (pipe, tx) in [
        (
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Some(tx),
        ),
        (Box::new(child.stderr.take().unwrap()), None),
    ] {
        let output = output.clone();
        let ready = ready.to_string();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(tx) = &tx {
                    if line.starts_with(&ready) {
                        let _ = tx.send(line.clone());
                    }
                }
                let mut out = output.lock().unwrap();
                out.push_str(&line);
                out.push('\n');
            }
        });
    }
    let node = NodeListener { child, output };
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(line) => (node, line),
        Err(_) => panic!("node {script} did not start:\n{}", node.output()),
    }
}

pub(crate) fn wharf_env(app: &TestApp) -> Vec<(&'static str, String)> {
    vec![
        ("WHARF_URL", app.base.clone()),
        ("WHARF_API_KEY", app.key.clone()),
    ]
}

/// A webhook for every topic to serve.mjs, and serve.mjs running with its secret.
pub(crate) async fn serve_listener(app: &TestApp) -> NodeListener {
    // serve.mjs picks its own port (PORT=0): a port chosen here and released could be
    // taken by another test before node listens on it.
    let body = json!({"environmentId": app.env_id, "url": "http://127.0.0.1:9/",
                      "description": "examples/listener"});
    let (status, hook) = app.post_json("/webhooks", &body).await;
    assert_eq!(status, 200, "{hook}");
    let secret = hook["data"]["secret"].as_str().expect("a secret").to_string();
    let mut env = wharf_env(app);
    env.push(("WHARF_WEBHOOK_SECRET", secret));
    env.push(("PORT", "0".to_string()));
    let (node, line) = start_node("serve.mjs", &env, "listening on ");
    let port: u16 = line["listening on ".len()..].parse().expect("a port");
    let url = format!("http://127.0.0.1:{port}/");
    let id = hook["data"]["id"].as_str().unwrap();
    let (status, hook) = app
        .patch_json(&format!("/webhooks/{id}"), &json!({"url": url}))
        .await;
    assert_eq!(status, 200, "{hook}");
    assert_eq!(hook["data"]["url"], url.as_str());
    node
}

/// The contacts sheet with two records written by the API without hooks: one valid, one
/// missing its required email. Returns (workbook id, contacts sheet id).
pub(crate) async fn workbook_with_records(app: &TestApp) -> (String, String) {
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let (_, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = send(
        app.api(reqwest::Method::POST, &format!("/sheets/{contacts}/records"))
            .header("X-Disable-Hooks", "true")
            .json(&json!([{"email": "ada@acme.com", "name": "Ada"}, {"name": "Nameless"}])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (wb, contacts)
}

/// Creates an `export-crm` job on the workbook; the listener's `jobHandler` must run and
/// complete it with its outcome.
async fn export_job_completes(app: &TestApp, wb: &str, listener: &NodeListener) {
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "export-crm", "source": wb, "trigger": "immediate"}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let job_id = job["data"]["id"].as_str().unwrap();
    let mut job = Value::Null;
    for _ in 0..600 {
        job = app.get_json(&format!("/jobs/{job_id}")).await.1["data"].take();
        if job["status"] == "complete" || job["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        job["status"],
        "complete",
        "the listener did not complete the job in 60 s: {job}\nlistener output:\n{}",
        listener.output()
    );
    assert_eq!(
        job["outcome"]["message"], "Sent 1 valid records of Customers to the CRM; 1 with errors held back.",
        "{job}"
    );
    assert_eq!(job["progress"], 100, "the handler's progress ticks: {job}");
}

async fn a_job_handler_completes_a_workbook_job_by_webhook(db: Db) {
    let app = spawn_app(db).await;
    let listener = serve_listener(&app).await;
    let (wb, _) = workbook_with_records(&app).await;
    export_job_completes(&app, &wb, &listener).await;
}

async fn the_poll_mode_runs_the_same_job_handler(db: Db) {
    let app = spawn_app(db).await;
    let mut env = wharf_env(&app);
    env.push(("WHARF_ENVIRONMENT_ID", app.env_id.to_string()));
    let (listener, _) = start_node("poll.mjs", &env, "polling ");
    let (wb, _) = workbook_with_records(&app).await;
    export_job_completes(&app, &wb, &listener).await;
    // `event.secrets()` reads the environment's secret (it names the event's actor too).
    let (status, body) = app
        .post_json("/secrets", &json!({"name": "CRM_NAME", "value": "Acme CRM"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "export-crm", "source": wb, "trigger": "immediate"}),
        )
        .await;
    let done = app.wait_job(job["data"]["id"].as_str().unwrap()).await;
    let message = done["outcome"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("to Acme CRM;"), "{done}\n{}", listener.output());
}

/// serve.mjs runs only what Wharf signed: a forged delivery is answered 401 and does nothing.
async fn serve_refuses_an_unsigned_or_forged_delivery(db: Db) {
    let app = spawn_app(db).await;
    let listener = serve_listener(&app).await;
    let (wb, _) = workbook_with_records(&app).await;
    // A job nobody announced: only a forged job:ready could make the listener run it.
    let (_, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "export-crm", "source": wb}),
        )
        .await;
    let job_id = job["data"]["id"].as_str().unwrap();
    let port = listener_port(&listener);
    let forged = json!({"id": "us_evt_forged", "topic": "job:ready", "domain": "job",
        "context": {"environmentId": app.env_id, "accountId": "us_acc_x", "jobId": job_id, "workbookId": wb},
        "payload": {"job": "workbook:export-crm", "domain": "workbook", "operation": "export-crm", "status": "ready"},
        "createdAt": "2026-01-01T00:00:00.000Z"});
    let now = chrono::Utc::now().timestamp().to_string();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/");
    let unsigned = client.post(&url).json(&forged).send().await.unwrap();
    assert_eq!(unsigned.status(), 401, "an unsigned delivery");
    let forged_sig = client
        .post(&url)
        .header("webhook-id", "msg_forged")
        .header("webhook-timestamp", now)
        .header("webhook-signature", "v1,bm90IHRoZSBzaWduYXR1cmU=")
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(forged_sig.status(), 401, "a wrong signature");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, job) = app.get_json(&format!("/jobs/{job_id}")).await;
    assert_eq!(job["data"]["status"], "created", "{job}");
}

fn listener_port(listener: &NodeListener) -> u16 {
    let out = listener.output();
    let line = out.lines().find(|l| l.starts_with("listening on ")).unwrap();
    line["listening on ".len()..].parse().unwrap()
}

/// Polls the contacts records until `done` holds (up to 60 s); returns them.
async fn wait_records(
    app: &TestApp,
    sheet: &str,
    listener: &NodeListener,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..600 {
        let (_, recs) = app.get_json(&format!("/sheets/{sheet}/records")).await;
        last = recs["data"]["records"].as_array().cloned().unwrap_or_default();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{what} never showed in the records: {}\nlistener output:\n{}",
        Value::Array(last),
        listener.output()
    );
}

/// The `commit:created` events of a sheet.
pub(crate) async fn commits_created(app: &TestApp, sheet: &str) -> Vec<Value> {
    let (_, created) = app
        .get_json("/events?topic=commit:created&includeAcknowledged=true&pageSize=100")
        .await;
    let all = created["data"].as_array().cloned().unwrap_or_default();
    all.into_iter()
        .filter(|e| e["context"]["sheetId"] == sheet)
        .collect()
}

fn by_name<'a>(records: &'a [Value], name: &str) -> Option<&'a Value> {
    records.iter().find(|r| r["values"]["name"]["value"] == name)
}

fn hook_message(record: &Value) -> Option<&Value> {
    record["values"]["email"]["messages"]
        .as_array()?
        .iter()
        .find(|m| {
            m["message"]
                .as_str()
                .unwrap_or("")
                .contains("must be a company address")
        })
}

/// A CSV mapped into the contacts sheet goes through the listener's `recordHook`: it
/// lower-cases the emails and marks a free-mail address as an error, which counts.
async fn a_record_hook_fixes_and_flags_mapped_records(db: Db) {
    let app = spawn_app(db).await;
    let listener = serve_listener(&app).await;
    let space = app.space_from_blueprint().await;
    let space_id = space["id"].as_str().unwrap();
    let contacts = app.sheet_id(&space, "contacts").await;
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space_id}")).await;
    let dest_wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let csv = "Email,Name\nAda@Acme.COM,Ada\nbob@gmail.com,Bob\n";
    let file = app
        .upload_and_extract(space_id, "people.csv", csv.as_bytes().to_vec())
        .await;
    assert_eq!(file["status"], "complete", "{file}");
    let src_wb = file["workbookId"].as_str().unwrap();
    let (_, wb) = app.get_json(&format!("/workbooks/{src_wb}")).await;
    let src_sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap();
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "map", "source": src_wb, "destination": dest_wb,
                    "managed": true, "config": {"sourceSheetId": src_sheet, "destinationSheetId": contacts}}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let job_id = job["data"]["id"].as_str().unwrap();
    let (status, _) = app
        .post_json(&format!("/jobs/{job_id}/execute"), &json!({}))
        .await;
    assert_eq!(status, 200);
    let job = app.wait_job(job_id).await;
    assert_eq!(job["status"], "complete", "{job}");

    let records = wait_records(&app, &contacts, &listener, "the hook's changes", |recs| {
        let ada = by_name(recs, "Ada").map(|r| r["values"]["email"]["value"] == "ada@acme.com");
        let bob = by_name(recs, "Bob").and_then(hook_message);
        ada == Some(true) && bob.is_some()
    })
    .await;
    let bob = by_name(&records, "Bob").unwrap();
    assert_eq!(hook_message(bob).unwrap()["type"], "error", "{bob}");
    assert_eq!(bob["values"]["email"]["valid"], false, "{bob}");
    assert_eq!(
        bob["valid"], false,
        "the hook's error makes the record invalid: {bob}"
    );
    let ada = by_name(&records, "Ada").unwrap();
    assert_eq!(ada["valid"], true, "{ada}");
    let (_, counts) = app.get_json(&format!("/sheets/{contacts}/counts")).await;
    assert_eq!(counts["data"]["counts"]["error"], 1, "{counts}");
    // The hook's answer completed the mapping's commit, and started none of its own.
    let commits = commits_created(&app, &contacts).await;
    assert_eq!(commits.len(), 1, "one commit for the mapping: {commits:?}");
    let commit_id = commits[0]["context"]["commitId"].as_str().unwrap();
    let (_, commit) = app.get_json(&format!("/commits/{commit_id}")).await;
    assert!(commit["data"]["completedAt"].is_string(), "{commit}");

    // The grid shows the same: the fixed value and the hook's message.
    app.make_user("admin@acme.com", true);
    app.sign_in("admin@acme.com", PASSWORD).await;
    let grid = app.page(&format!("/workbooks/{dest_wb}?sheet={contacts}")).await;
    assert!(grid.contains("ada@acme.com"), "the grid shows the hook's value");
    assert!(
        grid.contains("must be a company address, not gmail.com"),
        "the grid shows the hook's message"
    );
}

/// The hook reads a reference's linked record (`record.getLinks("company")`, from the
/// commit's `dataUrl`) and names a nameless contact after it.
async fn a_record_hook_reads_the_linked_records_of_a_reference(db: Db) {
    let app = spawn_app(db).await;
    let listener = serve_listener(&app).await;
    let space = app.space_from_blueprint().await;
    let companies = app.sheet_id(&space, "companies").await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let (status, body) = send(
        app.api(reqwest::Method::POST, &format!("/sheets/{companies}/records"))
            .header("X-Disable-Hooks", "true")
            .json(&json!([{"code": "ACME", "name": "Acme Corp"}])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": "ada@acme.com", "company": "ACME"},
                    {"email": "bo@acme.com", "name": "Bo", "company": "ACME"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let records = wait_records(&app, &contacts, &listener, "the linked company's name", |recs| {
        by_name(recs, "Someone at Acme Corp").is_some()
    })
    .await;
    let ada = by_name(&records, "Someone at Acme Corp").unwrap();
    assert_eq!(ada["values"]["email"]["value"], "ada@acme.com", "{ada}");
    assert!(
        by_name(&records, "Bo").is_some(),
        "a named contact keeps its name: {records:?}"
    );
}

/// In the grid, a person's edit is a commit too: the hook runs again on it and the grid
/// shows its result without a reload.
async fn a_cell_edited_in_the_browser_runs_the_hook_again(db: Db) {
    let app = spawn_app(db).await;
    let listener = serve_listener(&app).await;
    app.make_user("admin@acme.com", true);
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let (_, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": "Ada@Acme.com", "name": "Ada"}, {"email": "cy@acme.com", "name": "Cy"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let records = wait_records(&app, &contacts, &listener, "the hook on an API write", |recs| {
        by_name(recs, "Ada").is_some_and(|r| r["values"]["email"]["value"] == "ada@acme.com")
    })
    .await;
    let ada = by_name(&records, "Ada").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let driver = start_browser().await;
    let c = &driver.client;
    c.goto(&app.url("/spaces")).await.unwrap();
    sign_in_form(c, "admin@acme.com").await;
    c.goto(&app.url(&format!("/workbooks/{wb}?sheet={contacts}")))
        .await
        .unwrap();
    let cell = format!("#row-{ada} td.cell[data-field='email']");
    wait_for(
        c,
        &format!("document.querySelector(\"{cell}\")"),
        "Ada's email cell",
    )
    .await;
    c.execute("window.__marker = 'same page';", vec![]).await.unwrap();
    let email = c.find(Locator::Css(&cell)).await.unwrap();
    edit_cell(c, &email, "Ada@GMAIL.com").await;
    // The listener's round trip (webhook, hook, write back) can take longer than a
    // browser wait on a loaded machine: wait for it through the API first, so a slow
    // listener and a grid that missed the change fail apart.
    wait_records(&app, &contacts, &listener, "the hook on a grid save", |recs| {
        by_name(recs, "Ada")
            .is_some_and(|r| r["values"]["email"]["value"] == "ada@gmail.com" && hook_message(r).is_some())
    })
    .await;
    let shows = format!(
        "(() => {{ const td = document.querySelector(\"{cell}\"); return td \
           && td.querySelector('.value')?.textContent === 'ada@gmail.com' \
           && (td.getAttribute('aria-description') || '').includes('must be a company address, not gmail.com'); }})()"
    );
    wait_for(c, &shows, "the hook's value and message in the edited cell").await;
    assert_eq!(text(c, "#count-error").await, "1");
    assert_eq!(
        c.execute("return window.__marker;", vec![]).await.unwrap(),
        json!("same page"),
        "the grid updated without a reload"
    );
    let (_, rec) = app
        .get_json(&format!("/sheets/{contacts}/records?ids={ada}"))
        .await;
    let rec = &rec["data"]["records"][0];
    assert_eq!(rec["values"]["email"]["value"], "ada@gmail.com", "{rec}");
    assert!(hook_message(rec).is_some(), "{rec}");
}

/// A handler inside `listener.namespace(["space:portal"], ...)` runs for a job in a space
/// of namespace `portal`, and not for the same job in a space without it.
async fn a_namespaced_handler_runs_only_in_its_namespace(db: Db) {
    let app = spawn_app(db).await;
    let mut env = wharf_env(&app);
    env.push(("WHARF_ENVIRONMENT_ID", app.env_id.to_string()));
    let (listener, _) = start_node("poll.mjs", &env, "polling ");
    let mut jobs = Vec::new();
    for namespace in ["portal", ""] {
        let (status, space) = app
            .post_json("/spaces", &json!({"name": "Portal", "namespace": namespace}))
            .await;
        assert_eq!(status, 200, "{space}");
        let (status, wb) = app
            .post_json(
                "/workbooks",
                &json!({"name": "Orders", "spaceId": space["data"]["id"],
                        "sheets": [{"name": "Orders", "slug": "orders", "fields": [{"key": "n", "type": "string"}]}]}),
            )
            .await;
        assert_eq!(status, 200, "{wb}");
        let (status, job) = app
            .post_json(
                "/jobs",
                &json!({"type": "workbook", "operation": "portal-hello", "source": wb["data"]["id"], "trigger": "immediate"}),
            )
            .await;
        assert_eq!(status, 200, "{job}");
        jobs.push(job["data"]["id"].as_str().unwrap().to_string());
    }
    let mut done = Value::Null;
    for _ in 0..300 {
        done = app.get_json(&format!("/jobs/{}", jobs[0])).await.1["data"].take();
        if done["status"] != "ready" && done["status"] != "executing" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        done["status"],
        "complete",
        "{done}\nlistener output:\n{}",
        listener.output()
    );
    assert_eq!(done["outcome"]["message"], "Hello from space:portal", "{done}");
    // The listener has polled past the other job's events by now (it polls every second).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, other) = app.get_json(&format!("/jobs/{}", jobs[1])).await;
    assert_eq!(other["data"]["status"], "ready", "{other}");
}

/// `@flatfile/plugin-automap` 0.4 maps an uploaded file by itself: on the extraction's
/// `job:completed` it makes a mapping job, waits for it to reach `planning`, reads its plan
/// and executes it.
async fn the_automap_plugin_maps_an_uploaded_file(db: Db) {
    let app = spawn_app(db).await;
    let mut env = wharf_env(&app);
    env.push(("WHARF_ENVIRONMENT_ID", app.env_id.to_string()));
    env.push(("AUTOMAP_SHEET", "contacts".to_string()));
    let (listener, _) = start_node("poll.mjs", &env, "polling ");
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let csv = "Email,Name\nada@acme.com,Ada\ngrace@acme.com,Grace\nalan@acme.com,Alan\n";
    let (status, file) = app
        .upload(
            space["id"].as_str().unwrap(),
            "people.csv",
            csv.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, 200, "{file}");
    let mut total = Value::Null;
    for _ in 0..300 {
        total = app.get_json(&format!("/sheets/{contacts}/counts")).await.1["data"]["counts"]["total"].take();
        if total == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(total, 3, "listener output:\n{}", listener.output());
    let (_, jobs) = app.get_json("/jobs?pageSize=50").await;
    let map = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["operation"] == "map")
        .expect("the plugin's mapping job");
    assert_eq!(map["input"]["isAutomap"], true, "{map}");
    assert_eq!(map["managed"], true, "{map}");
    let file_id = file["data"]["id"].as_str().unwrap();
    let (_, file) = app.get_json(&format!("/files/{file_id}")).await;
    assert!(
        file["data"]["name"].as_str().unwrap().starts_with("\u{26A1}"),
        "the plugin renames the file: {file}"
    );
}

on_both!(
    the_automap_plugin_maps_an_uploaded_file,
    a_namespaced_handler_runs_only_in_its_namespace,
    a_job_handler_completes_a_workbook_job_by_webhook,
    the_poll_mode_runs_the_same_job_handler,
    serve_refuses_an_unsigned_or_forged_delivery,
    a_record_hook_fixes_and_flags_mapped_records,
    a_record_hook_reads_the_linked_records_of_a_reference,
    a_cell_edited_in_the_browser_runs_the_hook_again,
);

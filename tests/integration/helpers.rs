//! Spawns Wharf on port 0 with a fresh database: a temp SQLite file, or a new database on
//! a throwaway PostgreSQL cluster (started once per test binary unless TEST_PG_ADMIN_URL
//! names one).

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use std::sync::OnceLock;
use wharf::app::{prepare_database, Application};
use wharf::db::Pool;
use wharf::ids::EnvironmentId;
use wharf::model::{api_key, environment};
use wharf::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Generates one test per backend for each named `async fn(Db)`.
#[macro_export]
macro_rules! on_both {
    ($($f:ident),* $(,)?) => {
        $(
            mod $f {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$f($crate::helpers::Db::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$f($crate::helpers::Db::Postgres).await
                }
            }
        )*
    };
}

pub struct TestApp {
    /// The settings it runs with (a sibling process shares them).
    pub settings: Settings,
    pub base: String,
    pub client: reqwest::Client,
    pub pool: Pool,
    /// A secret key of the `development` environment.
    pub key: String,
    pub env_id: EnvironmentId,
    /// The one-time link that creates the first admin (no user exists at start).
    pub setup_link: Option<String>,
    /// The app's data directory (uploads live under `storage/`).
    pub data_dir: std::path::PathBuf,
    /// The app's database.
    pub database_url: String,
    _dir: tempfile::TempDir,
}

/// Every test on SQLite ends by checking that the records of sorted sheets still have their
/// values as sort keys (`sort_keys`): whatever the test wrote, no write left them behind.
impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() || !self.database_url.starts_with("sqlite://") {
            return;
        }
        let Ok(mut conn) = self.pool.get_timeout(std::time::Duration::from_secs(5)) else {
            return;
        };
        let ready = format!(
            "SELECT seq FROM sheets WHERE sort_keys = {}",
            wharf::model::record::sort_keys::READY
        );
        assert_eq!(
            stale_sort_keys(&mut conn, &ready),
            0,
            "records whose sort keys differ from their values"
        );
    }
}

/// SQLite: how many records of the sheets `sheets` (SQL giving sheet numbers) have a sort
/// key that is not their value.
pub fn stale_sort_keys(conn: &mut wharf::db::AnyConnection, sheets: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Stale {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let differ: Vec<String> = (0..wharf::model::record::sort_keys::KEYED)
        .map(|i| format!("sort_key_{i} IS NOT json_extract(vals, '$[{i}]')"))
        .collect();
    let stale: Stale = wharf::on_backend!(conn, c => diesel::RunQueryDsl::get_result(
        diesel::sql_query(format!(
            "SELECT COUNT(*) AS n FROM records WHERE sheet_seq IN ({sheets}) AND ({})",
            differ.join(" OR ")
        )),
        c
    ))
    .expect("sort keys checked");
    stale.n
}

fn pg_admin_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("TEST_PG_ADMIN_URL") {
            return url;
        }
        // Lives as long as the test binary; the script's watchdog stops the cluster after.
        let dir = tempfile::Builder::new()
            .prefix("wharf-pg")
            .tempdir()
            .expect("temp dir")
            .keep();
        let out =
            std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pg-test-cluster.sh"))
                .arg(&dir)
                .arg(std::process::id().to_string())
                .output()
                .expect("running scripts/pg-test-cluster.sh");
        assert!(
            out.status.success(),
            "starting PostgreSQL failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8").trim().to_string()
    })
}

/// A new, empty PostgreSQL database; returns its URL.
pub fn fresh_pg_database() -> String {
    let admin = pg_admin_url();
    let name = format!("wharf_test_{}", uuid_like());
    let mut conn = PgConnection::establish(admin).expect("connecting to the test cluster");
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    format!("{}/{name}", admin.rsplit_once('/').expect("url has a database").0)
}

fn uuid_like() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric
        .sample_string(&mut rand::thread_rng(), 12)
        .to_lowercase()
}

/// Settings for a fresh database of the given kind, in a fresh data directory.
pub fn test_settings(db: Db) -> (Settings, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = match db {
        Db::Sqlite => format!("sqlite://{}", dir.path().join("wharf.db").display()),
        Db::Postgres => fresh_pg_database(),
    };
    let settings = Settings {
        database_url,
        data_dir: dir.path().to_path_buf(),
        bind: "127.0.0.1:0".parse().expect("addr"),
        base_url: "http://127.0.0.1".into(),
        pool_size: 4,
        max_upload_mb: 1024,
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
        // Scheduled events would land in the events tests count; `cron` tests send them.
        cron: false,
        storage: None,
        // Small test sheets get their indexes as big ones do.
        index_from_records: 0,
        extract: None,
        trusted_proxies: Vec::new(),
    };
    (settings, dir)
}

pub async fn spawn_app(db: Db) -> TestApp {
    spawn_app_with(db, |_| {}).await
}

/// Like [`spawn_app`], with settings changed first (a mail server, ...).
pub async fn spawn_app_with(db: Db, change: impl FnOnce(&mut Settings)) -> TestApp {
    let (mut settings, dir) = test_settings(db);
    change(&mut settings);
    let app = Application::build(settings.clone()).expect("app builds");
    let port = app.port();
    let setup_link = app.setup_link().map(String::from);
    tokio::spawn(app.run_until_stopped());
    let pool = prepare_database(&settings).expect("pool");
    let (env_id, key) = {
        let mut conn = pool.get().expect("conn");
        let env = environment::find_by_name(&mut conn, "development")
            .expect("query")
            .expect("development exists");
        let (_, key) = api_key::create(&mut conn, &env.id).expect("key");
        (env.id, key)
    };
    let client = new_client();
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        client,
        pool,
        key,
        env_id,
        setup_link,
        data_dir: dir.path().to_path_buf(),
        database_url: settings.database_url.clone(),
        settings,
        _dir: dir,
    }
}

/// Another browser on an app: signs in and reads pages with its own cookies.
pub struct BrowserHandle {
    pub base: String,
    pub client: reqwest::Client,
}

impl BrowserHandle {
    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        let html = self.page("/sign-in").await;
        let needle = "name=\"csrf_token\" value=\"";
        let start = html.find(needle).expect("token field") + needle.len();
        let token = html[start..start + html[start..].find('"').expect("end")].to_string();
        self.client
            .post(format!("{}/sign-in", self.base))
            .form(&[
                ("csrf_token", token.as_str()),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
            .expect("sign in")
    }

    pub async fn page(&self, path: &str) -> String {
        let resp = self.client.get(format!("{}{path}", self.base)).send().await;
        resp.expect("page").text().await.expect("html")
    }

    pub async fn csrf(&self, path: &str) -> String {
        meta_csrf(&self.page(path).await)
    }
}

/// A page's CSRF token, from its `csrf-token` meta tag.
pub fn meta_csrf(html: &str) -> String {
    let needle = "name=\"csrf-token\" content=\"";
    let start = html.find(needle).expect("csrf meta") + needle.len();
    html[start..start + html[start..].find('"').expect("end")].to_string()
}

/// The value of a form's `csrf_token` field.
pub fn form_csrf(html: &str) -> String {
    let needle = "name=\"csrf_token\" value=\"";
    let start = html.find(needle).expect("token field") + needle.len();
    html[start..start + html[start..].find('"').expect("end")].to_string()
}

/// Opens an emailed link as a browser does: its page, then its form (with the form's token).
pub async fn open_link(client: &reqwest::Client, url: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let html = client
        .get(url)
        .send()
        .await
        .expect("link page")
        .text()
        .await
        .expect("html");
    let token = form_csrf(&html);
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    client.post(url).form(&all).send().await.expect("link form")
}

/// A browser-like client: its own cookie store, redirects not followed.
pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client")
}

/// The password of every user the tests create.
pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    /// A second Wharf process on the same database, as behind a load balancer.
    /// Runs this app's jobs: a process of the same settings with a job worker (for an app
    /// spawned without, whose jobs were set up to be run later).
    pub fn start_workers(&self) {
        let mut working = self.settings.clone();
        working.job_workers = 1;
        let sibling = Application::build(working).expect("a process with workers");
        tokio::spawn(sibling.run_until_stopped());
    }

    pub fn spawn_sibling(&self) -> TestApp {
        let app = Application::build(self.settings.clone()).expect("sibling builds");
        let port = app.port();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            settings: self.settings.clone(),
            base: format!("http://127.0.0.1:{port}"),
            client: new_client(),
            pool: self.pool.clone(),
            key: self.key.clone(),
            env_id: self.env_id.clone(),
            setup_link: None,
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            _dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The same app seen by another browser (no cookies).
    pub fn with_new_client(mut self) -> Self {
        self.client = new_client();
        self
    }

    /// A second handle on the same app, as another browser (no cookies).
    pub fn clone_with_new_client(&self) -> BrowserHandle {
        BrowserHandle {
            base: self.base.clone(),
            client: new_client(),
        }
    }

    /// A dashboard user with [`PASSWORD`].
    pub fn make_user(&self, email: &str, admin: bool) {
        let mut conn = self.pool.get().expect("conn");
        let hash = wharf::auth::password::hash(PASSWORD).expect("hash");
        wharf::model::user::create(&mut conn, email, &hash, admin).expect("user");
    }

    /// Opens the sign-in form and posts it; the client keeps the session cookie.
    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        let token = self.sign_in_token().await;
        self.sign_in_with(&token, email, password).await
    }

    /// Opens the sign-in form (the client keeps its cookie) and returns the form's token.
    pub async fn sign_in_token(&self) -> String {
        let html = self.page("/sign-in").await;
        let needle = "name=\"csrf_token\" value=\"";
        let start = html.find(needle).expect("token field") + needle.len();
        html[start..start + html[start..].find('"').expect("end")].to_string()
    }

    /// Posts the sign-in form with this token.
    pub async fn sign_in_with(&self, token: &str, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/sign-in"))
            .form(&[("csrf_token", token), ("email", email), ("password", password)])
            .send()
            .await
            .expect("sign in")
    }

    /// A page's HTML, fetched with this client's cookies.
    pub async fn page(&self, path: &str) -> String {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html")
    }

    /// The CSRF token of a page, read from its meta tag.
    pub async fn csrf(&self, path: &str) -> String {
        let html = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
        meta_csrf(&html)
    }

    /// A new secret key of the `production` environment (another environment than `key`'s).
    pub fn production_key(&self) -> String {
        let mut conn = self.pool.get().unwrap();
        let prod = wharf::model::environment::find_by_name(&mut conn, "production")
            .unwrap()
            .unwrap();
        wharf::model::api_key::create(&mut conn, &prod.id).unwrap().1
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request to the API with this app's key.
    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(&format!("/v1{path}")))
            .bearer_auth(&self.key)
    }

    /// A GET's body as text, as sent (numbers spelled as Wharf wrote them).
    pub async fn get_text(&self, path: &str) -> String {
        let resp = self.api(reqwest::Method::GET, path).send().await.expect("GET");
        resp.text().await.expect("body")
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        send(self.api(reqwest::Method::GET, path)).await
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        send(self.api(reqwest::Method::POST, path).json(body)).await
    }

    pub async fn put_json(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        send(self.api(reqwest::Method::PUT, path).json(body)).await
    }

    pub async fn patch_json(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        send(self.api(reqwest::Method::PATCH, path).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, serde_json::Value) {
        send(self.api(reqwest::Method::DELETE, path)).await
    }

    /// Deploys the contacts blueprint and creates a space from it; returns the space JSON.
    pub async fn space_from_blueprint(&self) -> serde_json::Value {
        let (status, config) = self.post_json("/space-configs", &contacts_blueprint()).await;
        assert_eq!(status, 200, "{config}");
        let body = serde_json::json!({"name": "Acme onboarding", "spaceConfigId": config["data"]["id"]});
        let (status, space) = self.post_json("/spaces", &body).await;
        assert_eq!(status, 200, "{space}");
        space["data"].clone()
    }

    /// The id of the sheet with `slug` in the space's first workbook.
    pub async fn sheet_id(&self, space: &serde_json::Value, slug: &str) -> String {
        let (_, wbs) = self
            .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
            .await;
        let sheets = wbs["data"][0]["sheets"].as_array().expect("sheets").clone();
        let sheet = sheets.iter().find(|s| s["slug"] == slug).expect("sheet by slug");
        sheet["id"].as_str().unwrap().to_string()
    }

    /// A sheet's number, which names its indexes.
    pub fn sheet_seq(&self, sheet_id: &str) -> i64 {
        use diesel::prelude::*;
        use wharf::db::schema::sheets;
        let mut conn = self.pool.get().expect("conn");
        sheets::table
            .filter(sheets::id.eq(sheet_id))
            .select(sheets::seq)
            .first(&mut *conn)
            .expect("sheet")
    }
}

/// The ids of the records a write answered with.
pub fn record_ids(body: &serde_json::Value) -> Vec<String> {
    body["data"]["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

impl TestApp {
    /// A space without workbooks; returns its id.
    pub async fn bare_space(&self, name: &str) -> String {
        let (status, space) = self
            .post_json("/spaces", &serde_json::json!({"name": name}))
            .await;
        assert_eq!(status, 200, "{space}");
        space["data"]["id"].as_str().expect("space id").to_string()
    }

    /// Uploads `bytes` as `name` into a space the way `@flatfile/api` does, but with the
    /// file part first (fields may follow it).
    pub async fn upload(&self, space_id: &str, name: &str, bytes: Vec<u8>) -> (u16, serde_json::Value) {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str("application/octet-stream")
            .expect("mime");
        let form = reqwest::multipart::Form::new()
            .part("file", part)
            .text("spaceId", space_id.to_string())
            .text("environmentId", self.env_id.to_string());
        send(self.api(reqwest::Method::POST, "/files").multipart(form)).await
    }

    /// Waits until a job is complete, failed or canceled; returns it.
    pub async fn wait_job(&self, job_id: &str) -> serde_json::Value {
        // Up to two minutes: the whole suite shares two cores.
        for _ in 0..1200 {
            let (status, job) = self.get_json(&format!("/jobs/{job_id}")).await;
            assert_eq!(status, 200, "{job}");
            if ["complete", "failed", "canceled"].contains(&job["data"]["status"].as_str().unwrap_or("")) {
                return job["data"].clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("job {job_id} did not finish in time");
    }

    /// Uploads a file and waits for its extraction; returns the file as it then is.
    pub async fn upload_and_extract(&self, space_id: &str, name: &str, bytes: Vec<u8>) -> serde_json::Value {
        let (status, file) = self.upload(space_id, name, bytes).await;
        assert_eq!(status, 200, "{file}");
        let file_id = file["data"]["id"].as_str().expect("file id").to_string();
        let (_, jobs) = self.get_json(&format!("/jobs?fileId={file_id}")).await;
        let job_id = jobs["data"][0]["id"].as_str().expect("extract job").to_string();
        self.wait_job(&job_id).await;
        let (_, file) = self.get_json(&format!("/files/{file_id}")).await;
        file["data"].clone()
    }

    /// The values of a sheet's records, by field key, in order.
    pub async fn sheet_rows(&self, sheet_id: &str) -> Vec<Vec<String>> {
        let (_, sheet) = self.get_json(&format!("/sheets/{sheet_id}")).await;
        let keys: Vec<String> = sheet["data"]["config"]["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| f["key"].as_str().unwrap().to_string())
            .collect();
        let (_, recs) = self
            .get_json(&format!("/sheets/{sheet_id}/records?pageSize=10000"))
            .await;
        recs["data"]["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| {
                keys.iter()
                    .map(|k| r["values"][k]["value"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .collect()
    }
}

pub async fn send(req: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, json)
}

/// Two sheets: companies (unique code) and contacts (required + unique email, typed fields,
/// a reference to companies).
pub fn contacts_blueprint() -> serde_json::Value {
    serde_json::json!({
        "name": "Customer onboarding",
        "slug": "onboarding",
        "workbooks": [{
            "name": "Customers",
            "sheets": [
                {"name": "Companies", "slug": "companies", "fields": [
                    {"key": "code", "type": "string", "label": "Code", "constraints": [{"type": "unique"}]},
                    {"key": "name", "type": "string", "label": "Name"}
                ]},
                {"name": "Contacts", "slug": "contacts", "fields": [
                    {"key": "email", "type": "string", "label": "Email",
                     "constraints": [{"type": "required"}, {"type": "unique", "config": {"caseSensitive": false, "ignoreEmpty": true}}]},
                    {"key": "name", "type": "string", "label": "Name"},
                    {"key": "age", "type": "number", "label": "Age"},
                    {"key": "subscribed", "type": "boolean", "label": "Subscribed"},
                    {"key": "joined", "type": "date", "label": "Joined"},
                    {"key": "tier", "type": "enum", "label": "Tier", "config": {"options": [
                        {"value": "gold", "label": "Gold", "alternativeNames": ["premium"]},
                        {"value": "silver", "label": "Silver"}]}},
                    {"key": "company", "type": "reference", "label": "Company",
                     "config": {"ref": "companies", "key": "code", "relationship": "has-one"}}
                ]}
            ]
        }]
    })
}

//! The real `wharf` binary as a child process, for tests that kill it (`kill -9`) or stop
//! it (SIGTERM) and start it again on the same database and data folder.

use crate::helpers::send;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Server {
    pub child: Child,
    pub base: String,
    pub client: reqwest::Client,
    pub key: String,
}

impl Server {
    /// Starts `wharf serve` on a free port (webhooks may reach this machine) and waits
    /// until it answers.
    pub async fn start(settings: &wharf::settings::Settings, key: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_wharf"))
            .arg("serve")
            .env("DATABASE_URL", &settings.database_url)
            .env("WHARF_DATA_DIR", &settings.data_dir)
            .env("WHARF_BIND", format!("127.0.0.1:{port}"))
            .env("WHARF_WEBHOOK_PRIVATE", "allow")
            .env("WHARF_LOG", "warn")
            .env("WHARF_JOB_WORKERS", settings.job_workers.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("wharf serve starts");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            key: key.to_string(),
        };
        for _ in 0..200 {
            let health = server.client.get(format!("{}/health", server.base)).send();
            if health.await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("wharf serve did not answer");
    }

    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}/v1{path}", self.base))
            .bearer_auth(&self.key)
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = send(self.api(reqwest::Method::GET, path)).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// `kill -9`: no chance to finish anything.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reaped");
    }
}

/// A secret key of the `development` environment, made by `wharf key create` (after `wharf
/// migrate`, which makes the database of a new folder: `key create` takes none).
pub fn created_key(settings: &wharf::settings::Settings) -> String {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_wharf"))
            .args(args)
            .env("DATABASE_URL", &settings.database_url)
            .env("WHARF_DATA_DIR", &settings.data_dir)
            .output()
            .expect("wharf runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["migrate"]);
    run(&["key", "create", "--env", "development"]).trim().to_string()
}

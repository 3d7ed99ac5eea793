//! A real local SMTP server for the tests (Python's `aiosmtpd`, installed with pip when
//! missing): every message it receives lands as an `.eml` file in a temp folder.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

/// Installs `aiosmtpd` once per test binary when Python cannot import it.
fn ensure_aiosmtpd() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let importable = || {
            Command::new("python3")
                .args(["-c", "import aiosmtpd"])
                .status()
                .is_ok_and(|s| s.success())
        };
        if importable() {
            return;
        }
        for extra in [&[][..], &["--break-system-packages"][..]] {
            let _ = Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "aiosmtpd"])
                .args(extra)
                .status();
            if importable() {
                return;
            }
        }
        panic!("aiosmtpd is missing and `python3 -m pip install aiosmtpd` did not install it");
    });
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        Self::start_on(0)
    }

    /// A sink on `port` (0: any free one), for a server that comes up late.
    pub fn start_on(port: u16) -> SmtpSink {
        ensure_aiosmtpd();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py"))
            .arg(dir.path())
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting tests/smtp_sink.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("reading the sink's first line");
        let port = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP sink did not start: {line:?}"));
        SmtpSink { port, dir, child }
    }

    /// `smtp://127.0.0.1:PORT`, for `WHARF_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far, oldest first.
    pub fn messages(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("sink folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "eml")
                    && !p
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .starts_with('.')
            })
            .collect();
        paths.sort();
        paths
    }

    /// Waits up to 10 s for the `n`th message (1-based) and returns it decoded.
    pub async fn wait_for(&self, n: usize) -> wharf::mail::outbox::ReadMail {
        self.wait_within(n, Duration::from_secs(10)).await
    }

    /// Waits up to `limit` for the `n`th message (1-based) and returns it decoded.
    pub async fn wait_within(&self, n: usize, limit: Duration) -> wharf::mail::outbox::ReadMail {
        let deadline = Instant::now() + limit;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                let raw = std::fs::read(&messages[n - 1]).expect("message file");
                return wharf::mail::outbox::parse(&raw);
            }
            assert!(Instant::now() < deadline, "no message number {n} arrived");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

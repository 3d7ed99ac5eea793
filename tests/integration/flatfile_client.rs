//! Runs the official @flatfile/api client (installed from package-lock.json) against a
//! fresh Wharf on each backend.

use crate::helpers::*;
use crate::on_both;

/// Runs one of tests/flatfile-client's suites against `app`; returns node's report once
/// it passed.
pub async fn run_client_suite(app: &TestApp, suite: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    assert!(
        std::path::Path::new(root)
            .join("node_modules/@flatfile/api")
            .exists(),
        "run `npm ci` first (scripts/test.sh does)"
    );
    let out = tokio::process::Command::new("node")
        .args([
            "--test",
            "--test-reporter=spec",
            &format!("tests/flatfile-client/{suite}"),
        ])
        .current_dir(root)
        .env("WHARF_API", app.url("/v1"))
        .env("WHARF_KEY", &app.key)
        .env("WHARF_ENV_ID", app.env_id.as_str())
        .output()
        .await
        .expect("node runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "Flatfile client suite {suite} failed:\n{report}"
    );
    report
}

async fn the_flatfile_client_runs_unchanged(db: Db) {
    let app = spawn_app(db).await;
    let report = run_client_suite(&app, "client.test.mjs").await;
    assert!(
        report.contains("pass 5") && report.contains("fail 0"),
        "expected five passing client tests:\n{report}"
    );
}

on_both!(the_flatfile_client_runs_unchanged);

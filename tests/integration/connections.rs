//! Connections and logs as operators see them: an idle connection outlives a load
//! balancer's usual 60 s idle timeout (and says how long in `Keep-Alive`), and a log written
//! to a pipe carries no terminal colour codes.

use crate::helpers::*;
use crate::on_both;
use std::io::{Read, Write};
use std::time::Duration;

/// One HTTP/1.1 request on an open connection; returns the head of the answer.
fn get_health(stream: &mut std::net::TcpStream) -> String {
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("request written");
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).expect("answer read");
    String::from_utf8_lossy(&buf[..n]).to_string()
}

async fn an_idle_connection_is_kept_longer_than_load_balancers_keep_theirs(db: Db) {
    let app = spawn_app(db).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let answered = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let first = get_health(&mut stream);
        // actix closed idle connections after 5 s; a client reusing one then failed.
        std::thread::sleep(Duration::from_secs(7));
        let second = get_health(&mut stream);
        (first, second)
    })
    .await
    .unwrap();
    assert!(answered.0.starts_with("HTTP/1.1 200"), "{}", answered.0);
    assert!(
        answered.0.to_lowercase().contains("keep-alive: timeout=75"),
        "{}",
        answered.0
    );
    assert!(
        answered.1.starts_with("HTTP/1.1 200"),
        "the connection was closed: {:?}",
        answered.1
    );
}

async fn a_log_written_to_a_pipe_has_no_colour_codes(db: Db) {
    let (settings, _dir) = test_settings(db);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wharf"))
        .arg("migrate")
        .env("DATABASE_URL", &settings.database_url)
        .env("WHARF_DATA_DIR", &settings.data_dir)
        .env("WHARF_LOG", "debug")
        .output()
        .expect("wharf migrate runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.trim().is_empty(), "something was logged");
    assert!(!log.contains('\u{1b}'), "colour codes in a piped log: {log:?}");
}

on_both!(
    an_idle_connection_is_kept_longer_than_load_balancers_keep_theirs,
    a_log_written_to_a_pipe_has_no_colour_codes
);

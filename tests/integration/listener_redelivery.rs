//! serve.mjs runs an event again when Wharf sends it again after the first run ended: Wharf
//! does so only when the work was not done (a commit no hook answered because Wharf stopped
//! while the hook wrote; @flatfile/listener only logs that write as failed), so answering it
//! from memory lost those records' checks for good (probe 62d D2). A retry arriving while
//! the run is under way still waits for it instead of starting another.

use crate::helpers::*;
use crate::listener::{start_node, wharf_env};
use crate::on_both;
use serde_json::json;
use std::time::Duration;

async fn a_delivery_sent_again_after_its_run_runs_again(db: Db) {
    let app = spawn_app(db).await;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string();
    let mut env = wharf_env(&app);
    env.push(("WHARF_WEBHOOK_SECRET", secret.clone()));
    env.push(("PORT", "0".to_string()));
    // Ended runs are kept 30 s (a timed-out try's retry shares them); not here.
    env.push(("KEEP_ENDED_MS", "0".to_string()));
    let (node, line) = start_node("serve.mjs", &env, "listening on ");
    let port: u16 = line["listening on ".len()..].parse().expect("a port");
    let event = json!({"id": "us_evt_again", "topic": "space:updated", "domain": "space",
        "context": {"environmentId": app.env_id, "accountId": "us_acc_x"},
        "payload": {}, "createdAt": "2026-01-01T00:00:00.000Z"})
    .to_string();
    let send = || {
        let now = chrono::Utc::now().timestamp();
        let signed = wharf::workers::webhooks::signature(&[&secret], "msg_again", now, &event);
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/"))
            .header("content-type", "application/json")
            .header("webhook-id", "msg_again")
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signed)
            .body(event.clone())
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 200);
    assert_eq!(send().await.unwrap().status(), 200);
    let runs = |out: String| out.matches("event space:updated us_evt_again").count();
    for _ in 0..50 {
        if runs(node.output()) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(runs(node.output()), 2, "{}", node.output());
}

on_both!(a_delivery_sent_again_after_its_run_runs_again);

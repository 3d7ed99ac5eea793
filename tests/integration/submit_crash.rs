//! A Submit survives `kill -9`: the real binary is killed while a submission waits for its
//! next try (the receiver answered 503), started again, and the submission arrives, every
//! copy under the same `webhook-id`, and the job completes once.

use crate::helpers::*;
use crate::on_both;
use crate::real_binary::{created_key, Server};
use crate::submit::submit_action;
use crate::submit_receiver::Receiver;
use serde_json::{json, Value};
use std::time::Duration;

async fn post(server: &Server, path: &str, body: Value) -> Value {
    let (status, got) = send(server.api(reqwest::Method::POST, path).json(&body)).await;
    assert_eq!(status, 200, "POST {path}: {got}");
    got["data"].clone()
}

async fn job_of(server: &Server, id: &str) -> Value {
    server.get(&format!("/jobs/{id}")).await["data"].clone()
}

async fn a_submit_arrives_after_the_server_is_killed_during_its_retries(db: Db) {
    let (settings, _dir) = test_settings(db);
    let key = created_key(&settings);
    let receiver = Receiver::start();
    receiver.answer_next(&[(503, "down for a moment")]);
    let server = Server::start(&settings, &key).await;
    post(&server, "/webhooks", json!({"url": receiver.url, "slug": "crm"})).await;
    let config = post(&server, "/space-configs", contacts_blueprint()).await;
    let space = post(
        &server,
        "/spaces",
        json!({"name": "Acme", "spaceConfigId": config["id"]}),
    )
    .await;
    let space_id = space["id"].as_str().unwrap();
    let wbs = server.get(&format!("/workbooks?spaceId={space_id}")).await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let contacts = wbs["data"][0]["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slug"] == "contacts")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = send(
        server
            .api(reqwest::Method::PATCH, &format!("/workbooks/{wb}"))
            .json(&json!({"actions": [submit_action("crm")]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    post(
        &server,
        &format!("/sheets/{contacts}/records"),
        json!([{"email": "ada@acme.com", "name": "Ada"}, {"email": "bob@acme.com", "name": "Bob"}]),
    )
    .await;
    let job = post(
        &server,
        "/jobs",
        json!({"type": "workbook", "operation": "submit", "source": wb, "trigger": "immediate"}),
    )
    .await;
    let job_id = job["id"].as_str().unwrap().to_string();

    // The first try is refused; while the job waits for the next, the server dies.
    receiver.wait_for(1, 30).await;
    let mut waiting = Value::Null;
    for _ in 0..50 {
        waiting = job_of(&server, &job_id).await;
        if waiting["info"].as_str().is_some_and(|i| i.contains("503")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(waiting["status"], "executing", "{waiting}");
    server.kill();
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        receiver.got().len(),
        1,
        "nothing is sent while the server is down"
    );

    // Started again, it resumes: the submission arrives and the job completes.
    let server = Server::start(&settings, &key).await;
    let got = receiver.wait_for(2, 60).await;
    let mut done = Value::Null;
    for _ in 0..300 {
        done = job_of(&server, &job_id).await;
        if done["status"] != "executing" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done["status"], "complete", "{done}");
    assert!(done["outcome"]["message"]
        .as_str()
        .unwrap()
        .contains("2 records went to crm"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got_now = receiver.got();
    assert_eq!(got_now.len(), 2, "delivered once after the 503: {got:?}");
    assert!(
        got_now.iter().all(|g| g.webhook_id == got[0].webhook_id),
        "one webhook-id"
    );
    assert_eq!(got_now[1].json()["data"]["sheets"][1]["counts"]["total"], 2);
    let completed = server
        .get(&format!(
            "/events?spaceId={space_id}&topic=job:completed&includeAcknowledged=true&pageSize=100"
        ))
        .await;
    let of_job = completed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["context"]["jobId"] == job_id.as_str())
        .count();
    assert_eq!(of_job, 1, "the job completed once: {completed}");
    server.kill();
}

on_both!(a_submit_arrives_after_the_server_is_killed_during_its_retries);

//! Webhooks: signed deliveries to a receiver on 127.0.0.1, retries with the same
//! `webhook-id`, 410 and five days of failures disabling, topic filters, secret rotation,
//! and deliveries claimed by a dead process (who may manage them and the URLs refused:
//! `webhooks_access`).

use crate::helpers::*;
use crate::on_both;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// A tiny HTTP/1.1 receiver: answers each request with the next scripted status (200 once
/// the script is used up) and keeps what it got.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) url: String,
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        let r = Receiver {
            url,
            got: Arc::default(),
            script: Arc::default(),
        };
        let me = r.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let me = me.clone();
                tokio::spawn(async move { me.serve(sock).await });
            }
        });
        r
    }

    async fn serve(&self, mut sock: tokio::net::TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            let Ok(n) = sock.read(&mut chunk).await else {
                return;
            };
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let headers: Vec<(String, String)> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let Ok(n) = sock.read(&mut chunk).await else {
                return;
            };
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
        // The machine is shared: a stray request to a reused port (a browser's SSE
        // reconnecting, say) is not a delivery.
        let status = if headers.iter().any(|(k, _)| k == "webhook-id") {
            let status = self.script.lock().unwrap().pop_front().unwrap_or(200);
            self.got.lock().unwrap().push(Received { headers, body });
            status
        } else {
            404
        };
        let text = format!("receiver says {status}");
        let answer = format!(
            "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
            text.len()
        );
        let _ = sock.write_all(answer.as_bytes()).await;
    }

    pub(crate) fn answer_next(&self, statuses: &[u16]) {
        self.script.lock().unwrap().extend(statuses);
    }

    pub(crate) fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `n` requests came in (up to 30 s).
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..300 {
            if self.got().len() >= n {
                return self.got();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the receiver got {} requests, not {n}: {:?}",
            self.got().len(),
            self.got()
        );
    }
}

/// Whether `signature` (space-separated `v1,...`) holds a valid signature by `secret`.
fn signed_by(r: &Received, secret: &str) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ secret"))
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    let signed = format!(
        "{}.{}.{}",
        r.header("webhook-id"),
        r.header("webhook-timestamp"),
        r.body
    );
    mac.update(signed.as_bytes());
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    r.header("webhook-signature").split(' ').any(|s| s == expected)
}

pub(crate) async fn create_hook(app: &TestApp, url: &str, topics: Option<Value>) -> Value {
    let mut body = json!({"environmentId": app.env_id, "url": url, "description": "CRM sync"});
    if let Some(t) = topics {
        body["topics"] = t;
    }
    let (status, hook) = app.post_json("/webhooks", &body).await;
    assert_eq!(status, 200, "{hook}");
    hook["data"].clone()
}

/// Polls the webhook until `done` holds (up to 30 s).
async fn wait_hook(app: &TestApp, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..300 {
        let (_, h) = app.get_json(&format!("/webhooks/{id}")).await;
        if done(&h["data"]) {
            return h["data"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the webhook never got there");
}

/// Polls the delivery log until its newest delivery satisfies `done` (up to 30 s).
pub(crate) async fn wait_delivery(app: &TestApp, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        let (_, log) = app.get_json(&format!("/webhooks/{id}/deliveries")).await;
        last = log["data"][0].clone();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the delivery never got there: {last}");
}

async fn signed_deliveries_retry_with_the_same_id_and_410_disables(db: Db) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let hook = create_hook(&app, &receiver.url, Some(json!(["records:*"]))).await;
    let id = hook["id"].as_str().unwrap();
    let secret = hook["secret"].as_str().expect("the secret, once").to_string();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").expect("Standard Webhooks secret"))
        .unwrap();
    assert!(raw.len() >= 24);
    // Never shown again.
    let (_, one) = app.get_json(&format!("/webhooks/{id}")).await;
    let (_, all) = app
        .get_json(&format!("/webhooks?environmentId={}", app.env_id))
        .await;
    assert_eq!(one["data"]["topics"], json!(["records:*"]));
    assert_eq!(all["data"][0]["id"], id);
    for body in [&one, &all] {
        assert!(!body.to_string().contains(&secret), "{body}");
        assert!(body.to_string().contains("CRM sync"));
    }

    // The first try meets a 503; the retry (5 s later) carries the same webhook-id.
    receiver.answer_next(&[503]);
    let (status, _) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "ada@example.com", "name": "Ada"}]),
        )
        .await;
    assert_eq!(status, 200);
    // Another topic (the webhook wants records only) goes nowhere.
    app.post_json("/workbooks", &json!({"name": "Extra", "spaceId": space["id"]}))
        .await;
    let got = receiver.wait_for(2).await;
    // Each event travels under one webhook-id, every try of it; the record's event was tried
    // twice (503, then 200).
    let tries: Vec<&Received> = got
        .iter()
        .filter(|r| r.json()["topic"] == "records:created")
        .collect();
    assert_eq!(tries.len(), 2, "{got:?}");
    assert_eq!(tries[0].header("webhook-id"), tries[1].header("webhook-id"));
    for r in &got {
        let mut same_event = got.iter().filter(|o| o.json()["id"] == r.json()["id"]);
        assert!(
            same_event.all(|o| o.header("webhook-id") == r.header("webhook-id")),
            "{got:?}"
        );
    }
    assert!(tries[0].header("webhook-id").starts_with("us_whd_"));
    assert_eq!(tries[0].header("content-type"), "application/json");
    for r in &got {
        assert!(signed_by(r, &secret), "signature checks: {r:?}");
        let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    }
    let event = tries[1].json();
    assert_eq!(event["topic"], "records:created");
    let (_, same) = app
        .get_json(&format!("/events/{}", event["id"].as_str().unwrap()))
        .await;
    assert_eq!(event, same["data"], "the body is the event as the API shows it");
    let log = wait_delivery(&app, id, |d| d["status"] == "delivered").await;
    // The log takes no filter it would pass over (probe 69a D5: `status=failed` listed all).
    let (status, body) = app
        .get_json(&format!("/webhooks/{id}/deliveries?status=failed"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(log["attempts"], 2);
    assert_eq!(log["lastStatusCode"], 200);
    assert_eq!(log["lastResponse"], "receiver says 200");
    assert!(log["lastDurationMs"].is_i64());
    assert_eq!(log["eventId"], event["id"]);
    let tries = log["tries"].as_array().expect("each try");
    assert_eq!(tries.len(), 2, "{log}");
    assert_eq!(tries[0]["statusCode"], 503);
    assert_eq!(tries[0]["response"], "receiver says 503");
    assert_eq!(tries[0]["error"], "the receiver answered 503");
    assert_eq!(tries[1]["statusCode"], 200);
    assert!(tries[1]["durationMs"].is_i64());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let topics: Vec<Value> = receiver.got().iter().map(|r| r.json()["topic"].clone()).collect();
    assert!(
        topics.iter().all(|t| t.as_str().unwrap().starts_with("records:")),
        "no workbook event reached a records-only webhook: {topics:?}"
    );

    // 410 Gone disables the webhook.
    receiver.answer_next(&[410]);
    app.post_json(
        &format!("/sheets/{sheet}/records"),
        &json!([{"email": "bob@example.com", "name": "Bob"}]),
    )
    .await;
    let off = wait_hook(&app, id, |h| h["enabled"] == false).await;
    assert!(off["disabledReason"].as_str().unwrap().contains("410"), "{off}");
    let gone = wait_delivery(&app, id, |d| d["status"] == "failed").await;
    assert_eq!(gone["lastStatusCode"], 410);
    // Disabled, it is not queued to fail at its try (probe 63d D8: 200, then nothing).
    let did = gone["id"].as_str().unwrap();
    let (status, body) = app
        .post_json(&format!("/webhooks/{id}/deliveries/{did}/retry"), &json!({}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("the webhook is disabled"), "{body}");

    // Enabled again, the failed delivery can be sent again by hand, under its own id.
    let (status, on) = app
        .patch_json(&format!("/webhooks/{id}"), &json!({"enabled": true}))
        .await;
    assert_eq!(status, 200, "{on}");
    assert_eq!(on["data"]["disabledReason"], Value::Null);
    let did = gone["id"].as_str().unwrap();
    let (status, _) = app
        .post_json(&format!("/webhooks/{id}/deliveries/{did}/retry"), &json!({}))
        .await;
    assert_eq!(status, 200);
    let again = wait_delivery(&app, id, |d| d["status"] == "delivered").await;
    assert_eq!(again["id"], did);
    assert_eq!(receiver.got().last().unwrap().header("webhook-id"), did);
}

async fn rotation_signs_with_both_secrets_and_tests_ping_one_webhook(db: Db) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let other = Receiver::start().await;
    // By name: resolved, checked, and connected to as checked.
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let hook = create_hook(&app, &by_name, None).await;
    assert_eq!(hook["topics"], json!(["**"]), "all topics by default");
    create_hook(&app, &other.url, None).await;
    let id = hook["id"].as_str().unwrap();
    let old = hook["secret"].as_str().unwrap().to_string();
    let (status, rotated) = app
        .post_json(&format!("/webhooks/{id}/rotate-secret"), &json!({}))
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["data"]["secret"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    assert!(rotated["data"]["previousSecretValidUntil"].is_string());

    let (status, _) = app.post_json(&format!("/webhooks/{id}/test"), &json!({})).await;
    assert_eq!(status, 200);
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].json()["topic"], "webhook:test");
    let sigs: Vec<&str> = got[0].header("webhook-signature").split(' ').collect();
    assert_eq!(sigs.len(), 2, "{sigs:?}");
    assert!(signed_by(&got[0], &old) && signed_by(&got[0], &new));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(other.got().is_empty(), "a test ping goes to its webhook alone");
}

/// The worker alone on a database: a delivery claimed by a process that died is taken up
/// after the lease, one claimed moments ago is left alone; a webhook failing for five days
/// is disabled.
async fn deliveries_of_a_dead_process_are_sent_and_five_failing_days_disable(db: Db) {
    use diesel::prelude::*;
    use wharf::db::schema::{webhook_deliveries as wd, webhooks};
    use wharf::model::{event, webhook};
    let (settings, _dir) = test_settings(db);
    let pool = wharf::app::prepare_database(&settings).unwrap();
    let receiver = Receiver::start().await;
    let mut conn = pool.get().unwrap();
    let env = wharf::model::environment::find_by_name(&mut conn, "development")
        .unwrap()
        .unwrap()
        .id;
    let hook = webhook::create(&mut conn, &env, &receiver.url, &["**".to_string()], "").unwrap();
    let ctx = event::Context::new(&env, "test");
    event::emit(&mut conn, &ctx, "space:created", json!({"n": 1})).unwrap();
    event::emit(&mut conn, &ctx, "space:created", json!({"n": 2})).unwrap();
    // A change that rolls back takes its event's deliveries with it.
    let rolled: Result<(), diesel::result::Error> = wharf::db::write_tx(&mut conn, |c| {
        event::emit(c, &ctx, "space:created", json!({"n": "rolled back"}))?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(rolled.is_err());
    let ids: Vec<String> = wd::table
        .order(wd::event_id)
        .select(wd::id)
        .load(&mut conn)
        .unwrap();
    assert_eq!(ids.len(), 2, "one delivery per event, written with it");
    let t = wharf::model::now();
    let claim = |id: &str, at: chrono::NaiveDateTime, conn: &mut wharf::db::AnyConnection| {
        diesel::update(wd::table.find(id))
            .set((wd::claimed_by.eq("dead"), wd::claimed_at.eq(Some(at))))
            .execute(conn)
            .unwrap();
    };
    claim(&ids[0], t - chrono::TimeDelta::minutes(2), &mut conn);
    claim(&ids[1], t, &mut conn);
    let running = wharf::workers::webhooks::start(wharf::workers::webhooks::Context {
        pool: pool.clone(),
        settings: settings.clone(),
        render: wharf::web::api::events::event_json,
        worker_id: "alive".into(),
        mail: std::sync::Arc::new(wharf::mail::Mailer::from_settings(&settings).unwrap()),
    })
    .unwrap();
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].header("webhook-id"), ids[0]);
    assert_eq!(got[0].json()["payload"]["n"], 1);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(receiver.got().len(), 1, "a live claim is left to its process");

    // Failing since six days: the next failure disables it.
    diesel::update(webhooks::table.find(&hook.id))
        .set(webhooks::failing_since.eq(Some(t - chrono::TimeDelta::days(6))))
        .execute(&mut conn)
        .unwrap();
    receiver.answer_next(&[500]);
    event::emit(&mut conn, &ctx, "space:updated", json!({})).unwrap();
    receiver.wait_for(2).await;
    let mut reason = None;
    for _ in 0..100 {
        let h = webhook::find_any(&mut conn, &hook.id).unwrap().unwrap();
        if !h.enabled {
            reason = h.disabled_reason;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reason = reason.expect("disabled");
    assert!(reason.contains("5 days") && reason.contains("500"), "{reason}");
    drop(running);
}

/// Two workers (as two processes would) on one database share the deliveries: each is
/// sent once.
async fn two_workers_send_each_delivery_once(db: Db) {
    use wharf::model::{event, webhook};
    let (settings, _dir) = test_settings(db);
    let pool = wharf::app::prepare_database(&settings).unwrap();
    let receiver = Receiver::start().await;
    let mut conn = pool.get().unwrap();
    let env = wharf::model::environment::find_by_name(&mut conn, "development")
        .unwrap()
        .unwrap()
        .id;
    webhook::create(&mut conn, &env, &receiver.url, &["**".to_string()], "").unwrap();
    let ctx = event::Context::new(&env, "test");
    for n in 0..60 {
        event::emit(&mut conn, &ctx, "space:updated", json!({"n": n})).unwrap();
    }
    let start = |name: &str| {
        wharf::workers::webhooks::start(wharf::workers::webhooks::Context {
            pool: pool.clone(),
            settings: settings.clone(),
            render: wharf::web::api::events::event_json,
            worker_id: name.into(),
            mail: std::sync::Arc::new(wharf::mail::Mailer::from_settings(&settings).unwrap()),
        })
        .unwrap()
    };
    let (a, b) = (start("one"), start("two"));
    receiver.wait_for(60).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let got = receiver.got();
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((got.len(), ids.len()), (60, 60), "each delivery sent once");
    drop((a, b));
}

/// A webhook turned off fails its deliveries waiting for a retry at once: turned on again
/// before their retry was due, none goes after all (probe 69a D3).
async fn disabling_fails_the_deliveries_waiting_for_a_retry(db: Db) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let hook = create_hook(&app, &receiver.url, Some(json!(["records:*"]))).await;
    let id = hook["id"].as_str().unwrap();
    receiver.answer_next(&[500]);
    let rows = json!([{"email": "ann@example.com", "name": "Ann"}]);
    app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    let waiting = wait_delivery(&app, id, |d| d["status"] == "pending" && d["attempts"] == 1).await;
    let (status, body) = app
        .patch_json(&format!("/webhooks/{id}"), &json!({"enabled": false}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, log) = app.get_json(&format!("/webhooks/{id}/deliveries")).await;
    assert_eq!(log["data"][0]["id"], waiting["id"]);
    assert_eq!(log["data"][0]["status"], "failed", "{log}");
    assert_eq!(log["data"][0]["lastError"], "the webhook is disabled", "{log}");
    let (status, _) = app
        .patch_json(&format!("/webhooks/{id}"), &json!({"enabled": true}))
        .await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(receiver.got().len(), 1, "the one try before it was turned off");
}

on_both!(
    disabling_fails_the_deliveries_waiting_for_a_retry,
    two_workers_send_each_delivery_once,
    signed_deliveries_retry_with_the_same_id_and_410_disables,
    rotation_signs_with_both_secrets_and_tests_ping_one_webhook,
    deliveries_of_a_dead_process_are_sent_and_five_failing_days_disable,
);

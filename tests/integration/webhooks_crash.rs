//! Nothing is lost: the real binary, killed with `kill -9` while 10,000 webhook deliveries
//! wait (some of them on the wire), sends every event at least once after a restart, each
//! always under its one `webhook-id`, and its delivery log ends all `delivered`.

use crate::helpers::*;
use crate::on_both;
use crate::real_binary::{created_key, Server};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Events sent through the webhook.
const EVENTS: usize = 10_000;
/// Deliveries the receiver has taken when the server is killed.
const KILL_AFTER: usize = 2_000;

/// What the receiver shares with its handler.
struct Shared {
    /// Closed, the receiver holds every request: deliveries pile up.
    gate: tokio::sync::watch::Receiver<bool>,
    /// `(webhook-id, event id)` of each request answered 200, in order.
    got: Mutex<Vec<(String, String)>>,
}

/// A receiver on 127.0.0.1 (its own thread and runtime) that answers 200 a few
/// milliseconds after the gate opens, keeping what it got.
struct Receiver {
    url: String,
    gate: tokio::sync::watch::Sender<bool>,
    shared: Arc<Shared>,
}

impl Receiver {
    fn start() -> Receiver {
        let (gate, gate_rx) = tokio::sync::watch::channel(false);
        let shared = Arc::new(Shared {
            gate: gate_rx,
            got: Mutex::default(),
        });
        let data = web::Data::from(shared.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .default_service(web::to(receive))
                })
                .workers(1)
                .bind(("127.0.0.1", 0))
                .expect("receiver binds");
                tx.send(server.addrs()[0]).unwrap();
                server.run().await
            })
        });
        let addr = rx.recv().expect("receiver address");
        Receiver {
            url: format!("http://{addr}/hook"),
            gate,
            shared,
        }
    }

    fn got(&self) -> Vec<(String, String)> {
        self.shared.got.lock().unwrap().clone()
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let mut gate = shared.gate.clone();
    let _ = gate.wait_for(|open| *open).await;
    tokio::time::sleep(Duration::from_millis(3)).await;
    let id = req
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let event: Value = serde_json::from_slice(&body).unwrap_or_default();
    let event_id = event["id"].as_str().unwrap_or_default().to_string();
    shared.got.lock().unwrap().push((id, event_id));
    HttpResponse::Ok().body("ok")
}

/// Creates `EVENTS` custom events, 16 requests at a time; returns their ids.
async fn create_events(server: &Server, env_id: &str) -> HashSet<String> {
    let requests = (0..EVENTS).map(|i| {
        let req = server.api(reqwest::Method::POST, "/events").json(&json!({
            "topic": "space:updated", "domain": "space",
            "context": {"environmentId": env_id}, "payload": {"n": i}
        }));
        async move {
            let (status, body) = send(req).await;
            assert_eq!(status, 200, "{body}");
            body["data"]["id"].as_str().unwrap().to_string()
        }
    });
    futures_util::stream::iter(requests)
        .buffer_unordered(16)
        .collect()
        .await
}

/// Every delivery of the webhook, through its delivery log.
async fn deliveries(server: &Server, hook_id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let got = server
            .get(&format!(
                "/webhooks/{hook_id}/deliveries?pageSize=1000&pageNumber={page}"
            ))
            .await;
        let rows = got["data"].as_array().unwrap().clone();
        if rows.is_empty() {
            return out;
        }
        out.extend(rows);
    }
    unreachable!()
}

async fn no_delivery_is_lost_when_the_server_is_killed(db: Db) {
    let (settings, _dir) = test_settings(db);
    let key = created_key(&settings);
    let receiver = Receiver::start();
    let server = Server::start(&settings, &key).await;
    let envs = server.get("/environments").await;
    let env_id = envs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "development")
        .expect("the development environment")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, hook) = send(server.api(reqwest::Method::POST, "/webhooks").json(&json!({
        "environmentId": env_id, "url": receiver.url, "topics": ["space:updated"]
    })))
    .await;
    assert_eq!(status, 200, "{hook}");
    let hook_id = hook["data"]["id"].as_str().unwrap().to_string();

    // All the events wait (the receiver holds the first requests), then go out; the
    // server is killed in the middle of sending them.
    let started = Instant::now();
    let events = create_events(&server, &env_id).await;
    assert_eq!(events.len(), EVENTS);
    println!("{EVENTS} events in {:?}", started.elapsed());
    receiver.gate.send_replace(true);
    while receiver.got().len() < KILL_AFTER {
        assert!(started.elapsed() < Duration::from_secs(300), "deliveries stalled");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    let at_kill = receiver.got().len();
    assert!(at_kill < EVENTS, "all were delivered before the kill");
    println!("killed after {at_kill} deliveries, {:?}", started.elapsed());

    // After the restart every event arrives; the ones claimed by the dead process come
    // back once their lease runs out.
    let server = Server::start(&settings, &key).await;
    let restarted = Instant::now();
    loop {
        let seen: HashSet<String> = receiver.got().into_iter().map(|(_, e)| e).collect();
        if seen.len() == EVENTS {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(300),
            "only {} of {EVENTS} events arrived",
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("all arrived {:?} after the restart", restarted.elapsed());

    // Each event came under one webhook-id, and each webhook-id carried one event.
    let got = receiver.got();
    let mut ids_of_event: HashMap<&str, HashSet<&str>> = HashMap::new();
    let mut event_of_id: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (id, event) in &got {
        assert!(!id.is_empty() && !event.is_empty(), "{id} {event}");
        ids_of_event.entry(event).or_default().insert(id);
        event_of_id.entry(id).or_default().insert(event);
    }
    let got_events: HashSet<String> = ids_of_event.keys().map(|e| e.to_string()).collect();
    assert_eq!(got_events, events, "exactly the events created arrived");
    assert!(ids_of_event.values().all(|ids| ids.len() == 1));
    assert!(event_of_id.values().all(|evs| evs.len() == 1));
    println!("{} requests for {EVENTS} events", got.len());

    // The delivery log ends all delivered, under the ids the receiver saw.
    loop {
        let log = deliveries(&server, &hook_id).await;
        assert_eq!(log.len(), EVENTS);
        let waiting = log.iter().filter(|d| d["status"] != "delivered").count();
        if waiting == 0 {
            for d in &log {
                let id = d["id"].as_str().unwrap();
                let sent = &event_of_id[id];
                assert!(sent.contains(d["eventId"].as_str().unwrap()), "{d}");
            }
            break;
        }
        let failed: Vec<&Value> = log.iter().filter(|d| d["status"] == "failed").collect();
        assert!(failed.is_empty(), "{:?}", failed.first());
        assert!(
            restarted.elapsed() < Duration::from_secs(360),
            "{waiting} deliveries still not marked delivered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.kill();
}

on_both!(no_delivery_is_lost_when_the_server_is_killed);

//! A local Submit receiver for the tests: an actix server on 127.0.0.1 (its own thread)
//! that answers each delivery with the next scripted `(status, body)` (200 and no body once
//! the script is used up) and keeps what it got; the webhook's other events are taken
//! and dropped.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Got {
    pub webhook_id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
}

impl Got {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// Whether the Standard Webhooks signature holds for `secret`.
    pub fn signed_by(&self, secret: &str) -> bool {
        let key = base64::engine::general_purpose::STANDARD
            .decode(secret.strip_prefix("whsec_").expect("whsec_ secret"))
            .unwrap();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.{}", self.webhook_id, self.timestamp, self.body).as_bytes());
        let expected = format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        );
        self.signature.split(' ').any(|s| s == expected)
    }
}

#[derive(Default)]
struct Shared {
    got: Mutex<Vec<Got>>,
    script: Mutex<VecDeque<(u16, String, Duration)>>,
}

pub struct Receiver {
    pub url: String,
    shared: Arc<Shared>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let shared = Arc::new(Shared::default());
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
            url: format!("http://{addr}/submit"),
            shared,
        }
    }

    pub fn answer_next(&self, answers: &[(u16, &str)]) {
        let mut script = self.shared.script.lock().unwrap();
        script.extend(answers.iter().map(|(s, b)| (*s, b.to_string(), Duration::ZERO)));
    }

    /// The next delivery is answered only after `pause` (a receiver still working).
    pub fn answer_next_after(&self, pause: Duration, status: u16, body: &str) {
        let mut script = self.shared.script.lock().unwrap();
        script.push_back((status, body.to_string(), pause));
    }

    pub fn got(&self) -> Vec<Got> {
        self.shared.got.lock().unwrap().clone()
    }

    /// Waits until `n` deliveries came in (up to `seconds`).
    pub async fn wait_for(&self, n: usize, seconds: u64) -> Vec<Got> {
        for _ in 0..seconds * 10 {
            if self.got().len() >= n {
                return self.got();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the receiver got {} deliveries, not {n}", self.got().len());
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let body = String::from_utf8_lossy(&body).into_owned();
    if header("webhook-id").is_empty() {
        // A stray request to a reused port is not a delivery.
        return HttpResponse::NotFound().finish();
    }
    if !body.contains("\"workbook.submitted\"") {
        // The webhook's events (it may subscribe to any): taken, not kept.
        return HttpResponse::Ok().finish();
    }
    shared.got.lock().unwrap().push(Got {
        webhook_id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    });
    let next = shared.script.lock().unwrap().pop_front();
    let (status, answer, pause) = next.unwrap_or((200, String::new(), Duration::ZERO));
    actix_web::rt::time::sleep(pause).await;
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .content_type("application/json")
        .body(answer)
}

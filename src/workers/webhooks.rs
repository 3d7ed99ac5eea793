//! The webhook delivery worker: claims due deliveries from the outbox, POSTs each event's
//! JSON signed as Standard Webhooks asks (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature`), and notes what came of it. Failures are tried again on a schedule
//! like Svix's; a `410 Gone` answer disables the webhook, as do five days of failures (and
//! then the admins are told by mail, `webhook_alert`).
//!
//! It runs on a narrow context (pool, settings, mailer, how to render an event), so a test can
//! start it alone; every process may run it, the claims keep them apart.

use super::webhook_alert;
pub(crate) use super::webhook_clients::checked_addresses;
use super::webhook_clients::Clients;
use super::webhook_places::{Places, Snapshot, ENV_ROOM, IN_FLIGHT, LIGHT, RESERVED};
use crate::db::{AnyConnection, Pool};
use crate::ids::WebhookId;
use crate::model::event::Event;
use crate::model::now;
use crate::model::webhook::{self, Webhook, SECRET_PREFIX};
use crate::model::webhook_delivery::{self as delivery, Attempt, Delivery, Next, Outcome};
use crate::settings::Settings;
use base64::Engine;
use chrono::TimeDelta;
use futures_util::stream::{FuturesUnordered, StreamExt};
use hmac::{Hmac, Mac};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Pauses after each failed try: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
/// (eight tries), each ±10%.
pub(crate) const SCHEDULE: [i64; 7] = [5, 300, 1800, 7200, 18000, 36000, 36000];
/// A delivery claimed longer ago than this belongs to a process that died.
pub const LEASE: TimeDelta = TimeDelta::seconds(60);
/// A webhook whose deliveries all failed for this long is disabled.
pub const DISABLE_AFTER: TimeDelta = TimeDelta::days(5);
/// How long a receiver has to answer.
pub(super) const TIMEOUT: Duration = Duration::from_secs(15);
/// How long a connection to a receiver may take to be made; how a try that timed out is noted.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const NO_ANSWER: &str = "no answer within";
/// How much of an answer is kept.
const KEEP_BYTES: usize = 2048;
/// How often an idle worker looks for due deliveries (those of other processes, retries);
/// this process's new ones wake it at once.
const POLL: Duration = Duration::from_millis(250);
/// HTTP clients kept, by destination.
pub(super) const MAX_CLIENTS: usize = 256;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: i64 = 24 * 3600;

/// What the loop needs, and nothing of the web.
#[derive(Clone)]
pub struct Context {
    pub pool: Pool,
    pub settings: Settings,
    /// Renders an event as `GET /v1/events/{id}` does; the web hands its own function in,
    /// so a delivery carries the same JSON without this loop reaching up into web/.
    pub render: fn(&Event) -> serde_json::Value,
    /// This process's name in claims.
    pub worker_id: String,
    /// Tells the admins when a webhook is turned off after five failing days.
    pub mail: Arc<crate::mail::Mailer>,
}

pub use super::Running;

/// Starts the loop on its own thread.
pub fn start(ctx: Context) -> anyhow::Result<Running> {
    let (running, weak) = Running::new();
    std::thread::Builder::new()
        .name("wharf-webhooks".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return tracing::error!(error = %e, "webhook deliveries cannot start"),
            };
            rt.block_on(run(Arc::new(ctx), weak));
        })?;
    Ok(running)
}

/// A pipeline: deliveries are claimed as places free up, each is noted as soon as one
/// note is not already being written, so a slow receiver delays no one else's.
async fn run(ctx: Arc<Context>, alive: Weak<()>) {
    let clients = Arc::new(Clients::default());
    let mut flying = FuturesUnordered::new();
    let mut places = Places::default();
    let mut done: Vec<Outcome> = Vec::new();
    // The note being written; the next waits for it.
    let mut noting: Option<tokio::task::JoinHandle<()>> = None;
    let mut claimed_at = std::time::Instant::now();
    while alive.strong_count() > 0 {
        // Enough places free, or any free and a poll's time since the last claim: claim
        // (each wake-up below is a reason to look; a claim per delivery would be a write
        // per delivery). Waiting for a quarter of the places to free left due deliveries
        // waiting for stalled ones' timeouts.
        let room = IN_FLIGHT - flying.len();
        let due_look = room > 0 && claimed_at.elapsed() >= POLL;
        if flying.is_empty() || room >= IN_FLIGHT / 4 || due_look {
            claimed_at = std::time::Instant::now();
            match claim(&ctx, room, places.snapshot()).await {
                Ok(tries) => {
                    for t in tries {
                        places.claimed(&t.hook.id, &t.hook.environment_id);
                        flying.push(try_once(ctx.clone(), clients.clone(), t));
                    }
                }
                Err(e) => {
                    // Claims made before a failed read run out and are taken up again.
                    tracing::warn!(error = %e, "webhooks: claiming deliveries failed");
                    tokio::time::sleep(POLL * 4).await;
                }
            }
        }
        if !done.is_empty() && noting.as_ref().is_none_or(|n| n.is_finished()) {
            noting = Some(tokio::spawn(note(ctx.clone(), std::mem::take(&mut done))));
        }
        tokio::select! {
            Some((outcome, took)) = flying.next(), if !flying.is_empty() => {
                places.finished(&outcome.delivery.webhook_id, took);
                done.push(outcome);
            }
            _ = tokio::time::sleep(POLL) => {}
            _ = webhook::ENQUEUED.notified() => {}
        }
    }
    // Tries cut off here are claimed again once their lease runs out: at least once.
    if let Some(last) = noting {
        let _ = last.await;
    }
    note(ctx, done).await;
}

/// A claimed delivery with what sending it needs.
struct Try {
    delivery: Delivery,
    hook: Webhook,
    event: Option<Event>,
}

/// Claims up to `room` due deliveries (see [`delivery::claim_due`]), with their webhooks
/// and events read in one query each.
async fn claim(ctx: &Context, room: usize, now: Snapshot) -> anyhow::Result<Vec<Try>> {
    let worker = ctx.worker_id.clone();
    let limit = i64::try_from(room).unwrap_or(0);
    db(ctx, move |c| {
        let cap = |hook: &WebhookId| now.cap(hook);
        let flying = now.full();
        let places = delivery::Places {
            per_hook: &cap,
            flying: &flying,
            per_env: ENV_ROOM,
            env_flying: &now.env_flying,
            in_flight: IN_FLIGHT - room,
            reserved_past: IN_FLIGHT - RESERVED,
            light: LIGHT,
        };
        let due = delivery::claim_due(c, &worker, LEASE, limit, &places)?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let (hooks, events) = delivery::webhooks_and_events(c, &due)?;
        Ok(due
            .into_iter()
            .filter_map(|d| {
                // A webhook deleted took its deliveries with it: nothing to note.
                let hook = hooks.get(&d.webhook_id)?.clone();
                // An event is only its own webhook environment's.
                let event = events
                    .get(&d.event_id)
                    .filter(|e| e.environment_id == hook.environment_id)
                    .cloned();
                Some(Try {
                    delivery: d,
                    hook,
                    event,
                })
            })
            .collect())
    })
    .await
}

/// Runs blocking database work off the loop's thread.
async fn db<T: Send + 'static>(
    ctx: &Context,
    f: impl FnOnce(&mut AnyConnection) -> diesel::QueryResult<T> + Send + 'static,
) -> anyhow::Result<T> {
    let pool = ctx.pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        Ok(f(&mut conn)?)
    })
    .await?
}

/// Notes tries in one write transaction (SQLite has one writer, which events' inserts
/// wait for too; a failed note leaves the claims to run out: at least once); tells the admins of a webhook this
/// turned off for failing too long.
async fn note(ctx: Arc<Context>, outcomes: Vec<Outcome>) {
    for o in &outcomes {
        if let Some(e) = &o.attempt.error {
            tracing::info!(webhook = %o.delivery.webhook_id, delivery = %o.delivery.id, error = %e, "webhook delivery failed");
        }
    }
    if outcomes.is_empty() {
        return;
    }
    let worker = ctx.worker_id.clone();
    let noted = db(&ctx, move |c| {
        delivery::record_all(c, &worker, &outcomes, DISABLE_AFTER)
    })
    .await;
    match noted {
        Ok(off) => {
            for off in off {
                webhook_alert::tell_admins(&ctx.pool, &ctx.mail, &ctx.settings, &off).await;
            }
        }
        // The claims' lease runs out and the deliveries are tried again: at least once.
        Err(e) => tracing::warn!(error = %e, "webhooks: noting deliveries failed"),
    }
}

/// One delivery's try, or why there was none, and how long it took.
async fn try_once(ctx: Arc<Context>, clients: Arc<Clients>, t: Try) -> (Outcome, Duration) {
    let started = Instant::now();
    let Try {
        delivery: d,
        hook,
        event,
    } = t;
    let (attempt, next) = match event {
        _ if !hook.enabled => gave_up("the webhook is disabled"),
        None => gave_up("the event no longer exists"),
        // A try again is sent only while the event still asks for something. After a try
        // that reached the receiver, one that no longer does counts as delivered (its
        // handler may have run); after one that reached nothing, it is given up.
        // (Sent again by hand: sent, whatever became of its job or commit; probe 76b D4.)
        Some(ev) if d.attempts > 0 && d.last_error.as_deref() != Some(delivery::ON_REQUEST) => {
            match asked_no_more(&ctx, &ev).await {
                Some(why) if reached_before(&d) => (
                    Attempt {
                        at: now(),
                        error: Some(format!("not sent again: {why}")),
                        ..Default::default()
                    },
                    Next::Delivered,
                ),
                Some(why) => gave_up(&format!("not sent again: {why}")),
                None => send_now(&ctx, &clients, &hook, &d, &ev).await,
            }
        }
        Some(ev) => {
            let (mut attempt, mut next) = send_now(&ctx, &clients, &hook, &d, &ev).await;
            // A receiver that answers once its handler is done (Flatfile's pattern) runs a
            // handler over 15 s twice if the event is sent again: not when the handler
            // took up what the event asked for meanwhile (probe 51b 1).
            let reached = attempt.status_code.is_some() || attempt.error.as_deref().is_some_and(timed_out);
            if reached && matches!(next, Next::RetryAt(_)) {
                if let Some(why) = asked_no_more(&ctx, &ev).await {
                    attempt.error = Some(format!(
                        "{}; not sent again: {why}",
                        attempt.error.as_deref().unwrap_or("no answer")
                    ));
                    next = Next::Delivered;
                }
            }
            (attempt, next)
        }
    };
    let outcome = Outcome {
        delivery: d,
        attempt,
        next,
    };
    (outcome, started.elapsed())
}

/// Whether the last try reached the receiver: it answered, or took the request and did
/// not answer in time.
fn reached_before(d: &Delivery) -> bool {
    d.last_status_code.is_some() || d.last_error.as_deref().is_some_and(timed_out)
}

/// Why the event asks for nothing any more (see `webhook_taken_up`), if so.
async fn asked_no_more(ctx: &Context, ev: &Event) -> Option<String> {
    // Only these ask for something a listener takes up: the others need no connection.
    if !super::webhook_taken_up::ASKING.contains(&ev.topic.as_str()) {
        return None;
    }
    let (topic, context) = (ev.topic.clone(), ev.context.clone());
    db(ctx, move |c| {
        super::webhook_taken_up::taken_up(c, &topic, &context)
    })
    .await
    .ok()
    .flatten()
}

/// Sends the event and works out what follows.
async fn send_now(
    ctx: &Context,
    clients: &Clients,
    hook: &Webhook,
    d: &Delivery,
    ev: &Event,
) -> (Attempt, Next) {
    let body = (ctx.render)(ev).to_string();
    let (attempt, retry_after) = send(ctx, clients, hook, d, body).await;
    let next = next_step(d, &attempt, retry_after);
    (attempt, next)
}

/// Whether a try's error says the receiver took the request and did not answer in time:
/// then, as after an answer (an error after acknowledging the job: probe 53a 8), its
/// handler may have run (a refused connection reached nothing: probe 52a 4).
fn timed_out(error: &str) -> bool {
    error.starts_with(NO_ANSWER)
}

fn gave_up(why: &str) -> (Attempt, Next) {
    let attempt = Attempt {
        at: now(),
        error: Some(why.to_string()),
        ..Default::default()
    };
    (attempt, Next::GiveUp { disable: None })
}

/// What follows a try: done, disabled (410), another try later, or no more.
fn next_step(d: &Delivery, a: &Attempt, retry_after: Option<i64>) -> Next {
    match a.status_code {
        Some(code) if (200..300).contains(&code) => return Next::Delivered,
        Some(410) => {
            return Next::GiveUp {
                disable: Some("the receiver answered 410 Gone".into()),
            }
        }
        _ => {}
    }
    let done = usize::try_from(d.attempts).unwrap_or(0) + 1;
    let Some(pause) = SCHEDULE.get(done - 1) else {
        return Next::GiveUp { disable: None };
    };
    let jitter = rand::Rng::gen_range(&mut rand::thread_rng(), 0.9..1.1);
    let mut ms = (*pause as f64 * 1000.0 * jitter) as i64;
    if let Some(s) = retry_after {
        ms = ms.max(s.clamp(0, MAX_RETRY_AFTER) * 1000);
    }
    // From the try's end, not its start (probe 62d D1: a timed-out slow hook ran twice).
    Next::RetryAt(a.at + TimeDelta::milliseconds(i64::from(a.duration_ms.unwrap_or(0)) + ms))
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` for each secret, space-separated.
/// A JSON POST signed as Standard Webhooks asks, ready to send; `id` is the receiver's
/// idempotency key.
pub(crate) fn signed_post(
    client: &reqwest::Client,
    url: reqwest::Url,
    agent: &str,
    id: &str,
    secrets: &[&str],
    body: String,
) -> reqwest::RequestBuilder {
    let timestamp = chrono::Utc::now().timestamp();
    let sig = signature(secrets, id, timestamp, &body);
    client
        .post(url)
        .header("content-type", "application/json")
        .header("user-agent", agent)
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", sig)
        .body(body)
}

pub fn signature(secrets: &[&str], msg_id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|s| {
            let key = base64::engine::general_purpose::STANDARD
                .decode(s.strip_prefix(SECRET_PREFIX).unwrap_or(s))
                .ok()?;
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).ok()?;
            mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
            mac.update(body.as_bytes());
            let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
            Some(format!("v1,{sig}"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `Retry-After` in seconds, or as an HTTP date (RFC 9110 allows both): how many seconds
/// from now.
fn retry_after_seconds(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return Some(seconds);
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .num_seconds()
            .max(0),
    )
}

/// One try: resolve and check the address, POST to the address checked, keep the start of
/// the answer. Returns the try and the receiver's `Retry-After`, in seconds.
async fn send(
    ctx: &Context,
    clients: &Clients,
    hook: &Webhook,
    d: &Delivery,
    body: String,
) -> (Attempt, Option<i64>) {
    let at = now();
    let failed = |error: String| {
        let attempt = Attempt {
            at,
            error: Some(error),
            ..Default::default()
        };
        (attempt, None)
    };
    let url = match reqwest::Url::parse(&hook.url) {
        Ok(u) => u,
        Err(e) => return failed(format!("the URL cannot be read: {e}")),
    };
    let addrs = match checked_addresses(&url, ctx.settings.webhook_private).await {
        Ok(a) => a,
        Err(e) => return failed(e),
    };
    let client = match clients.get(&url, &addrs) {
        Ok(c) => c,
        Err(e) => return failed(format!("the HTTP client could not start: {e}")),
    };
    let started = Instant::now();
    let sent = signed_post(
        &client,
        url,
        "Wharf-Webhooks",
        d.id.as_str(),
        &hook.signing_secrets(at),
        body,
    )
    .send()
    .await;
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() && !e.is_connect() => {
            let (mut attempt, none) = failed(format!("{NO_ANSWER} {} s", TIMEOUT.as_secs()));
            attempt.duration_ms = Some(started.elapsed().as_millis() as i32);
            return (attempt, none);
        }
        Err(e) => return failed(format!("the request failed: {}", error_chain(&e.without_url()))),
    };
    let code = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(retry_after_seconds);
    let mut kept = Vec::new();
    while kept.len() < KEEP_BYTES {
        match tokio::time::timeout(TIMEOUT.saturating_sub(started.elapsed()), resp.chunk()).await {
            Ok(Ok(Some(chunk))) => kept.extend_from_slice(&chunk),
            _ => break,
        }
    }
    kept.truncate(KEEP_BYTES);
    let duration = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let error = match code {
        200..=299 => None,
        300..=399 => Some(format!(
            "the receiver answered {code}; redirects are not followed"
        )),
        _ => Some(format!("the receiver answered {code}")),
    };
    let attempt = Attempt {
        at,
        status_code: Some(i32::from(code)),
        duration_ms: Some(duration),
        response: Some(crate::names::storable(
            String::from_utf8_lossy(&kept).into_owned(),
        )),
        error,
    };
    (attempt, retry_after)
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
#[path = "webhooks_tests.rs"]
mod tests;

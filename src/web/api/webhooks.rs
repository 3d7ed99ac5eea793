//! Webhooks: create (the secret is answered once), list, get, update, delete, rotate the
//! secret, the delivery log, retry a delivery, send a test ping. Secret keys only: guest
//! tokens and people's sessions cannot reach them.

use super::{ok, paging, path_id, success};
use crate::app::AppState;
use crate::auth::ApiCaller;
use crate::ids::{EnvironmentId, WebhookDeliveryId, WebhookId};
use crate::model::event::{self, Context};
use crate::model::iso;
use crate::model::webhook::{self, Webhook, WebhookChanges};
use crate::model::webhook_delivery::{self as delivery, AttemptRow, Delivery};
use crate::web::error::AppError;
use crate::web::input::Json;
use crate::workers::webhook_address;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

/// A webhook as the API shows it: never its secret.
fn webhook_json(w: &Webhook) -> Value {
    json!({
        "id": w.id,
        "environmentId": w.environment_id,
        "url": w.url,
        "topics": w.topic_list(),
        "description": w.description,
        "slug": w.slug,
        "enabled": w.enabled,
        "disabledReason": w.disabled_reason,
        "previousSecretValidUntil": w.previous_secret_until.as_ref().map(iso),
        "createdAt": iso(&w.created_at),
        "updatedAt": iso(&w.updated_at),
    })
}

/// The one answer that carries the secret (creation, rotation).
fn with_secret(w: &Webhook) -> HttpResponse {
    let mut body = webhook_json(w);
    body["secret"] = json!(w.secret);
    ok(body)
}

/// A delivery with its tries, oldest first.
fn delivery_json(d: &Delivery, tries: &[AttemptRow]) -> Value {
    let tries: Vec<Value> = tries
        .iter()
        .map(|a| {
            json!({
                "attemptedAt": iso(&a.attempted_at),
                "statusCode": a.status_code,
                "durationMs": a.duration_ms,
                "response": a.response,
                "error": a.error,
            })
        })
        .collect();
    json!({
        "id": d.id,
        "webhookId": d.webhook_id,
        "eventId": crate::ids::EventId(d.event_id),
        "status": d.status,
        "attempts": d.attempts,
        "nextAttemptAt": d.next_attempt_at.as_ref().map(iso),
        "lastAttemptAt": d.last_attempt_at.as_ref().map(iso),
        "lastStatusCode": d.last_status_code,
        "lastDurationMs": d.last_duration_ms,
        "lastResponse": d.last_response,
        "lastError": d.last_error,
        "createdAt": iso(&d.created_at),
        "tries": tries,
    })
}

/// The receiver's URL, checked; an address written in it that deliveries would refuse
/// (`allow_private`: `WHARF_WEBHOOK_PRIVATE`) is refused at once. A host name is checked
/// at each delivery, on the addresses it resolves to. (The dashboard's Webhooks page
/// checks with these too, so both say the same.)
pub(crate) fn checked_url(text: &str, allow_private: bool) -> Result<String, AppError> {
    let url = webhook::check_url(text).map_err(|m| AppError::invalid("url", m))?;
    let loopback = std::net::IpAddr::from(std::net::Ipv4Addr::LOCALHOST);
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::from(ip)),
        Some(url::Host::Ipv6(ip)) => Some(ip.into()),
        Some(url::Host::Domain(d)) if is_localhost(d.trim_end_matches('.')) => Some(loopback),
        _ => None,
    };
    if let Some(reason) = ip.and_then(|ip| webhook_address::refusal(ip, allow_private)) {
        return Err(AppError::invalid(
            "url",
            format!(
                "webhooks cannot reach {} ({reason} address){}",
                url.host_str().unwrap_or_default(),
                match reason {
                    "loopback or private" => "; WHARF_WEBHOOK_PRIVATE=allow lets them",
                    _ => "",
                }
            ),
        ));
    }
    Ok(url.to_string())
}

pub(crate) fn checked_description(text: &str) -> Result<(), AppError> {
    webhook::check_description(text).map_err(|m| AppError::invalid("description", m))
}

pub(crate) fn checked_slug(text: &str) -> Result<Option<String>, AppError> {
    webhook::check_slug(text).map_err(|m| AppError::invalid("slug", m))
}

/// Refuses a slug another webhook of the environment has (409, naming it).
pub(crate) fn refuse_taken_slug(
    conn: &mut crate::db::AnyConnection,
    env: &EnvironmentId,
    slug: Option<&str>,
    except: Option<&WebhookId>,
) -> crate::model::ModelResult<()> {
    match slug {
        Some(slug) => match webhook::slug_taken(conn, env, slug, except)? {
            Some(why) => Err(crate::model::ModelError::Conflict(why)),
            None => Ok(()),
        },
        None => Ok(()),
    }
}

pub(crate) fn checked_topics(topics: Option<Vec<String>>) -> Result<Vec<String>, AppError> {
    webhook::check_topics(topics).map_err(|m| AppError::invalid("topics", m))
}

/// `localhost` and its subdomains, which resolve to this machine.
fn is_localhost(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

/// Whether a webhook has a slug after an update giving `given` (`""` takes it away).
fn slug_after(w: &Webhook, given: Option<&str>) -> bool {
    match given {
        Some(given) => !given.trim().is_empty(),
        None => w.slug.is_some(),
    }
}

/// [`checked_topics`]; a webhook with a slug (a Submit's receiver) may hear no event.
fn checked_topics_of(topics: Option<Vec<String>>, has_slug: bool) -> Result<Vec<String>, AppError> {
    match topics {
        Some(t) if t.is_empty() && has_slug => Ok(t),
        other => checked_topics(other),
    }
}

/// A webhook of the caller's environment, or 404.
async fn load(state: &AppState, caller: &ApiCaller, raw: &str) -> Result<Webhook, AppError> {
    let id = path_id(raw, WebhookId::parse, "webhook")?;
    let env = caller.environment_id.clone();
    state
        .db(move |conn| webhook::find(conn, &env, &id))
        .await?
        .ok_or(AppError::NotFound("webhook"))
}

/// Any other parameter is a 400 (probe 69a D5: `status=failed` listed every one).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    environment_id: Option<String>,
}

pub async fn list(
    caller: ApiCaller,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    super::spaces::check_environment(&caller.environment_id, q.environment_id.as_deref())?;
    let env = caller.environment_id.clone();
    let hooks = state.db(move |conn| webhook::list(conn, &env)).await?;
    Ok(ok(hooks.iter().map(webhook_json).collect::<Vec<_>>()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBody {
    environment_id: Option<String>,
    url: String,
    topics: Option<Vec<String>>,
    description: Option<String>,
    slug: Option<String>,
}

pub async fn create(
    caller: ApiCaller,
    state: web::Data<AppState>,
    body: Json<CreateBody>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    super::spaces::check_environment(&caller.environment_id, body.environment_id.as_deref())?;
    let url = checked_url(&body.url, state.settings.webhook_private)?;
    let description = body.description.unwrap_or_default();
    checked_description(&description)?;
    let slug = checked_slug(body.slug.as_deref().unwrap_or_default())?;
    let topics = checked_topics_of(body.topics, slug.is_some())?;
    let env = caller.environment_id.clone();
    let w = state
        .db(move |conn| {
            refuse_taken_slug(conn, &env, slug.as_deref(), None)?;
            webhook::create_with_slug(conn, &env, &url, &topics, &description, slug.as_deref())
        })
        .await?;
    Ok(with_secret(&w))
}

pub async fn get(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let w = load(&state, &caller, &path).await?;
    Ok(ok(webhook_json(&w)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateBody {
    url: Option<String>,
    topics: Option<Vec<String>>,
    description: Option<String>,
    enabled: Option<bool>,
    /// `""` removes it.
    slug: Option<String>,
}

pub async fn update(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<UpdateBody>,
) -> Result<HttpResponse, AppError> {
    let w = load(&state, &caller, &path).await?;
    let body = body.into_inner();
    if let Some(description) = &body.description {
        checked_description(description)?;
    }
    let changes = WebhookChanges {
        url: body
            .url
            .as_deref()
            .map(|u| checked_url(u, state.settings.webhook_private))
            .transpose()?,
        topics: match body.topics {
            Some(t) => {
                Some(json!(checked_topics_of(Some(t), slug_after(&w, body.slug.as_deref()))?).to_string())
            }
            // A slug taken away from a webhook that hears no event leaves it hearing nothing.
            None if !slug_after(&w, body.slug.as_deref()) && w.topics == "[]" => {
                return Err(AppError::invalid(
                    "slug",
                    "this webhook hears no event; give it topics when taking its slug away",
                ))
            }
            None => None,
        },
        description: body.description,
        enabled: body.enabled,
        // Enabling again clears why it was off, and its failing streak.
        disabled_reason: (body.enabled == Some(true)).then_some(None),
        failing_since: (body.enabled == Some(true)).then_some(None),
        slug: body.slug.as_deref().map(checked_slug).transpose()?,
        ..Default::default()
    };
    let w = state
        .db(move |conn| {
            if let Some(slug) = &changes.slug {
                refuse_taken_slug(conn, &w.environment_id, slug.as_deref(), Some(&w.id))?;
            }
            Ok::<_, crate::model::ModelError>(webhook::update(conn, &w.id, changes)?)
        })
        .await?;
    Ok(ok(webhook_json(&w)))
}

pub async fn delete(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let w = load(&state, &caller, &path).await?;
    state.db(move |conn| webhook::delete(conn, &w.id)).await?;
    Ok(success())
}

pub async fn rotate_secret(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let w = load(&state, &caller, &path).await?;
    let w = state.db(move |conn| webhook::rotate_secret(conn, &w.id)).await?;
    Ok(with_secret(&w))
}

/// Any other parameter is a 400 (probe 69a D5: `status=failed` listed every one).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveriesQuery {
    page_size: Option<i64>,
    page_number: Option<i64>,
}

pub async fn deliveries(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<DeliveriesQuery>,
) -> Result<HttpResponse, AppError> {
    let w = load(&state, &caller, &path).await?;
    let (size, number) = paging(q.page_size, q.page_number, 50, 1000)?;
    let (list, mut tries) = state
        .db(move |conn| {
            let list = delivery::list(conn, &w.id, size, number)?;
            let ids: Vec<WebhookDeliveryId> = list.iter().map(|d| d.id.clone()).collect();
            Ok::<_, diesel::result::Error>((list, delivery::attempts_of(conn, &ids)?))
        })
        .await?;
    let out: Vec<Value> = list
        .iter()
        .map(|d| delivery_json(d, &tries.remove(&d.id).unwrap_or_default()))
        .collect();
    Ok(ok(out))
}

pub async fn retry(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (raw_hook, raw_delivery) = path.into_inner();
    let w = load(&state, &caller, &raw_hook).await?;
    let id = path_id(&raw_delivery, WebhookDeliveryId::parse, "delivery")?;
    // Queued, it would only fail at its try (probe 63d D8: 200, then nothing).
    if !w.enabled {
        return Err(AppError::Conflict(
            "the webhook is disabled; enable it (PATCH with enabled: true) to send this again".into(),
        ));
    }
    let d = state
        .db(move |conn| {
            let Some(_) = delivery::find(conn, &w.id, &id)? else {
                return Ok(None);
            };
            if !delivery::retry(conn, &id, crate::workers::webhooks::LEASE)? {
                return Err(crate::model::ModelError::Conflict(BUSY.into()));
            }
            let d = delivery::find(conn, &w.id, &id)?;
            let mut tries = delivery::attempts_of(conn, std::slice::from_ref(&id))?;
            Ok::<_, crate::model::ModelError>(d.map(|d| (d, tries.remove(&id).unwrap_or_default())))
        })
        .await?
        .ok_or(AppError::NotFound("delivery"))?;
    Ok(ok(delivery_json(&d.0, &d.1)))
}

/// Why a delivery is not sent again now.
pub(crate) const BUSY: &str =
    "a try of this delivery is under way; send it again once it has ended (its tries show how it went)";

/// Sends a `webhook:test` ping event to this webhook alone.
pub async fn test(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let w = load(&state, &caller, &path).await?;
    if !w.enabled {
        return Err(AppError::Conflict(
            "the webhook is disabled; enable it (PATCH enabled: true) to test it".into(),
        ));
    }
    let ctx = Context::new(&caller.environment_id, &caller.actor());
    let payload = json!({"webhookId": w.id});
    state
        .db(move |conn| event::emit(conn, &ctx, webhook::TEST_TOPIC, payload))
        .await?;
    Ok(success())
}

//! Webhooks (admins), for the environment the top bar has selected: add one (its secret
//! shown once), enable or disable, rotate the secret, send a test ping, delete; a webhook's
//! delivery log with the request sent and the answers got, and "Send again". The same
//! model functions and checks as the JSON API (`api/webhooks.rs`), so both say the same.

use super::{render, render_checked, see_other, CsrfForm, Layout};
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::ids::{EventId, WebhookDeliveryId, WebhookId};
use crate::model::event::{self, Context};
use crate::model::webhook::{self, Webhook, WebhookChanges};
use crate::model::webhook_delivery::{self as delivery, AttemptRow, Delivery};
use crate::web::api::events::event_json;
use crate::web::api::webhooks::{
    checked_description, checked_slug, checked_topics, checked_url, refuse_taken_slug,
};
use crate::web::error::AppError;
use crate::web::when::When;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

/// Deliveries on one page of the log.
const PAGE_SIZE: i64 = 20;
/// The most of an answer shown (the worker keeps 2 KB).
const ANSWER_SHOWN: usize = 2048;

pub struct HookRow {
    pub id: String,
    pub url: String,
    pub topics: String,
    pub description: String,
    /// Empty when it has none.
    pub slug: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// The newest delivery's status and answer code, if any.
    pub last: Option<String>,
    /// Which secret the page shows as signing: a rotate sent again from it (a reload, a
    /// second tab) is refused.
    pub secret_version: String,
}

impl HookRow {
    fn new(w: &Webhook, last: Option<&Delivery>) -> Self {
        HookRow {
            id: w.id.to_string(),
            url: w.url.clone(),
            topics: w.topic_list().join(", "),
            description: w.description.clone(),
            slug: w.slug.clone().unwrap_or_default(),
            enabled: w.enabled,
            disabled_reason: w.disabled_reason.clone(),
            secret_version: secret_version(w),
            last: last.map(|d| match d.last_status_code {
                Some(code) => format!("{} (HTTP {code})", d.status),
                None => d.status.clone(),
            }),
        }
    }
}

/// What the add form held, shown again when it was refused.
#[derive(Deserialize, Default)]
pub struct NewForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    topics: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    slug: String,
    /// The environment the form was shown for.
    #[serde(default)]
    environment_id: String,
}

#[derive(Template)]
#[template(path = "webhooks/list.html")]
struct ListPage {
    layout: Layout,
    hooks: Vec<HookRow>,
    /// (url, secret) of a webhook just added or rotated: shown this once.
    new_secret: Option<(String, String)>,
    error: Option<String>,
    form: NewForm,
}

pub struct TryRow {
    pub at: When,
    pub status_code: String,
    pub duration: String,
    pub response: String,
    pub error: String,
}

pub struct DeliveryRow {
    pub id: String,
    pub topic: String,
    pub status: String,
    pub attempts: i32,
    pub created: crate::web::when::When,
    pub next_attempt: Option<crate::web::when::When>,
    /// The event JSON that is sent, pretty-printed.
    pub request: String,
    pub tries: Vec<TryRow>,
}

#[derive(Template)]
#[template(path = "webhooks/show.html")]
struct ShowPage {
    layout: Layout,
    hook: HookRow,
    deliveries: Vec<DeliveryRow>,
    page: i64,
    older: bool,
}

/// The first `max` bytes of `text`, cut at a character boundary.
fn head(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn try_row(a: &AttemptRow) -> TryRow {
    TryRow {
        at: When::new(&a.attempted_at),
        status_code: a.status_code.map(|c| c.to_string()).unwrap_or_default(),
        duration: a.duration_ms.map(|d| format!("{d} ms")).unwrap_or_default(),
        response: head(a.response.as_deref().unwrap_or_default(), ANSWER_SHOWN).to_string(),
        error: a.error.clone().unwrap_or_default(),
    }
}

async fn list_page(
    user: CurrentUser,
    state: &AppState,
    new_secret: Option<(String, String)>,
    error: Option<String>,
    form: NewForm,
) -> Result<HttpResponse, AppError> {
    user.require_admin("manage webhooks")?;
    let env = user.environment.id.clone();
    let hooks = state
        .db(move |conn| {
            let mut rows = Vec::new();
            for w in webhook::list(conn, &env)? {
                let last = delivery::list(conn, &w.id, 1, 1)?;
                rows.push(HookRow::new(&w, last.first()));
            }
            Ok::<_, diesel::result::Error>(rows)
        })
        .await?;
    let failed = error.is_some();
    render_checked(
        &ListPage {
            layout: Layout::new(&user, "Webhooks", "webhooks"),
            hooks,
            new_secret,
            error,
            form,
        },
        failed,
    )
}

/// Admins only, with a valid token, and a webhook of the selected environment (else 404).
async fn load(
    user: &CurrentUser,
    state: &AppState,
    raw: &str,
    csrf: Option<&str>,
) -> Result<Webhook, AppError> {
    user.require_admin("manage webhooks")?;
    if let Some(token) = csrf {
        user.check_csrf(token)?;
    }
    let id = WebhookId::parse(raw).ok_or(AppError::NotFound("webhook"))?;
    let env = user.environment.id.clone();
    state
        .db(move |conn| webhook::find(conn, &env, &id))
        .await?
        .ok_or(AppError::NotFound("webhook"))
}

/// The list again with a refusal on it (422), or the error page for anything else.
async fn refused(
    user: CurrentUser,
    state: &AppState,
    e: AppError,
    form: NewForm,
) -> Result<HttpResponse, AppError> {
    match e {
        AppError::Invalid(items) => {
            let msg = items.first().map(|i| i.message.clone());
            list_page(user, state, None, msg, form).await
        }
        AppError::Conflict(msg) => list_page(user, state, None, Some(msg), form).await,
        e => Err(e),
    }
}

pub async fn list(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    list_page(user, &state, None, None, NewForm::default()).await
}

/// A webhook like one the environment has (same URL, same topics) would get every event
/// twice: the form sent again (a reload of the page that showed the secret, a double
/// click) is refused, saying where the first one is.
fn refuse_twin(
    conn: &mut crate::db::AnyConnection,
    env: &crate::ids::EnvironmentId,
    url: &str,
    topics: &[String],
) -> crate::model::ModelResult<()> {
    let wanted: std::collections::BTreeSet<&str> = topics.iter().map(String::as_str).collect();
    let twin = webhook::list(conn, env)?.into_iter().find(|w| {
        let theirs: Vec<String> = serde_json::from_str(&w.topics).unwrap_or_default();
        w.url == url
            && theirs
                .iter()
                .map(String::as_str)
                .collect::<std::collections::BTreeSet<_>>()
                == wanted
    });
    match twin {
        Some(w) => Err(crate::model::ModelError::Conflict(format!(
            "a webhook to this URL with these topics is already here (added {}); rotate its secret to see a new one",
            w.created_at.format("%Y-%m-%d %H:%M UTC")
        ))),
        None => Ok(()),
    }
}

/// Topics as typed: separated by commas or lines; none given means all (`**`).
fn topics_of(text: &str) -> Option<Vec<String>> {
    let topics: Vec<String> = text
        .split([',', '\n', '\r'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect();
    (!topics.is_empty()).then_some(topics)
}

/// Adds a webhook and shows its secret once.
pub async fn create(
    user: CurrentUser,
    state: web::Data<AppState>,
    form: crate::web::input::Form<NewForm>,
) -> Result<HttpResponse, AppError> {
    user.require_admin("manage webhooks")?;
    user.check_csrf(&form.csrf_token)?;
    user.check_environment(&form.environment_id)?;
    let form = form.into_inner();
    let checked = checked_url(&form.url, state.settings.webhook_private).and_then(|url| {
        checked_description(form.description.trim())?;
        Ok((
            url,
            checked_topics(topics_of(&form.topics))?,
            checked_slug(&form.slug)?,
        ))
    });
    let (url, topics, slug) = match checked {
        Ok(v) => v,
        Err(e) => return refused(user, &state, e, form).await,
    };
    let env = user.environment.id.clone();
    let description = form.description.trim().to_string();
    let made = state
        .db(move |conn| {
            refuse_taken_slug(conn, &env, slug.as_deref(), None)?;
            refuse_twin(conn, &env, &url, &topics)?;
            webhook::create_with_slug(conn, &env, &url, &topics, &description, slug.as_deref())
        })
        .await;
    let w = match made {
        Ok(w) => w,
        Err(e) => return refused(user, &state, e, form).await,
    };
    list_page(user, &state, Some((w.url, w.secret)), None, NewForm::default()).await
}

async fn set_enabled(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<CsrfForm>,
    enabled: bool,
) -> Result<HttpResponse, AppError> {
    let w = load(&user, &state, &path, Some(&form.csrf_token)).await?;
    let changes = WebhookChanges {
        enabled: Some(enabled),
        // Enabling again clears why it was off, and its failing streak (as the API does).
        disabled_reason: enabled.then_some(None),
        failing_since: enabled.then_some(None),
        ..Default::default()
    };
    state
        .db(move |conn| webhook::update(conn, &w.id, changes))
        .await?;
    Ok(see_other("/webhooks"))
}

pub async fn enable(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    set_enabled(user, state, path, form, true).await
}

pub async fn disable(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    set_enabled(user, state, path, form, false).await
}

#[derive(Deserialize)]
pub struct SlugForm {
    /// Missing, it is checked as a wrong token (403), not a malformed form.
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    slug: String,
}

/// Gives the webhook a slug (Submit actions name it in `deliverTo`), or removes it.
pub async fn set_slug(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<SlugForm>,
) -> Result<HttpResponse, AppError> {
    let w = load(&user, &state, &path, Some(&form.csrf_token)).await?;
    let slug = match checked_slug(&form.slug) {
        Ok(s) => s,
        Err(e) => return refused(user, &state, e, NewForm::default()).await,
    };
    let changed = state
        .db(move |conn| {
            refuse_taken_slug(conn, &w.environment_id, slug.as_deref(), Some(&w.id))?;
            let changes = WebhookChanges {
                slug: Some(slug),
                ..Default::default()
            };
            Ok::<_, crate::model::ModelError>(webhook::update(conn, &w.id, changes)?)
        })
        .await;
    match changed {
        Ok(_) => Ok(see_other("/webhooks")),
        Err(e) => refused(user, &state, e, NewForm::default()).await,
    }
}

/// Deletes a webhook with its delivery log (the page asks to confirm first).
pub async fn delete(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    let w = load(&user, &state, &path, Some(&form.csrf_token)).await?;
    state.db(move |conn| webhook::delete(conn, &w.id)).await?;
    Ok(see_other("/webhooks"))
}

/// Which rotation a webhook's secret is at (the end of its last overlap).
fn secret_version(w: &Webhook) -> String {
    w.previous_secret_until
        .map(|t| t.and_utc().timestamp_micros().to_string())
        .unwrap_or_default()
}

#[derive(Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    csrf_token: String,
    /// The secret the page showed as signing (`secret_version`).
    shown: Option<String>,
}

/// A new secret, shown once; the old one keeps signing for a day. A rotate sent again from
/// the same page is refused: a second one would end the secret the receiver holds at once,
/// not in a day (probe 72b D9).
pub async fn rotate_secret(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<RotateForm>,
) -> Result<HttpResponse, AppError> {
    let w = load(&user, &state, &path, Some(&form.csrf_token)).await?;
    if form
        .shown
        .as_ref()
        .is_some_and(|shown| *shown != secret_version(&w))
    {
        let e = AppError::Conflict(
            "the secret was rotated since this page was shown (a reload or another tab); the secret \
             shown then signs, beside the one before it for a day: look at the list again before \
             rotating again"
                .into(),
        );
        return refused(user, &state, e, NewForm::default()).await;
    }
    let w = state.db(move |conn| webhook::rotate_secret(conn, &w.id)).await?;
    list_page(user, &state, Some((w.url, w.secret)), None, NewForm::default()).await
}

/// Sends a `webhook:test` ping to this webhook alone, then shows its log.
pub async fn test(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    let w = load(&user, &state, &path, Some(&form.csrf_token)).await?;
    if !w.enabled {
        let e = AppError::Conflict("the webhook is disabled; enable it to test it".into());
        return refused(user, &state, e, NewForm::default()).await;
    }
    let ctx = Context::new(&user.environment.id, &user.actor());
    let payload = serde_json::json!({"webhookId": w.id});
    state
        .db(move |conn| event::emit(conn, &ctx, webhook::TEST_TOPIC, payload))
        .await?;
    Ok(see_other(&format!("/webhooks/{}", w.id)))
}

/// Queues a delivery for one more try now (the same `webhook-id`), then shows the log.
pub async fn retry(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    let (raw_hook, raw_delivery) = path.into_inner();
    let w = load(&user, &state, &raw_hook, Some(&form.csrf_token)).await?;
    let id = WebhookDeliveryId::parse(&raw_delivery).ok_or(AppError::NotFound("delivery"))?;
    if !w.enabled {
        return Err(AppError::Conflict(
            "the webhook is disabled; enable it to send this again".into(),
        ));
    }
    let hook = w.id.clone();
    let found = state
        .db(move |conn| {
            let found = delivery::find(conn, &hook, &id)?.is_some();
            if found && !delivery::retry(conn, &id, crate::workers::webhooks::LEASE)? {
                return Err(crate::model::ModelError::Conflict(
                    crate::web::api::webhooks::BUSY.into(),
                ));
            }
            Ok::<_, crate::model::ModelError>(found)
        })
        .await?;
    if !found {
        return Err(AppError::NotFound("delivery"));
    }
    Ok(see_other(&format!("/webhooks/{}", w.id)))
}

#[derive(Deserialize)]
pub struct ShowQuery {
    page: Option<i64>,
}

/// One webhook's delivery log, newest first, a page at a time.
pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    let w = load(&user, &state, &path, None).await?;
    let page = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let env = user.environment.id.clone();
    let hook = w.id.clone();
    let (list, mut tries, events, older) = state
        .db(move |conn| {
            let list = delivery::list(conn, &hook, PAGE_SIZE, page)?;
            // The first delivery of the next page, if any: is there an older page?
            let older = !delivery::list(conn, &hook, 1, page * PAGE_SIZE + 1)?.is_empty();
            let ids: Vec<WebhookDeliveryId> = list.iter().map(|d| d.id.clone()).collect();
            let tries = delivery::attempts_of(conn, &ids)?;
            let mut events = std::collections::HashMap::new();
            for d in &list {
                if let Some(ev) = event::find(conn, &env, EventId(d.event_id))? {
                    events.insert(d.event_id, ev);
                }
            }
            Ok::<_, diesel::result::Error>((list, tries, events, older))
        })
        .await?;
    let deliveries = list
        .iter()
        .map(|d| {
            let ev = events.get(&d.event_id);
            DeliveryRow {
                id: d.id.to_string(),
                topic: ev
                    .map(|e| e.topic.clone())
                    .unwrap_or_else(|| "(event no longer kept)".into()),
                status: d.status.clone(),
                attempts: d.attempts,
                created: When::new(&d.created_at),
                next_attempt: d.next_attempt_at.as_ref().map(When::new),
                request: ev
                    .and_then(|e| serde_json::to_string_pretty(&event_json(e)).ok())
                    .unwrap_or_default(),
                tries: tries
                    .remove(&d.id)
                    .unwrap_or_default()
                    .iter()
                    .map(try_row)
                    .collect(),
            }
        })
        .collect();
    render(&ShowPage {
        layout: Layout::new(&user, format!("Webhook {}", w.url), "webhooks"),
        hook: HookRow::new(&w, None),
        deliveries,
        page,
        older,
    })
}

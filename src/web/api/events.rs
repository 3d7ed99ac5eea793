//! The event log, oldest first (see model/event.rs for why a poller misses none), custom
//! events and their acknowledgement. API keys only: guests never read events.

use super::{given_id, ok, paging, path_id, stored_json, success};
use crate::app::AppState;
use crate::auth::ApiCaller;
use crate::ids::{EventId, SheetId, SpaceId, WorkbookId};
use crate::model::event::{self, Context, Event, Extras, Filter};
use crate::model::event_topics::{DOMAINS, TOPICS};
use crate::model::{iso, sheet, space, workbook};
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The account every environment of a Wharf belongs to (as `GET /v1/environments` says).
const ACCOUNT_ID: &str = "us_acc_wharf";

pub fn event_json(e: &Event) -> Value {
    let mut context = match stored_json(&e.context) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    context.insert("accountId".into(), json!(ACCOUNT_ID));
    context.insert("environmentId".into(), json!(e.environment_id));
    context.insert("actorId".into(), json!(e.actor));
    for (key, id) in [
        ("spaceId", e.space_id.as_ref().map(|i| i.to_string())),
        ("workbookId", e.workbook_id.as_ref().map(|i| i.to_string())),
        ("sheetId", e.sheet_id.as_ref().map(|i| i.to_string())),
    ] {
        if let Some(id) = id {
            context.insert(key.into(), json!(id));
        }
    }
    let mut v = json!({
        "id": e.public_id(),
        "topic": e.topic,
        "domain": e.domain,
        "context": context,
        "payload": stored_json(&e.payload),
        "createdAt": iso(&e.created_at),
        "acknowledgedAt": e.acknowledged_at.as_ref().map(iso),
        "acknowledgedBy": e.acknowledged_by,
    });
    if let Some(Value::Object(extra)) = e.envelope.as_deref().map(stored_json) {
        for (key, value) in extra {
            v[key.as_str()] = value;
        }
    }
    if let Some(url) = &e.data_url {
        v["dataUrl"] = json!(url);
    }
    if let Some(namespaces) = &e.namespaces {
        v["namespaces"] = stored_json(namespaces);
        v["context"]["namespaces"] = stored_json(namespaces);
    }
    v
}

/// A misspelt parameter (`topics`) is refused: dropped, it listed every event.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    environment_id: Option<String>,
    space_id: Option<String>,
    topic: Option<String>,
    domain: Option<String>,
    since: Option<String>,
    page_size: Option<i64>,
    page_number: Option<i64>,
    include_acknowledged: Option<bool>,
}

pub async fn list(
    caller: ApiCaller,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    // Flatfile's default page is 10 events.
    let (size, number) = paging(q.page_size, q.page_number, 10, 1000)?;
    let q = q.into_inner();
    check_environment(&caller, q.environment_id.as_deref())?;
    check_topic_and_domain(q.topic.as_deref(), q.domain.as_deref(), true)?;
    let since = q
        .since
        .as_deref()
        .map(|s| {
            // A time without an offset (`2026-12-02T00:13:24.438`) is UTC, as Wharf's are;
            // a day alone (`2026-12-02`) is its start.
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| d.naive_utc())
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
                .or_else(|e| {
                    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .map(|d| d.and_time(chrono::NaiveTime::MIN))
                        .map_err(|_| e)
                })
                .map_err(|_| {
                    AppError::bad_request(
                        "since",
                        format!("`{s}` is not an ISO 8601 time such as 2026-12-02T00:13:24.438Z"),
                    )
                })
        })
        .transpose()?;
    let filter = Filter {
        space_id: q
            .space_id
            .as_deref()
            .map(|t| given_id(t, SpaceId::parse, "spaceId"))
            .transpose()?,
        topic: q.topic,
        domain: q.domain,
        since,
        include_acknowledged: q.include_acknowledged.unwrap_or(false),
        newest_first: false,
        page_size: size,
        page_number: number,
    };
    let env = caller.environment_id.clone();
    let ids = state
        .db(move |conn| {
            // Another environment's space is a 404, as `environmentId`'s is (probe 61a
            // D3: an empty page); a deleted one's events, `space:deleted` among them, are
            // still listed.
            if let Some(sid) = &filter.space_id {
                use crate::db::schema::spaces;
                use diesel::prelude::*;
                let of: Option<String> = spaces::table
                    .filter(spaces::id.eq(sid))
                    .select(spaces::environment_id)
                    .first(conn)
                    .optional()?;
                if of.as_ref().is_some_and(|e| e != env.as_str()) {
                    return Err(AppError::NotFound("space"));
                }
                // A space that is nowhere is a 404 too, unless this environment's events
                // name it (a deleted one): an empty page told it from another's (probe 69a D1).
                if of.is_none() {
                    use crate::db::schema::events;
                    let named = events::table
                        .filter(events::environment_id.eq(env.as_str()))
                        .filter(events::space_id.eq(sid.as_str()));
                    if !diesel::select(diesel::dsl::exists(named)).get_result::<bool>(conn)? {
                        return Err(AppError::NotFound("space"));
                    }
                }
            }
            Ok::<_, AppError>(event::list_ids(conn, &env, &filter)?)
        })
        .await?;
    Ok(stream_page(state, ids))
}

/// Events read per step of [`stream_page`]: an event may be 1 MiB, so a page of a thousand
/// is never held whole (eight readers of such pages took the process to 5.7 GB).
const EVENTS_PER_STEP: usize = 8;

/// Where [`stream_page`] is.
struct Page {
    state: web::Data<AppState>,
    ids: Vec<i64>,
    next: usize,
    opened: bool,
    written: bool,
    closed: bool,
}

/// `{"data": [...]}` of these events, a few read and written at a time as the reader takes
/// them: a reader that stops reading holds no thread and no connection, only this step.
fn stream_page(state: web::Data<AppState>, ids: Vec<i64>) -> HttpResponse {
    use actix_web::web::Bytes;
    let page = Page {
        state,
        ids,
        next: 0,
        opened: false,
        written: false,
        closed: false,
    };
    let stream = futures_util::stream::unfold(page, |mut p| async move {
        if p.closed {
            return None;
        }
        if !std::mem::replace(&mut p.opened, true) {
            return Some((Ok(Bytes::from_static(b"{\"data\":[")), p));
        }
        if p.next >= p.ids.len() {
            p.closed = true;
            return Some((Ok(Bytes::from_static(b"]}")), p));
        }
        let chunk = p.ids[p.next..(p.next + EVENTS_PER_STEP).min(p.ids.len())].to_vec();
        p.next += chunk.len();
        match read_events(&p.state, chunk).await {
            Ok(events) => {
                let mut out = Vec::new();
                for e in &events {
                    if std::mem::replace(&mut p.written, true) {
                        out.push(b',');
                    }
                    // A Value of strings and numbers always serializes.
                    let _ = serde_json::to_writer(&mut out, &event_json(e));
                }
                Some((Ok(Bytes::from(out)), p))
            }
            Err(e) => {
                tracing::error!(error = %e, "listing events failed midway");
                p.closed = true;
                Some((Err(std::io::Error::other("listing events failed")), p))
            }
        }
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(stream)
}

/// Some events of a page being sent; a database busy for a moment is asked again, as the
/// answer has begun and can no longer say 503.
async fn read_events(state: &AppState, ids: Vec<i64>) -> Result<Vec<Event>, AppError> {
    let mut tries = 0;
    loop {
        let asked = ids.clone();
        match state.db(move |conn| event::by_ids(conn, &asked)).await {
            Err(AppError::Unavailable) if tries < 5 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200 * tries)).await;
            }
            other => return other,
        }
    }
}

/// An API key sees one environment: any other is not found for it.
fn check_environment(caller: &ApiCaller, given: Option<&str>) -> Result<(), AppError> {
    match given {
        Some(env) if env != caller.environment_id.to_string() => Err(AppError::NotFound("environment")),
        _ => Ok(()),
    }
}

pub async fn get(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&path, EventId::parse, "event")?;
    let env = caller.environment_id.clone();
    let e = state
        .db(move |conn| event::find(conn, &env, id))
        .await?
        .ok_or(AppError::NotFound("event"))?;
    Ok(ok(event_json(&e)))
}

pub async fn ack(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&path, EventId::parse, "event")?;
    let (env, actor) = (caller.environment_id.clone(), caller.actor());
    let found = state
        .db(move |conn| event::acknowledge(conn, &env, id, &actor))
        .await?;
    if !found {
        return Err(AppError::NotFound("event"));
    }
    Ok(success())
}

/// `CreateEventConfig`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewEvent {
    topic: String,
    domain: String,
    context: Map<String, Value>,
    #[serde(default)]
    payload: Map<String, Value>,
    data_url: Option<String>,
    namespaces: Option<Vec<String>>,
    attributes: Option<Map<String, Value>>,
    target: Option<String>,
    origin: Option<Map<String, Value>>,
    callback_url: Option<String>,
}

/// Largest event an API caller creates, as JSON (payload, context, dataUrl, namespaces).
const MAX_EVENT: usize = 1024 * 1024;

/// Context keys kept as given (strings); the ids Wharf checks are handled apart, and
/// `actorId` is always the caller.
const FREE_CONTEXT_KEYS: [&str; 10] = [
    "sheetSlug",
    "commitId",
    "versionId",
    "jobId",
    "fileId",
    "actionName",
    "documentId",
    "snapshotId",
    "precedingEventId",
    "appId",
];

/// Refuses a topic or domain that is none of Flatfile's: in a list's filter it matched
/// nothing, and a poller given a webhook's glob (`commit:*`) silently saw no event (probe
/// 64b D2). `glob`: a list's filter may also name all the topics of a prefix (`commit:*`).
fn check_topic_and_domain(topic: Option<&str>, domain: Option<&str>, glob: bool) -> Result<(), AppError> {
    let known = |t: &str| match t.strip_suffix(":*") {
        Some(prefix) if glob => {
            prefix.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                && TOPICS
                    .iter()
                    .any(|k| k.strip_prefix(prefix).is_some_and(|r| r.starts_with(':')))
        }
        _ => TOPICS.contains(&t),
    };
    if let Some(topic) = topic.filter(|t| !known(t)) {
        let such = match glob {
            true => "such as job:ready, or job:* for all of a kind",
            false => "such as job:ready",
        };
        // The first characters are enough to see the mistake: a 55 KB value came back whole.
        let shown: String = topic.chars().take(100).collect();
        return Err(AppError::bad_request(
            "topic",
            format!("`{shown}` is not one of Flatfile's event topics ({such})"),
        ));
    }
    if let Some(domain) = domain.filter(|d| !DOMAINS.contains(d)) {
        return Err(AppError::bad_request(
            "domain",
            format!(
                "`{}` is not one of: {}",
                domain.chars().take(100).collect::<String>(),
                DOMAINS.join(", ")
            ),
        ));
    }
    Ok(())
}

pub async fn create(
    caller: ApiCaller,
    state: web::Data<AppState>,
    body: crate::web::input::Json<NewEvent>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    check_topic_and_domain(Some(&b.topic), Some(&b.domain), false)?;
    let env_given = b.context.get("environmentId").and_then(Value::as_str);
    if env_given.is_none() {
        return Err(AppError::bad_request(
            "context.environmentId",
            "context needs the environmentId of your API key",
        ));
    }
    check_environment(&caller, env_given)?;
    let text = |key: &str| -> Result<Option<String>, AppError> {
        match b.context.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(AppError::bad_request(
                &format!("context.{key}"),
                format!("context.{key} must be a string"),
            )),
        }
    };
    let space_id = text("spaceId")?
        .map(|t| given_id(&t, SpaceId::parse, "context.spaceId"))
        .transpose()?;
    let workbook_id = text("workbookId")?
        .map(|t| given_id(&t, WorkbookId::parse, "context.workbookId"))
        .transpose()?;
    let sheet_id = text("sheetId")?
        .map(|t| given_id(&t, SheetId::parse, "context.sheetId"))
        .transpose()?;
    let mut ctx = Context::new(&caller.environment_id, &caller.actor());
    for key in FREE_CONTEXT_KEYS {
        if let Some(value) = text(key)? {
            ctx.extra.insert(key.into(), json!(value));
        }
    }
    if let Some(slugs) = b.context.get("slugs").filter(|s| s.is_object()) {
        ctx.extra.insert("slugs".into(), slugs.clone());
    }
    let payload = Value::Object(b.payload);
    // The envelope's other keys, kept and given back as sent.
    let mut envelope = Map::new();
    let given = [
        ("attributes", b.attributes.map(Value::Object)),
        ("target", b.target.map(Value::String)),
        ("origin", b.origin.map(Value::Object)),
        ("callbackUrl", b.callback_url.map(Value::String)),
    ];
    for (key, value) in given {
        if let Some(value) = value {
            envelope.insert(key.into(), value);
        }
    }
    let envelope = (!envelope.is_empty()).then(|| Value::Object(envelope).to_string());
    // An event is a signal, fanned out to every listener and webhook: data belongs in
    // records or files. Every part counts, not the payload alone.
    let size = payload.to_string().len()
        + Value::Object(b.context.clone()).to_string().len()
        + b.data_url.as_ref().map_or(0, String::len)
        + serde_json::to_string(&b.namespaces).map_or(0, |n| n.len())
        + envelope.as_ref().map_or(0, String::len);
    if size > MAX_EVENT {
        return Err(AppError::PayloadTooLarge(format!(
            "the event is over {} KiB; put data in records or files and send its id",
            MAX_EVENT / 1024
        )));
    }
    let created = state
        .db(move |conn| {
            let ctx = place(conn, ctx, space_id, workbook_id, sheet_id)?;
            let extras = Extras {
                domain: Some(&b.domain),
                data_url: b.data_url.as_deref(),
                namespaces: b.namespaces.as_deref(),
                envelope: envelope.as_deref(),
            };
            let id = event::insert(conn, &ctx, &b.topic, payload, &extras)?;
            event::find(conn, &ctx.environment_id, id)?.ok_or(AppError::NotFound("event"))
        })
        .await?;
    Ok(ok(event_json(&created)))
}

/// The id a custom event's context gives under `key`, well formed (400 otherwise).
fn context_id<T>(ctx: &Context, key: &str, parse: fn(&str) -> Option<T>) -> Result<Option<T>, AppError> {
    let text = ctx.extra.get(key).and_then(Value::as_str);
    text.map(|t| given_id(t, parse, &format!("context.{key}")))
        .transpose()
}

/// Puts the space, workbook and sheet a custom event names in its context, once each is
/// known to be in the caller's environment and inside the others.
fn place(
    conn: &mut crate::db::AnyConnection,
    mut ctx: Context,
    space_id: Option<SpaceId>,
    workbook_id: Option<WorkbookId>,
    sheet_id: Option<SheetId>,
) -> Result<Context, AppError> {
    let env = ctx.environment_id.clone();
    // A job, file, document or commit named by its id is one of the environment's: listener
    // code acts on it with its own key (probe 56a F2: documents and commits were not looked
    // at; 56c D6: nor ids of another shape, such as `DOC-123` or upper case).
    if let Some(id) = context_id(&ctx, "jobId", crate::ids::JobId::parse)? {
        crate::model::job::find(conn, &env, &id)?.ok_or(AppError::NotFound("job"))?;
    }
    if let Some(id) = context_id(&ctx, "fileId", crate::ids::FileId::parse)? {
        crate::model::file::find(conn, &env, &id)?.ok_or(AppError::NotFound("file"))?;
    }
    if let Some(id) = context_id(&ctx, "documentId", crate::ids::DocumentId::parse)? {
        crate::model::document::space_of(conn, &env, &id)?.ok_or(AppError::NotFound("document"))?;
    }
    // A `versionId` may be a record's version as Wharf gives it (`us_vr_<n>`, probe 57d F7),
    // which names no object to look up.
    let record_version = |key: &str| {
        key == "versionId"
            && ctx.extra.get(key).and_then(Value::as_str).is_some_and(|v| {
                v.strip_prefix("us_vr_")
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
    };
    for key in ["commitId", "versionId"]
        .into_iter()
        .filter(|k| !record_version(k))
    {
        if let Some(id) = context_id(&ctx, key, crate::ids::CommitId::parse)? {
            crate::model::commit::find(conn, &env, &id)?.ok_or(AppError::NotFound("commit"))?;
        }
    }
    let mut space_id = space_id;
    let mut workbook_id = workbook_id;
    if let Some(id) = &sheet_id {
        let (s, sheet_space) = sheet::find(conn, &env, id)?.ok_or(AppError::NotFound("sheet"))?;
        if workbook_id.as_ref().is_some_and(|w| w != &s.workbook_id) {
            return Err(AppError::bad_request(
                "context.sheetId",
                "the sheet is not in the workbook the context names",
            ));
        }
        workbook_id = Some(s.workbook_id.clone());
        if space_id.as_ref().is_some_and(|sp| sp != &sheet_space) {
            return Err(AppError::bad_request(
                "context.sheetId",
                "the sheet is not in the space the context names",
            ));
        }
        space_id = Some(sheet_space);
        ctx = ctx.sheet(id);
        if !ctx.extra.contains_key("sheetSlug") {
            ctx = ctx.sheet_slug(&s.slug);
        }
    }
    if let Some(id) = &workbook_id {
        let wb = workbook::find(conn, &env, id)?.ok_or(AppError::NotFound("workbook"))?;
        if space_id.as_ref().is_some_and(|sp| sp != &wb.space_id) {
            return Err(AppError::bad_request(
                "context.workbookId",
                "the workbook is not in the space the context names",
            ));
        }
        space_id = Some(wb.space_id.clone());
        ctx = ctx.workbook(id);
    }
    if let Some(id) = &space_id {
        space::find(conn, &env, id)?.ok_or(AppError::NotFound("space"))?;
        ctx = ctx.space(id);
    }
    Ok(ctx)
}

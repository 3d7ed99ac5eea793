//! Records of a sheet: read a page (filter, search, sort, counts), insert, update, delete.

use super::path_id;
use super::record_input::UpdateItem;
use super::record_view::RecordsEnvelope;
use super::records_ahead::RecordsAhead;
use super::success;
use crate::app::AppState;
use crate::auth::{SpaceCaller, SpaceScope};
use crate::blueprint::SheetConfig;
use crate::ids::{RecordId, SheetId};
use crate::model::commit::Hooks;
use crate::model::record::{self, selection, RecordQuery, RecordUpdate};
use crate::model::sheet::{self, SheetContext};
use crate::web::error::{AppError, ErrorItem};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

/// Most records one request may read or write.
pub(super) const MAX_BATCH: usize = 50_000;
/// The most records a record hook's answer to one commit may hold.
const MAX_HOOK_ANSWER: usize = 250_000;

/// A guest token changes records only as the sheet's `access` allows (`add`, `edit`,
/// `delete`); a secret key may always.
pub(super) fn check_access(caller: &SpaceCaller, ctx: &SheetContext, what: &str) -> Result<(), AppError> {
    match caller.guest_spaces() {
        Some(_) => ctx.config.refuse_unless(what).map_err(AppError::Forbidden),
        None => Ok(()),
    }
}

/// A sheet the caller may change: while it is locked only secret keys may (guests not).
pub(super) async fn writable(
    state: &AppState,
    caller: &SpaceCaller,
    raw_id: &str,
) -> Result<SheetContext, AppError> {
    let ctx = context(state, caller, raw_id).await?;
    if caller.guest_spaces().is_some() {
        ctx.sheet.check_unlocked()?;
    }
    Ok(ctx)
}

/// Makes a write of a sheet's records, prepared against its fields as read in `first`,
/// again on the fields as they are when a field change overtakes it
/// ([`crate::web::fresh_fields`]).
pub(super) async fn on_fresh_fields<T>(
    state: &AppState,
    caller: &SpaceCaller,
    raw_id: &str,
    first: SheetContext,
    write: impl AsyncFnMut(SheetContext) -> Result<T, AppError>,
) -> Result<T, AppError> {
    crate::web::fresh_fields::retry(first, async || writable(state, caller, raw_id).await, write).await
}

/// Runs a guest's write in a transaction that reads the lock first, under the sheet's
/// write lock: its body may have taken long to arrive, or its turn to write come after a
/// lock (probe 50a F1). Others' writes run as they are.
fn within_unlocked<T>(
    conn: &mut crate::db::AnyConnection,
    ctx: &SheetContext,
    guest: Option<&crate::auth::recheck::Credential>,
    write: impl FnOnce(&mut crate::db::AnyConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    match guest {
        // Still the guest's space too: archived or the guest removed while its body
        // arrived, nothing is written (probe 79a D3).
        Some(credential) => crate::db::write_tx(conn, |conn| {
            sheet::refuse_locked_now(conn, ctx)?;
            crate::auth::recheck::still_reaches(conn, credential, &ctx.space_id)?;
            write(conn)
        }),
        None => write(conn),
    }
}

/// A sheet the caller may reach (a guest: only in its spaces; others are not found).
pub(super) async fn context(
    state: &AppState,
    caller: &SpaceCaller,
    raw_id: &str,
) -> Result<SheetContext, AppError> {
    let id = path_id(raw_id, SheetId::parse, "sheet")?;
    let env = caller.environment_id.clone();
    let ctx = state.db(move |conn| sheet::load_context(conn, &env, &id)).await?;
    caller.check_reach_as(&ctx.space_id, "sheet")?;
    Ok(ctx)
}

/// Reads Flatfile's record query parameters (`ids` may repeat).
pub(super) fn parse_query(
    config: &SheetConfig,
    params: &[(String, String)],
) -> Result<(RecordQuery, bool), AppError> {
    selection::parse(config, params).map_err(mistake)
}

/// The selection parameters alone (`filter`, `filterField`, `searchValue`, `searchField`,
/// `ids`, `q`, `includeCounts`): paging and sort, where given, are the caller's own
/// (distinct values, bulk changes).
pub(crate) fn parse_selection(
    config: &SheetConfig,
    params: &[(String, String)],
) -> Result<(RecordQuery, bool), AppError> {
    let kept: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "pageSize" | "pageNumber" | "sortField" | "sortDirection"
            )
        })
        .cloned()
        .collect();
    parse_query(config, &kept)
}

fn mistake(m: selection::Mistake) -> AppError {
    AppError::bad_request(&m.key, m.message)
}

/// Whether a write runs record hooks: every listener call sends `X-Disable-Hooks: true`
/// (so a hook's own writes do not loop); `X-Force-Hooks: true` asks for them anyway.
/// Hooks are the team's rules, so only the team's keys may skip them: a guest's writes
/// always run them.
pub(super) fn hooks_of(req: &HttpRequest, caller: &SpaceCaller) -> Hooks {
    if caller.guest_spaces().is_some() {
        return Hooks::Run;
    }
    let on = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    };
    if on("x-disable-hooks") && !on("x-force-hooks") {
        Hooks::Skip
    } else {
        Hooks::Run
    }
}

/// What only the team's listener does (answer a commit, put messages on cells) takes the
/// team's API key.
pub(super) fn refuse_guest(caller: &SpaceCaller, what: &str) -> Result<(), AppError> {
    match caller.guest_spaces() {
        Some(_) => Err(AppError::Forbidden(format!(
            "a guest token cannot {what}: that takes the team's API key (`sk_...`)"
        ))),
        None => Ok(()),
    }
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub async fn list(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    fresh_read(async || list_once(&caller, &state, &path, &params).await).await
}

/// Runs a read of a sheet's records again while a field change overtakes it (the read
/// found the fields it was prepared with changed: [`AppError::Stale`]), a few times.
pub(crate) async fn fresh_read<T>(mut read: impl AsyncFnMut() -> Result<T, AppError>) -> Result<T, AppError> {
    let mut tries = 0;
    loop {
        match read().await {
            Err(AppError::Stale(_)) if tries < 5 => tries += 1,
            done => return done,
        }
    }
}

async fn list_once(
    caller: &SpaceCaller,
    state: &web::Data<AppState>,
    path: &str,
    params: &[(String, String)],
) -> Result<HttpResponse, AppError> {
    let ctx = context(state, caller, path).await?;
    let params = match param(params, "subjectOf") {
        Some(job) => super::records_subject::params(state, caller, &ctx, job, params).await?,
        None => params.to_vec(),
    };
    let (mut q, include_counts) = parse_query(&ctx.config, &params)?;
    let only = super::records_shape::only_fields(&ctx.config, &params)?;
    // `includeLinks=true`: each reference cell carries the records it points at (`links`).
    let include_links = super::flag(&params, "includeLinks")?;
    // A commit's records (what a record hook reads at its `dataUrl`), paged over its ids;
    // with `includeCounts`, the counts are those of all of them.
    let mut counted = None;
    if let Some(ids) = super::records_commit::ids_of(state, &ctx, &params).await? {
        // A big commit read whole (a record hook's `dataUrl`): streamed, not refused.
        let whole = param(&params, "pageSize").is_none() && q.sort.is_none() && !include_links;
        if ids.len() > MAX_BATCH && whole && !include_counts {
            return Ok(super::records_commit_stream::respond(
                state.pool.clone(),
                ctx,
                q,
                ids,
                only,
            ));
        }
        if include_counts {
            let mut all = q.clone();
            all.ids = Some(super::records_commit::within(ids.clone(), all.ids.take()));
            counted = Some(all);
        }
        super::records_commit::page(&mut q, ids, param(&params, "pageSize").is_some(), MAX_BATCH)?;
    }
    state
        .indexer
        .request_for(&state.pool, ctx.sheet.seq, ctx.sheet.counts().total, &q);
    let config = ctx.config.clone();
    // With `q`, the counts are those of the records it selects.
    let (rows, counts, links) = state
        .read_db_if(q.is_costly(), move |conn| {
            crate::db::read_snapshot(conn, |conn| {
                // The fields the query and the answer were made with are the records' own.
                sheet::check_fresh(conn, &ctx)?;
                let counts = match (counted, &q.ffql, include_counts) {
                    (Some(all), _, true) => record::cells::selection_counts(conn, &ctx, &all)?,
                    (None, Some(node), true) => record::counts(conn, &ctx, node)?,
                    _ => ctx.sheet.counts(),
                };
                let rows = record::query(conn, &ctx, &q)?;
                let links = match include_links {
                    true => Some(record::links::of(conn, &ctx, &rows)?),
                    false => None,
                };
                Ok::<_, crate::model::ModelError>((rows, counts, links))
            })
        })
        .await?;
    let mut envelope = RecordsEnvelope::new(&rows, &config)
        .only(only.as_deref())
        .links(links.as_ref());
    if include_counts {
        envelope.data.counts = Some(counts);
    }
    Ok(envelope.respond())
}

fn check_batch(len: usize) -> Result<(), AppError> {
    if len > MAX_BATCH {
        return Err(AppError::PayloadTooLarge(format!(
            "{len} records in one request; send at most {MAX_BATCH} at a time"
        )));
    }
    Ok(())
}

/// Inserts records. The body is read straight into field-ordered values (no map per
/// record), so a 10,000-record batch costs little more than its JSON.
pub async fn insert(
    req: HttpRequest,
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let ctx = writable(&state, &caller, &path).await?;
    check_access(&caller, &ctx, "add")?;
    let body = super::read_json_body(&req, payload).await?.freeze();
    let hooks = hooks_of(&req, &caller);
    let guest = caller.guest_spaces().map(|_| caller.credential());
    on_fresh_fields(&state, &caller, &path, ctx, async |ctx| {
        let (actor, hooks, body, guest) = (caller.actor(), hooks.clone(), body.clone(), guest.clone());
        let config = ctx.config.clone();
        let sheet_id = ctx.sheet.id.clone();
        let (seq, before) = (ctx.sheet.seq, ctx.sheet.total_count);
        state.indexer.load_batch_begins(seq);
        // Read off the server's own thread, on every core for a big body.
        let written = state
            .db(move |conn| {
                within_unlocked(conn, &ctx, guest.as_ref(), |conn| {
                    // A sheet with references checks them against the records already there,
                    // so its records are read whole before any is written; so are a guest's
                    // where some fields are read-only.
                    let fixed = guest.is_some() && ctx.config.fields.iter().any(|f| f.fixed());
                    if !ctx.refs.iter().any(Option::is_some) && !fixed {
                        let write = |batches: &mut dyn Iterator<Item = _>| {
                            record::insert_batches(conn, &ctx, batches, &actor, &hooks)
                        };
                        if let Some((inserted, ahead)) =
                            super::records_body::pipelined(&body, &ctx, MAX_BATCH, write)
                        {
                            if let Some(inserted) = inserted? {
                                return Ok((inserted, ahead));
                            }
                        }
                    }
                    let rows = super::records_body::parse(&body, &ctx.config)?;
                    check_batch(rows.len())?;
                    if fixed {
                        super::record_input::refuse_fixed_values(&ctx.config, &rows)?;
                    }
                    let written = record::insert(conn, &ctx, rows, &actor, &hooks)?;
                    let inserted = record::Inserted {
                        written,
                        as_prepared: false,
                    };
                    Ok::<_, AppError>((inserted, Vec::new()))
                })
            })
            .await?;
        let (record::Inserted { written, as_prepared }, ahead) = written;
        let total = before + written.rows.len() as i64;
        state
            .indexer
            .after_load_batch(&state.pool, seq, config.fields.len(), total);
        state.live.publish(&sheet_id, None);
        state.live.publish_each(&written.also_changed);
        // Written (and the records freed) off the server's own thread; from the records
        // written ahead when they are stored as they were read.
        let body = web::block(move || {
            // A commit made is the write's version too (events name it as both).
            let commit = written.commit.as_ref().map(ToString::to_string);
            let mut envelope = RecordsEnvelope::new(&[], &config);
            let ready = ahead.iter().map(RecordsAhead::records).sum::<usize>() == written.rows.len();
            if !(as_prepared && ready) {
                envelope = RecordsEnvelope::new(&written.rows, &config);
            }
            envelope.data.version_id = commit.clone();
            envelope.data.commit_id = commit;
            match as_prepared && ready {
                true => envelope.with_ahead(&written.rows, &ahead),
                false => envelope.to_json(),
            }
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?;
        Ok(super::record_view::json_response(body))
    })
    .await
}

/// A member that is present, even as `null`.
pub(super) fn given<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Metadata (of a record, of a sheet) is an object, as in Flatfile's API.
pub(super) fn not_an_object(metadata: &Value) -> Option<String> {
    let what = match metadata {
        Value::Object(_) => return None,
        Value::Array(_) => "a list",
        Value::String(_) => "text",
        Value::Number(_) => "a number",
        Value::Bool(_) => "true or false",
        Value::Null => "null",
    };
    Some(format!(
        "metadata is an object, such as {{\"source\": \"crm\"}}, not {what}"
    ))
}

/// `PUT /v1/sheets/{id}/records`: changes values and the messages listener code puts on
/// cells. With `?commitId=` (a record hook's answer, at the commit's `dataUrl`) it starts no
/// new commit and completes that one.
pub async fn update(
    req: HttpRequest,
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<Vec<(String, String)>>,
    body: crate::web::input::Json<Vec<UpdateItem>>,
) -> Result<HttpResponse, AppError> {
    let ctx = writable(&state, &caller, &path).await?;
    check_access(&caller, &ctx, "edit")?;
    let hooks = match param(&params, "commitId") {
        Some(raw) => {
            refuse_guest(&caller, "answer a commit (`commitId`)")?;
            Hooks::Answer(
                super::records_commit::commit_of(&state, &ctx, "commitId", raw)
                    .await?
                    .id,
            )
        }
        None => hooks_of(&req, &caller),
    };
    let body = body.into_inner();
    // A record hook answers a commit whole, as big as the commit it read (a bulk change's:
    // probe 62d D3); the body's byte limit still bounds it.
    match hooks {
        Hooks::Answer(_) if body.len() <= MAX_HOOK_ANSWER => {}
        _ => check_batch(body.len())?,
    }
    on_fresh_fields(&state, &caller, &path, ctx, async |ctx| {
        update_once(&state, &caller, ctx, body.clone(), hooks.clone()).await
    })
    .await
}

/// An update read against the sheet's fields in `ctx`, and made.
async fn update_once(
    state: &AppState,
    caller: &SpaceCaller,
    ctx: SheetContext,
    body: Vec<UpdateItem>,
    hooks: Hooks,
) -> Result<HttpResponse, AppError> {
    let mut problems = Vec::new();
    let mut updates = Vec::with_capacity(body.len());
    for (i, item) in body.into_iter().enumerate() {
        let Some(id) = RecordId::parse(&item.id) else {
            problems.push(ErrorItem {
                key: format!("$[{i}].id"),
                message: format!("`{}` is not a record id", item.id),
            });
            continue;
        };
        if item
            .messages
            .as_ref()
            .is_some_and(|m| !m.is_null() && m.as_array().is_none_or(|a| !a.is_empty()))
        {
            problems.push(ErrorItem {
                key: format!("$[{i}].messages"),
                message: "Wharf keeps messages on cells: send each with the cell it is about, as values.<field>.messages".into(),
            });
            continue;
        }
        let path = format!("$[{i}].values");
        let mut given = item.values;
        let mut given_config = item.config;
        // A hook's answer naming a field removed while it ran says nothing of the others.
        if matches!(hooks, Hooks::Answer(_)) {
            given.retain(|k, _| ctx.config.field_index(k).is_some());
            if let Some(Value::Object(c)) = &mut given_config {
                if let Some(Value::Object(fields)) = c.get_mut("fields") {
                    fields.retain(|k, _| ctx.config.field_index(k).is_some());
                }
            }
        }
        let (values, messages) = super::record_input::cell_updates(&ctx.config, given, &path, &mut problems);
        // Read-only and computed cells are the team's (and its listener code's) to write.
        if caller.guest_spaces().is_some() {
            for key in values.keys() {
                if let Some(f) = ctx.config.fields.iter().find(|f| &f.key == key && f.fixed()) {
                    return Err(AppError::Forbidden(format!(
                        "{} is read-only: a guest cannot change it ({path}.{key})",
                        f.display_name()
                    )));
                }
            }
        }
        // Flatfile's record metadata is an object; `null` empties it.
        let metadata = match item.metadata {
            Some(Value::Null) => Some(Value::Object(Default::default())),
            other => other,
        };
        let metadata_problem = match &metadata {
            Some(m) => not_an_object(m).or_else(|| super::record_input::too_big(m)),
            None => None,
        };
        if let Some(message) = metadata_problem {
            problems.push(ErrorItem {
                key: format!("$[{i}].metadata"),
                message,
            });
        }
        let config = match given_config
            .as_ref()
            .map(|c| record::config::parse(c, &ctx.config))
        {
            None => None,
            Some(Ok(stored)) => Some(stored),
            Some(Err(message)) => {
                problems.push(ErrorItem {
                    key: format!("$[{i}].config"),
                    message,
                });
                None
            }
        };
        updates.push(RecordUpdate {
            id,
            values,
            messages,
            metadata,
            config,
            uploaded: Default::default(),
            confirms: false,
        });
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems));
    }
    // Which cells are read-only is the team's listener's to say.
    if updates.iter().any(|u| u.config.is_some()) {
        refuse_guest(caller, "lock records (`config`)")?;
    }
    // Cell messages are the team's listener's say on the data (an error it found holds a
    // Submit back): a guest may not clear or write them.
    if updates.iter().any(|u| !u.messages.is_empty()) {
        refuse_guest(caller, "write cell messages (`messages`)")?;
    }
    let actor = caller.actor();
    let config = ctx.config.clone();
    let sheet_id = ctx.sheet.id.clone();
    let guest = caller.guest_spaces().map(|_| caller.credential());
    let answer = matches!(hooks, Hooks::Answer(_));
    let written = state
        .db(move |conn| {
            let write = |conn: &mut crate::db::AnyConnection| {
                within_unlocked(conn, &ctx, guest.as_ref(), |conn| {
                    // Cells listener code locked are not a guest's to change.
                    if guest.is_some() {
                        record::config::refuse_locked(conn, ctx.sheet.seq, &updates)?;
                        record::config::refuse_metadata_change(conn, ctx.sheet.seq, &updates)?;
                    }
                    Ok(record::update(conn, &ctx, &updates, &actor, &hooks)?)
                })
            };
            match answer {
                true => crate::db::patiently(|| write(conn)),
                false => write(conn),
            }
        })
        .await?;
    state.live.publish(&sheet_id, None);
    state.live.publish_each(&written.also_changed);
    let stored = written.rows;
    let version = stored.iter().map(|r| r.version).max().unwrap_or(0);
    let mut envelope = RecordsEnvelope::new(&stored, &config);
    // A commit made is the write's version (events name it as both); without one, the
    // records' own version.
    let commit = written.commit.as_ref().map(ToString::to_string);
    envelope.data.version_id = Some(commit.clone().unwrap_or_else(|| format!("us_vr_{version}")));
    envelope.data.commit_id = commit;
    Ok(envelope.respond())
}

pub async fn delete(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<Vec<(String, String)>>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    super::records_body::refuse_any(&body)?;
    let ctx = writable(&state, &caller, &path).await?;
    check_access(&caller, &ctx, "delete")?;
    // Ids beside a selection are the records it leaves out everywhere else: deleting
    // them, and ignoring the selection, deleted what the client meant to keep (probe 64b
    // D1). A selection is deleted by a `delete-records` job.
    if let Some((k, _)) = params.iter().find(|(k, _)| k != "ids") {
        return Err(AppError::bad_request(
            k,
            format!(
                "`{k}` is not taken here: this deletes the records named by ids=us_rc_... only; \
                 delete a selection with a `delete-records` job"
            ),
        ));
    }
    let mut ids = Vec::new();
    for (k, v) in params.iter() {
        for part in v.split(',').filter(|p| !p.is_empty()) {
            ids.push(
                RecordId::parse(part)
                    .ok_or_else(|| AppError::bad_request(k, format!("`{part}` is not a record id")))?,
            );
        }
    }
    if ids.is_empty() {
        return Err(AppError::bad_request(
            "ids",
            "name the records to delete with ids=us_rc_...",
        ));
    }
    check_batch(ids.len())?;
    on_fresh_fields(&state, &caller, &path, ctx, async |ctx| {
        let (actor, ids) = (caller.actor(), ids.clone());
        let sheet_id = ctx.sheet.id.clone();
        let guest = caller.guest_spaces().map(|_| caller.credential());
        let written = state
            .db(move |conn| {
                within_unlocked(conn, &ctx, guest.as_ref(), |conn| {
                    Ok(record::delete(conn, &ctx, &ids, &actor)?)
                })
            })
            .await?;
        state.live.publish(&sheet_id, None);
        state.live.publish_each(&written.also_changed);
        Ok(success())
    })
    .await
}

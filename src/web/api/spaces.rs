//! Spaces: list by environment, create (bare or from a space config), get, update, delete,
//! archive and unarchive.

use super::{given_id, ok, pagination, paging, path_id, stored_json, success};
use crate::app::AppState;
use crate::auth::{ApiCaller, SpaceCaller, SpaceScope};
use crate::ids::{EnvironmentId, SpaceConfigId, SpaceId, WorkbookId};
use crate::model::space::{self, Filter, Space, SpaceChanges, SpaceInput};
use crate::model::{iso, now, space_extras, workbook};
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn space_json(s: &Space, workbook_ids: &[String]) -> Value {
    let mut v = json!({
        "id": s.id,
        "environmentId": s.environment_id,
        "spaceConfigId": s.space_config_id,
        "primaryWorkbookId": space::primary_workbook(s, workbook_ids),
        "name": s.name,
        "metadata": stored_json(&s.metadata),
        "workbooksCount": workbook_ids.len(),
        "createdByUserId": s.created_by,
        "guestAuthentication": ["magic_link"],
        "autoConfigure": s.auto_configure,
        "archivedAt": s.archived_at.as_ref().map(iso),
        "lastActivityAt": iso(&s.last_activity_at),
        "createdAt": iso(&s.created_at),
        "updatedAt": iso(&s.updated_at),
    });
    if let Some(ns) = &s.namespace {
        v["namespace"] = json!(ns);
    }
    for (k, value) in space_extras::kept(&s.extras) {
        v[k] = value;
    }
    v
}

/// Flatfile's kept space fields among a body's others, checked (422 naming the field).
fn extras_given(rest: &serde_json::Map<String, Value>) -> Result<space_extras::Extras, AppError> {
    super::unkept::guest_authentication(rest.get("guestAuthentication"))?;
    let extras = space_extras::pick(rest);
    space_extras::check(&extras).map_err(|(field, message)| AppError::invalid(&field, message))?;
    Ok(extras)
}

/// A `namespace` given in a body, checked (422 naming it).
pub(super) fn namespace_given(given: Option<String>) -> Result<Option<String>, AppError> {
    crate::names::namespace(given).map_err(|m| AppError::invalid("namespace", m))
}

/// A space in the caller's environment, or 404.
async fn load(state: &AppState, caller: &ApiCaller, raw_id: &str) -> Result<Space, AppError> {
    let id = path_id(raw_id, SpaceId::parse, "space")?;
    let env = caller.environment_id.clone();
    state
        .db(move |conn| space::find(conn, &env, &id))
        .await?
        .ok_or(AppError::NotFound("space"))
}

async fn render(state: &AppState, s: Space) -> Result<HttpResponse, AppError> {
    let sid = s.id.clone();
    let (wbs, files) = state
        .db(move |conn| {
            let wbs = workbook::list_in_space(conn, &sid)?;
            let files = crate::model::file::count_by_space(conn, std::slice::from_ref(&sid))?;
            Ok::<_, diesel::result::Error>((wbs, files.get(&sid).copied().unwrap_or(0)))
        })
        .await?;
    let ids: Vec<String> = wbs.into_iter().map(|w| w.id.0).collect();
    let mut body = space_json(&s, &ids);
    body["filesCount"] = json!(files);
    Ok(ok(body))
}

/// An `environmentId` that names another environment is not found, not forbidden.
pub(super) fn check_environment(env: &EnvironmentId, given: Option<&str>) -> Result<(), AppError> {
    match given {
        Some(text) if &given_id(text, EnvironmentId::parse, "environmentId")? != env => {
            Err(AppError::NotFound("environment"))
        }
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    environment_id: Option<String>,
    page_size: Option<i64>,
    page_number: Option<i64>,
    search: Option<String>,
    namespace: Option<String>,
    /// Read by `super::flag`, which names it when it is neither true nor false.
    archived: Option<String>,
    sort_field: Option<String>,
    sort_direction: Option<String>,
}

/// Flatfile's `sortField` / `sortDirection` (ascending unless `desc`).
fn sort_of(q: &ListQuery) -> Result<Option<(space::SortField, bool)>, AppError> {
    let desc = super::descending(q.sort_direction.as_deref())?;
    match q.sort_field.as_deref() {
        None => Ok(None),
        Some(text) => space::SortField::parse(text).map(|f| Some((f, desc))).ok_or_else(|| {
            AppError::bad_request(
                "sortField",
                format!("spaces sort by name, workbooksCount, filesCount, environmentId, createdByUserName, createdAt or lastActivityAt, not `{text}`"),
            )
        }),
    }
}

/// The environment's spaces for an API key; a guest's own spaces for a guest token (as a
/// portal listing "my spaces" asks), archived ones closed to it.
pub async fn list(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    check_environment(&caller.environment_id, q.environment_id.as_deref())?;
    // SQLite refuses a LIKE pattern past 50,000 bytes with a 500 (probe 65e D4); a space's
    // name is far shorter than this.
    const MAX_SEARCH_CHARS: usize = 1_000;
    if q.search
        .as_ref()
        .is_some_and(|s| s.chars().count() > MAX_SEARCH_CHARS)
    {
        return Err(AppError::bad_request(
            "search",
            format!("a search is at most {MAX_SEARCH_CHARS} characters; search for a part of the name"),
        ));
    }
    let (size, number) = paging(q.page_size, q.page_number, 10, 1000)?;
    let sort = sort_of(&q)?;
    let q = q.into_inner();
    let filter = Filter {
        sort,
        search: q.search,
        namespace: q.namespace.filter(|n| !n.is_empty()),
        archived: super::flag(
            &q.archived
                .map(|a| ("archived".to_string(), a))
                .into_iter()
                .collect::<Vec<_>>(),
            "archived",
        )?,
        page_size: size,
        page_number: number,
        only: caller.guest_spaces().map(|spaces| {
            let closed = caller.guest_archived();
            spaces.iter().filter(|s| !closed.contains(s)).cloned().collect()
        }),
    };
    let env = caller.environment_id.clone();
    let (items, total) = state
        .db(move |conn| {
            let (spaces, total) = space::list(conn, &env, &filter)?;
            let ids: Vec<SpaceId> = spaces.iter().map(|s| s.id.clone()).collect();
            let mut workbooks = workbook::ids_by_space(conn, &ids)?;
            let files = crate::model::file::count_by_space(conn, &ids)?;
            let out: Vec<Value> = spaces
                .iter()
                .map(|s| {
                    let wbs: Vec<String> = workbooks
                        .remove(&s.id)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|w| w.0)
                        .collect();
                    let mut body = space_json(s, &wbs);
                    body["filesCount"] = json!(files.get(&s.id).copied().unwrap_or(0));
                    body
                })
                .collect();
            Ok::<_, diesel::result::Error>((out, total))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"data": items, "pagination": pagination(total, size, number)})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    name: Option<String>,
    space_config_id: Option<String>,
    environment_id: Option<String>,
    metadata: Option<Value>,
    namespace: Option<String>,
    auto_configure: Option<bool>,
    primary_workbook_id: Option<String>,
    /// Flatfile's other fields, of which `space_extras::KEYS` are kept.
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

pub async fn create(
    caller: ApiCaller,
    state: web::Data<AppState>,
    body: crate::web::input::Json<CreateBody>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    super::metadata::check(body.metadata.as_ref())?;
    check_environment(&caller.environment_id, body.environment_id.as_deref())?;
    let config_id = body
        .space_config_id
        .as_deref()
        .map(|t| given_id(t, SpaceConfigId::parse, "spaceConfigId"))
        .transpose()?;
    let metadata = body.metadata.unwrap_or(json!({})).to_string();
    let namespace = namespace_given(body.namespace)?;
    if body.primary_workbook_id.is_some() {
        return Err(AppError::invalid(
            "primaryWorkbookId",
            "a new space has no workbooks yet: set primaryWorkbookId with PATCH /v1/spaces/{id} once its workbook exists",
        ));
    }
    let extras = space_extras::initial(&extras_given(&body.rest)?);
    let actor = caller.actor();
    let env = caller.environment_id.clone();
    let s = state
        .db(move |conn| {
            let input = SpaceInput {
                name: body.name.as_deref(),
                space_config_id: config_id.as_ref(),
                metadata: &metadata,
                namespace: namespace.as_deref(),
                auto_configure: body.auto_configure.unwrap_or(false),
                extras: &extras,
            };
            space::create(conn, &env, input, &actor)
        })
        .await?;
    render(&state, s).await
}

/// A key sees any space of its environment; a guest token only the guest's spaces.
pub async fn get(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&path, SpaceId::parse, "space")?;
    caller.check_reach(&id)?;
    let env = caller.environment_id.clone();
    let s = state
        .db(move |conn| space::find(conn, &env, &id))
        .await?
        .ok_or(AppError::NotFound("space"))?;
    render(&state, s).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBody {
    name: Option<String>,
    /// `null` empties it, as a sheet's (probe 60a 1: it was kept, unsaid).
    #[serde(default, deserialize_with = "super::records::given")]
    metadata: Option<Value>,
    /// `""` takes the namespace away.
    namespace: Option<String>,
    /// A workbook of the space; `null` goes back to the oldest.
    #[serde(default, deserialize_with = "super::records::given")]
    primary_workbook_id: Option<Value>,
    /// Flatfile's other fields, of which `space_extras::KEYS` are kept.
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

pub async fn update(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: crate::web::input::Json<UpdateBody>,
) -> Result<HttpResponse, AppError> {
    let s = load(&state, &caller, &path).await?;
    let body = body.into_inner();
    super::metadata::check(body.metadata.as_ref())?;
    super::unkept::fixed(
        "a space",
        &[
            (
                "environmentId",
                body.rest.get("environmentId"),
                Some(s.environment_id.as_str()),
            ),
            (
                "spaceConfigId",
                body.rest.get("spaceConfigId"),
                s.space_config_id.as_ref().map(|c| c.as_str()),
            ),
        ],
    )?;
    let namespace = match body.namespace {
        Some(given) => Some(namespace_given(Some(given))?),
        None => None,
    };
    let primary_workbook_id = match body.primary_workbook_id {
        Some(Value::String(text)) => Some(Some(given_id(&text, WorkbookId::parse, "primaryWorkbookId")?)),
        Some(Value::Null) => Some(None),
        Some(_) => {
            return Err(AppError::invalid(
                "primaryWorkbookId",
                "primaryWorkbookId must be a workbook's id",
            ))
        }
        None => None,
    };
    let extras = extras_given(&body.rest)?;
    let changes = SpaceChanges {
        name: body.name,
        metadata: body.metadata.map(|m| match m {
            Value::Null => "{}".to_string(),
            given => given.to_string(),
        }),
        namespace,
        primary_workbook_id,
        ..Default::default()
    };
    let extras = (!extras.is_empty()).then_some(extras);
    change(&state, &caller, s, changes, extras).await
}

async fn change(
    state: &AppState,
    caller: &ApiCaller,
    s: Space,
    changes: SpaceChanges,
    extras: Option<space_extras::Extras>,
) -> Result<HttpResponse, AppError> {
    let actor = caller.actor();
    let archiving = matches!(changes.archived_at, Some(Some(_)));
    let s = state
        .db(move |conn| space::update(conn, &s, changes, extras.as_ref(), &actor))
        .await?;
    if archiving {
        // Its guests' open pages close.
        state.live.access_changed().await;
    }
    render(state, s).await
}

pub async fn archive(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let s = load(&state, &caller, &path).await?;
    change(
        &state,
        &caller,
        s,
        SpaceChanges {
            archived_at: Some(Some(now())),
            ..Default::default()
        },
        None,
    )
    .await?;
    Ok(success())
}

pub async fn unarchive(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let s = load(&state, &caller, &path).await?;
    change(
        &state,
        &caller,
        s,
        SpaceChanges {
            archived_at: Some(None),
            ..Default::default()
        },
        None,
    )
    .await?;
    Ok(success())
}

/// Deletes the bytes of a space's files, file by file. A store that fails part-way leaves
/// no file listed without its bytes: the files whose bytes went are deleted whole, and the
/// error says so; the space and its other files stay for the delete to be asked again.
/// Returns the keys deleted.
async fn delete_files_bytes(
    state: &AppState,
    files: Vec<crate::model::file::File>,
    actor: &str,
) -> Result<Vec<String>, AppError> {
    let mut gone = Vec::new();
    for f in &files {
        if let Err(e) = super::file_bytes::delete_file_bytes(state, f, actor).await {
            if gone.is_empty() {
                return Err(e);
            }
            let (n, total, actor) = (gone.len(), files.len(), actor.to_string());
            let here = state.storage.holder();
            state
                .db(move |conn| {
                    gone.iter()
                        .try_for_each(|f| crate::model::file::delete(conn, f, &actor, here.as_deref()))
                })
                .await?;
            return Err(AppError::StoragePartial {
                message: format!(
                    "the file storage failed part-way: {n} of the space's {total} files were \
                     deleted, the space and its other files stay; delete the space again to finish"
                ),
                ours: !matches!(e, AppError::Storage | AppError::StorageRefused),
            });
        }
        gone.push(f.clone());
    }
    Ok(files
        .iter()
        .flat_map(|f| [f.rejects_key(), f.storage_key.clone()])
        .collect())
}

pub async fn delete(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let s = load(&state, &caller, &path).await?;
    delete_space(state.into_inner(), s, caller.actor()).await?;
    Ok(success())
}

/// Deletes a space with everything in it, as a file's delete: the bytes first (a store
/// that is down is a 502 and the space stays), then the rows, to the end even when the
/// client leaves. The API's delete and the dashboard's.
pub async fn delete_space(state: std::sync::Arc<AppState>, s: Space, actor: String) -> Result<(), AppError> {
    super::file_bytes::to_the_end(async move {
        let id = s.id.clone();
        let files = state
            .db(move |conn| crate::model::file::in_space(conn, &id))
            .await?;
        let keys = delete_files_bytes(&state, files, &actor).await?;
        let here = state.storage.holder();
        let now = super::file_bytes::rows_after_bytes(&state, move |conn| {
            crate::db::write_tx(conn, |conn| rows_of_space(conn, &s, here.as_deref(), &actor))
        })
        .await?;
        // A file uploaded meanwhile went with the space: its bytes go too, and so do rejected
        // rows an extraction finishing meanwhile put back.
        let late: Vec<String> = now
            .into_iter()
            .filter(|k| !keys.contains(k) || k.ends_with(".rejects.csv") || k.starts_with("submissions/"))
            .collect();
        if let Err(e) = super::file_bytes::delete_bytes(&state.storage, &late).await {
            tracing::warn!(error = %e, "deleting stored bytes failed");
        }
        Ok(())
    })
    .await
}

/// Deletes a space's rows, in one transaction that first takes the space from writers
/// adding to it: the storage keys it returns are those of every file that went with the
/// space (read apart, a file added between the read and the delete went with the space
/// and left its bytes behind).
fn rows_of_space(
    conn: &mut crate::db::AnyConnection,
    s: &Space,
    here: Option<&str>,
    actor: &str,
) -> Result<Vec<String>, crate::model::ModelError> {
    space::lock_for_delete(conn, &s.id)?;
    // Bytes in another process's data folder are handed over to it with the rows.
    let files = crate::model::file::in_space(conn, &s.id)?;
    crate::model::file::hand_over(conn, &files, here)?;
    let mut now: Vec<String> = files
        .iter()
        .flat_map(|f| [f.rejects_key(), f.storage_key.clone()])
        .collect();
    // Records frozen for Submit deliveries go with the space (their rows have no key to the
    // space to cascade).
    let submissions = crate::model::submission::of_space(conn, &s.id, i64::MAX)?;
    now.extend(crate::model::submission::delete_returning_keys(
        conn,
        &submissions,
        here,
    )?);
    space::delete(conn, s, actor)?;
    Ok(now)
}

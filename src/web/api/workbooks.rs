//! Workbooks: create with sheets, list by space, get, update, delete.

use super::sheets::sheet_json;
use super::{given_id, ok, path_id, space_filter, stored_json, success};
use crate::app::AppState;
use crate::auth::{ApiCaller, SpaceCaller, SpaceScope};
use crate::blueprint;
use crate::ids::{SpaceId, WorkbookId};
use crate::model::event::Context;
use crate::model::workbook::{self, Workbook, WorkbookChanges};
use crate::model::{iso, sheet, space, ModelError};
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use diesel::QueryResult;
use serde::Deserialize;
use serde_json::{json, Value};

fn workbook_json(conn: &mut crate::db::AnyConnection, w: &Workbook) -> QueryResult<Value> {
    let sheets: Vec<Value> = sheet::list_in_workbook(conn, &w.id)?
        .iter()
        .map(sheet_json)
        .collect();
    let mut v = json!({
        "id": w.id,
        "name": w.name,
        "spaceId": w.space_id,
        "environmentId": w.environment_id,
        "sheets": sheets,
        "labels": stored_json(&w.labels),
        "actions": stored_json(&w.actions),
        "metadata": stored_json(&w.metadata),
        "createdAt": iso(&w.created_at),
        "updatedAt": iso(&w.updated_at),
    });
    if let Some(ns) = &w.namespace {
        v["namespace"] = json!(ns);
    }
    if let Some(settings) = &w.settings {
        v["settings"] = stored_json(settings);
    }
    let treatments = treatments(w);
    if !treatments.is_empty() {
        v["treatments"] = json!(treatments);
    }
    Ok(v)
}

async fn load(state: &AppState, caller: &SpaceCaller, raw_id: &str) -> Result<Workbook, AppError> {
    let id = path_id(raw_id, WorkbookId::parse, "workbook")?;
    let env = caller.environment_id.clone();
    let w = state
        .db(move |conn| workbook::find(conn, &env, &id))
        .await?
        .ok_or(AppError::NotFound("workbook"))?;
    caller.check_reach_as(&w.space_id, "workbook")?;
    Ok(w)
}

async fn render(state: &AppState, w: Workbook) -> Result<HttpResponse, AppError> {
    let body = state.db(move |conn| workbook_json(conn, &w)).await?;
    Ok(ok(body))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    environment_id: Option<String>,
    space_id: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    label: Option<String>,
    treatment: Option<String>,
    include_sheets: Option<bool>,
}

/// Flatfile's list filters: `name`, `namespace` and `label` match exactly, or with a
/// leading `-` exclude; `treatment` (`EXTRACTED_FROM_SOURCE`: a file's workbook) keeps
/// the workbooks that have it. Listener code finds "its" workbook by name or label this
/// way and takes the first answer.
fn wanted(q: &ListQuery, w: &Workbook) -> bool {
    fn matches(filter: &Option<String>, holds: impl Fn(&str) -> bool) -> bool {
        match filter.as_deref() {
            None => true,
            Some(f) => match f.strip_prefix('-') {
                Some(not) => !holds(not),
                None => holds(f),
            },
        }
    }
    let labels: Vec<String> = serde_json::from_str(&w.labels).unwrap_or_default();
    matches(&q.name, |n| w.name == n)
        && matches(&q.namespace, |n| w.namespace.as_deref() == Some(n))
        && matches(&q.label, |l| labels.iter().any(|x| x == l))
        && q.treatment
            .as_deref()
            .is_none_or(|t| treatments(w).iter().any(|x| x == t))
}

/// A workbook's treatments (a file's workbook is `EXTRACTED_FROM_SOURCE`), kept in its
/// metadata.
fn treatments(w: &Workbook) -> Vec<String> {
    serde_json::from_str::<Value>(&w.metadata)
        .ok()
        .and_then(|m| serde_json::from_value(m.get("treatments")?.clone()).ok())
        .unwrap_or_default()
}

pub async fn list(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    super::spaces::check_environment(&caller.environment_id, q.environment_id.as_deref())?;
    let space_id = space_filter(&caller, q.space_id.as_deref())?;
    let env = caller.environment_id.clone();
    let items = state
        .db(move |conn| {
            let mut wbs = match &space_id {
                Some(sid) => match space::find(conn, &env, sid)? {
                    Some(_) => workbook::list_in_space(conn, sid)?,
                    None => return Err(ModelError::NotFound("space")),
                },
                None => workbook::list_in_environment(conn, &env)?,
            };
            // A guest sees the workbooks of its own spaces only.
            wbs.retain(|w| caller.reaches(&w.space_id) && wanted(&q, w));
            wbs.iter()
                .map(|w| {
                    let mut v = workbook_json(conn, w)?;
                    if q.include_sheets == Some(false) {
                        v.as_object_mut().map(|o| o.remove("sheets"));
                    }
                    Ok(v)
                })
                .collect::<QueryResult<Vec<_>>>()
                .map_err(ModelError::from)
        })
        .await?;
    Ok(ok(items))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    name: String,
    space_id: String,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    sheets: Vec<Value>,
    actions: Option<Value>,
    metadata: Option<Value>,
    /// `{trackChanges}`: held by each sheet that does not say otherwise.
    settings: Option<Value>,
    namespace: Option<String>,
    /// The caller's own, when given (another: 404, not a workbook made elsewhere).
    environment_id: Option<String>,
    /// Flatfile's `treatments`: kept in the metadata, as a file's workbook keeps its own
    /// (`EXTRACTED_FROM_SOURCE`), and answered back (probe 57c: dropped).
    #[serde(default)]
    treatments: Vec<String>,
}

pub async fn create(
    caller: ApiCaller,
    state: web::Data<AppState>,
    body: crate::web::input::Json<CreateBody>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    super::metadata::check(body.metadata.as_ref())?;
    super::spaces::check_environment(&caller.environment_id, body.environment_id.as_deref())?;
    if let Some(message) = workbook::name_problem(&body.name) {
        return Err(AppError::invalid("name", message));
    }
    let space_id = given_id(&body.space_id, SpaceId::parse, "spaceId")?;
    if let Some(actions) = &body.actions {
        blueprint::check_actions(actions, "$.actions").map_err(AppError::malformed)?;
    }
    for (i, sheet) in body.sheets.iter().enumerate() {
        if let Some(actions) = sheet.get("actions") {
            let path = format!("$.sheets[{i}].actions");
            blueprint::check_actions(actions, &path).map_err(AppError::malformed)?;
        }
    }
    if body.treatments.len() > 10
        || body
            .treatments
            .iter()
            .any(|t| t.trim().is_empty() || t.len() > 100)
    {
        return Err(AppError::invalid(
            "treatments",
            "treatments are at most 10 names of 1 to 100 characters, such as EXTRACTED_FROM_SOURCE",
        ));
    }
    let namespace = super::spaces::namespace_given(body.namespace.clone())?;
    let settings = settings_given(body.settings.clone())?;
    let mut sheets = blueprint::parse_sheets(&body.sheets, "$.sheets").map_err(ModelError::from)?;
    blueprint::inherit_settings(settings.as_ref(), &mut sheets);
    let actor = caller.actor();
    let env = caller.environment_id.clone();
    let w = state
        .db(move |conn| {
            space::find(conn, &env, &space_id)?.ok_or(ModelError::NotFound("space"))?;
            let ctx = Context::new(&env, &actor).space(&space_id);
            let actions = body.actions.unwrap_or(json!([]));
            let mut metadata = body.metadata.unwrap_or(json!({}));
            if !body.treatments.is_empty() {
                if let Some(kept) = metadata.as_object_mut() {
                    kept.insert("treatments".into(), json!(body.treatments));
                }
            }
            let metadata = metadata.to_string();
            let spec = workbook::Spec {
                labels: &body.labels,
                actions: &actions,
                metadata: &metadata,
                namespace: namespace.as_deref(),
                settings: settings.as_ref(),
                ..workbook::Spec::new(body.name.trim(), &sheets)
            };
            workbook::create(conn, &ctx, spec)
        })
        .await?;
    render(&state, w).await
}

pub async fn get(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let w = load(&state, &caller, &path).await?;
    render(&state, w).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBody {
    name: Option<String>,
    labels: Option<Vec<String>>,
    actions: Option<Value>,
    /// `null` empties it, as a sheet's (probe 60a 1: it was kept, unsaid).
    #[serde(default, deserialize_with = "super::records::given")]
    metadata: Option<Value>,
    /// `""` takes the namespace away.
    namespace: Option<String>,
    /// Sheets to change (named by `id` or `slug`) or add: see `model::workbook_sheets`.
    sheets: Option<Value>,
    /// Replaces the workbook's settings; `trackChanges` in them holds for every sheet.
    #[serde(default, deserialize_with = "super::records::given")]
    settings: Option<Value>,
    /// Flatfile's update names them too: a workbook stays where it is, so another is said.
    space_id: Option<String>,
    environment_id: Option<String>,
}

/// `settings` given in a body: an object of at most 64 KiB whose `trackChanges`, if any,
/// is true or false (`null`: none).
fn settings_given(given: Option<Value>) -> Result<Option<Value>, AppError> {
    match given {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => {
            if v.get("trackChanges")
                .is_some_and(|t| !t.is_boolean() && !t.is_null())
            {
                return Err(AppError::invalid(
                    "settings.trackChanges",
                    "trackChanges is true or false",
                ));
            }
            if v.to_string().len() > 64 * 1024 {
                return Err(AppError::invalid(
                    "settings",
                    "a workbook's settings must fit in 64 KiB",
                ));
            }
            Ok(Some(v))
        }
        Some(_) => Err(AppError::invalid(
            "settings",
            "a workbook's settings must be an object",
        )),
    }
}

pub async fn update(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: crate::web::input::Json<UpdateBody>,
) -> Result<HttpResponse, AppError> {
    let w = load(&state, &SpaceCaller::from(caller.clone()), &path).await?;
    let body = body.into_inner();
    super::metadata::check(body.metadata.as_ref())?;
    // Another space or environment moved nothing, answered 200 (probe 65e D6).
    for (key, given, own) in [
        ("spaceId", &body.space_id, w.space_id.as_str()),
        ("environmentId", &body.environment_id, w.environment_id.as_str()),
    ] {
        if given.as_deref().is_some_and(|g| g != own) {
            return Err(AppError::invalid(
                key,
                format!("a workbook stays in its space and environment; `{key}` names another: make a workbook there instead"),
            ));
        }
    }
    let sheets = match body.sheets {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(items),
        Some(_) => return Err(AppError::invalid("sheets", "sheets is an array of sheets")),
    };
    if let Some(actions) = &body.actions {
        blueprint::check_actions(actions, "$.actions").map_err(AppError::malformed)?;
    }
    let namespace = match body.namespace {
        Some(given) => Some(super::spaces::namespace_given(Some(given))?),
        None => None,
    };
    let changes = WorkbookChanges {
        namespace,
        name: body.name.map(|n| n.trim().to_string()),
        labels: body.labels.map(|l| json!(l).to_string()),
        actions: body.actions.map(|a| a.to_string()),
        metadata: body.metadata.map(|m| match m {
            Value::Null => "{}".to_string(),
            given => given.to_string(),
        }),
        // Given as `null`, the settings go.
        settings: match body.settings {
            Some(Value::Null) => Some(None),
            given => settings_given(given)?.map(|s| Some(s.to_string())),
        },
        updated_at: None,
    };
    let actor = caller.actor();
    let sheets_given = sheets.is_some();
    let w = state
        .db(move |conn| workbook::update(conn, &w, changes, sheets.as_deref(), &actor))
        .await?;
    if sheets_given {
        // Open grids show the new names, labels and actions.
        let id = w.id.clone();
        let ids = state
            .db(move |conn| crate::model::sheet::list_in_workbook(conn, &id))
            .await?;
        for s in ids {
            state.live.publish(&s.id, None);
        }
    }
    render(&state, w).await
}

pub async fn delete(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let w = load(&state, &SpaceCaller::from(caller.clone()), &path).await?;
    let actor = caller.actor();
    let here = state.storage.holder();
    let keys = state
        .db(move |conn| workbook::delete_returning_keys(conn, &w, &actor, here.as_deref()))
        .await?;
    // The records its Submits froze went with it.
    if let Err(e) = super::file_bytes::delete_bytes(&state.storage, &keys).await {
        tracing::warn!(error = %e, "deleting stored bytes failed");
    }
    Ok(success())
}

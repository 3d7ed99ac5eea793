//! Files: upload (multipart, streamed to storage), list, get, update, delete, download,
//! and the rows extraction could not read.

use super::file_bytes::{stream_file, stream_rejects};
pub use super::file_delete::{delete_file, refuse_guest_delete};
pub use super::file_upload::{receive, refuse_encoded, refuse_oversized};
use super::{given_id, ok, pagination, paging, path_id, space_filter, stored_json, success};
use crate::app::AppState;
use crate::auth::{SpaceCaller, SpaceScope};
use crate::ids::{FileId, SpaceId, WorkbookId};
use crate::model::file::{self, File, FileChanges, Filter};
use crate::model::{iso, ModelError};
use crate::web::error::AppError;
use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn file_json(f: &File) -> Value {
    json!({
        "id": f.id,
        "name": f.name,
        "ext": f.ext,
        "mimetype": f.mimetype,
        "encoding": f.encoding,
        "status": f.status,
        "mode": f.mode,
        "size": f.size,
        "bytesReceived": f.bytes_received,
        "spaceId": f.space_id,
        "workbookId": f.workbook_id,
        "actions": stored_json(&f.actions),
        "origin": f.origin,
        "sha256": f.sha256,
        "message": f.message,
        "rejectCount": f.reject_count,
        "createdAt": iso(&f.created_at),
        "updatedAt": iso(&f.updated_at),
    })
}

/// A file name's extension, lower case, without the dot (`""` when it has none).
pub(super) fn extension_of(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Largest text field of the form.
pub(super) const FIELD_LIMIT: usize = 64 * 1024;

/// The longest file name kept, in characters (what file systems allow).
pub(super) const NAME_MAX: usize = 255;

/// A file's name as given by an upload or an update: one line of at most [`NAME_MAX`]
/// characters, nothing that turns the text around it.
fn checked_name(given: &str, key: &str) -> Result<String, AppError> {
    let name = given.trim();
    if name.is_empty() {
        return Err(AppError::invalid(key, "a file name must not be empty"));
    }
    // As an upload keeps only the last part of a path: a name is never one.
    if name.contains(['/', '\\']) || name == "." || name == ".." {
        return Err(AppError::invalid(
            key,
            "a file name is a name, not a path: no `/`, `\\`, `.` or `..`",
        ));
    }
    match crate::names::problem("a file name", name, NAME_MAX) {
        Some(message) => Err(AppError::invalid(key, message)),
        None => Ok(name.to_string()),
    }
}

/// A file's actions, as `PATCH` and an upload's `actions` parts give them: shaped as a
/// workbook's are (400 naming the path), and at most [`FIELD_LIMIT`] bytes in all.
pub(super) fn checked_actions(actions: &[Value]) -> Result<String, AppError> {
    let all = Value::Array(actions.to_vec());
    crate::blueprint::check_actions(&all, "$.actions").map_err(AppError::malformed)?;
    let text = all.to_string();
    if text.len() > FIELD_LIMIT {
        return Err(AppError::invalid(
            "actions",
            format!(
                "a file's actions take {} bytes; at most {FIELD_LIMIT}",
                text.len()
            ),
        ));
    }
    Ok(text)
}

pub async fn upload(
    req: actix_web::HttpRequest,
    caller: SpaceCaller,
    state: web::Data<AppState>,
    form: Multipart,
) -> Result<HttpResponse, AppError> {
    refuse_oversized(&req, &state)?;
    refuse_encoded(&req)?;
    let f = receive(&state, &caller, form, None).await?;
    Ok(ok(file_json(&f)))
}

async fn load(state: &AppState, caller: &SpaceCaller, raw_id: &str) -> Result<File, AppError> {
    let id = path_id(raw_id, FileId::parse, "file")?;
    let env = caller.environment_id.clone();
    let f = state
        .db(move |conn| file::find(conn, &env, &id))
        .await?
        .ok_or(AppError::NotFound("file"))?;
    caller.check_reach_as(&f.space_id, "file")?;
    Ok(f)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    environment_id: Option<String>,
    space_id: Option<String>,
    page_size: Option<i64>,
    page_number: Option<i64>,
    mode: Option<String>,
}

/// A guest lists the files of its own spaces only.
pub async fn list(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    super::spaces::check_environment(&caller.environment_id, q.environment_id.as_deref())?;
    let (size, number) = paging(q.page_size, q.page_number, 20, 1000)?;
    if let Some(mode) = q.mode.as_deref().filter(|m| !matches!(*m, "import" | "export")) {
        return Err(AppError::bad_request(
            "mode",
            format!("`{mode}` is not a mode: `import` (the default) or `export`"),
        ));
    }
    let space_id = space_filter(&caller, q.space_id.as_deref())?;
    let filter = Filter {
        space_id,
        only_spaces: caller.only_spaces().map(<[SpaceId]>::to_vec),
        // As Flatfile's: a listing is of uploads (`import`) unless it asks for exports.
        mode: Some(q.mode.clone().unwrap_or_else(|| "import".into())),
        newest_first: false,
        page_size: size,
        page_number: number,
    };
    let env = caller.environment_id.clone();
    let (items, total) = state
        .db(move |conn| {
            // A space of another environment (or none) is a 404, as for workbooks.
            if let Some(sid) = &filter.space_id {
                crate::model::space::find(conn, &env, sid)?.ok_or(AppError::NotFound("space"))?;
            }
            Ok::<_, AppError>(file::list(conn, &env, &filter)?)
        })
        .await?;
    let data: Vec<Value> = items.iter().map(file_json).collect();
    Ok(HttpResponse::Ok().json(json!({"pagination": pagination(total, size, number), "data": data})))
}

pub async fn get(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let f = load(&state, &caller, &path).await?;
    Ok(ok(file_json(&f)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBody {
    name: Option<String>,
    workbook_id: Option<String>,
    mode: Option<String>,
    status: Option<String>,
    actions: Option<Vec<Value>>,
    /// Where the file lives: refused when another (see `unkept::fixed`).
    space_id: Option<Value>,
    environment_id: Option<Value>,
}

pub async fn update(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: crate::web::input::Json<UpdateBody>,
) -> Result<HttpResponse, AppError> {
    let f = load(&state, &caller, &path).await?;
    // A file's workbook, status and actions are the team's and its listener's to say.
    if caller.guest_spaces().is_some() {
        return Err(AppError::Forbidden(
            "a guest uploads, reads and deletes files; changing one takes the team's API key".into(),
        ));
    }
    let body = body.into_inner();
    super::unkept::fixed(
        "a file",
        &[
            ("spaceId", body.space_id.as_ref(), Some(f.space_id.as_str())),
            (
                "environmentId",
                body.environment_id.as_ref(),
                Some(f.environment_id.as_str()),
            ),
        ],
    )?;
    // A file whose bytes a delete took stays `purged`: another status would offer a
    // download and an extraction of nothing (probe 59c D5).
    // And `purged` is Wharf's to say, when the bytes go: set on a whole file, it could not
    // be taken back (probe 59d D5).
    if body.status.as_deref() == Some(file::status::PURGED) && f.status != file::status::PURGED {
        return Err(AppError::invalid(
            "status",
            "`purged` is set by Wharf when a file's bytes are deleted; delete the file instead",
        ));
    }
    if f.status == file::status::PURGED && body.status.as_deref().is_some_and(|s| s != file::status::PURGED) {
        return Err(AppError::Conflict(format!(
            "{}: its bytes were deleted (a delete stopped half-way), so its status stays purged; delete it to finish",
            f.name
        )));
    }
    let name = body
        .name
        .as_deref()
        .map(|n| checked_name(n, "name"))
        .transpose()?;
    if body
        .status
        .as_deref()
        .is_some_and(|s| !file::status::ALL.contains(&s))
    {
        return Err(AppError::invalid(
            "status",
            format!("a file's status is one of {}", file::status::ALL.join(", ")),
        ));
    }
    let actions = body.actions.as_deref().map(checked_actions).transpose()?;
    if body
        .mode
        .as_deref()
        .is_some_and(|m| m != "import" && m != "export")
    {
        return Err(AppError::invalid("mode", "mode is `import` or `export`"));
    }
    let workbook_id = body
        .workbook_id
        .as_deref()
        .map(|t| given_id(t, WorkbookId::parse, "workbookId"))
        .transpose()?;
    // A file a listener's extractor completes no longer says why Wharf's own extraction
    // could not read it.
    let message = (body.status.as_deref() == Some(file::status::COMPLETE)).then_some(None);
    let changes = FileChanges {
        // An extension the new name spells (`Report.XLSX`); a name without one, or ending in
        // words (`people.json 🔁 contacts`, as @flatfile/plugin-automap renames files),
        // keeps the file's (probe 68g D2: its ext became "json 🔁 contacts").
        ext: name
            .as_deref()
            .map(extension_of)
            .filter(|e| (1..=10).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_alphanumeric())),
        name,
        message,
        workbook_id: workbook_id.clone().map(Some),
        status: body.status,
        mode: body.mode,
        actions,
        ..Default::default()
    };
    let actor = caller.actor();
    let env = caller.environment_id.clone();
    let reach = caller.clone();
    let f = state
        .db(move |conn| {
            // A file's workbook is of the file's space: one of another space would open
            // that space's records to the file's guests (imports read it).
            if let Some(wb) = &workbook_id {
                crate::model::workbook::find(conn, &env, wb)?
                    .filter(|w| reach.reaches(&w.space_id) && w.space_id == f.space_id)
                    .ok_or(ModelError::NotFound("workbook"))?;
            }
            file::update(conn, &f.id, changes, &actor)
        })
        .await?;
    Ok(ok(file_json(&f)))
}

pub async fn delete(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let f = load(&state, &caller, &path).await?;
    refuse_guest_delete(&state, caller.guest_spaces().is_some(), &f, caller.actor()).await?;
    delete_file(state.into_inner(), f, caller.actor()).await?;
    Ok(success())
}

pub async fn download(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let f = load(&state, &caller, &path).await?;
    stream_file(&state, &req, &f, &caller.actor()).await
}

/// The rows extraction could not read, as CSV: sheet, line, problem, values.
pub async fn rejects(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let f = load(&state, &caller, &path).await?;
    stream_rejects(&state, &req, &f, &caller.actor()).await
}

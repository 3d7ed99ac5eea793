//! Files: upload (multipart, streamed to storage), list, get, update, delete, download,
//! and the rows extraction could not read.

use super::file_bytes::{mimetype_for, stream_file, stream_rejects};
pub use super::file_delete::{delete_file, refuse_guest_delete};
use super::{given_id, ok, pagination, paging, path_id, space_filter, stored_json, success};
use crate::app::AppState;
use crate::auth::{SpaceCaller, SpaceScope};
use crate::ids::{EnvironmentId, FileId, SpaceId, WorkbookId};
use crate::model::file::{self, File, FileChanges, Filter, NewFile};
use crate::model::{iso, now, space, ModelError};
use crate::web::error::AppError;
use crate::web::upload_pace::Pace;
use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

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

/// Deletes a stored object unless the upload went through.
struct Cleanup<'a> {
    state: &'a AppState,
    key: String,
    armed: bool,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.state.storage.delete_soon(&self.key);
        }
    }
}

/// A file name's extension, lower case, without the dot (`""` when it has none).
fn extension_of(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Largest text field of the form.
const FIELD_LIMIT: usize = 64 * 1024;

/// The longest file name kept, in characters (what file systems allow).
const NAME_MAX: usize = 255;

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
fn checked_actions(actions: &[Value]) -> Result<String, AppError> {
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

struct Received {
    size: u64,
    sha256: String,
    name: String,
    mimetype: Option<String>,
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

/// An upload is read as it is sent: a compressed body (`Content-Encoding: gzip`, which
/// JSON bodies may use) is refused with words on what to do, not read as a broken form.
pub fn refuse_encoded(req: &actix_web::HttpRequest) -> Result<(), AppError> {
    match req
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
    {
        Some(e) if !e.trim().eq_ignore_ascii_case("identity") => Err(AppError::bad_request(
            "file",
            format!(
                "an upload is taken as it is, not with Content-Encoding `{e}`: send the form uncompressed"
            ),
        )),
        _ => Ok(()),
    }
}

/// A body whose declared length is well past the limit is refused before it is read.
/// (One a little over it, or of unknown length, is read and counted: the form around the
/// file takes a few bytes.)
pub fn refuse_oversized(req: &actix_web::HttpRequest, state: &AppState) -> Result<(), AppError> {
    let limit = state.settings.max_upload_mb * 1024 * 1024;
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit + 1024 * 1024) {
        return Err(too_large(state));
    }
    Ok(())
}

fn too_large(state: &AppState) -> AppError {
    AppError::PayloadTooLarge(format!(
        "the file is larger than the upload limit of {} MB",
        state.settings.max_upload_mb
    ))
}

/// Streams a multipart upload to storage and records the file (and its extract job, which
/// is woken). The space comes from the form's `spaceId`, or from `space` (the dashboard's
/// path); fields may come before or after the file part. A space the caller may not reach
/// is refused before any byte is stored when it is known first, and the stored bytes are
/// deleted when it comes after the file.
pub async fn receive(
    state: &AppState,
    caller: &impl SpaceScope,
    mut form: Multipart,
    space: Option<SpaceId>,
) -> Result<File, AppError> {
    let environment_id = caller.environment();
    if let Some(id) = &space {
        caller.check_reach(id)?;
    }
    let limit = state.settings.max_upload_mb * 1024 * 1024;
    let id = FileId::generate();
    let key = file::storage_key(&id);
    let mut cleanup = Cleanup {
        state,
        key: key.clone(),
        armed: true,
    };
    let cut = |e: actix_multipart::MultipartError| {
        AppError::bad_request("file", format!("the upload was cut off or malformed: {e}"))
    };
    let mut pace = Pace::new(std::time::Duration::from_secs(state.settings.keep_alive_seconds));
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut actions: Vec<Value> = Vec::new();
    let mut received: Option<Received> = None;
    while let Some(field) = pace.next(&mut form).await? {
        let mut field = field.map_err(cut)?;
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            if received.is_some() {
                return Err(AppError::bad_request("file", "send one file per upload"));
            }
            let filename = super::upload_name::of(&field);
            if filename.chars().count() > NAME_MAX {
                return Err(AppError::invalid(
                    "file",
                    format!(
                        "the file's name is {} characters long; at most {NAME_MAX}",
                        filename.chars().count()
                    ),
                ));
            }
            let mimetype = field.content_type().map(|m| m.essence_str().to_string());
            // With a bucket, one caller sends at most so many at once (see `caller_places`).
            let place = match state.storage.shared() {
                true => Some(state.uploads_by_caller.take(
                    &caller.actor(),
                    crate::web::caller_places::UPLOADS_EACH,
                    "uploads",
                )?),
                false => None,
            };
            let mut upload = state.storage.begin(&key).await.map_err(AppError::storage)?;
            upload.keep(place);
            let mut over = false;
            while let Some(chunk) = pace.next(&mut field).await? {
                let chunk = chunk.map_err(cut)?;
                pace.got(chunk.len());
                if over || upload.size() + chunk.len() as u64 > limit {
                    // Keep reading so the client sees the answer, but store nothing more.
                    over = true;
                    continue;
                }
                upload.write(&chunk).await.map_err(AppError::storage)?;
            }
            if over {
                return Err(too_large(state));
            }
            let stored = upload.commit().await.map_err(AppError::storage)?;
            received = Some(Received {
                size: stored.size,
                sha256: stored.sha256,
                name: filename,
                mimetype,
            });
        } else {
            let mut text = Vec::new();
            while let Some(chunk) = pace.next(&mut field).await? {
                let chunk = chunk.map_err(cut)?;
                pace.got(chunk.len());
                if text.len() + chunk.len() > FIELD_LIMIT {
                    return Err(AppError::bad_request(&name, format!("`{name}` is too long")));
                }
                text.extend_from_slice(&chunk);
            }
            let text = String::from_utf8_lossy(&text).into_owned();
            // As in a JSON body: PostgreSQL cannot store NUL, and nothing is stored.
            if text.contains('\0') || text.contains("\\u0000") {
                return Err(AppError::invalid(
                    &name,
                    format!("`{name}` holds a NUL character"),
                ));
            }
            if name == "actions" {
                let action: Value = serde_json::from_str(&text)
                    .map_err(|e| AppError::bad_request("actions", format!("an action is not JSON: {e}")))?;
                // One part may hold one action or a list of them.
                match action {
                    Value::Array(list) => actions.extend(list),
                    Value::Null => {}
                    one => actions.push(one),
                }
                if actions.len() > 100 {
                    return Err(AppError::invalid("actions", "a file has at most 100 actions"));
                }
            } else {
                if name == "spaceId" {
                    caller.check_reach(&given_id(&text, SpaceId::parse, "spaceId")?)?;
                }
                fields.insert(name, text);
            }
        }
    }
    let received = received.ok_or_else(|| AppError::bad_request("file", "the form has no `file` part"))?;
    let space_id = match space {
        Some(id) => id,
        None => given_id(
            fields
                .get("spaceId")
                .ok_or_else(|| AppError::bad_request("spaceId", "spaceId is required"))?,
            SpaceId::parse,
            "spaceId",
        )?,
    };
    caller.check_reach(&space_id)?;
    if let Some(env) = fields.get("environmentId") {
        if &given_id(env, EnvironmentId::parse, "environmentId")? != environment_id {
            return Err(AppError::NotFound("environment"));
        }
    }
    let mode = fields.get("mode").cloned().unwrap_or_else(|| "import".into());
    if mode != "import" && mode != "export" {
        return Err(AppError::bad_request("mode", "mode is `import` or `export`"));
    }
    // An outsider's file does not pose as the team's export, nor carry buttons for the team
    // to click.
    if caller.only_spaces().is_some() && (mode == "export" || !actions.is_empty()) {
        return Err(AppError::Forbidden(
            "a guest uploads files to import; exports and file actions are the team's".into(),
        ));
    }
    let ext = extension_of(&received.name);
    let mimetype = received
        .mimetype
        .filter(|m| m != "application/octet-stream")
        .unwrap_or_else(|| mimetype_for(&ext).to_string());
    let actions = checked_actions(&actions)?;
    let t = now();
    let new = NewFile {
        id,
        environment_id: environment_id.clone(),
        space_id: space_id.clone(),
        workbook_id: None,
        name: received.name,
        ext,
        mimetype,
        encoding: "7bit".into(),
        status: if mode == "import" {
            file::status::PARTIAL.into()
        } else {
            file::status::COMPLETE.into()
        },
        mode,
        size: received.size as i64,
        bytes_received: received.size as i64,
        sha256: received.sha256,
        storage_key: key.clone(),
        actions,
        origin: fields.get("origin").cloned(),
        created_at: t,
        updated_at: t,
        held_by: state.storage.holder(),
        created_by: Some(caller.actor()),
    };
    let actor = caller.actor();
    let env = environment_id.clone();
    // Other types are left to a listener's extractor (`WHARF_EXTRACT`).
    let extract = state.settings.extracts(&new.ext);
    // From here the write decides whether the bytes stay, and it runs to its end even when
    // the client leaves and this request is dropped: the guard, dropped then, deleted the
    // bytes of a file whose row the write went on to make.
    cleanup.armed = false;
    let (storage, stored_key) = (state.storage.clone(), new.storage_key.clone());
    let made = state
        .db(move |conn| {
            let made = (|| {
                space::find(conn, &env, &space_id)?.ok_or(ModelError::NotFound("space"))?;
                file::create(conn, new, extract, &actor)
            })();
            if made.is_err() {
                storage.delete_soon(&stored_key);
            }
            made
        })
        .await;
    // No connection to write with: the closure never ran (deleting twice is harmless).
    if made.is_err() {
        state.storage.delete_soon(&key);
    }
    let (f, job) = made?;
    if let Some(job) = job {
        state.jobs.wake();
        state.live.publish_job(&job.id, job.space_id.as_ref());
    }
    Ok(f)
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

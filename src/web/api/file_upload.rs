//! An upload: the multipart form streamed to storage, its fields read within bounds, and the
//! file recorded (with its extract job) once the caller is asked about again.

use super::file_bytes::mimetype_for;
use super::files::{checked_actions, extension_of, FIELD_LIMIT, NAME_MAX};
use super::given_id;
use crate::app::AppState;
use crate::auth::SpaceScope;
use crate::ids::{EnvironmentId, FileId, SpaceId};
use crate::model::file::{self, File, NewFile};
use crate::model::{now, space, ModelError};
use crate::web::error::AppError;
use crate::web::upload_pace::Pace;
use actix_multipart::Multipart;
use serde_json::Value;
use std::collections::HashMap;

/// Most parts a form may have (the file, `spaceId`, `environmentId`, `mode`, `origin`,
/// `actions`...).
const MAX_PARTS: usize = 100;
/// Most bytes all its fields beside the file may take together.
const FIELDS_LIMIT: usize = 4 * FIELD_LIMIT;

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

struct Received {
    size: u64,
    sha256: String,
    name: String,
    mimetype: Option<String>,
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
    let (mut parts, mut field_bytes) = (0usize, 0usize);
    while let Some(field) = pace.next(&mut form).await? {
        let mut field = field.map_err(cut)?;
        // The form around the file is bounded too: 20,000 parts of 64 KiB each were all
        // held, past the upload limit (probe 78a D6).
        parts += 1;
        if parts > MAX_PARTS {
            return Err(AppError::bad_request(
                "file",
                format!("the form has more than {MAX_PARTS} parts; send the file and its few fields"),
            ));
        }
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
                field_bytes += chunk.len();
                if field_bytes > FIELDS_LIMIT {
                    return Err(AppError::bad_request(
                        &name,
                        format!(
                            "the form's fields beside the file take more than {} KB; send fewer",
                            FIELDS_LIMIT / 1024
                        ),
                    ));
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
    let credential = caller.credential();
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
                crate::auth::recheck::still_reaches(conn, &credential, &space_id)?;
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

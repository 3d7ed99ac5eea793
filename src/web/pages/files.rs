//! The Space page's Files tab: upload (the browser shows each file's upload progress),
//! the list of files with their extraction's live progress, and "Import into..." which
//! starts a mapping job.

use super::{is_htmx, render, see_other, Layout};
use crate::app::AppState;
use crate::auth::{SpaceScope, Viewer};
use crate::ids::{FileId, SpaceId};
use crate::jobs::plan;
use crate::model::job::{self, JobInput};
use crate::model::{file, sheet, space, workbook, ModelError};
use crate::web::error::AppError;
use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

pub struct FileRow {
    /// Whether the viewer may delete it: the team any file, a guest the ones it uploaded.
    pub may_delete: bool,
    pub id: String,
    pub name: String,
    pub size: String,
    pub uploaded: crate::web::when::When,
    pub status: String,
    pub message: String,
    pub workbook_id: String,
    pub rejects: i64,
    pub job_id: String,
    pub job_status: String,
    pub progress: i32,
    pub info: String,
    /// The file's actions, as buttons (see `file_actions`).
    pub actions: Vec<super::grid_actions::ActionView>,
    /// Its bytes are in another process's data folder: no download link that would fail.
    pub held_elsewhere: bool,
    /// The bucket holding its bytes, when this process does not use it.
    pub held_in_bucket: String,
}

#[derive(Template)]
#[template(path = "files/_list.html")]
pub struct FilesList {
    pub space_id: String,
    pub rows: Vec<FileRow>,
    /// This page (from 1), and whether newer and older files exist beyond it.
    pub page: i64,
    pub has_older: bool,
    /// For the action dialogs' forms.
    pub csrf: String,
}

/// Files a page of the Files tab shows, newest first.
const FILES_PER_PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct PageQuery {
    page: Option<i64>,
}

/// Bytes in words.
fn human_size(n: i64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{n} bytes"),
    }
}

async fn files_list(state: &AppState, user: &Viewer, raw_id: &str, page: i64) -> Result<FilesList, AppError> {
    let page = page.clamp(1, i64::MAX / FILES_PER_PAGE);
    let id = SpaceId::parse(raw_id).ok_or(AppError::NotFound("space"))?;
    user.check_reach(&id)?;
    let env = user.environment_id().clone();
    let csrf = user.csrf().to_string();
    // The team deletes any file here; a guest the ones it uploaded.
    let guest = matches!(user, Viewer::Guest(_)).then(|| user.actor());
    let storage = state.storage.clone();
    let here = storage.holder();
    let (mut list, checks) = state
        .db(move |conn| {
            let s = space::find(conn, &env, &id)?.ok_or(ModelError::NotFound("space"))?;
            let filter = file::Filter {
                space_id: Some(s.id.clone()),
                only_spaces: None,
                mode: None,
                newest_first: true,
                page_size: FILES_PER_PAGE,
                page_number: page,
            };
            let (files, total) = file::list(conn, &env, &filter)?;
            let ids: Vec<FileId> = files.iter().map(|f| f.id.clone()).collect();
            let jobs = file::latest_extractions(conn, &ids)?;
            let own = match &guest {
                Some(actor) => Some(file::uploaded_among(conn, &ids, actor)?),
                None => None,
            };
            // Files recorded under another holder are asked of the store once the
            // database is let go (see below).
            let mut checks = Vec::new();
            let rows = files
                .into_iter()
                .enumerate()
                .map(|(i, f)| {
                    let j = jobs.get(&f.id);
                    let held_elsewhere = f.held_elsewhere(here.as_deref());
                    if held_elsewhere {
                        checks.push((i, f.storage_key.clone()));
                    }
                    let held_in_bucket = f
                        .held_by
                        .clone()
                        .filter(|h| held_elsewhere && crate::storage::is_bucket(h))
                        .unwrap_or_default();
                    FileRow {
                        may_delete: own.as_ref().is_none_or(|own| own.contains(&f.id)),
                        id: f.id.to_string(),
                        size: human_size(f.size),
                        uploaded: crate::web::when::When::new(&f.created_at),
                        status: f.status,
                        message: f.message.unwrap_or_default(),
                        workbook_id: f.workbook_id.map(|w| w.to_string()).unwrap_or_default(),
                        rejects: f.reject_count,
                        job_id: j.map(|j| j.id.to_string()).unwrap_or_default(),
                        job_status: j.map(|j| j.status.clone()).unwrap_or_default(),
                        progress: j.map_or(0, |j| j.progress),
                        info: j.and_then(|j| j.info.clone()).unwrap_or_default(),
                        actions: super::grid_actions::file_actions(&f.actions),
                        held_elsewhere,
                        held_in_bucket,
                        name: f.name,
                    }
                })
                .collect();
            let list = FilesList {
                space_id: s.id.to_string(),
                rows,
                page,
                has_older: total > page * FILES_PER_PAGE,
                csrf,
            };
            Ok::<_, ModelError>((list, checks))
        })
        .await?;
    // All at once, each for a few seconds at most, holding no database connection: a
    // stalled store held a connection per file and took the pool (probe 54a M2). Readable
    // here after all, or not known in time, a file is shown as usual (its download says
    // what it finds).
    let asked = futures_util::future::join_all(
        checks
            .iter()
            .map(|(_, key)| tokio::time::timeout(std::time::Duration::from_secs(3), storage.holds(key))),
    )
    .await;
    for ((i, _), answer) in checks.iter().zip(asked) {
        if !matches!(answer, Ok(Ok(false))) {
            list.rows[*i].held_elsewhere = false;
            list.rows[*i].held_in_bucket.clear();
        }
    }
    Ok(list)
}

/// The list of a space's files (an htmx partial, refreshed live).
pub async fn list(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    render(&files_list(&state, &user, &path, q.page.unwrap_or(1)).await?)
}

/// An upload from the Files tab (one file per request; the page sends several side by
/// side and shows each one's progress).
pub async fn upload(
    req: HttpRequest,
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: Multipart,
) -> Result<HttpResponse, AppError> {
    user.check_csrf("")?;
    crate::web::api::files::refuse_oversized(&req, &state)?;
    crate::web::api::files::refuse_encoded(&req)?;
    let space = SpaceId::parse(&path).ok_or(AppError::NotFound("space"))?;
    let f = crate::web::api::files::receive(&state, &user, form, Some(space)).await?;
    if is_htmx(&req) {
        return render(&files_list(&state, &user, &path, 1).await?);
    }
    Ok(HttpResponse::Ok().json(json!({"id": f.id, "status": f.status})))
}

/// `changed` whenever a job of the space moves.
pub async fn live(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = SpaceId::parse(&path).ok_or(AppError::NotFound("space"))?;
    user.check_reach(&id)?;
    let env = user.environment_id().clone();
    let sid = id.clone();
    state
        .db(move |conn| space::find(conn, &env, &sid))
        .await?
        .ok_or(AppError::NotFound("space"))?;
    let opener = crate::web::live_access::Opener::of(&user, Some(id.clone()));
    let admission = match state.live.admit(&opener, None).await {
        Ok(a) => a,
        Err(refused) => return Ok(refused.response()),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(
            state
                .live
                .job_stream(move |_, space| space == Some(&id), admission),
        ))
}

pub struct Destination {
    pub sheet_id: String,
    pub label: String,
    /// Chosen when the page opens: the sheet whose name the file's sheet or name says.
    pub selected: bool,
    /// A sheet of the file: the destination its name says, chosen with it (probe 66h D2:
    /// picking Companies left "Import into" on Contacts).
    pub matches: String,
}

/// Letters and digits, lowercase: `Contacts`, `contacts.csv`'s stem and `CONTACTS` agree.
pub(super) fn folded(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Marks the destination sheet a person importing `file_name` (its first sheet `first`)
/// most likely means: the one of the same name, else one the file's name holds.
fn preselect(
    destinations: &mut [Destination],
    names: &[String],
    first: Option<&str>,
    file_name: &str,
    by_columns: Option<usize>,
) {
    let stem = folded(file_name.rsplit_once('.').map_or(file_name, |(s, _)| s));
    let first = first.map(folded).unwrap_or_default();
    let pick = names
        .iter()
        .position(|n| !n.is_empty() && *n == first)
        .or_else(|| names.iter().position(|n| !n.is_empty() && *n == stem))
        .or_else(|| {
            names
                .iter()
                .position(|n| n.len() >= 3 && stem.contains(n.as_str()))
        })
        .or(by_columns);
    if let Some(i) = pick {
        destinations[i].selected = true;
    }
}

#[derive(Template)]
#[template(path = "files/import.html")]
struct ImportPage {
    layout: Layout,
    files_href: String,
    space_name: String,
    file_id: String,
    file_name: String,
    destinations: Vec<Destination>,
    /// The file's own sheets (an XLSX with several): which one to import.
    sources: Vec<Destination>,
    /// Where this file was imported before: importing it again doubles those records.
    before: Vec<PriorImport>,
}

pub struct PriorImport {
    /// The file's sheet it imported, when the file has several (probe 66h D3: the note
    /// did not say which went where).
    pub from: String,
    pub into: String,
    pub when: crate::web::when::When,
    pub outcome: String,
}

/// "Import into...": choose the sheet a file's rows go to.
pub async fn import_form(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let f = find_file(&state, &user, &path).await?;
    let env = user.environment_id().clone();
    let (f, space_name, destinations, sources, before) = state
        .db(move |conn| {
            let s = space::find(conn, &env, &f.space_id)?.ok_or(ModelError::NotFound("space"))?;
            let (mut destinations, mut names, mut fields) = (Vec::new(), Vec::new(), Vec::new());
            for w in workbook::list_in_space(conn, &s.id)? {
                let labels: Vec<String> = serde_json::from_str(&w.labels).unwrap_or_default();
                if labels.iter().any(|l| l == "file") {
                    continue;
                }
                for sh in sheet::list_in_workbook(conn, &w.id)? {
                    names.push(folded(&sh.name));
                    fields.push(super::import_guess::fields_of(&sh.config));
                    destinations.push(Destination {
                        sheet_id: sh.id.to_string(),
                        label: format!("{} / {}", w.name, sh.name),
                        selected: false,
                        matches: String::new(),
                    });
                }
            }
            let mut sources = Vec::new();
            let (mut first, mut first_by_columns) = (None, None);
            // The file's sheets by id, to say which went where before.
            let mut source_names = std::collections::HashMap::new();
            if let Some(source) = &f.workbook_id {
                for sh in sheet::list_in_workbook(conn, source)? {
                    source_names.insert(sh.id.to_string(), sh.name.clone());
                    let rows = sh.total_count.max(0) as u64;
                    let columns = super::import_guess::fields_of(&sh.config);
                    let by_columns = super::import_guess::best_match(&columns, &fields);
                    if first.is_none() {
                        first_by_columns = by_columns;
                    }
                    first.get_or_insert_with(|| sh.name.clone());
                    sources.push(Destination {
                        sheet_id: sh.id.to_string(),
                        label: format!(
                            "{} ({} {})",
                            sh.name,
                            crate::extract::thousands(rows),
                            if rows == 1 { "row" } else { "rows" }
                        ),
                        selected: false,
                        matches: names
                            .iter()
                            .position(|n| !n.is_empty() && *n == folded(&sh.name))
                            .or(by_columns)
                            .map(|i| destinations[i].sheet_id.clone())
                            .unwrap_or_default(),
                    });
                }
            }
            preselect(
                &mut destinations,
                &names,
                first.as_deref(),
                &f.name,
                first_by_columns,
            );
            if sources.len() <= 1 {
                source_names.clear();
            }
            let mut before = Vec::new();
            if let Some(source) = &f.workbook_id {
                for j in crate::model::job::completed_imports_of(conn, &env, source.as_str())? {
                    let config: serde_json::Value = serde_json::from_str(&j.config).unwrap_or_default();
                    let sheet_id = config["destinationSheetId"].as_str().unwrap_or_default();
                    let outcome: serde_json::Value = j
                        .outcome
                        .as_deref()
                        .and_then(|o| serde_json::from_str(o).ok())
                        .unwrap_or_default();
                    let from = config["sourceSheetId"]
                        .as_str()
                        .and_then(|id| source_names.get(id));
                    before.push(PriorImport {
                        from: from.cloned().unwrap_or_default(),
                        into: destinations
                            .iter()
                            .find(|d| d.sheet_id == sheet_id)
                            .map_or_else(|| "a sheet since deleted".to_string(), |d| d.label.clone()),
                        when: crate::web::when::When::new(&j.finished_at.unwrap_or(j.created_at)),
                        outcome: outcome["message"].as_str().unwrap_or_default().to_string(),
                    });
                }
            }
            Ok::<_, ModelError>((f, s.name, destinations, sources, before))
        })
        .await?;
    if f.workbook_id.is_none() {
        let why = match (f.status.as_str(), &f.message) {
            (file::status::FAILED, Some(m)) => {
                format!("this file could not be read ({m}); fix it and upload it again")
            }
            (file::status::FAILED, None) => "this file could not be read; fix it and upload it again".into(),
            _ => "this file is still being read; import it once its rows are in".into(),
        };
        return Err(AppError::Conflict(why));
    }
    render(&ImportPage {
        layout: user.layout(format!("Import {}", f.name), "spaces"),
        files_href: user.files_href(&f.space_id),
        space_name,
        file_id: f.id.to_string(),
        file_name: f.name,
        destinations,
        sources,
        before,
    })
}

#[derive(Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    csrf_token: String,
    sheet: String,
    /// Which of the file's sheets, when it has several.
    #[serde(default)]
    source: String,
}

/// Creates the mapping job (with its automatic plan) and opens it.
pub async fn import(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<ImportForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let f = find_file(&state, &user, &path).await?;
    let env = user.environment_id().clone();
    let actor = user.actor();
    let reach = user.clone();
    // A guest's job writes into its file's space only, as through the API.
    let guest = matches!(user, Viewer::Guest(_));
    let form = form.into_inner();
    let (dest_sheet, source_sheet) = (form.sheet, form.source);
    let j = state
        .db(move |conn| crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
            let source = f.workbook_id.ok_or_else(|| ModelError::Conflict("the file has no extracted workbook".into()))?;
            // Only the file's own workbook is read (never another space's).
            crate::model::workbook::find(conn, &env, &source)?
                .filter(|w| w.space_id == f.space_id)
                .ok_or(ModelError::NotFound("workbook"))?;
            let dest = crate::ids::SheetId::parse(&dest_sheet)
                .and_then(|sid| sheet::find(conn, &env, &sid).transpose())
                .transpose()?
                .filter(|(_, space)| reach.reaches(space) && (!guest || *space == f.space_id))
                .ok_or(ModelError::NotFound("sheet"))?
                .0;
            let mut config = json!({"destinationSheetId": dest.id});
            if !source_sheet.is_empty() {
                // Checked to be a sheet of the file's workbook by `plan::sheets`.
                config["sourceSheetId"] = json!(source_sheet);
            }
            let sheets = plan::sheets(conn, &env, source.as_str(), Some(dest.workbook_id.as_str()), &config)?;
            sheets
                .destination_config
                .refuse_unless("import")
                .map_err(ModelError::Forbidden)?;
            // The same import made before and not run yet (a second tab, Back): that one.
            // Two at the same instant wait their turn on the file's workbook (probe 57e).
            crate::model::workbook::hold(conn, &source)?;
            let same = |j: &job::Job| {
                let c: serde_json::Value = serde_json::from_str(&j.config).unwrap_or_default();
                c["sourceSheetId"] == json!(sheets.source.id) && c["destinationSheetId"] == json!(sheets.destination.id)
            };
            let unrun = crate::model::job::unrun_imports_by(conn, &env, source.as_str(), &actor)?;
            if let Some(j) = unrun.into_iter().find(same) {
                return Ok(j);
            }
            let input = JobInput {
                job_type: "workbook".into(),
                operation: "map".into(),
                source: source.to_string(),
                destination: Some(dest.workbook_id.to_string()),
                file_id: Some(f.id.clone()),
                config: json!({"sourceSheetId": sheets.source.id, "destinationSheetId": sheets.destination.id}),
                managed: true,
                plan: Some(plan::initial(conn, &sheets)?),
                ..JobInput::new(&env, Some(&f.space_id))
            };
            crate::jobs::guard::refuse_locked_input(conn, &input, &actor)?;
            job::create(conn, input, &actor)
        }))
        .await?;
    state.live.publish_job(&j.id, j.space_id.as_ref());
    Ok(see_other(&format!("/jobs/{}", j.id)))
}

/// A file of a space the viewer may reach.
pub(super) async fn find_file(state: &AppState, user: &Viewer, raw_id: &str) -> Result<file::File, AppError> {
    let id = FileId::parse(raw_id).ok_or(AppError::NotFound("file"))?;
    let env = user.environment_id().clone();
    let f = state
        .db(move |conn| file::find(conn, &env, &id))
        .await?
        .ok_or(AppError::NotFound("file"))?;
    // A guest's own space archived: 403 saying so (probe 61a D1), as its other pages.
    user.check_reach_as(&f.space_id, "file")?;
    Ok(f)
}

/// The original bytes, for a signed-in person.
pub async fn download(
    user: Viewer,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let f = find_file(&state, &user, &path).await?;
    crate::web::api::file_bytes::stream_file(&state, &req, &f, &user.actor()).await
}

/// The rows extraction could not read, as CSV.
pub async fn rejects(
    user: Viewer,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let f = find_file(&state, &user, &path).await?;
    crate::web::api::file_bytes::stream_rejects(&state, &req, &f, &user.actor()).await
}

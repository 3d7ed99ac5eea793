//! The Spaces tab, "Create New Space", and a space's page.

use super::activity_words::Part;
use super::CsrfForm;
use super::{is_htmx, render, render_checked, see_other, Layout};
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::blueprint;
use crate::ids::{SpaceConfigId, SpaceId};
use crate::model::event::Context;
use crate::model::space::{self, Filter, SpaceChanges, SpaceInput};
use crate::model::{now, sheet, space_config, workbook, ModelError};
use crate::web::error::AppError;
use crate::web::when::When;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

const PAGE_SIZE: i64 = 20;

pub struct SpaceRow {
    pub id: String,
    pub name: String,
    pub config: String,
    pub workbooks: usize,
    pub files: i64,
    pub last_activity: crate::web::when::When,
    pub archived: bool,
}

#[derive(Template)]
#[template(path = "spaces/list.html")]
struct SpacesPage {
    layout: Layout,
    table: SpacesTable,
    /// The name of the space just archived, said once (probe 58b F11: it only vanished).
    archived_now: Option<String>,
    /// A space was just deleted from here (probe 72b D2: nothing said so).
    deleted: bool,
}

#[derive(Template)]
#[template(path = "spaces/_table.html")]
struct SpacesTable {
    rows: Vec<SpaceRow>,
    search: String,
    archived: bool,
    page: i64,
    pages: i64,
    total: i64,
    csrf: String,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    archived: bool,
    page: Option<i64>,
    /// A space the person just archived.
    archived_now: Option<String>,
    #[serde(default)]
    deleted: bool,
}

/// Team members start on their Spaces; a guest (no team session) on its own spaces. A
/// browser whose guest session ended starts at sign-in too (probe 68e D3: a team member
/// there was sent to the guest's "session ended" page).
pub async fn home(req: HttpRequest) -> HttpResponse {
    let guest_only = req.cookie(crate::auth::SESSION_COOKIE).is_none()
        && req
            .cookie(crate::auth::GUEST_COOKIE)
            .is_some_and(|c| c.value() != super::guest_links::ENDED);
    see_other(if guest_only { "/guest" } else { "/spaces" })
}

pub async fn list(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let page = q.page.unwrap_or(1).max(1);
    let filter = Filter {
        search: Some(q.q.clone()),
        namespace: None,
        archived: q.archived,
        page_size: PAGE_SIZE,
        page_number: page,
        sort: None,
        only: None,
    };
    let env = user.environment.id.clone();
    let just_archived = q.archived_now.as_deref().and_then(SpaceId::parse);
    let (rows, total, archived_now) = state
        .db(move |conn| {
            let archived_now = match just_archived {
                Some(id) => space::find(conn, &env, &id)?
                    .filter(|s| s.archived_at.is_some())
                    .map(|s| s.name),
                None => None,
            };
            let configs = space_config::list(conn, &env)?;
            let (spaces, total) = space::list(conn, &env, &filter)?;
            let ids: Vec<SpaceId> = spaces.iter().map(|s| s.id.clone()).collect();
            let workbooks = workbook::ids_by_space(conn, &ids)?;
            let files = crate::model::file::count_by_space(conn, &ids)?;
            let mut rows = Vec::with_capacity(spaces.len());
            for s in spaces {
                let config = s
                    .space_config_id
                    .as_ref()
                    .and_then(|id| configs.iter().find(|c| &c.id == id))
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| "—".into());
                rows.push(SpaceRow {
                    id: s.id.to_string(),
                    name: s.name,
                    config,
                    workbooks: workbooks.get(&s.id).map_or(0, Vec::len),
                    files: files.get(&s.id).copied().unwrap_or(0),
                    last_activity: When::new(&s.last_activity_at),
                    archived: s.archived_at.is_some(),
                });
            }
            Ok::<_, diesel::result::Error>((rows, total, archived_now))
        })
        .await?;
    let table = SpacesTable {
        rows,
        search: q.q,
        archived: q.archived,
        page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
        total,
        csrf: user.csrf().to_string(),
    };
    if is_htmx(&req) {
        return render(&table);
    }
    render(&SpacesPage {
        layout: Layout::new(&user, "Spaces", "spaces"),
        table,
        archived_now,
        deleted: q.deleted,
    })
}

#[derive(Template)]
#[template(path = "spaces/new.html")]
struct NewSpacePage {
    layout: Layout,
    configs: Vec<(String, String)>,
    name: String,
    config_id: String,
    errors: Vec<(String, String)>,
}

async fn new_page(
    user: &CurrentUser,
    state: &AppState,
    name: String,
    config_id: String,
    errors: Vec<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let env = user.environment.id.clone();
    let configs = state.db(move |conn| space_config::list(conn, &env)).await?;
    // Two configs of one name read apart by their slugs (probe 58b F9).
    let shared = |name: &str| configs.iter().filter(|c| c.name == name).count() > 1;
    let configs: Vec<(String, String)> = configs
        .iter()
        .map(|c| match shared(&c.name) {
            true => (c.id.to_string(), format!("{} ({})", c.name, c.slug)),
            false => (c.id.to_string(), c.name.clone()),
        })
        .collect();
    let failed = !errors.is_empty();
    // A fresh form in an environment of one config starts on it (probe 78c D22: on "No
    // config", the space came empty).
    let config_id = match &configs[..] {
        [(only, _)] if config_id.is_empty() && !failed => only.clone(),
        _ => config_id,
    };
    render_checked(
        &NewSpacePage {
            layout: Layout::new(user, "Create New Space", "spaces"),
            configs,
            name,
            config_id,
            errors,
        },
        failed,
    )
}

pub async fn new_form(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    new_page(&user, &state, String::new(), String::new(), vec![]).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    /// Missing, it is checked as a wrong token (403), not a malformed form.
    #[serde(default)]
    csrf_token: String,
    name: String,
    #[serde(default)]
    space_config_id: String,
    /// The environment the form was shown for.
    #[serde(default)]
    environment_id: String,
}

/// The form's choice of a space set up by listener code rather than a space config.
const BY_LISTENER: &str = "listener";

pub async fn create(
    user: CurrentUser,
    state: web::Data<AppState>,
    form: crate::web::input::Form<CreateForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    user.check_environment(&form.environment_id)?;
    let form = form.into_inner();
    let mut errors = Vec::new();
    if form.name.trim().is_empty() {
        errors.push(("name".to_string(), "Give the space a name.".to_string()));
    }
    // Set up by the team's listener: a `space:configure` job, as `autoConfigure` makes.
    let by_listener = form.space_config_id == BY_LISTENER;
    let config_id = match form.space_config_id.as_str() {
        "" | BY_LISTENER => None,
        text => match SpaceConfigId::parse(text) {
            Some(id) => Some(id),
            None => {
                errors.push((
                    "space_config_id".into(),
                    "Choose a space config from the list.".into(),
                ));
                None
            }
        },
    };
    if !errors.is_empty() {
        return new_page(&user, &state, form.name, form.space_config_id, errors).await;
    }
    let env = user.environment.id.clone();
    let actor = user.actor();
    let name = form.name.clone();
    let created = state
        .db(move |conn| {
            let input = SpaceInput {
                name: Some(&name),
                space_config_id: config_id.as_ref(),
                metadata: "{}",
                namespace: None,
                auto_configure: by_listener,
                extras: "{}",
            };
            space::create(conn, &env, input, &actor)
        })
        .await;
    match created {
        Ok(s) => Ok(see_other(&format!("/spaces/{}", s.id))),
        Err(AppError::Invalid(items)) => {
            let errors = items.into_iter().map(|i| (i.key, i.message)).collect();
            new_page(&user, &state, form.name, form.space_config_id, errors).await
        }
        Err(e) => Err(e),
    }
}

pub struct WorkbookRow {
    pub id: String,
    pub name: String,
    pub sheets: Vec<(String, i64, i64)>,
}

#[derive(Template)]
#[template(path = "spaces/show.html")]
struct SpacePage {
    layout: Layout,
    id: String,
    name: String,
    archived: bool,
    tab: String,
    workbooks: Vec<WorkbookRow>,
    /// The space's documents (id, title, body), shown above its workbooks.
    documents: Vec<(String, String, String)>,
    activity: Option<super::activity::Page>,
    guests: Vec<super::guests::GuestRow>,
    error: Option<String>,
    /// "Add a workbook" as typed, when it was refused: shown again open, to be fixed.
    draft: Option<(String, String)>,
    /// The guest just invited (or sent a new link), by email: said on the Guests tab.
    sent: Option<String>,
    /// A new name that was refused, as typed.
    renaming: Option<String>,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    tab: Option<String>,
    /// The Activity continues before this event (its "Older" link).
    before: Option<i64>,
    /// A guest just invited, by id (probe 57a: an invitation sent said nothing).
    sent: Option<String>,
}

/// What a space's page shows beside its tab: the Activity's page, the workbook form as
/// typed, a guest just invited.
#[derive(Default)]
pub(super) struct Beside {
    pub before: Option<i64>,
    pub draft: Option<(String, String)>,
    pub sent: Option<String>,
    /// A new name refused: shown again in the open Rename form.
    pub renaming: Option<String>,
}

pub(super) async fn show_page(
    user: &CurrentUser,
    state: &AppState,
    raw_id: &str,
    tab: String,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    show_tab(user, state, raw_id, tab, error, Beside::default()).await
}

pub(super) async fn show_tab(
    user: &CurrentUser,
    state: &AppState,
    raw_id: &str,
    tab: String,
    error: Option<String>,
    beside: Beside,
) -> Result<HttpResponse, AppError> {
    let Beside {
        before,
        draft,
        sent,
        renaming,
    } = beside;
    let id = SpaceId::parse(raw_id).ok_or(AppError::NotFound("space"))?;
    let env = user.environment.id.clone();
    let want_guests = tab == "guests";
    let want_activity = tab == "activity";
    let (s, workbooks, activity, guests, documents) = state
        .db(move |conn| {
            let s = space::find(conn, &env, &id)?.ok_or(ModelError::NotFound("space"))?;
            let guests = if want_guests {
                super::guests::rows(conn, &s)?
            } else {
                Vec::new()
            };
            let mut workbooks = Vec::new();
            for w in workbook::list_for_pages(conn, &s)? {
                let sheets = sheet::list_in_workbook(conn, &w.id)?
                    .into_iter()
                    .map(|sh| (sh.name, sh.total_count, sh.error_count))
                    .collect();
                workbooks.push(WorkbookRow {
                    id: w.id.to_string(),
                    name: w.name,
                    sheets,
                });
            }
            let activity = if want_activity {
                Some(super::activity::page(conn, &s.id, before)?)
            } else {
                None
            };
            let documents = super::guest_space::documents(conn, &s.id)?;
            Ok::<_, ModelError>((s, workbooks, activity, guests, documents))
        })
        .await?;
    let failed = error.is_some();
    let sent = sent.and_then(|id| guests.iter().find(|g| g.id == id).map(|g| g.email.clone()));
    render_checked(
        &SpacePage {
            layout: Layout::new(user, s.name.clone(), "spaces"),
            id: s.id.to_string(),
            name: s.name,
            archived: s.archived_at.is_some(),
            tab,
            workbooks,
            documents,
            activity,
            guests,
            error,
            draft,
            sent,
            renaming,
        },
        failed,
    )
}

pub async fn show(
    req: actix_web::HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    let tab = match q.tab.as_deref() {
        Some(t @ ("files" | "guests" | "activity")) => t.to_string(),
        _ => "workbooks".to_string(),
    };
    let beside = Beside {
        before: q.before,
        sent: q.sent.clone(),
        ..Beside::default()
    };
    let shown = show_tab(&user, &state, &path, tab, None, beside).await;
    let next = req.uri().to_string();
    super::elsewhere::or_elsewhere(&state, &user, super::elsewhere::Kind::Space, &path, &next, shown).await
}

async fn set_archived(
    user: CurrentUser,
    state: &AppState,
    raw_id: &str,
    archived: bool,
) -> Result<HttpResponse, AppError> {
    let id = SpaceId::parse(raw_id).ok_or(AppError::NotFound("space"))?;
    let env = user.environment.id.clone();
    let actor = user.actor();
    state
        .db(move |conn| {
            let s = space::find(conn, &env, &id)?.ok_or(ModelError::NotFound("space"))?;
            // Sent again (a second tab, a double click): nothing happened, no event says so
            // (probe 72b D14).
            if s.archived_at.is_some() == archived {
                return Ok(s);
            }
            let changes = SpaceChanges {
                archived_at: Some(archived.then(now)),
                ..Default::default()
            };
            space::update(conn, &s, changes, None, &actor)
        })
        .await?;
    if archived {
        // Its guests' open pages close.
        state.live.access_changed().await;
    }
    Ok(see_other(&match archived {
        true => format!("/spaces?archived_now={raw_id}"),
        false => "/spaces?archived=true".to_string(),
    }))
}

pub async fn archive(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    set_archived(user, &state, &path, true).await
}

pub async fn unarchive(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    set_archived(user, &state, &path, false).await
}

#[derive(Deserialize)]
pub struct WorkbookForm {
    /// Missing, it is checked as a wrong token (403), not a malformed form.
    #[serde(default)]
    csrf_token: String,
    name: String,
    sheets: String,
}

/// Adds a workbook: a name and its sheets as JSON (Flatfile's sheet configs).
pub async fn add_workbook(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<WorkbookForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let form = form.into_inner();
    let id = SpaceId::parse(&path).ok_or(AppError::NotFound("space"))?;
    let draft = Some((form.name.clone(), form.sheets.clone()));
    let fail = |msg: String| {
        show_tab(
            &user,
            &state,
            &path,
            "workbooks".into(),
            Some(msg),
            Beside {
                draft: draft.clone(),
                ..Beside::default()
            },
        )
    };
    if form.name.trim().is_empty() {
        return fail("Give the workbook a name.".into()).await;
    }
    if let Some(message) = workbook::name_problem(&form.name) {
        return fail(message).await;
    }
    // Where a mistake is, as the blueprint form says it (probe 72b D13: a trailing comma
    // read "must be a JSON array").
    let sheets_json: Vec<serde_json::Value> =
        match serde_json::from_str(form.sheets.trim_start_matches('\u{feff}')) {
            Ok(serde_json::Value::Array(items)) => items,
            Ok(_) => {
                return fail(
                    "Sheets must be a JSON array of sheet configs: [{\"name\": ..., \"fields\": [...]}]."
                        .into(),
                )
                .await
            }
            Err(_) if form.sheets.trim().is_empty() => {
                return fail("Give the workbook its sheets: a JSON array of sheet configs.".into()).await
            }
            Err(e) => {
                let at = format!("line {}, column {}", e.line(), e.column());
                let what = e.to_string();
                let what = what
                    .rsplit_once(" at line ")
                    .map_or(what.as_str(), |(what, _)| what);
                return fail(format!("Sheets, {at}: not valid JSON: {what}")).await;
            }
        };
    let sheets = match blueprint::parse_sheets(&sheets_json, "$") {
        Ok(s) => s,
        Err(problems) => {
            let text: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            return fail(text.join("; ")).await;
        }
    };
    let env = user.environment.id.clone();
    let actor = user.actor();
    let wb = state
        .db(move |conn| {
            space::find(conn, &env, &id)?.ok_or(ModelError::NotFound("space"))?;
            let ctx = Context::new(&env, &actor).space(&id);
            workbook::create(conn, &ctx, workbook::Spec::new(form.name.trim(), &sheets))
        })
        .await?;
    Ok(see_other(&format!("/workbooks/{}", wb.id)))
}

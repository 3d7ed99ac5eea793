//! Space configs of the current environment: list, and deploy by pasting JSON.

use super::{render_checked, see_other, Layout};
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::blueprint::Problem;
use crate::model::space_config;
use crate::web::error::AppError;
use crate::web::when::When;
use actix_multipart::form::{bytes::Bytes, text::Text, MultipartForm};
use actix_web::{web, HttpResponse};
use askama::Template;

pub struct ConfigRow {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub updated: crate::web::when::When,
}

#[derive(Template)]
#[template(path = "configs/list.html")]
struct ConfigsPage {
    layout: Layout,
    configs: Vec<ConfigRow>,
    blueprint: String,
    problems: Vec<Problem>,
    /// Why a delete was refused.
    refused: Option<String>,
}

async fn page(
    user: CurrentUser,
    state: &AppState,
    blueprint: String,
    problems: Vec<Problem>,
) -> Result<HttpResponse, AppError> {
    page_with(user, state, blueprint, problems, None).await
}

async fn page_with(
    user: CurrentUser,
    state: &AppState,
    blueprint: String,
    problems: Vec<Problem>,
    refused: Option<String>,
) -> Result<HttpResponse, AppError> {
    let env = user.environment.id.clone();
    let configs = state
        .db(move |conn| space_config::list(conn, &env))
        .await?
        .into_iter()
        .map(|c| ConfigRow {
            id: c.id.to_string(),
            name: c.name,
            slug: c.slug,
            updated: When::new(&c.updated_at),
        })
        .collect();
    let failed = !problems.is_empty();
    render_checked(
        &ConfigsPage {
            layout: Layout::new(&user, "Space configs", "configs"),
            configs,
            blueprint,
            problems,
            refused,
        },
        failed,
    )
}

pub async fn list(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    page(user, &state, String::new(), vec![]).await
}

/// A blueprint pasted into the text area or uploaded as a file (the file wins).
#[derive(MultipartForm)]
pub struct DeployForm {
    csrf_token: Text<String>,
    /// The environment the page was shown for: a deploy after another tab switched is
    /// refused (probe 66c D2: it replaced production's config of the same slug).
    environment_id: Option<Text<String>>,
    blueprint: Option<Text<String>>,
    #[multipart(limit = "2MB")]
    file: Option<Bytes>,
}

pub async fn deploy(
    req: actix_web::HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    form: Result<MultipartForm<DeployForm>, actix_web::Error>,
) -> Result<HttpResponse, AppError> {
    // Read outside the page's form reader: a person signed out while the blueprint arrived
    // deploys nothing (probe 80b D7).
    crate::auth::recheck::page_still_allowed(&req).await?;
    // A file past the form's limit: said as such, on the form (probe 58b F7: it was a dead
    // end blaming the form's encoding).
    let too_big =
        |e: &actix_web::Error| matches!(e.as_error::<AppError>(), Some(AppError::PayloadTooLarge(_)));
    let form = match form {
        Err(e) if too_big(&e) => {
            let problem = Problem {
                path: "file".into(),
                message: "the blueprint is larger than the 2 MB this page takes; deploy it with `wharf deploy` or `POST /v1/space-configs`".into(),
            };
            return page(user, &state, String::new(), vec![problem]).await;
        }
        // A body that is no multipart form at all never reaches the form config's handler.
        form => form.map_err(|e| {
            AppError::bad_request(
                "form",
                format!("the blueprint form could not be read ({e}); send it as multipart/form-data, as the page does"),
            )
        })?,
    };
    user.check_csrf(&form.csrf_token)?;
    user.check_environment(form.environment_id.as_deref().map_or("", |t| t.as_str()))?;
    let form = form.into_inner();
    let pasted = form.blueprint.map(|t| t.into_inner()).unwrap_or_default();
    let file = form.file.filter(|f| !f.data.is_empty());
    // Both given: which one was meant is not ours to guess (probe 58b F10: the file won
    // unsaid).
    if file.is_some() && !pasted.trim().is_empty() {
        let problem = Problem {
            path: "file".into(),
            message: "a file was chosen and JSON pasted too; nothing was deployed: clear the text to deploy the file, or deploy the text without a file".into(),
        };
        return page(user, &state, pasted, vec![problem]).await;
    }
    let text = match file {
        Some(file) => match String::from_utf8(file.data.to_vec()) {
            Ok(t) => t,
            Err(_) => {
                let problem = Problem {
                    path: "file".into(),
                    message: "the file is not UTF-8 text; upload the blueprint JSON".into(),
                };
                return page(user, &state, String::new(), vec![problem]).await;
            }
        },
        None => pasted,
    };
    // Nothing given is said so, not as JSON that ends at its start (probe 72b D7).
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        let problem = Problem {
            path: "file".into(),
            message: "choose a blueprint file or paste its JSON".into(),
        };
        return page(user, &state, String::new(), vec![problem]).await;
    }
    // Windows editors begin a file with a byte-order mark (probe 58b F2).
    let json: serde_json::Value = match serde_json::from_str(text.trim_start_matches('\u{feff}')) {
        Ok(j) => j,
        Err(e) => {
            let problem = Problem {
                path: format!("line {}, column {}", e.line(), e.column()),
                message: format!("not valid JSON: {e}"),
            };
            return page(user, &state, text, vec![problem]).await;
        }
    };
    let env = user.environment.id.clone();
    match state
        .db(move |conn| space_config::deploy(conn, &env, &json).map_err(AppError::from))
        .await
    {
        Ok(_) => Ok(see_other("/space-configs")),
        Err(AppError::Invalid(items)) => {
            let problems = items
                .into_iter()
                .map(|i| Problem {
                    path: i.key,
                    message: i.message,
                })
                .collect();
            page(user, &state, text, problems).await
        }
        Err(e) => Err(e),
    }
}

/// Deletes a space config no space was created from (the page asks to confirm first);
/// refused, with the reason on the page, while spaces made from it remain.
pub async fn delete(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<super::CsrfForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let id = crate::ids::SpaceConfigId::parse(&path).ok_or(AppError::NotFound("space config"))?;
    let env = user.environment.id.clone();
    let done = state
        .db(move |conn| space_config::delete_if_unused(conn, &env, &id))
        .await;
    match done {
        Ok(_) => Ok(see_other("/space-configs")),
        Err(AppError::Conflict(why)) => {
            let mut refused = page_with(user, &state, String::new(), vec![], Some(why)).await?;
            *refused.status_mut() = actix_web::http::StatusCode::CONFLICT;
            Ok(refused)
        }
        Err(e) => Err(e),
    }
}

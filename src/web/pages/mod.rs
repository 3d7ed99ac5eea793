//! Server-rendered pages (Askama + htmx). A handler answers an htmx request with the
//! partial alone and a plain request with the whole page; errors become a real page, a
//! toast for htmx, or a redirect to sign in.

pub mod action_now;
pub mod activity;
pub mod activity_words;
pub mod assets;
pub mod auth;
pub mod deletes;
pub mod elsewhere;
pub mod environments;
pub mod file_actions;
pub mod files;
pub mod grid;
pub mod grid_action_jobs;
pub mod grid_action_outcome;
pub mod grid_action_panel;
pub mod grid_actions;
pub mod grid_bulk;
pub mod grid_bulk_history;
pub mod grid_choices;
pub mod grid_count;
pub mod grid_edit;
pub mod grid_history;
pub mod grid_rows;
mod grid_seen;
pub mod grid_values;
pub mod grid_view;
pub mod guest_links;
pub mod guest_space;
pub mod guests;
pub mod import_guess;
pub mod job_controls;
pub mod job_enum_values;
pub mod job_words;
pub mod jobs;
pub mod link_csrf;
pub mod outbox;
pub mod people;
pub mod space_configs;
pub mod space_rename;
pub mod spaces;
pub mod submissions;
pub mod time_left;
pub mod webhooks;

use crate::auth::CurrentUser;
use crate::web::error::AppError;
use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

/// True for requests made by htmx (they want a partial). Not for a history restore: htmx
/// asks for a page Back went to that its cache no longer holds, and puts the answer in the
/// whole body.
pub fn is_htmx(req: &HttpRequest) -> bool {
    let headers = req.headers();
    headers.contains_key("hx-request") && !headers.contains_key("hx-history-restore-request")
}

/// Renders a template as an HTML response.
pub fn render<T: Template>(t: &T) -> Result<HttpResponse, AppError> {
    let html = t
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template failed: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// Renders a template, answering 422 when the page shows problems with what was sent.
pub fn render_checked<T: Template>(t: &T, has_problems: bool) -> Result<HttpResponse, AppError> {
    let mut resp = render(t)?;
    if has_problems {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

/// A 303 to another page (after a form post).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .finish()
}

/// A form that carries only its CSRF token (htmx sends the token as a header instead).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf_token: String,
}

/// What every page's top bar needs.
pub struct Layout {
    pub title: String,
    pub email: String,
    pub is_admin: bool,
    pub csrf: String,
    pub environment: String,
    pub environment_id: String,
    pub environments: Vec<(String, String)>,
    pub section: &'static str,
    /// A guest sees only its spaces: no navigation, no environment switch.
    pub is_guest: bool,
}

impl Layout {
    pub fn new(user: &CurrentUser, title: impl Into<String>, section: &'static str) -> Self {
        Layout {
            title: title.into(),
            email: user.user.email.clone(),
            is_admin: user.user.is_admin,
            csrf: user.csrf().to_string(),
            environment: user.environment.name.clone(),
            environment_id: user.environment.id.to_string(),
            environments: user
                .environments
                .iter()
                .map(|e| (e.id.to_string(), e.name.clone()))
                .collect(),
            section,
            is_guest: false,
        }
    }

    /// The top bar of a guest's pages.
    pub fn guest(g: &crate::auth::GuestAccess, title: impl Into<String>) -> Self {
        Layout {
            title: title.into(),
            email: g.guest.email.clone(),
            is_admin: false,
            csrf: g.session.csrf_token.clone(),
            environment: String::new(),
            environment_id: String::new(),
            environments: Vec::new(),
            section: "guest",
            is_guest: true,
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    heading: String,
    messages: Vec<String>,
    /// The environment holding what was asked for, offered to switch to.
    elsewhere: Option<elsewhere::Elsewhere>,
}

#[derive(Template)]
#[template(path = "_toast.html")]
struct Toast {
    messages: Vec<String>,
}

/// Turns an `AppError` from a page handler into what a browser should see: a real page,
/// a toast for htmx, or the sign-in form.
pub fn page_errors<B: actix_web::body::MessageBody + 'static>(
    res: ServiceResponse<B>,
    htmx: bool,
) -> ServiceResponse<BoxBody> {
    let Some(err) = res.response().error().and_then(|e| e.as_error::<AppError>()) else {
        return res.map_into_boxed_body();
    };
    let status = actix_web::ResponseError::status_code(err);
    let messages: Vec<String> = err.items().into_iter().map(|i| i.message).collect();
    let mut response = if matches!(err, AppError::SignInRequired | AppError::GuestSessionEnded) {
        // A guest whose session ended has no password to sign in with.
        let guest = matches!(err, AppError::GuestSessionEnded);
        let to = if guest {
            guest_links::SIGNED_OUT
        } else {
            "/sign-in"
        };
        let response = match htmx {
            true => HttpResponse::Ok().insert_header(("HX-Redirect", to)).finish(),
            false => see_other(to),
        };
        match guest {
            true => guest_links::ended_session(response)
                .unwrap_or_else(|e| actix_web::ResponseError::error_response(&e)),
            false => response,
        }
    } else if htmx {
        let html = Toast { messages }.render().unwrap_or_default();
        HttpResponse::build(status)
            .insert_header(("HX-Retarget", "#toasts"))
            .insert_header(("HX-Reswap", "beforeend"))
            .content_type("text/html; charset=utf-8")
            .body(html)
    } else {
        let heading = match status.as_u16() {
            404 => "Not found",
            403 | 405 => "Not allowed",
            400 | 422 => "Please check what you entered",
            _ => "Something went wrong",
        };
        let html = ErrorPage {
            status: status.as_u16(),
            heading: heading.into(),
            messages,
            elsewhere: match err {
                AppError::InOtherEnvironment(there) => Some((**there).clone()),
                _ => None,
            },
        }
        .render()
        .unwrap_or_default();
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html)
    };
    if let AppError::MethodNotAllowed(allow) = err {
        if let Ok(allow) = actix_web::http::header::HeaderValue::from_str(allow) {
            response
                .headers_mut()
                .insert(actix_web::http::header::ALLOW, allow);
        }
    }
    let (req, _) = res.into_parts();
    ServiceResponse::new(req, response)
}

/// Unknown pages get the 404 page.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound("page"))
}

//! The Outbox (admins): mail written to `WHARF_DATA_DIR/outbox/` when no SMTP server is
//! configured, newest first, each readable in full.

use super::{render, Layout};
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::mail::outbox::{self, ReadMail};
use crate::web::error::AppError;
use crate::web::when::When;
use actix_web::{web, HttpResponse};
use askama::Template;

/// Messages listed on the page.
const SHOWN: usize = 200;

#[derive(Template)]
#[template(path = "outbox/list.html")]
struct OutboxPage {
    layout: Layout,
    uses_outbox: bool,
    /// Each message with its `Date` header read as a time (none when it cannot be read).
    mails: Vec<(ReadMail, Option<When>)>,
}

#[derive(Template)]
#[template(path = "outbox/show.html")]
struct MailPage {
    layout: Layout,
    mail: ReadMail,
}

pub async fn list(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    user.require_admin("read the outbox")?;
    let dir = outbox::dir(&state.settings.data_dir);
    let mails = web::block(move || outbox::list_headers(&dir, SHOWN))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("reading the outbox")))?;
    render(&OutboxPage {
        layout: Layout::new(&user, "Outbox", "outbox"),
        uses_outbox: state.mail.uses_outbox(),
        mails: mails
            .into_iter()
            .map(|m| {
                let when = mail_date(&m.date);
                (m, when)
            })
            .collect(),
    })
}

/// A mail's `Date` header (RFC 2822) as a time.
fn mail_date(header: &str) -> Option<When> {
    let t = chrono::DateTime::parse_from_rfc2822(header.trim()).ok()?;
    Some(When::new(&t.naive_utc()))
}

pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require_admin("read the outbox")?;
    let dir = outbox::dir(&state.settings.data_dir);
    let name = path.into_inner();
    let mail = web::block(move || outbox::read(&dir, &name))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => AppError::NotFound("message"),
            _ => AppError::Internal(anyhow::Error::new(e).context("reading a message")),
        })?;
    render(&MailPage {
        layout: Layout::new(&user, mail.subject.clone(), "outbox"),
        mail,
    })
}

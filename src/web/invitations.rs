//! Sending a guest its link by mail: shared by `POST /v1/invitations`, the Space page's
//! Guests tab and the background retries. The token is stored only after the mail was
//! handed over, so a mail server that is down leaves the earlier link working; the caller
//! sees the error and the invitation is tried again later.

use crate::app::AppState;
use crate::mail::MailError;
use crate::model::guest::Guest;
use crate::model::guest_link;
use crate::model::mail_retry::{Target, Waiting};
use crate::model::space::Space;
use crate::web::error::AppError;
use crate::web::mail_retry;
use chrono::TimeDelta;

/// Who invites, and what they add.
pub struct Invitation<'a> {
    pub from_name: Option<&'a str>,
    pub message: Option<&'a str>,
}

/// The mail's text. The link is on a line of its own.
pub fn mail_text(
    guest: &Guest,
    space: &Space,
    inv: &Invitation<'_>,
    link: &str,
    hours: i64,
) -> (String, String) {
    let from = inv
        .from_name
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .unwrap_or("The team");
    let subject = format!("{from} invited you to {}", space.name);
    let mut text = format!(
        "Hello {},\n\n{from} invited you to the space \"{}\" on Wharf, to see and edit its workbooks.\n",
        guest.name, space.name
    );
    if let Some(message) = inv.message.map(str::trim).filter(|m| !m.is_empty()) {
        text.push_str(&format!("\n{from} wrote:\n"));
        for line in message.lines() {
            text.push_str(&format!("> {line}\n"));
        }
    }
    text.push_str(&format!(
        "\nOpen the space with this link. It works once, in one browser, for {hours} hours:\n\n{link}\n\n\
         If it has expired or was already used, ask {from} to invite you again for a new link.\n"
    ));
    (subject, text)
}

/// Why one try at an invitation did not go.
pub enum Failure {
    /// The mail was not handed over; the invitation waits for another try (unless the
    /// error is permanent).
    Mail(MailError),
    /// Anything else (the database): nothing to try again.
    Other(AppError),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure::Other(e)
    }
}

impl From<MailError> for Failure {
    fn from(e: MailError) -> Self {
        Failure::Mail(e)
    }
}

/// Mails a fresh single-use link for `space` to `guest`; the earlier links of that space
/// stop working once it is sent. When the mail server does not take it, the invitation
/// waits to be tried again in the background (`web::mail_retry`) and the caller hears so.
pub async fn send(
    state: &AppState,
    guest: &Guest,
    space: &Space,
    inv: Invitation<'_>,
    invited_by: &str,
) -> Result<(), AppError> {
    let target = Target::Guest(guest.id.clone(), space.id.clone());
    match deliver(state, guest, space, &inv).await {
        Err(Failure::Mail(error)) => {
            let waiting = Waiting {
                target,
                from_name: inv.from_name.map(String::from),
                message: inv.message.map(String::from),
                invited_by: invited_by.to_string(),
                permanent: error.is_permanent(),
                error: error.to_string(),
                delay: mail_retry::first_delay(state),
                lifetime: TimeDelta::hours(state.settings.guest_link_hours),
            };
            Err(mail_retry::queue(state, waiting).await)
        }
        Ok(()) => mail_retry::forget(state, target).await,
        Err(Failure::Other(e)) => Err(e),
    }
}

/// One try: a new link, the mail, and (once the server took it) the link's hash stored,
/// which voids the earlier ones.
pub async fn deliver(
    state: &AppState,
    guest: &Guest,
    space: &Space,
    inv: &Invitation<'_>,
) -> Result<(), Failure> {
    let token = guest_link::new_token();
    let hours = state.settings.guest_link_hours;
    let link = format!("{}/guest-links/{token}", state.settings.base_url);
    let (subject, text) = mail_text(guest, space, inv, &link, hours);
    state
        .mail
        .send(&crate::mail::Mail {
            to: guest.email.clone(),
            to_name: Some(guest.name.clone()),
            subject,
            text,
        })
        .await?;
    let (gid, sid) = (guest.id.clone(), space.id.clone());
    state
        .db(move |conn| guest_link::store(conn, &token, &gid, &sid, false, hours))
        .await?;
    Ok(())
}

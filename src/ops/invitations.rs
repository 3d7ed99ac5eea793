//! Mailing invitations: a guest's link to a space (`POST /v1/invitations`, the Space page's
//! Guests tab) and a team member's link to set a password (the People page), and the
//! background retries of both (`workers::mail_retry`). A link's token is stored only after
//! the mail was handed over, so a mail server that is down leaves the earlier link working;
//! the caller hears the error and the invitation waits to be tried again.

use super::{Context, Error};
use crate::mail::{Mail, MailError};
use crate::model::guest::Guest;
use crate::model::mail_retry::{self, Target, Waiting};
use crate::model::space::Space;
use crate::model::user::User;
use crate::model::{guest_link, team};
use chrono::TimeDelta;

/// Who invites, and what they add.
pub struct Invitation<'a> {
    pub from_name: Option<&'a str>,
    pub message: Option<&'a str>,
}

/// Why one try at an invitation did not go.
pub enum Failure {
    /// The mail was not handed over; the invitation waits for another try (unless the
    /// error is permanent).
    Mail(MailError),
    /// Anything else (the database): nothing to try again.
    Other(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Other(e)
    }
}

impl From<MailError> for Failure {
    fn from(e: MailError) -> Self {
        Failure::Mail(e)
    }
}

/// The pause before the first retry (`WHARF_MAIL_RETRY_SECONDS`).
pub fn first_delay(ctx: &Context<'_>) -> TimeDelta {
    TimeDelta::seconds(ctx.settings.mail_retry_seconds as i64)
}

/// The guest mail's text. The link is on a line of its own.
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

/// The longest personal message an invitation carries (it is quoted in the mail).
pub const MESSAGE_MAX_CHARS: usize = 5_000;

/// What is wrong with an invitation's personal message, if anything.
pub fn message_problem(message: &str) -> Option<String> {
    if message.chars().count() > MESSAGE_MAX_CHARS {
        return Some(format!("the message is at most {MESSAGE_MAX_CHARS} characters"));
    }
    // As in names: a right-to-left override makes a mail say other than its text.
    message
        .chars()
        .any(crate::names::is_bidi_control)
        .then(|| "the message holds a text-direction control character (such as U+202E); remove it".into())
}

/// How many invitations one sender mails, and one address receives, within
/// [`SENDING_WINDOW`]: enough for a team inviting its partners, not for using Wharf's mail
/// to flood an inbox (probe 48d F1).
pub const PER_SENDER: usize = 200;
pub const PER_RECIPIENT: usize = 10;
pub const SENDING_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// Counts invitations about to be mailed by `invited_by` to `emails` (one per mail), or
/// refuses them all (429) when the sender or an address has had its share for now.
pub async fn allow(ctx: &Context<'_>, invited_by: &str, emails: &[String]) -> Result<(), Error> {
    let mut wants = vec![(format!("invite-by:{invited_by}"), PER_SENDER, emails.len())];
    let mut per_address = std::collections::BTreeMap::<String, usize>::new();
    for email in emails {
        *per_address.entry(inbox_of(email)).or_default() += 1;
    }
    wants.extend(
        per_address
            .into_iter()
            .map(|(email, n)| (format!("invite-to:{email}"), PER_RECIPIENT, n)),
    );
    let taken = ctx
        .db(move |conn| crate::model::sign_in_attempt::take(conn, &wants, SENDING_WINDOW))
        .await?;
    taken.map_err(|wait| {
        let minutes = (wait.num_seconds() + 59) / 60;
        Error::TooMany {
            message: format!(
                "too many invitations for now (at most {PER_SENDER} from one sender and {PER_RECIPIENT} to one address in {} minutes); nothing was sent: try again in {}",
                SENDING_WINDOW.num_minutes(),
                crate::words::counted(minutes as u64, "minute", "minutes")
            ),
            retry_after: wait.num_seconds().max(1) as u64,
        }
    })
}

/// The inbox an address reaches, for counting: lower case, without a `+tag` (`v+1@x.io`
/// and `v+2@x.io` reach one inbox: probe 49a F2).
fn inbox_of(email: &str) -> String {
    let email = email.trim().to_lowercase();
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split('+').next().unwrap_or(local);
            // Gmail ignores dots in the name: `a.da@gmail.com` is `ada@gmail.com`'s inbox
            // (probe 51a F7).
            let local = match domain {
                "gmail.com" | "googlemail.com" => local.replace('.', ""),
                _ => local.to_string(),
            };
            format!("{local}@{domain}")
        }
        None => email,
    }
}

/// Refuses an invitation to an archived space: its link could not open it.
pub fn refuse_archived(space: &Space) -> Result<(), crate::model::ModelError> {
    match space.archived_at {
        Some(_) => Err(crate::model::ModelError::Conflict(format!(
            "the space \"{}\" is archived: bring it back (unarchive it) before inviting guests to it",
            space.name
        ))),
        None => Ok(()),
    }
}

/// Mails a fresh single-use link for `space` to `guest`; the earlier links of that space
/// stop working once it is sent. When the mail server does not take it, the invitation
/// waits to be tried again in the background and the caller hears so
/// ([`Error::Mail`]).
pub async fn send(
    ctx: &Context<'_>,
    guest: &Guest,
    space: &Space,
    inv: Invitation<'_>,
    invited_by: &str,
) -> Result<(), Error> {
    let outcome = send_each(ctx, vec![(guest, space, inv)], invited_by).await?;
    match outcome.not_sent.into_iter().next() {
        None => Ok(()),
        Some((_, why)) => Err(Error::Mail(why)),
    }
}

/// What became of the invitations of one call: the addresses mailed, and each one not
/// mailed with why (waiting for the background's retries, or refused for good).
#[derive(Default)]
pub struct Outcome {
    pub sent: Vec<String>,
    pub not_sent: Vec<(String, String)>,
}

impl Outcome {
    /// What the caller is told when some did not go: which went, and why each other did not.
    pub fn message(&self) -> String {
        if let ([], [(_, why)]) = (self.sent.as_slice(), self.not_sent.as_slice()) {
            return why.clone();
        }
        let mut said = Vec::new();
        if !self.sent.is_empty() {
            said.push(format!("Sent to {}.", self.sent.join(", ")));
        }
        for (to, why) in &self.not_sent {
            said.push(format!("Not sent to {to}: {why}"));
        }
        said.join(" ")
    }
}

/// Mails several guests' invitations, each as [`send`] does. A refusal of one address
/// stops none after it (probe 63b D3: the rest were dropped unsaid); once the mail server
/// cannot be reached, the rest wait for the background's retries untried (each try of a
/// server that is down takes seconds).
pub async fn send_each(
    ctx: &Context<'_>,
    each: Vec<(&Guest, &Space, Invitation<'_>)>,
    invited_by: &str,
) -> Result<Outcome, Error> {
    let mut outcome = Outcome::default();
    let mut unreachable: Option<String> = None;
    for (guest, space, inv) in each {
        refuse_archived(space)?;
        let target = Target::Guest(guest.id.clone(), space.id.clone());
        let failed = match &unreachable {
            Some(error) => (
                format!("not tried, as the mail server did not take the one before ({error})"),
                false,
            ),
            None => match deliver(ctx, guest, space, &inv).await {
                Ok(()) => {
                    forget(ctx, target).await?;
                    outcome.sent.push(guest.email.clone());
                    continue;
                }
                Err(Failure::Mail(error)) => {
                    if !error.is_permanent() {
                        unreachable = Some(error.to_string());
                    }
                    (error.to_string(), error.is_permanent())
                }
                Err(Failure::Other(e)) => return Err(e),
            },
        };
        let waiting = Waiting {
            target,
            from_name: inv.from_name.map(String::from),
            message: inv.message.map(String::from),
            invited_by: invited_by.to_string(),
            permanent: failed.1,
            error: failed.0,
            delay: first_delay(ctx),
            lifetime: TimeDelta::hours(ctx.settings.guest_link_hours),
        };
        match queue(ctx, waiting).await {
            Error::Mail(why) => outcome.not_sent.push((guest.email.clone(), why)),
            other => return Err(other),
        }
    }
    Ok(outcome)
}

/// One try at a guest's invitation: a new link, the mail, and (once the server took it)
/// the link's hash stored, which voids the earlier ones.
pub async fn deliver(
    ctx: &Context<'_>,
    guest: &Guest,
    space: &Space,
    inv: &Invitation<'_>,
) -> Result<(), Failure> {
    let token = guest_link::new_token();
    let hours = ctx.settings.guest_link_hours;
    let link = format!("{}/guest-links/{token}", ctx.settings.base_url);
    let (subject, text) = mail_text(guest, space, inv, &link, hours);
    ctx.mail
        .send(&Mail {
            to: guest.email.clone(),
            to_name: Some(guest.name.clone()),
            subject,
            text,
        })
        .await?;
    let (gid, sid) = (guest.id.clone(), space.id.clone());
    ctx.db(move |conn| guest_link::store(conn, &token, &gid, &sid, false, hours))
        .await?;
    Ok(())
}

/// One try at mailing `person` a link to join the team, from `inviter` (an email
/// address); once the server took it, the link's hash is stored and the earlier links
/// stop working.
pub async fn deliver_member(ctx: &Context<'_>, inviter: &str, person: &User) -> Result<(), Failure> {
    let token = guest_link::new_team_token();
    let hours = ctx.settings.guest_link_hours;
    let link = format!("{}/invites/{token}", ctx.settings.base_url);
    let role = if person.is_admin { "an admin" } else { "a member" };
    let text = format!(
        "Hello,\n\n{inviter} invited you to the team on Wharf, as {role}.\n\n\
         Set your password with this link. It works once, for {hours} hours:\n\n{link}\n\n\
         If it has expired or was already used, ask {inviter} to send you a new one.\n"
    );
    ctx.mail
        .send(&Mail {
            to: person.email.clone(),
            to_name: None,
            subject: format!("{inviter} invited you to Wharf"),
            text,
        })
        .await?;
    let (id, inviter) = (person.id.clone(), inviter.to_string());
    ctx.db(move |conn| team::store_invite(conn, &token, &id, &inviter, hours))
        .await?;
    Ok(())
}

/// Keeps the invitation for another try and answers the error the person sees.
pub async fn queue(ctx: &Context<'_>, waiting: Waiting) -> Error {
    let shown = if waiting.permanent {
        format!(
            "{}. Nothing was sent, and Wharf does not try again: correct what it says, then \
             send a new link.",
            waiting.error.trim_end_matches('.')
        )
    } else {
        format!(
            "{}. Nothing was sent yet; Wharf tries again in the background for the next {} hours \
             and shows the invitation as waiting until it goes.",
            waiting.error.trim_end_matches('.'),
            waiting.lifetime.num_hours()
        )
    };
    match ctx.db(move |conn| mail_retry::queue(conn, &waiting)).await {
        Ok(()) => Error::Mail(shown),
        Err(e) => e,
    }
}

/// The invitation went (or is no longer wanted): nothing waits for `target` any more.
pub async fn forget(ctx: &Context<'_>, target: Target) -> Result<(), Error> {
    ctx.db(move |conn| mail_retry::clear(conn, &target)).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_inbox_whatever_its_spellings() {
        let inbox = super::inbox_of;
        assert_eq!(inbox(" Ada+news@Example.com"), "ada@example.com");
        assert_eq!(inbox("a.d.a+x@gmail.com"), "ada@gmail.com");
        assert_eq!(inbox("a.da@googlemail.com"), "ada@googlemail.com");
        assert_ne!(
            inbox("a.da@example.com"),
            inbox("ada@example.com"),
            "dots matter elsewhere"
        );
    }
}

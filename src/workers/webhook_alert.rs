//! Tells the admins by mail that a webhook was turned off because every delivery to it
//! failed for five days (`workers::webhooks`). A `410 Gone` answer turns a webhook off
//! without a mail: the receiver asked for it. The mail is tried once per admin (the mailer
//! itself tries a few times); one not sent is logged, and the Webhooks page still shows
//! the webhook as disabled with its reason.

use crate::db::Pool;
use crate::mail::{Mail, Mailer};
use crate::model::environment::{self, Environment};
use crate::model::user::User;
use crate::model::webhook::{self, Webhook};
use crate::model::webhook_delivery::FailedTooLong;
use crate::model::{team, ModelError};
use crate::settings::Settings;
use chrono::NaiveDateTime;

/// Mails each admin who has joined; returns how many mails went.
pub async fn tell_admins(pool: &Pool, mail: &Mailer, settings: &Settings, off: &FailedTooLong) -> usize {
    let ops = crate::ops::Context { pool, mail, settings };
    let id = off.webhook_id.clone();
    let found = ops
        .db(move |conn| {
            let Some(hook) = webhook::find_any(conn, &id)? else {
                return Ok::<_, ModelError>(None);
            };
            let env = environment::find(conn, &hook.environment_id)?;
            let admins: Vec<User> = team::list(conn)?
                .into_iter()
                .filter(|u| u.is_admin && u.has_password())
                .collect();
            Ok(env.map(|env| (hook, env, admins)))
        })
        .await;
    let (hook, env, admins) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return 0, // Deleted meanwhile: nothing to tell.
        Err(e) => {
            tracing::warn!(webhook = %off.webhook_id, error = %e, "could not tell the admins a webhook was turned off");
            return 0;
        }
    };
    let (subject, text) = mail_text(&hook, &env, off.since, &off.reason, &settings.base_url);
    let mut sent = 0;
    for admin in admins {
        let m = Mail {
            to: admin.email.clone(),
            to_name: None,
            subject: subject.clone(),
            text: text.clone(),
        };
        match mail.send(&m).await {
            Ok(()) => sent += 1,
            Err(e) => {
                tracing::warn!(webhook = %hook.id, to = %admin.email, error = %e, "could not tell an admin a webhook was turned off")
            }
        }
    }
    sent
}

/// The mail's subject and text: which webhook, since when it failed, why, and where to
/// turn it back on.
pub fn mail_text(
    hook: &Webhook,
    env: &Environment,
    since: NaiveDateTime,
    reason: &str,
    base_url: &str,
) -> (String, String) {
    let subject = format!("Webhook turned off: {}", hook.url);
    let description = if hook.description.trim().is_empty() {
        String::new()
    } else {
        format!("Description: {}\n", hook.description.trim())
    };
    let text = format!(
        "Hello,\n\n\
         Wharf turned off a webhook of the environment \"{env}\": every delivery to it has failed \
         since {since} UTC.\n\n\
         URL: {url}\n\
         {description}\
         Why: {reason}\n\n\
         While it is off, Wharf sends it nothing: deliveries still waiting are given up and new \
         events are not queued for it. Once the receiver works again, an admin can turn the \
         webhook back on from the Webhooks page (with \"{env}\" chosen in the top bar). Its \
         delivery log shows each try and the answer it got:\n\n\
         {base}/webhooks/{id}\n\n\
         The Webhooks page: {base}/webhooks\n\n\
         (A webhook whose receiver answers 410 Gone is turned off too, without a mail: the \
         receiver asked for it.)\n",
        env = env.name,
        since = since.format("%Y-%m-%d %H:%M"),
        url = hook.url,
        base = base_url.trim_end_matches('/'),
        id = hook.id,
    );
    (subject, text)
}

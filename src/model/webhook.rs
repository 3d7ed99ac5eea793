//! Webhooks: where an environment's events are POSTed, signed (Standard Webhooks). The
//! deliveries themselves are in `webhook_delivery`; this file holds the webhooks, their
//! topic globs and the outbox step `enqueue`, which runs in every event's transaction.

use super::{now, ModelError, ModelResult};
use crate::db::schema::{webhook_deliveries, webhooks};
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, WebhookDeliveryId, WebhookId};
use base64::Engine;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use rand::RngCore;

/// The ping a webhook's `test` route sends; delivered to that webhook alone.
pub const TEST_TOPIC: &str = "webhook:test";
/// How long a rotated-out secret still signs beside the new one.
pub const ROTATION_OVERLAP: TimeDelta = TimeDelta::hours(24);
/// Standard Webhooks' secret prefix.
pub const SECRET_PREFIX: &str = "whsec_";
/// Woken when an event has queued deliveries, so this process's worker claims them at once
/// instead of at its next poll (an event written inside a larger transaction may wake it
/// early; the poll then finds them).
pub static ENQUEUED: tokio::sync::Notify = tokio::sync::Notify::const_new();

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: WebhookId,
    pub environment_id: EnvironmentId,
    pub url: String,
    /// JSON list of topic globs.
    pub topics: String,
    pub description: String,
    pub enabled: bool,
    /// `whsec_...`; signs deliveries, never shown after creation or rotation, never logged.
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Names the webhook in a Submit action's `deliverTo`; unique in its environment.
    pub slug: Option<String>,
}

/// Written by hand so that no secret reaches a log through `{:?}`.
impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("environment_id", &self.environment_id)
            .field("url", &self.url)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    pub fn topic_list(&self) -> Vec<String> {
        serde_json::from_str(&self.topics).unwrap_or_default()
    }

    /// The secrets that sign a delivery at `t`: the current one, and the previous one
    /// during its overlap after a rotation.
    pub fn signing_secrets(&self, t: NaiveDateTime) -> Vec<&str> {
        let mut out = vec![self.secret.as_str()];
        if let (Some(old), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if until > t {
                out.push(old.as_str());
            }
        }
        out
    }
}

/// A fresh secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Whether a listener-style glob matches a topic: `**` matches everything, `*` any run of
/// characters within one `:`-separated part (`job:*`, `*:created`), anything else itself.
pub fn topic_matches(pattern: &str, topic: &str) -> bool {
    if pattern == "**" {
        return true;
    }
    let (p, t): (Vec<&str>, Vec<&str>) = (pattern.split(':').collect(), topic.split(':').collect());
    p.len() == t.len() && p.iter().zip(&t).all(|(p, t)| part_matches(p, t))
}

/// One part against a glob part, in time linear in their lengths' product at worst (a glob
/// of many `*` must not make a caller's topic list a way to stall the server): on a
/// mismatch only the last `*` seen takes one character more.
fn part_matches(p: &str, t: &str) -> bool {
    let (p, t) = (p.as_bytes(), t.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|b| *b == b'*')
}

/// Checks topic globs as given by a caller; `None` means all topics.
pub fn check_topics(topics: Option<Vec<String>>) -> Result<Vec<String>, String> {
    let topics = topics.unwrap_or_else(|| vec!["**".into()]);
    if topics.is_empty() {
        return Err("topics must name at least one topic or glob (`**` for all); a Submit receiver, with a slug, may name none".into());
    }
    if topics.len() > 100 {
        return Err("at most 100 topics".into());
    }
    for t in &topics {
        let ok = !t.is_empty()
            && t.len() <= 100
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"*:-_.".contains(&b));
        if !ok {
            return Err(format!(
                "`{t}` is not a topic: use names like `records:created`, globs like `job:*`, or `**`"
            ));
        }
        // A misspelt topic would be a webhook that never hears anything.
        if !super::event_topics::TOPICS
            .iter()
            .any(|known| topic_matches(t, known))
        {
            return Err(format!(
                "`{t}` matches no event topic: use names like `records:created`, globs like `job:*`, or `**`"
            ));
        }
    }
    Ok(topics)
}

/// Checks a receiver's URL as given: absolute `http://` or `https://` with a host, and no
/// credentials in it (they would show in the delivery log). Returns it normalised.
pub fn check_url(text: &str) -> Result<url::Url, String> {
    let text = text.trim();
    if text.len() > 2048 {
        return Err("the URL is longer than 2048 characters".into());
    }
    // The URL standard drops tabs and line breaks inside a URL: the one kept would not be
    // the one given (probe 63d D5).
    if text.chars().any(char::is_control) {
        return Err("the URL holds a line break, tab or other control character; send it on one line".into());
    }
    let url = url::Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`{text}` must start with http:// or https:// (not {}:)",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{text}` names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("put no user name or password in the URL; check the signature instead".into());
    }
    if url.port() == Some(0) {
        return Err(format!("`{text}` names port 0, which no receiver listens on"));
    }
    Ok(url)
}

#[derive(Insertable)]
#[diesel(table_name = webhooks)]
pub struct NewWebhook<'a> {
    pub id: &'a WebhookId,
    pub environment_id: &'a EnvironmentId,
    pub url: &'a str,
    pub topics: String,
    pub description: &'a str,
    pub enabled: bool,
    pub secret: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub slug: Option<&'a str>,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = webhooks)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub topics: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    /// `Some(None)` clears the reason (the webhook is enabled again).
    pub disabled_reason: Option<Option<String>>,
    pub failing_since: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
    /// `Some(None)` removes the slug.
    pub slug: Option<Option<String>>,
}

/// The longest description a webhook may have.
pub const DESCRIPTION_MAX: usize = 1000;

/// A description shows in the webhook list and its page: like a name, one line without
/// control or text-direction characters, only longer.
pub fn check_description(text: &str) -> Result<(), String> {
    match crate::names::problem("a webhook's description", text, DESCRIPTION_MAX) {
        Some(message) => Err(message),
        None => Ok(()),
    }
}

/// Checks a slug as given: 1 to 64 lowercase letters, digits, `-` and `_`, starting with a
/// letter or digit. Empty means none.
pub fn check_slug(text: &str) -> Result<Option<String>, String> {
    let slug = text.trim();
    if slug.is_empty() {
        return Ok(None);
    }
    let ok = slug.len() <= 64
        && slug.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        return Err(format!(
            "`{slug}` is not a slug: use up to 64 lowercase letters, digits, `-` and `_` (like `crm` or `erp-orders`)"
        ));
    }
    Ok(Some(slug.to_string()))
}

/// The webhook of the environment with this slug.
pub fn find_by_slug(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    slug: &str,
) -> QueryResult<Option<Webhook>> {
    webhooks::table
        .filter(webhooks::environment_id.eq(env))
        .filter(webhooks::slug.eq(slug))
        .select(Webhook::as_select())
        .first(conn)
        .optional()
}

/// Why a slug cannot be given to the webhook `except` (another of the environment has it).
pub fn slug_taken(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    slug: &str,
    except: Option<&WebhookId>,
) -> QueryResult<Option<String>> {
    Ok(find_by_slug(conn, env, slug)?
        .filter(|w| Some(&w.id) != except)
        .map(|w| {
            format!(
                "the slug `{slug}` is already the webhook {}'s in this environment",
                w.id
            )
        }))
}

/// Webhooks an environment may hold: every event is matched against each of its webhooks
/// inside the event's write (501 of them made each record insert take about 200 ms).
pub const MOST_PER_ENVIRONMENT: i64 = 100;

/// Creates a webhook; the caller shows its `secret` once.
pub fn create(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    url: &str,
    topics: &[String],
    description: &str,
) -> ModelResult<Webhook> {
    create_with_slug(conn, env, url, topics, description, None)
}

/// [`create`] with a slug (checked by the caller with [`check_slug`] and [`slug_taken`]).
pub fn create_with_slug(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    url: &str,
    topics: &[String],
    description: &str,
    slug: Option<&str>,
) -> ModelResult<Webhook> {
    let id = WebhookId::generate();
    let secret = new_secret();
    let t = now();
    crate::db::write_tx(conn, |conn| {
        // PostgreSQL: creates in one environment take turns, so two at 99 cannot both count
        // 99 (SQLite's writers take turns already).
        if let AnyConnection::Postgres(_) = conn {
            diesel::sql_query("SELECT 1 FROM environments WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::Text, _>(env.as_str())
                .execute(conn)?;
        }
        let held: i64 = webhooks::table
            .filter(webhooks::environment_id.eq(env))
            .count()
            .get_result(conn)?;
        if held >= MOST_PER_ENVIRONMENT {
            return Err(ModelError::Invalid(vec![(
                "url".into(),
                format!(
                    "an environment holds at most {MOST_PER_ENVIRONMENT} webhooks; delete one it no longer needs first"
                ),
            )]));
        }
        diesel::insert_into(webhooks::table)
            .values(NewWebhook {
                id: &id,
                environment_id: env,
                url,
                topics: serde_json::json!(topics).to_string(),
                description,
                enabled: true,
                secret: &secret,
                created_at: t,
                updated_at: t,
                slug,
            })
            .execute(conn)?;
        Ok(())
    })?;
    Ok(get(conn, &id)?)
}

fn get(conn: &mut AnyConnection, id: &WebhookId) -> QueryResult<Webhook> {
    webhooks::table.find(id).select(Webhook::as_select()).first(conn)
}

/// Any webhook by id, whatever its environment (for the delivery worker).
pub fn find_any(conn: &mut AnyConnection, id: &WebhookId) -> QueryResult<Option<Webhook>> {
    get(conn, id).optional()
}

pub fn find(conn: &mut AnyConnection, env: &EnvironmentId, id: &WebhookId) -> QueryResult<Option<Webhook>> {
    webhooks::table
        .filter(webhooks::environment_id.eq(env))
        .filter(webhooks::id.eq(id))
        .select(Webhook::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut AnyConnection, env: &EnvironmentId) -> QueryResult<Vec<Webhook>> {
    webhooks::table
        .filter(webhooks::environment_id.eq(env))
        .order((webhooks::created_at.asc(), webhooks::id.asc()))
        .select(Webhook::as_select())
        .load(conn)
}

pub fn update(conn: &mut AnyConnection, id: &WebhookId, mut changes: WebhookChanges) -> QueryResult<Webhook> {
    changes.updated_at = Some(now());
    let disabling = changes.enabled == Some(false);
    crate::db::write_tx(conn, |conn| {
        diesel::update(webhooks::table.find(id))
            .set(changes)
            .execute(conn)?;
        if disabling {
            fail_waiting(conn, id)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    get(conn, id)
}

/// A disabled webhook's deliveries waiting for a retry fail at once, as the README says,
/// not each when its retry comes (probe 69a D3: enabled again before then, they went after
/// all). One being tried now ends as its try does.
fn fail_waiting(conn: &mut AnyConnection, id: &WebhookId) -> QueryResult<usize> {
    use super::webhook_delivery::status;
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(id))
            .filter(webhook_deliveries::status.eq(status::PENDING))
            .filter(webhook_deliveries::claimed_by.is_null()),
    )
    .set((
        webhook_deliveries::status.eq(status::FAILED),
        webhook_deliveries::next_attempt_at.eq(None::<chrono::NaiveDateTime>),
        webhook_deliveries::last_error.eq(Some("the webhook is disabled")),
    ))
    .execute(conn)
}

pub fn delete(conn: &mut AnyConnection, id: &WebhookId) -> QueryResult<()> {
    crate::db::write_tx(conn, |conn| {
        diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(id)))
            .execute(conn)?;
        diesel::delete(webhooks::table.find(id)).execute(conn)?;
        Ok(())
    })
}

/// Gives the webhook a new secret; the old one keeps signing for [`ROTATION_OVERLAP`].
pub fn rotate_secret(conn: &mut AnyConnection, id: &WebhookId) -> QueryResult<Webhook> {
    let t = now();
    crate::db::write_tx(conn, |conn| {
        let old = get(conn, id)?;
        diesel::update(webhooks::table.find(id))
            .set((
                webhooks::previous_secret.eq(Some(&old.secret)),
                webhooks::previous_secret_until.eq(Some(t + ROTATION_OVERLAP)),
                webhooks::secret.eq(new_secret()),
                webhooks::updated_at.eq(t),
            ))
            .execute(conn)?;
        get(conn, id)
    })
}

/// Turns a webhook off, saying why (a 410 answer, five days of failures).
pub fn disable(conn: &mut AnyConnection, id: &WebhookId, reason: &str) -> QueryResult<()> {
    diesel::update(webhooks::table.find(id))
        .set((
            webhooks::enabled.eq(false),
            webhooks::disabled_reason.eq(Some(reason)),
            webhooks::updated_at.eq(now()),
        ))
        .execute(conn)?;
    fail_waiting(conn, id)?;
    Ok(())
}

/// The outbox step, run in the event's own transaction: one pending delivery per enabled
/// webhook of the environment whose topics match; returns how many. With no webhook it
/// costs one indexed query. A `webhook:test` ping goes only to the webhook it names.
pub fn enqueue(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    topic: &str,
    payload: &serde_json::Value,
    event_id: i64,
) -> QueryResult<usize> {
    let hooks: Vec<(WebhookId, String)> = webhooks::table
        .filter(webhooks::environment_id.eq(env))
        .filter(webhooks::enabled.eq(true))
        .select((webhooks::id, webhooks::topics))
        .load(conn)?;
    if hooks.is_empty() {
        return Ok(0);
    }
    let t = now();
    let mut queued = 0;
    for (id, topics) in hooks {
        let wanted = if topic == TEST_TOPIC {
            payload.get("webhookId").and_then(|v| v.as_str()) == Some(id.as_str())
        } else {
            let globs: Vec<String> = serde_json::from_str(&topics).unwrap_or_default();
            globs.iter().any(|g| topic_matches(g, topic))
        };
        if wanted {
            diesel::insert_into(webhook_deliveries::table)
                .values((
                    webhook_deliveries::id.eq(WebhookDeliveryId::generate()),
                    webhook_deliveries::webhook_id.eq(&id),
                    webhook_deliveries::event_id.eq(event_id),
                    webhook_deliveries::status.eq("pending"),
                    webhook_deliveries::next_attempt_at.eq(Some(t)),
                    webhook_deliveries::created_at.eq(t),
                ))
                .execute(conn)?;
            queued += 1;
        }
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_listeners_use_them() {
        assert!(topic_matches("**", "records:created"));
        assert!(topic_matches("job:*", "job:ready"));
        assert!(!topic_matches("job:*", "records:created"));
        assert!(topic_matches("records:*", "records:updated"));
        assert!(topic_matches("*:created", "space:created"));
        assert!(topic_matches("records:created", "records:created"));
        assert!(topic_matches("*:*ted", "records:created"));
        assert!(topic_matches("re*r*s:c*d", "records:created"));
        assert!(!topic_matches("re*r*s:c*x", "records:created"));
        assert!(topic_matches("job:**", "job:ready"));
        assert!(!topic_matches("records:created", "records:deleted"));
        assert!(!topic_matches("job", "job:ready"));
        assert!(topic_matches("job:re*", "job:ready"));
    }

    /// Globs of many `*` (a probe stalled the server with `*:` and 95 of them) match at once.
    #[test]
    fn globs_of_many_stars_match_at_once() {
        let start = std::time::Instant::now();
        let never = format!("*:{}q", "*".repeat(95));
        let late = format!("*:{}ted", "*".repeat(95));
        assert!(check_topics(Some(vec![never])).is_err());
        assert!(check_topics(Some(vec![late.clone()])).is_ok());
        for topic in super::super::event_topics::TOPICS {
            assert_eq!(topic_matches(&late, topic), topic.ends_with("ted"), "{topic}");
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn urls_are_checked() {
        assert!(check_url("https://example.com/hook").is_ok());
        assert!(check_url("http://127.0.0.1:8080/x").is_ok());
        assert!(check_url("ftp://example.com").unwrap_err().contains("http://"));
        assert!(check_url("example.com/hook").is_err());
        assert!(check_url("https://u:p@example.com").is_err());
        assert!(check_url("file:///etc/passwd").is_err());
        assert!(check_url("https://example.com/ho\nok")
            .unwrap_err()
            .contains("line break"));
        assert!(check_url("https://exa\tmple.com/hook").is_err());
    }

    #[test]
    fn topics_are_checked() {
        assert_eq!(check_topics(None).unwrap(), vec!["**"]);
        assert!(check_topics(Some(vec![])).is_err());
        assert!(check_topics(Some(vec!["job:*".into()])).is_ok());
        assert!(check_topics(Some(vec!["a b".into()]))
            .unwrap_err()
            .contains("`a b`"));
    }

    #[test]
    fn secrets_are_standard_webhooks_shaped() {
        let s = new_secret();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(s.strip_prefix(SECRET_PREFIX).unwrap())
            .unwrap();
        assert_eq!(raw.len(), 32);
        assert_ne!(s, new_secret());
    }
}

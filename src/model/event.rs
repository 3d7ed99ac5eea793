//! The event log: every change writes one, in the same transaction as the change.
//!
//! Listings are ordered by `(created_at, id)` and hold only events that nothing can still
//! slip in front of, so a poller that asks again `since` the last `createdAt` it saw (and
//! drops ids it already has) misses none:
//! - SQLite has one writer at a time, and an event's time is taken by the insert itself,
//!   under the write lock, so events become visible in the order of their times.
//! - PostgreSQL commits concurrent transactions in any order, so an event's time comes from
//!   the database's clock once its transaction holds an id (a trigger, see the migration
//!   `event_envelope`), and a listing leaves out every event at or after the start of the
//!   oldest writing transaction still running (`pg_stat_activity`). Events of a long
//!   transaction, and those after them, appear once it ends.

use super::now;
use crate::db::schema::events;
use crate::db::AnyConnection;
use crate::ids::{CommitId, EnvironmentId, EventId, FileId, JobId, SheetId, SpaceId, WorkbookId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: i64,
    pub environment_id: EnvironmentId,
    pub space_id: Option<SpaceId>,
    pub workbook_id: Option<WorkbookId>,
    pub sheet_id: Option<SheetId>,
    pub topic: String,
    pub domain: String,
    pub actor: String,
    pub payload: String,
    /// The context's keys beyond the ids above (`jobId`, `sheetSlug`, `slugs`...), as JSON.
    pub context: String,
    pub data_url: Option<String>,
    /// A JSON array of strings.
    pub namespaces: Option<String>,
    pub created_at: NaiveDateTime,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub acknowledged_by: Option<String>,
    /// A custom event's `attributes`, `target`, `origin` and `callbackUrl`, as a JSON object.
    pub envelope: Option<String>,
}

impl Event {
    pub fn public_id(&self) -> EventId {
        EventId(self.id)
    }
}

/// Where an event happened and who caused it.
#[derive(Debug, Clone)]
pub struct Context {
    pub environment_id: EnvironmentId,
    pub space_id: Option<SpaceId>,
    pub workbook_id: Option<WorkbookId>,
    pub sheet_id: Option<SheetId>,
    pub actor: String,
    /// Flatfile's other context keys, by their wire names.
    pub extra: Map<String, Value>,
    /// The namespaces, when read before what holds them is deleted ([`Context::keep_namespaces`]).
    namespaces: Option<Option<String>>,
}

impl Context {
    pub fn new(environment_id: &EnvironmentId, actor: &str) -> Self {
        Context {
            environment_id: environment_id.clone(),
            space_id: None,
            workbook_id: None,
            sheet_id: None,
            actor: actor.to_string(),
            extra: Map::new(),
            namespaces: None,
        }
    }

    /// Reads the space's and workbook's namespaces now, for an event emitted after they are
    /// deleted (`space:deleted`, `workbook:deleted`), which listeners' `namespace(...)`
    /// filters would otherwise drop.
    pub fn keep_namespaces(mut self, conn: &mut AnyConnection) -> QueryResult<Self> {
        self.namespaces = Some(namespaces_of(conn, &self)?);
        Ok(self)
    }

    pub fn space(mut self, id: &SpaceId) -> Self {
        self.space_id = Some(id.clone());
        self
    }

    pub fn workbook(mut self, id: &WorkbookId) -> Self {
        self.workbook_id = Some(id.clone());
        self
    }

    pub fn sheet(mut self, id: &SheetId) -> Self {
        self.sheet_id = Some(id.clone());
        self
    }

    /// The sheet's bare slug, as `sheetSlug` (what `recordHook` matches) and `slugs.sheet`.
    pub fn sheet_slug(mut self, slug: &str) -> Self {
        self.extra.insert("sheetSlug".into(), json!(slug));
        self.extra.insert("slugs".into(), json!({ "sheet": slug }));
        self
    }

    pub fn job(mut self, id: &JobId) -> Self {
        self.extra.insert("jobId".into(), json!(id));
        self
    }

    /// A commit's id, and its version: Wharf's commits are the versions (`versionId`).
    pub fn commit(mut self, id: &CommitId) -> Self {
        self.extra.insert("commitId".into(), json!(id));
        self.extra.insert("versionId".into(), json!(id));
        self
    }

    pub fn file(mut self, id: &FileId) -> Self {
        self.extra.insert("fileId".into(), json!(id));
        self
    }

    pub fn document(mut self, id: &crate::ids::DocumentId) -> Self {
        self.extra.insert("documentId".into(), json!(id));
        self
    }
}

#[derive(Insertable)]
#[diesel(table_name = events)]
struct NewEvent<'a> {
    environment_id: &'a EnvironmentId,
    space_id: Option<&'a SpaceId>,
    workbook_id: Option<&'a WorkbookId>,
    sheet_id: Option<&'a SheetId>,
    topic: &'a str,
    domain: &'a str,
    actor: &'a str,
    payload: String,
    context: String,
    data_url: Option<&'a str>,
    namespaces: Option<String>,
    envelope: Option<&'a str>,
}

/// What a custom event (`POST /v1/events`) adds to a context and payload.
#[derive(Debug, Default)]
pub struct Extras<'a> {
    pub domain: Option<&'a str>,
    pub data_url: Option<&'a str>,
    pub namespaces: Option<&'a [String]>,
    /// The envelope's other keys, a JSON object.
    pub envelope: Option<&'a str>,
}

/// The domain of a topic: its prefix when that is one of Flatfile's domains; records
/// events (and others of no domain of their own) belong to the workbook.
pub fn default_domain(topic: &str) -> &str {
    let prefix = topic.split(':').next().unwrap_or(topic);
    if super::event_topics::DOMAINS.contains(&prefix) {
        prefix
    } else {
        "workbook"
    }
}

/// Writes a Wharf event in the domain of its topic.
pub fn emit(conn: &mut AnyConnection, ctx: &Context, topic: &str, payload: Value) -> QueryResult<()> {
    insert(conn, ctx, topic, payload, &Extras::default()).map(|_| ())
}

/// Writes an event and returns its id.
pub fn insert(
    conn: &mut AnyConnection,
    ctx: &Context,
    topic: &str,
    payload: Value,
    extras: &Extras,
) -> QueryResult<EventId> {
    let namespaces = match (extras.namespaces, &ctx.namespaces) {
        (Some(given), _) => Some(json!(given).to_string()),
        (None, Some(kept)) => kept.clone(),
        (None, None) => namespaces_of(conn, ctx)?,
    };
    let row = NewEvent {
        environment_id: &ctx.environment_id,
        space_id: ctx.space_id.as_ref(),
        workbook_id: ctx.workbook_id.as_ref(),
        sheet_id: ctx.sheet_id.as_ref(),
        topic,
        domain: extras.domain.unwrap_or_else(|| default_domain(topic)),
        actor: &ctx.actor,
        payload: payload.to_string(),
        context: Value::Object(ctx.extra.clone()).to_string(),
        data_url: extras.data_url,
        namespaces,
        envelope: extras.envelope,
    };
    // The database stamps the time (module note): SQLite evaluates `now` once the statement
    // holds the write lock; on PostgreSQL a trigger fills it in.
    let stamp = match conn {
        AnyConnection::Sqlite(_) => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
        AnyConnection::Postgres(_) => "NULL",
    };
    let created_at = events::created_at.eq(diesel::dsl::sql::<diesel::sql_types::Timestamp>(stamp));
    // The event and its webhook deliveries (the outbox) commit together or not at all.
    let (id, queued) = crate::db::write_tx::<_, diesel::result::Error, _>(conn, |conn| {
        let id: i64 = crate::on_backend!(conn, c => diesel::insert_into(events::table)
            .values((&row, created_at.clone()))
            .returning(events::id)
            .get_result(c))?;
        let queued = super::webhook::enqueue(conn, &ctx.environment_id, topic, &payload, id)?;
        Ok((EventId(id), queued))
    })?;
    if queued > 0 {
        super::webhook::ENQUEUED.notify_one();
    }
    Ok(id)
}

/// The namespaces of the space and workbook an event happened in, as Flatfile's events
/// carry them (`["space:portal", "workbook:staging"]`), for listeners' `namespace(...)`
/// filters; `None` when neither has one.
fn namespaces_of(conn: &mut AnyConnection, ctx: &Context) -> QueryResult<Option<String>> {
    use crate::db::schema::{spaces, workbooks};
    let mut found = Vec::new();
    if let Some(space) = &ctx.space_id {
        let ns: Option<Option<String>> = spaces::table
            .find(space)
            .select(spaces::namespace)
            .first(conn)
            .optional()?;
        found.extend(ns.flatten().map(|n| format!("space:{n}")));
    }
    if let Some(wb) = &ctx.workbook_id {
        let ns: Option<Option<String>> = workbooks::table
            .find(wb)
            .select(workbooks::namespace)
            .first(conn)
            .optional()?;
        found.extend(ns.flatten().map(|n| format!("workbook:{n}")));
    }
    Ok((!found.is_empty()).then(|| json!(found).to_string()))
}

/// Which events to list.
#[derive(Debug, Default)]
pub struct Filter {
    pub space_id: Option<SpaceId>,
    pub topic: Option<String>,
    pub domain: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub include_acknowledged: bool,
    /// For pages showing the latest activity; the API lists oldest first.
    pub newest_first: bool,
    pub page_size: i64,
    pub page_number: i64,
}

/// Events oldest first, leaving out those something could still slip in front of.
pub fn list(conn: &mut AnyConnection, environment_id: &EnvironmentId, f: &Filter) -> QueryResult<Vec<Event>> {
    let ids = list_ids(conn, environment_id, f)?;
    by_ids(conn, &ids)
}

/// The ids of the events [`list`] gives, in its order: a page of big events is then read a
/// few at a time (`GET /v1/events` streams it).
pub fn list_ids(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    f: &Filter,
) -> QueryResult<Vec<i64>> {
    // Taken in its own statement before the listing's snapshot (module note).
    let settled = settled_before(conn)?;
    let mut q = events::table
        .filter(events::environment_id.eq(environment_id))
        .select(events::id)
        .into_boxed();
    if let Some(before) = settled {
        q = q.filter(events::created_at.lt(before));
    }
    if let Some(space) = &f.space_id {
        q = q.filter(events::space_id.eq(space));
    }
    // `commit:*`, a webhook's glob of one prefix, takes its topics (the caller checked
    // that the prefix is one of theirs: letters and `-` only, nothing `LIKE` reads).
    match f.topic.as_deref().map(|t| (t, t.strip_suffix(":*"))) {
        Some((_, Some(prefix))) => q = q.filter(events::topic.like(format!("{prefix}:%"))),
        Some((topic, None)) => q = q.filter(events::topic.eq(topic.to_string())),
        None => {}
    }
    if let Some(domain) = &f.domain {
        q = q.filter(events::domain.eq(domain));
    }
    if let Some(since) = f.since {
        q = q.filter(events::created_at.ge(since));
    }
    if !f.include_acknowledged {
        q = q.filter(events::acknowledged_at.is_null());
    }
    q = if f.newest_first {
        q.order((events::created_at.desc(), events::id.desc()))
    } else {
        q.order((events::created_at.asc(), events::id.asc()))
    };
    q.limit(f.page_size)
        .offset((f.page_number - 1).saturating_mul(f.page_size))
        .load(conn)
}

/// These events, in the order of `ids` (those gone meanwhile left out).
pub fn by_ids(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<Vec<Event>> {
    let mut found: Vec<Event> = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        found.extend(
            events::table
                .filter(events::id.eq_any(chunk))
                .select(Event::as_select())
                .load::<Event>(conn)?,
        );
    }
    let at: std::collections::HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    found.sort_by_key(|e| at.get(&e.id).copied().unwrap_or(usize::MAX));
    Ok(found)
}

#[derive(QueryableByName)]
struct Settled {
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    before: NaiveDateTime,
}

/// On PostgreSQL, the time before which every event is committed: the start of the
/// oldest transaction holding an id (a writer), or now; in milliseconds, as events' times.
fn settled_before(conn: &mut AnyConnection) -> QueryResult<Option<NaiveDateTime>> {
    let AnyConnection::Postgres(pg) = conn else {
        return Ok(None);
    };
    let row: Settled = diesel::sql_query(
        "SELECT date_trunc('milliseconds', LEAST(statement_timestamp(), \
           (SELECT min(xact_start) FROM pg_stat_activity \
            WHERE backend_xid IS NOT NULL AND datname = current_database() \
              AND backend_type = 'client backend' AND pid <> pg_backend_pid()))) \
         AT TIME ZONE 'UTC' AS before",
    )
    .get_result(pg)?;
    Ok(Some(row.before))
}

pub fn find(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    id: EventId,
) -> QueryResult<Option<Event>> {
    events::table
        .filter(events::environment_id.eq(environment_id))
        .filter(events::id.eq(id.0))
        .select(Event::as_select())
        .first(conn)
        .optional()
}

/// Marks an event acknowledged by `actor` (again: the latest wins). `false`: no such event.
pub fn acknowledge(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    id: EventId,
    actor: &str,
) -> QueryResult<bool> {
    crate::db::write(conn, |conn| {
        let n = diesel::update(
            events::table
                .filter(events::environment_id.eq(environment_id))
                .filter(events::id.eq(id.0)),
        )
        .set((
            events::acknowledged_at.eq(Some(now())),
            events::acknowledged_by.eq(Some(actor)),
        ))
        .execute(conn)?;
        Ok(n > 0)
    })
}

/// Deletes up to `batch` events created before `cutoff`; how many went.
pub fn prune_batch(conn: &mut AnyConnection, cutoff: NaiveDateTime, batch: i64) -> QueryResult<usize> {
    crate::db::write(conn, |conn| {
        let old: Vec<i64> = events::table
            .filter(events::created_at.lt(cutoff))
            .select(events::id)
            .order(events::created_at.asc())
            .limit(batch)
            .load(conn)?;
        if old.is_empty() {
            return Ok(0);
        }
        diesel::delete(events::table.filter(events::id.eq_any(&old))).execute(conn)
    })
}

//! The event log: every change writes one, in the same transaction as the change.

use super::now;
use crate::db::schema::events;
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, EventId, SheetId, SpaceId, WorkbookId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: i64,
    pub environment_id: EnvironmentId,
    pub space_id: Option<SpaceId>,
    pub workbook_id: Option<WorkbookId>,
    pub sheet_id: Option<SheetId>,
    pub topic: String,
    pub actor: String,
    pub payload: String,
    pub created_at: NaiveDateTime,
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
}

impl Context {
    pub fn new(environment_id: &EnvironmentId, actor: &str) -> Self {
        Context {
            environment_id: environment_id.clone(),
            space_id: None,
            workbook_id: None,
            sheet_id: None,
            actor: actor.to_string(),
        }
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
}

#[derive(Insertable)]
#[diesel(table_name = events)]
struct NewEvent<'a> {
    environment_id: &'a EnvironmentId,
    space_id: Option<&'a SpaceId>,
    workbook_id: Option<&'a WorkbookId>,
    sheet_id: Option<&'a SheetId>,
    topic: &'a str,
    actor: &'a str,
    payload: String,
    created_at: NaiveDateTime,
}

pub fn emit(
    conn: &mut AnyConnection,
    ctx: &Context,
    topic: &str,
    payload: serde_json::Value,
) -> QueryResult<()> {
    let row = NewEvent {
        environment_id: &ctx.environment_id,
        space_id: ctx.space_id.as_ref(),
        workbook_id: ctx.workbook_id.as_ref(),
        sheet_id: ctx.sheet_id.as_ref(),
        topic,
        actor: &ctx.actor,
        payload: payload.to_string(),
        created_at: now(),
    };
    // The event and its webhook deliveries (the outbox) commit together or not at all.
    crate::db::write_tx(conn, |conn| {
        let id: i64 = crate::on_backend!(conn, c => diesel::insert_into(events::table)
            .values(&row)
            .returning(events::id)
            .get_result(c))?;
        super::webhook::enqueue(conn, &ctx.environment_id, topic, &payload, id)
    })
}

/// Which events to list; newest last.
#[derive(Debug, Default)]
pub struct Filter {
    pub space_id: Option<SpaceId>,
    pub topic: Option<String>,
    pub domain: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub page_size: i64,
    pub page_number: i64,
}

pub fn list(conn: &mut AnyConnection, environment_id: &EnvironmentId, f: &Filter) -> QueryResult<Vec<Event>> {
    let mut q = events::table
        .filter(events::environment_id.eq(environment_id))
        .select(Event::as_select())
        .into_boxed();
    if let Some(space) = &f.space_id {
        q = q.filter(events::space_id.eq(space));
    }
    if let Some(topic) = &f.topic {
        q = q.filter(events::topic.eq(topic));
    }
    if let Some(domain) = &f.domain {
        q = q.filter(events::topic.like(format!("{}:%", domain.replace(['%', '_'], ""))));
    }
    if let Some(since) = f.since {
        q = q.filter(events::created_at.ge(since));
    }
    q.order(events::id.asc())
        .limit(f.page_size)
        .offset((f.page_number - 1) * f.page_size)
        .load(conn)
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

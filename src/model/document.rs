//! Documents: Flatfile's pages of a space (`title`, `body`), which listener code writes in
//! `space:configure` ("Getting Started") and people read on the space's pages.

use super::event::{self, Context};
use super::{now, ModelError, ModelResult};
use crate::db::schema::documents;
use crate::db::AnyConnection;
use crate::ids::{DocumentId, EnvironmentId, SpaceId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

/// Longest body kept: a page of text, not a file store.
pub const MAX_BODY: usize = 256 * 1024;
/// Most documents a space holds (its pages show them all).
pub const MAX_PER_SPACE: i64 = 50;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = documents)]
pub struct Document {
    pub id: DocumentId,
    pub space_id: SpaceId,
    pub environment_id: EnvironmentId,
    pub title: String,
    pub body: String,
    /// JSON lists, as given.
    pub treatments: String,
    pub actions: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What a document is given: each `None` in an update leaves it as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = documents)]
pub struct DocumentChanges {
    pub title: Option<String>,
    pub body: Option<String>,
    pub treatments: Option<String>,
    pub actions: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

/// What is wrong with a title or body, as (field, message).
pub fn problem(title: Option<&str>, body: Option<&str>) -> Option<(&'static str, String)> {
    if let Some(title) = title {
        if title.trim().is_empty() {
            return Some(("title", "a document needs a title".into()));
        }
        if let Some(m) = crate::names::problem("a document title", title.trim(), crate::names::MAX_CHARS) {
            return Some(("title", m));
        }
    }
    if body.is_some_and(|b| b.len() > MAX_BODY) {
        return Some(("body", "a document's body holds at most 256 KiB".into()));
    }
    None
}

fn context(d: &Document, actor: &str) -> Context {
    let mut ctx = Context::new(&d.environment_id, actor).space(&d.space_id);
    ctx.extra.insert("documentId".into(), json!(d.id));
    ctx
}

pub fn create(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    space: &SpaceId,
    given: DocumentChanges,
    actor: &str,
) -> ModelResult<Document> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        super::space::hold_to_add(conn, std::slice::from_ref(space))?;
        let held: i64 = documents::table
            .filter(documents::space_id.eq(space))
            .count()
            .get_result(conn)?;
        if held >= MAX_PER_SPACE {
            return Err(ModelError::Invalid(vec![(
                "title".into(),
                format!("a space holds at most {MAX_PER_SPACE} documents; delete one first"),
            )]));
        }
        let t = now();
        let d = Document {
            id: DocumentId::generate(),
            space_id: space.clone(),
            environment_id: env.clone(),
            title: given.title.unwrap_or_default().trim().to_string(),
            body: given.body.unwrap_or_default(),
            treatments: given.treatments.unwrap_or_else(|| "[]".into()),
            actions: given.actions.unwrap_or_else(|| "[]".into()),
            created_at: t,
            updated_at: t,
        };
        diesel::insert_into(documents::table).values(&d).execute(conn)?;
        event::emit(conn, &context(&d, actor), "document:created", json!({}))?;
        Ok(d)
    })
}

pub fn list_in_space(conn: &mut AnyConnection, space: &SpaceId) -> QueryResult<Vec<Document>> {
    documents::table
        .filter(documents::space_id.eq(space))
        .order((documents::created_at.asc(), documents::id.asc()))
        .select(Document::as_select())
        .load(conn)
}

/// The space of a document of the environment.
pub fn space_of(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    id: &DocumentId,
) -> QueryResult<Option<SpaceId>> {
    documents::table
        .filter(documents::environment_id.eq(env))
        .filter(documents::id.eq(id))
        .select(documents::space_id)
        .first::<String>(conn)
        .optional()
        .map(|space| space.map(SpaceId))
}

/// A document of the space, in the environment.
pub fn find(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    space: &SpaceId,
    id: &DocumentId,
) -> QueryResult<Option<Document>> {
    documents::table
        .filter(documents::environment_id.eq(env))
        .filter(documents::space_id.eq(space))
        .filter(documents::id.eq(id))
        .select(Document::as_select())
        .first(conn)
        .optional()
}

pub fn update(
    conn: &mut AnyConnection,
    d: &Document,
    mut changes: DocumentChanges,
    actor: &str,
) -> ModelResult<Document> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        changes.title = changes.title.map(|t| t.trim().to_string());
        changes.updated_at = Some(now());
        diesel::update(documents::table.find(&d.id))
            .set(&changes)
            .execute(conn)?;
        event::emit(conn, &context(d, actor), "document:updated", json!({}))?;
        find(conn, &d.environment_id, &d.space_id, &d.id)?.ok_or(ModelError::NotFound("document"))
    })
}

pub fn delete(conn: &mut AnyConnection, d: &Document, actor: &str) -> ModelResult<()> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        if diesel::delete(documents::table.find(&d.id)).execute(conn)? == 1 {
            event::emit(conn, &context(d, actor), "document:deleted", json!({}))?;
        }
        Ok(())
    })
}

//! Guests: people outside the team, invited by email into some spaces of one environment.
//! What a guest may open is read from `guest_spaces` on every request, so removing a guest
//! from a space takes effect at once. Links and sessions are in `guest_link.rs`.

use super::event::{self, Context};
use super::{now, ModelError, ModelResult};
use crate::db::schema::{guest_links, guest_sessions, guest_spaces, guests, spaces};
use crate::db::{write_tx, AnyConnection};
use crate::ids::{EnvironmentId, GuestId, SpaceId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = guests)]
pub struct Guest {
    pub id: GuestId,
    pub environment_id: EnvironmentId,
    pub email: String,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = guests)]
struct NewGuest<'a> {
    id: &'a GuestId,
    environment_id: &'a EnvironmentId,
    email: &'a str,
    name: &'a str,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// What `PATCH /v1/guests/{id}` may change.
#[derive(AsChangeset, Default)]
#[diesel(table_name = guests)]
pub struct GuestChanges {
    pub email: Option<String>,
    pub name: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

/// One space a guest may open.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = guest_spaces)]
pub struct GuestSpace {
    pub guest_id: GuestId,
    pub space_id: SpaceId,
    pub last_accessed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = guest_spaces)]
struct NewGuestSpace<'a> {
    guest_id: &'a GuestId,
    space_id: &'a SpaceId,
    created_at: NaiveDateTime,
}

fn normalize(email: &str, name: &str) -> ModelResult<(String, String)> {
    let mut problems = Vec::new();
    let email = crate::model::user::normalize_email(email)
        .map_err(|m| problems.push(("email".to_string(), m)))
        .unwrap_or_default();
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        problems.push((
            "name".into(),
            "a guest needs a name of 1 to 200 characters".into(),
        ));
    } else if let Some(message) = crate::names::problem("a guest's name", &name, crate::names::MAX_CHARS) {
        problems.push(("name".into(), message));
    }
    if problems.is_empty() {
        Ok((email, name))
    } else {
        Err(ModelError::Invalid(problems))
    }
}

/// Spaces of this environment, or NotFound for the first that is not one.
fn check_spaces(conn: &mut AnyConnection, env: &EnvironmentId, ids: &[SpaceId]) -> ModelResult<()> {
    // Held, so none is deleted before the guest is added to it.
    super::space::hold_to_add(conn, ids)?;
    for id in ids {
        let found: i64 = spaces::table
            .filter(spaces::id.eq(id))
            .filter(spaces::environment_id.eq(env))
            .count()
            .get_result(conn)?;
        if found == 0 {
            return Err(ModelError::NotFound("space"));
        }
    }
    Ok(())
}

/// Creates a guest, or finds the one with this email in the environment (taking the name
/// given now); either way it is given the spaces (`space:guestAdded` for each space it
/// did not have).
pub fn create(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    email: &str,
    name: &str,
    space_ids: &[SpaceId],
    actor: &str,
) -> ModelResult<Guest> {
    let (email, name) = normalize(email, name)?;
    write_tx(conn, |conn| {
        check_spaces(conn, env, space_ids)?;
        // PostgreSQL: one adder of an email at a time, so a second finds the guest the first
        // made instead of breaking the unique email (SQLite's write lock does this).
        crate::db::one_writer_of(conn, 7326002, &format!("{env} {email}"))?;
        let guest = match find_by_email(conn, env, &email)? {
            Some(g) if g.name == name => g,
            Some(g) => {
                diesel::update(guests::table.find(&g.id))
                    .set(GuestChanges {
                        name: Some(name.clone()),
                        updated_at: Some(now()),
                        ..Default::default()
                    })
                    .execute(conn)?;
                find(conn, env, &g.id)?.ok_or(ModelError::NotFound("guest"))?
            }
            None => {
                let id = GuestId::generate();
                let t = now();
                diesel::insert_into(guests::table)
                    .values(NewGuest {
                        id: &id,
                        environment_id: env,
                        email: &email,
                        name: &name,
                        created_at: t,
                        updated_at: t,
                    })
                    .execute(conn)?;
                find(conn, env, &id)?.ok_or(ModelError::NotFound("guest"))?
            }
        };
        for space in space_ids {
            add_space(conn, &guest, space, actor)?;
        }
        Ok(guest)
    })
}

fn add_space(conn: &mut AnyConnection, guest: &Guest, space: &SpaceId, actor: &str) -> ModelResult<()> {
    let has: i64 = guest_spaces::table
        .filter(guest_spaces::guest_id.eq(&guest.id))
        .filter(guest_spaces::space_id.eq(space))
        .count()
        .get_result(conn)?;
    if has > 0 {
        return Ok(());
    }
    diesel::insert_into(guest_spaces::table)
        .values(NewGuestSpace {
            guest_id: &guest.id,
            space_id: space,
            created_at: now(),
        })
        .execute(conn)?;
    let ctx = Context::new(&guest.environment_id, actor).space(space);
    event::emit(conn, &ctx, "space:guestAdded", json!({"guestId": guest.id}))?;
    Ok(())
}

fn remove_space(conn: &mut AnyConnection, guest: &Guest, space: &SpaceId, actor: &str) -> ModelResult<bool> {
    let gone = diesel::delete(
        guest_spaces::table
            .filter(guest_spaces::guest_id.eq(&guest.id))
            .filter(guest_spaces::space_id.eq(space)),
    )
    .execute(conn)?;
    diesel::update(
        guest_links::table
            .filter(guest_links::guest_id.eq(&guest.id))
            .filter(guest_links::space_id.eq(space))
            .filter(guest_links::revoked_at.is_null()),
    )
    .set(guest_links::revoked_at.eq(now()))
    .execute(conn)?;
    // Browser sessions opened with those API guest tokens end with them, whatever spaces
    // the guest keeps (probe 51c 1).
    let links = guest_links::table
        .filter(guest_links::guest_id.eq(&guest.id))
        .filter(guest_links::space_id.eq(space))
        .select(guest_links::token_hash.nullable());
    diesel::delete(guest_sessions::table.filter(guest_sessions::link_hash.eq_any(links))).execute(conn)?;
    if gone > 0 {
        let ctx = Context::new(&guest.environment_id, actor).space(space);
        event::emit(conn, &ctx, "space:guestRemoved", json!({"guestId": guest.id}))?;
    }
    Ok(gone > 0)
}

pub fn find(conn: &mut AnyConnection, env: &EnvironmentId, id: &GuestId) -> QueryResult<Option<Guest>> {
    guests::table
        .filter(guests::id.eq(id))
        .filter(guests::environment_id.eq(env))
        .select(Guest::as_select())
        .first(conn)
        .optional()
}

/// A guest by ID whatever its environment (for links and sessions, which name the guest).
pub fn find_any(conn: &mut AnyConnection, id: &GuestId) -> QueryResult<Option<Guest>> {
    guests::table
        .find(id)
        .select(Guest::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_email(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    email: &str,
) -> QueryResult<Option<Guest>> {
    guests::table
        .filter(guests::environment_id.eq(env))
        .filter(guests::email.eq(email.trim().to_lowercase()))
        .select(Guest::as_select())
        .first(conn)
        .optional()
}

/// Guests of an environment, optionally only those of a space and/or with an email.
pub fn list(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    space: Option<&SpaceId>,
    email: Option<&str>,
) -> QueryResult<Vec<Guest>> {
    let mut q = guests::table
        .filter(guests::environment_id.eq(env))
        .select(Guest::as_select())
        .order(guests::created_at.asc())
        .into_boxed();
    if let Some(space) = space {
        q = q.filter(
            guests::id.eq_any(
                guest_spaces::table
                    .filter(guest_spaces::space_id.eq(space.clone()))
                    .select(guest_spaces::guest_id),
            ),
        );
    }
    if let Some(email) = email {
        q = q.filter(guests::email.eq(email.trim().to_lowercase()));
    }
    q.load(conn)
}

/// The spaces a guest may open.
pub fn spaces_of(conn: &mut AnyConnection, id: &GuestId) -> QueryResult<Vec<GuestSpace>> {
    guest_spaces::table
        .filter(guest_spaces::guest_id.eq(id))
        .order(guest_spaces::created_at.asc())
        .select(GuestSpace::as_select())
        .load(conn)
}

/// The spaces a guest was invited to, split by whether they are archived: an archived
/// space is closed to its guests until it is brought back.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    pub memberships: Vec<GuestSpace>,
    pub open: Vec<SpaceId>,
    pub archived: Vec<SpaceId>,
}

pub fn reach_of(conn: &mut AnyConnection, id: &GuestId) -> QueryResult<Reach> {
    let rows: Vec<(GuestSpace, Option<NaiveDateTime>)> = guest_spaces::table
        .inner_join(spaces::table.on(spaces::id.eq(guest_spaces::space_id)))
        .filter(guest_spaces::guest_id.eq(id))
        .order(guest_spaces::created_at.asc())
        .select((GuestSpace::as_select(), spaces::archived_at))
        .load(conn)?;
    let mut reach = Reach::default();
    for (membership, archived_at) in rows {
        match archived_at {
            None => reach.open.push(membership.space_id.clone()),
            Some(_) => reach.archived.push(membership.space_id.clone()),
        }
        reach.memberships.push(membership);
    }
    Ok(reach)
}

/// Changes name or email; with `spaces`, the guest has exactly those spaces afterwards.
/// A new email ends what was sent to the old one: its links, API guest tokens and
/// browser sessions stop working (a link mailed to a mistyped address stays dead).
pub fn update(
    conn: &mut AnyConnection,
    guest: &Guest,
    email: Option<&str>,
    name: Option<&str>,
    space_ids: Option<&[SpaceId]>,
    actor: &str,
) -> ModelResult<Guest> {
    let (email, name) = normalize(email.unwrap_or(&guest.email), name.unwrap_or(&guest.name))?;
    write_tx(conn, |conn| {
        if email != guest.email && find_by_email(conn, &guest.environment_id, &email)?.is_some() {
            return Err(ModelError::Conflict(format!(
                "a guest with email {email} already exists in this environment"
            )));
        }
        if email != guest.email {
            revoke_links(conn, &guest.id)?;
            diesel::delete(guest_sessions::table.filter(guest_sessions::guest_id.eq(&guest.id)))
                .execute(conn)?;
        }
        diesel::update(guests::table.find(&guest.id))
            .set(GuestChanges {
                email: Some(email),
                name: Some(name),
                updated_at: Some(now()),
            })
            .execute(conn)?;
        if let Some(wanted) = space_ids {
            check_spaces(conn, &guest.environment_id, wanted)?;
            for had in spaces_of(conn, &guest.id)? {
                if !wanted.contains(&had.space_id) {
                    remove_space(conn, guest, &had.space_id, actor)?;
                }
            }
            for space in wanted {
                add_space(conn, guest, space, actor)?;
            }
            end_sessions_if_spaceless(conn, &guest.id)?;
        }
        find(conn, &guest.environment_id, &guest.id)?.ok_or(ModelError::NotFound("guest"))
    })
}

/// Takes one space away (`DELETE /v1/guests/{id}?spaceId=`); its links stop working.
pub fn remove_from_space(
    conn: &mut AnyConnection,
    guest: &Guest,
    space: &SpaceId,
    actor: &str,
) -> ModelResult<()> {
    write_tx(conn, |conn| {
        if !remove_space(conn, guest, space, actor)? {
            return Err(ModelError::NotFound("space"));
        }
        end_sessions_if_spaceless(conn, &guest.id)?;
        Ok(())
    })
}

/// Deletes a guest: its sessions end and its links stop working at once.
pub fn delete(conn: &mut AnyConnection, guest: &Guest, actor: &str) -> ModelResult<()> {
    write_tx(conn, |conn| {
        for had in spaces_of(conn, &guest.id)? {
            remove_space(conn, guest, &had.space_id, actor)?;
        }
        revoke_links(conn, &guest.id)?;
        diesel::delete(guests::table.find(&guest.id)).execute(conn)?;
        Ok(())
    })
}

/// Every link and API guest token of a guest stops working.
fn revoke_links(conn: &mut AnyConnection, id: &GuestId) -> QueryResult<()> {
    diesel::update(
        guest_links::table
            .filter(guest_links::guest_id.eq(id))
            .filter(guest_links::revoked_at.is_null()),
    )
    .set(guest_links::revoked_at.eq(now()))
    .execute(conn)?;
    Ok(())
}

/// The guests who may open a space.
pub fn guests_of_space(conn: &mut AnyConnection, space: &SpaceId) -> QueryResult<Vec<GuestId>> {
    guest_spaces::table
        .filter(guest_spaces::space_id.eq(space))
        .select(guest_spaces::guest_id)
        .load(conn)
}

/// A guest left with no space has nothing to see: its open sessions end.
pub fn end_sessions_if_spaceless(conn: &mut AnyConnection, id: &GuestId) -> QueryResult<()> {
    if spaces_of(conn, id)?.is_empty() {
        diesel::delete(guest_sessions::table.filter(guest_sessions::guest_id.eq(id))).execute(conn)?;
    }
    Ok(())
}

/// How often a guest's requests move `lastAccessed` at most (a write per request would
/// be a waste).
const ACCESS_PRECISION: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// Notes a guest's request to some of its spaces (`had`: the guest's spaces as just read):
/// moves `lastAccessed` of those `used` when it is over a minute old; writes nothing
/// otherwise.
pub fn note_access(
    conn: &mut AnyConnection,
    id: &GuestId,
    had: &[GuestSpace],
    used: &[SpaceId],
) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        let since = now() - ACCESS_PRECISION;
        let stale: Vec<&SpaceId> = had
            .iter()
            .filter(|s| used.contains(&s.space_id))
            .filter(|s| s.last_accessed_at.is_none_or(|t| t < since))
            .map(|s| &s.space_id)
            .collect();
        if stale.is_empty() {
            return Ok(());
        }
        diesel::update(
            guest_spaces::table
                .filter(guest_spaces::guest_id.eq(id))
                .filter(guest_spaces::space_id.eq_any(stale)),
        )
        .set(guest_spaces::last_accessed_at.eq(now()))
        .execute(conn)?;
        Ok(())
    })
}

/// Notes when a guest last opened a space.
/// Whether the guest is still in the space (0 rows touched: removed meanwhile).
pub fn touch_space(conn: &mut AnyConnection, id: &GuestId, space: &SpaceId) -> QueryResult<bool> {
    crate::db::write(conn, |conn| {
        let touched = diesel::update(
            guest_spaces::table
                .filter(guest_spaces::guest_id.eq(id))
                .filter(guest_spaces::space_id.eq(space)),
        )
        .set(guest_spaces::last_accessed_at.eq(now()))
        .execute(conn)?;
        Ok(touched > 0)
    })
}

//! Guest links and guest sessions. A link's token is random (256 bits of alphanumerics
//! behind a `gt_` prefix), stored only as its SHA-256, and expires. A mailed link opens a
//! browser session once; inviting again voids the earlier mailed links of that space. An
//! API guest token (`GET /v1/guests/{id}/token`) is reusable until it expires, both as a
//! link and as a Bearer token.

use super::guest::{self, Guest};
use super::{now, ModelError, ModelResult};
use crate::db::schema::{guest_links, guest_sessions, guest_spaces};
use crate::db::{write_tx, AnyConnection};
use crate::ids::{GuestId, SpaceId};
use crate::model::api_key::hash_secret;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::distributions::{Alphanumeric, DistString};

/// Every guest token starts with this, so an API caller can tell it from a key.
pub const TOKEN_PREFIX: &str = "gt_";

/// How long a browser session opened by a link lasts.
pub const SESSION_DAYS: i64 = 7;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = guest_links)]
pub struct GuestLink {
    pub token_hash: String,
    pub guest_id: GuestId,
    pub space_id: SpaceId,
    pub reusable: bool,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = guest_links)]
struct NewGuestLink<'a> {
    token_hash: String,
    guest_id: &'a GuestId,
    space_id: &'a SpaceId,
    reusable: bool,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = guest_sessions)]
pub struct GuestSession {
    pub token_hash: String,
    pub guest_id: GuestId,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    /// The API guest token that opened the session (its hash): revoking it ends the session.
    pub link_hash: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = guest_sessions)]
struct NewGuestSession<'a> {
    token_hash: String,
    guest_id: &'a GuestId,
    csrf_token: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    link_hash: Option<&'a str>,
}

/// A fresh token: `gt_` and 43 alphanumerics (over 250 bits).
pub fn new_token() -> String {
    token_with(TOKEN_PREFIX)
}

/// A fresh link to join the team: `ti_`, so that logs, outboxes and secret scanners tell it
/// from a guest's (probe 51c 3).
pub fn new_team_token() -> String {
    token_with("ti_")
}

fn token_with(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 43)
    )
}

/// Why a link does not open. None of these says anything about an email address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// Past its expiry.
    Expired,
    /// A single-use link that opened a session already.
    Used,
    /// Replaced by a newer invitation, or the guest's access was withdrawn.
    Revoked,
    /// A team invitation whose person was removed from the team.
    Withdrawn,
    /// No such link (mistyped, or never issued).
    Unknown,
    /// The link's space is archived: the link stays unused until the team brings it back.
    Archived,
}

/// Stores a token made with [`new_token`]. A mailed (single-use) link voids the earlier
/// unused mailed links of the same guest and space.
pub fn store(
    conn: &mut AnyConnection,
    token: &str,
    guest_id: &GuestId,
    space_id: &SpaceId,
    reusable: bool,
    hours: i64,
) -> QueryResult<()> {
    write_tx(conn, |conn| {
        let t = now();
        if !reusable {
            diesel::update(
                guest_links::table
                    .filter(guest_links::guest_id.eq(guest_id))
                    .filter(guest_links::space_id.eq(space_id))
                    .filter(guest_links::reusable.eq(false))
                    .filter(guest_links::used_at.is_null())
                    .filter(guest_links::revoked_at.is_null()),
            )
            .set(guest_links::revoked_at.eq(t))
            .execute(conn)?;
        }
        diesel::insert_into(guest_links::table)
            .values(NewGuestLink {
                token_hash: hash_secret(token),
                guest_id,
                space_id,
                reusable,
                created_at: t,
                expires_at: t + chrono::Duration::hours(hours),
            })
            .execute(conn)?;
        Ok(())
    })
}

fn has_space(conn: &mut AnyConnection, guest_id: &GuestId, space_id: &SpaceId) -> QueryResult<bool> {
    let n: i64 = guest_spaces::table
        .filter(guest_spaces::guest_id.eq(guest_id))
        .filter(guest_spaces::space_id.eq(space_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// What a link would do if opened now, without using it.
pub fn check(conn: &mut AnyConnection, token: &str) -> QueryResult<Result<(GuestLink, Guest), LinkProblem>> {
    let link: Option<GuestLink> = guest_links::table
        .find(hash_secret(token))
        .select(GuestLink::as_select())
        .first(conn)
        .optional()?;
    let Some(link) = link else {
        return Ok(Err(LinkProblem::Unknown));
    };
    if link.revoked_at.is_some() || !has_space(conn, &link.guest_id, &link.space_id)? {
        return Ok(Err(LinkProblem::Revoked));
    }
    if link.used_at.is_some() {
        return Ok(Err(LinkProblem::Used));
    }
    if link.expires_at <= now() {
        return Ok(Err(LinkProblem::Expired));
    }
    match guest::find_any(conn, &link.guest_id)? {
        Some(g) => Ok(Ok((link, g))),
        None => Ok(Err(LinkProblem::Revoked)),
    }
}

/// Opens a link: marks a single-use link used (exactly once, even when two requests race)
/// and starts a browser session. Returns the session's cookie token and the link's space.
pub fn open(conn: &mut AnyConnection, token: &str) -> ModelResult<Result<(String, SpaceId), LinkProblem>> {
    write_tx(conn, |conn| {
        let (link, guest) = match check(conn, token)? {
            Ok(found) => found,
            Err(problem) => return Ok(Err(problem)),
        };
        // Not used up on a space the guest cannot open (probe 48d F2).
        if crate::model::space::is_archived(conn, &link.space_id)? {
            return Ok(Err(LinkProblem::Archived));
        }
        // The membership first, as a removal takes it (then the links): the other order
        // deadlocked against a removal on PostgreSQL (probe 63b D10). Waiting for a removal
        // under way, it finds the guest gone.
        if !guest::touch_space(conn, &guest.id, &link.space_id)? {
            return Ok(Err(LinkProblem::Revoked));
        }
        if !link.reusable {
            let took = diesel::update(
                guest_links::table
                    .find(&link.token_hash)
                    .filter(guest_links::used_at.is_null()),
            )
            .set(guest_links::used_at.eq(now()))
            .execute(conn)?;
            if took != 1 {
                return Ok(Err(LinkProblem::Used));
            }
        }
        // An API guest token opens the space as often as asked, each session ending with
        // the token: it must not outlive the access the team gave.
        let mut ends = now() + chrono::Duration::days(SESSION_DAYS);
        if link.reusable {
            ends = ends.min(link.expires_at);
        }
        let token = link.reusable.then_some(link.token_hash.as_str());
        let session = create_session(conn, &guest.id, ends, token)?;
        Ok::<_, ModelError>(Ok((session, link.space_id)))
    })
}

/// The guest behind an API guest token (reusable, not expired, not revoked, still
/// invited), with the space the token was issued for.
pub fn authenticate(conn: &mut AnyConnection, token: &str) -> QueryResult<Option<(Guest, SpaceId)>> {
    match check(conn, token)? {
        Ok((link, guest)) if link.reusable => Ok(Some((guest, link.space_id))),
        _ => Ok(None),
    }
}

fn random_secret() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 40)
}

fn create_session(
    conn: &mut AnyConnection,
    guest_id: &GuestId,
    expires_at: chrono::NaiveDateTime,
    link_hash: Option<&str>,
) -> QueryResult<String> {
    let token = random_secret();
    let t = now();
    diesel::insert_into(guest_sessions::table)
        .values(NewGuestSession {
            token_hash: hash_secret(&token),
            guest_id,
            csrf_token: random_secret(),
            created_at: t,
            expires_at,
            link_hash,
        })
        .execute(conn)?;
    Ok(token)
}

/// Whether the link `token` (used, or replaced by a newer one) is of the guest whose
/// browser session is `session_token`: opening it again in that browser just goes on to
/// the guest's spaces.
pub fn used_by_session(conn: &mut AnyConnection, token: &str, session_token: &str) -> QueryResult<bool> {
    let guest: Option<crate::ids::GuestId> = guest_links::table
        .find(hash_secret(token))
        .select(guest_links::guest_id)
        .first(conn)
        .optional()?;
    let Some(guest) = guest else {
        return Ok(false);
    };
    Ok(find_session(conn, session_token)?.is_some_and(|(session, _)| session.guest_id == guest))
}

/// The live session for a cookie token, with its guest.
pub fn find_session(conn: &mut AnyConnection, token: &str) -> QueryResult<Option<(GuestSession, Guest)>> {
    let session: Option<GuestSession> = guest_sessions::table
        .find(hash_secret(token))
        .filter(guest_sessions::expires_at.gt(now()))
        .filter(opened_by_a_live_token())
        .select(GuestSession::as_select())
        .first(conn)
        .optional()?;
    let Some(session) = session else {
        return Ok(None);
    };
    Ok(guest::find_any(conn, &session.guest_id)?.map(|g| (session, g)))
}

/// The guest of the live browser session whose token hashes to `hash`.
pub fn session_guest(conn: &mut AnyConnection, hash: &str) -> QueryResult<Option<GuestId>> {
    guest_sessions::table
        .find(hash)
        .filter(guest_sessions::expires_at.gt(now()))
        .filter(opened_by_a_live_token())
        .select(guest_sessions::guest_id)
        .first(conn)
        .optional()
}

/// Live API guest tokens' hashes, as a subquery.
type LiveTokens = diesel::dsl::Select<
    diesel::dsl::Filter<guest_links::table, diesel::dsl::IsNull<guest_links::revoked_at>>,
    diesel::dsl::Nullable<guest_links::token_hash>,
>;
/// See [`opened_by_a_live_token`].
type OpenedByALiveToken = diesel::dsl::Or<
    diesel::dsl::IsNull<guest_sessions::link_hash>,
    diesel::dsl::EqAny<guest_sessions::link_hash, LiveTokens>,
>;

/// Sessions opened with a mailed link, or with an API guest token not revoked: a session
/// opened while its token was being revoked ends with it too (probe 52a 7).
pub(crate) fn opened_by_a_live_token() -> OpenedByALiveToken {
    guest_sessions::link_hash
        .is_null()
        .or(guest_sessions::link_hash.eq_any(
            guest_links::table
                .filter(guest_links::revoked_at.is_null())
                .select(guest_links::token_hash.nullable()),
        ))
}

pub fn delete_session(conn: &mut AnyConnection, token_hash: &str) -> QueryResult<()> {
    diesel::delete(guest_sessions::table.find(token_hash)).execute(conn)?;
    Ok(())
}

/// Makes a link look older (tests of expiry).
pub fn expire_for_tests(conn: &mut AnyConnection, token: &str) -> QueryResult<usize> {
    diesel::update(guest_links::table.find(hash_secret(token)))
        .set(guest_links::expires_at.eq(now() - chrono::Duration::minutes(1)))
        .execute(conn)
}

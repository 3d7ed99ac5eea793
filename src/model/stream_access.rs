//! Whether open live streams may still run: their sessions still live (not signed out,
//! expired, or of a removed person or guest), their guests still invited to their spaces,
//! and their spaces still there (and, for guests, not archived). Asked in bulk for every stream of a process at once.

use super::now;
use crate::db::schema::{guest_sessions, guest_spaces, guests, sessions, spaces, users};
use crate::db::AnyConnection;
use crate::ids::{GuestId, SpaceId};
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

/// Lists longer than this are asked in parts (bind-parameter limits).
const CHUNK: usize = 1000;

/// What still holds, of what was asked.
#[derive(Debug, Default)]
pub struct Still {
    /// Team sessions (token hashes) that live, of a person who still exists.
    pub member_sessions: HashSet<String>,
    /// Guest sessions (token hashes) that live, with their guest, who still exists.
    pub guest_sessions: HashMap<String, GuestId>,
    /// Which of those guests may open which space.
    pub guest_spaces: HashSet<(GuestId, SpaceId)>,
    /// Spaces that still exist.
    pub spaces: HashSet<SpaceId>,
}

/// Looks up, in a few queries, what still holds of the given sessions and spaces.
pub fn still(
    conn: &mut AnyConnection,
    member_sessions: &[String],
    guest_session_hashes: &[String],
    space_ids: &[SpaceId],
) -> QueryResult<Still> {
    let mut out = Still::default();
    let t = now();
    for part in member_sessions.chunks(CHUNK) {
        let live: Vec<String> = sessions::table
            .inner_join(users::table)
            .filter(sessions::token_hash.eq_any(part))
            .filter(sessions::expires_at.gt(t))
            .select(sessions::token_hash)
            .load(conn)?;
        out.member_sessions.extend(live);
    }
    for part in guest_session_hashes.chunks(CHUNK) {
        let live: Vec<(String, GuestId)> = guest_sessions::table
            .inner_join(guests::table)
            .filter(guest_sessions::token_hash.eq_any(part))
            .filter(guest_sessions::expires_at.gt(t))
            .filter(crate::model::guest_link::opened_by_a_live_token())
            .select((guest_sessions::token_hash, guest_sessions::guest_id))
            .load(conn)?;
        out.guest_sessions.extend(live);
    }
    let guest_ids: Vec<GuestId> = out
        .guest_sessions
        .values()
        .cloned()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    for part in guest_ids.chunks(CHUNK) {
        // An archived space is closed to its guests.
        let reach: Vec<(GuestId, SpaceId)> = guest_spaces::table
            .inner_join(spaces::table.on(spaces::id.eq(guest_spaces::space_id)))
            .filter(guest_spaces::guest_id.eq_any(part))
            .filter(spaces::archived_at.is_null())
            .select((guest_spaces::guest_id, guest_spaces::space_id))
            .load(conn)?;
        out.guest_spaces.extend(reach);
    }
    for part in space_ids.chunks(CHUNK) {
        let there: Vec<SpaceId> = spaces::table
            .filter(spaces::id.eq_any(part))
            .select(spaces::id)
            .load(conn)?;
        out.spaces.extend(there);
    }
    Ok(out)
}

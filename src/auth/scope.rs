//! `SpaceScope`: what every caller of a space's objects has in common, so one handler body
//! serves a team member, an API key and a guest alike: the environment it works in, the
//! name it leaves in events, and the spaces it may reach (a guest: only its own).

use crate::ids::{EnvironmentId, SpaceId};
use crate::web::error::AppError;

pub trait SpaceScope {
    fn environment(&self) -> &EnvironmentId;

    fn actor(&self) -> String;

    /// `Some` for a guest: the only spaces it may reach. `None`: the whole environment.
    fn only_spaces(&self) -> Option<&[SpaceId]>;

    /// A guest's spaces that were archived: closed to it, with a message saying why.
    fn archived_spaces(&self) -> &[SpaceId];

    /// The key, token or session it asks with, to ask about again after a long body.
    fn credential(&self) -> super::recheck::Credential;

    fn reaches(&self, space: &SpaceId) -> bool {
        self.only_spaces().is_none_or(|spaces| spaces.contains(space))
    }

    /// An object of no space (a job of an app, say) is the team's alone.
    fn reaches_object_of(&self, space: Option<&SpaceId>) -> bool {
        match space {
            Some(space) => self.reaches(space),
            None => self.only_spaces().is_none(),
        }
    }

    /// Another space's objects do not exist for a guest: 404, as for a wrong id. Its own
    /// space archived: 403 saying so.
    fn check_reach(&self, space: &SpaceId) -> Result<(), AppError> {
        if self.reaches(space) {
            Ok(())
        } else if self.archived_spaces().contains(space) {
            Err(AppError::Forbidden(super::guest_access::ARCHIVED_SPACE.into()))
        } else {
            Err(AppError::NotFound("space"))
        }
    }

    /// [`Self::check_reach`] for an object of `space` that a wrong id would call `what`.
    fn check_reach_as(&self, space: &SpaceId, what: &'static str) -> Result<(), AppError> {
        self.check_reach(space).map_err(|e| match e {
            AppError::NotFound(_) => AppError::NotFound(what),
            other => other,
        })
    }
}

impl SpaceScope for super::SpaceCaller {
    fn environment(&self) -> &EnvironmentId {
        &self.environment_id
    }

    fn actor(&self) -> String {
        super::SpaceCaller::actor(self)
    }

    fn only_spaces(&self) -> Option<&[SpaceId]> {
        self.guest_spaces()
    }

    fn archived_spaces(&self) -> &[SpaceId] {
        self.guest_archived()
    }

    fn credential(&self) -> super::recheck::Credential {
        super::SpaceCaller::credential(self)
    }
}

impl SpaceScope for super::Viewer {
    fn environment(&self) -> &EnvironmentId {
        self.environment_id()
    }

    fn actor(&self) -> String {
        super::Viewer::actor(self)
    }

    fn only_spaces(&self) -> Option<&[SpaceId]> {
        match self {
            super::Viewer::User(_) => None,
            super::Viewer::Guest(g) => Some(&g.spaces),
        }
    }

    fn archived_spaces(&self) -> &[SpaceId] {
        match self {
            super::Viewer::User(_) => &[],
            super::Viewer::Guest(g) => &g.archived,
        }
    }

    fn credential(&self) -> super::recheck::Credential {
        use super::recheck::Credential;
        match self {
            super::Viewer::User(u) => Credential::UserSession(u.session.token_hash.clone()),
            super::Viewer::Guest(g) => Credential::GuestSession(g.session.token_hash.clone()),
        }
    }
}

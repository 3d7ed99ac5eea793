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

    /// Another space's objects do not exist for a guest: 404, as for a wrong id.
    fn check_reach(&self, space: &SpaceId) -> Result<(), AppError> {
        if self.reaches(space) {
            Ok(())
        } else {
            Err(AppError::NotFound("space"))
        }
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
}

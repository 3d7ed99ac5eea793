//! Who is asking: API keys for the JSON API, sessions for people, guest links and guest
//! sessions, passwords, and the sign-in throttle.

mod api_caller;
pub mod bearer;
mod current_user;
mod guest_access;
pub mod password;
pub mod recheck;
mod scope;
mod space_caller;
pub mod throttle;
mod viewer;

pub use api_caller::ApiCaller;
pub(crate) use current_user::constant_time_eq;
pub use current_user::{CurrentUser, SESSION_COOKIE};
pub use guest_access::ARCHIVED_SPACE;
pub use guest_access::{GuestAccess, GUEST_COOKIE};
pub use scope::SpaceScope;
pub use space_caller::SpaceCaller;
pub use viewer::Viewer;

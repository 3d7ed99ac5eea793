//! Who is asking: API keys for the JSON API, sessions for people, passwords, and the
//! sign-in throttle.

mod api_caller;
mod current_user;
pub mod password;
pub mod throttle;

pub use api_caller::ApiCaller;
pub(crate) use current_user::constant_time_eq;
pub use current_user::{CurrentUser, SESSION_COOKIE};

//! Who is asking: API keys for the JSON API, passwords for people.

mod api_caller;
pub mod password;

pub use api_caller::ApiCaller;

//! HTTP: the route table, the JSON API, and errors.

pub mod access_log;
pub mod api;
pub mod body_budget;
pub mod caller_places;
pub mod client_address;
pub mod error;
pub mod export;
pub mod fresh_fields;
pub mod input;
pub mod json_numbers;
pub mod live;
pub mod live_access;
pub mod live_notes;
pub mod pages;
pub mod presence;
pub mod routes;
pub mod upload_pace;
pub mod when;

/// Marks a request asked with HEAD and answered as GET (`app.rs`): a GET that makes
/// something (a guest token) makes nothing for it.
#[derive(Clone, Copy)]
pub struct AskedWithHead;

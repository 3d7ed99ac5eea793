//! HTTP: the route table, the JSON API, and errors.

pub mod access_log;
pub mod api;
pub mod error;
pub mod export;
pub mod input;
pub mod live;
pub mod live_access;
pub mod live_notes;
pub mod pages;
pub mod presence;
pub mod routes;
pub mod when;

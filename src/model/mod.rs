//! The domain, one file per aggregate: structs and the queries that read and write them.

pub mod activity;
pub mod api_key;
pub mod commit;
pub mod document;
pub mod environment;
pub mod event;
pub mod event_topics;
pub mod file;
pub mod file_holders;
pub mod guest;
pub mod guest_link;
pub mod job;
mod job_list;
mod job_listener;
pub mod job_once;
pub mod job_queue;
pub mod job_subject;
pub mod mail_retry;
pub mod mapping_memory;
pub mod record;
pub mod secret;
pub mod session;
pub mod setup_token;
pub mod sheet;
mod sheet_delete;
pub mod sheet_fields;
pub mod sign_in_attempt;
pub mod space;
pub mod space_config;
pub mod space_extras;
pub mod stream_access;
pub mod submission;
pub mod team;
pub mod user;
pub mod webhook;
pub mod webhook_delivery;
pub mod workbook;
pub mod workbook_sheets;

use chrono::NaiveDateTime;

/// What a model function can fail with, beyond plain database errors.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Not found, with the whole message naming what was asked for (`record us_rc_9 not found`).
    #[error("{0}")]
    NotFoundNamed(String),
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this (a guest asking for what only the team does).
    #[error("{0}")]
    Forbidden(String),
    /// The caller's key, token or session ended (revoked, expired, signed out).
    #[error("{0}")]
    Unauthorized(String),
    /// The write was prepared against fields of a sheet that changed before it took its
    /// locks: made again on the fields as they are now, it may succeed.
    #[error("{0}")]
    Stale(String),
    /// Input problems as `(key, message)`.
    #[error("invalid input")]
    Invalid(Vec<(String, String)>),
}

pub type ModelResult<T> = Result<T, ModelError>;

/// A blueprint's problems are input problems, each keyed by its JSON path.
impl From<Vec<crate::blueprint::Problem>> for ModelError {
    fn from(problems: Vec<crate::blueprint::Problem>) -> Self {
        ModelError::Invalid(problems.into_iter().map(|p| (p.path, p.message)).collect())
    }
}

/// Timestamps are stored in UTC without zone, at millisecond precision on both backends.
pub fn now() -> NaiveDateTime {
    let t = chrono::Utc::now().naive_utc();
    t - chrono::Duration::nanoseconds(i64::from(t.and_utc().timestamp_subsec_nanos() % 1_000_000))
}

/// Flatfile's timestamp shape: ISO 8601 in UTC.
pub fn iso(t: &NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

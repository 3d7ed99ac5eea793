//! One error type for every handler. The API renders it as Flatfile's
//! `{"errors": [{"key", "message"}]}`; unexpected failures are logged with their cause
//! chain and shown only as a generic message.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A 404 whose message names what was asked for.
    #[error("{0}")]
    NotFoundNamed(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    BadRequest { key: String, message: String },
    /// Input that parsed but breaks the rules; one entry per problem.
    #[error("the request has {} problem(s)", .0.len())]
    Invalid(Vec<ErrorItem>),
    /// Input of the wrong shape (an action of a blueprint), one entry per JSON path: 400.
    #[error("the request has {} problem(s)", .0.len())]
    Malformed(Vec<ErrorItem>),
    #[error("{0}")]
    Conflict(String),
    /// A conflict with a field change (see `ModelError::Stale`): the API tries the write
    /// again on the fields as they are now before answering it.
    #[error("{0}; reload and try again")]
    Stale(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A request body that stopped arriving (408).
    #[error("{0}")]
    TimedOut(String),
    /// A known address asked with a method it does not take (405); the methods it takes,
    /// as the `Allow` header lists them.
    #[error("this address takes {0}, not this method")]
    MethodNotAllowed(String),
    /// A Flatfile call Wharf does not offer (501).
    #[error("{0}")]
    NotSupported(String),
    #[error("the database is busy; try again shortly")]
    Unavailable,
    /// As many uploads or downloads go through the file storage as it takes at once: 503
    /// with `Retry-After`.
    #[error("{0}")]
    Crowded(String),
    /// Over a rate limit (429 with `Retry-After`).
    #[error("{message}")]
    TooMany { message: String, retry_after: u64 },
    /// Mail could not be handed over (after retries); nothing was lost silently.
    #[error("{0}")]
    Mail(String),
    /// The file storage (a bucket) failed: 502, the cause logged.
    #[error("the file storage did not answer; try again shortly")]
    Storage,
    /// The file storage refused Wharf's requests (credentials): 502, saying what to check.
    #[error("{}", crate::storage::REFUSED)]
    StorageRefused,
    /// The file storage failed part-way through a delete, saying what was deleted: 502 for
    /// a store's failure, 500 for this machine's disk (`ours`).
    #[error("{message}")]
    StoragePartial { message: String, ours: bool },
    /// A file's bytes are in another process's data folder, which this one cannot read
    /// (processes without a shared bucket or folder): 503, saying so.
    #[error("{0}")]
    HeldElsewhere(String),
    /// A page's thing is in another of the person's environments: 404, offering to switch
    /// there (see `pages::elsewhere`).
    #[error("this {} is in the {} environment; your pages show {}", .0.what, .0.environment_name, .0.current_name)]
    InOtherEnvironment(Box<crate::web::pages::elsewhere::Elsewhere>),
    /// A page needs a signed-in person; pages redirect to the sign-in form.
    #[error("sign in to continue")]
    SignInRequired,
    /// A guest's session cookie whose session is gone (signed out, expired, the guest
    /// removed): pages say how to get a new link.
    #[error("your guest session has ended; ask the person who invited you for a new link")]
    GuestSessionEnded,
    /// The disk (or the database) is full: 507, saying so.
    #[error("{}", crate::disk_full::REQUEST)]
    DiskFull,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorItem {
    pub key: String,
    pub message: String,
}

impl AppError {
    pub fn bad_request(key: &str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// A storage error: the object store's own failure is a 502, anything else a 500.
    pub fn storage(e: std::io::Error) -> Self {
        if let Some(message) = crate::storage::crowded(&e) {
            return AppError::Crowded(message);
        }
        if crate::storage::is_store_refusal(&e) {
            tracing::error!(error = %e, "the file storage refused Wharf's request");
            AppError::StorageRefused
        } else if crate::storage::is_store_failure(&e) {
            tracing::warn!(error = %e, "the file storage failed");
            AppError::Storage
        } else if crate::disk_full::is_io(&e) {
            tracing::warn!(error = %e, "the disk is full");
            AppError::DiskFull
        } else {
            AppError::Internal(e.into())
        }
    }

    pub fn invalid(key: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![ErrorItem {
            key: key.to_string(),
            message: message.into(),
        }])
    }

    /// The problems to show a person, as `(key, message)` pairs.
    pub fn items(&self) -> Vec<ErrorItem> {
        match self {
            AppError::Invalid(items) | AppError::Malformed(items) => items.clone(),
            AppError::BadRequest { key, message } => vec![ErrorItem {
                key: key.clone(),
                message: message.clone(),
            }],
            AppError::Internal(cause) if crate::disk_full::in_chain(cause) => AppError::DiskFull.items(),
            AppError::Internal(_) => vec![ErrorItem {
                key: "internal".into(),
                message: "something went wrong on our side; it has been logged".into(),
            }],
            other => vec![ErrorItem {
                key: other.key().into(),
                message: other.to_string(),
            }],
        }
    }

    fn key(&self) -> &'static str {
        match self {
            AppError::NotFound(_) | AppError::NotFoundNamed(_) | AppError::InOtherEnvironment(_) => {
                "not_found"
            }
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::Conflict(_) | AppError::Stale(_) => "conflict",
            AppError::PayloadTooLarge(_) => "too_large",
            AppError::TimedOut(_) => "timed_out",
            AppError::NotSupported(_) => "not_supported",
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::Unavailable | AppError::Crowded(_) => "unavailable",
            AppError::TooMany { .. } => "too_many",
            AppError::Mail(_) => "mail",
            AppError::Storage
            | AppError::StorageRefused
            | AppError::StoragePartial { .. }
            | AppError::HeldElsewhere(_) => "storage",
            AppError::DiskFull => "storage_full",
            AppError::SignInRequired | AppError::GuestSessionEnded => "unauthorized",
            AppError::BadRequest { .. } | AppError::Invalid(_) | AppError::Malformed(_) => "invalid",
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound("object"),
            Error::QueryBuilderError(ref why) if why.is::<crate::model::record::PageTooBig>() => {
                AppError::invalid("pageSize", why.to_string())
            }
            ref full if crate::disk_full::is_db(full) => {
                tracing::warn!(error = %full, "the database is out of disk space");
                AppError::DiskFull
            }
            ref busy if crate::db::is_busy(busy) => {
                tracing::warn!(error = %busy, "database busy past the wait");
                AppError::Unavailable
            }
            ref lost if crate::db::is_disconnected(lost) => {
                tracing::warn!(error = %lost, "the database connection was lost");
                AppError::Unavailable
            }
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                AppError::Conflict(unique_conflict(info.message()).into())
            }
            other => AppError::Internal(other.into()),
        }
    }
}

/// What a unique constraint guards, in the product's words (never table names).
fn unique_conflict(db_message: &str) -> &'static str {
    if db_message.contains("environments") {
        "an environment with that name already exists"
    } else if db_message.contains("space_configs") {
        "a space config with that slug already exists in this environment"
    } else if db_message.contains("users") {
        "a user with that email already exists"
    } else if db_message.contains("cell_keys") {
        "the same record was written twice at once; send each record once"
    } else {
        "that conflicts with something that already exists; refresh and try again"
    }
}

impl From<crate::mail::MailError> for AppError {
    fn from(e: crate::mail::MailError) -> Self {
        use crate::mail::MailError;
        match e {
            MailError::Address(_) => AppError::invalid("email", e.to_string()),
            // Callers that queue the mail for another try say so (`ops::invitations`). An
            // outbox that cannot be written is a failed hand-over like a server that is down.
            MailError::Smtp { .. }
            | MailError::Refused { .. }
            | MailError::Rejected { .. }
            | MailError::Outbox { .. }
            | MailError::Build(_) => AppError::Mail(e.to_string()),
        }
    }
}

impl From<crate::model::ModelError> for AppError {
    fn from(e: crate::model::ModelError) -> Self {
        use crate::model::ModelError;
        match e {
            ModelError::Db(db) => db.into(),
            ModelError::NotFound(what) => AppError::NotFound(what),
            ModelError::NotFoundNamed(message) => AppError::NotFoundNamed(message),
            ModelError::Conflict(msg) => AppError::Conflict(msg),
            ModelError::Forbidden(msg) => AppError::Forbidden(msg),
            ModelError::Unauthorized(msg) => AppError::Unauthorized(msg),
            ModelError::Stale(msg) => AppError::Stale(msg),
            ModelError::Invalid(items) => AppError::Invalid(
                items
                    .into_iter()
                    .map(|(key, message)| ErrorItem { key, message })
                    .collect(),
            ),
        }
    }
}

impl From<crate::ops::Error> for AppError {
    fn from(e: crate::ops::Error) -> Self {
        use crate::ops::Error;
        match e {
            Error::Mail(shown) => AppError::Mail(shown),
            Error::Model(m) => m.into(),
            Error::Unavailable => AppError::Unavailable,
            Error::TooMany { message, retry_after } => AppError::TooMany { message, retry_after },
            Error::Internal(e) => AppError::Internal(e),
        }
    }
}

impl AppError {
    /// Problems with an input's shape, each named by its JSON path (400).
    pub fn malformed(problems: Vec<crate::blueprint::Problem>) -> Self {
        AppError::Malformed(
            problems
                .into_iter()
                .map(|p| ErrorItem {
                    key: p.path,
                    message: p.message,
                })
                .collect(),
        )
    }
}

/// How long a client should wait before retrying a request the database was too busy for.
pub const RETRY_AFTER_SECONDS: &str = "1";

#[derive(Serialize)]
struct ErrorBody {
    errors: Vec<ErrorItem>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) | AppError::NotFoundNamed(_) | AppError::InOtherEnvironment(_) => {
                StatusCode::NOT_FOUND
            }
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::BadRequest { .. } | AppError::Malformed(_) => StatusCode::BAD_REQUEST,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) | AppError::Stale(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::NotSupported(_) => StatusCode::NOT_IMPLEMENTED,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable | AppError::Crowded(_) | AppError::HeldElsewhere(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::StoragePartial { ours: true, .. } => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Mail(_)
            | AppError::Storage
            | AppError::StorageRefused
            | AppError::StoragePartial { .. } => StatusCode::BAD_GATEWAY,
            AppError::SignInRequired | AppError::GuestSessionEnded => StatusCode::UNAUTHORIZED,
            AppError::DiskFull => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Internal(cause) if crate::disk_full::in_chain(cause) => {
                StatusCode::INSUFFICIENT_STORAGE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        if let AppError::Unavailable | AppError::Crowded(_) = self {
            response.insert_header((actix_web::http::header::RETRY_AFTER, RETRY_AFTER_SECONDS));
        }
        if let AppError::TooMany { retry_after, .. } = self {
            response.insert_header((actix_web::http::header::RETRY_AFTER, retry_after.to_string()));
        }
        if let AppError::MethodNotAllowed(allow) = self {
            response.insert_header((actix_web::http::header::ALLOW, allow.as_str()));
        }
        response.json(ErrorBody { errors: self.items() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    #[test]
    fn unique_violations_never_name_tables() {
        for db_message in [
            "UNIQUE constraint failed: cell_keys.sheet_id, cell_keys.field_index",
            "duplicate key value violates unique constraint \"environments_name_key\"",
            "UNIQUE constraint failed: something_new.column",
        ] {
            let e: AppError = Error::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                Box::new(db_message.to_string()),
            )
            .into();
            let shown = e.to_string();
            assert!(matches!(e, AppError::Conflict(_)));
            assert!(
                !shown.contains("constraint") && !shown.contains('.') && !shown.contains('_'),
                "{shown}"
            );
        }
    }

    #[test]
    fn a_busy_database_is_503_with_retry_after() {
        let e: AppError = Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("database is locked".to_string()),
        )
        .into();
        let response = e.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response
            .headers()
            .contains_key(actix_web::http::header::RETRY_AFTER));
    }

    /// A connection PostgreSQL dropped (a restart) committed nothing: 503, worth a retry,
    /// not 500 (probe 68d D2).
    #[test]
    fn a_lost_database_connection_is_503_with_retry_after() {
        for lost in [
            Error::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new("terminating connection due to administrator command".to_string()),
            ),
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection,
                Box::new("server closed the connection unexpectedly".to_string()),
            ),
        ] {
            let response = AppError::from(lost).error_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(response
                .headers()
                .contains_key(actix_web::http::header::RETRY_AFTER));
        }
    }
}

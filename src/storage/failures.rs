//! What a failing object store reads as: its own failure (unreachable, erroring) or its
//! refusal (credentials), told apart from this machine's, and a crowd at the bucket.

use super::redact::without_userinfo;
use std::io;

/// The object store failed (unreachable, refused, errored): not the caller's fault, and
/// worth trying again later. Carried inside the `io::Error`s of a bucket-backed storage.
#[derive(Debug)]
pub struct StoreFailure(pub String);

impl std::fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the object store failed: {}", self.0)
    }
}

impl std::error::Error for StoreFailure {}

/// The object store refused Wharf's requests (401 or 403: credentials changed or revoked,
/// a policy or the bucket gone): no retry helps until an administrator fixes the settings
/// (probe 71e D4: it read as "did not answer; try again shortly").
#[derive(Debug)]
pub struct StoreRefused(pub String);

impl std::fmt::Display for StoreRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the object store refused the request: {}", self.0)
    }
}

impl std::error::Error for StoreRefused {}

/// What a person is told when the store refuses Wharf's requests.
pub const REFUSED: &str = "the file storage refused Wharf's requests (its credentials or the bucket's \
     permissions): an administrator should check WHARF_STORAGE_URL and the AWS_* credentials; \
     the server's log says what the storage answered";

/// Whether the object store refused the request, as opposed to failing to answer it.
pub fn is_store_refusal(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<StoreRefused>())
}

/// Too many uploads or downloads go through the bucket at once (see
/// [`crate::settings::Crowds`]): worth trying again in a few seconds.
#[derive(Debug)]
pub struct Crowded(pub String);

impl std::fmt::Display for Crowded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Crowded {}

/// The crowd an error says is in the way, if it is one.
pub fn crowded(e: &io::Error) -> Option<String> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<Crowded>())
        .map(|c| c.0.clone())
}

/// Whether an error came from the object store rather than from this machine.
pub fn is_store_failure(e: &io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.is::<StoreFailure>() || inner.is::<StoreRefused>())
}

/// Too many at once: an error the web answers 503 with `Retry-After`.
pub(super) fn crowd(message: String) -> io::Error {
    io::Error::other(Crowded(message))
}

/// An object store's error as an `io::Error` that says whose failure it is.
pub(super) fn failed(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, e),
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            io::Error::other(StoreRefused(without_userinfo(&e.to_string())))
        }
        other => io::Error::other(StoreFailure(without_userinfo(&other.to_string()))),
    }
}

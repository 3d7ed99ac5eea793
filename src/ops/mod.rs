//! What pages, the API and the background workers all do, written once. A step takes a
//! narrow [`Context`] (never the web's state) and returns this room's [`Error`], which the
//! web converts into its own.

pub mod invitations;
pub mod submit;

use crate::db::{AnyConnection, Pool};
use crate::mail::Mailer;
use crate::model::ModelError;
use crate::settings::Settings;

/// What the steps need: the web lends its state's parts, a worker its own.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub pool: &'a Pool,
    pub mail: &'a Mailer,
    pub settings: &'a Settings,
}

/// Why a step did not complete.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Mail was not handed over; the text says so to the person who asked, and what
    /// happens next (whether Wharf tries again).
    #[error("{0}")]
    Mail(String),
    #[error(transparent)]
    Model(ModelError),
    /// Over a sending limit: nothing was done; `retry_after` seconds until there is room.
    #[error("{message}")]
    TooMany { message: String, retry_after: u64 },
    /// No connection, or the database stayed busy past its wait.
    #[error("the database is busy; try again shortly")]
    Unavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<ModelError> for Error {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::Db(db) => db.into(),
            other => Error::Model(other),
        }
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        if crate::db::is_busy(&e) {
            tracing::warn!(error = %e, "database busy past the wait");
            return Error::Unavailable;
        }
        Error::Model(ModelError::Db(e))
    }
}

impl Context<'_> {
    /// Runs blocking database work on the blocking thread pool with a pooled connection.
    pub async fn db<T, E, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        E: Into<Error>,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || -> Result<T, Error> {
            let mut conn = pool.get().map_err(|e| {
                tracing::warn!(error = %e, "no database connection available");
                Error::Unavailable
            })?;
            crate::db::serving_request(|| f(&mut conn).map_err(Into::into))
        })
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
    }
}

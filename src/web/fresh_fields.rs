//! A write of a sheet's records is prepared against the sheet's fields as read before its
//! transaction; a field change that commits in between makes the write refuse itself as
//! stale ([`AppError::Stale`]). The API and the grid alike then read the sheet again and
//! make the write again from the request, so a field added or removed beside a write delays
//! it instead of failing it.

use super::error::AppError;
use crate::model::sheet::SheetContext;
use std::time::{Duration, Instant};

/// How long a write is made again while field changes keep overtaking it. A retry happens
/// only when a field change committed meanwhile, so this bounds a write's wait behind a
/// stream of field changes, not the number of changes it may meet: under load one write
/// can be overtaken by every change of a burst.
const FRESH_FOR: Duration = Duration::from_secs(30);

/// Runs `write` on `first`, and again on what `reload` reads while the write is stale.
pub async fn retry<T>(
    first: SheetContext,
    mut reload: impl AsyncFnMut() -> Result<SheetContext, AppError>,
    mut write: impl AsyncFnMut(SheetContext) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let (mut ctx, started) = (first, Instant::now());
    loop {
        match write(ctx).await {
            Err(AppError::Stale(_)) if started.elapsed() < FRESH_FOR => ctx = reload().await?,
            done => return done,
        }
    }
}

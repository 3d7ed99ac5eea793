//! Deleting a file: its bytes, then its row and the `[file]` workbook its extraction made
//! (the API's delete and the Files tab's).

use super::file_bytes::{delete_bytes, delete_file_bytes, rows_after_bytes, to_the_end};
use crate::app::AppState;
use crate::model::file::{self, File};
use crate::web::error::AppError;

/// [`file::refuse_guest_delete`], for a handler.
pub async fn refuse_guest_delete(
    state: &AppState,
    guest: bool,
    f: &File,
    actor: String,
) -> Result<(), AppError> {
    let f = f.clone();
    state
        .db(move |conn| file::refuse_guest_delete(conn, &f, guest, &actor))
        .await
}

/// Deletes a file: its bytes first, then its row and the workbook its extraction made, to
/// the end even when the client leaves: a store that is down answers 502 and the file
/// stays (it answered 200 and left the bytes in the bucket for good). The rejected rows go
/// before the file's own bytes, so a store that fails between the two leaves a file that
/// still downloads. The API's delete and the Files tab's.
pub async fn delete_file(state: std::sync::Arc<AppState>, f: File, actor: String) -> Result<(), AppError> {
    // Before any byte goes: a refusal leaves the file whole.
    let (checked, by) = (f.clone(), actor.clone());
    state
        .db(move |conn| file::refuse_locked(conn, &checked, &by))
        .await?;
    to_the_end(async move {
        let rejects = f.rejects_key();
        delete_file_bytes(&state, &f, &actor).await?;
        let (row, by, here) = (f.clone(), actor.clone(), state.storage.holder());
        let deleted =
            rows_after_bytes(&state, move |conn| file::delete(conn, &row, &by, here.as_deref())).await;
        if let Err(AppError::Conflict(why)) = deleted {
            // A sheet of the file locked between the check above and the row's delete: the
            // bytes are gone, the file and its locked sheet stay, and both the answer and
            // the file say so (it answered "try again" as if nothing had changed: probe
            // 54a M4).
            let said = format!(
                "its bytes were deleted, but {}; it stays listed without them until it is deleted again",
                why.trim_end_matches("; try again once it is unlocked")
            );
            let (id, note, by) = (f.id.clone(), said.clone(), actor.clone());
            // `purged`: Flatfile's status of a file whose bytes are gone.
            let changes = file::FileChanges {
                status: Some(file::status::PURGED.to_string()),
                message: Some(Some(format!("Deleted in part: {note}"))),
                ..Default::default()
            };
            state
                .db(move |conn| file::update(conn, &id, changes, &by))
                .await?;
            return Err(AppError::Conflict(format!("{}: {said}", f.name)));
        }
        deleted?;
        // An extraction finishing meanwhile may have put its rejected rows back.
        if let Err(e) = delete_bytes(&state.storage, &[rejects]).await {
            tracing::warn!(error = %e, "deleting stored bytes failed");
        }
        Ok(())
    })
    .await
}

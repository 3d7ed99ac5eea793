//! The dashboard's deletes, each the API's: a file (a wrong upload, personal data sent by
//! mistake) with the workbook its extraction made, a workbook with its records, a space
//! with everything in it. Each asks first (`data-confirm`); the team's, but for a guest's own
//! uploads.

use super::{see_other, CsrfForm};
use crate::app::AppState;
use crate::auth::{CurrentUser, Viewer};
use crate::ids::{SpaceId, WorkbookId};
use crate::model::{space, workbook, ModelError};
use crate::web::error::AppError;
use crate::web::input::Form;
use actix_web::{web, HttpResponse};

/// `POST /files/{id}/delete`: back to the space's Files tab.
pub async fn file(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let f = super::files::find_file(&state, &user, &path).await?;
    let guest = matches!(user, Viewer::Guest(_));
    crate::web::api::files::refuse_guest_delete(&state, guest, &f, user.actor()).await?;
    let space = f.space_id.clone();
    crate::web::api::files::delete_file(state.into_inner(), f, user.actor()).await?;
    Ok(see_other(&format!("/spaces/{space}?tab=files")))
}

/// `POST /workbooks/{id}/delete`: back to the space's workbooks.
pub async fn workbook(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let id = WorkbookId::parse(&path).ok_or(AppError::NotFound("workbook"))?;
    let (env, actor) = (user.environment.id.clone(), user.actor());
    let here = state.storage.holder();
    let (space, keys) = state
        .db(move |conn| {
            let w = workbook::find(conn, &env, &id)?.ok_or(ModelError::NotFound("workbook"))?;
            // One transaction: a lock taken between the check and the delete is seen.
            let keys = crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
                workbook::refuse_locked(conn, &w, &actor)?;
                workbook::delete_returning_keys(conn, &w, &actor, here.as_deref())
            })?;
            Ok::<_, ModelError>((w.space_id, keys))
        })
        .await?;
    // The records its Submits froze went with it.
    if let Err(e) = crate::web::api::file_bytes::delete_bytes(&state.storage, &keys).await {
        tracing::warn!(error = %e, "deleting stored bytes failed");
    }
    // Its guests' open grids close.
    state.live.access_changed().await;
    Ok(see_other(&format!("/spaces/{space}")))
}

/// `POST /spaces/{id}/delete`: back to the Spaces list.
pub async fn space(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let id = SpaceId::parse(&path).ok_or(AppError::NotFound("space"))?;
    let env = user.environment.id.clone();
    let s = state
        .db(move |conn| space::find(conn, &env, &id))
        .await?
        .ok_or(AppError::NotFound("space"))?;
    // Archived first: out of its guests' reach while it goes, and a second step to think.
    if s.archived_at.is_none() {
        return Err(AppError::Conflict(
            "archive the space first: a space is deleted from the archived ones".into(),
        ));
    }
    crate::web::api::spaces::delete_space(state.clone().into_inner(), s, user.actor()).await?;
    state.live.access_changed().await;
    Ok(see_other("/spaces?archived=true&deleted=true"))
}

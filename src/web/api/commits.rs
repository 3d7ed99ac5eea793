//! Commits: `GET /v1/commits/{id}` and `POST /v1/commits/{id}/complete`, which a record
//! hook calls when it answered a commit without changing anything.

use super::{ok, path_id, success};
use crate::app::AppState;
use crate::auth::{SpaceCaller, SpaceScope};
use crate::ids::CommitId;
use crate::model::commit::{self, Commit};
use crate::model::iso;
use crate::model::sheet::{self, SheetContext};
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// The commit and its sheet, when the caller may reach the sheet's space.
async fn reach(
    state: &AppState,
    caller: &SpaceCaller,
    raw: &str,
) -> Result<(Commit, SheetContext), AppError> {
    let id = path_id(raw, CommitId::parse, "commit")?;
    let env = caller.environment_id.clone();
    let (found, ctx) = state
        .db(move |conn| {
            let Some(c) = commit::find(conn, &env, &id)? else {
                return Ok((None, None));
            };
            let ctx = sheet::load_context(conn, &env, &c.sheet_id)?;
            Ok::<_, crate::model::ModelError>((Some(c), Some(ctx)))
        })
        .await?;
    let (Some(found), Some(ctx)) = (found, ctx) else {
        return Err(AppError::NotFound("commit"));
    };
    caller.check_reach_as(&ctx.space_id, "commit")?;
    Ok((found, ctx))
}

pub async fn get(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (c, _) = reach(&state, &caller, &path).await?;
    Ok(ok(json!({
        "id": c.id,
        "sheetId": c.sheet_id,
        "createdBy": c.created_by,
        "createdAt": iso(&c.created_at),
        "completedAt": c.completed_at.as_ref().map(iso),
        "completedBy": c.completed_by,
        "trackChanges": c.track_changes,
        "count": c.ids().len(),
    })))
}

pub async fn complete(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (c, ctx) = reach(&state, &caller, &path).await?;
    super::records::refuse_guest(&caller, "complete a commit")?;
    let actor = caller.actor();
    let sheet_id = ctx.sheet.id.clone();
    state
        .db(move |conn| {
            crate::db::write_tx::<_, crate::model::ModelError, _>(conn, |conn| {
                Ok(commit::complete(conn, &ctx, &c.id, &actor)?)
            })
        })
        .await?;
    state.live.publish(&sheet_id, None);
    Ok(success())
}

//! `GET /v1/jobs`: Flatfile's filters, a guest's spaces only.

use super::job_starts::one_of;
use super::jobs::job_json;
use super::{given_id, pagination, paging, space_filter};
use crate::app::AppState;
use crate::auth::{SpaceCaller, SpaceScope};
use crate::ids::{EnvironmentId, FileId, SpaceId, WorkbookId};
use crate::model::job::{self, Filter};
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    environment_id: Option<String>,
    space_id: Option<String>,
    file_id: Option<String>,
    workbook_id: Option<String>,
    source: Option<String>,
    page_size: Option<i64>,
    page_number: Option<i64>,
    sort_direction: Option<String>,
    /// Wharf's jobs have no parts: the parts of any job are none.
    parent_id: Option<String>,
}

/// A guest lists the jobs of its own spaces only.
pub async fn list(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (size, number) = paging(q.page_size, q.page_number, 20, 1000)?;
    if let Some(direction) = q.sort_direction.as_deref() {
        one_of("sortDirection", direction, &["asc", "desc"])?;
    }
    if q.parent_id.is_some() {
        return Ok(HttpResponse::Ok().json(json!({"pagination": pagination(0, size, number), "data": []})));
    }
    if let Some(env) = &q.environment_id {
        if given_id(env, EnvironmentId::parse, "environmentId")? != caller.environment_id {
            return Err(AppError::NotFound("environment"));
        }
    }
    let space_id = space_filter(&caller, q.space_id.as_deref())?;
    let filter = Filter {
        space_id,
        only_spaces: caller.only_spaces().map(<[SpaceId]>::to_vec),
        file_id: q
            .file_id
            .as_deref()
            .map(|t| given_id(t, FileId::parse, "fileId"))
            .transpose()?,
        source: q.source.clone(),
        workbook: q.workbook_id.clone(),
        newest_first: q.sort_direction.as_deref() == Some("desc"),
        page_size: size,
        page_number: number,
    };
    let workbook_id = q
        .workbook_id
        .as_deref()
        .map(|t| given_id(t, WorkbookId::parse, "workbookId"))
        .transpose()?;
    let env = caller.environment_id.clone();
    let reach = caller.clone();
    let (items, total) = state
        .db(move |conn| {
            // A space of another environment (or none) is a 404, as for workbooks; so are
            // a file and a workbook (probe 61a D3: an empty page), and for a guest one of
            // another space.
            if let Some(sid) = &filter.space_id {
                crate::model::space::find(conn, &env, sid)?.ok_or(AppError::NotFound("space"))?;
            }
            if let Some(fid) = &filter.file_id {
                match crate::model::file::find(conn, &env, fid)? {
                    Some(f) if reach.reaches(&f.space_id) => {}
                    _ => return Err(AppError::NotFound("file")),
                }
            }
            if let Some(wid) = &workbook_id {
                match crate::model::workbook::find(conn, &env, wid)? {
                    Some(w) if reach.reaches(&w.space_id) => {}
                    _ => return Err(AppError::NotFound("workbook")),
                }
            }
            Ok::<_, AppError>(job::list(conn, &env, &filter)?)
        })
        .await?;
    let data: Vec<Value> = items.iter().map(job_json).collect();
    Ok(HttpResponse::Ok().json(json!({"pagination": pagination(total, size, number), "data": data})))
}

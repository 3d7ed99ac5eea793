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
            // a file and a workbook of another environment, or for a guest of another
            // space (probe 61a D3: an empty page); a deleted one's jobs are still listed.
            if let Some(sid) = &filter.space_id {
                crate::model::space::find(conn, &env, sid)?.ok_or(AppError::NotFound("space"))?;
            }
            use crate::db::schema::{files, workbooks};
            use diesel::prelude::*;
            let elsewhere = |held: Option<(String, String)>| {
                held.is_some_and(|(e, space)| {
                    e != env.as_str() || SpaceId::parse(&space).is_none_or(|s| !reach.reaches(&s))
                })
            };
            if let Some(fid) = &filter.file_id {
                let held = files::table
                    .filter(files::id.eq(fid))
                    .select((files::environment_id, files::space_id))
                    .first::<(String, String)>(conn)
                    .optional()?;
                if elsewhere(held) {
                    return Err(AppError::NotFound("file"));
                }
            }
            if let Some(wid) = &workbook_id {
                let held = workbooks::table
                    .filter(workbooks::id.eq(wid))
                    .select((workbooks::environment_id, workbooks::space_id))
                    .first::<(String, String)>(conn)
                    .optional()?;
                if elsewhere(held) {
                    return Err(AppError::NotFound("workbook"));
                }
            }
            Ok::<_, AppError>(job::list(conn, &env, &filter)?)
        })
        .await?;
    let data: Vec<Value> = items.iter().map(job_json).collect();
    Ok(HttpResponse::Ok().json(json!({"pagination": pagination(total, size, number), "data": data})))
}

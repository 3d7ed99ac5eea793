//! A mapping job's plan: GET, PUT (replace) and PATCH (change some parts) of
//! /v1/jobs/{id}/plan, answered as Flatfile's `{"data": {"job", "plan"}}`.

use super::jobs::{job_json, load};
use super::ok;
use crate::app::AppState;
use crate::auth::SpaceCaller;
use crate::jobs::plan;
use crate::model::job::{self, status, Job, JobChanges};
use crate::model::ModelError;
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

const PARTS: [&str; 4] = [
    "fieldMapping",
    "unmappedSourceFields",
    "unmappedDestinationFields",
    "programId",
];

fn respond(j: &Job) -> HttpResponse {
    ok(json!({"job": job_json(j), "plan": plan::stored(j.plan.as_deref())}))
}

async fn mapping_job(state: &AppState, caller: &SpaceCaller, raw_id: &str) -> Result<Job, AppError> {
    let j = load(state, caller, raw_id).await?;
    if j.job_type != "workbook" || j.operation != "map" {
        return Err(AppError::NotFound("plan (only workbook:map jobs have one)"));
    }
    Ok(j)
}

pub async fn get(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(respond(&mapping_job(&state, &caller, &path).await?))
}

/// Checks and stores a new plan.
async fn store(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    raw_id: &str,
    body: Value,
    replace: bool,
) -> Result<HttpResponse, AppError> {
    let j = mapping_job(&state, &caller, raw_id).await?;
    let Some(given) = body.as_object() else {
        return Err(AppError::bad_request("body", "send the plan as a JSON object"));
    };
    if replace && !given.get("fieldMapping").is_some_and(Value::is_array) {
        return Err(AppError::invalid(
            "fieldMapping",
            "fieldMapping is required and must be an array",
        ));
    }
    let before = plan::stored(j.plan.as_deref());
    let mut plan = if replace { json!({}) } else { before.clone() };
    for key in PARTS {
        if let Some(v) = given.get(key) {
            plan[key] = v.clone();
        }
    }
    let actor = caller.actor();
    let guest_spaces = caller.guest_spaces().map(<[_]>::to_vec);
    let j = state
        .db(move |conn| {
            if let Some(spaces) = &guest_spaces {
                // Where the team's import puts each column is the team's to say.
                if j.created_by != actor {
                    return Err(ModelError::Forbidden(
                        "a guest plans only the imports it started; this one is the team's".into(),
                    ));
                }
                // A plan keeps keys beyond the edges, which listeners read (probe 59d D6).
                super::guest_ids::refuse_in(conn, &j.environment_id, spaces, &plan)?;
            }
            if j.status == status::EXECUTING || j.is_final() {
                return Err(ModelError::Conflict(format!(
                    "the job is {}; its plan can no longer change",
                    j.status
                )));
            }
            let config: Value = serde_json::from_str(&j.config).unwrap_or_else(|_| json!({}));
            let sheets = plan::sheets_of_job(conn, &j, &config)?;
            let resolved = plan::resolve(&plan, &sheets)?;
            // Refused now rather than when it runs.
            if resolved.columns.iter().all(Option::is_none) {
                return Err(ModelError::Invalid(vec![(
                    "fieldMapping".into(),
                    "the plan maps no column to a field; map at least one".into(),
                )]));
            }
            // The edges and what is left unmapped are the server's to describe, whatever
            // was sent for them.
            plan::settle_edges(&mut plan, &before, &sheets, &actor);
            plan::set_unmapped(&mut plan, &before, &sheets, &resolved);
            let changes = JobChanges {
                plan: Some(Some(plan.to_string())),
                ..Default::default()
            };
            job::change_from(conn, &j, changes, Some("job:updated"), &actor)
        })
        .await?;
    Ok(respond(&j))
}

pub async fn put(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: crate::web::input::Json<Value>,
) -> Result<HttpResponse, AppError> {
    store(caller, state, &path, body.into_inner(), true).await
}

pub async fn patch(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: crate::web::input::Json<Value>,
) -> Result<HttpResponse, AppError> {
    store(caller, state, &path, body.into_inner(), false).await
}

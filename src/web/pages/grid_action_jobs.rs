//! A click on an action: checks, the job (`job:ready` for listener code), and what the
//! person does with its panel (see `grid_action_panel`): follow it, acknowledge its
//! outcome, retry, cancel.

use super::action_now::{self, Place};
use super::grid_action_panel::render_panel;
use super::grid_actions::ActionView;
use super::jobs::load as load_job;
use crate::app::AppState;
use crate::auth::{SpaceScope, Viewer};
use crate::ids::{SheetId, WorkbookId};
use crate::model::job::{self, status, Job, JobInput};
use crate::model::{job_subject, sheet, ModelError};

use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// An input form's values as `job.input`, typed; a required one left empty is refused.
pub(super) fn input_of(action: &ActionView, form: &HashMap<String, String>) -> Result<Value, AppError> {
    let mut input = Map::new();
    for f in &action.fields {
        let given = form
            .get(&format!("input:{}", f.key))
            .map(|s| s.trim())
            .unwrap_or("");
        let value = match f.kind.as_str() {
            "boolean" => json!(matches!(given, "on" | "true")),
            _ if given.is_empty() => {
                if f.required {
                    return Err(AppError::bad_request(&f.key, format!("{} is required", f.label)));
                }
                continue;
            }
            "number" => {
                let n: f64 = given
                    .parse()
                    .ok()
                    .filter(|n: &f64| n.is_finite())
                    .ok_or_else(|| AppError::bad_request(&f.key, format!("{} must be a number", f.label)))?;
                // Whole numbers stay whole (`3`, not `3.0`), as a person typed them.
                if n.fract() == 0.0 && n.abs() < 9e15 {
                    json!(n as i64)
                } else {
                    serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
                }
            }
            "enum" => {
                if !f.options.iter().any(|(v, _, _)| v == given) {
                    return Err(AppError::bad_request(
                        &f.key,
                        format!("{} must be one of the choices", f.label),
                    ));
                }
                json!(given)
            }
            _ => json!(given),
        };
        input.insert(f.key.clone(), value);
    }
    let input = Value::Object(input);
    crate::web::api::job_starts::refuse_oversized(None, &[("input", Some(&input))])?;
    Ok(input)
}

/// A guest's `input` of an action started through the API, held to the action's form as
/// the dialog is (probe 63d D7: `{}` passed a required field, `zzz` an enum): `(key, why)`
/// for the first it breaks. A key the form does not have is refused rather than dropped.
/// An action with no form takes what its listener reads (its ids still held to the
/// guest's spaces by the job's own check).
pub(crate) fn check_input(action: &ActionView, input: &Value) -> Result<(), (String, String)> {
    if action.fields.is_empty() {
        return Ok(());
    }
    let empty = Map::new();
    let given = match input {
        Value::Null => &empty,
        Value::Object(o) => o,
        _ => return Err(("input".into(), "input must be an object".into())),
    };
    if let Some(key) = given.keys().find(|k| !action.fields.iter().any(|f| &f.key == *k)) {
        return Err((key.clone(), format!("{} asks for no `{key}`", action.label)));
    }
    for f in &action.fields {
        let value = given
            .get(&f.key)
            .filter(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()));
        let Some(value) = value else {
            if f.required && f.kind != "boolean" {
                return Err((f.key.clone(), format!("{} is required", f.label)));
            }
            continue;
        };
        let fits = match f.kind.as_str() {
            "boolean" => value.is_boolean(),
            "number" => {
                value.is_number()
                    || value
                        .as_str()
                        .is_some_and(|s| s.trim().parse::<f64>().is_ok_and(f64::is_finite))
            }
            "enum" => value
                .as_str()
                .is_some_and(|v| f.options.iter().any(|(o, _, _)| o == v)),
            _ => value.is_string(),
        };
        if !fits {
            let wanted = match f.kind.as_str() {
                "boolean" => "true or false",
                "number" => "a number",
                "enum" => "one of the choices",
                _ => "text",
            };
            return Err((f.key.clone(), format!("{} must be {wanted}", f.label)));
        }
    }
    Ok(())
}

/// Runs a workbook or sheet action from the grid of `sheet` (form: `scope`, `operation`,
/// `input:<key>` values, and the grid's `filter`, `field`, `q`, `qf`, `ids`).
pub async fn run(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let form: HashMap<String, String> = form.into_inner().into_iter().collect();
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    user.check_csrf(&get("csrf_token"))?;
    // Reach is checked here: someone without access gets "not found", and no job.
    let ctx = super::grid_edit::context(&state, &user, &path).await?;
    let scope = get("scope");
    let operation = get("operation");
    let ids: Vec<String> = get("ids")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let mut record_ids = Vec::with_capacity(ids.len());
    for id in &ids {
        let rid = crate::ids::RecordId::parse(id)
            .ok_or_else(|| AppError::bad_request("ids", format!("`{id}` is not a record id")))?;
        record_ids.push(rid.0);
    }
    if scope != "workbook" && scope != "sheet" {
        return Err(AppError::bad_request("scope", "scope is `workbook` or `sheet`"));
    }
    let env = user.environment_id().clone();
    let (sheet_row, wid) = (ctx.sheet.clone(), ctx.sheet.workbook_id.clone());
    let place_scope: &'static str = if scope == "workbook" { "workbook" } else { "sheet" };
    let op = operation.clone();
    let judged = state
        .db(move |conn| {
            let place = Place {
                scope: place_scope,
                workbook: &wid,
                sheet: Some(&sheet_row),
                selected: &record_ids,
                frozen: None,
            };
            action_now::judge(conn, &env, &place, &op)
        })
        .await?;
    let (action, off) = judged.ok_or(AppError::NotFound("action"))?;
    if let Some(why) = off {
        return Err(AppError::Conflict(format!(
            "{} cannot run now: {why}",
            action.label
        )));
    }
    if scope == "workbook" && action.operation == "map" {
        return Err(AppError::Conflict(
            "`workbook:map` is Wharf's own import; an action cannot start it".into(),
        ));
    }
    let input = input_of(&action, &form)?;
    let subject = (scope == "sheet").then(|| {
        // Selected rows are the subject by their ids alone: beside a filter, Flatfile's
        // `ids` are the records left out.
        if !ids.is_empty() {
            return job_subject::records_subject("", "", "", "", "", &ids);
        }
        // A `filter:` search box is FFQL, which the subject carries as `q`.
        let (search, ffql) = match super::grid::box_filter(&get("q")) {
            Some(text) => (String::new(), text.trim().to_string()),
            None => (get("q"), String::new()),
        };
        // The records the grid shows, in the API's words (as `grid_bulk::ViewForm::params`
        // says them): "errors in" a field narrows the All and Error tabs only.
        let filter = get("filter");
        let filter = if matches!(filter.as_str(), "valid" | "error") {
            filter
        } else {
            String::new()
        };
        let field = if filter == "valid" {
            String::new()
        } else {
            get("field")
        };
        job_subject::records_subject(&filter, &field, &search, &get("qf"), &ffql, &ids)
    });
    let source = if scope == "sheet" {
        ctx.sheet.id.to_string()
    } else {
        ctx.sheet.workbook_id.to_string()
    };
    let job_input = JobInput {
        job_type: scope.clone(),
        operation,
        source,
        status: status::READY.into(),
        trigger: "immediate".into(),
        mode: action.mode.clone(),
        input: Some(input),
        subject,
        once: crate::model::job_once::held(&scope, &action.operation, &action.mode),
        ..JobInput::new(&ctx.environment_id, Some(&ctx.space_id))
    };
    let actor = user.actor();
    let seq = (scope == "sheet").then_some(ctx.sheet.seq);
    let spaces = user.only_spaces().map(<[_]>::to_vec);
    let j = state
        .db(move |conn| {
            let mut job_input = job_input;
            crate::web::api::guest_ids::refuse_for_guest(conn, &job_input, spaces.as_deref())?;
            // The selected ids must be this sheet's records.
            job_input.subject = job_subject::within_sheet(conn, seq, job_input.subject.as_ref())?;
            job::create(conn, job_input, &actor)
        })
        .await?;
    if j.is_built_in() {
        // A Submit that names a webhook: Wharf's workers run it.
        state.jobs.wake();
    }
    state.live.publish_job(&j.id, j.space_id.as_ref());
    render_panel(&state, &user, j, true).await
}

/// The panel of one job (fetched on each live `changed`).
pub async fn status(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let j = load_job(&state, &user, &path).await?;
    render_panel(&state, &user, j, false).await
}

/// A card's form on a job the viewer may handle (a guest: those it may through the API):
/// checks the form's token, makes `change` to the job and tells whoever watches it.
async fn change_job(
    user: &Viewer,
    state: &AppState,
    path: &str,
    csrf: &str,
    change: impl FnOnce(&mut crate::db::AnyConnection, &Job, &str) -> Result<Job, ModelError> + Send + 'static,
) -> Result<Job, AppError> {
    user.check_csrf(csrf)?;
    let j = load_job(state, user, path).await?;
    let actor = user.actor();
    let guest = matches!(user, Viewer::Guest(_));
    let j = state
        .db(move |conn| {
            if guest {
                crate::web::api::job_starts::guest_may_handle(conn, &j, &actor)?;
            }
            change(conn, &j, &actor)
        })
        .await?;
    state.live.publish_job(&j.id, j.space_id.as_ref());
    Ok(j)
}

/// The outcome dialog's button: acknowledges the outcome (`job:outcome-acknowledged`) and
/// empties the panel.
pub async fn acknowledge(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<AckForm>,
) -> Result<HttpResponse, AppError> {
    change_job(&user, &state, &path, &form.csrf_token, job::ack_outcome).await?;
    // The outcome's link to a view, followed: read, so its dialog does not come back over
    // the view it opened (probe 67f D2).
    if let Some(next) = super::elsewhere::safe_next(&form.next) {
        return Ok(super::see_other(next));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body("<div id=\"action-job\"></div>"))
}

#[derive(serde::Deserialize)]
pub struct AckForm {
    #[serde(default)]
    csrf_token: String,
    /// Where to go once read: the outcome's link to a view.
    #[serde(default)]
    next: String,
}

/// `next: retry`: runs the failed job again.
pub async fn retry(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<super::CsrfForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let j = load_job(&state, &user, &path).await?;
    let actor = user.actor();
    let guest = matches!(user, Viewer::Guest(_));
    let j = state
        .db(move |conn| {
            crate::db::write_tx(conn, |conn| {
                // A guest's by its action's mode; a person's by the job's own.
                let held = if guest {
                    let mode = crate::web::api::job_starts::guest_may_rerun(conn, &j, &actor)?;
                    mode.as_deref() == Some("foreground")
                } else if let Some(why) = action_now::job_refused(conn, &j)? {
                    // Run again is a click: held to what holds the button back (probe 66a D5).
                    return Err(ModelError::Conflict(why));
                } else {
                    crate::model::job_once::held(&j.job_type, &j.operation, &j.mode)
                };
                if j.status != status::FAILED && j.status != status::CANCELED {
                    return Err(ModelError::Conflict(format!(
                        "the job is {}; only a failed one runs again",
                        j.status
                    )));
                }
                if held {
                    crate::model::job_once::refuse_rerun_while_running(conn, &j)?;
                }
                crate::jobs::guard::refuse_locked_job(conn, &j, &actor)?;
                let changes = j.retry_changes();
                job::change_from(conn, &j, changes, Some("job:ready"), &actor)
            })
        })
        .await?;
    state.jobs.wake();
    state.live.publish_job(&j.id, j.space_id.as_ref());
    render_panel(&state, &user, j, true).await
}

/// The running card's Cancel: stops an action's job (a listener that took it and then stopped
/// answering would otherwise hold a foreground job's overlay, and the workbook, for good).
/// The team cancels any; a guest those it may handle, as through the API.
pub async fn cancel(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<super::CsrfForm>,
) -> Result<HttpResponse, AppError> {
    let j = change_job(&user, &state, &path, &form.csrf_token, |conn, j, actor| {
        if crate::ids::GuestId::parse(actor).is_some() {
            crate::web::api::job_starts::guest_may_cancel(conn, j, actor)?;
        }
        let info = crate::web::api::job_starts::cancel_info(j, None)?;
        job::finish(conn, j, status::CANCELED, None, info, actor)
    })
    .await?;
    render_panel(&state, &user, j, true).await
}

/// `next: wait`: the dialog asks (a POST: it may mark the outcome read) every few seconds whether a follow-up job (a newer action
/// job on the same workbook, started by the listener or anyone) has begun; then it gives
/// way to that job's panel, and the waiting outcome counts as read. Until then: 204.
pub async fn follow(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<super::CsrfForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let j = load_job(&state, &user, &path).await?;
    let env = user.environment_id().clone();
    let actor = user.actor();
    let guest = matches!(user, Viewer::Guest(_));
    let waited = j.clone();
    let next = state
        .db(move |conn| {
            if guest {
                crate::web::api::job_starts::guest_may_handle(conn, &j, &actor)?;
            }
            let wid = match (WorkbookId::parse(&j.source), SheetId::parse(&j.source)) {
                (Some(wb), _) => Some(wb),
                (None, Some(sid)) => sheet::find(conn, &env, &sid)?.map(|(s, _)| s.workbook_id),
                _ => None,
            };
            let Some(wid) = wid else { return Ok(None) };
            let mut sources: Vec<String> = sheet::list_in_workbook(conn, &wid)?
                .into_iter()
                .map(|s| s.id.to_string())
                .collect();
            sources.push(wid.to_string());
            let since = j.finished_at.unwrap_or(j.updated_at);
            let Some(next) = job_subject::started_after(conn, &sources, &j.id, since)? else {
                return Ok(None);
            };
            if j.outcome_acknowledged_at.is_none() {
                job::ack_outcome(conn, &j, &actor)?;
            }
            Ok::<_, ModelError>(Some(next))
        })
        .await?;
    match next {
        Some(n) => {
            state.live.publish_job(&waited.id, waited.space_id.as_ref());
            render_panel(&state, &user, n, true).await
        }
        None => Ok(HttpResponse::NoContent().finish()),
    }
}

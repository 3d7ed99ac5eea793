//! Bulk fixes from the grid: a column's menu finds and replaces, sets or clears its values
//! in the filtered or selected records and lists its values with counts; the toolbar
//! deletes the filtered records. Each answers with a toast in `#bulk-status` ("Replaced
//! 4,210 values. Undo"); more than one transaction takes runs as a job that the toast
//! follows until it ends.

use super::grid_edit::context;
use super::grid_seen::{self, Seen};
use super::{render, CsrfForm};
use crate::app::AppState;
use crate::auth::Viewer;
use crate::extract::thousands;
use crate::ids::{BulkChangeId, JobId};
use crate::jobs::bulk_change;
use crate::model::commit::Hooks;
use crate::model::job::{self, status, Job};
use crate::model::record::bulk::{self, Change, MAX_RECORDS};
use crate::model::record::{bulk_history, RecordQuery};
use crate::model::sheet::SheetContext;
use crate::web::api::records::parse_selection;
use crate::web::error::AppError;
use crate::web::fresh_fields;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

/// The grid's view and selection, as the forms carry them.
#[derive(Debug, Default, Deserialize)]
pub struct ViewForm {
    #[serde(default)]
    pub(super) filter: String,
    #[serde(default)]
    pub(super) field: String,
    #[serde(default)]
    pub(super) q: String,
    #[serde(default)]
    pub(super) qf: String,
    #[serde(default)]
    ids: String,
}

impl ViewForm {
    /// The API's selection parameters for this view (a `filter:` box is FFQL).
    fn params(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        // Selected rows are picked by their ids alone: beside a filter, Flatfile's `ids`
        // are the records left out.
        let ids: Vec<&str> = self.ids.split(',').filter(|s| !s.is_empty()).collect();
        if !ids.is_empty() {
            return ids.into_iter().map(|id| ("ids".into(), id.to_string())).collect();
        }
        if matches!(self.filter.as_str(), "valid" | "error") {
            p.push(("filter".into(), self.filter.clone()));
        }
        // As the grid reads its view: "errors in" a field narrows the All and Error tabs,
        // never the Valid one (with `filter=valid` the API reads `filterField` as the
        // records valid in that field, which the grid does not show).
        if !self.field.is_empty() && self.filter != "valid" {
            p.push(("filterField".into(), self.field.clone()));
        }
        match super::grid::box_filter(&self.q) {
            Some(text) if !text.trim().is_empty() => p.push(("q".into(), text.trim().to_string())),
            Some(_) => {}
            None if !self.q.trim().is_empty() => p.push(("searchValue".into(), self.q.trim().to_string())),
            None => {}
        }
        if !self.qf.is_empty() {
            p.push(("searchField".into(), self.qf.clone()));
        }
        p
    }

    pub(super) fn query(&self, ctx: &SheetContext) -> Result<RecordQuery, AppError> {
        Ok(parse_selection(&ctx.config, &self.params())?.0)
    }
}

#[derive(Template)]
#[template(path = "grid/_bulk_toast.html")]
struct Toast {
    sheet_id: String,
    csrf: String,
    message: String,
    /// A bulk change the viewer may undo.
    undo: Option<String>,
    /// A job still running: the toast asks again in a second.
    job: Option<String>,
    /// Whether that job may be canceled: not an undo, which runs to its end (probe 71d
    /// D3: its Cancel was always refused), nor a cancel already putting values back.
    cancelable: bool,
    failed: bool,
}

fn toast(ctx: &SheetContext, viewer: &Viewer, message: String) -> Toast {
    Toast {
        sheet_id: ctx.sheet.id.to_string(),
        csrf: viewer.csrf().to_string(),
        message,
        undo: None,
        job: None,
        cancelable: false,
        failed: false,
    }
}

/// A job's toast: its progress while it runs, its outcome after.
fn job_toast(ctx: &SheetContext, viewer: &Viewer, j: &Job) -> Toast {
    let mut t = toast(ctx, viewer, String::new());
    let outcome: Value = j
        .outcome
        .as_deref()
        .and_then(|o| serde_json::from_str(o).ok())
        .unwrap_or_default();
    if !j.is_final() {
        let info = j.info.clone().unwrap_or_else(|| "Waiting to start".into());
        t.message = format!("{info} ({}%)", j.progress);
        t.job = Some(j.id.to_string());
        let config: Value = serde_json::from_str(&j.config).unwrap_or_default();
        t.cancelable = config["undo"].is_null();
        return t;
    }
    t.message = outcome["message"]
        .as_str()
        .map_or_else(|| j.status.clone(), str::to_string);
    match j.status.as_str() {
        status::COMPLETE => t.undo = outcome["bulkId"].as_str().map(str::to_string),
        // What a canceled change wrote is put back after the cancel: the toast follows
        // that to its end, then says what it put back.
        status::CANCELED => match j.info.as_deref().unwrap_or_default() {
            info if info.starts_with("Canceled: taking back") => {
                t.message = "Canceling: what was changed is being put back.".into();
                t.job = Some(j.id.to_string());
            }
            "" => t.message = "Canceled: nothing was changed.".into(),
            info => t.message = info.to_string(),
        },
        _ => t.failed = true,
    }
    t
}

fn field_of(ctx: &SheetContext, key: &str) -> Result<usize, AppError> {
    let i = ctx
        .config
        .field_index(key)
        .ok_or_else(|| AppError::bad_request("field", format!("this sheet has no field `{key}`")))?;
    if ctx.config.fields[i].fixed() {
        return Err(AppError::Forbidden(format!(
            "{} is read-only: it cannot be changed here",
            ctx.config.fields[i].display_name()
        )));
    }
    Ok(i)
}

#[derive(Deserialize)]
pub struct ChangeForm {
    /// Missing, it is checked as a wrong token (403), not a malformed form.
    #[serde(default)]
    csrf_token: String,
    /// `replace`, `set` or `clear`.
    op: String,
    column: String,
    #[serde(default)]
    find: String,
    #[serde(default)]
    replace: String,
    #[serde(default)]
    value: String,
    whole: Option<String>,
    match_case: Option<String>,
    /// The view as the column's menu counted it (see `grid_seen`), when it had.
    expected: Option<u64>,
    upto: Option<i64>,
    selection: Option<String>,
    #[serde(flatten)]
    view: ViewForm,
}

/// `POST /grid/{sheet}/bulk`: one change to a column over the view or the selection.
pub async fn change(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<ChangeForm>,
) -> Result<HttpResponse, AppError> {
    viewer.check_csrf(&form.csrf_token)?;
    let ctx = context(&state, &viewer, &path).await?;
    // Made again on the fields as they are when a field change overtakes it.
    let reload = async || context(&state, &viewer, &path).await;
    let (ctx, change, done) = fresh_fields::retry(ctx, reload, async |ctx| {
        let (change, done) = change_column(&state, &viewer, &ctx, &form).await?;
        Ok((ctx, change, done))
    })
    .await?;
    // Too many records (or more than a moment ago): a job, in batches.
    let Some(done) = done else {
        let named = vec![(form.column.clone(), change)];
        let mut config = bulk_change::config(ctx.sheet.id.as_str(), &named, &form.view.params());
        // Records added after the menu counted are left as they are (probe 78d D1).
        if let Some(upto) = form.upto {
            config["upto"] = Value::from(upto);
        }
        return start(&state, &viewer, &ctx, "bulk-change", config).await;
    };
    let verb = change.verb();
    // Every open grid shows the change, this one included (the rows are not in the answer).
    if done.changed > 0 {
        state.live.publish(&ctx.sheet.id, None);
    }
    let mut t = toast(&ctx, &viewer, String::new());
    t.message = match done.changed {
        0 => "No value matched: nothing changed.".into(),
        n => format!("{verb} {}.", bulk::how_many(done.cells, n)),
    };
    t.undo = done.bulk.map(|b| b.to_string());
    render(&t)
}

/// The change the form asks for, made on the sheet as `ctx` read it: `None` when it is
/// too big for one request (a job then makes it).
async fn change_column(
    state: &AppState,
    viewer: &Viewer,
    ctx: &SheetContext,
    form: &ChangeForm,
) -> Result<(Change, Option<bulk::Done>), AppError> {
    ctx.sheet.check_unlocked()?;
    ctx.config.refuse_unless("edit").map_err(AppError::Forbidden)?;
    let index = field_of(ctx, &form.column)?;
    let change = match form.op.as_str() {
        "replace" if form.find.is_empty() && form.whole.is_none() => {
            return Err(AppError::bad_request(
                "find",
                "say what to find (tick “whole value” to find empty cells)",
            ))
        }
        // In any case unless the person ticks "match case", as spreadsheets do (probe 71d
        // D2: `unknown` missed every `Unknown`).
        "replace" => Change::Replace {
            find: form.find.clone(),
            replace: form.replace.clone(),
            whole: form.whole.is_some(),
            any_case: form.match_case.is_none(),
        },
        // Clearing asks first ("Clear these values"): an empty Set does not go around it
        // (probe 76a D3).
        "set" if form.value.trim().is_empty() => {
            return Err(AppError::bad_request(
                "value",
                "type the value to set; “Clear these values” empties the cells",
            ))
        }
        "set" => {
            refuse_unheld(&ctx.config.fields[index], &form.value)?;
            Change::Set(Value::String(form.value.clone()))
        }
        "clear" => Change::Set(Value::Null),
        other => return Err(AppError::bad_request("op", format!("`{other}` is not a change"))),
    };
    if let Some(message) = change.too_big() {
        return Err(AppError::invalid("value", message));
    }
    let mut q = form.view.query(ctx)?;
    if form.expected.is_some() || form.selection.is_some() {
        let seen = Seen {
            expected: form.expected,
            upto: form.upto,
            selection: form.selection.clone(),
        };
        // The records counted, and no record added since (probe 78d D1).
        let counted = seen
            .check(state, ctx.sheet.seq, q.clone(), ("saw", "changed", "changing it"))
            .await?;
        if form.upto.is_some() && q.ids.is_none() {
            q.ids = Some(counted);
        }
    }
    let actor = viewer.actor();
    let (c, ch) = (ctx.clone(), vec![(index, change.clone())]);
    let done = state
        .db(move |conn| bulk::apply(conn, &c, &q, &ch, &actor, &Hooks::Run))
        .await?;
    Ok((change, done))
}

/// A value the field cannot hold (`next tuesday` for a date, an option it does not list)
/// is refused: set, it would turn every record of the view into an error, said as a plain
/// success (probe 78c D9).
fn refuse_unheld(field: &crate::blueprint::Field, value: &str) -> Result<(), AppError> {
    let cell = crate::validate::cast_cell(field, &Value::String(value.to_string()));
    let wrong = cell.messages.iter().find(|m| {
        m.kind == crate::validate::MessageType::Error
            && matches!(
                m.source,
                crate::validate::Source::Cast | crate::validate::Source::InvalidOption
            )
    });
    match wrong {
        Some(m) => Err(AppError::invalid(
            "value",
            format!(
                "{}. Nothing was set: type a value {} can hold",
                m.message,
                field.display_name()
            ),
        )),
        None => Ok(()),
    }
}

/// Starts a built-in job on the sheet and answers with the toast that follows it.
async fn start(
    state: &AppState,
    viewer: &Viewer,
    ctx: &SheetContext,
    operation: &str,
    config: Value,
) -> Result<HttpResponse, AppError> {
    start_from(state, viewer, ctx, operation, config, None).await
}

/// [`start`], the job starting from `checkpoint`.
async fn start_from(
    state: &AppState,
    viewer: &Viewer,
    ctx: &SheetContext,
    operation: &str,
    config: Value,
    checkpoint: Option<String>,
) -> Result<HttpResponse, AppError> {
    let mut input = bulk_change::job_input(ctx, operation, config);
    input.checkpoint = checkpoint;
    let actor = viewer.actor();
    let j = state.db(move |conn| job::create(conn, input, &actor)).await?;
    state.jobs.wake();
    state.live.publish_job(&j.id, j.space_id.as_ref());
    render(&job_toast(ctx, viewer, &j))
}

/// The job of this sheet named in the path (another sheet's or space's: 404).
async fn sheet_job(state: &AppState, ctx: &SheetContext, raw: &str) -> Result<Job, AppError> {
    let id = JobId::parse(raw).ok_or(AppError::NotFound("job"))?;
    let env = ctx.environment_id.clone();
    let j = state
        .db(move |conn| job::find(conn, &env, &id))
        .await?
        .ok_or(AppError::NotFound("job"))?;
    // Only this sheet's bulk changes and deletes are the toast's (any job can name a sheet
    // in its config).
    let config: Value = serde_json::from_str(&j.config).unwrap_or_default();
    let bulk = j.job_type == "workbook" && matches!(j.operation.as_str(), "bulk-change" | "delete-records");
    if !bulk || config["sheet"].as_str() != Some(ctx.sheet.id.as_str()) {
        return Err(AppError::NotFound("job"));
    }
    Ok(j)
}

/// `GET /grid/{sheet}/bulk/jobs/{job}`: the toast of a running bulk job.
pub async fn job_status(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (sheet, raw) = path.into_inner();
    let ctx = context(&state, &viewer, &sheet).await?;
    let j = sheet_job(&state, &ctx, &raw).await?;
    render(&job_toast(&ctx, &viewer, &j))
}

/// `POST /grid/{sheet}/bulk/jobs/{job}/cancel`: stops it; what it changed is taken back.
pub async fn cancel(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    viewer.check_csrf(&form.csrf_token)?;
    let (sheet, raw) = path.into_inner();
    let ctx = context(&state, &viewer, &sheet).await?;
    let j = sheet_job(&state, &ctx, &raw).await?;
    let actor = viewer.actor();
    let guest = matches!(viewer, Viewer::Guest(_));
    let j = state
        .db(move |conn| {
            if guest {
                crate::web::api::job_starts::guest_may_cancel(conn, &j, &actor)?;
            }
            let info = crate::web::api::job_starts::cancel_info(&j, None)?;
            job::finish(conn, &j, status::CANCELED, None, info, &actor)
        })
        .await?;
    state.live.publish_job(&j.id, j.space_id.as_ref());
    render(&job_toast(&ctx, &viewer, &j))
}

/// `POST /grid/{sheet}/bulk/{bulk}/undo`: undoes the viewer's bulk change, in a job when
/// it is bigger than one transaction takes.
pub async fn undo(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    viewer.check_csrf(&form.csrf_token)?;
    let (sheet, raw) = path.into_inner();
    let ctx = context(&state, &viewer, &sheet).await?;
    ctx.sheet.check_unlocked()?;
    ctx.config.refuse_unless("edit").map_err(AppError::Forbidden)?;
    let id = BulkChangeId::parse(&raw).ok_or(AppError::NotFound("bulk change"))?;
    let (sid, key) = (ctx.sheet.id.clone(), id.to_string());
    let entry = state
        .db(move |conn| bulk_history::find(conn, &sid, &key))
        .await?
        .ok_or(AppError::NotFound("bulk change"))?;
    if entry.actor != viewer.actor() {
        return Err(AppError::Forbidden(
            "only the person who made a bulk change can undo it from here".into(),
        ));
    }
    if entry.changed > MAX_RECORDS as i64 {
        let config = serde_json::json!({"sheet": ctx.sheet.id, "undo": id});
        return start(&state, &viewer, &ctx, "bulk-change", config)
            .await
            .map(announce_undo);
    }
    let actor = viewer.actor();
    let c = ctx.clone();
    let done = state
        .db(move |conn| {
            // A lock taken meanwhile stops it at its next batch, as it stops a job's.
            bulk_history::undo_checked(conn, &c, &id, &actor, None, &mut |_, fresh, _| {
                fresh.sheet.check_unlocked()
            })
        })
        .await?;
    state.live.publish(&ctx.sheet.id, None);
    state.live.publish_each(&done.also_changed);
    render(&toast(
        &ctx,
        &viewer,
        bulk_change::undone_message(done.restored, done.kept),
    ))
    .map(announce_undo)
}

/// An open list of the sheet's bulk changes asks again, to show the change undone.
fn announce_undo(mut answer: HttpResponse) -> HttpResponse {
    answer.headers_mut().insert(
        actix_web::http::header::HeaderName::from_static("hx-trigger"),
        actix_web::http::header::HeaderValue::from_static(super::grid_bulk_history::UNDONE_EVENT),
    );
    answer
}

#[derive(Template)]
#[template(path = "grid/_delete_confirm.html")]
struct DeleteConfirm {
    sheet_id: String,
    csrf: String,
    count: String,
    /// The count as a number, and the sheet's last record id then: the delete takes what
    /// was confirmed, not records another person added or changed into the view meanwhile.
    expected: u64,
    upto: i64,
    /// A digest of the records counted: the delete deletes them or nothing (see
    /// `jobs::delete::selection_digest`).
    selection: String,
    view: ViewForm,
}

/// `GET /grid/{sheet}/bulk/delete`: how many records the view holds, and a button that
/// deletes them.
pub async fn delete_confirm(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    view: web::Query<ViewForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = context(&state, &viewer, &path).await?;
    let q = view.query(&ctx)?;
    let seq = ctx.sheet.seq;
    // The view's whole selection is read: within the read budget, as any costly read.
    let (n, upto, selection) = state.read_db(move |conn| grid_seen::count(conn, seq, &q)).await?;
    render(&DeleteConfirm {
        sheet_id: ctx.sheet.id.to_string(),
        csrf: viewer.csrf().to_string(),
        count: thousands(n),
        expected: n,
        upto,
        selection,
        view: view.into_inner(),
    })
}

#[derive(Deserialize)]
pub struct DeleteForm {
    /// Missing, it is checked as a wrong token (403), not a malformed form.
    #[serde(default)]
    csrf_token: String,
    /// What the confirmation counted, the last record id then, and a digest of the
    /// records (see `grid_seen`). Not flattened: a flattened form reads numbers as text.
    expected: Option<u64>,
    upto: Option<i64>,
    selection: Option<String>,
    #[serde(flatten)]
    view: ViewForm,
}

/// `POST /grid/{sheet}/bulk/delete`: a `delete-records` job over the view.
pub async fn delete(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<DeleteForm>,
) -> Result<HttpResponse, AppError> {
    viewer.check_csrf(&form.csrf_token)?;
    let ctx = context(&state, &viewer, &path).await?;
    ctx.sheet.check_unlocked()?;
    ctx.config.refuse_unless("delete").map_err(AppError::Forbidden)?;
    // Read now, so a mistake is told here rather than by a failed job.
    let q = form.view.query(&ctx)?;
    let seen = Seen {
        expected: form.expected,
        upto: form.upto,
        selection: form.selection.clone(),
    };
    let ids = seen
        .check(&state, ctx.sheet.seq, q, ("confirmed", "deleted", "deleting"))
        .await?;
    let mut config = serde_json::json!({"sheet": ctx.sheet.id});
    if let Some(upto) = form.upto {
        config["upto"] = Value::from(upto);
    }
    if let Some(selection) = &form.selection {
        config["selection"] = Value::from(selection.clone());
    }
    for (k, v) in form.view.params() {
        if k == "ids" {
            let list = config["ids"].as_array().cloned().unwrap_or_default();
            config["ids"] = Value::Array([list, vec![Value::String(v)]].concat());
        } else {
            config[k.as_str()] = Value::String(v);
        }
    }
    // The job deletes only these, and of them only those the view still shows when it
    // runs (see `jobs::delete::confirmed_part`).
    let confirmed = form
        .selection
        .is_some()
        .then(|| crate::jobs::delete::confirmed_checkpoint(form.upto, &ids));
    start_from(&state, &viewer, &ctx, "delete-records", config, confirmed).await
}

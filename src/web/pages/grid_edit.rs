//! Changing records from the grid: edit a cell, add a row, delete selected rows; plus the
//! live stream and downloads of what the grid shows.

use super::grid::{editor_kind, row_view, RowPartial};
use super::render;
use super::CsrfForm;
use crate::app::AppState;
use crate::auth::{SpaceScope, Viewer};
use crate::blueprint::FieldType;
use crate::ids::{RecordId, SheetId};
use crate::model::commit::{self, Hooks};
use crate::model::record::{self, history, RecordUpdate, Written};
use crate::model::sheet::{self, Counts, SheetContext};
use crate::web::error::AppError;
use crate::web::export::Rows;
use crate::web::fresh_fields;
use crate::web::live_access::Opener;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A sheet the viewer may open (a guest: only in its spaces; others are not found).
/// A sheet the viewer may reach, with what writes to it need.
pub(super) async fn context(state: &AppState, user: &Viewer, raw: &str) -> Result<SheetContext, AppError> {
    let id = SheetId::parse(raw).ok_or(AppError::NotFound("sheet"))?;
    let env = user.environment_id().clone();
    let ctx = state.db(move |conn| sheet::load_context(conn, &env, &id)).await?;
    user.check_reach_as(&ctx.space_id, "sheet")?;
    Ok(ctx)
}

#[derive(Template)]
#[template(path = "grid/_editor.html")]
struct Editor {
    sheet_id: String,
    record_id: String,
    key: String,
    label: String,
    kind: &'static str,
    value: String,
    options: Vec<(String, String)>,
    value_is_option: bool,
    /// What a boolean cell's text reads as (`yes`: `true`), empty when neither.
    reads_as: &'static str,
    /// A date read from another spelling (`01/05/2024`, read month first): the picker
    /// shows the reading, and Enter on it as it is confirms it (probe 72a D1).
    confirms: bool,
    version: i64,
    /// A reference cell's first choices (see `grid_choices`).
    choices: Vec<String>,
}

#[derive(Template)]
#[template(path = "grid/_saved.html")]
struct Saved {
    sheet_id: String,
    row: super::grid::RowView,
    counts: Counts,
}

/// The grid (page) that made a request, so its own writes are not echoed back to it.
fn origin(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("x-wharf-client")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64)
}

/// One record of the sheet, and the sheet's context back.
async fn load_row(
    state: &AppState,
    ctx: SheetContext,
    rid: RecordId,
) -> Result<(record::RecordRow, SheetContext), AppError> {
    let query = record::RecordQuery {
        ids: Some(vec![rid.0]),
        page_size: 1,
        page_number: 1,
        ..Default::default()
    };
    let (rows, ctx) = state
        .db(move |conn| record::query(conn, &ctx, &query).map(|rows| (rows, ctx)))
        .await?;
    let row = rows.into_iter().next().ok_or(AppError::NotFound("record"))?;
    Ok((row, ctx))
}

fn record_id(raw: &str) -> Result<RecordId, AppError> {
    RecordId::parse(raw).ok_or(AppError::NotFound("record"))
}

#[derive(Deserialize)]
pub struct EditQuery {
    field: String,
}

/// The editor for one cell, holding what was typed (the raw input when kept). The field key
/// comes in the query string, so any key works.
pub async fn edit(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<EditQuery>,
) -> Result<HttpResponse, AppError> {
    let (sheet_raw, record_raw) = path.into_inner();
    let key = query.into_inner().field;
    let ctx = context(&state, &user, &sheet_raw).await?;
    let rid = record_id(&record_raw)?;
    let index = ctx.config.field_index(&key).ok_or(AppError::NotFound("field"))?;
    let field = ctx.config.fields[index].clone();
    refuse_fixed(&field)?;
    // No editor where no save would be taken: nor on a locked sheet (probe 49c 6).
    ctx.config.refuse_unless("edit").map_err(AppError::Forbidden)?;
    ctx.sheet.check_unlocked()?;
    let sid = ctx.sheet.id.clone();
    let (row, ctx) = &load_row(&state, ctx, rid).await?;
    if record::config::locks(row.config.as_deref(), &field.key) {
        return Err(AppError::Forbidden(format!(
            "{} is read-only in this record (the sheet's listener locked it)",
            field.display_name()
        )));
    }
    let checked = row.checked(&ctx.config);
    // What was typed or uploaded, but for an option or a date the cell holds as it should:
    // that one, which the option list or the date picker shows (probe 68b D5: a valid
    // `shipped` uploaded as `Sent` opened as "Sent (not an option)").
    let held = checked.vals.get(index).filter(|v| {
        let text = v.as_str().unwrap_or_default();
        match &field.field_type {
            FieldType::Enum { options } => options.iter().any(|o| o.value == text),
            FieldType::Date => crate::validate::parse_date(text).as_deref() == Some(text),
            _ => false,
        }
    });
    // Only a reading warned of: a date read one way only (`15/03/2024`) has nothing to confirm.
    let warned = checked
        .messages
        .get(&index)
        .is_some_and(|m| m.iter().any(crate::validate::Message::is_reading_warning));
    let confirms = matches!(field.field_type, FieldType::Date) && held.is_some() && warned;
    let shown = held
        .or_else(|| checked.raw.get(&index))
        .or_else(|| checked.vals.get(index))
        .cloned()
        .unwrap_or(Value::Null);
    let options = match &field.field_type {
        FieldType::Enum { options } => options
            .iter()
            .map(|o| (o.value.clone(), o.label.clone()))
            .collect(),
        _ => vec![],
    };
    let value = crate::validate::display(&shown);
    let value_is_option = options.iter().any(|(v, _): &(String, String)| *v == value);
    // A boolean kept as typed (`yes`) is shown as what it reads as, not as neither (probe
    // 61e D4: "yes (not true or false)").
    let reads_as = match crate::validate::parse_bool(&value) {
        Some(true) => "true",
        Some(false) => "false",
        None => "",
    };
    let choices = match field.field_type {
        FieldType::Reference { .. } => super::grid_choices::reference_choices(&state, ctx, index, "").await?,
        _ => Vec::new(),
    };
    render(&Editor {
        choices,
        value_is_option,
        reads_as,
        confirms,
        sheet_id: sid.to_string(),
        record_id: rid.to_string(),
        key: field.key.clone(),
        label: field.display_name().to_string(),
        kind: match editor_kind(&field.field_type) {
            // An editor that cannot hold the value as it is would change it unasked: a
            // line break in a one-line box, a date the date picker does not read.
            _ if value.contains(['\n', '\r']) => "multiline",
            "date"
                if !value.is_empty()
                    && crate::validate::parse_date(&value).as_deref() != Some(value.as_str()) =>
            {
                "text"
            }
            kind => kind,
        },
        value,
        options,
        version: row.version,
    })
}

/// The row as it is (cancelling an edit).
pub async fn row(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (sheet_raw, record_raw) = path.into_inner();
    let ctx = context(&state, &user, &sheet_raw).await?;
    let rid = record_id(&record_raw)?;
    let config = ctx.config.clone();
    let sid = ctx.sheet.id.to_string();
    let (row, _) = &load_row(&state, ctx, rid).await?;
    render(&RowPartial {
        sheet_id: sid,
        row: row_view(&config, row),
    })
}

#[derive(Deserialize)]
pub struct CellForm {
    #[serde(default)]
    csrf_token: String,
    field: String,
    #[serde(default)]
    value: String,
    /// The record's version when the editor opened: a save over someone else's newer
    /// change to the same cell is refused.
    #[serde(default)]
    version: String,
}

/// Saves one cell: the record is re-validated, the row and the counts come back.
/// Computed and read-only fields are shown in the grid, not changed there (listener code
/// and the API write them).
/// A refusal of what the sheet does not let people do is a 403, as the API's.
fn refuse_fixed(field: &crate::blueprint::Field) -> Result<(), AppError> {
    match field.fixed() {
        true => Err(AppError::Forbidden(format!(
            "{} is read-only: it cannot be changed here",
            field.display_name()
        ))),
        false => Ok(()),
    }
}

pub async fn save(
    req: HttpRequest,
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: crate::web::input::Form<CellForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let (sheet_raw, record_raw) = path.into_inner();
    let rid = record_id(&record_raw)?;
    let form = form.into_inner();
    let base = match form.version.trim() {
        "" => None,
        v => Some(
            v.parse::<i64>()
                .map_err(|_| AppError::bad_request("version", "version must be a whole number"))?,
        ),
    };
    let value = Value::String(form.value);
    if let Some(message) = crate::web::api::record_input::too_big(&value) {
        return Err(AppError::invalid("value", message));
    }
    let ctx = context(&state, &user, &sheet_raw).await?;
    // Made again on the fields as they are when a field change overtakes it.
    let reload = async || context(&state, &user, &sheet_raw).await;
    let (ctx, written, counts) = fresh_fields::retry(ctx, reload, async |ctx| {
        save_cell(&state, &user, ctx, rid, &form.field, &value, base).await
    })
    .await
    .map_err(|e| match e {
        // Said in words a person acts on, not by the record's id (probe 49c 5).
        AppError::NotFoundNamed(m) if m.starts_with("record ") => AppError::NotFoundNamed(
            "this record was deleted after your grid showed it (by someone else, or a job); reload to see the sheet as it is".into(),
        ),
        other => other,
    })?;
    // A unique field's value may make or end a duplicate on other rows: the saver's own
    // grid is told too, to show them (probe 49c 3); otherwise only the others' grids.
    let unique = ctx
        .config
        .field_index(&form.field)
        .is_some_and(|i| ctx.config.is_unique_member(i));
    state
        .live
        .publish(&ctx.sheet.id, if unique { None } else { origin(&req) });
    state.live.publish_each(&written.also_changed);
    let row = written.rows.first().ok_or(AppError::NotFound("record"))?;
    let mut view = row_view(&ctx.config, row);
    view.checking = written.commit.is_some() && commit::tracks_changes(&ctx);
    render(&Saved {
        sheet_id: ctx.sheet.id.to_string(),
        row: view,
        counts,
    })
}

/// One cell's save under the sheet's fields as `ctx` read them: the written record and the
/// sheet's counts after it.
async fn save_cell(
    state: &AppState,
    user: &Viewer,
    ctx: SheetContext,
    rid: RecordId,
    field: &str,
    value: &Value,
    base: Option<i64>,
) -> Result<(SheetContext, Written<Vec<record::RecordRow>>, Counts), AppError> {
    // A locked sheet takes no changes from people.
    ctx.sheet.check_unlocked()?;
    ctx.config.refuse_unless("edit").map_err(AppError::Forbidden)?;
    let Some(index) = ctx.config.field_index(field) else {
        return Err(AppError::bad_request(
            "field",
            format!("this sheet has no field `{field}`"),
        ));
    };
    refuse_fixed(&ctx.config.fields[index])?;
    let label = ctx.config.fields[index].display_name().to_string();
    let update = RecordUpdate {
        id: rid,
        values: BTreeMap::from([(field.to_string(), value.clone())]),
        messages: BTreeMap::new(),
        metadata: None,
        config: None,
        uploaded: BTreeMap::new(),
        // A person's own: the value a cell holds, spelt as they spell it, confirms it.
        confirms: true,
    };
    let (actor, field) = (user.actor(), field.to_string());
    let (written, counts, ctx) = state
        .db(move |conn| {
            crate::db::write_tx(conn, |conn| {
                sheet::refuse_locked_now(conn, &ctx)?;
                let confirms = match base {
                    Some(base) => refuse_stale(
                        conn,
                        &ctx,
                        rid,
                        (&field, &label, &update.values[&field]),
                        base,
                        &actor,
                    )?,
                    None => false,
                };
                // A cell the sheet's listener locked is not a person's to change.
                record::config::refuse_locked(conn, ctx.sheet.seq, std::slice::from_ref(&update))?;
                let value = update.values[&field].clone();
                let written = record::update(conn, &ctx, &[update], &actor, &Hooks::Run)?;
                if let (true, Some(row)) = (confirms, written.rows.first()) {
                    history::confirm(conn, &ctx.sheet.id, rid, row.version, &field, &value, &actor)?;
                }
                let counts = sheet::get(conn, &ctx.sheet.id)?.counts();
                Ok::<_, crate::model::ModelError>((written, counts))
            })
            .map(|(written, counts)| (written, counts, ctx))
        })
        .await?;
    Ok((ctx, written, counts))
}

/// Refuses a save made on `base` when the cell changed since, naming who (the saver too:
/// their other tab or window), when, and what the cell holds now. Nothing is overwritten
/// silently. Answers whether the save puts there what a bulk change wrote since: the
/// person's own value too, to be recorded as such.
fn refuse_stale(
    conn: &mut crate::db::AnyConnection,
    ctx: &SheetContext,
    rid: RecordId,
    (field, label, value): (&str, &str, &Value),
    base: i64,
    actor: &str,
) -> Result<bool, crate::model::ModelError> {
    use crate::model::record::hook_answer::{as_read, same_cell};
    let Some(change) = history::changed_since(conn, &ctx.sheet.id, rid, field, base)? else {
        return Ok(false);
    };
    // The cell holds what this save puts there (the same save sent twice, or spelt
    // another way in another tab: `1.5` after `1,5`): nothing to lose. Someone else's
    // spelling (`01/05/2024`, read month first, warned) the save would confirm unseen
    // (probe 74a D2).
    let same = same_cell(ctx, field, &change.new_value(), value);
    let spelt = crate::validate::display(&change.new_value()) == crate::validate::display(value);
    if same && (spelt || change.actor == actor) {
        return Ok(change.bulk_id.is_some());
    }
    let who = match change.actor == actor {
        true => "you (in another tab or window)".to_string(),
        false => history::actor_name(conn, &change.actor, actor)?,
    };
    let shown = match same {
        true => change.new_value(),
        false => as_read(ctx, field, &change.new_value()),
    };
    let now = crate::validate::quoted(&shown, ("\u{201c}", "\u{201d}"));
    Err(crate::model::ModelError::Conflict(format!(
        "Not saved: {who} changed {label} at {} UTC; it is now {now}. \
         Press Escape to see the current row, then edit it again.",
        change.created_at.format("%H:%M:%S")
    )))
}

/// Adds an empty row (it is validated like any other: required fields show their errors).
pub async fn add_row(
    req: HttpRequest,
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let ctx = context(&state, &user, &path).await?;
    let (sid, wid) = (ctx.sheet.id.clone(), ctx.sheet.workbook_id.clone());
    // Made again on the fields as they are when a field change overtakes it.
    let reload = async || context(&state, &user, &path).await;
    let written = fresh_fields::retry(ctx, reload, async |ctx| {
        // A locked sheet takes no changes from people.
        ctx.sheet.check_unlocked()?;
        ctx.config.refuse_unless("add").map_err(AppError::Forbidden)?;
        let actor = user.actor();
        state
            .db(move |conn| {
                crate::db::write_tx(conn, |conn| {
                    sheet::refuse_locked_now(conn, &ctx)?;
                    record::insert(conn, &ctx, vec![Vec::new()], &actor, &Hooks::Run)
                })
            })
            .await
    })
    .await?;
    state.live.publish(&sid, origin(&req));
    state.live.publish_each(&written.also_changed);
    // The new row, on the last page, is scrolled to and takes the focus (probe 68b D13).
    // (A query parameter, not a fragment: a fragment alone changing did not load the page.)
    let row = written
        .rows
        .first()
        .map(|r| format!("&added={}", r.record_id()))
        .unwrap_or_default();
    Ok(refresh_to(
        &req,
        &format!("/workbooks/{wid}?sheet={sid}&last=true{row}"),
    ))
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    ids: String,
    /// The view the rows were ticked in (its query), shown again after the delete.
    #[serde(default)]
    view: String,
}

/// Deletes the selected rows (ids comma-separated).
pub async fn delete_rows(
    req: HttpRequest,
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<DeleteForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&form.csrf_token)?;
    let ctx = context(&state, &user, &path).await?;
    // A locked sheet takes no changes from people.
    ctx.sheet.check_unlocked()?;
    ctx.config.refuse_unless("delete").map_err(AppError::Forbidden)?;
    let ids: Vec<RecordId> = form
        .ids
        .split(',')
        .filter(|s| !s.is_empty())
        .map(record_id)
        .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Err(AppError::bad_request("ids", "select the rows to delete first"));
    }
    let actor = user.actor();
    let sid = ctx.sheet.id.clone();
    let wid = ctx.sheet.workbook_id.clone();
    let written = state
        .db(move |conn| {
            crate::db::write_tx(conn, |conn| {
                sheet::refuse_locked_now(conn, &ctx)?;
                record::delete(conn, &ctx, &ids, &actor)
            })
        })
        .await?;
    state.live.publish(&sid, origin(&req));
    state.live.publish_each(&written.also_changed);
    // Back to the view (read as a view and written again, so nothing else rides along),
    // not the sheet's first page unsorted (probe 59a L5).
    let mut view: super::grid::View = serde_urlencoded::from_str(&form.view).unwrap_or_default();
    view.sheet = sid.to_string();
    let mut resp = refresh_to(&req, &format!("/workbooks/{wid}?{}", view.current()));
    // The page says how many went (probe 71d D7: nothing did), once: a cookie it reads
    // and clears, not an address a link could forge or a reload repeat (probe 76a D4).
    let notice = super::grid::deleted_notice(&state, &wid, &sid, written.rows);
    resp.add_cookie(&notice)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(resp)
}

/// Sends the browser to `location`: htmx by `HX-Redirect`, a plain form by 303.
fn refresh_to(req: &HttpRequest, location: &str) -> HttpResponse {
    if super::is_htmx(req) {
        HttpResponse::Ok()
            .insert_header(("HX-Redirect", location))
            .finish()
    } else {
        HttpResponse::SeeOther()
            .insert_header(("Location", location))
            .finish()
    }
}

#[derive(Deserialize)]
pub struct LiveQuery {
    client: Option<String>,
    /// When the page read what it shows (ms since the epoch).
    since: Option<u64>,
}

/// Server-sent `changed` events for a sheet, for every open grid.
pub async fn live(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<LiveQuery>,
) -> Result<HttpResponse, AppError> {
    let ctx = context(&state, &user, &path).await?;
    let opener = Opener::of(&user, Some(ctx.space_id.clone()));
    let admission = match state.live.admit(&opener, Some(&ctx.sheet.id)).await {
        Ok(a) => a,
        Err(refused) => return Ok(refused.response()),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(
            state
                .live
                .stream(ctx.sheet.id, (q.client.clone(), q.since), &opener, admission),
        ))
}

/// The sheet as CSV, for a signed-in person; with `q` (the grid's `filter:` query), the
/// records it selects.
pub async fn download_csv(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    view: web::Query<super::grid::View>,
) -> Result<HttpResponse, AppError> {
    let ctx = context(&state, &user, &path).await?;
    // What the grid shows with this view (its tab, search, `filter:` query and sort).
    let q = super::grid::query_for(&ctx.config, &view)?.map_err(|e| AppError::bad_request("q", e.message))?;
    let everything = q.filter == crate::model::record::Filter::All
        && q.filter_field.is_none()
        && q.search_value.is_none()
        && q.ffql.is_none()
        && q.sort.is_none();
    let rows = match everything {
        true => Rows::All,
        false => crate::web::export::selected(&state, &ctx.sheet, q).await?,
    };
    Ok(crate::web::export::csv_response(
        state.pool.clone(),
        ctx.sheet,
        ctx.config,
        rows,
        true,
    ))
}

/// The whole workbook as XLSX, one worksheet per sheet.
pub async fn download_xlsx(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let wid = crate::ids::WorkbookId::parse(&path).ok_or(AppError::NotFound("workbook"))?;
    let env = user.environment_id().clone();
    let (name, bytes) = state
        .db(move |conn| {
            let wb = crate::model::workbook::find(conn, &env, &wid)?.ok_or(AppError::NotFound("workbook"))?;
            user.check_reach_as(&wb.space_id, "workbook")?;
            let sheets = sheet::list_in_workbook(conn, &wb.id)?
                .into_iter()
                .map(|s| s.parsed_config().map(|c| (s, c)))
                .collect::<Result<Vec<_>, _>>()?;
            let bytes = crate::web::export::xlsx_bytes(conn, &sheets)?;
            Ok::<_, AppError>((crate::web::export::download_stem(&wb.name, "workbook"), bytes))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header(crate::web::export::attachment(&format!("{name}.xlsx")))
        .body(bytes))
}

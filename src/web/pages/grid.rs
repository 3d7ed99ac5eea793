//! The workbook grid: sheet tabs, 100 records a page with keyset navigation, filters with
//! counts, search, sort, and the view state kept in the URL.

use super::grid_actions::{actions_in, actions_of, recheck, sum, ActionView, Situation};
use super::{is_htmx, render, Layout};
use crate::app::AppState;
use crate::auth::{SpaceScope, Viewer};
use crate::blueprint::SheetConfig;
use crate::ffql;
use crate::ids::{RecordId, SheetId, WorkbookId};
use crate::model::commit;
use crate::model::record::{self, Cursor, Filter, RecordQuery, RecordRow};
use crate::model::sheet::Sheet;
use crate::model::sheet::{self, Counts, SheetContext};
use crate::model::workbook::{self, Workbook};
use crate::web::error::AppError;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

pub use super::grid_count::Pages;
pub use super::grid_rows::{editor_kind, row_view, CellView, RowView};
pub use super::grid_view::View;

pub const PAGE: i64 = 100;

pub struct Column {
    pub key: String,
    pub label: String,
    pub type_name: &'static str,
    pub required: bool,
    pub sorted: &'static str,
    pub errors: i64,
    /// Labels of the checks listener code makes (`external` and `stored` constraints).
    pub checks: Vec<String>,
    /// Computed or read-only: no bulk changes from its menu.
    pub computed: bool,
}

#[derive(Template)]
#[template(path = "grid/_row.html")]
pub struct RowPartial {
    pub sheet_id: String,
    pub row: RowView,
}

#[derive(Template)]
#[template(path = "grid/_table.html")]
pub struct TablePartial {
    pub workbook_id: String,
    pub sheet_id: String,
    pub view: View,
    pub columns: Vec<Column>,
    pub rows: Vec<RowView>,
    pub counts: Counts,
    pub has_prev: bool,
    pub has_next: bool,
    pub first_id: i64,
    pub last_id: i64,
    pub page: i64,
    pub offset_paged: bool,
    pub csrf: String,
    /// Why the search box's `filter:` query could not be read (shown under the box).
    pub query_error: String,
    /// Why the page shows no records though the view has some (its cells too big).
    pub page_problem: String,
    /// What of the asked view was dropped (a field removed since), said above the grid.
    pub view_notice: String,
    /// The sheet is locked (no changes from people meanwhile).
    pub locked: bool,
    /// What the sheet's `access` lets people do: the buttons shown.
    pub may_add: bool,
    pub may_delete: bool,
    pub sheet_actions: Vec<ActionView>,
    /// Records of the sheet whose changes the record hook is still checking (actions wait).
    pub checking: usize,
    /// A search, a `filter:` query or errors in a field narrow the view: its count comes
    /// after the page (`grid_count`).
    pub narrowed: bool,
    /// A view numbered by the hundred whose count is kept (a tab, maybe sorted): its
    /// last page.
    pub pages: Option<Pages>,
}

#[derive(Template)]
#[template(path = "grid/sheet.html")]
struct GridPage {
    layout: Layout,
    space_href: String,
    space_name: String,
    workbook_name: String,
    workbook_id: String,
    tabs: Vec<(String, String, bool)>,
    table: TablePartial,
    client_id: String,
    /// When the page began reading what it shows (see `Live::stream`).
    since: u64,
    sheet_id: String,
    csrf: String,
    workbook_actions: Vec<ActionView>,
    /// Every action's dialog, workbook and sheet.
    dialogs: Vec<ActionView>,
    /// The counts of the workbook's other sheets (the page adds this one's, kept live).
    other_counts: Counts,
    /// Records of the other sheets still being checked (`trackChanges`).
    other_checking: usize,
    /// The other sheets with records in error, as "Name: N", and this sheet's name: a
    /// workbook action's tooltip says where the errors are (probe 67f D6).
    other_error_sheets: String,
    sheet_name: String,
    /// The viewer's action job still running or awaiting acknowledgement (rendered HTML).
    job_panel: String,
    /// What the page came back from ("Deleted N records."), if anything.
    notice: String,
}

/// The cookie that tells the grid a delete sent it back (see [`deleted_notice`]).
const DELETED_COOKIE: &str = "wharf_deleted";

/// The notice of rows deleted from `sheet`, for the page the delete returns to (that
/// workbook's, that sheet's: probe 77a D2): it reads it once.
pub fn deleted_notice(state: &AppState, wb: &WorkbookId, sheet: &SheetId, rows: usize) -> Cookie<'static> {
    Cookie::build(DELETED_COOKIE, format!("{sheet}:{rows}"))
        .path(format!("/workbooks/{wb}"))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.base_url.starts_with("https://"))
        .max_age(CookieDuration::seconds(60))
        .finish()
}

/// The words of a notice the request carries ("Deleted 2 records."), if any.
fn notice_words(req: &HttpRequest, sheet: &SheetId) -> Option<String> {
    let cookie = req.cookie(DELETED_COOKIE)?;
    let (of, n) = cookie.value().split_once(':')?;
    let n: u64 = n.parse().ok().filter(|_| of == sheet.as_str())?;
    Some(format!("Deleted {}.", crate::words::records(n)))
}

fn columns(ctx: &SheetContext, view: &View) -> Vec<Column> {
    let counts = ctx.sheet.counts();
    ctx.config
        .fields
        .iter()
        .map(|f| Column {
            key: f.key.clone(),
            label: f.display_name().to_string(),
            type_name: f.field_type.name(),
            required: f.required,
            sorted: match (view.sort == f.key, view.dir.as_str()) {
                (true, "desc") => "descending",
                (true, _) => "ascending",
                _ => "none",
            },
            errors: counts.errors_by_field.get(&f.key).copied().unwrap_or(0),
            checks: listener_checks(&ctx.config, &f.key),
            computed: f.fixed(),
        })
        .collect()
}

/// The labels (else validators) of a field's `external` and `stored` constraints.
fn listener_checks(config: &SheetConfig, key: &str) -> Vec<String> {
    let fields = config.json.get("fields").and_then(|f| f.as_array());
    let Some(field) = fields.and_then(|fs| fs.iter().find(|f| f["key"] == key)) else {
        return Vec::new();
    };
    let constraints = field.get("constraints").and_then(|c| c.as_array());
    constraints
        .into_iter()
        .flatten()
        .filter(|c| matches!(c["type"].as_str(), Some("external" | "stored")))
        .filter_map(|c| {
            c["label"]
                .as_str()
                .or(c["validator"].as_str())
                .map(str::to_string)
        })
        .collect()
}

/// What a grid page shows, loaded in one trip to the database.
pub struct Loaded {
    pub space_name: String,
    pub workbook: Workbook,
    pub sheets: Vec<Sheet>,
    pub ctx: SheetContext,
    pub table: TablePartial,
}

/// Loads the workbook, its sheets and the page of records the view asks for.
pub async fn load(
    state: &AppState,
    viewer: &Viewer,
    workbook_id: &WorkbookId,
    mut view: View,
) -> Result<Loaded, AppError> {
    let env = viewer.environment_id().clone();
    let wid = workbook_id.clone();
    let csrf = viewer.csrf().to_string();
    let viewer = viewer.clone();
    let (indexer, pool) = (state.indexer.clone(), state.pool.clone());
    let costly = !view.q.trim().is_empty() || !view.sort.is_empty();
    state
        .read_db_if(costly, move |conn| {
            // The fields and the records from one snapshot: a field change between them
            // would show values under the wrong columns.
            crate::db::read_snapshot(conn, |conn| {
                let workbook = workbook::find(conn, &env, &wid)?.ok_or(AppError::NotFound("workbook"))?;
                viewer.check_reach_as(&workbook.space_id, "workbook")?;
                let space_name = crate::model::space::find(conn, &env, &workbook.space_id)?
                    .map(|s| s.name)
                    .unwrap_or_default();
                let sheets = sheet::list_in_workbook(conn, &wid)?;
                let chosen = SheetId::parse(&view.sheet)
                    .and_then(|id| sheets.iter().find(|s| s.id == id))
                    .or_else(|| sheets.first())
                    .ok_or(AppError::NotFound("sheet"))?
                    .clone();
                let ctx = sheet::context_from(chosen, env.clone(), workbook.space_id.clone(), &sheets)?;
                view.sheet = ctx.sheet.id.to_string();
                let view_notice = view.forget_removed(&ctx.config);
                let (q, query_error) = match query_for(&ctx.config, &view)? {
                    Ok(q) => (Some(q), String::new()),
                    Err(e) => (None, e.message),
                };
                // A query that cannot be read shows its error instead of records.
                let q = q.unwrap_or_default();
                let mut q = q;
                let (rows, page_problem) = match query_error.is_empty() {
                    true => {
                        indexer.request_for(&pool, ctx.sheet.seq, ctx.sheet.counts().total, &q);
                        page_that_fits(conn, &ctx, &mut q)?
                    }
                    false => (Vec::new(), String::new()),
                };
                let mut table = table_from(&ctx, &view, &q, rows, wid.to_string(), csrf);
                table.query_error = query_error;
                table.page_problem = page_problem;
                table.view_notice = view_notice;
                if commit::tracks_changes(&ctx) {
                    let open = commit::open_records(conn, &ctx.sheet.id)?;
                    for row in &mut table.rows {
                        let id = RecordId::parse(&row.id).map_or(0, |r| r.0);
                        row.checking = open.checking.contains(&id);
                        row.unanswered = open.unanswered.contains(&id);
                    }
                    table.checking = open.checking.len();
                    let now = Situation {
                        checking: table.checking,
                        ..Situation::of(&table.counts)
                    };
                    recheck(&mut table.sheet_actions, &now);
                }
                Ok::<_, AppError>(Loaded {
                    space_name,
                    workbook,
                    sheets,
                    ctx,
                    table,
                })
            })
        })
        .await
}

fn table_from(
    ctx: &SheetContext,
    view: &View,
    q: &RecordQuery,
    mut rows: Vec<RecordRow>,
    workbook_id: String,
    csrf: String,
) -> TablePartial {
    let more = rows.len() as i64 > q.page_size;
    // Keyset pages read backwards hold their extra record at the front.
    if more && matches!(q.cursor, Cursor::Before(_) | Cursor::Last) {
        rows.remove(0);
    }
    rows.truncate(q.page_size as usize);
    let offset_paged = q.sort.is_some() || q.search_value.is_some() || q.filter_field.is_some();
    let narrowed = q.search_value.is_some() || q.ffql.is_some() || q.filter_field.is_some();
    let counts = ctx.sheet.counts();
    let pages = (offset_paged && !narrowed).then(|| {
        let total = match q.filter {
            Filter::Valid => counts.valid,
            Filter::Error => counts.error,
            Filter::All => counts.total,
        };
        Pages::of(&workbook_id, view, total)
    });
    let (has_prev, has_next) = match q.cursor {
        _ if offset_paged => (q.page_number > 1, more),
        Cursor::None => (false, more),
        Cursor::After(_) => (true, more),
        Cursor::Before(_) => (more, true),
        Cursor::Last => (more, false),
    };
    TablePartial {
        sheet_actions: actions_of(&ctx.config.json["actions"], "sheet", &ctx.sheet.counts()),
        workbook_id,
        sheet_id: ctx.sheet.id.to_string(),
        columns: columns(ctx, view),
        rows: rows.iter().map(|r| row_view(&ctx.config, r)).collect(),
        counts: ctx.sheet.counts(),
        has_prev,
        has_next,
        first_id: rows.first().map_or(0, |r| r.id),
        last_id: rows.last().map_or(0, |r| r.id),
        page: q.page_number,
        offset_paged,
        csrf,
        view: view.clone(),
        query_error: String::new(),
        page_problem: String::new(),
        view_notice: String::new(),
        locked: ctx.sheet.locked_at.is_some(),
        may_add: ctx.config.allows("add"),
        may_delete: ctx.config.allows("delete"),
        checking: 0,
        narrowed,
        pages,
    }
}

/// The view's page, as many records as fit the most a page may hold ([`record::PAGE_BYTES`]):
/// a page in id order (its links go on from its first and last records) is read shorter,
/// so a sheet of big cells stays usable; a sorted or searched page, numbered by the
/// hundred, says why it shows nothing instead.
fn page_that_fits(
    conn: &mut crate::db::AnyConnection,
    ctx: &SheetContext,
    q: &mut RecordQuery,
) -> Result<(Vec<RecordRow>, String), AppError> {
    let offset_paged = q.sort.is_some() || q.search_value.is_some() || q.filter_field.is_some();
    loop {
        let too_big = match record::query(conn, ctx, q) {
            Err(diesel::result::Error::QueryBuilderError(why)) => {
                match why.downcast::<record::PageTooBig>() {
                    Ok(too_big) => too_big,
                    Err(other) => return Err(diesel::result::Error::QueryBuilderError(other).into()),
                }
            }
            other => return Ok((other?, String::new())),
        };
        // The peeked record is one more than the page.
        let fit = too_big.records as i64 - 1;
        if offset_paged || fit < 1 || fit >= q.page_size {
            let words = format!(
                "The records here hold more than {} MiB of values, more than a page shows: narrow the view (a filter or a search), or download the sheet.",
                record::PAGE_BYTES / (1024 * 1024)
            );
            return Ok((Vec::new(), words));
        }
        q.page_size = fit;
    }
}

/// The FFQL part of a search box that starts with `filter:` (as Flatfile's does), with the
/// prefix blanked so positions in errors count from the start of the box.
pub(super) fn box_filter(text: &str) -> Option<String> {
    let trimmed = text.trim_start();
    let head = trimmed.get(..7)?;
    if !head.eq_ignore_ascii_case("filter:") {
        return None;
    }
    // Positions in errors count characters: one space for each character before the query.
    let lead = text[..text.len() - trimmed.len()].chars().count();
    Some(format!("{}{}", " ".repeat(lead + 7), &trimmed[7..]))
}

/// The record query for a view; unknown field keys are the person's mistake (400). A
/// `filter:` query in the search box that cannot be read is the inner error, to show.
pub(super) fn query_for(
    config: &SheetConfig,
    view: &View,
) -> Result<Result<RecordQuery, ffql::Error>, AppError> {
    let field = |param: &str, key: &str| -> Result<Option<usize>, AppError> {
        if key.is_empty() {
            return Ok(None);
        }
        config
            .field_index(key)
            .map(Some)
            .ok_or_else(|| AppError::bad_request(param, format!("this sheet has no field `{key}`")))
    };
    let sort = field("sort", &view.sort)?.map(|i| (i, view.dir == "desc"));
    let filter_text = box_filter(&view.q);
    let ffql = match filter_text.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(text) => match record::ffql_sql::compile(config, text) {
            Ok(node) => Some(node),
            Err(e) => return Ok(Err(e)),
        },
        None => None,
    };
    let search_value = Some(view.q.trim().to_string()).filter(|s| !s.is_empty() && filter_text.is_none());
    if search_value
        .as_ref()
        .is_some_and(|s| s.chars().count() > record::selection::MAX_SEARCH_CHARS)
    {
        // Said under the box, as a `filter:` it cannot read is.
        let message = record::selection::too_long_search();
        return Ok(Err(ffql::Error::new(ffql::Pos::default(), message)));
    }
    // "Errors in" a field narrows the All and Error tabs; the Valid tab's records have no
    // error anywhere, so it leaves the field out (as the bulk changes over the view do).
    let filter_field = match view.filter.as_str() {
        "valid" => None,
        _ => field("field", &view.field)?,
    };
    let offset_paged = sort.is_some() || search_value.is_some() || filter_field.is_some();
    let cursor = match (view.after, view.before, view.last) {
        _ if offset_paged => Cursor::None,
        (Some(a), _, _) => Cursor::After(a),
        (_, Some(b), _) => Cursor::Before(b),
        (_, _, true) => Cursor::Last,
        _ => Cursor::None,
    };
    Ok(Ok(RecordQuery {
        filter: match view.filter.as_str() {
            "valid" => Filter::Valid,
            "error" => Filter::Error,
            _ => Filter::All,
        },
        // The grid's "errors in" a field.
        filter_field,
        field_valid: false,
        search_value,
        search_field: field("qf", &view.qf)?,
        sort,
        ids: None,
        except: None,
        ffql,
        page_size: PAGE,
        // One extra record tells whether there is a next page.
        peek: true,
        page_number: view.page.unwrap_or(1).max(1),
        cursor,
    }))
}

pub async fn show(
    req: HttpRequest,
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    view: web::Query<View>,
) -> Result<HttpResponse, AppError> {
    let since = crate::web::live::LastChanges::now_ms();
    let wid = WorkbookId::parse(&path).ok_or(AppError::NotFound("workbook"))?;
    let loaded = load(&state, &user, &wid, view.into_inner()).await;
    let loaded = match (loaded, super::elsewhere::member(&user)) {
        (Err(e), Some(member)) if !is_htmx(&req) => {
            let next = req.uri().to_string();
            let kind = super::elsewhere::Kind::Workbook;
            return super::elsewhere::or_elsewhere(&state, member, kind, &path, &next, Err(e)).await;
        }
        (loaded, _) => loaded?,
    };
    let Loaded {
        space_name,
        workbook,
        sheets,
        ctx,
        table,
    } = loaded;
    if is_htmx(&req) {
        return render(&table);
    }
    let mut sources: Vec<String> = sheets.iter().map(|s| s.id.to_string()).collect();
    sources.push(workbook.id.to_string());
    let actor = user.actor();
    let pending = state
        .db(move |conn| crate::model::job_subject::latest_unacknowledged(conn, &sources, &actor))
        .await?;
    let sheet_ids: Vec<SheetId> = sheets.iter().map(|s| s.id.clone()).collect();
    let job_panel = super::grid_action_panel::page_panel(pending, user.csrf(), &workbook.id, &sheet_ids)?;
    // `trackChanges` commits still being checked in the other sheets hold workbook actions.
    let others: Vec<SheetId> = sheets
        .iter()
        .filter(|s| s.id != ctx.sheet.id)
        .map(|s| s.id.clone())
        .collect();
    let other_checking = state
        .db(move |conn| {
            let mut n = 0;
            for id in &others {
                n += commit::open_records(conn, id)?.checking.len();
            }
            Ok::<_, diesel::result::Error>(n)
        })
        .await?;
    let other_counts = sum(sheets.iter().filter(|s| s.id != ctx.sheet.id).map(|s| s.counts()));
    let other_error_sheets = sheets
        .iter()
        .filter(|s| s.id != ctx.sheet.id)
        .filter_map(|s| {
            let errors = s.counts().error;
            (errors > 0).then(|| format!("{}: {}", s.name, crate::extract::thousands(errors as u64)))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sheet_name = ctx.sheet.name.clone();
    let all_counts = sum(sheets.iter().map(|s| s.counts()));
    let stored: serde_json::Value = serde_json::from_str(&workbook.actions).unwrap_or_default();
    let workbook_now = Situation {
        checking: other_checking + table.checking,
        ..Situation::of(&all_counts)
    };
    let workbook_actions = actions_in(&stored, "workbook", &workbook_now);
    let sheet_dialogs = actions_of(&ctx.config.json["actions"], "sheet", &ctx.sheet.counts());
    let dialogs = actions_of(&stored, "workbook", &all_counts)
        .into_iter()
        .chain(sheet_dialogs)
        .collect();
    let tabs = sheets
        .into_iter()
        .map(|s| (s.id.to_string(), s.name, s.id == ctx.sheet.id))
        .collect();
    let notice = notice_words(&req, &ctx.sheet.id);
    let mut resp = render(&GridPage {
        layout: user.layout(format!("{} · {}", workbook.name, ctx.sheet.name), "spaces"),
        space_href: user.space_href(&workbook.space_id),
        space_name,
        workbook_name: workbook.name,
        workbook_id: workbook.id.to_string(),
        tabs,
        sheet_id: table.sheet_id.clone(),
        csrf: table.csrf.clone(),
        workbook_actions,
        dialogs,
        other_counts,
        other_checking,
        other_error_sheets,
        sheet_name,
        job_panel,
        notice: notice.clone().unwrap_or_default(),
        table,
        since,
        client_id: rand::distributions::DistString::sample_string(
            &rand::distributions::Alphanumeric,
            &mut rand::thread_rng(),
            16,
        ),
    })?;
    if notice.is_some() {
        let read = Cookie::build(DELETED_COOKIE, "")
            .path(format!("/workbooks/{wid}"))
            .finish();
        resp.add_removal_cookie(&read)
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::box_filter;

    #[test]
    fn a_box_filter_keeps_each_characters_place() {
        assert_eq!(box_filter("filter: a eq 1").as_deref(), Some("        a eq 1"));
        // An ideographic space is three bytes and one character: one space for it.
        let blanked = box_filter("\u{3000}FILTER: amount gt )").unwrap();
        assert_eq!(blanked.chars().position(|c| c == ')'), Some(19));
        assert_eq!(box_filter("search words"), None);
    }
}

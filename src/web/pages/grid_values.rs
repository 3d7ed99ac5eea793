//! A column's values with how many records of the grid's view hold each (its menu), each
//! a link that narrows the view to it.

use super::grid_bulk::ViewForm;
use super::grid_edit::context;
use super::grid_seen;
use super::render;
use crate::app::AppState;
use crate::auth::Viewer;
use crate::extract::thousands;
use crate::model::record::cells;
use crate::model::sheet::SheetContext;
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

#[derive(Template)]
#[template(path = "grid/_column_values.html")]
struct Values {
    workbook_id: String,
    sheet_id: String,
    label: String,
    values: Vec<(String, String, i64, i64)>,
    more: usize,
    /// The view counted (see `grid_seen`): the column's changes take these or none.
    count: String,
    expected: u64,
    upto: i64,
    selection: String,
    /// The view's status and field filters, kept by a click on a value.
    status_filter: String,
    field_filter: String,
}

/// Values listed in a column's menu.
const VALUES_SHOWN: usize = 50;

#[derive(Deserialize)]
pub struct ValuesQuery {
    column: String,
    #[serde(flatten)]
    view: ViewForm,
}

/// `GET /grid/{sheet}/values`: a column's distinct values with how many records hold
/// each, most held first; each filters the grid by it.
pub async fn values(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ValuesQuery>,
) -> Result<HttpResponse, AppError> {
    let ctx = context(&state, &viewer, &path).await?;
    let index = ctx.config.field_index(&query.column).ok_or_else(|| {
        AppError::bad_request("column", format!("this sheet has no field `{}`", query.column))
    })?;
    let q = query.view.query(&ctx)?;
    let seq = ctx.sheet.seq;
    let seen = ctx.clone();
    let (all, (expected, upto, selection)) = state
        .read_db(move |conn| {
            crate::db::read_snapshot(conn, |conn| {
                // The column's place is the records' own (a field change in between: 409).
                crate::model::sheet::check_fresh(conn, &seen)?;
                let all = cells::distinct(conn, seq, index, &q)?;
                Ok::<_, crate::model::ModelError>((all, grid_seen::count(conn, seq, &q)?))
            })
        })
        .await?;
    // Quoted: a key may hold spaces or be a word of FFQL (`or`, `eq`).
    let quote = |text: &str| format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""));
    let key = quote(&ctx.config.fields[index].key);
    let values = all
        .iter()
        .take(VALUES_SHOWN)
        .map(|v| {
            let parsed: Value = serde_json::from_str(&v.value).unwrap_or(Value::Null);
            let shown = crate::validate::display(&parsed);
            let condition = format!("{key} eq {}", quote(&shown));
            // The view's own query or search stays, joined with the value's.
            let filter = match view_as_ffql(&ctx, &query.view, &quote) {
                Some(view) => format!("filter: ({view}) and {condition}"),
                None => format!("filter: {condition}"),
            };
            (shown, filter, v.total, v.errors)
        })
        .collect();
    render(&Values {
        workbook_id: ctx.sheet.workbook_id.to_string(),
        sheet_id: ctx.sheet.id.to_string(),
        label: ctx.config.fields[index].display_name().to_string(),
        values,
        more: all.len().saturating_sub(VALUES_SHOWN),
        count: thousands(expected),
        expected,
        upto,
        selection,
        status_filter: query.view.filter.clone(),
        field_filter: query.view.field.clone(),
    })
}

/// The search box of a view as FFQL, for a click on a value to keep: a `filter:` query as
/// written, a search as the substring it looks for in what cells show, in its column or
/// any (probe 71d D1: a click dropped the search, and the grid held every Canada row
/// instead of the 297 Canadian Lovelaces counted).
fn view_as_ffql(ctx: &SheetContext, view: &ViewForm, quote: &dyn Fn(&str) -> String) -> Option<String> {
    if let Some(filter) = super::grid::box_filter(&view.q) {
        let filter = filter.trim();
        return (!filter.is_empty()).then(|| filter.to_string());
    }
    let term = view.q.trim();
    if term.is_empty() {
        return None;
    }
    // `%`, `_` and `\` are plain characters in a search.
    let mut pattern = String::from("%");
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    let column = ctx
        .config
        .field_index(&view.qf)
        .map(|i| format!("{} ", quote(&ctx.config.fields[i].key)));
    Some(format!("{}ilike {}", column.unwrap_or_default(), quote(&pattern)))
}

//! How many records a narrowed grid view holds (a search, a `filter:` query, errors in a
//! field), counted after the page has shown, so a search answers at once however many it
//! matches; and, for a view numbered by the hundred, its last page.

use super::grid::{query_for, PAGE};
use super::grid_view::View;
use super::render;
use crate::app::AppState;
use crate::auth::Viewer;
use crate::extract::thousands;
use crate::model::record::cells;
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use askama::Template;

#[derive(Template)]
#[template(path = "grid/_view_count.html")]
struct ViewCount {
    /// "1,150 records match", or why they were not counted.
    words: String,
    /// The pager's "of N" and Last link, for a view numbered by the hundred.
    pages: Option<Pages>,
}

pub struct Pages {
    pub page: i64,
    pub last: i64,
    /// The address of the last page (`/workbooks/...?...&page=N`).
    pub last_href: String,
}

impl Pages {
    /// A view of `total` records numbered by the hundred, seen at `view.page`.
    pub fn of(workbook_id: &str, view: &View, total: i64) -> Pages {
        let last = ((total + PAGE - 1) / PAGE).max(1);
        Pages {
            page: view.page.unwrap_or(1).max(1),
            last,
            last_href: format!("/workbooks/{workbook_id}?{}", view.at("page", &last.to_string())),
        }
    }
}

/// `GET /grid/{sheet}/count?<view>`: the view's count, as the grid shows it.
pub async fn count(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    view: web::Query<View>,
) -> Result<HttpResponse, AppError> {
    let ctx = super::grid_edit::context(&state, &viewer, &path).await?;
    let mut view = view.into_inner();
    view.sheet = ctx.sheet.id.to_string();
    view.forget_removed(&ctx.config);
    // A query the grid could not read shows its own error there; nothing to count.
    let Ok(q) = query_for(&ctx.config, &view)? else {
        return render(&ViewCount {
            words: String::new(),
            pages: None,
        });
    };
    let seq = ctx.sheet.seq;
    let numbered = q.sort.is_some() || q.search_value.is_some() || q.filter_field.is_some();
    let counted = state
        .read_db(move |conn| cells::count_selected(conn, seq, &q))
        .await;
    let (words, pages) = match counted {
        Ok(n) => {
            let words = match n {
                0 => "no record matches".to_string(),
                1 => "1 record matches".to_string(),
                n => format!("{} records match", thousands(n as u64)),
            };
            let workbook_id = ctx.sheet.workbook_id.to_string();
            (words, numbered.then(|| Pages::of(&workbook_id, &view, n)))
        }
        // Too costly to count within the read budget, or no connection free: the page
        // itself was shown; say so rather than leave "counting" up.
        Err(AppError::Invalid(_) | AppError::Unavailable) => ("too many to count quickly".to_string(), None),
        Err(e) => return Err(e),
    };
    render(&ViewCount { words, pages })
}

//! A guest's view of one of its spaces: the workbooks, and the Files tab's uploads, list
//! and "Import into..." (the same partials and routes the team uses).

use super::{render, Layout};
use crate::app::AppState;
use crate::auth::GuestAccess;
use crate::ids::SpaceId;
use crate::model::{sheet, space, workbook, ModelError};
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use askama::Template;

/// A workbook: id, name, and each sheet's name and record count.
pub type WorkbookCard = (String, String, Vec<(String, i64)>);

#[derive(Template)]
#[template(path = "guests/space.html")]
struct SpacePage {
    layout: Layout,
    id: String,
    name: String,
    workbooks: Vec<WorkbookCard>,
    documents: Vec<(String, String, String)>,
}

/// A space's documents (id, title, body), oldest first, as its pages show them.
pub fn documents(
    conn: &mut crate::db::AnyConnection,
    space: &SpaceId,
) -> Result<Vec<(String, String, String)>, ModelError> {
    Ok(crate::model::document::list_in_space(conn, space)?
        .into_iter()
        .map(|d| (d.id.to_string(), d.title, d.body))
        .collect())
}

/// The workbooks of a space, for a guest's pages.
pub fn workbook_cards(
    conn: &mut crate::db::AnyConnection,
    space: &space::Space,
) -> Result<Vec<WorkbookCard>, ModelError> {
    let mut cards = Vec::new();
    for w in workbook::list_for_pages(conn, space)? {
        let sheets = sheet::list_in_workbook(conn, &w.id)?
            .into_iter()
            .map(|sh| (sh.name, sh.total_count))
            .collect();
        cards.push((w.id.to_string(), w.name, sheets));
    }
    Ok(cards)
}

pub async fn show(
    guest: GuestAccess,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = SpaceId::parse(&path).ok_or(AppError::NotFound("space"))?;
    guest.check_space(&id)?;
    let env = guest.guest.environment_id.clone();
    let (name, workbooks, documents) = state
        .db(move |conn| {
            let s = space::find(conn, &env, &id)?.ok_or(ModelError::NotFound("space"))?;
            let cards = workbook_cards(conn, &s)?;
            let documents = documents(conn, &s.id)?;
            Ok::<_, ModelError>((s.name, cards, documents))
        })
        .await?;
    render(&SpacePage {
        layout: Layout::guest(&guest, name.clone()),
        id: path.into_inner(),
        name,
        workbooks,
        documents,
    })
}

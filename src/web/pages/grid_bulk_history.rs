//! A sheet's bulk changes, newest first, opened from the grid's toolbar: what each did, who
//! made it and when, and Undo on the viewer's own (probe 78c D10: a bulk change could be
//! undone only from its toast, gone after a reload). A guest sees only its own.

use super::grid_edit::context;
use super::render;
use crate::app::AppState;
use crate::auth::Viewer;
use crate::model::record::bulk_history::{self, BulkChange};
use crate::model::record::history::actor_name;
use crate::web::error::AppError;
use crate::web::when::When;
use actix_web::{web, HttpResponse};
use askama::Template;

/// Entries the panel shows.
const SHOWN: i64 = 20;

/// The event an undo's answer announces, on which an open panel asks for its list again.
pub const UNDONE_EVENT: &str = "bulk-undone";

pub struct Entry {
    pub id: String,
    pub at: When,
    pub who: String,
    pub summary: String,
    pub changed: i64,
    /// Who undid it ("" when it is not undone), and whether that undo still runs.
    pub undone_by: String,
    pub undoing: bool,
    /// Its job still writes it.
    pub running: bool,
    /// The viewer made it and may undo it now.
    pub undoable: bool,
}

#[derive(Template)]
#[template(path = "grid/_bulk_history.html")]
struct BulkHistory {
    sheet_id: String,
    sheet_name: String,
    csrf: String,
    entries: Vec<Entry>,
    may_undo: bool,
}

/// `GET /grid/{sheet}/bulk`: the panel.
pub async fn show(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ctx = context(&state, &viewer, &path).await?;
    let may_undo = ctx.config.refuse_unless("edit").is_ok() && ctx.sheet.locked_at.is_none();
    let (sheet, me, guest) = (
        ctx.sheet.id.clone(),
        viewer.actor(),
        matches!(viewer, Viewer::Guest(_)),
    );
    let entries = state
        .db(move |conn| {
            let mut entries = Vec::new();
            for b in bulk_history::recent(conn, &sheet, if guest { 500 } else { SHOWN })? {
                if guest && b.actor != me {
                    continue;
                }
                entries.push(entry(conn, b, &me, may_undo)?);
                if entries.len() as i64 == SHOWN {
                    break;
                }
            }
            Ok::<_, crate::model::ModelError>(entries)
        })
        .await?;
    render(&BulkHistory {
        sheet_id: ctx.sheet.id.to_string(),
        sheet_name: ctx.sheet.name.clone(),
        csrf: viewer.csrf().to_string(),
        entries,
        may_undo,
    })
}

fn entry(
    conn: &mut crate::db::AnyConnection,
    b: BulkChange,
    me: &str,
    may_undo: bool,
) -> Result<Entry, crate::model::ModelError> {
    let running = match &b.job_id {
        Some(job) => bulk_history::still_running(conn, job)?,
        None => false,
    };
    let undone_by = match &b.undone_by {
        Some(actor) if b.undone_at.is_some() => actor_name(conn, actor, me)?,
        _ => String::new(),
    };
    Ok(Entry {
        id: b.id.to_string(),
        at: When::new(&b.created_at),
        who: actor_name(conn, &b.actor, me)?,
        summary: b.summary,
        changed: b.changed,
        undoing: b.undo_pending,
        undoable: may_undo && b.actor == me && b.undone_at.is_none() && !running && b.changed > 0,
        undone_by,
        running,
    })
}

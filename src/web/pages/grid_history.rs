//! A record's history in the grid (who, when, which cell, old and new value), opened from
//! the row, and undoing one's own last change to a record when nobody changed that cell
//! since.

use super::grid_edit::context;
use super::render;
use crate::app::AppState;
use crate::auth::Viewer;
use crate::ids::RecordId;
use crate::model::commit::Hooks;
use crate::model::record::history::{self, Change};
use crate::model::record::{self, RecordUpdate};
use crate::model::sheet::{self, SheetContext};
use crate::model::ModelError;
use crate::validate::display;
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use askama::Template;
use std::collections::{BTreeMap, HashSet};

/// Changes shown in the panel.
const SHOWN: i64 = 100;

pub struct ChangeRow {
    /// The change's id: the undo button names the change it shows.
    pub id: i64,
    pub who: String,
    pub at: crate::web::when::When,
    pub field: String,
    pub old: String,
    pub new: String,
}

#[derive(Template)]
#[template(path = "grid/_history.html")]
struct HistoryPartial {
    sheet_id: String,
    record_id: String,
    /// The record's first value shown, which names it better than its id (probe 67f D3).
    named: String,
    changes: Vec<ChangeRow>,
    /// The viewer's own last change, when it can still be undone.
    undo: Option<ChangeRow>,
    notice: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct UndoForm {
    #[serde(default)]
    csrf_token: String,
    /// The change the button showed.
    change: Option<i64>,
}

/// The viewer's newest change to a field of the record still there, if no one changed
/// that cell after it and the record is still there (a deleted record's history has nothing to undo).
fn undoable(
    conn: &mut crate::db::AnyConnection,
    ctx: &SheetContext,
    rid: RecordId,
    actor: &str,
) -> Result<Option<Change>, ModelError> {
    if !crate::model::record::exists(conn, ctx.sheet.seq, rid.0)? {
        return Ok(None);
    }
    let all = history::authors_of_record(conn, &ctx.sheet.id, rid, 10_000)?;
    // An undo and the change it undid are left out: undo again steps further back rather
    // than undoing the undo (probe 69e D7). So is a bulk change undone, also in the cells
    // its undo kept as someone changed them since (probe 74a D4).
    let bulks_undone = crate::model::record::bulk_history::undone_among(
        conn,
        all.iter().filter_map(|c| c.bulk_id.as_deref()),
    )?;
    let paired: HashSet<i64> = all
        .iter()
        .filter_map(|c| c.undoes.map(|undone| [c.id, undone]))
        .flatten()
        .chain(
            all.iter()
                .filter(|c| c.bulk_id.as_ref().is_some_and(|b| bulks_undone.contains(b)))
                .map(|c| c.id),
        )
        .collect();
    // A removed field's changes are history only (see `history::retire_field`): the newest
    // change to a field still there is the one to undo.
    let Some(mine) = all
        .iter()
        .find(|c| c.actor == actor && !paired.contains(&c.id) && ctx.config.field_index(&c.field).is_some())
    else {
        return Ok(None);
    };
    if all
        .iter()
        .any(|c| c.id > mine.id && c.field == mine.field && !paired.contains(&c.id))
    {
        return Ok(None);
    }
    Ok(history::one(conn, &ctx.sheet.id, mine.id)?)
}

/// A value as the panel shows it: at most as many characters as a grid cell.
fn shown(value: &serde_json::Value) -> String {
    cut(display(value))
}

fn cut(text: String) -> String {
    match text.char_indices().nth(super::grid_rows::CELL_CHARS) {
        None => text,
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

fn label(ctx: &SheetContext, key: &str) -> String {
    ctx.config
        .field_index(key)
        .map(|i| ctx.config.fields[i].display_name().to_string())
        .unwrap_or_else(|| key.to_string())
}

/// A change's old value as the cell held it: the spelling a change of spelling replaced
/// (`1.000` confirmed as 1000), not the value it reads as, the same as the new one.
fn respelling_of(c: &Change) -> serde_json::Value {
    let old = c.old();
    match c.old_raw() {
        Some(raw) if display(&old) == display(&c.new_value()) => raw,
        _ => old,
    }
}

/// A change as `viewer` (its actor) reads it.
fn row(
    conn: &mut crate::db::AnyConnection,
    ctx: &SheetContext,
    c: &Change,
    viewer: &str,
) -> Result<ChangeRow, ModelError> {
    Ok(ChangeRow {
        id: c.id,
        who: history::actor_name(conn, &c.actor, viewer)?,
        at: crate::web::when::When::new(&c.created_at),
        field: label(ctx, &c.field),
        old: shown(&respelling_of(c)),
        new: shown(&put_back(conn, ctx, c)?),
    })
}

/// A change's new value as the cell shows it: an undo that put back a spelling only
/// (`1000` back to `1.000`) shows the spelling it put back (probe 74a D3: `1000` back to
/// `1000`).
fn put_back(
    conn: &mut crate::db::AnyConnection,
    ctx: &SheetContext,
    c: &Change,
) -> Result<serde_json::Value, ModelError> {
    let new = c.new_value();
    let Some(undone) = c.undoes.filter(|_| display(&c.old()) == display(&new)) else {
        return Ok(new);
    };
    let undone = history::one(conn, &ctx.sheet.id, undone)?;
    Ok(undone.and_then(|u| u.old_raw()).unwrap_or(new))
}

async fn panel(
    state: &AppState,
    viewer: &Viewer,
    ctx: SheetContext,
    rid: RecordId,
    notice: Option<String>,
) -> Result<HttpResponse, AppError> {
    let actor = viewer.actor();
    let sheet_id = ctx.sheet.id.to_string();
    let (changes, undo, named) = state
        .db(move |conn| {
            let record = crate::model::record::load_rows(conn, ctx.sheet.seq, &[rid.0])?
                .into_iter()
                .next();
            let named = record
                .as_ref()
                .map(|r| r.checked(&ctx.config).vals)
                .and_then(|vals| vals.iter().map(shown).find(|t| !t.trim().is_empty()))
                .unwrap_or_default();
            let changes = history::of_record_shown(conn, &ctx.sheet.id, rid, SHOWN)?
                .iter()
                .map(|c| row(conn, &ctx, c, &actor))
                .collect::<Result<Vec<_>, _>>()?;
            // Neither in the sheet nor in its history (another sheet's record): not here.
            if changes.is_empty() && record.is_none() {
                return Err(ModelError::NotFound("record"));
            }
            let undo = match undoable(conn, &ctx, rid, &actor)? {
                Some(c) => Some(row(conn, &ctx, &c, &actor)?),
                None => None,
            };
            Ok::<_, ModelError>((changes, undo, named))
        })
        .await?;
    render(&HistoryPartial {
        sheet_id,
        record_id: rid.to_string(),
        named,
        changes,
        undo,
        notice,
    })
}

fn record_id(raw: &str) -> Result<RecordId, AppError> {
    RecordId::parse(raw).ok_or(AppError::NotFound("record"))
}

pub async fn show(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (sheet_raw, record_raw) = path.into_inner();
    let ctx = context(&state, &viewer, &sheet_raw).await?;
    panel(&state, &viewer, ctx, record_id(&record_raw)?, None).await
}

/// Puts back the value the viewer's last change replaced (itself a change, kept in the
/// history). Refused when someone changed that cell since.
pub async fn undo(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: crate::web::input::Form<UndoForm>,
) -> Result<HttpResponse, AppError> {
    viewer.check_csrf(&form.csrf_token)?;
    let shown = form.change;
    let (sheet_raw, record_raw) = path.into_inner();
    let rid = record_id(&record_raw)?;
    let ctx = context(&state, &viewer, &sheet_raw).await?;
    // Made again on the fields as they are when a field change overtakes it.
    let reload = async || context(&state, &viewer, &sheet_raw).await;
    let (ctx, written) = crate::web::fresh_fields::retry(ctx, reload, async |ctx| {
        // A locked sheet takes no changes from people.
        ctx.sheet.check_unlocked()?;
        ctx.config.refuse_unless("edit").map_err(AppError::Forbidden)?;
        let (actor, ctx2) = (viewer.actor(), ctx.clone());
        let written = state
            .db(move |conn| {
                crate::db::write_tx(conn, |conn| {
                    sheet::refuse_locked_now(conn, &ctx2)?;
                    let change = undoable(conn, &ctx2, rid, &actor)?.ok_or_else(|| {
                        ModelError::Conflict(
                            "nothing to undo: you have no change here, someone changed that cell after you, \
                         its field was removed, or the record was deleted"
                                .into(),
                        )
                    })?;
                    // The change the button showed, not one made since in another tab
                    // (probe 49c 2).
                    if shown.is_some_and(|id| id != change.id) {
                        return Err(ModelError::Conflict(format!(
                            "your last change here is now another one ({}); look at the history again before you undo",
                            label(&ctx2, &change.field)
                        )));
                    }
                    let update = RecordUpdate {
                        id: rid,
                        values: BTreeMap::from([(change.field.clone(), change.old())]),
                        // What listener code said of the old value, said again.
                        messages: Some(change.old_messages())
                            .filter(|said| !said.is_empty())
                            .map(|said| (change.field.clone(), said))
                            .into_iter()
                            .collect(),
                        metadata: None,
                        config: None,
                        uploaded: change.old_raw().map(|raw| (change.field.clone(), raw)).into_iter().collect(),
                        // A person's own: the value a cell holds, spelt as they spell it, confirms it.
                        confirms: true,
                    };
                    record::config::refuse_locked(conn, ctx2.sheet.seq, std::slice::from_ref(&update))?;
                    let before = history::newest_of_cell(conn, &change)?;
                    let written = record::update(conn, &ctx2, &[update], &actor, &Hooks::Run)?;
                    history::mark_undo(conn, &change, before)?;
                    Ok::<_, ModelError>((written.also_changed, label(&ctx2, &change.field)))
                })
            })
            .await?;
        Ok((ctx, written))
    })
    .await?;
    let (also_changed, field) = written;
    // Every open grid of the sheet shows the row again, this one included.
    state.live.publish(&ctx.sheet.id, None);
    state.live.publish_each(&also_changed);
    panel(
        &state,
        &viewer,
        ctx,
        rid,
        Some(format!("Undone: {field} is back to its earlier value.")),
    )
    .await
}

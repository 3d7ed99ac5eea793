//! Deleting a sheet: the records pointing into it checked again, `sheet:deleted`, and the
//! Submits that froze it dropped; a file's workbook keeps its sheets.

use super::event::{self, Context};
use super::sheet::{load_context, lock_for_write};
use super::{ModelError, ModelResult};
use crate::db::schema::sheets;
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, SheetId};
use diesel::prelude::*;

/// Deletes a sheet of the environment (its records go with it) and records the event.
/// Answers the storage keys of the records the workbook's Submits froze of the sheet, for
/// the caller to delete (see [`super::submission::drop_deleted`]).
pub fn delete(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    id: &SheetId,
    actor: &str,
    here: Option<&str>,
) -> ModelResult<Vec<String>> {
    crate::db::write_tx(conn, |conn| {
        let mut ctx = load_context(conn, environment_id, id)?;
        ctx.referrers.retain(|r| &r.sheet_id != id);
        lock_for_write(conn, &ctx.write_set())?;
        let (sheet, space_id) = (&ctx.sheet, &ctx.space_id);
        if let Some(wb) = super::workbook::find(conn, environment_id, &sheet.workbook_id)? {
            super::file::refuse_extracted(conn, &wb)?;
        }
        // Of two deletes at once, the second finds nothing left (probe 70b D3: both said 200).
        if diesel::delete(sheets::table.find(&sheet.id)).execute(conn)? == 0 {
            return Err(ModelError::NotFound("sheet"));
        }
        // Records that pointed into the sheet can no longer match anything.
        crate::model::record::recheck_referrers(conn, &ctx, None, actor)?;
        let ectx = Context::new(environment_id, actor)
            .space(space_id)
            .workbook(&sheet.workbook_id)
            .sheet(&sheet.id)
            .sheet_slug(&sheet.slug);
        event::emit(
            conn,
            &ectx,
            "sheet:deleted",
            serde_json::json!({"name": sheet.name}),
        )?;
        let why = format!("the sheet {} was deleted", sheet.name);
        let keys = super::submission::drop_deleted(
            conn,
            &sheet.workbook_id,
            Some(sheet.id.as_str()),
            &why,
            actor,
            here,
        )?;
        Ok(keys)
    })
}

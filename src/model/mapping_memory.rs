//! Confirmed mappings, remembered per destination sheet and set of source headers, so the
//! next file with the same headers maps itself.

use super::now;
use crate::db::schema::remembered_mappings;
use crate::db::AnyConnection;
use crate::ids::SheetId;
use diesel::prelude::*;
use std::collections::BTreeMap;

/// Source header (as written) → destination field key.
pub type Remembered = BTreeMap<String, String>;

pub fn remember(
    conn: &mut AnyConnection,
    sheet_id: &SheetId,
    fingerprint: &str,
    mapping: &Remembered,
) -> QueryResult<()> {
    let text = serde_json::to_string(mapping).unwrap_or_else(|_| "{}".into());
    crate::db::write_tx(conn, |conn| {
        diesel::delete(remembered_mappings::table.find((sheet_id, fingerprint))).execute(conn)?;
        diesel::insert_into(remembered_mappings::table)
            .values((
                remembered_mappings::sheet_id.eq(sheet_id),
                remembered_mappings::fingerprint.eq(fingerprint),
                remembered_mappings::mapping.eq(text),
                remembered_mappings::updated_at.eq(now()),
            ))
            .execute(conn)?;
        Ok(())
    })
}

pub fn recall(
    conn: &mut AnyConnection,
    sheet_id: &SheetId,
    fingerprint: &str,
) -> QueryResult<Option<Remembered>> {
    let text: Option<String> = remembered_mappings::table
        .find((sheet_id, fingerprint))
        .select(remembered_mappings::mapping)
        .first(conn)
        .optional()?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

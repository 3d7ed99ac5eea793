//! The records a page's reference cells point at, as Flatfile's `links` (`includeLinks`,
//! what `record.getLinks()` reads in a record hook): for each reference cell, the target
//! sheet's records holding its value in the target field, found through the target
//! field's kept keys (a referenced field always keeps them).

use super::keys;
use super::write::load;
use super::{PageTooBig, RecordRow, PAGE_BYTES};
use crate::blueprint::SheetConfig;
use crate::db::AnyConnection;
use crate::model::sheet::{self, SheetContext};
use crate::model::ModelResult;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

/// At most this many linked records per cell: a reference to a field that is not unique
/// could otherwise carry a whole sheet into every cell of a page.
pub const MAX_PER_CELL: usize = 20;

/// Linked records of one page.
#[derive(Default)]
pub struct Links {
    /// The target sheet's fields, by the reference field's position.
    pub configs: HashMap<usize, SheetConfig>,
    /// The target records, each loaded once however many cells point at it.
    pub rows: Vec<RecordRow>,
    /// For each record id: by reference field position, places in `rows`.
    pub cells: HashMap<i64, BTreeMap<usize, Vec<usize>>>,
}

/// Finds the links of `rows` (records of `ctx`'s sheet). A reference whose target sheet
/// or field is gone links to nothing.
pub fn of(conn: &mut AnyConnection, ctx: &SheetContext, rows: &[RecordRow]) -> ModelResult<Links> {
    let mut links = Links::default();
    if rows.is_empty() || ctx.refs.iter().all(Option::is_none) {
        return Ok(links);
    }
    let vals: Vec<Vec<Value>> = rows
        .iter()
        .map(|r| serde_json::from_str(&r.vals).unwrap_or_default())
        .collect();
    let mut placed: HashMap<(i64, i64), usize> = HashMap::new();
    for (i, target) in ctx.refs.iter().enumerate() {
        let Some((target, target_id)) = target.as_ref().and_then(|t| Some((t, t.sheet_id.as_ref()?))) else {
            continue;
        };
        let Some((target_sheet, _)) = sheet::find(conn, &ctx.environment_id, target_id)? else {
            continue;
        };
        // One key a cell, or one per record a reference-list names.
        let field = &ctx.config.fields[i];
        let norms: Vec<Vec<String>> = vals
            .iter()
            .map(|v| {
                keys::norms_of_cell(
                    field,
                    v.get(i).unwrap_or(&Value::Null),
                    target.case_sensitive,
                    false,
                )
            })
            .collect();
        let wanted: Vec<String> = norms
            .iter()
            .flatten()
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let mut holders = keys::holders(conn, target_id, target.field_index as i32, &wanted)?;
        for ids in holders.values_mut() {
            ids.sort_unstable();
            ids.truncate(MAX_PER_CELL);
        }
        let needed: Vec<i64> = holders
            .values()
            .flatten()
            .filter(|id| !placed.contains_key(&(target_sheet.seq, **id)))
            .copied()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        for row in load(conn, target_sheet.seq, &needed)? {
            placed.insert((target_sheet.seq, row.id), links.rows.len());
            links.rows.push(row);
        }
        for (row, cell) in rows.iter().zip(&norms) {
            let mut at: Vec<usize> = Vec::new();
            for id in cell.iter().filter_map(|n| holders.get(n)).flatten() {
                if let Some(place) = placed.get(&(target_sheet.seq, *id)) {
                    if !at.contains(place) && at.len() < MAX_PER_CELL {
                        at.push(*place);
                    }
                }
            }
            if !at.is_empty() {
                links.cells.entry(row.id).or_default().insert(i, at);
            }
        }
        links.configs.insert(i, target_sheet.parsed_config()?);
    }
    within_budget(rows, &links)?;
    Ok(links)
}

/// A page and the copies of linked records it carries stay within what one page may hold
/// ([`PAGE_BYTES`]): each reference cell carries its records whole.
fn within_budget(rows: &[RecordRow], links: &Links) -> ModelResult<()> {
    let mut bytes = 0;
    for (fit, row) in rows.iter().enumerate() {
        bytes += row.stored_bytes();
        for at in links
            .cells
            .get(&row.id)
            .into_iter()
            .flat_map(|c| c.values())
            .flatten()
        {
            bytes += links.rows[*at].stored_bytes();
        }
        if bytes > PAGE_BYTES {
            let too_big = PageTooBig { records: fit };
            return Err(diesel::result::Error::QueryBuilderError(Box::new(too_big)).into());
        }
    }
    Ok(())
}

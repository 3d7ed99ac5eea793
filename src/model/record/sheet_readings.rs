//! A few records saved on their own (a grid cell, a listener's update) say nothing of how
//! their field writes numbers: `1.000` typed into a column of `1.234,56` was read as 1,
//! unsaid, where the import warned for the very same text (probe 67f D9). When such an
//! update writes a number that reads two ways, the field's stored inputs say instead.

use super::RecordUpdate;
use crate::blueprint::FieldType;
use crate::db::AnyConnection;
use crate::model::sheet::SheetContext;
use crate::validate::{Evidence, Reading};
use diesel::QueryResult;
use serde_json::Value;

/// Updates of at most this many records look at their sheet; a bigger batch shows its own.
const FEW: usize = 20;
/// Records of the sheet looked at.
const SAMPLE: i64 = 2_000;

/// `readings` (the update's own, `None`: nothing to say), with a number field read as its
/// sheet's stored inputs write it where the update writes a number that reads two ways.
pub(super) fn with_sheets(
    conn: &mut AnyConnection,
    ctx: &SheetContext,
    updates: &[RecordUpdate],
    readings: Option<Vec<Reading>>,
) -> QueryResult<Option<Vec<Reading>>> {
    if updates.len() > FEW {
        return Ok(readings);
    }
    let fields = &ctx.config.fields;
    let mut out = readings
        .clone()
        .unwrap_or_else(|| vec![Reading::Alone; fields.len()]);
    let mut changed = false;
    for (i, f) in fields.iter().enumerate() {
        if !matches!(f.field_type, FieldType::Number { .. }) || out.get(i) != Some(&Reading::Alone) {
            continue;
        }
        let two_ways = updates
            .iter()
            .filter_map(|u| u.values.get(&f.key))
            .any(|v| match v {
                Value::String(s) => {
                    let s = s.trim();
                    s.contains([',', '.']) && !crate::validate::decimal_point(s)
                }
                _ => false,
            });
        if !two_ways {
            continue;
        }
        let (inputs, _) = super::column_inputs_after(conn, ctx.sheet.seq, (0, i64::MAX), SAMPLE, &[i], &[])?;
        let mut evidence = Evidence::default();
        for row in &inputs {
            evidence.add(&row[0]);
        }
        if evidence.reading(&f.field_type) == Reading::DecimalCommas {
            out[i] = Reading::DecimalCommas;
            changed = true;
        }
    }
    Ok(if changed { Some(out) } else { readings })
}

//! One source record of a mapping as the destination's inputs: its columns in the
//! destination's field order, enum values translated as the plan says.

use super::plan::{self, text_of};
use serde_json::Value;

/// One source record's inputs in the destination's field order, enum values mapped, and
/// the uploads of the cells mapped so. A source column is moved into its last use
/// (`moves`) and copied into any use before it.
pub(super) fn map_row(
    mut inputs: Vec<Value>,
    resolved: &plan::Resolved,
    moves: &[bool],
) -> (Vec<Value>, Vec<(usize, Value)>) {
    let columns = &resolved.columns;
    let mut uploaded = Vec::new();
    let mapped = (0..columns.len())
        .map(|di| {
            let Some(si) = columns[di] else { return Value::Null };
            let Some(input) = inputs.get_mut(si) else {
                return Value::Null;
            };
            let v = match moves[di] {
                true => std::mem::take(input),
                false => input.clone(),
            };
            let unseen = resolved.unseen[di].as_ref();
            if resolved.enums[di].is_empty() && unseen.is_none() {
                return v;
            }
            let translate = |text: String| {
                resolved.enums[di]
                    .get(plan::one_line_ending(&text).as_ref())
                    .cloned()
                    .or_else(|| unseen.and_then(|u| u.translate(&text)))
            };
            if resolved.lists[di] && !crate::validate::is_empty(&v) {
                // Each item of an enum-list's cell, the others kept.
                let items = crate::validate::list_items(&v);
                let mut any = false;
                let list = items
                    .into_iter()
                    .map(|item| match translate(item.clone()) {
                        Some(to) => {
                            any = true;
                            to
                        }
                        None => Value::String(item),
                    })
                    .collect();
                if any {
                    uploaded.push((di, v));
                }
                return Value::Array(list);
            }
            match translate(text_of(&v)) {
                Some(to) => {
                    uploaded.push((di, v));
                    to
                }
                None => v,
            }
        })
        .collect();
    (mapped, uploaded)
}

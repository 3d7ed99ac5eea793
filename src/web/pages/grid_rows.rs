//! A record as the grid shows it: its row, its cells (text, messages, whether it may be
//! edited there), and the editor a field gets.

use crate::blueprint::{FieldType, SheetConfig};
use crate::model::record::RecordRow;
use crate::validate::{display, MessageType};

pub struct CellView {
    pub key: String,
    /// `field=<key>`, escaped: a key may hold any character (`/`, `?`, `#`, `..`), so it
    /// travels in the query string, never in the path.
    pub field_query: String,
    pub text: String,
    pub error: String,
    pub warn: String,
    /// Listener code's `info` messages (`record.addInfo`), shown when there is nothing worse.
    pub info: String,
    /// Computed or read-only: shown, not edited in the grid.
    pub fixed: bool,
}

pub struct RowView {
    pub id: String,
    pub valid: bool,
    pub cells: Vec<CellView>,
    /// A commit of the record waits for listener code (`settings.trackChanges`).
    pub checking: bool,
    /// Its commit was not answered within two minutes: it no longer waits.
    pub unanswered: bool,
}

/// A cell's text with its direction overrides and isolates shown as what they are
/// (`⟨U+202E⟩`): in a cell, `\u{202E}evil` would read as `live`. The editor keeps them.
fn overrides_shown(text: String) -> String {
    let hidden = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if !text.contains(hidden) {
        return text;
    }
    text.chars()
        .map(|c| match hidden(c) {
            true => format!("⟨U+{:04X}⟩", c as u32),
            false => c.to_string(),
        })
        .collect()
}

/// Most characters a cell shows in the grid; its editor holds the whole value. A page of
/// cells of a megabyte each was tens of megabytes of HTML, fetched again by every open grid
/// at each change.
pub(super) const CELL_CHARS: usize = 2_000;

fn shortened(text: String) -> String {
    match text.char_indices().nth(CELL_CHARS) {
        None => text,
        Some((cut, _)) => format!(
            "{}… ({} characters in all: open the cell to see them)",
            &text[..cut],
            text.chars().count()
        ),
    }
}

pub fn row_view(config: &SheetConfig, row: &RecordRow) -> RowView {
    let checked = row.checked(config);
    let cells = config
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let msgs = checked.cell_messages(i);
            let join = |kind: MessageType| {
                msgs.iter()
                    .filter(|m| m.kind == kind)
                    .map(|m| m.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            CellView {
                key: f.key.clone(),
                field_query: super::grid_view::encode(&[("field", f.key.clone())]),
                text: checked
                    .vals
                    .get(i)
                    .map(|v| overrides_shown(shortened(display(v))))
                    .unwrap_or_default(),
                error: join(MessageType::Error),
                warn: join(MessageType::Warn),
                info: join(MessageType::Info),
                fixed: f.fixed()
                    || !config.allows("edit")
                    || crate::model::record::config::locks(row.config.as_deref(), &f.key),
            }
        })
        .collect();
    RowView {
        id: row.record_id().to_string(),
        valid: row.valid,
        cells,
        checking: false,
        unanswered: false,
    }
}

/// The input a cell editor uses for a field type.
pub fn editor_kind(t: &FieldType) -> &'static str {
    match t {
        FieldType::Enum { .. } => "select",
        FieldType::Date => "date",
        FieldType::Number { .. } => "number",
        FieldType::Boolean => "boolean",
        FieldType::Reference { .. } => "reference",
        _ => "text",
    }
}

#[cfg(test)]
mod tests {
    use super::overrides_shown;

    #[test]
    fn direction_overrides_show_as_what_they_are() {
        assert_eq!(overrides_shown("\u{202E}evil".into()), "⟨U+202E⟩evil");
        assert_eq!(overrides_shown("a\u{2066}b\u{2069}".into()), "a⟨U+2066⟩b⟨U+2069⟩");
        // Marks right-to-left text needs stay as they are.
        assert_eq!(overrides_shown("שלום\u{200F}!".into()), "שלום\u{200F}!");
    }
}

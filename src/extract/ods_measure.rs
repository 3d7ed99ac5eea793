//! What calamine builds from an ODS's content.xml, measured before it opens the file: it
//! lays each sheet out as a rectangle (rows from the first to the last with a value, by the
//! widest), copying a repeated cell's value into every repeat. Read as calamine reads it
//! (empty elements expanded), a cell holding a value however it gives it: its text, an
//! attribute (`office:string-value`, `office:value`, a formula...), the spaces a
//! `<text:s text:c=N/>` stands for (probes 78a D1, D2 and 79a D1: files under 1 KB made
//! gigabytes).

use super::zipped::{Counted, OverBudget, MAX_RECT_CELLS, MAX_XML_RUN};
use super::ExtractError;
use quick_xml::events::{BytesStart, Event};
use std::io::{BufReader, Read};

/// Most bytes of text the cells of a book may hold once laid out, whatever its size.
pub const MAX_RECT_BYTES: u64 = 512 * 1024 * 1024;
/// What calamine keeps for a cell beside its text (its `Data`).
const CELL_COST: u64 = 32;
/// The attributes by which a cell holds a value without text (calamine's `get_datatype`).
const VALUE_ATTRIBUTES: [&[u8]; 7] = [
    b"office:value-type",
    b"office:value",
    b"office:string-value",
    b"office:date-value",
    b"office:time-value",
    b"office:boolean-value",
    b"table:formula",
];

fn number(e: &BytesStart, name: &[u8]) -> u64 {
    e.try_get_attribute(name)
        .ok()
        .flatten()
        .and_then(|a| std::str::from_utf8(&a.value).ok()?.trim().parse().ok())
        .unwrap_or(1)
        .max(1)
}

fn is_cell(name: &[u8]) -> bool {
    matches!(name, b"table:table-cell" | b"table:covered-table-cell")
}

/// One table being measured.
#[derive(Default)]
struct Table {
    name: String,
    rows: u64,
    pending_empty_rows: u64,
    width: u64,
    /// Bytes once laid out, and of those, the bytes repeats copy (beyond one of each cell
    /// as the file writes it).
    bytes: u64,
    copied: u64,
}

/// The row being read.
#[derive(Default)]
struct Row {
    repeat: u64,
    width: u64,
    /// Cells after its last value (they count only if a value follows).
    trailing: u64,
    bytes: u64,
    copied: u64,
}

/// The cell being read: its column repeat, the bytes of text its value takes (attributes'
/// values, text, the spaces it stands for), and whether it holds a value.
struct Cell {
    repeat: u64,
    text: u64,
    spaces: u64,
    value: bool,
}

/// Refuses a book whose sheets calamine would lay out past [`MAX_RECT_CELLS`] cells or
/// [`MAX_RECT_BYTES`] of text, or whose repeats copy more than `copy_cap` bytes (a cap by
/// the file's size).
pub(super) fn measure<R: Read>(content: &mut Counted<'_, R>, copy_cap: u64) -> Result<(), ExtractError> {
    let limit = content.budget_limit();
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(&mut *content));
    // As calamine reads it: `<table:table-row .../>` is a row, not nothing.
    reader.config_mut().expand_empty_elements = true;
    let mut buf = Vec::new();
    let (mut cells, mut bytes, mut copied) = (0u64, 0u64, 0u64);
    let mut table = Table::default();
    let mut row = Row::default();
    let mut cell: Option<Cell> = None;
    loop {
        buf.clear();
        let event = match reader.read_event_into(&mut buf) {
            Ok(ev) => ev,
            Err(quick_xml::Error::Io(io)) => {
                let over = io.get_ref().is_some_and(|i| i.is::<OverBudget>());
                return Err(match over {
                    true => ExtractError::Bomb(limit),
                    false => ExtractError::Corrupt(io.to_string()),
                });
            }
            Err(e) => return Err(ExtractError::Corrupt(e.to_string())),
        };
        match event {
            Event::Start(e) if e.name().as_ref() == b"table:table" => {
                table = Table {
                    name: e
                        .try_get_attribute("table:name")
                        .ok()
                        .flatten()
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                        .unwrap_or_default(),
                    ..Default::default()
                };
            }
            Event::Start(e) if e.name().as_ref() == b"table:table-row" => {
                row = Row {
                    repeat: number(&e, b"table:number-rows-repeated"),
                    ..Default::default()
                };
            }
            Event::Start(e) if is_cell(e.name().as_ref()) => {
                let (mut value, mut text) = (false, 0u64);
                for a in e.attributes().flatten() {
                    if VALUE_ATTRIBUTES.contains(&a.key.as_ref()) {
                        value = true;
                        text = text.saturating_add(a.value.len() as u64);
                    }
                }
                cell = Some(Cell {
                    repeat: number(&e, b"table:number-columns-repeated"),
                    text,
                    spaces: 0,
                    value,
                });
            }
            Event::Start(e) if e.name().as_ref() == b"text:s" => {
                if let Some(c) = &mut cell {
                    c.spaces = c.spaces.saturating_add(number(&e, b"text:c"));
                    if c.spaces > MAX_XML_RUN {
                        return Err(ExtractError::LongValue {
                            part: "content.xml".into(),
                        });
                    }
                }
            }
            // Anything inside a cell (a paragraph, text but white space) is a value.
            Event::Start(_) | Event::CData(_) => {
                if let Some(c) = &mut cell {
                    c.value = true;
                }
            }
            Event::Text(t) => {
                if let Some(c) = &mut cell {
                    c.value |= !t.iter().all(u8::is_ascii_whitespace);
                    c.text = c.text.saturating_add(t.len() as u64);
                }
            }
            Event::End(e) if is_cell(e.name().as_ref()) => {
                if let Some(c) = cell.take() {
                    match c.value {
                        true => {
                            let each = c.text.saturating_add(c.spaces).saturating_add(CELL_COST);
                            row.width = row.width.saturating_add(row.trailing).saturating_add(c.repeat);
                            row.bytes = row.bytes.saturating_add(c.repeat.saturating_mul(each));
                            row.copied = row.copied.saturating_add((c.repeat - 1).saturating_mul(each));
                            row.trailing = 0;
                        }
                        false => row.trailing = row.trailing.saturating_add(c.repeat),
                    }
                }
            }
            Event::End(e) if e.name().as_ref() == b"table:table-row" => {
                if row.width == 0 {
                    table.pending_empty_rows = table.pending_empty_rows.saturating_add(row.repeat);
                } else {
                    if table.rows > 0 {
                        table.rows = table.rows.saturating_add(table.pending_empty_rows);
                    }
                    table.pending_empty_rows = 0;
                    table.rows = table.rows.saturating_add(row.repeat);
                    table.width = table.width.max(row.width);
                    let laid = row.bytes.saturating_mul(row.repeat);
                    table.bytes = table.bytes.saturating_add(laid);
                    // Beyond one of each cell as written.
                    let written = row.bytes.saturating_sub(row.copied);
                    table.copied = table.copied.saturating_add(laid.saturating_sub(written));
                }
                let rect = table.rows.saturating_mul(table.width);
                if cells.saturating_add(rect) > MAX_RECT_CELLS {
                    return Err(ExtractError::SheetTooLarge {
                        sheet: table.name.clone(),
                        rows: table.rows,
                        columns: table.width,
                    });
                }
                // The cap by the file's size first: it names the repeats.
                for (so_far, now, cap) in [
                    (copied, table.copied, copy_cap),
                    (bytes, table.bytes, MAX_RECT_BYTES),
                ] {
                    if so_far.saturating_add(now) > cap {
                        return Err(ExtractError::SheetTextTooLarge {
                            sheet: table.name.clone(),
                            limit: cap,
                        });
                    }
                }
            }
            Event::End(e) if e.name().as_ref() == b"table:table" => {
                cells = cells.saturating_add(table.rows.saturating_mul(table.width));
                bytes = bytes.saturating_add(table.bytes);
                copied = copied.saturating_add(table.copied);
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

//! XLSX read cell by cell (calamine's `XlsxCellReader`), never as a rectangle: a sheet whose
//! only cells are A1 and XFD1048576 costs two cells, not the 17 billion between them. The
//! first rows of each sheet are read to find its header; the rest stream from a thread that
//! opens the file again when they are asked for.

use super::spreadsheet::{cell_text, SheetsRead};
use super::xlsx_padding::{padded, Cursor, Padded};
use super::{header, ExtractError, Notes, RawRow, Reject, Table, MAX_COLUMNS};
use calamine::{Data, Reader, SheetType, SheetVisible, Xlsx, XlsxError};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Rows read per sheet before its table is set up (the header is looked for among them).
const SAMPLE_ROWS: usize = 60;
/// ...and at most about this much of their text, all held at once.
const SAMPLE_BYTES: usize = 32 * 1024 * 1024;

fn row_bytes(row: &Result<RawRow, Reject>) -> usize {
    match row {
        Ok(r) => r.values.iter().map(String::len).sum(),
        Err(r) => r.values.iter().map(String::len).sum(),
    }
}

type Book = Xlsx<BufReader<File>>;

fn open_book(path: &Path) -> Result<Book, ExtractError> {
    let file = File::open(path).map_err(|e| ExtractError::Io(e.to_string()))?;
    calamine::open_workbook_from_rs(BufReader::new(file)).map_err(corrupt)
}

/// A file cut off or not a zip is damaged; anything else calamine refuses is malformed
/// contents, said in words a person can act on where they are known.
fn corrupt(e: XlsxError) -> ExtractError {
    use XlsxError as X;
    match e {
        X::Io(_) | X::Zip(_) | X::XmlEof(_) => ExtractError::Corrupt(e.to_string()),
        X::Password => ExtractError::Encrypted,
        X::Alphanumeric(_)
        | X::NumericColumn(_)
        | X::RangeWithoutColumnComponent
        | X::RangeWithoutRowComponent
        | X::DimensionCount(_) => ExtractError::Malformed(format!(
            "a cell's position is not a cell reference such as B7 ({e})"
        )),
        other => ExtractError::Malformed(other.to_string()),
    }
}

/// Feeds the sheet's rows after the first `skip` to `each` (in the order the file stores
/// them; rows without a value are left out) until it returns false or the sheet ends. The
/// rows skipped (read already) open their merges without filling them again.
fn each_row(
    book: &mut Book,
    (sheet, merged, notes, skip): (&str, Merges, &Notes, usize),
    (done, budget): (&AtomicU64, &TextBudget),
    padded: Option<&Padded>,
    each: impl FnMut(Result<RawRow, Reject>) -> bool,
) -> Result<(), XlsxError> {
    let args = (sheet, merged, notes, skip);
    match padded {
        Some(padded) => padded.with_cursor(|cursor| rows_of(book, args, (done, budget), cursor, each)),
        None => rows_of(book, args, (done, budget), None, each),
    }
}

/// [`each_row`], numbers padded as the `cursor` over the sheet's part says.
fn rows_of(
    book: &mut Book,
    (sheet, merged, notes, skip): (&str, Merges, &Notes, usize),
    (done, budget): (&AtomicU64, &TextBudget),
    mut cursor: Option<&mut Cursor<'_>>,
    mut each: impl FnMut(Result<RawRow, Reject>) -> bool,
) -> Result<(), XlsxError> {
    let mut merged = MergedDown::of(book, (sheet, merged, notes));
    let mut passed = 0usize;
    let mut each = |row: Result<RawRow, Reject>| {
        passed += 1;
        let again = passed <= skip;
        match row {
            Ok(mut row) => {
                // Counted once, as it is handed on (rows read again are not): however the
                // book's parts are laid out, its cells yield no more text than its size
                // explains (probe 52a 1: seven layouts got past the count made before
                // reading; 53a 4: rows read twice were counted twice).
                if !again && !budget.take(row.values.iter().map(String::len).sum()) {
                    notes.fail(ExtractError::SharedTextStopped(budget.limit).to_string());
                    return false;
                }
                // Merges fill within their own budget.
                merged.fill(&mut row, !again);
                again || each(Ok(row))
            }
            Err(rejected) => {
                // A rejected row's kept values count too.
                let kept = rejected.values.iter().map(String::len).sum();
                if !again && !budget.take(kept) {
                    notes.fail(ExtractError::SharedTextStopped(budget.limit).to_string());
                    return false;
                }
                again || each(Err(rejected))
            }
        }
    };
    let mut cells = book.worksheet_cells_reader(sheet)?;
    // How far through the sheet, by the last row it says it has (only for progress).
    let last_row = u64::from(cells.dimensions().end.0) + 1;
    let mut row: Option<RowRead> = None;
    // Row numbers met, and the first one met twice (said once, when the sheet ends).
    let (mut rows_seen, mut repeated) = (std::collections::HashSet::new(), None::<u32>);
    let finish = |row: RowRead| {
        let line = u64::from(row.at) + 1;
        if row.bytes > MAX_ROW_BYTES {
            return Err(Reject {
                line,
                message: format!(
                    "this row holds more than {} MB of text; a spreadsheet row holds at most that much",
                    MAX_ROW_BYTES / (1024 * 1024)
                ),
                values: Vec::new(),
            });
        }
        match row.too_far {
            Some(col) => Err(Reject {
                line,
                message: format!(
                    "this row has a value in column {}; Wharf reads at most {MAX_COLUMNS} columns",
                    u64::from(col) + 1
                ),
                values: row
                    .values
                    .into_iter()
                    .filter(|v| !v.is_empty())
                    .take(100)
                    // Their first characters: a row past the last column may be megabytes
                    // of shared strings (probe 53b).
                    .map(|v| v.chars().take(4096).collect())
                    .collect(),
            }),
            None => Ok(RawRow {
                line,
                values: row.values,
            }),
        }
    };
    while let Some(cell) = cells.next_cell()? {
        let (r, c) = cell.get_position();
        let value: Data = cell.get_value().clone().into();
        if matches!(value, Data::Empty) {
            continue;
        }
        if row.as_ref().is_some_and(|row| row.at != r) {
            done.store(
                (u64::from(r) * 1_000_000 / last_row).min(1_000_000),
                Ordering::Relaxed,
            );
            if let Some(finished) = row.take() {
                if !each(finish(finished)) {
                    return Ok(());
                }
            }
        }
        // A cell that does not move right along its row (cells of a row go left to right):
        // a second row of the same number (probe 58d F4: the first was lost unsaid). Each
        // is read as a record of its own, in the file's order.
        if row
            .as_ref()
            .is_some_and(|row| row.last.is_some_and(|last| c <= last))
        {
            let first = row.take().expect("checked");
            if !each(finish(first)) {
                return Ok(());
            }
            repeated.get_or_insert(r);
        }
        if row.is_none() && !rows_seen.insert(r) {
            // A row number met before, further up (rows 3, 2, 3).
            repeated.get_or_insert(r);
        }
        let row = row.get_or_insert_with(|| RowRead::at(r));
        row.last = Some(c);
        let format = match (&mut cursor, &value) {
            (Some(cursor), Data::Int(_) | Data::Float(_)) => cursor.format_at(r, c),
            _ => None,
        };
        let text = format
            .and_then(|code| padded(&value, code))
            .unwrap_or_else(|| cell_text(&value));
        // A shared string may make a row of a small file huge: past the most a row holds,
        // its cells are not kept (rows in hand at once stay bounded: probe 53a 3).
        row.bytes = row.bytes.saturating_add(text.len());
        if row.bytes > MAX_ROW_BYTES {
            row.values = Vec::new();
            continue;
        }
        if c as usize >= MAX_COLUMNS {
            row.too_far.get_or_insert(c);
            row.values.push(text);
            continue;
        }
        if row.values.len() <= c as usize {
            row.values.resize(c as usize + 1, String::new());
        }
        row.values[c as usize] = text;
    }
    if let Some(done) = row.take() {
        each(finish(done));
    }
    if let Some(r) = repeated {
        notes.add(format!(
            "sheet {sheet} numbers more than one row {} (no spreadsheet program writes that): each was read as a record of its own, in the order the file holds them; check those records",
            u64::from(r) + 1
        ));
    }
    Ok(())
}

/// Most text one row of a spreadsheet may hold.
const MAX_ROW_BYTES: usize = 4 * 1024 * 1024;

/// A row as its cells arrive: its place, values, a column past the last read, and bytes.
struct RowRead {
    at: u32,
    /// The column of its last cell read.
    last: Option<u32>,
    values: Vec<String>,
    too_far: Option<u32>,
    bytes: usize,
}

impl RowRead {
    fn at(at: u32) -> Self {
        RowRead {
            at,
            last: None,
            values: Vec::new(),
            too_far: None,
            bytes: 0,
        }
    }
}

/// Bytes of text a book's cells may still yield, all sheets and passes together.
pub(super) struct TextBudget {
    left: AtomicU64,
    limit: u64,
}

impl TextBudget {
    fn new(limit: u64) -> Arc<Self> {
        Arc::new(TextBudget {
            left: AtomicU64::new(limit),
            limit,
        })
    }

    /// Takes `len` bytes, or says there is no room.
    fn take(&self, len: usize) -> bool {
        let len = len as u64;
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(len))
            .is_ok()
    }
}

/// Whether a sheet's merged cells are filled down, and below which line: merges starting
/// on the header row or above it (a title, a header merged down over two rows) are left
/// out, so a header's text never becomes a record's value (probe 48a M1).
#[derive(Clone)]
enum Merges {
    /// The book merges no cells.
    None,
    /// Fill the merges that start below this line (1-based; 0 for every merge), within
    /// the book's budget.
    Below(u64, Arc<FillBudget>),
}

/// What the merges of a whole book may still fill: cells, and bytes of text. One budget
/// for all its sheets: a book of many sheets, each just under a sheet's share, made as
/// much again per sheet (probe 49a F5).
struct FillBudget(std::sync::Mutex<(u64, usize)>);

impl FillBudget {
    fn new() -> Arc<Self> {
        Arc::new(FillBudget(std::sync::Mutex::new((MERGE_FILLS, MERGE_FILL_BYTES))))
    }

    /// Takes one cell of `len` bytes, or says there is no room.
    fn take(&self, len: usize) -> bool {
        let mut left = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if left.0 == 0 || left.1 < len {
            return false;
        }
        left.0 -= 1;
        left.1 -= len;
        true
    }
}

/// Cells merged down over several rows (a group label beside the rows it names): the
/// spreadsheet shows the value on each of those rows but stores it in the first only, so
/// the rows below get it too; otherwise they arrived empty and failed "required". A merge
/// across columns only leaves its value in its first column, as shown.
struct MergedDown {
    /// Merges not reached yet, the one starting last first.
    ahead: Vec<calamine::Dimensions>,
    /// By column, the merge over the current row: its last row and its value. Excel never
    /// overlaps merges; a file that does keeps the later one (one without a value ends the
    /// one before it).
    open: std::collections::BTreeMap<usize, (u32, String)>,
    /// Cells and bytes still to fill: a small file merging a thousand columns down a
    /// million rows would otherwise make a billion cells, and a long value merged down a
    /// few thousand rows gigabytes of records from a file of kilobytes (probe 48a H1).
    budget: Arc<FillBudget>,
    notes: Notes,
}

/// Most cells, and bytes of text, a book's merges fill.
const MERGE_FILLS: u64 = 10_000_000;
const MERGE_FILL_BYTES: usize = 64 * 1024 * 1024;

impl MergedDown {
    /// The sheet's merges, read when the book has any (`merged`).
    fn of(book: &mut Book, (sheet, merged, notes): (&str, Merges, &Notes)) -> Self {
        let (below, budget) = match merged {
            Merges::None => (None, FillBudget::new()),
            Merges::Below(line, budget) => (Some(line), budget),
        };
        let read = below.map(|_| {
            // calamine overflows on some malformed references: the merges are then left out,
            // not the sheet.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| book.worksheet_merge_cells(sheet)))
        });
        let mut ahead: Vec<_> = match read {
            None | Some(Ok(None)) => Vec::new(),
            Some(Ok(Some(Ok(merges)))) => {
                let first = below.unwrap_or(0);
                merges
                    .into_iter()
                    .filter(|m| m.end.0 > m.start.0 && u64::from(m.start.0) + 1 > first)
                    .collect()
            }
            Some(Ok(Some(Err(_))) | Err(_)) => {
                notes.add(format!(
                    "the merged cells of sheet {sheet} could not be read; each merged value is in its first row only"
                ));
                Vec::new()
            }
        };
        ahead.sort_by_key(|m| std::cmp::Reverse(m.start.0));
        MergedDown {
            ahead,
            open: Default::default(),
            budget,
            notes: notes.clone(),
        }
    }

    /// Gives `row` (stored rows come in order) the values of the merges over it; with
    /// `give` false, only notes the merges it opens (a row read already).
    fn fill(&mut self, row: &mut RawRow, give: bool) {
        if self.ahead.is_empty() && self.open.is_empty() {
            return;
        }
        let r = u32::try_from(row.line - 1).unwrap_or(u32::MAX);
        self.open.retain(|_, (end, _)| *end >= r);
        while self.ahead.last().is_some_and(|m| m.start.0 <= r) {
            let m = self.ahead.pop().expect("looked at");
            let col = m.start.1 as usize;
            let value = row.values.get(col).filter(|v| !v.is_empty());
            match value {
                Some(value) if m.start.0 == r => self.open.insert(col, (m.end.0, value.clone())),
                _ => self.open.remove(&col),
            };
        }
        for (&col, (_, value)) in self.open.iter().filter(|_| give) {
            if row.values.get(col).is_some_and(|v| !v.is_empty()) {
                continue;
            }
            if !self.budget.take(value.len()) {
                self.notes.add(format!(
                    "merged cells would fill more than {MERGE_FILLS} cells or {} MiB of text; the rest are left empty",
                    MERGE_FILL_BYTES / (1024 * 1024)
                ));
                self.open.clear();
                self.ahead.clear();
                return;
            }
            if row.values.len() <= col {
                row.values.resize(col + 1, String::new());
            }
            row.values[col] = value.clone();
        }
    }
}

/// Every worksheet of the book as a table; blank ones are left out.
pub fn tables(path: &Path, merged: bool, notes: &Notes) -> Result<Vec<Table>, ExtractError> {
    let mut book = open_book(path)?;
    let sheets: Vec<_> = book
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| (s.name.clone(), s.visible != SheetVisible::Visible))
        .collect();
    let mut read = SheetsRead::default();
    let budget = FillBudget::new();
    let size = std::fs::metadata(path)
        .map_err(|e| ExtractError::Io(e.to_string()))?
        .len();
    let text = TextBudget::new(super::zipped::text_limit(size, super::zipped::XLSX_TEXT_CAP));
    let refused = || match notes.failure() {
        Some(_) => Err(ExtractError::SharedTextTooLarge(text.limit)),
        None => Ok(()),
    };
    let mut names = std::collections::HashSet::new();
    let (parts, mut parts_read) = (
        super::xlsx_padding::sheet_parts(path),
        std::collections::HashMap::<String, String>::new(),
    );
    let styles = Padded::styles(path);
    // Sheets naming a part an earlier sheet read, by that sheet.
    let mut copies: Vec<(String, Vec<String>)> = Vec::new();
    for (name, hidden) in super::spreadsheet::capped(sheets, notes) {
        // Sheets are read by name: a second of the same name (no spreadsheet program
        // makes one) read as a copy of the first, its own rows nowhere (probe 58d F3).
        if !names.insert(name.clone()) {
            notes.add(format!(
                "the file has two sheets named “{name}”; only the first was read (rename the other in a spreadsheet program and upload the file again)"
            ));
            continue;
        }
        // A part another sheet named was read already: its rows once (no spreadsheet
        // program makes two sheets of one part).
        let first = parts
            .get(&name)
            .and_then(|part| match parts_read.entry(part.clone()) {
                std::collections::hash_map::Entry::Occupied(read) => Some(read.get().clone()),
                std::collections::hash_map::Entry::Vacant(new) => {
                    new.insert(name.clone());
                    None
                }
            });
        if let Some(first) = first {
            match copies.iter_mut().find(|(f, _)| *f == first) {
                Some((_, names)) => names.push(name),
                None => copies.push((first, vec![name])),
            }
            continue;
        }
        let merges = match merged {
            false => Merges::None,
            true => Merges::Below(header_line(&mut book, &name, notes)?, budget.clone()),
        };
        refused()?;
        let padded = styles.as_ref().and_then(|styles| Padded::of(path, styles, &name));
        let mut sample = Vec::new();
        let (mut more, mut held) = (false, 0usize);
        let done = Arc::new(AtomicU64::new(0));
        each_row(
            &mut book,
            (&name, merges.clone(), notes, 0),
            (&done, &text),
            padded.as_ref(),
            |row| {
                if sample.len() >= SAMPLE_ROWS || held > SAMPLE_BYTES {
                    more = true;
                    return false;
                }
                held += row_bytes(&row);
                sample.push(row);
                true
            },
        )
        .map_err(corrupt)?;
        refused()?;
        let rest: Box<dyn Iterator<Item = Result<RawRow, Reject>> + Send> = if more {
            Box::new(Rest::new(
                path.to_path_buf(),
                (name.clone(), merges, notes.clone(), text.clone(), padded),
                sample.len(),
                done.clone(),
            ))
        } else {
            Box::new(std::iter::empty())
        };
        let rows = Box::new(sample.into_iter().chain(rest));
        let table = header::tabulate(name.clone(), rows, notes).map(|mut table| {
            table.done = done;
            table
        });
        read.add(&name, hidden, table, notes)?;
    }
    // One note for each part several sheets name (probe 78a D4: 99 sentences alike).
    for (first, names) in copies {
        let named = match names.len() {
            1 => format!("“{}” is", names[0]),
            n if n <= 3 => format!("“{}” and “{}” are", names[..n - 1].join("”, “"), names[n - 1]),
            n => format!(
                "“{}”, “{}” and {} more are",
                names[0],
                names[1],
                super::thousands((n - 2) as u64)
            ),
        };
        notes.add(format!(
            "the file's sheets {named} the same part of the file as “{first}”; only “{first}” was read (save the file again from a spreadsheet program and upload that copy)"
        ));
    }
    read.finish()
}

/// The line of the row a sheet's header would be taken from, read without its merges
/// (0 when none is found): the merges are filled below it only.
fn header_line(book: &mut Book, sheet: &str, notes: &Notes) -> Result<u64, ExtractError> {
    let (mut sample, mut seen, mut held) = (Vec::new(), 0, 0usize);
    // Not counted against the book's text: these rows are read again.
    let unbounded = TextBudget::new(u64::MAX);
    each_row(
        book,
        (sheet, Merges::None, notes, 0),
        (&AtomicU64::new(0), &unbounded),
        None,
        |row| {
            held += row_bytes(&row);
            // As `header::tabulate` samples: blank rows are no rows of the table.
            match row {
                Ok(row) if header::filled(&row.values) == 0 => {}
                Ok(row) => sample.push(row),
                Err(_) => seen += 1,
            }
            // Rows that could not be read count too, as `header::tabulate` counts them.
            sample.len() < SAMPLE_ROWS && seen < SAMPLE_ROWS * 20 && held <= SAMPLE_BYTES
        },
    )
    .map_err(corrupt)?;
    let values: Vec<Vec<String>> = sample.iter().map(|r| r.values.clone()).collect();
    Ok(header::header_index(&values).map_or(0, |at| sample[at].line))
}

/// The rows of a sheet after the sample, read on a thread started by the first `next`.
/// A sheet of a book: its name, which of its merges are filled, the file's notes, and
/// the text its cells may still yield.
type SheetOf = (String, Merges, Notes, Arc<TextBudget>, Option<Padded>);

struct Rest {
    start: Option<(PathBuf, SheetOf, usize, Arc<AtomicU64>)>,
    rx: Option<std::sync::mpsc::Receiver<Result<RawRow, Reject>>>,
}

impl Rest {
    fn new(path: PathBuf, sheet: SheetOf, skip: usize, done: Arc<AtomicU64>) -> Self {
        Rest {
            start: Some((path, sheet, skip, done)),
            rx: None,
        }
    }
}

impl Iterator for Rest {
    type Item = Result<RawRow, Reject>;
    fn next(&mut self) -> Option<Self::Item> {
        if let Some((path, sheet, skip, done)) = self.start.take() {
            // Rows of up to 4 MiB: a few in hand at once, not hundreds.
            let (tx, rx) = std::sync::mpsc::sync_channel(32);
            std::thread::spawn(move || {
                let mut last = 0u64;
                let outcome = super::spreadsheet::guarded(|| {
                    let mut book = open_book(&path)?;
                    each_row(
                        &mut book,
                        (&sheet.0, sheet.1, &sheet.2, skip),
                        (&done, &sheet.3),
                        sheet.4.as_ref(),
                        |row| {
                            last = match &row {
                                Ok(r) => r.line,
                                Err(r) => r.line,
                            };
                            tx.send(row).is_ok()
                        },
                    )
                    .map_err(corrupt)
                });
                if let Err(e) = outcome {
                    let _ = tx.send(Err(Reject {
                        line: last,
                        message: format!("the rest of this sheet could not be read: {e}"),
                        values: Vec::new(),
                    }));
                }
            });
            self.rx = Some(rx);
        }
        self.rx.as_ref()?.recv().ok()
    }
}

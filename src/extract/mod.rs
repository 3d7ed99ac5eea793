//! Reading customers' files: sniffing (format, encoding, delimiter, header row) and readers
//! that stream rows. Pure: a path in, tables of text out; nothing here knows of HTTP or of
//! the database.
//!
//! Every value is kept exactly as written (no trimming, no number reformatting). Rows that
//! cannot be read are handed on as rejects with their line numbers, never dropped.

pub mod cell_text;
pub mod delimited;
pub mod encoding;
pub mod header;
pub mod json;
pub mod json_lists;
mod json_text;
mod ods_measure;
mod pad_format;
pub mod sniff;
pub mod spreadsheet;
pub mod xls;
pub mod xlsx;
mod xlsx_padding;
mod zip_limits;
pub mod zipped;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_books;
#[cfg(test)]
mod tests_encoding;
#[cfg(test)]
mod tests_hardening;
#[cfg(test)]
mod tests_header;
#[cfg(test)]
mod tests_json_keys;
#[cfg(test)]
mod tests_long_values;
#[cfg(test)]
mod tests_xls;
#[cfg(test)]
mod tests_zip_limits;

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Most columns a table may have.
pub const MAX_COLUMNS: usize = 1000;
/// Largest single value; a row holding a larger one is a reject.
pub const MAX_CELL_BYTES: usize = 1024 * 1024;

/// Why a value of `len` bytes cannot go in a cell, if it cannot (exact bytes: a value one
/// byte over must not read as the limit itself).
pub fn cell_too_big(len: usize) -> Option<String> {
    (len > MAX_CELL_BYTES)
        .then(|| format!("the value is {len} bytes; a cell holds at most {MAX_CELL_BYTES} bytes (1 MiB)"))
}

/// A value longer than a file's cell may be (1 MiB) is refused, whatever brings it (a
/// request, a bulk change): one such cell makes every page that shows it megabytes.
pub fn value_too_big(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let len = match value {
        Value::String(text) => text.len(),
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        other => other.to_string().len(),
    };
    cell_too_big(len)
}
/// Longest header a column may have.
pub const MAX_HEADER_BYTES: usize = 1024;
/// Bytes read to sniff encoding and delimiter.
const HEAD_BYTES: usize = 64 * 1024;

/// A row as read, before the header is known.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    pub line: u64,
    pub values: Vec<String>,
}

/// A data row, one value per column.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: u64,
    pub values: Vec<String>,
}

/// A row that could not be read, with why and what could be salvaged of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub line: u64,
    pub message: String,
    pub values: Vec<String>,
}

pub type RowIter = Box<dyn Iterator<Item = Result<Row, Reject>> + Send>;

/// A column: its label (the header as written, made unique) and a key made from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub key: String,
    pub label: String,
}

/// One sheet of a file.
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    /// The header's line (1-based), for delimited text and spreadsheets.
    pub header_line: Option<u64>,
    pub rows: RowIter,
    /// Millionths of the table read so far, where its reader can tell (spreadsheets).
    pub done: Arc<AtomicU64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Delimited,
    Xlsx,
    Xls,
    Ods,
    Json,
    JsonLines,
}

/// What was read from a file.
pub struct Extraction {
    pub format: Format,
    pub encoding: Option<&'static str>,
    pub delimiter: Option<char>,
    pub tables: Vec<Table>,
    /// Bytes that did not decode and became U+FFFD, counted as the rows stream.
    pub replaced: Arc<AtomicU64>,
    /// Bytes of the file read so far by streaming readers, for progress.
    pub bytes_read: Arc<AtomicU64>,
    /// What the person who sent the file should know of how it was read.
    pub notes: Notes,
}

/// Remarks on a file gathered while it is read (from reader threads too), for its message.
#[derive(Clone, Default)]
pub struct Notes(Arc<Mutex<NoteSet>>);

#[derive(Default)]
struct NoteSet {
    nul: u64,
    lines: Vec<String>,
    /// Why the file must not be taken after all, found while its rows stream (its
    /// extraction then fails and takes back what it wrote).
    failure: Option<String>,
}

impl Notes {
    /// Marks the file as one that must not be taken, for a reason found while reading.
    pub fn fail(&self, why: String) {
        if let Ok(mut set) = self.0.lock() {
            set.failure.get_or_insert(why);
        }
    }

    /// Why the file must not be taken, if a reader found a reason.
    pub fn failure(&self) -> Option<String> {
        self.0.lock().ok().and_then(|s| s.failure.clone())
    }

    pub fn add(&self, line: String) {
        if let Ok(mut set) = self.0.lock() {
            if !set.lines.contains(&line) {
                set.lines.push(line);
            }
        }
    }

    /// Replaces NUL characters (which the database cannot store, and the API refuses) with
    /// U+FFFD, counting them.
    pub fn clean(&self, text: &mut String) {
        if text.contains('\0') {
            let n = text.matches('\0').count() as u64;
            *text = text.replace('\0', "\u{FFFD}");
            if let Ok(mut set) = self.0.lock() {
                set.nul += n;
            }
        }
    }

    /// The remarks, in the order they were made.
    pub fn list(&self) -> Vec<String> {
        let Ok(set) = self.0.lock() else { return Vec::new() };
        // A remark may quote a sheet's name, which may hold NUL too.
        let mut out: Vec<String> = set.lines.iter().map(|l| l.replace('\0', "\u{FFFD}")).collect();
        if set.nul > 0 {
            out.push(format!(
                "{} replaced with \u{FFFD} (they cannot be stored)",
                crate::words::counted(set.nul, "NUL character was", "NUL characters were")
            ));
        }
        out
    }
}

/// Counts the bytes that pass, for progress.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// A stored text file, decoded to UTF-8 as it is read; opened once per pass.
#[derive(Clone)]
pub struct TextSource {
    path: std::path::PathBuf,
    encoding: &'static encoding_rs::Encoding,
    /// Reads the bytes that break UTF-8 in UTF-8 text (see `encoding::MixedReader`).
    fallback: Option<&'static encoding_rs::Encoding>,
    replaced: Arc<AtomicU64>,
    bytes_read: Arc<AtomicU64>,
    watch: Watch,
}

/// How a job follows a file's first pass (finding its columns, before any row): the bytes
/// it has read, and a flag that stops it (a cancel: probe 71c D3, a 1 GB JSON held a worker
/// ten minutes at "1%", its cancel answered and the pass read on).
#[derive(Clone, Default)]
pub struct Watch {
    pub first_pass: Arc<AtomicU64>,
    pub stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Watch {
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

impl TextSource {
    pub fn stopped(&self) -> bool {
        self.watch.stopped()
    }

    /// The text from the start. `counted`: this pass yields the rows, so its bytes count for
    /// progress and its replaced bytes for the file's note (a first pass counts neither).
    pub fn open(&self, counted: bool) -> Result<Box<dyn Read + Send>, ExtractError> {
        let file = std::fs::File::open(&self.path).map_err(|e| ExtractError::Io(e.to_string()))?;
        let (count, replaced) = if counted {
            (self.bytes_read.clone(), self.replaced.clone())
        } else {
            (self.watch.first_pass.clone(), Default::default())
        };
        let counting = Counting { inner: file, count };
        if let Some(fallback) = self.fallback {
            let reader = std::io::BufReader::new(counting);
            return Ok(Box::new(encoding::MixedReader::new(reader, fallback)));
        }
        Ok(Box::new(encoding::DecodingReader::new(
            std::io::BufReader::new(counting),
            self.encoding,
            replaced,
        )))
    }
}

/// Why a file could not be read, in words for the person who uploaded it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExtractError {
    #[error("the file is empty: it has no rows")]
    Empty,
    #[error("no header row was found: every row is blank")]
    NoHeader,
    #[error("the first row has a value of {} bytes (a header cell holds at most {} bytes); that is data, not a header row{}", thousands(*.0 as u64), thousands(MAX_HEADER_BYTES as u64), if *.1 { "; it runs over many lines, so a quote opened on the header's line is likely never closed: check the quotes on that line" } else { "" })]
    HeaderTooLong(usize, bool),
    #[error("the file does not look like text (it holds binary data); upload CSV, TSV, Excel (.xlsx, .xls), OpenDocument (.ods), JSON or JSON Lines")]
    NotText,
    #[error("the file is UTF-32 text, which Wharf does not read; save it as UTF-8 (or UTF-16) and upload it again")]
    Utf32,
    #[error("the file could not be read; it may be damaged or cut off ({0})")]
    Corrupt(String),
    /// A whole spreadsheet whose contents break the format (a cell at `A0`, a shared text
    /// past the list): the program that wrote it, not the transfer, is at fault.
    #[error("the spreadsheet could not be read: {0}; open it in Excel or LibreOffice, save it again as .xlsx, and upload that copy")]
    Malformed(String),
    #[error("a text or number in the JSON runs past {} MiB (a value holds at most 1 MiB), so the file was not read; shorten that value and upload the file again", json_text::MAX_STRING_BYTES >> 20)]
    JsonTextTooLong,
    #[error("the JSON is not a list of records ({0}); a JSON file must hold [{{\"name\": \"Ada\"}}, ...], an object whose keys hold such lists (one sheet each), or one record per line (JSON Lines)")]
    JsonShape(String),
    /// Every row read so far was refused, the first for a reason it names.
    /// Its job was canceled while the file was read.
    #[error("the extraction was canceled")]
    Stopped,
    #[error("no row of the file could be read; line {line}: {why}")]
    NoRowRead { line: u64, why: String },
    /// The first row, where the header is, could not be read: a row below must not be
    /// taken as the header in its place (probe 71c D4: a stray note at column 1,500 made
    /// the first record the header).
    #[error("the first row (line {line}), the header, could not be read: {why}; fix that row and upload the file again")]
    HeaderUnread { line: u64, why: String },
    #[error("the spreadsheet would unpack to more than {} MB, far more than any real spreadsheet of its size; it was not opened", .0 / (1024 * 1024))]
    Bomb(u64),
    /// A part of a zip-based spreadsheet holds one text or tag longer than any cell may be.
    #[error("the part {part} of the file holds one run of more than {} MB of text or spaces without a break (a cell holds at most 1 MB), so the file was not opened; save it again from the spreadsheet, or shorten the longest cell, and upload it again", zipped::MAX_XML_RUN / (1024 * 1024))]
    LongValue { part: String },
    #[error("the file has more than {MAX_COLUMNS} columns ({} counted where reading stopped); at most {MAX_COLUMNS} can be read", thousands(*.0 as u64))]
    TooWide(usize),
    #[error("sheet {sheet} claims {} rows by {} columns; Wharf reads at most {} cells of an ODS or XLS file", thousands(*.rows), thousands(*.columns), thousands(zipped::MAX_RECT_CELLS))]
    SheetTooLarge { sheet: String, rows: u64, columns: u64 },
    #[error("sheet {sheet} repeats its cells into more than {} MB of text, far more than an ODS file of its size holds; it was not opened", .limit / (1024 * 1024))]
    SheetTextTooLarge { sheet: String, limit: u64 },
    /// A book's cells copy its shared strings into more text than its size explains.
    #[error("the file's cells would hold more than {} MB of text once each shared string is copied into every cell that uses it, far more than a spreadsheet of its size holds; it was not opened", .0 / (1024 * 1024))]
    SharedTextTooLarge(u64),
    /// The same, found while the book was read: what was read of it is not kept.
    #[error("the file's cells hold more than {} MB of text once each shared string is copied into every cell that uses it, far more than a spreadsheet of its size holds; reading stopped there and nothing of the file was kept", .0 / (1024 * 1024))]
    SharedTextStopped(u64),
    /// An XLSX lists more distinct texts than Wharf holds at once.
    #[error("the file lists {} distinct texts; Wharf reads at most {} of an XLSX file", thousands(*.0), thousands(zipped::MAX_SHARED_STRINGS))]
    TooManySharedStrings(u64),
    #[error("this is {0}, not a spreadsheet; upload CSV, TSV, Excel (.xlsx, .xls), OpenDocument (.ods), JSON or JSON Lines")]
    NotSpreadsheet(String),
    #[error("the file is protected by a password; save a copy without one and upload that")]
    Encrypted,
    #[error("this is a web page, not a spreadsheet; save it as CSV or XLSX")]
    WebPage,
    #[error(
        "the JSON holds no objects with fields: each record must be an object such as {{\"name\": \"Ada\"}}"
    )]
    NoFields,
    #[error("a JSON key is {} bytes long; keys name columns, which are limited to {} bytes", thousands(*.0 as u64), thousands(MAX_HEADER_BYTES as u64))]
    KeyTooLong(usize),
    #[error("the stored file could not be read: {0}")]
    Io(String),
    /// No sheet of a book could be read: the first one left out, and why.
    #[error("no sheet could be extracted; sheet {sheet}: {problem}")]
    NoSheetRead {
        sheet: String,
        problem: Box<ExtractError>,
    },
}

/// Whether text, past any apostrophes it starts with, is what a spreadsheet would run as a
/// formula.
fn runs_as_formula(text: &str) -> bool {
    let rest = text.trim_start_matches('\'');
    // A signed number is a number; `-inf` or `+NaN`, which Rust reads as numbers, a
    // spreadsheet reads as formulas (probe 49b 4).
    let number = rest.parse::<f64>().is_ok_and(f64::is_finite);
    rest.starts_with(['=', '+', '-', '@', '\t', '\r']) && !number
}

/// Text a spreadsheet would run as a formula gets a leading apostrophe (CSV injection):
/// for every CSV Wharf writes (downloads, a file's rejects). Text that already starts with
/// apostrophes before such a value gets one more, so [`undefused`] gives every value back
/// (`'=x` goes as `''=x`, not as `'=x`, which is how `=x` goes).
pub fn safe_cell(text: &str) -> String {
    match runs_as_formula(text) {
        true => format!("'{text}"),
        false => text.to_string(),
    }
}

/// [`safe_cell`] undone: a delimited file's value with the apostrophe that such a download
/// put before it (`'+44 20 1234`) is the value without it, so a downloaded CSV, fixed in a
/// spreadsheet and uploaded again, keeps its phone numbers as they were.
pub fn undefused(text: String) -> String {
    match text.strip_prefix('\'') {
        Some(rest) if runs_as_formula(rest) => rest.to_string(),
        _ => text,
    }
}

/// 1234567 as "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The name a table gets when the file has one table: the file name without extension.
fn base_name(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => base.to_string(),
    }
}

/// Opens a stored file and sets up the readers of its tables.
pub fn open(path: &Path, file_name: &str) -> Result<Extraction, ExtractError> {
    open_watched(path, file_name, &Watch::default())
}

/// [`open`], its first pass followed and stopped through `watch`.
pub fn open_watched(path: &Path, file_name: &str, watch: &Watch) -> Result<Extraction, ExtractError> {
    let io = |e: std::io::Error| ExtractError::Io(e.to_string());
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = Vec::with_capacity(HEAD_BYTES);
    (&mut file)
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(io)?;
    if head.is_empty() {
        return Err(ExtractError::Empty);
    }
    let whole = head.len() < HEAD_BYTES;
    let notes = Notes::default();
    let replaced = Arc::new(AtomicU64::new(0));
    let name = base_name(file_name);
    let bytes_read = Arc::new(AtomicU64::new(0));
    let sniffed = sniff::sniff(path, file_name, &head, whole, &notes)?;
    let mut out = Extraction {
        format: sniffed.format,
        encoding: sniffed.encoding.map(|e| e.name()),
        delimiter: None,
        tables: Vec::new(),
        replaced: replaced.clone(),
        bytes_read: bytes_read.clone(),
        notes: notes.clone(),
    };
    let source = |enc| TextSource {
        path: path.to_path_buf(),
        encoding: enc,
        fallback: sniffed.fallback,
        replaced: replaced.clone(),
        bytes_read: bytes_read.clone(),
        watch: watch.clone(),
    };
    let tables = match (sniffed.format, sniffed.encoding) {
        (Format::Xlsx | Format::Xls | Format::Ods, _) => {
            spreadsheet::tables(path, sniffed.format, sniffed.merged, &notes)?
        }
        (Format::Json, Some(enc)) => json_lists::tables(&source(enc), name, &notes)?,
        (Format::JsonLines, Some(enc)) => vec![json::lines_table(&source(enc), name, &notes)?],
        (_, enc) => {
            let enc = enc.unwrap_or(encoding_rs::UTF_8);
            let sample = encoding::decode_sample_with(&head, enc, sniffed.fallback);
            let delimiter = delimited::sniff_delimiter(&sample);
            out.delimiter = Some(delimiter as char);
            let rows = delimited::rows(source(enc).open(true)?, delimiter, notes.clone());
            vec![header::tabulate(name, Box::new(rows), &notes)?]
        }
    };
    out.tables = tables.into_iter().map(|t| cleaned(t, &notes)).collect();
    Ok(out)
}

/// The table with NUL characters replaced in its name, columns and every value it yields.
fn cleaned(mut table: Table, notes: &Notes) -> Table {
    notes.clean(&mut table.name);
    for c in &mut table.columns {
        notes.clean(&mut c.label);
        notes.clean(&mut c.key);
    }
    let notes = notes.clone();
    let rows = table.rows;
    table.rows = Box::new(rows.map(move |item| match item {
        Ok(mut row) => {
            row.values.iter_mut().for_each(|v| notes.clean(v));
            Ok(row)
        }
        Err(mut rej) => {
            rej.values.iter_mut().for_each(|v| notes.clean(v));
            notes.clean(&mut rej.message);
            Err(rej)
        }
    }));
    table
}

/// How far through the file the readers are, from 0 to 1, where it can be told.
pub fn fraction_read(bytes_read: &AtomicU64, size: u64) -> f64 {
    (bytes_read.load(Ordering::Relaxed) as f64 / size.max(1) as f64).min(1.0)
}

//! Reading customers' files: sniffing (format, encoding, delimiter, header row) and readers
//! that stream rows. Pure: a path in, tables of text out; nothing here knows of HTTP or of
//! the database.
//!
//! Every value is kept exactly as written (no trimming, no number reformatting). Rows that
//! cannot be read are handed on as rejects with their line numbers, never dropped.

pub mod delimited;
pub mod encoding;
pub mod header;
pub mod json;
pub mod spreadsheet;

#[cfg(test)]
mod tests;

use std::io::Read;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// Most columns a table may have.
pub const MAX_COLUMNS: usize = 1000;
/// Largest single value; a row holding a larger one is a reject.
pub const MAX_CELL_BYTES: usize = 1024 * 1024;
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
    /// Bytes of the file read so far by streaming readers (delimited text), for progress.
    pub bytes_read: Arc<AtomicU64>,
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

/// Why a file could not be read, in words for the person who uploaded it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExtractError {
    #[error("the file is empty: it has no rows")]
    Empty,
    #[error("no header row was found: every row is blank")]
    NoHeader,
    #[error("the first row has a value of {} KB; that is data, not a header row", .0 / 1024)]
    HeaderTooLong(usize),
    #[error("the file does not look like text (it holds binary data); upload CSV, TSV, Excel (.xlsx, .xls), OpenDocument (.ods), JSON or JSON Lines")]
    NotText,
    #[error("the file could not be read; it may be damaged or cut off ({0})")]
    Corrupt(String),
    #[error("the spreadsheet would unpack to {} MB, far more than any real spreadsheet; it was not opened", .0 / (1024 * 1024))]
    Bomb(u64),
    #[error("the file has {0} columns; at most {MAX_COLUMNS} can be read")]
    TooWide(usize),
    #[error("the stored file could not be read: {0}")]
    Io(String),
}

/// The format, from the first bytes first and the name second.
pub fn detect_format(file_name: &str, head: &[u8]) -> Format {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if head.starts_with(b"PK\x03\x04") {
        return if ext == "ods" { Format::Ods } else { Format::Xlsx };
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Format::Xls;
    }
    match ext.as_str() {
        "xlsx" | "xlsm" => Format::Xlsx,
        "xls" => Format::Xls,
        "ods" => Format::Ods,
        "json" => Format::Json,
        "jsonl" | "ndjson" => Format::JsonLines,
        _ => Format::Delimited,
    }
}

/// Text shows few control characters; binary shows NULs and many.
fn looks_binary(sample: &str) -> bool {
    let total = sample.chars().count().max(1);
    let control = sample
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
        .count();
    sample.contains('\0') || control * 20 > total || sample.matches('\u{FFFD}').count() * 10 > total
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
    let format = detect_format(file_name, &head);
    let replaced = Arc::new(AtomicU64::new(0));
    let name = base_name(file_name);
    let mut out = Extraction {
        format,
        encoding: None,
        delimiter: None,
        tables: Vec::new(),
        replaced: replaced.clone(),
        bytes_read: Arc::new(AtomicU64::new(0)),
    };
    match format {
        Format::Xlsx | Format::Xls | Format::Ods => {
            out.tables = spreadsheet::tables(path, format)?;
        }
        Format::Json => out.tables = vec![json::array_table(path, name)?],
        Format::JsonLines => out.tables = vec![json::lines_table(path, name)?],
        Format::Delimited => {
            let enc = encoding::sniff(&head, whole);
            let sample = encoding::decode_sample(&head, enc);
            if looks_binary(&sample) {
                return Err(ExtractError::NotText);
            }
            let delimiter = delimited::sniff_delimiter(&sample);
            out.encoding = Some(enc.name());
            out.delimiter = Some(delimiter as char);
            let file = std::fs::File::open(path).map_err(io)?;
            let counted = Counting {
                inner: file,
                count: out.bytes_read.clone(),
            };
            let text = encoding::DecodingReader::new(std::io::BufReader::new(counted), enc, replaced);
            let rows = delimited::rows(text, delimiter);
            out.tables = vec![header::tabulate(name, Box::new(rows))?];
        }
    }
    Ok(out)
}

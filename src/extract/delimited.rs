//! Delimited text: which delimiter, and a streaming reader of its rows.

use super::{Notes, RawRow, Reject};
use std::io::Read;
use std::sync::{Arc, Mutex};

/// Delimiters tried, in order of preference when two fit equally well.
pub const CANDIDATES: [u8; 4] = [b',', b'\t', b';', b'|'];

/// Records looked at to choose a delimiter.
const SAMPLE_RECORDS: usize = 50;

/// The delimiter that splits the sample's records most consistently into more than one
/// column; a comma when none does (one column).
pub fn sniff_delimiter(sample: &str) -> u8 {
    let mut best = (b',', 0usize, 0usize); // (delimiter, rows agreeing, columns)
    for d in CANDIDATES {
        let counts = counts_per_record(sample, d as char);
        let mut freq: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        for c in counts.iter().filter(|c| **c > 0) {
            *freq.entry(*c).or_insert(0) += 1;
        }
        // The most common count wins; a tie goes to more columns.
        let Some((&count, &agree)) = freq.iter().max_by_key(|(c, n)| (**n, **c)) else {
            continue;
        };
        // Records without it after the first it splits (lines above that one are titles):
        // more of those than records it splits, and a `;` in a few addresses of a
        // one-column file is text. Split only in the last record, with lines above it: text.
        let first = counts.iter().position(|c| *c > 0).unwrap_or(0);
        let without = counts[first..].iter().filter(|c| **c == 0).count();
        if agree <= without || (first > 0 && first + 1 == counts.len()) {
            continue;
        }
        if (agree, count) > (best.1, best.2) {
            best = (d, agree, count);
        }
    }
    best.0
}

/// How many times `d` occurs outside quotes in each of the first records. A record ends at
/// a line break outside quotes; the last, possibly cut-off record is left out.
fn counts_per_record(sample: &str, d: char) -> Vec<usize> {
    let mut counts = Vec::new();
    let (mut in_quotes, mut count, mut seen) = (false, 0usize, false);
    for c in sample.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            '\n' | '\r' if !in_quotes => {
                if seen {
                    counts.push(count);
                }
                count = 0;
                seen = false;
                if counts.len() >= SAMPLE_RECORDS {
                    break;
                }
                continue;
            }
            c if c == d && !in_quotes => count += 1,
            _ => {}
        }
        seen = true;
    }
    if counts.is_empty() && seen {
        counts.push(count);
    }
    counts
}

/// What the text passed so far holds: where its lines start (a line ends at `\r\n`, `\n`
/// or a lone `\r`; the csv crate counts `\n` only) and how many quote characters it had.
#[derive(Default)]
struct Shape {
    /// Offsets of line starts not yet asked about, in order.
    breaks: std::collections::VecDeque<u64>,
    /// Lines that started before the offsets in `breaks`.
    lines_before: u64,
    /// Where the quote characters not yet passed are (each offset one past its quote).
    quotes: std::collections::VecDeque<u64>,
    offset: u64,
    after_cr: bool,
    /// Where the row being read starts (the end of the one before).
    row_start: u64,
    /// The line of a row the reading stopped at (past [`MAX_ROW_BYTES`] or
    /// [`MAX_ROW_VALUES`]).
    stopped_on: Option<u64>,
    /// The delimiter, and as the bytes pass: the values of the row they are in, where that
    /// row began (past its line break), and the error of a row too wide, held back until
    /// the rows before it are read.
    delimiter: u8,
    values: RowValues,
    row_began: u64,
    held: Option<String>,
    /// Passing over the rest of a row past [`MAX_ROW_BYTES`], up to its line break; the
    /// lines of such rows, for the notes.
    skipping: bool,
    cut_lines: Vec<u64>,
}

/// Where a byte falls in the csv reader's value: at its start, in one without quotes, in a
/// quoted one, or just past a quote inside a quoted one (`""` or its end).
#[derive(Default, Clone, Copy)]
enum InValue {
    #[default]
    Start,
    Bare,
    Quoted,
    QuoteInQuoted,
}

/// The delimiters of the row being read, found as the csv reader finds them: a quote opens a
/// value only at its start (`15.6" laptop` is text, probe 56c D1), `""` in a quoted value is
/// a quote, and only a line break outside quotes ends the row.
#[derive(Default)]
struct RowValues {
    at: InValue,
    delimiters: u64,
}

impl RowValues {
    /// Takes one byte; true when it ends a row.
    fn take(&mut self, b: u8, delimiter: u8) -> bool {
        use InValue::*;
        match (self.at, b) {
            (Quoted, b'"') => self.at = QuoteInQuoted,
            (Quoted, _) => {}
            (Start, b'"') | (QuoteInQuoted, b'"') => self.at = Quoted,
            (_, b'\r' | b'\n') => {
                *self = RowValues::default();
                return true;
            }
            (_, d) if d == delimiter => {
                self.at = Start;
                self.delimiters += 1;
            }
            _ => self.at = Bare,
        }
        false
    }
}

/// Longest row read: a cell holds at most 1 MiB; a quoted value past this is a quote never
/// closed, which would otherwise hold the rest of the file in memory, and the rest of an
/// unquoted one is passed over.
const MAX_ROW_BYTES: u64 = 16 * 1024 * 1024;

/// Most values a row may have before the reading stops: ten times the columns a file may
/// have, so a row a few too wide is still read and rejected whole. The csv reader keeps a
/// row whole before it is looked at (8 bytes a value for its bounds), and a 50 MB line of
/// `x,` held 3 GB as text values (probe 56b 1).
const MAX_ROW_VALUES: u64 = 10 * super::MAX_COLUMNS as u64;

impl Shape {
    /// A row has more than [`MAX_ROW_VALUES`] values: the reading stops there. The rows
    /// before it in this read (from `start` on) go to the csv reader first, and the error at
    /// its next read; a row begun in an earlier read ends the reading now.
    fn stop_before_row(&mut self, start: u64) -> std::io::Result<usize> {
        let began = self.row_began;
        let line = self.line_of(began);
        self.stopped_on = Some(line);
        let message = format!(
            "the row starting on line {line} has more than {MAX_ROW_VALUES} values (a file has at most {} columns), so the rest of the file was not read",
            super::MAX_COLUMNS
        );
        if began <= start {
            return Err(std::io::Error::other(message));
        }
        // What was seen past the row's start never reaches the reader.
        self.offset = began;
        while self.breaks.back().is_some_and(|b| *b > began) {
            self.breaks.pop_back();
        }
        while self.quotes.back().is_some_and(|q| *q > began) {
            self.quotes.pop_back();
        }
        self.held = Some(message);
        Ok((began - start) as usize)
    }

    /// The line (from 1) of the byte at `offset`, without moving on (as [`Self::line_at`]).
    fn line_of(&self, offset: u64) -> u64 {
        self.lines_before + self.breaks.iter().take_while(|b| **b <= offset).count() as u64 + 1
    }

    /// The line (from 1) the byte at `offset` is on; offsets must be asked in order.
    fn line_at(&mut self, offset: u64) -> u64 {
        while self.breaks.front().is_some_and(|b| *b <= offset) {
            self.breaks.pop_front();
            self.lines_before += 1;
        }
        self.lines_before + 1
    }
}

/// Watches the text on its way to the csv reader.
struct Watched<R> {
    inner: R,
    shape: Arc<Mutex<Shape>>,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Ok(mut shape) = self.shape.lock() else {
            return self.inner.read(buf);
        };
        if let Some(message) = shape.held.take() {
            return Err(std::io::Error::other(message));
        }
        let mut n = self.inner.read(buf)?;
        let (start, delimiter) = (shape.offset, shape.delimiter);
        if shape.offset.saturating_sub(shape.row_start) > MAX_ROW_BYTES && !shape.skipping {
            let from = shape.row_start;
            // Past the cap with a quote open since the row began: the rest of the file would
            // be one value.
            if shape.quotes.iter().filter(|q| **q > from).count() % 2 == 1 {
                let line = shape.line_at(from);
                shape.stopped_on = Some(line);
                return Err(std::io::Error::other(format!(
                    "the row starting on line {line} runs past {} MiB; a quote opened there is probably never closed, so the rest of the file was not read",
                    MAX_ROW_BYTES >> 20
                )));
            }
            // Without one, the csv reader would still hold the whole row (a 900 MiB line
            // held 3 GB: probe 58d F1), which no sheet can keep: the rest of its line is
            // passed over unread, and the row is rejected for the value it holds.
            shape.skipping = true;
            let line = shape.line_at(from);
            shape.cut_lines.push(line);
        }
        while shape.skipping && n > 0 {
            match buf[..n].iter().position(|b| matches!(b, b'\n' | b'\r')) {
                Some(i) => {
                    buf.copy_within(i..n, 0);
                    n -= i;
                    shape.skipping = false;
                }
                None => n = self.inner.read(buf)?,
            }
        }
        for &b in &buf[..n] {
            shape.offset += 1;
            match b {
                b'\r' => {
                    let at = shape.offset;
                    shape.breaks.push_back(at);
                }
                b'\n' if !shape.after_cr => {
                    let at = shape.offset;
                    shape.breaks.push_back(at);
                }
                b'"' => {
                    let at = shape.offset;
                    shape.quotes.push_back(at);
                }
                _ => {}
            }
            shape.after_cr = b == b'\r';
            if shape.values.take(b, delimiter) {
                shape.row_began = shape.offset;
            } else if shape.values.delimiters >= MAX_ROW_VALUES {
                return shape.stop_before_row(start);
            }
        }
        Ok(n)
    }
}

/// Rows of delimited UTF-8 text, each with the line it starts on. Quoted fields may hold
/// delimiters and line breaks; `\n`, `\r\n` and `\r` all end a row. A quote never closed
/// swallows the rest of the file into one value, as in any CSV reader: that is noted.
pub fn rows<R: Read + Send + 'static>(
    text: R,
    delimiter: u8,
    notes: Notes,
) -> impl Iterator<Item = Result<RawRow, Reject>> + Send {
    let shape = Arc::new(Mutex::new(Shape {
        delimiter,
        ..Shape::default()
    }));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(Watched {
            inner: text,
            shape: shape.clone(),
        });
    let mut failed = false;
    let mut record = csv::ByteRecord::new();
    let line_at = move |offset: u64| shape.lock().map_or(0, |mut s| s.line_at(offset));
    let shape_of_end = shape_end(reader.get_ref().shape.clone());
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let mut read = reader.read_byte_record(&mut record);
        // A Ctrl-Z alone on a line is the end-of-file mark of old DOS and Windows tools, not
        // a record (probe 49d 9).
        while matches!(read, Ok(true)) && record.len() == 1 && &record[0] == b"\x1a" {
            read = reader.read_byte_record(&mut record);
        }
        match read {
            Ok(false) => None,
            Ok(true) => {
                // Where the record starts counts the blank lines the reader skipped before
                // it; its last line less the line breaks inside its values does not (but
                // an unclosed quote takes the file's last line break into a value).
                // (`line_at` reads on from where it was: earlier offsets first.)
                let start = line_at(record.position().map_or(0, |p| p.byte()));
                let next_line = line_at(reader.position().byte().saturating_sub(1));
                let inside: usize = record
                    .iter()
                    .map(|v| v.iter().filter(|&&b| b == b'\n').count())
                    .sum();
                let line = start.max(next_line.saturating_sub(inside as u64));
                let from = record.position().map_or(0, |p| p.byte());
                if let Some(quotes) = shape_of_end(&reader, from) {
                    // On the last line the quote takes only the file's last line break
                    // (probe 58d F2: no note then).
                    if quotes % 2 == 1 && (next_line > line || inside > 0) {
                        notes.add(format!(
                            "a quote opened on line {line} is never closed, so everything after it was read into one value; check the quotes on that line"
                        ));
                    }
                }
                if let Ok(mut shape) = reader.get_ref().shape.lock() {
                    for cut in std::mem::take(&mut shape.cut_lines) {
                        notes.add(format!(
                            "the row on line {cut} runs past {} MiB (a value holds at most 1 MiB): the rest of that line was passed over unread",
                            MAX_ROW_BYTES >> 20
                        ));
                    }
                    let end = reader.position().byte();
                    shape.row_start = end;
                    while shape.quotes.front().is_some_and(|q| *q <= end) {
                        shape.quotes.pop_front();
                    }
                }
                let values = record
                    .iter()
                    .map(|v| super::undefused(String::from_utf8_lossy(v).into_owned()))
                    .collect();
                Some(Ok(RawRow { line, values }))
            }
            Err(e) => {
                let stopped = reader.get_ref().shape.lock().ok().and_then(|s| s.stopped_on);
                let line = match e.position() {
                    Some(p) => line_at(p.byte()),
                    None => stopped.unwrap_or(0),
                };
                // A read error ends the file; anything else is one bad row.
                if let csv::ErrorKind::Io(io) = e.kind() {
                    failed = true;
                    if io.kind() == std::io::ErrorKind::Other {
                        notes.add(io.to_string());
                    }
                }
                Some(Err(Reject {
                    line,
                    message: format!("this row could not be read: {e}"),
                    values: Vec::new(),
                }))
            }
        }
    })
}

/// Once the reader has reached the end of the text: how many quotes the last record holds
/// from `from` on (odd: it opened one it never closed, whatever quotes other lines hold,
/// such as the inch marks of `15.6"`); else None.
fn shape_end<R: Read>(
    shape: Arc<Mutex<Shape>>,
) -> impl Fn(&csv::Reader<Watched<R>>, u64) -> Option<usize> + Send {
    move |reader, from| {
        let s = shape.lock().ok()?;
        let done = reader.is_done() || reader.position().byte() >= s.offset;
        done.then(|| s.quotes.iter().filter(|q| **q > from).count())
    }
}

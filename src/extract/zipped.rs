//! Zip-based spreadsheets (XLSX, ODS): which of the two a zip is, and whether it is safe to
//! open. Sizes a zip declares are not trusted: every part is inflated once through a counter
//! before calamine opens the file, and the check stops at the first byte over the limit.
//! An ODS's content is also measured for what calamine would build from it (it expands
//! repeated cells and rows into a rectangle).

use super::cell_text::CellText;
use super::{ExtractError, Notes};
use quick_xml::events::Event;
use std::io::{BufReader, Read};
use std::path::Path;

/// Most bytes all parts of a zip-based spreadsheet may unpack to.
pub const MAX_UNPACKED: u64 = 1024 * 1024 * 1024;
/// A file may unpack to this much whatever its size...
const FREE_UNPACKED: u64 = 1024 * 1024;
/// ...and beyond that to at most this many times its size; real spreadsheets stay well below.
const MAX_RATIO: u64 = 100;
/// Most text one cell of a part may hold (all its rich-text runs together), or one tag: a
/// cell holds at most 1 MiB (6 MiB escaped as `&quot;`...), and the XML readers (ours,
/// calamine's) hold a whole value in memory, so a longer one is refused before anything
/// reads it whole.
pub const MAX_XML_RUN: u64 = 16 * 1024 * 1024;
/// Most cells calamine may expand an ODS's sheets to, all sheets together (it holds them all).
pub const MAX_RECT_CELLS: u64 = 10_000_000;
/// Text a book's cells may copy out of its shared strings whatever the file's size...
const FREE_TEXT: u64 = 64 * 1024 * 1024;
/// Most bytes of an XLSX's shared strings its cells may copy out in all.
pub(super) const XLSX_TEXT_CAP: u64 = MAX_UNPACKED;
/// Most distinct texts (shared strings) an XLSX may list: calamine holds them all at once.
pub const MAX_SHARED_STRINGS: u64 = 20_000_000;

/// Most text a book's cells may take out of its shared strings, each copied into every cell
/// that uses it: 100 times the file's size, at least 64 MiB, at most `cap`. A shared string
/// is stored once and any number of cells may use it: 5,000 cells of one 32 KB string made
/// 160 MB of records from a 27 KB file (probe 50a F5, F7).
pub fn text_limit(size: u64, cap: u64) -> u64 {
    cap.min(FREE_TEXT.max(size.saturating_mul(MAX_RATIO)))
}

pub struct Inspected {
    pub kind: ZipKind,
    /// Whether a worksheet merges cells: only then are its merges read (calamine reads them
    /// by parsing the whole sheet again, which cost 80% more on a 200,000-row sheet).
    pub merged: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZipKind {
    Xlsx,
    Ods,
}

/// What a zip holds (an XLSX, an ODS, or (Err) something else or something unsafe), and
/// whether an XLSX's sheets merge cells. Notes an XLSX's formulas saved without their
/// results (calamine reads those cells as blank).
pub fn inspect(path: &Path, notes: &Notes) -> Result<Inspected, ExtractError> {
    let size = std::fs::metadata(path)
        .map_err(|e| ExtractError::Io(e.to_string()))?
        .len();
    let corrupt = |e: zip::result::ZipError| ExtractError::Corrupt(e.to_string());
    // Its directory listed within a budget: the reader holds every part it names.
    let mut archive = super::zip_limits::open_archive(path, corrupt)?;
    // A bomb is refused as one even when it is no spreadsheet: the kind is told after.
    let kind = kind_of(&mut archive);
    let limit = MAX_UNPACKED.min(FREE_UNPACKED.max(size.saturating_mul(MAX_RATIO)));
    let shared = match kind {
        Ok(ZipKind::Xlsx) => shared_string_lengths(&mut archive, limit)?,
        _ => Vec::new(),
    };
    let mut text = Text {
        shared,
        used: 0,
        limit: text_limit(size, XLSX_TEXT_CAP),
    };
    let mut budget = Budget { used: 0, limit };
    let (mut no_results, mut merged) = (0u64, false);
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(corrupt)?;
        let is_content = kind == Ok(ZipKind::Ods) && entry.name() == "content.xml";
        // As calamine finds a sheet: any part under `xl/worksheets/` (names regardless of
        // case, `\` as `/`), whatever its extension; their relationships aside.
        let norm = entry.name().replace('\\', "/").to_ascii_lowercase();
        let is_sheet = kind == Ok(ZipKind::Xlsx)
            && norm.starts_with("xl/worksheets/")
            && !norm.contains("/_rels/")
            && !norm.ends_with('/');
        let part = entry.name().to_string();
        // Every part: the workbook's relationships may name any part as a sheet.
        let run = Some(CellText::default());
        let mut counted = Counted {
            inner: entry,
            budget: &mut budget,
            run,
        };
        let is_styles = kind == Ok(ZipKind::Xlsx) && norm == "xl/styles.xml";
        let read = if is_content {
            super::ods_measure::measure(&mut counted, text_limit(size, super::ods_measure::MAX_RECT_BYTES))
        } else if is_styles {
            super::zip_limits::check_styles(&mut counted, |e| xml_error(e, limit))
        } else if is_sheet {
            formulas_without_results(&mut counted, &mut text).map(|(n, merges)| {
                no_results += n;
                merged |= merges;
            })
        } else {
            Ok(())
        };
        let read = read.and_then(|()| {
            std::io::copy(&mut counted, &mut std::io::sink()).map_err(|e| read_error(e, counted.budget))
        });
        if counted.run.as_ref().is_some_and(|r| r.longest > MAX_XML_RUN) {
            return Err(ExtractError::LongValue { part });
        }
        read?;
    }
    if no_results > 0 {
        notes.add(format!(
            "{} no saved value and {} read as blank; open and save the file in Excel to keep their results",
            crate::words::counted(no_results, "formula had", "formulas had"),
            if no_results == 1 { "was" } else { "were" }
        ));
    }
    Ok(Inspected { kind: kind?, merged })
}

/// An ODS names its type in a `mimetype` part; an XLSX lists its parts in
/// `[Content_Types].xml`. Anything else is no spreadsheet Wharf reads.
fn kind_of<R: Read + std::io::Seek>(archive: &mut zip::ZipArchive<R>) -> Result<ZipKind, ExtractError> {
    let mimetype = archive.by_name("mimetype").ok().map(|mut m| {
        let mut head = Vec::new();
        let _ = (&mut m).take(100).read_to_end(&mut head);
        head
    });
    if let Some(head) = mimetype {
        return match head.as_slice() {
            // Saved with a password, its parts are ciphered: said so, not "damaged" (probe
            // 71c D2).
            b"application/vnd.oasis.opendocument.spreadsheet" if ods_encrypted(archive) => {
                Err(ExtractError::Encrypted)
            }
            b"application/vnd.oasis.opendocument.spreadsheet" => Ok(ZipKind::Ods),
            other => Err(ExtractError::NotSpreadsheet(format!(
                "an OpenDocument file of type `{}`",
                String::from_utf8_lossy(other)
            ))),
        };
    }
    if archive.by_name("[Content_Types].xml").is_ok() {
        if archive.by_name("xl/workbook.xml").is_ok() || archive.index_for_name("xl/workbook.bin").is_some() {
            return Ok(ZipKind::Xlsx);
        }
        if archive.by_name("word/document.xml").is_ok() {
            return Err(ExtractError::NotSpreadsheet("a Word document".into()));
        }
        if archive.by_name("ppt/presentation.xml").is_ok() {
            return Err(ExtractError::NotSpreadsheet("a PowerPoint presentation".into()));
        }
        // Calamine finds the workbook through the relationships; let it try.
        return Ok(ZipKind::Xlsx);
    }
    Err(ExtractError::NotSpreadsheet("a zip archive".into()))
}

/// Whether an ODS's manifest gives a part `encryption-data` (LibreOffice's "Save with
/// password"). The manifest is read up to 1 MB.
fn ods_encrypted<R: Read + std::io::Seek>(archive: &mut zip::ZipArchive<R>) -> bool {
    let Ok(manifest) = archive.by_name("META-INF/manifest.xml") else {
        return false;
    };
    let mut text = Vec::new();
    let _ = manifest.take(1 << 20).read_to_end(&mut text);
    memchr::memmem::find(&text, b"encryption-data").is_some()
}

struct Budget {
    used: u64,
    limit: u64,
}

/// A reader that fails once more than the budget has passed through it, or once one cell's
/// text (or one tag) passes [`MAX_XML_RUN`] (see `cell_text`).
pub(super) struct Counted<'b, R> {
    inner: R,
    budget: &'b mut Budget,
    run: Option<CellText>,
}

/// The marker error of an exhausted budget, told apart from a damaged part.
#[derive(Debug)]
pub(super) struct OverBudget;

impl std::fmt::Display for OverBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("over the unpacking limit")
    }
}

impl std::error::Error for OverBudget {}

impl<R> Counted<'_, R> {
    /// The unpacking budget's limit, for a bomb's message.
    pub(super) fn budget_limit(&self) -> u64 {
        self.budget.limit
    }
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.budget.used += n as u64;
        if self.budget.used > self.budget.limit {
            return Err(std::io::Error::other(OverBudget));
        }
        if let Some(run) = &mut self.run {
            run.scan(&buf[..n]);
            if run.longest > MAX_XML_RUN {
                return Err(std::io::Error::other(OverBudget));
            }
        }
        Ok(n)
    }
}

fn read_error(e: std::io::Error, budget: &Budget) -> ExtractError {
    if e.get_ref().is_some_and(|inner| inner.is::<OverBudget>()) {
        ExtractError::Bomb(budget.limit)
    } else {
        ExtractError::Corrupt(e.to_string())
    }
}

/// A quick-xml error as the file's problem (an exhausted budget is a bomb).
fn xml_error(e: quick_xml::Error, limit: u64) -> ExtractError {
    match e {
        quick_xml::Error::Io(io) if io.get_ref().is_some_and(|i| i.is::<OverBudget>()) => {
            ExtractError::Bomb(limit)
        }
        other => ExtractError::Corrupt(other.to_string()),
    }
}

/// The shared strings of an XLSX by their length, and how much of them the sheets' cells
/// take so far.
struct Text {
    shared: Vec<u32>,
    used: u64,
    limit: u64,
}

/// The length in bytes (as stored) of each shared string of an XLSX, from
/// `xl/sharedStrings.xml`, where calamine reads them; phonetic runs (`<rPh>`), which
/// calamine leaves out, are left out. The part is read within its own unpacking budget.
fn shared_string_lengths<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    limit: u64,
) -> Result<Vec<u32>, ExtractError> {
    // Found as calamine finds it: by name regardless of case, `\` read as `/`.
    let name = archive
        .file_names()
        .find(|n| n.replace('\\', "/").eq_ignore_ascii_case("xl/sharedStrings.xml"))
        .map(str::to_string);
    let Some(Ok(entry)) = name.map(|n| archive.by_name(&n)) else {
        return Ok(Vec::new());
    };
    let mut budget = Budget { used: 0, limit };
    let mut counted = Counted {
        inner: entry,
        budget: &mut budget,
        run: Some(CellText::default()),
    };
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(&mut counted));
    let (mut buf, mut lengths) = (Vec::new(), Vec::<u32>::new());
    let (mut in_text, mut phonetic) = (false, false);
    loop {
        buf.clear();
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| xml_error(e, limit))?
        {
            // `<si/>` is a string too, as calamine reads it (empty elements expanded).
            Event::Empty(e) if e.local_name().as_ref() == b"si" => {
                if lengths.len() as u64 >= MAX_SHARED_STRINGS {
                    return Err(ExtractError::TooManySharedStrings(MAX_SHARED_STRINGS));
                }
                lengths.push(0);
            }
            Event::Start(e) => match e.local_name().as_ref() {
                b"si" => {
                    if lengths.len() as u64 >= MAX_SHARED_STRINGS {
                        return Err(ExtractError::TooManySharedStrings(MAX_SHARED_STRINGS));
                    }
                    lengths.push(0);
                }
                b"t" => in_text = true,
                b"rPh" => phonetic = true,
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                b"t" => in_text = false,
                b"rPh" => phonetic = false,
                _ => {}
            },
            Event::Text(t) if in_text && !phonetic => {
                if let Some(last) = lengths.last_mut() {
                    *last = last.saturating_add(t.len() as u32);
                }
            }
            // `&lt;`, `&#48;`: one character, at most four bytes.
            Event::GeneralRef(_) if in_text && !phonetic => {
                if let Some(last) = lengths.last_mut() {
                    *last = last.saturating_add(4);
                }
            }
            Event::Eof => return Ok(lengths),
            _ => {}
        }
    }
}

/// Cells of a worksheet part with a formula (`<f>`) but no value (`<v>`, `<is>`), and
/// whether it merges cells. Adds the shared strings its cells use to `text`, refusing the
/// book past its limit.
fn formulas_without_results<R: Read>(
    sheet: &mut Counted<'_, R>,
    text: &mut Text,
) -> Result<(u64, bool), ExtractError> {
    let limit = sheet.budget.limit;
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(&mut *sheet));
    let (mut buf, mut count, mut merged) = (Vec::new(), 0u64, false);
    let (mut formula, mut value) = (false, false);
    // Whether the open cell is a shared string's (`t="s"`), and its `<v>`'s text so far
    // while it is open.
    let (mut shared, mut in_value) = (false, None::<String>);
    loop {
        buf.clear();
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| xml_error(e, limit))?
        {
            Event::Start(e) => match e.local_name().as_ref() {
                b"c" => {
                    (formula, value) = (false, false);
                    shared = e
                        .try_get_attribute("t")
                        .ok()
                        .flatten()
                        .is_some_and(|t| t.value.as_ref() == b"s");
                }
                b"f" => formula = true,
                b"v" => (value, in_value) = (true, Some(String::new())),
                b"is" => value = true,
                b"mergeCell" => merged = true,
                _ => {}
            },
            Event::Empty(e) if e.local_name().as_ref() == b"f" => formula = true,
            Event::Empty(e) if e.local_name().as_ref() == b"mergeCell" => merged = true,
            Event::Text(t) if shared => {
                if let Some(v) = &mut in_value {
                    v.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) if shared => {
                if let (Some(v), Ok(Some(c))) = (&mut in_value, r.resolve_char_ref()) {
                    v.push(c);
                }
            }
            Event::End(e) if e.local_name().as_ref() == b"v" => {
                // Calamine reads an index that does not parse as string 0: refused, so no
                // cell shows another's text (probe 78a D3: `-1`, `1.9` read as the first).
                if let Some(v) = in_value.take().filter(|_| shared) {
                    let Ok(index) = v.parse::<usize>() else {
                        return Err(ExtractError::Corrupt(format!(
                            "a cell names shared text `{}`, which is no index into the file's shared strings",
                            v.chars().take(40).collect::<String>()
                        )));
                    };
                    let len = text.shared.get(index).copied().unwrap_or(0);
                    text.used = text.used.saturating_add(u64::from(len));
                    if text.used > text.limit {
                        return Err(ExtractError::SharedTextTooLarge(text.limit));
                    }
                }
            }
            Event::End(e) if e.local_name().as_ref() == b"c" => {
                if formula && !value {
                    count += 1;
                }
                (formula, value, shared, in_value) = (false, false, false, None);
            }
            Event::Eof => return Ok((count, merged)),
            _ => {}
        }
    }
}

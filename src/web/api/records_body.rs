//! The body of `POST /v1/sheets/{id}/records` read into values in field order. A big body
//! is read in parts, one per core: its top-level array is cut between records (a scan that
//! follows strings, so a comma inside a value never cuts), and each part read as an array
//! of its own. Reading took a fifth of a 10,000-record insert on one core. A big body of a
//! sheet without references is read, checked and written as a pipeline ([`pipelined`]).

use super::record_input::RecordsSeed;
use super::records_ahead::RecordsAhead;
use crate::blueprint::SheetConfig;
use crate::model::record::{self, Prepared};
use crate::model::sheet::SheetContext;
use crate::web::error::{AppError, ErrorItem};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// Bodies from this size are read in parts.
const PARALLEL_FROM: usize = 256 * 1024;

/// About this many bytes of a body make one part of a pipelined insert: small enough that
/// the writer starts soon, big enough that a part costs little more than its records.
const PIPELINE_PART: usize = 128 * 1024;

/// Records read, and the problems of their cells (keys the sheet lacks, cells too big).
type Read = (Vec<Vec<Value>>, Vec<ErrorItem>);

/// A DELETE of records reads no body: a selection sent there was ignored as silently as
/// one beside the ids (probe 65c N1). Nothing, `{}` or `null` is no selection.
pub fn refuse_any(body: &[u8]) -> Result<(), AppError> {
    let nothing = body.iter().all(u8::is_ascii_whitespace)
        || serde_json::from_slice::<Value>(body).is_ok_and(|v| v.is_null() || v == serde_json::json!({}));
    match nothing {
        true => Ok(()),
        false => Err(AppError::bad_request(
            "body",
            "this call reads no body: name the records with ids=us_rc_...; delete a selection with a `delete-records` job",
        )),
    }
}

/// The records of a body, or why it cannot be read: a 400 for JSON that is not an array of
/// records (with serde's position in the body), a 422 naming each cell the sheet cannot take.
pub fn parse(body: &[u8], config: &SheetConfig) -> Result<Vec<Vec<Value>>, AppError> {
    // A byte-order mark, as every other JSON body (probe 65f D5).
    let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parts = (body.len() >= PARALLEL_FROM && threads > 1)
        .then(|| cut(body, threads))
        .flatten();
    let read = match parts {
        Some(parts) => read_parts(&parts, config).or_else(|| read_part(body, 0, config).ok()),
        None => None,
    };
    let (rows, problems) = match read {
        Some(read) => read,
        // Read whole: serde's error then says where in the body.
        None => read_part(body, 0, config).map_err(|e| crate::web::input::unreadable_json(&e))?,
    };
    match problems.is_empty() {
        true => Ok(rows),
        false => Err(AppError::Invalid(problems)),
    }
}

/// A big body read in parts, each part's records checked, on every core, and handed to
/// `write` in order as they become ready, so that the first are written while the rest
/// are read: the write transaction overlaps the reading instead of following it. A batch
/// is `None` when its part cannot be read as it is (bad JSON, a cell the sheet cannot
/// take), reads a field's dates or numbers otherwise than the first part (see
/// `validate::Reading`), or the body holds more than `max_records`: the writer then gives up, and the
/// caller reads the body whole for the exact error. The readers also write each record as
/// the answer shows it, but for its id ([`RecordsAhead`], one per batch written). `None`
/// when the body is too small to cut, or cannot be cut.
pub fn pipelined<T>(
    body: &[u8],
    ctx: &SheetContext,
    max_records: usize,
    write: impl FnOnce(&mut dyn Iterator<Item = Option<Prepared>>) -> T,
) -> Option<(T, Vec<RecordsAhead>)> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if body.len() < PARALLEL_FROM || threads < 2 {
        return None;
    }
    let parts = cut(body, (body.len() / PIPELINE_PART).max(threads))?;
    let (next, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    let (sender, receiver) = mpsc::channel();
    Some(std::thread::scope(|scope| {
        for _ in 0..threads {
            let (sender, parts, next, stop) = (sender.clone(), &parts, &next, &stop);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= parts.len() || stop.load(Ordering::Relaxed) {
                    break;
                }
                let (first, part) = &parts[i];
                let ready = read_part(part, *first, &ctx.config)
                    .ok()
                    .filter(|(rows, problems)| !rows.is_empty() && problems.is_empty())
                    .and_then(|(rows, _)| {
                        let prepared = record::prepare(ctx, rows);
                        let ahead = RecordsAhead::write(prepared.checked(), &ctx.config).ok()?;
                        Some((prepared, ahead))
                    });
                if sender.send((i, ready)).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        let mut batches = InOrder {
            receiver,
            waiting: BTreeMap::new(),
            next: 0,
            parts: parts.len(),
            records: 0,
            max_records,
            ahead: Vec::new(),
            readings: None,
        };
        let written = write(&mut batches);
        // A writer that gave up leaves parts unread: the readers stop at their next part.
        stop.store(true, Ordering::Relaxed);
        (written, batches.ahead)
    }))
}

/// A part's records checked, and written as the answer shows them.
type Ready = Option<(Prepared, RecordsAhead)>;

/// Parts checked on several threads, in the body's order.
struct InOrder {
    receiver: mpsc::Receiver<(usize, Ready)>,
    waiting: BTreeMap<usize, Ready>,
    next: usize,
    parts: usize,
    records: usize,
    max_records: usize,
    ahead: Vec<RecordsAhead>,
    /// How the first part read its fields' values that read two ways.
    readings: Option<Vec<crate::validate::Reading>>,
}

impl Iterator for InOrder {
    type Item = Option<Prepared>;

    fn next(&mut self) -> Option<Option<Prepared>> {
        if self.next == self.parts {
            return None;
        }
        let batch = loop {
            if let Some(batch) = self.waiting.remove(&self.next) {
                break batch;
            }
            match self.receiver.recv() {
                Ok((i, batch)) => {
                    self.waiting.insert(i, batch);
                }
                // The readers stopped before this part: nothing more can come.
                Err(_) => break None,
            }
        };
        self.next += 1;
        let Some((prepared, ahead)) = batch else {
            return Some(None);
        };
        // One insert reads each field one way: a part whose own values say otherwise than
        // the first part's (`25/12/2024` after parts with no day-first date) gives up, and
        // the body is read whole, as one batch.
        let first = self.readings.get_or_insert_with(|| prepared.readings().to_vec());
        if first.as_slice() != prepared.readings() {
            return Some(None);
        }
        self.records += prepared.len();
        self.ahead.push(ahead);
        Some(Some(prepared).filter(|_| self.records <= self.max_records))
    }
}

/// The parts read on threads of their own and joined in order; `None` if any cannot be read
/// (or is empty, as a cut at a trailing comma would make one), for the caller to read the
/// body whole.
fn read_parts(parts: &[(usize, Vec<u8>)], config: &SheetConfig) -> Option<Read> {
    let reads: Vec<Option<Read>> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter()
            .map(|(first, part)| scope.spawn(move || read_part(part, *first, config).ok()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("reading records panicked"))
            .collect()
    });
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for read in reads {
        let (mut part_rows, part_problems) = read.filter(|(r, _)| !r.is_empty())?;
        rows.append(&mut part_rows);
        problems.extend(part_problems);
    }
    Some((rows, problems))
}

/// One JSON array of records, the first of which is record `first` of the body.
fn read_part(part: &[u8], first: usize, config: &SheetConfig) -> Result<Read, serde_json::Error> {
    let seed = RecordsSeed {
        config,
        first,
        problems: Default::default(),
    };
    let mut de = serde_json::Deserializer::from_slice(part);
    let rows = serde::de::DeserializeSeed::deserialize(&seed, &mut de)?;
    de.end()?;
    Ok((rows, seed.problems.into_inner()))
}

/// The body's top-level array cut into about `parts` arrays between records, each with the
/// index of its first record; `None` when the body is no array or has no cut to make.
fn cut(body: &[u8], parts: usize) -> Option<Vec<(usize, Vec<u8>)>> {
    let open = body.iter().position(|c| !c.is_ascii_whitespace())?;
    if body[open] != b'[' {
        return None;
    }
    let step = body.len() / parts;
    // Commas between records: where, and how many records come before.
    let mut commas: Vec<(usize, usize)> = Vec::new();
    let (mut depth, mut in_string, mut escaped, mut records) = (0usize, false, false, 0usize);
    let mut next = step;
    let mut i = open;
    while i < body.len() {
        let c = body[i];
        if in_string {
            match c {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                // Most of a body is text: jump to its next quote or backslash.
                _ => match memchr::memchr2(b'"', b'\\', &body[i..]) {
                    Some(skip) => {
                        i += skip;
                        continue;
                    }
                    None => return None,
                },
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.checked_sub(1)?,
            b',' if depth == 1 => {
                records += 1;
                if i >= next {
                    commas.push((i, records));
                    next = i + step;
                    if commas.len() + 1 == parts {
                        break;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    if commas.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(commas.len() + 1);
    let (mut from, mut first) = (open, 0);
    for (at, before) in commas {
        let mut part = Vec::with_capacity(at - from + 1);
        part.push(b'[');
        part.extend_from_slice(&body[from + 1..at]);
        part.push(b']');
        out.push((first, part));
        (from, first) = (at, before);
    }
    // The last part ends with the body's own closing bracket.
    let mut last = Vec::with_capacity(body.len() - from);
    last.push(b'[');
    last.extend_from_slice(&body[from + 1..]);
    out.push((first, last));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> SheetConfig {
        crate::blueprint::parse_stored_sheet(&json!({
            "name": "People", "slug": "people", "fields": [
                {"key": "email", "type": "string"},
                {"key": "note", "type": "string"}
            ]
        }))
        .unwrap()
    }

    /// Records whose values hold what could mislead a cut: commas, brackets, braces,
    /// quotes and backslashes inside strings.
    fn body(n: usize) -> Vec<u8> {
        let rows: Vec<Value> = (0..n)
            .map(|i| {
                json!({"email": {"value": format!("p{i}@x.io")},
                       "note": {"value": format!("a, b] }} {{ [\"q\\\" {i},\\\\")}})
            })
            .collect();
        serde_json::to_vec(&rows).unwrap()
    }

    #[test]
    fn a_body_read_in_parts_holds_the_records_read_whole() {
        let config = config();
        for n in [2, 3, 7, 5000] {
            let body = body(n);
            let whole = read_part(&body, 0, &config).unwrap().0;
            for parts in [2, 3, 4] {
                let cut = cut(&body, parts).unwrap();
                assert!(cut.len() > 1 && cut.len() <= parts, "{n} in {parts}");
                let read = read_parts(&cut, &config).unwrap().0;
                assert_eq!(read, whole, "{n} in {parts}");
            }
        }
    }

    #[test]
    fn problems_name_records_by_their_place_in_the_whole_body() {
        let config = config();
        let mut rows: Vec<Value> = (0..4000).map(|i| json!({"email": format!("p{i}")})).collect();
        rows[3999] = json!({"email": "late", "nope": 1});
        let body = serde_json::to_vec(&rows).unwrap();
        let cut = cut(&body, 2).unwrap();
        assert!(cut[1].0 > 0);
        let (_, problems) = read_parts(&cut, &config).unwrap();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "$[3999].nope");
    }

    #[test]
    fn what_is_not_an_array_of_records_is_read_whole_for_its_error() {
        let config = config();
        let mut text = String::from_utf8(body(5000)).unwrap();
        assert!(text.len() >= PARALLEL_FROM);
        // A trailing comma, a missing bracket, garbage after the array.
        for broken in [
            text.replacen("},{", "},,{", 1),
            format!("{},]", &text[..text.len() - 1]),
            text[..text.len() - 1].to_string(),
            format!("{text} x"),
        ] {
            assert!(matches!(
                parse(broken.as_bytes(), &config),
                Err(AppError::BadRequest { .. })
            ));
        }
        text.insert_str(0, "  \n");
        assert_eq!(parse(text.as_bytes(), &config).unwrap().len(), 5000);
    }
}

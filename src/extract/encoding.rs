//! Which text encoding a file is in, and a reader that turns it into UTF-8 as it streams.
//!
//! A byte-order mark decides first (UTF-8, UTF-16 LE/BE). Without one, text that is valid
//! UTF-8 is UTF-8; text with well-formed multi-byte sequences beside a few broken bytes is
//! UTF-8 with those bytes read as a single-byte encoding (pasted from another program);
//! anything else goes to `chardetng`, which knows the legacy encodings (Windows-1252,
//! Shift_JIS, ...). Bytes that do not decode become U+FFFD and are counted, never dropped
//! silently.

use encoding_rs::{CoderResult, Decoder, Encoding, UTF_8};
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The encoding of a file, judged from its first bytes.
pub fn sniff(head: &[u8], whole_file: bool) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(head) {
        return enc;
    }
    if let Some(enc) = utf16_without_bom(head) {
        return enc;
    }
    let shape = utf8_shape(head, whole_file);
    if shape.bad == 0 {
        return UTF_8;
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(head, whole_file);
    match reads_as_utf8(shape, detector.guess(None, false)) {
        true => UTF_8,
        false => mac_roman_or(detector.guess(None, true), MacEvidence::of(head)),
    }
}

/// What tells Mac Roman (Excel for Mac's "CSV (Macintosh)") from Windows-1252: bytes
/// Windows-1252 has no character for (it reads them as invisible C1 controls), which Mac
/// Roman uses for è, ç, ê, Å, ù; bytes inside words that Windows-1252 reads as a symbol or
/// a capital (`MŸnchen`, `BŠcker`, `rŽsum`), Mac Roman as a small letter (ü, ä, é); and
/// where the accented letters are, 0x80-0x9F in Mac Roman, 0xC0-0xFF in Windows-1252.
#[derive(Default, Clone, Copy)]
struct MacEvidence {
    unused: bool,
    in_word: usize,
    /// Windows-1252's quotes and dashes beside a space (` “`, ` – `): its punctuation.
    spaced_punctuation: usize,
    low_high: usize,
    high_high: usize,
}

/// Bytes Mac Roman reads as a small accented letter that Windows-1252 reads as a symbol
/// (‡ ˆ ‰ ‹ • ˜ ›): after a letter and before a small one, only Mac Roman makes a word of
/// them. Those Windows-1252 writes inside words too (’ – — š œ ž, quotes, ™ as in `Acme™s`:
/// probe 70a D5) say nothing.
fn mac_in_word(b: u8) -> bool {
    matches!(b, 0x87..=0x89 | 0x8B | 0x95 | 0x98 | 0x9B)
}

/// Bytes Windows-1252 reads as a capital (Š Œ Ž Ÿ) and Mac Roman as a small letter (ä ç é
/// ü): after a small letter, as in `JosŽ` or `MŸnchen`, only Mac Roman makes a word.
fn mac_after_small(b: u8) -> bool {
    matches!(b, 0x8A | 0x8C | 0x8E | 0x9F)
}

impl MacEvidence {
    fn of(bytes: &[u8]) -> Self {
        let mut e = MacEvidence::default();
        e.add(bytes);
        e
    }

    fn add(&mut self, bytes: &[u8]) {
        for w in bytes.windows(3) {
            if (mac_in_word(w[1]) && w[0].is_ascii_alphabetic() && w[2].is_ascii_lowercase())
                || (mac_after_small(w[1]) && w[0].is_ascii_lowercase())
            {
                self.in_word += 1;
            }
            if matches!(w[1], 0x91..=0x97) && (w[0] == b' ' || w[2] == b' ') {
                self.spaced_punctuation += 1;
            }
        }
        for b in bytes {
            match b {
                0x81 | 0x8D | 0x8F | 0x90 | 0x9D => {
                    self.unused = true;
                    self.low_high += 1;
                }
                0x80..=0x9F => self.low_high += 1,
                0xC0..=0xFF => self.high_high += 1,
                _ => {}
            }
        }
    }
}

/// `chardetng` knows no Mac Roman and takes it for Windows-1252: a text holding bytes that
/// encoding has no character for, or that only Mac Roman reads as letters inside words,
/// with its accents where Mac Roman has its letters, is Mac Roman (probe 60b D4: `Hélène`
/// read `HŽl\u{8f}ne`; probe 69d D4: `Jürgen` read `JŸrgen`). A Windows-1252 text with a
/// stray such byte keeps its reading.
fn mac_roman_or(guess: &'static Encoding, e: MacEvidence) -> &'static Encoding {
    let words = e.in_word > e.spaced_punctuation;
    match guess == encoding_rs::WINDOWS_1252 && (e.unused || words) && e.low_high > e.high_high {
        true => encoding_rs::MACINTOSH,
        false => guess,
    }
}

/// Whether text with `good` well-formed multi-byte UTF-8 sequences and `bad` bytes that
/// break UTF-8 is UTF-8 (with strays), `legacy` being the legacy encoding it would
/// otherwise be in. Beside a Latin-script encoding, sequences that all read as Latin
/// letters and the usual punctuation make it UTF-8 with its other bytes read in that
/// encoding: UTF-8 with pasted bytes keeps its own accents (3 good names against 16 stray
/// bytes, or 7 against 150). A truly legacy file forms a sequence only by chance, an
/// accented capital before a symbol, which reads as another script (`SPÓŁKA` as `SPӣKA`,
/// `Maß…` as `Ma߅`: probe 53a 6), and is then legacy unless the sequences are the majority.
/// Scripts written in high bytes throughout (GBK, EUC-KR, Shift_JIS kana, Thai) form them
/// all the time (probe 52a 2): such text is UTF-8 only when the sequences are the majority.
fn reads_as_utf8(good: Shape, legacy: &'static Encoding) -> bool {
    let majority = good.latin + good.other >= good.bad;
    match latin(legacy) {
        true => (good.latin > 0 && good.other == 0) || majority,
        false => majority,
    }
}

/// Well-formed non-ASCII UTF-8 characters, those of Latin letters and the usual
/// punctuation apart, and bytes that break UTF-8.
#[derive(Default, Clone, Copy)]
struct Shape {
    latin: usize,
    other: usize,
    bad: usize,
}

impl Shape {
    fn add(&mut self, other: Shape) {
        self.latin += other.latin;
        self.other += other.other;
        self.bad += other.bad;
    }

    fn count(&mut self, valid: &str) {
        for c in valid.chars().filter(|c| !c.is_ascii()) {
            // Latin-1 Supplement, Latin Extended-A and -B; General Punctuation and currency
            // signs (’ “ ” – — … €).
            match c as u32 {
                0xA0..=0x24F | 0x2010..=0x20CF => self.latin += 1,
                _ => self.other += 1,
            }
        }
    }
}

/// Single-byte encodings of Latin-script languages, whose text is mostly ASCII.
fn latin(encoding: &'static Encoding) -> bool {
    use encoding_rs::*;
    [
        WINDOWS_1252,
        WINDOWS_1250,
        WINDOWS_1254,
        WINDOWS_1257,
        ISO_8859_2,
        ISO_8859_4,
        ISO_8859_13,
        ISO_8859_15,
    ]
    .contains(&encoding)
}

/// What a file whose head reads as UTF-8 holds besides: for a file past its head, every
/// byte is looked at (probe 49d 7: a Windows-1252 export whose accented names came after 64
/// KB lost every accent).
pub enum BeyondUtf8 {
    /// UTF-8 throughout.
    Nothing,
    /// More bytes break UTF-8 than form it: a legacy encoding, this one.
    Legacy(&'static Encoding),
    /// UTF-8 with a few bytes of a single-byte encoding pasted in: those bytes are read as
    /// that encoding, the rest as UTF-8 (probe 51a F5: the whole file read as Windows-1252
    /// turned its good accents into mojibake).
    Mixed {
        fallback: &'static Encoding,
        stray: usize,
    },
}

pub fn beyond_utf8(path: &std::path::Path, head: &[u8], whole: bool) -> io::Result<BeyondUtf8> {
    let read_all = |each: &mut dyn FnMut(&[u8])| -> io::Result<()> {
        if whole {
            each(head);
            return Ok(());
        }
        let mut file = std::fs::File::open(path)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            each(&buf[..n]);
        }
    };
    // Chunks as read, a sequence cut by a chunk's end carried into the next (the end of
    // the file's is counted as broken when the head is the whole file).
    let aligned = |each: &mut dyn FnMut(&[u8])| -> io::Result<()> {
        let mut carried: Vec<u8> = Vec::new();
        read_all(&mut |chunk| {
            let joined;
            let bytes = if carried.is_empty() {
                chunk
            } else {
                joined = [carried.as_slice(), chunk].concat();
                joined.as_slice()
            };
            let cut = match std::str::from_utf8(bytes) {
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                _ => bytes.len(),
            };
            each(&bytes[..cut]);
            carried = bytes[cut..].to_vec();
        })?;
        if whole && !carried.is_empty() {
            each(&carried);
        }
        Ok(())
    };
    // Most files are UTF-8 throughout: checked first at the speed of validation alone.
    let mut valid = true;
    aligned(&mut |bytes| valid &= std::str::from_utf8(bytes).is_ok())?;
    if valid {
        return Ok(BeyondUtf8::Nothing);
    }
    let mut shape = Shape::default();
    aligned(&mut |bytes| shape.add(utf8_shape(bytes, true)))?;
    let mut detector = chardetng::EncodingDetector::new();
    let mut mac = MacEvidence::default();
    read_all(&mut |chunk| {
        detector.feed(chunk, false);
        mac.add(chunk);
    })?;
    detector.feed(&[], true);
    let legacy = detector.guess(None, false);
    if !reads_as_utf8(shape, legacy) {
        return Ok(BeyondUtf8::Legacy(mac_roman_or(detector.guess(None, true), mac)));
    }
    // Stray bytes are read as the Latin encoding they are in; beside another guess, as
    // U+FFFD (counted), as before.
    Ok(match latin(legacy) {
        true => BeyondUtf8::Mixed {
            fallback: legacy,
            stray: shape.bad,
        },
        false => BeyondUtf8::Nothing,
    })
}

/// UTF-8 text with stray bytes of a single-byte encoding, as UTF-8: well-formed sequences
/// as they are, each byte that breaks UTF-8 as the fallback encoding reads it.
pub struct MixedReader<R> {
    inner: R,
    /// Each byte as the fallback encoding reads it, in UTF-8.
    table: Vec<String>,
    input: Vec<u8>,
    /// Bytes of `input` not decoded yet (an incomplete sequence waiting for the next read).
    pending: usize,
    output: Vec<u8>,
    out_start: usize,
    eof: bool,
}

impl<R: Read> MixedReader<R> {
    pub fn new(inner: R, fallback: &'static Encoding) -> Self {
        let table = (0..=255u8)
            .map(|b| fallback.decode_without_bom_handling(&[b]).0.into_owned())
            .collect();
        MixedReader {
            inner,
            table,
            input: vec![0; 64 * 1024],
            pending: 0,
            output: Vec::with_capacity(256 * 1024),
            out_start: 0,
            eof: false,
        }
    }

    /// Decodes `input[..end]`, keeping an incomplete sequence at its end unless `last`.
    fn decode(&mut self, end: usize, last: bool) {
        self.output.clear();
        self.out_start = 0;
        let mut bytes = &self.input[..end];
        loop {
            match std::str::from_utf8(bytes) {
                Ok(text) => {
                    self.output.extend_from_slice(text.as_bytes());
                    bytes = &[];
                    break;
                }
                Err(e) => {
                    let (valid, rest) = bytes.split_at(e.valid_up_to());
                    self.output.extend_from_slice(valid);
                    let n = match e.error_len() {
                        Some(n) => n,
                        None if last => rest.len(),
                        None => {
                            bytes = rest;
                            break;
                        }
                    };
                    for b in &rest[..n] {
                        self.output.extend_from_slice(self.table[*b as usize].as_bytes());
                    }
                    bytes = &rest[n..];
                }
            }
        }
        let kept = bytes.len();
        self.input.copy_within(end - kept..end, 0);
        self.pending = kept;
    }
}

impl<R: Read> Read for MixedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_start < self.output.len() {
                let n = buf.len().min(self.output.len() - self.out_start);
                buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.eof || buf.is_empty() {
                return Ok(0);
            }
            let n = loop {
                match self.inner.read(&mut self.input[self.pending..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            self.eof = n == 0;
            let end = self.pending + n;
            self.decode(end, self.eof);
        }
    }
}

/// UTF-16 saved without a byte-order mark: text of mostly Latin letters has a zero byte in
/// every other place (the odd ones little-endian, the even ones big-endian) and almost none
/// in the others. Binary data has zeros in both or in neither.
fn utf16_without_bom(head: &[u8]) -> Option<&'static Encoding> {
    let pairs: Vec<&[u8]> = head[..head.len().min(4096) & !1].chunks_exact(2).collect();
    if pairs.len() < 8 {
        return None;
    }
    let zeros_at = |i: usize| pairs.iter().filter(|p| p[i] == 0).count();
    let (even, odd, n) = (zeros_at(0), zeros_at(1), pairs.len());
    let most = |zeros: usize| zeros * 10 >= n * 4;
    let few = |zeros: usize| zeros * 20 <= n;
    match (most(odd) && few(even), most(even) && few(odd)) {
        (true, false) => Some(encoding_rs::UTF_16LE),
        (false, true) => Some(encoding_rs::UTF_16BE),
        _ => None,
    }
}

/// Counts well-formed non-ASCII UTF-8 sequences and bytes that break UTF-8. A sequence cut
/// off by the end of a sample is not counted as broken.
fn utf8_shape(mut bytes: &[u8], whole_file: bool) -> Shape {
    let mut shape = Shape::default();
    loop {
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                shape.count(text);
                return shape;
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                // Valid up to there by construction.
                shape.count(std::str::from_utf8(valid).unwrap_or_default());
                match e.error_len() {
                    Some(n) => {
                        shape.bad += n;
                        bytes = &rest[n..];
                    }
                    None => {
                        if whole_file {
                            shape.bad += rest.len();
                        }
                        return shape;
                    }
                }
            }
        }
    }
}

/// A `Read` of UTF-8 text decoded from another encoding as the bytes arrive (a BOM is
/// removed). Undecodable bytes become U+FFFD and are counted in `replaced`.
pub struct DecodingReader<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    eof: bool,
    finished: bool,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    replaced: Arc<AtomicU64>,
}

impl<R: Read> DecodingReader<R> {
    pub fn new(inner: R, encoding: &'static Encoding, replaced: Arc<AtomicU64>) -> Self {
        DecodingReader {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            input: vec![0; 16 * 1024],
            in_start: 0,
            in_end: 0,
            eof: false,
            finished: false,
            // Any single-byte or UTF-16 input grows at most threefold in UTF-8.
            output: vec![0; 64 * 1024],
            out_start: 0,
            out_end: 0,
            replaced,
        }
    }
}

impl<R: Read> Read for DecodingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_start < self.out_end {
                let n = buf.len().min(self.out_end - self.out_start);
                buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.finished || buf.is_empty() {
                return Ok(0);
            }
            if self.in_start == self.in_end && !self.eof {
                let n = loop {
                    match self.inner.read(&mut self.input) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                };
                self.in_start = 0;
                self.in_end = n;
                self.eof = n == 0;
            }
            let (result, read, written, had_replacements) = self.decoder.decode_to_utf8(
                &self.input[self.in_start..self.in_end],
                &mut self.output,
                self.eof,
            );
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            if had_replacements {
                let count = self.output[..written]
                    .windows(3)
                    .filter(|w| *w == [0xEF, 0xBF, 0xBD])
                    .count();
                self.replaced.fetch_add(count.max(1) as u64, Ordering::Relaxed);
            }
            if self.eof && result == CoderResult::InputEmpty && self.in_start == self.in_end {
                self.finished = true;
            }
        }
    }
}

/// Decodes a whole (small) byte slice as the file will be read, for sniffing: UTF-8 with
/// its stray bytes in `fallback` when there is one (probe 52a 3: read as plain UTF-8, a
/// sample of many pasted bytes looked binary).
pub fn decode_sample_with(
    head: &[u8],
    encoding: &'static Encoding,
    fallback: Option<&'static Encoding>,
) -> String {
    match fallback {
        Some(fallback) => {
            let mut out = String::new();
            let _ = MixedReader::new(head, fallback).read_to_string(&mut out);
            out
        }
        None => decode_sample(head, encoding),
    }
}

/// Decodes a whole (small) byte slice, for sniffing.
pub fn decode_sample(head: &[u8], encoding: &'static Encoding) -> String {
    let mut decoder = encoding.new_decoder_with_bom_removal();
    let mut out = String::with_capacity(head.len() * 3 + 16);
    let _ = decoder.decode_to_string(head, &mut out, false);
    out
}

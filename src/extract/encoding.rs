//! Which text encoding a file is in, and a reader that turns it into UTF-8 as it streams.
//!
//! A byte-order mark decides first (UTF-8, UTF-16 LE/BE). Without one, text that is valid
//! UTF-8 (or mostly so: more well-formed multi-byte sequences than broken bytes) is UTF-8;
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
    let (good_multibyte, bad) = utf8_shape(head, whole_file);
    if bad == 0 || good_multibyte >= bad {
        return UTF_8;
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(head, whole_file);
    detector.guess(None, true)
}

/// A file whose head reads as UTF-8 (plain ASCII, often) is read whole once more when its
/// later bytes break UTF-8 more often than they form it: its encoding is then judged on
/// all of it (probe 49d 7: a Windows-1252 export whose accented names came after 64 KB
/// lost every accent). `None` when UTF-8 stands.
pub fn past_the_head(path: &std::path::Path) -> io::Result<Option<&'static Encoding>> {
    let read_all = |each: &mut dyn FnMut(&[u8])| -> io::Result<()> {
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
    let (mut good, mut bad) = (0usize, 0usize);
    read_all(&mut |chunk| {
        // A sequence cut by a chunk's end counts neither way: a few at most.
        let (g, b) = utf8_shape(chunk, false);
        good += g;
        bad += b;
    })?;
    if bad == 0 || good >= bad {
        return Ok(None);
    }
    let mut detector = chardetng::EncodingDetector::new();
    read_all(&mut |chunk| {
        detector.feed(chunk, false);
    })?;
    detector.feed(&[], true);
    Ok(Some(detector.guess(None, true)))
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
fn utf8_shape(mut bytes: &[u8], whole_file: bool) -> (usize, usize) {
    let (mut good, mut bad) = (0, 0);
    loop {
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                good += text.chars().filter(|c| !c.is_ascii()).count();
                return (good, bad);
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                // Valid prefix: the split point is a char boundary by construction.
                good += std::str::from_utf8(valid)
                    .map(|t| t.chars().filter(|c| !c.is_ascii()).count())
                    .unwrap_or(0);
                match e.error_len() {
                    Some(n) => {
                        bad += n;
                        bytes = &rest[n..];
                    }
                    None => {
                        if whole_file {
                            bad += rest.len();
                        }
                        return (good, bad);
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

/// Decodes a whole (small) byte slice, for sniffing.
pub fn decode_sample(head: &[u8], encoding: &'static Encoding) -> String {
    let mut decoder = encoding.new_decoder_with_bom_removal();
    let mut out = String::with_capacity(head.len() * 3 + 16);
    let _ = decoder.decode_to_string(head, &mut out, false);
    out
}

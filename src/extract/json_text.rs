//! JSON text as Wharf reads it: a string or a number past [`MAX_STRING_BYTES`] stops the
//! reading rather than being held whole, three times over while serde reads it (probe 58d
//! F1: a 300 MiB value took 0.9 GB; probe 63c D2: a 150 MB number took 636 MB), and the `NaN`, `Infinity` and `-Infinity` that Python's `json.dumps`
//! writes, which are no JSON, are read as the texts they spell (probe 58d F6: the file was
//! called damaged). A number field then says the value is no number; nothing is lost.

use std::borrow::Cow;
use std::io::Read;

/// Longest string read: a cell holds at most 1 MiB.
pub(super) const MAX_STRING_BYTES: u64 = 16 * 1024 * 1024;

/// What the reader's error says, for the reading to tell it apart.
pub(super) const TOO_LONG: &str = "a text runs past the longest read";

/// Words outside strings read as texts.
const WORDS: [&[u8]; 3] = [b"NaN", b"Infinity", b"-Infinity"];

/// Where a scan of JSON text stands between two pieces of it.
#[derive(Default)]
struct Scan {
    in_string: bool,
    escaped: bool,
    run: u64,
    /// Bytes of the number or word outside strings being read.
    bare_run: u64,
    /// Bytes outside a string that may begin one of [`WORDS`].
    pending: Vec<u8>,
}

impl Scan {
    /// Writes `input` to `out` as read; an error for a string past the longest.
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        for &b in input {
            if self.in_string {
                self.run += 1;
                match (self.escaped, b) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    _ => {}
                }
                if self.run > MAX_STRING_BYTES {
                    return Err(std::io::Error::other(TOO_LONG));
                }
                out.push(b);
            } else {
                match b {
                    b'[' | b']' | b'{' | b'}' | b',' | b':' | b'"' | b' ' | b'\t' | b'\n' | b'\r' => {
                        self.bare_run = 0
                    }
                    _ => self.bare_run += 1,
                }
                if self.bare_run > MAX_STRING_BYTES {
                    return Err(std::io::Error::other(TOO_LONG));
                }
                self.outside(b, out);
            }
        }
        Ok(())
    }

    fn outside(&mut self, b: u8, out: &mut Vec<u8>) {
        let starts = |b: u8| matches!(b, b'N' | b'I' | b'-');
        if self.pending.is_empty() && !starts(b) {
            return self.plain(b, out);
        }
        self.pending.push(b);
        if WORDS.contains(&self.pending.as_slice()) {
            out.push(b'"');
            out.append(&mut self.pending);
            out.push(b'"');
        } else if !WORDS.iter().any(|w| w.starts_with(&self.pending)) {
            // Not one of them: its bytes go as they are, the last perhaps beginning another.
            let last = self.pending.pop().expect("pushed above");
            out.append(&mut self.pending);
            match starts(last) {
                true => self.pending.push(last),
                false => self.plain(last, out),
            }
        }
    }

    fn plain(&mut self, b: u8, out: &mut Vec<u8>) {
        if b == b'"' {
            (self.in_string, self.run) = (true, 0);
        }
        out.push(b);
    }

    /// The end of the text: what was held goes as it is.
    fn finish(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.pending);
    }
}

/// A reader of JSON text, read as [`Scan`] reads it.
pub(super) struct JsonText<R> {
    inner: R,
    scan: Scan,
    ready: Vec<u8>,
    at: usize,
    ended: bool,
}

impl<R> JsonText<R> {
    pub(super) fn new(inner: R) -> Self {
        JsonText {
            inner,
            scan: Scan::default(),
            ready: Vec::new(),
            at: 0,
            ended: false,
        }
    }
}

impl<R: Read> Read for JsonText<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        while self.at == self.ready.len() && !self.ended {
            self.ready.clear();
            self.at = 0;
            match self.inner.read(&mut chunk)? {
                0 => {
                    self.scan.finish(&mut self.ready);
                    self.ended = true;
                }
                n => self.scan.feed(&chunk[..n], &mut self.ready)?,
            }
        }
        let n = buf.len().min(self.ready.len() - self.at);
        buf[..n].copy_from_slice(&self.ready[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// One line of JSON Lines as [`Scan`] reads it (a line is held to its own limit).
pub(super) fn line(text: &str) -> Cow<'_, str> {
    if !text.contains(['N', 'I']) {
        return Cow::Borrowed(text);
    }
    let (mut scan, mut out) = (Scan::default(), Vec::with_capacity(text.len() + 8));
    if scan.feed(text.as_bytes(), &mut out).is_err() {
        return Cow::Borrowed(text);
    }
    scan.finish(&mut out);
    // Only whole ASCII words were quoted: still UTF-8.
    Cow::Owned(String::from_utf8(out).unwrap_or_else(|_| text.to_string()))
}

/// A JSON string literal read as its text, a `\\u` escape of half a surrogate pair that
/// has no other half read as U+FFFD, which serde refuses (probe 68f D2: the cell held the
/// literal, quotes and backslashes included). `None` for what is no string literal.
pub(super) fn string_lenient(literal: &str) -> Option<String> {
    if let Ok(text) = serde_json::from_str::<String>(literal) {
        return Some(text);
    }
    serde_json::from_str::<String>(&without_lone_surrogates(literal)?).ok()
}

/// JSON text with each `\u` escape of half a surrogate pair that has no other half made
/// `\uFFFD`; `None` when it has none.
pub(super) fn without_lone_surrogates(literal: &str) -> Option<String> {
    if !literal.contains("\\u") {
        return None;
    }
    let hex = |at: usize| -> Option<u16> {
        let digits = literal.get(at..at + 4)?;
        u16::from_str_radix(digits, 16).ok()
    };
    let bytes = literal.as_bytes();
    let mut fixed = String::with_capacity(literal.len());
    let (mut i, mut from) = (0, 0);
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let unit = (bytes.get(i + 1) == Some(&b'u')).then(|| hex(i + 2)).flatten();
        match unit {
            Some(0xD800..=0xDBFF) => {
                let low = (bytes.get(i + 6) == Some(&b'\\') && bytes.get(i + 7) == Some(&b'u'))
                    .then(|| hex(i + 8))
                    .flatten();
                if low.is_some_and(|l| (0xDC00..=0xDFFF).contains(&l)) {
                    i += 12;
                } else {
                    fixed.push_str(&literal[from..i]);
                    fixed.push_str("\\uFFFD");
                    i += 6;
                    from = i;
                }
            }
            Some(0xDC00..=0xDFFF) => {
                fixed.push_str(&literal[from..i]);
                fixed.push_str("\\uFFFD");
                i += 6;
                from = i;
            }
            // Another escape: its next character is not a backslash to look at.
            _ => i += 2,
        }
    }
    if from == 0 {
        return None;
    }
    fixed.push_str(literal.get(from..).unwrap_or_default());
    Some(fixed)
}

#[cfg(test)]
mod tests {
    /// A reader handing out `piece` bytes at a time.
    struct Pieces<'a>(&'a [u8], usize);

    impl std::io::Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn read(text: &str, piece: usize) -> String {
        let mut reader = super::JsonText::new(Pieces(text.as_bytes(), piece));
        let mut out = String::new();
        std::io::Read::read_to_string(&mut reader, &mut out).unwrap();
        out
    }

    #[test]
    fn python_words_are_read_as_texts_and_nothing_else_changes() {
        let given =
            r#"[{"a":NaN,"b":Infinity,"c":-Infinity,"d":-1.5,"e":"NaN \" Infinity","f":null,"N":[NaN]}]"#;
        let wanted = r#"[{"a":"NaN","b":"Infinity","c":"-Infinity","d":-1.5,"e":"NaN \" Infinity","f":null,"N":["NaN"]}]"#;
        for piece in [1, 2, 3, 7, 1000] {
            assert_eq!(read(given, piece), wanted, "pieces of {piece}");
        }
        assert_eq!(super::line(r#"{"a":NaN}"#), r#"{"a":"NaN"}"#);
        // Not JSON either way: left as written, for the reader to say where.
        assert_eq!(read("[Nope, -Inf", 2), "[Nope, -Inf");
    }

    /// Half a surrogate pair with no other half reads as U+FFFD (probe 68f D2).
    #[test]
    fn a_lone_surrogate_escape_reads_as_a_replacement_character() {
        assert_eq!(
            super::string_lenient(r#""ab\ud800cd""#).as_deref(),
            Some("ab\u{FFFD}cd")
        );
        assert_eq!(
            super::string_lenient(r#""x\udc00""#).as_deref(),
            Some("x\u{FFFD}")
        );
        assert_eq!(
            super::string_lenient(r#""\ud83d\ude00 ok""#).as_deref(),
            Some("\u{1F600} ok")
        );
        assert_eq!(super::string_lenient(r#""\\ud800""#).as_deref(), Some("\\ud800"));
        assert_eq!(
            super::string_lenient(r#""\ud800\ud800\udc00""#).as_deref(),
            Some("\u{FFFD}\u{10000}")
        );
        assert_eq!(super::string_lenient("nonsense"), None);
    }
}

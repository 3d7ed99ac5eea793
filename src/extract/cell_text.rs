//! Measures, as a zip part inflates, the most text one cell of it would hold once read:
//! inside a cell (`<c>` of a sheet, `<si>` of the shared strings, an ODS `table-cell`) the
//! text of all its runs adds up, as the readers join rich-text runs into one value;
//! elsewhere each text between two tags counts alone; a tag counts by its length. XML
//! readers (ours, calamine's) hold a whole value in memory, so a file whose measure passes
//! [`zipped::MAX_XML_RUN`](super::zipped::MAX_XML_RUN) is refused before anything reads it.

/// Room for a tag's name with its namespace prefix (`table:covered-table-cell`).
const NAME: usize = 32;

#[derive(Default)]
pub struct CellText {
    in_tag: bool,
    /// The current tag's first bytes, and its last one (a `/` before `>` closes it).
    head: Vec<u8>,
    last: u8,
    tag: u64,
    /// Inside a cell element: its text so far adds up.
    in_cell: bool,
    text: u64,
    /// The most seen in one cell, one text or one tag.
    pub longest: u64,
}

/// Whether a tag's name (namespace prefix dropped) is one whose element is one value.
fn is_cell(name: &[u8]) -> bool {
    let local = match name.iter().rposition(|b| *b == b':') {
        Some(at) => &name[at + 1..],
        None => name,
    };
    matches!(local, b"c" | b"si" | b"table-cell" | b"covered-table-cell")
}

impl CellText {
    pub fn scan(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.in_tag {
                // A `<` inside a tag starts another (the XML is broken; a flood of them is a
                // bomb, told by its size).
                let end = memchr::memchr2(b'>', b'<', bytes);
                let part = &bytes[..end.unwrap_or(bytes.len())];
                let room = NAME.saturating_sub(self.head.len()).min(part.len());
                self.head.extend_from_slice(&part[..room]);
                if let Some(&b) = part.last() {
                    self.last = b;
                }
                self.tag += part.len() as u64;
                self.longest = self.longest.max(self.tag);
                match end {
                    Some(at) if bytes[at] == b'<' => {
                        self.head.clear();
                        self.tag = 0;
                        self.last = 0;
                        bytes = &bytes[at + 1..];
                    }
                    Some(at) => {
                        self.end_tag();
                        bytes = &bytes[at + 1..];
                    }
                    None => return,
                }
            } else {
                let stop = memchr::memchr2(b'<', 0, bytes);
                let text = stop.unwrap_or(bytes.len());
                self.text += text as u64;
                self.longest = self.longest.max(self.text);
                match stop {
                    Some(at) if bytes[at] == 0 => {
                        // No XML text holds a NUL: a part of zeros is a bomb, told by its size.
                        self.text = 0;
                        bytes = &bytes[at + 1..];
                    }
                    Some(at) => {
                        self.in_tag = true;
                        self.head.clear();
                        self.tag = 0;
                        self.last = 0;
                        bytes = &bytes[at + 1..];
                    }
                    None => return,
                }
            }
        }
    }

    /// A tag has ended: a cell's start or end bounds the text counted together.
    fn end_tag(&mut self) {
        self.in_tag = false;
        let (closing, rest) = match self.head.first() {
            Some(b'/') => (true, &self.head[1..]),
            _ => (false, &self.head[..]),
        };
        let name_end = rest
            .iter()
            .position(|b| b.is_ascii_whitespace() || *b == b'/')
            .unwrap_or(rest.len());
        if is_cell(&rest[..name_end]) {
            self.in_cell = !closing && self.last != b'/';
            self.text = 0;
        } else if !self.in_cell {
            self.text = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CellText;

    fn longest(parts: &[&[u8]]) -> u64 {
        let mut m = CellText::default();
        for p in parts {
            m.scan(p);
        }
        m.longest
    }

    #[test]
    fn a_cells_runs_add_up_and_other_texts_count_alone() {
        let rich =
            b"<c r=\"A1\" t=\"inlineStr\"><is><r><t>aaaaaaaaaaaaaaaaaaaa</t></r><r><t>bbbbbbbbbbbbbbbbbbbb</t></r></is></c><c><v>1</v></c>";
        assert_eq!(longest(&[rich]), 40, "the cell's two runs together");
        let runs = b"<si><r><t>aaaaaaaaaaaaaaaaaaaa</t></r><r><t>bbbbbbbbbbbbbbbbbbbb</t></r></si>";
        assert_eq!(longest(&[runs]), 40);
        let outside = b"<font><name>aaaaaaaaaaaa</name><sz>bbbbbbbbbbbb</sz></font>";
        assert_eq!(longest(&[outside]), 12);
        // Split anywhere, the same; a NUL ends a text.
        let (a, b) = runs.split_at(13);
        assert_eq!(longest(&[a, b]), 40);
        assert_eq!(longest(&[b"<c>aaa\0aaa</c>"]), 3);
        assert_eq!(longest(&[b"<<<<<<<<<<<<"]), 0, "a flood of `<` is no long tag");
        // A cell closed in its own tag opens nothing.
        assert_eq!(
            longest(&[b"<x:c r=\"A1\"/><y>aaaaaaaaaaaaaaa</y><z>bbbbbbbbbbbbbbb</z>"]),
            15
        );
    }
}

//! LIKE matching as SQL defines it (`%` any run, `_` one character, `\` escaping the next
//! character), by characters, for the backend that has no case-sensitive LIKE (SQLite).

#[derive(Debug, Clone, Copy, PartialEq)]
enum Piece {
    Any,
    One,
    Lit(char),
}

fn pieces(pattern: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '%' => Piece::Any,
            '_' => Piece::One,
            // A trailing backslash stands for itself.
            '\\' => Piece::Lit(chars.next().unwrap_or('\\')),
            c => Piece::Lit(c),
        });
    }
    out
}

/// Whether `text` matches the LIKE `pattern`; `case_insensitive` folds both to lower case.
///
/// The pattern is cut at its `%`s into segments: the first must start the text, the last
/// end it, and each one between is taken where it first occurs after the one before (the
/// leftmost place leaves the most room for the rest, so it is never wrong). A segment of
/// plain characters is found by KMP, so a long pattern against a long cell costs their
/// sum, not their product (a 4,000-character pattern against a cell of a million took 20 s
/// when every `%` could back-track).
pub fn like_matches(text: &str, pattern: &str, case_insensitive: bool) -> bool {
    let (text, pattern) = if case_insensitive {
        (text.to_lowercase(), pattern.to_lowercase())
    } else {
        (text.to_string(), pattern.to_string())
    };
    let t: Vec<char> = text.chars().collect();
    let p = pieces(&pattern);
    let segments: Vec<&[Piece]> = p.split(|x| *x == Piece::Any).collect();
    let (first, last) = (segments[0], segments[segments.len() - 1]);
    if segments.len() == 1 {
        return t.len() == first.len() && fits(&t, first);
    }
    if t.len() < first.len() + last.len() || !fits(&t, first) || !fits(&t[t.len() - last.len()..], last) {
        return false;
    }
    let end = t.len() - last.len();
    let mut at = first.len();
    for segment in &segments[1..segments.len() - 1] {
        match find(&t[at..end], segment) {
            Some(i) => at += i + segment.len(),
            None => return false,
        }
    }
    true
}

/// Whether `text` starts with `segment` (no `%` in it).
fn fits(text: &[char], segment: &[Piece]) -> bool {
    text.len() >= segment.len()
        && segment.iter().zip(text).all(|(p, c)| match p {
            Piece::Lit(l) => l == c,
            _ => true,
        })
}

/// Where `segment` first occurs in `text`.
fn find(text: &[char], segment: &[Piece]) -> Option<usize> {
    if segment.is_empty() {
        return Some(0);
    }
    let literal: Option<Vec<char>> = segment
        .iter()
        .map(|p| match p {
            Piece::Lit(c) => Some(*c),
            _ => None,
        })
        .collect();
    match literal {
        Some(needle) => kmp(text, &needle),
        None => shift_and(text, segment),
    }
}

/// Shift-and (bitap) with `_` matching any character: the first place `segment` occurs in
/// `text`, in time of the text's length times the segment's in 64-bit words. Trying the
/// segment at each place cost their product: a pattern with `_` against cells of a
/// megabyte ran for minutes.
fn shift_and(text: &[char], segment: &[Piece]) -> Option<usize> {
    let m = segment.len();
    let words = m.div_ceil(64);
    let bit = |j: usize| (j / 64, 1u64 << (j % 64));
    // Where each character may stand: its own places and every `_`.
    let mut any = vec![0u64; words];
    let mut masks: std::collections::HashMap<char, Vec<u64>> = std::collections::HashMap::new();
    for (j, p) in segment.iter().enumerate() {
        let (w, b) = bit(j);
        match p {
            Piece::Lit(c) => masks.entry(*c).or_insert_with(|| vec![0; words])[w] |= b,
            _ => any[w] |= b,
        }
    }
    for mask in masks.values_mut() {
        for (m, a) in mask.iter_mut().zip(&any) {
            *m |= a;
        }
    }
    let (last_w, last_b) = bit(m - 1);
    let mut state = vec![0u64; words];
    for (i, c) in text.iter().enumerate() {
        let mask = masks.get(c).unwrap_or(&any);
        // state = ((state << 1) | 1) & mask, across the words.
        let mut carry = 1u64;
        for (s, mk) in state.iter_mut().zip(mask) {
            let next_carry = *s >> 63;
            *s = ((*s << 1) | carry) & mk;
            carry = next_carry;
        }
        if state[last_w] & last_b != 0 {
            return Some(i + 1 - m);
        }
    }
    None
}

/// Knuth-Morris-Pratt: the first place `needle` occurs in `text`, in linear time.
fn kmp(text: &[char], needle: &[char]) -> Option<usize> {
    let mut fail = vec![0usize; needle.len()];
    let mut k = 0;
    for i in 1..needle.len() {
        while k > 0 && needle[i] != needle[k] {
            k = fail[k - 1];
        }
        if needle[i] == needle[k] {
            k += 1;
        }
        fail[i] = k;
    }
    let mut k = 0;
    for (i, c) in text.iter().enumerate() {
        while k > 0 && *c != needle[k] {
            k = fail[k - 1];
        }
        if *c == needle[k] {
            k += 1;
        }
        if k == needle.len() {
            return Some(i + 1 - k);
        }
    }
    None
}

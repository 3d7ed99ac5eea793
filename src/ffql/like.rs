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
pub fn like_matches(text: &str, pattern: &str, case_insensitive: bool) -> bool {
    let (text, pattern) = if case_insensitive {
        (text.to_lowercase(), pattern.to_lowercase())
    } else {
        (text.to_string(), pattern.to_string())
    };
    let t: Vec<char> = text.chars().collect();
    let p = pieces(&pattern);
    // Greedy with one back-track point (the last `%`): linear in practice, never
    // exponential.
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(Piece::One) => {
                ti += 1;
                pi += 1;
            }
            Some(Piece::Lit(c)) if *c == t[ti] => {
                ti += 1;
                pi += 1;
            }
            Some(Piece::Any) => {
                star = Some((pi, ti));
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|x| *x == Piece::Any)
}

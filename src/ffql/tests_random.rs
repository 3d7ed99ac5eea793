//! Randomised checks (seeded, so a failure repeats): any text parses or fails cleanly with
//! a position inside it; printed trees read back as themselves; LIKE agrees with a plain
//! recursive definition.

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const PIECES: [&str; 30] = [
    "(",
    ")",
    " ",
    "  ",
    "\"",
    "'",
    "\\",
    "\\\"",
    "and",
    "or",
    "OR",
    "is",
    "eq",
    "ne",
    "lt",
    "gte",
    "like",
    "ilike",
    "contains",
    "error",
    "valid",
    "warning",
    "first_name",
    "\"First Name\"",
    "amount",
    "5",
    "%",
    "_",
    "ü",
    "東",
];

fn soup(rng: &mut StdRng) -> String {
    let n = rng.gen_range(0..40);
    let mut out = String::new();
    for _ in 0..n {
        if rng.gen_bool(0.1) {
            out.push(rng.gen_range(' '..='~'));
        } else {
            out.push_str(PIECES[rng.gen_range(0..PIECES.len())]);
            if rng.gen_bool(0.6) {
                out.push(' ');
            }
        }
    }
    out
}

fn fields() -> Vec<FieldSpec> {
    ["first_name", "amount", "joined", "active", "tags"]
        .iter()
        .zip([Kind::Text, Kind::Number, Kind::Date, Kind::Boolean, Kind::List])
        .map(|(k, kind)| FieldSpec {
            key: k.to_string(),
            label: k.to_uppercase(),
            kind,
        })
        .collect()
}

#[test]
fn any_text_parses_or_fails_with_a_position_inside_it() {
    let mut rng = StdRng::seed_from_u64(16);
    let fields = fields();
    for _ in 0..20_000 {
        let text = soup(&mut rng);
        match parse(&text) {
            Ok(q) => {
                // Resolving never panics either; its errors also point inside the text.
                if let Err(e) = resolve(&q, &fields) {
                    assert!(e.pos.offset <= text.len(), "{text:?}: {e:?}");
                }
            }
            Err(e) => {
                assert!(e.pos.offset <= text.len(), "{text:?}: {e:?}");
                assert!(text.is_char_boundary(e.pos.offset), "{text:?}: {e:?}");
                assert_eq!(e.pos.column, text[..e.pos.offset].chars().count() + 1);
                assert!(!e.message.is_empty());
            }
        }
    }
}

fn quote(rng: &mut StdRng, text: &str) -> String {
    let q = if rng.gen_bool(0.5) { '"' } else { '\'' };
    let mut out = String::from(q);
    for c in text.chars() {
        if c == '\\' || c == q {
            out.push('\\');
        }
        out.push(c);
    }
    out.push(q);
    out
}

const WORDS: [&str; 12] = [
    "a",
    "Bender",
    "first name",
    "x\"y",
    "it's",
    "back\\slash",
    "",
    "100%",
    "東京",
    "and",
    "(",
    "a\\%b",
];

fn word(rng: &mut StdRng) -> String {
    WORDS[rng.gen_range(0..WORDS.len())].to_string()
}

/// A random tree and its text.
fn tree(rng: &mut StdRng, depth: usize) -> (Expr, String) {
    if depth == 0 || rng.gen_bool(0.4) {
        let field = rng.gen_bool(0.7).then(|| word(rng));
        let (test, op_text) = if rng.gen_bool(0.2) {
            let (s, t) = [
                (Status::Error, "is error"),
                (Status::Valid, "IS valid"),
                (Status::Warning, "is warning"),
            ][rng.gen_range(0..3)];
            (Test::Is(s), t.to_string())
        } else {
            let ops = [
                Op::Eq,
                Op::Ne,
                Op::Lt,
                Op::Gt,
                Op::Lte,
                Op::Gte,
                Op::Like,
                Op::Ilike,
                Op::Contains,
            ];
            let op = ops[rng.gen_range(0..ops.len())];
            let value = word(rng);
            let text = format!("{} {}", op.name(), quote(rng, &value));
            let test = Test::Compare {
                op,
                value,
                pos: Pos::default(),
            };
            (test, text)
        };
        let text = match &field {
            Some(f) => format!("{} {op_text}", quote(rng, f)),
            None => op_text,
        };
        let cond = Cond {
            field: field.map(|f| (f, Pos::default())),
            test,
        };
        return (Expr::Cond(cond), text);
    }
    let n = rng.gen_range(2..4);
    let and = rng.gen_bool(0.5);
    let parts: Vec<(Expr, String)> = (0..n).map(|_| tree(rng, depth - 1)).collect();
    // Parentheses where precedence needs them (an `or` inside an `and`), and now and then
    // where it does not; a child of the same kind without them reads flat.
    let mut flat = Vec::new();
    let mut texts = Vec::new();
    for (item, text) in parts {
        let compound = matches!(item, Expr::And(_) | Expr::Or(_));
        let wrap = compound && (and && matches!(item, Expr::Or(_)) || rng.gen_bool(0.3));
        texts.push(if wrap { format!("({text})") } else { text });
        match item {
            Expr::And(inner) if and && !wrap => flat.extend(inner),
            Expr::Or(inner) if !and && !wrap => flat.extend(inner),
            other => flat.push(other),
        }
    }
    let join = if and { " and " } else { " or " };
    let expr = if and { Expr::And(flat) } else { Expr::Or(flat) };
    (expr, texts.join(join))
}

/// The tree without positions, for comparing.
fn strip(e: &Expr) -> Expr {
    match e {
        Expr::And(items) => Expr::And(items.iter().map(strip).collect()),
        Expr::Or(items) => Expr::Or(items.iter().map(strip).collect()),
        Expr::Cond(c) => Expr::Cond(Cond {
            field: c.field.as_ref().map(|(f, _)| (f.clone(), Pos::default())),
            test: match &c.test {
                Test::Compare { op, value, .. } => Test::Compare {
                    op: *op,
                    value: value.clone(),
                    pos: Pos::default(),
                },
                other => other.clone(),
            },
        }),
    }
}

#[test]
fn printed_trees_read_back_as_themselves() {
    let mut rng = StdRng::seed_from_u64(1616);
    for _ in 0..3_000 {
        let (want, text) = tree(&mut rng, 3);
        match parse(&text) {
            Ok(q) => assert_eq!(strip(&q.expr), want, "{text}"),
            // Only the size bound may refuse a generated query.
            Err(e) => assert!(e.message.contains("at most"), "{text}: {e}"),
        }
    }
}

/// LIKE by its definition, recursively (fine for short strings).
fn like_reference(t: &[char], p: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('%') => (0..=t.len()).any(|i| like_reference(&t[i..], &p[1..])),
        Some('_') => !t.is_empty() && like_reference(&t[1..], &p[1..]),
        Some('\\') => {
            let (lit, rest) = match p.get(1) {
                Some(c) => (*c, &p[2..]),
                None => ('\\', &p[1..]),
            };
            t.first() == Some(&lit) && like_reference(&t[1..], rest)
        }
        Some(c) => t.first() == Some(c) && like_reference(&t[1..], &p[1..]),
    }
}

#[test]
fn like_agrees_with_its_definition() {
    let mut rng = StdRng::seed_from_u64(7);
    let alphabet = ['a', 'b', 'A', '%', '_', '\\', 'é'];
    let pick = |rng: &mut StdRng, n: usize| -> String {
        (0..rng.gen_range(0..n))
            .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
            .collect()
    };
    for _ in 0..20_000 {
        let text = pick(&mut rng, 8);
        let pattern = pick(&mut rng, 7);
        let t: Vec<char> = text.chars().collect();
        let p: Vec<char> = pattern.chars().collect();
        assert_eq!(
            like_matches(&text, &pattern, false),
            like_reference(&t, &p),
            "{text:?} like {pattern:?}"
        );
        let (tl, pl): (Vec<char>, Vec<char>) = (
            text.to_lowercase().chars().collect(),
            pattern.to_lowercase().chars().collect(),
        );
        assert_eq!(
            like_matches(&text, &pattern, true),
            like_reference(&tl, &pl),
            "{text:?} ilike {pattern:?}"
        );
    }
}

//! Zero-padding number formats (`00000`, `00000-0000`) and how they show whole numbers:
//! read once from a style's format code, then applied to each numeric cell.

/// A padding number format as [`padded`] shows numbers with it, read once from its code:
/// a code of millions of empty sections was split again for every cell (probe 68a D1: 134 KB
/// took 89 s).
#[derive(Debug, PartialEq)]
pub struct PadFormat {
    /// The first section's condition (`[<=99999]`): when a number fails it, the second
    /// section shows it.
    condition: Option<(Condition, f64)>,
    /// The templates of the first two sections; `None` for one that does not pad.
    first: Option<Vec<char>>,
    second: Option<Vec<char>>,
    /// One section only: a negative number shows with a minus in front.
    one_section: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Condition {
    AtMost,
    AtLeast,
    Below,
    Above,
    Equal,
}

impl PadFormat {
    /// The format of `code` when a section of it pads whole numbers with zeros.
    pub fn parse(code: &str) -> Option<PadFormat> {
        // Only the first two sections are ever used: the rest is not split.
        let mut sections = code.splitn(3, ';');
        let first = sections.next()?;
        let second = sections.next();
        let conditional = first
            .strip_prefix('[')
            .filter(|_| first.starts_with("[<") || first.starts_with("[>") || first.starts_with("[="));
        let format = match conditional {
            None => PadFormat {
                condition: None,
                first: template_of(first),
                second: None,
                one_section: second.is_none(),
            },
            Some(rest) => {
                let (condition, body) = rest.split_once(']')?;
                let (op, limit) = match condition {
                    c if c.starts_with("<=") || c.starts_with(">=") => c.split_at(2),
                    c => c.split_at(1),
                };
                let op = match op {
                    "<=" => Condition::AtMost,
                    ">=" => Condition::AtLeast,
                    "<" => Condition::Below,
                    ">" => Condition::Above,
                    "=" => Condition::Equal,
                    _ => return None,
                };
                let limit: f64 = limit.trim().parse().ok()?;
                let second = second.map(|s| match s.strip_prefix('[').and_then(|r| r.split_once(']')) {
                    Some((_, body)) => body,
                    None => s,
                });
                PadFormat {
                    condition: Some((op, limit)),
                    first: template_of(body),
                    second: second.and_then(template_of),
                    one_section: false,
                }
            }
        };
        (format.first.is_some() || format.second.is_some()).then_some(format)
    }

    /// The template a whole non-negative number is shown with: the first section's, or the
    /// second's when the number fails the first's condition.
    fn template_for(&self, n: u64) -> Option<&[char]> {
        let Some((op, limit)) = self.condition else {
            return self.first.as_deref();
        };
        let v = n as f64;
        let holds = match op {
            Condition::AtMost => v <= limit,
            Condition::AtLeast => v >= limit,
            Condition::Below => v < limit,
            Condition::Above => v > limit,
            Condition::Equal => v == limit,
        };
        if holds {
            self.first.as_deref()
        } else {
            self.second.as_deref()
        }
    }
}

/// A whole number as the `format` shows it: `01234` under `00000`, `01234-5678`
/// under `00000-0000` (Excel's zip + 4), `012-34-5678` under `000-00-0000`; a negative one
/// under a code of one section with a minus in front, as Excel shows it (`-01234`; a code
/// of several sections says itself how negatives look, and they are left as numbers).
pub fn padded(value: &calamine::Data, format: &PadFormat) -> Option<String> {
    let negative = match value {
        calamine::Data::Int(i) => *i < 0,
        calamine::Data::Float(f) => *f < 0.0,
        _ => false,
    };
    if negative {
        let magnitude = match value {
            calamine::Data::Int(i) => calamine::Data::Int(i.checked_neg()?),
            calamine::Data::Float(f) => calamine::Data::Float(-f),
            _ => return None,
        };
        return format
            .one_section
            .then(|| padded(&magnitude, format))
            .flatten()
            .map(|shown| format!("-{shown}"));
    }
    let n = match value {
        calamine::Data::Int(i) => u64::try_from(*i).ok()?,
        calamine::Data::Float(f) if f.fract() == 0.0 && (0.0..1e15).contains(f) => *f as u64,
        _ => return None,
    };
    let template = format.template_for(n)?;
    let slots = template.iter().filter(|c| **c == '0').count();
    let digits = format!("{n:0>slots$}");
    // A number longer than the slots keeps its extra digits in front of the first.
    let extra = digits.len() - slots;
    let mut next = digits.chars();
    let mut shown = String::with_capacity(template.len() + extra);
    let mut first = true;
    for &c in template {
        match c {
            '0' => {
                let take = if first { extra + 1 } else { 1 };
                first = false;
                shown.extend(next.by_ref().take(take));
            }
            literal => shown.push(literal),
        }
    }
    Some(shown)
}

/// Most digit slots a padding format has: 20 hold any whole number a cell keeps, and
/// codes such as zip + 4 or account numbers stay far below.
const MOST_SLOTS: usize = 64;
/// Most characters a padding format's section shows, slots and literals together.
const MOST_CHARS: usize = 256;

/// A section made of digit slots (`0`) and the literals a code or number is written with
/// (`-`, a space, parentheses, `/`, escaped with `\` or quoted), with two slots or more;
/// none for any other format (`#,##0.00`, dates, text).
fn template_of(section: &str) -> Option<Vec<char>> {
    let mut out = Vec::new();
    let mut chars = section.chars();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            _ if quoted => out.push(c),
            '\\' => out.push(chars.next()?),
            '0' | '-' | ' ' | '(' | ')' | '/' => out.push(c),
            _ => return None,
        }
    }
    // More slots than any number has digits pads nothing real (and 65,536 of them broke
    // the formatting of the padded text: probe 67a D2); literals longer than a code of a
    // few words are no zip or account number either (probe 68e D1: a 15 MB quoted literal
    // was copied into every cell).
    let slots = out.iter().filter(|c| **c == '0').count();
    ((2..=MOST_SLOTS).contains(&slots) && out.len() <= MOST_CHARS && !quoted).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::{padded, PadFormat};
    use calamine::Data;

    /// As Excel shows them (probe 60c D2: zip + 4 and social security numbers lost their 0).
    #[test]
    fn whole_numbers_read_as_their_format_shows_them() {
        let shown = |n: f64, code: &str| PadFormat::parse(code).and_then(|f| padded(&Data::Float(n), &f));
        assert_eq!(shown(1234.0, "00000").as_deref(), Some("01234"));
        assert_eq!(shown(123456.0, "00000").as_deref(), Some("123456"));
        assert_eq!(shown(12345678.0, "00000\\-0000").as_deref(), Some("01234-5678"));
        assert_eq!(shown(12345678.0, "00000-0000").as_deref(), Some("01234-5678"));
        assert_eq!(
            shown(12345678.0, "000\\-00\\-0000").as_deref(),
            Some("012-34-5678")
        );
        assert_eq!(
            shown(1234.0, "[<=99999]00000;00000\\-0000").as_deref(),
            Some("01234")
        );
        assert_eq!(
            shown(12345678.0, "[<=99999]00000;00000\\-0000").as_deref(),
            Some("01234-5678")
        );
        assert_eq!(
            shown(5551234.0, "\\(000\\) 000\\-0000").as_deref(),
            Some("(000) 555-1234")
        );
        // Not padding formats, or not whole numbers: as before.
        assert_eq!(shown(1234.0, "#,##0.00"), None);
        assert_eq!(shown(1234.0, "0.00"), None);
        assert_eq!(shown(12.5, "00000"), None);
        assert_eq!(shown(-12.5, "00000"), None);
        // A negative one as Excel shows it, under one section only.
        assert_eq!(shown(-12.0, "00000").as_deref(), Some("-00012"));
        assert_eq!(shown(-12.0, "00000;(00000)"), None);
    }

    /// A code of millions of empty sections is read once, not once a cell (probe 68a D1:
    /// 20,000 cells of a 195 KB book held a worker for minutes).
    #[test]
    fn a_code_of_many_sections_is_read_once() {
        let code = format!("00000{}", ";".repeat(5_000_000));
        let format = PadFormat::parse(&code).expect("the first section pads");
        let started = std::time::Instant::now();
        for n in 0..20_000 {
            assert_eq!(padded(&Data::Float(n as f64), &format).map(|s| s.len()), Some(5));
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        // Only the first two sections are ever used: a padding third one is no padding format.
        assert_eq!(PadFormat::parse("#,##0;#,##0;00000"), None);
        // Nor is one whose literal would be copied into every cell (probe 68e D1).
        let long = format!("\"{}\"00000", "A".repeat(1_000_000));
        assert_eq!(PadFormat::parse(&long), None);
        assert!(PadFormat::parse("\"ZIP \"00000").is_some());
    }
}

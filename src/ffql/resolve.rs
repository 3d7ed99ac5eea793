//! Checks a parsed query against a sheet's fields: names become field indexes, values
//! become numbers, dates or booleans where the field holds those, and "any field" becomes
//! an `or` over the fields a value can be compared with.

use super::parser::{Cond, Expr, Op, Status, Test};
use super::{Error, Pos, Query};
use crate::validate::{parse_bool, parse_date, parse_number};

/// How a field's cells compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// string, enum, reference: as text.
    Text,
    Number,
    /// Stored as `YYYY-MM-DD`.
    Date,
    Boolean,
    /// string-list, enum-list: `contains` an item.
    List,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Number => "number",
            Kind::Date => "date",
            Kind::Boolean => "boolean",
            Kind::List => "list",
        }
    }
}

/// A field a query may name: by its key or its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    pub key: String,
    pub label: String,
    pub kind: Kind,
}

/// An ordering comparison (`ne` is `Not` of `Eq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Lt,
    Gt,
    Lte,
    Gte,
}

impl Cmp {
    pub fn sql(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Lt => "<",
            Cmp::Gt => ">",
            Cmp::Lte => "<=",
            Cmp::Gte => ">=",
        }
    }

    /// Whether a text test leaves empty cells out: `lt` and `lte` ask for values before a
    /// text, and an empty cell holds no value (though `""` sorts before every text).
    pub fn leaves_out_empty(self, text: &str) -> bool {
        matches!(self, Cmp::Lt | Cmp::Lte) && !text.is_empty()
    }
}

/// What one cell is tested for.
#[derive(Debug, Clone, PartialEq)]
pub enum CellTest {
    /// The cell's text (empty for an empty cell), compared by code point; not a list.
    Text(Cmp, String),
    /// The text a list cell shows (its items joined by `, `).
    Shown(Cmp, String),
    /// Only cells holding a number take part.
    Number(Cmp, serde_json::Number),
    /// Only cells holding a date take part; the value is `YYYY-MM-DD`.
    Date(Cmp, String),
    Bool(bool),
    /// A LIKE pattern over the shown text: `%`, `_`, and `\` escaping the next character.
    Like {
        pattern: String,
        case_insensitive: bool,
    },
    /// A list cell with an item equal to the value.
    Contains(String),
}

/// The typed tree a query resolves to.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Cell {
        field: usize,
        test: CellTest,
    },
    /// The whole record is in error, valid, or has a warning.
    Record(Status),
    /// One field of the record is in error, valid (no error), or has a warning.
    Field {
        field: usize,
        status: Status,
    },
}

/// Most comparisons of cells one query may make of a record. A condition without a field
/// compares every field: 100 of them on a sheet of 400 fields made a statement too big for
/// the database, and one that took seconds a record to plan and run.
pub const MAX_CELL_TESTS: usize = 1_000;

pub fn resolve(query: &Query, fields: &[FieldSpec]) -> Result<Node, Error> {
    expr(&query.expr, fields, &mut 0)
}

/// `tests`: the cell comparisons so far.
fn expr(e: &Expr, fields: &[FieldSpec], tests: &mut usize) -> Result<Node, Error> {
    let mut all = |items: &[Expr]| {
        items
            .iter()
            .map(|i| expr(i, fields, tests))
            .collect::<Result<_, _>>()
    };
    Ok(match e {
        Expr::And(items) => Node::And(all(items)?),
        Expr::Or(items) => Node::Or(all(items)?),
        Expr::Cond(c) => {
            let node = cond(c, fields)?;
            *tests += cell_tests(&node);
            if *tests > MAX_CELL_TESTS {
                let pos = c.field.as_ref().map(|(_, pos)| *pos).or(match &c.test {
                    Test::Compare { pos, .. } => Some(*pos),
                    Test::Is(_) => None,
                });
                let pos = pos.unwrap_or(Pos { offset: 0, column: 1 });
                return Err(Error::new(
                    pos,
                    format!(
                        "this query compares more than {MAX_CELL_TESTS} cells of each record (a \
                         condition without a field compares every field) at {}; name the field of \
                         each condition",
                        pos.column
                    ),
                ));
            }
            node
        }
    })
}

/// A LIKE pattern whose last backslash escapes nothing, with that backslash escaped: it
/// stands for itself (PostgreSQL refuses a pattern that ends in an escape).
fn closed_escape(pattern: &str) -> String {
    let trailing = pattern.chars().rev().take_while(|c| *c == '\\').count();
    let mut out = pattern.to_string();
    if trailing % 2 == 1 {
        out.push('\\');
    }
    out
}

/// How many cell comparisons a resolved condition makes. A LIKE pattern (`%a%b%c%`) costs
/// as several: matching one walks the text once per `%`, and 900 of them made a request
/// of a 3,000-record sheet take seconds.
fn cell_tests(node: &Node) -> usize {
    match node {
        Node::And(items) | Node::Or(items) => items.iter().map(cell_tests).sum(),
        Node::Not(inner) => cell_tests(inner),
        Node::Cell {
            test: CellTest::Like { .. },
            ..
        } => LIKE_COST,
        _ => 1,
    }
}

/// What one LIKE comparison counts for against [`MAX_CELL_TESTS`].
const LIKE_COST: usize = 5;

fn find_field(fields: &[FieldSpec], name: &str, pos: Pos) -> Result<usize, Error> {
    let lower = name.to_lowercase();
    // By key, then label, then either in any case: the first rule that names any field
    // decides, and it must name one (two fields labelled alike: say so, not pick one).
    let rules: [&dyn Fn(&FieldSpec) -> bool; 4] = [
        &|f| f.key == name,
        &|f| f.label == name,
        &|f| f.key.to_lowercase() == lower,
        &|f| f.label.to_lowercase() == lower,
    ];
    let mut found = None;
    for rule in rules {
        let named: Vec<usize> = (0..fields.len()).filter(|&i| rule(&fields[i])).collect();
        match named.as_slice() {
            [] => continue,
            [one] => found = Some(*one),
            many => {
                let keys: Vec<&str> = many.iter().map(|&i| fields[i].key.as_str()).collect();
                return Err(Error::new(
                    pos,
                    format!(
                        "\"{name}\" at {} names {} fields ({}); name one by its key",
                        pos.column,
                        many.len(),
                        keys.join(", ")
                    ),
                ));
            }
        }
        break;
    }
    found.ok_or_else(|| {
        let keys: Vec<&str> = fields.iter().take(20).map(|f| f.key.as_str()).collect();
        let more = if fields.len() > 20 { ", ..." } else { "" };
        Error::new(
            pos,
            format!(
                "unknown field \"{name}\" at {}; this sheet's fields are {}{more} \
                 (quote a label with spaces: \"First Name\")",
                pos.column,
                keys.join(", ")
            ),
        )
    })
}

fn cond(c: &Cond, fields: &[FieldSpec]) -> Result<Node, Error> {
    let field = match &c.field {
        Some((name, pos)) => Some(find_field(fields, name, *pos)?),
        None => None,
    };
    let (op, value, pos) = match &c.test {
        Test::Is(status) => {
            return Ok(match field {
                Some(field) => Node::Field {
                    field,
                    status: *status,
                },
                None => Node::Record(*status),
            })
        }
        Test::Compare { op, value, pos } => (*op, value.as_str(), *pos),
    };
    // `ne` is "not eq", so empty cells and cells of another type are "not equal".
    let (positive, negate) = if op == Op::Ne { (Op::Eq, true) } else { (op, false) };
    let node = match field {
        Some(i) => {
            let f = &fields[i];
            let test = cell_test(f.kind, positive, value).map_err(|why| {
                Error::new(
                    pos,
                    format!(
                        "{why} at {}; {} is a {} field{}",
                        pos.column,
                        f.key,
                        f.kind.name(),
                        hint(f.kind)
                    ),
                )
            })?;
            Node::Cell { field: i, test }
        }
        None => {
            let any: Vec<Node> = fields
                .iter()
                .enumerate()
                .filter_map(|(i, f)| {
                    cell_test(f.kind, positive, value)
                        .ok()
                        .map(|test| Node::Cell { field: i, test })
                })
                .collect();
            if any.is_empty() {
                return Err(Error::new(
                    pos,
                    format!(
                        "no field of this sheet can be compared with \"{value}\" by {} (at {})",
                        op.name(),
                        pos.column
                    ),
                ));
            }
            Node::Or(any)
        }
    };
    Ok(if negate { Node::Not(Box::new(node)) } else { node })
}

fn hint(kind: Kind) -> &'static str {
    match kind {
        Kind::Number => " (compare it with a number such as 12.5)",
        Kind::Date => " (compare it with a date such as 2024-01-31)",
        Kind::Boolean => " (use eq or ne with true or false)",
        Kind::List => " (use contains, eq or like)",
        Kind::Text => " (use eq, like or ilike; contains is for list fields)",
    }
}

/// The test of one cell of a field of `kind`, or why the value cannot be compared so.
/// A whole number past what a cell keeps exactly (`123456789012345678901`): a cell refuses
/// it as typed where a double loses its digits, but one given as a JSON number holds the
/// nearest double, which a query compares with it (`eq` found nothing, and ordering said
/// "not a number").
fn beyond_exact(value: &str) -> Option<serde_json::Number> {
    let text = value.trim();
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .and_then(serde_json::Number::from_f64)
}

fn cell_test(kind: Kind, op: Op, value: &str) -> Result<CellTest, String> {
    let cmp = match op {
        Op::Eq | Op::Ne => Cmp::Eq,
        Op::Lt => Cmp::Lt,
        Op::Gt => Cmp::Gt,
        Op::Lte => Cmp::Lte,
        Op::Gte => Cmp::Gte,
        Op::Like | Op::Ilike => {
            return Ok(CellTest::Like {
                pattern: closed_escape(value),
                case_insensitive: op == Op::Ilike,
            })
        }
        Op::Contains => {
            return match kind {
                Kind::List => Ok(CellTest::Contains(value.to_string())),
                _ => Err("contains looks for an item of a list".to_string()),
            }
        }
    };
    let ordering = cmp != Cmp::Eq;
    Ok(match kind {
        Kind::Text => CellTest::Text(cmp, value.to_string()),
        Kind::Number => match parse_number(value).or_else(|| beyond_exact(value)) {
            Some(n) => CellTest::Number(cmp, n),
            // `amount eq "N/A"` finds the cells that hold that text.
            None if !ordering => CellTest::Text(cmp, value.to_string()),
            None => return Err(format!("\"{value}\" is not a number")),
        },
        // A date that reads two ways is not guessed at (probe 69e D5: read month first, a
        // query found the other day's records, and a delete by it would delete them).
        Kind::Date if crate::validate::date_reads_two_ways(value) => {
            let day_first = crate::validate::date_swapped(value).and_then(|v| parse_date(&v));
            return Err(match (parse_date(value), day_first) {
                (Some(month_first), Some(day_first)) => {
                    format!("\"{value}\" reads two ways: write the date as {month_first} or {day_first}")
                }
                _ => format!("\"{value}\" is not a date"),
            });
        }
        Kind::Date => match parse_date(value) {
            Some(d) => CellTest::Date(cmp, d),
            None if !ordering => CellTest::Text(cmp, value.to_string()),
            None => return Err(format!("\"{value}\" is not a date")),
        },
        Kind::Boolean if ordering => return Err(format!("{} cannot order true and false", op.name())),
        Kind::Boolean => match parse_bool(value) {
            Some(b) if !value.trim().is_empty() => CellTest::Bool(b),
            _ => CellTest::Text(cmp, value.to_string()),
        },
        Kind::List if ordering => return Err(format!("{} cannot order lists", op.name())),
        Kind::List => CellTest::Shown(cmp, value.to_string()),
    })
}

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

pub fn resolve(query: &Query, fields: &[FieldSpec]) -> Result<Node, Error> {
    expr(&query.expr, fields)
}

fn expr(e: &Expr, fields: &[FieldSpec]) -> Result<Node, Error> {
    Ok(match e {
        Expr::And(items) => Node::And(items.iter().map(|i| expr(i, fields)).collect::<Result<_, _>>()?),
        Expr::Or(items) => Node::Or(items.iter().map(|i| expr(i, fields)).collect::<Result<_, _>>()?),
        Expr::Cond(c) => cond(c, fields)?,
    })
}

fn find_field(fields: &[FieldSpec], name: &str, pos: Pos) -> Result<usize, Error> {
    let lower = name.to_lowercase();
    let found = fields
        .iter()
        .position(|f| f.key == name)
        .or_else(|| fields.iter().position(|f| f.label == name))
        .or_else(|| fields.iter().position(|f| f.key.to_lowercase() == lower))
        .or_else(|| fields.iter().position(|f| f.label.to_lowercase() == lower));
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
fn cell_test(kind: Kind, op: Op, value: &str) -> Result<CellTest, String> {
    let cmp = match op {
        Op::Eq | Op::Ne => Cmp::Eq,
        Op::Lt => Cmp::Lt,
        Op::Gt => Cmp::Gt,
        Op::Lte => Cmp::Lte,
        Op::Gte => Cmp::Gte,
        Op::Like | Op::Ilike => {
            return Ok(CellTest::Like {
                pattern: value.to_string(),
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
        Kind::Number => match parse_number(value) {
            Some(n) => CellTest::Number(cmp, n),
            // `amount eq "N/A"` finds the cells that hold that text.
            None if !ordering => CellTest::Text(cmp, value.to_string()),
            None => return Err(format!("\"{value}\" is not a number")),
        },
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

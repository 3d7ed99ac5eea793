//! A resolved query checked against one record in memory, with the same meaning as the SQL
//! `model::record::ffql_sql` builds (the integration tests hold the two to each other).

use super::resolve::{CellTest, Cmp, Node};
use super::{like_matches, Status};
use crate::validate::display;
use serde_json::Value;
use std::cmp::Ordering;

/// What a query looks at in one record.
pub struct RecordView<'a> {
    /// Stored values in field order.
    pub vals: &'a [Value],
    pub valid: bool,
    /// Fields holding an error.
    pub error_fields: &'a [usize],
    /// Fields holding a warning.
    pub warn_fields: &'a [usize],
}

pub fn matches(node: &Node, r: &RecordView) -> bool {
    match node {
        Node::And(items) => items.iter().all(|n| matches(n, r)),
        Node::Or(items) => items.iter().any(|n| matches(n, r)),
        Node::Not(inner) => !matches(inner, r),
        Node::Record(Status::Error) => !r.valid,
        Node::Record(Status::Valid) => r.valid,
        Node::Record(Status::Warning) => !r.warn_fields.is_empty(),
        Node::Field { field, status } => match status {
            Status::Error => r.error_fields.contains(field),
            Status::Valid => !r.error_fields.contains(field),
            Status::Warning => r.warn_fields.contains(field),
        },
        Node::Cell { field, test } => cell(r.vals.get(*field).unwrap_or(&Value::Null), test),
    }
}

fn holds(cmp: Cmp, ord: Ordering) -> bool {
    match cmp {
        Cmp::Eq => ord == Ordering::Equal,
        Cmp::Lt => ord == Ordering::Less,
        Cmp::Gt => ord == Ordering::Greater,
        Cmp::Lte => ord != Ordering::Greater,
        Cmp::Gte => ord != Ordering::Less,
    }
}

/// A day of the calendar written `YYYY-MM-DD` in the years 1000-9999, as date cells hold
/// one (`2024-02-30` and `0001-01-01` are not).
pub(super) fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && b[0] != b'0'
        && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn cell(v: &Value, test: &CellTest) -> bool {
    match test {
        // Equality with text finds text cells (see the SQL's index-friendly form).
        CellTest::Text(Cmp::Eq, want) if !want.is_empty() => v.as_str() == Some(want.as_str()),
        CellTest::Text(cmp, want) | CellTest::Shown(cmp, want) => {
            let shown = display(v);
            !(shown.is_empty() && cmp.leaves_out_empty(want))
                && holds(*cmp, shown.as_str().cmp(want.as_str()))
        }
        CellTest::Number(cmp, want) => match (v.as_f64(), want.as_f64()) {
            (Some(have), Some(want)) => have.partial_cmp(&want).is_some_and(|o| holds(*cmp, o)),
            _ => false,
        },
        CellTest::Date(cmp, want) => match v.as_str() {
            Some(s) if is_iso_date(s) => holds(*cmp, s.cmp(want.as_str())),
            _ => false,
        },
        CellTest::Bool(b) => v.as_bool() == Some(*b),
        CellTest::Like {
            pattern,
            case_insensitive,
        } => like_matches(&display(v), pattern, *case_insensitive),
        CellTest::Contains(item) => v
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i.as_str() == Some(item.as_str()))),
    }
}

//! Flatfile Query Language: `[field] op value` conditions (`eq ne lt gt lte gte like ilike
//! contains`), `[field] is error|valid|warning`, joined by `and` / `or` with parentheses.
//!
//! Pure: text in, a typed tree out. [`parse`] reads the text into a [`Query`] (names and
//! values as written); [`resolve`] checks it against a sheet's fields and gives a [`Node`]
//! tree with field indexes and typed values, which `model::record` turns into SQL with
//! bound parameters. `and` binds tighter than `or` (as in SQL); both read left to right.
//!
//! Bounds: a query is at most [`MAX_LEN`] bytes, nests parentheses at most [`MAX_DEPTH`]
//! deep and holds at most [`MAX_CONDITIONS`] conditions, so no query can exhaust the
//! stack or build a statement too large for the database.

pub mod eval;
mod lexer;
mod like;
mod parser;
mod resolve;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_random;

pub use like::like_matches;
pub use parser::{parse, Cond, Expr, Op, Status, Test};
pub use resolve::{resolve, CellTest, Cmp, FieldSpec, Kind, Node};

/// Longest query accepted, in bytes.
pub const MAX_LEN: usize = 4096;
/// Deepest nesting of parentheses accepted.
pub const MAX_DEPTH: usize = 32;
/// Most conditions in one query.
pub const MAX_CONDITIONS: usize = 100;

/// Where something is in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Byte offset from the start.
    pub offset: usize,
    /// Character position, counting from 1 (what a person counts).
    pub column: usize,
}

impl Pos {
    pub(crate) fn at(text: &str, offset: usize) -> Pos {
        Pos {
            offset,
            column: text[..offset].chars().count() + 1,
        }
    }
}

/// A query that cannot be read or does not fit the sheet, with where and why:
/// `unexpected ")" at 17; expected a value`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub pos: Pos,
    pub message: String,
}

impl Error {
    pub(crate) fn new(pos: Pos, message: impl Into<String>) -> Error {
        Error {
            pos,
            message: message.into(),
        }
    }
}

/// A query read and checked against a sheet's fields in one step.
pub fn compile(text: &str, fields: &[FieldSpec]) -> Result<Node, Error> {
    resolve(&parse(text)?, fields)
}

/// The parsed form of a query, names and values as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub expr: Expr,
}

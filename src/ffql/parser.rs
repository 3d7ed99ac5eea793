//! The grammar, read by recursive descent with the nesting bounded:
//!
//! ```text
//! query     = or END
//! or        = and { "or" and }
//! and       = primary { "and" primary }
//! primary   = "(" or ")" | condition
//! condition = [field] op value | [field] "is" status
//! field     = word | quoted          (a word that is not a keyword)
//! value     = word | quoted
//! op        = eq | ne | lt | gt | lte | gte | like | ilike | contains
//! status    = error | valid | warning
//! ```
//!
//! Keywords are read without regard to case; a field named like a keyword is quoted.

use super::lexer::{tokens, Tok, Token};
use super::{Error, Pos, Query, MAX_CONDITIONS, MAX_DEPTH, MAX_LEN};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Lte,
    Gte,
    Like,
    Ilike,
    Contains,
}

impl Op {
    fn from_word(w: &str) -> Option<Op> {
        Some(match w.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "lt" => Op::Lt,
            "gt" => Op::Gt,
            "lte" => Op::Lte,
            "gte" => Op::Gte,
            "like" => Op::Like,
            "ilike" => Op::Ilike,
            "contains" => Op::Contains,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Lt => "lt",
            Op::Gt => "gt",
            Op::Lte => "lte",
            Op::Gte => "gte",
            Op::Like => "like",
            Op::Ilike => "ilike",
            Op::Contains => "contains",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Error,
    Valid,
    Warning,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Cond(Cond),
}

/// One condition; `field` is None for "any field" (or the whole record, for `is`).
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    pub field: Option<(String, Pos)>,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Compare { op: Op, value: String, pos: Pos },
    Is(Status),
}

const EXPECT_CONDITION: &str = "a condition such as `name eq Bender`, `is error` or \"(\"";
const EXPECT_OP: &str = "an operator (eq, ne, lt, gt, lte, gte, like, ilike, contains) or is";

fn is_keyword(w: &str) -> bool {
    Op::from_word(w).is_some() || ["and", "or", "is"].iter().any(|k| w.eq_ignore_ascii_case(k))
}

pub fn parse(text: &str) -> Result<Query, Error> {
    if text.len() > MAX_LEN {
        return Err(Error::new(
            Pos::default(),
            format!(
                "the query is {} bytes long; at most {MAX_LEN} are allowed",
                text.len()
            ),
        ));
    }
    let toks = tokens(text)?;
    if toks.is_empty() {
        return Err(Error::new(
            Pos::at(text, 0),
            "the query is empty; expected a condition",
        ));
    }
    let mut p = Parser {
        toks,
        at: 0,
        end: Pos::at(text, text.len()),
        conditions: 0,
    };
    let expr = p.or(0)?;
    if let Some(t) = p.peek() {
        return Err(p.unexpected(t, "`and`, `or` or the end of the query"));
    }
    Ok(Query { expr })
}

struct Parser {
    toks: Vec<Token>,
    at: usize,
    end: Pos,
    conditions: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case(word))
    }

    fn unexpected(&self, found: &Token, expected: &str) -> Error {
        Error::new(
            found.pos,
            format!(
                "unexpected {} at {}; expected {expected}",
                found.describe(),
                found.pos.column
            ),
        )
    }

    /// The error for the token at hand, or for the end of the query.
    fn expected(&self, expected: &str) -> Error {
        match self.peek() {
            Some(t) => self.unexpected(t, expected),
            None => Error::new(
                self.end,
                format!(
                    "unexpected end of query at {}; expected {expected}",
                    self.end.column
                ),
            ),
        }
    }

    fn or(&mut self, depth: usize) -> Result<Expr, Error> {
        let mut items = vec![self.and(depth)?];
        while self.peek_word("or") {
            self.next();
            items.push(self.and(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, Error> {
        let mut items = vec![self.primary(depth)?];
        while self.peek_word("and") {
            self.next();
            items.push(self.primary(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, Error> {
        match self.peek().map(|t| &t.tok) {
            Some(Tok::Open) => {
                let open = self.next().map(|t| t.pos).unwrap_or_default();
                if depth >= MAX_DEPTH {
                    return Err(Error::new(
                        open,
                        format!(
                            "parentheses nest deeper than {MAX_DEPTH} at {}; simplify the query",
                            open.column
                        ),
                    ));
                }
                let inner = self.or(depth + 1)?;
                match self.peek().map(|t| &t.tok) {
                    Some(Tok::Close) => {
                        self.next();
                        Ok(inner)
                    }
                    _ => Err(self.expected(&format!(
                        "`and`, `or` or \")\" to close the \"(\" at {}",
                        open.column
                    ))),
                }
            }
            _ => self.condition().map(Expr::Cond),
        }
    }

    fn condition(&mut self) -> Result<Cond, Error> {
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(self.expected(&format!(
                "fewer conditions (at most {MAX_CONDITIONS} in one query)"
            )));
        }
        let field = match self.peek() {
            Some(Token {
                tok: Tok::Word(w),
                pos,
            }) if !is_keyword(w) => Some((w.clone(), *pos)),
            Some(Token {
                tok: Tok::Quoted(q),
                pos,
            }) => Some((q.clone(), *pos)),
            Some(Token {
                tok: Tok::Word(_), ..
            }) => None,
            _ => return Err(self.expected(EXPECT_CONDITION)),
        };
        if field.is_some() {
            self.next();
        }
        let expect_op = if field.is_some() {
            EXPECT_OP
        } else {
            EXPECT_CONDITION
        };
        let op_word = match self.peek() {
            Some(Token {
                tok: Tok::Word(w), ..
            }) => w.clone(),
            _ => return Err(self.expected(expect_op)),
        };
        if op_word.eq_ignore_ascii_case("is") {
            self.next();
            let status = match self.peek() {
                Some(Token {
                    tok: Tok::Word(w), ..
                }) => match w.to_ascii_lowercase().as_str() {
                    "error" => Some(Status::Error),
                    "valid" => Some(Status::Valid),
                    "warning" | "warn" => Some(Status::Warning),
                    _ => None,
                },
                _ => None,
            };
            let Some(status) = status else {
                return Err(self.expected("error, valid or warning"));
            };
            self.next();
            return Ok(Cond {
                field,
                test: Test::Is(status),
            });
        }
        let Some(op) = Op::from_word(&op_word) else {
            return Err(self.expected(expect_op));
        };
        self.next();
        let (value, pos) = match self.peek() {
            Some(Token {
                tok: Tok::Word(v) | Tok::Quoted(v),
                pos,
            }) => (v.clone(), *pos),
            _ => return Err(self.expected("a value")),
        };
        self.next();
        Ok(Cond {
            field,
            test: Test::Compare { op, value, pos },
        })
    }
}

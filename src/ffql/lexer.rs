//! Splits a query into parentheses, bare words and quoted strings.

use super::{Error, Pos};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Open,
    Close,
    /// A run of characters up to white space or a parenthesis (quotes inside are kept).
    Word(String),
    /// A `"..."` or `'...'` string, escapes resolved.
    Quoted(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

impl Token {
    /// The token as a person would quote it in a message.
    pub fn describe(&self) -> String {
        match &self.tok {
            Tok::Open => "\"(\"".into(),
            Tok::Close => "\")\"".into(),
            Tok::Word(w) => format!("\"{w}\""),
            Tok::Quoted(q) => format!("quoted text \"{q}\""),
        }
    }
}

pub fn tokens(text: &str) -> Result<Vec<Token>, Error> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        let pos = Pos::at(text, start);
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                chars.next();
                let tok = if c == '(' { Tok::Open } else { Tok::Close };
                out.push(Token { tok, pos });
            }
            '"' | '\'' => {
                chars.next();
                let mut value = String::new();
                let mut closed = false;
                while let Some((_, ch)) = chars.next() {
                    match ch {
                        // `\"`, `\'` and `\\` stand for the character; a backslash before
                        // anything else is kept (`"a \ b"` is `a \ b`), so LIKE patterns keep
                        // their `\%` and `\_`.
                        '\\' => match chars.peek() {
                            Some(&(_, next)) if matches!(next, '"' | '\'' | '\\') => {
                                value.push(next);
                                chars.next();
                            }
                            _ => value.push('\\'),
                        },
                        ch if ch == c => {
                            closed = true;
                            break;
                        }
                        ch => value.push(ch),
                    }
                }
                if !closed {
                    return Err(Error::new(
                        pos,
                        format!(
                            "the quote opened at {} is never closed; expected a closing {c}",
                            pos.column
                        ),
                    ));
                }
                out.push(Token {
                    tok: Tok::Quoted(value),
                    pos,
                });
            }
            _ => {
                let mut word = String::new();
                while let Some(&(_, ch)) = chars.peek() {
                    if ch.is_whitespace() || ch == '(' || ch == ')' {
                        break;
                    }
                    word.push(ch);
                    chars.next();
                }
                out.push(Token {
                    tok: Tok::Word(word),
                    pos,
                });
            }
        }
    }
    Ok(out)
}

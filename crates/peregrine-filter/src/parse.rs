//! Parser for filter conditions: `field op value` checks combined with
//! `and`, `or`, `not` and parentheses. Errors carry the byte offset.

use crate::field::{Field, FieldError};
use std::fmt;

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Icontains,
    Startswith,
    Endswith,
    Glob,
    In,
    Exists,
}

impl Op {
    fn from_word(w: &str) -> Option<Op> {
        Some(match w {
            "=" | "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "contains" => Op::Contains,
            "icontains" => Op::Icontains,
            "startswith" => Op::Startswith,
            "endswith" => Op::Endswith,
            "glob" => Op::Glob,
            "in" => Op::In,
            "exists" => Op::Exists,
            _ => return None,
        })
    }
}

/// A parsed condition.
#[derive(Clone, Debug)]
pub enum Expr {
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// Does not hold.
    Not(Box<Expr>),
    /// A field check.
    Check {
        /// The field.
        field: Field,
        /// The operator.
        op: Op,
        /// The operand(s); empty for `exists`, one or more for `in`.
        values: Vec<String>,
    },
}

/// A parse error with the byte offset where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the condition text.
    pub offset: usize,
    /// What was expected or wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "offset {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for ParseError {}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            offset: self.pos,
            message: message.into(),
        })
    }

    fn skip_ws(&mut self) {
        while self.text[self.pos..].starts_with(|c: char| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek_word(&mut self) -> &'a str {
        self.skip_ws();
        let rest = &self.text[self.pos..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
            .unwrap_or(rest.len());
        &rest[..end]
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.peek_word() == kw {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }

    fn eat_char(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.text[self.pos..].starts_with(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while self.eat_keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.not()?;
        while self.eat_keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.eat_keyword("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        if self.eat_char('(') {
            let e = self.or()?;
            if !self.eat_char(')') {
                return self.err("expected ')'");
            }
            return Ok(e);
        }
        self.check()
    }

    fn check(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        let start = self.pos;
        let (field, n) = Field::parse_prefix(&self.text[self.pos..]).map_err(|e| ParseError {
            offset: start,
            message: match e {
                FieldError::Unknown(name) if name.is_empty() => "expected a field name".into(),
                e => e.to_string(),
            },
        })?;
        self.pos += n;
        self.skip_ws();
        let rest = &self.text[self.pos..];
        let op_text = if rest.starts_with("==")
            || rest.starts_with("!=")
            || rest.starts_with("<=")
            || rest.starts_with(">=")
        {
            &rest[..2]
        } else if rest.starts_with(['=', '<', '>']) {
            &rest[..1]
        } else {
            self.peek_word()
        };
        let Some(op) = Op::from_word(op_text) else {
            return self.err(format!("expected an operator after '{}'", field.def.name));
        };
        self.pos += op_text.len();
        let values = match op {
            Op::Exists => Vec::new(),
            Op::In => self.list()?,
            _ => vec![self.value()?],
        };
        Ok(Expr::Check { field, op, values })
    }

    fn list(&mut self) -> Result<Vec<String>, ParseError> {
        if !self.eat_char('(') {
            return self.err("expected '(' to start a list");
        }
        let mut items = Vec::new();
        loop {
            if self.eat_char(')') {
                return Ok(items);
            }
            items.push(self.value()?);
            if !self.eat_char(',') && !self.text[self.pos..].trim_start().starts_with(')') {
                return self.err("expected ',' or ')' in list");
            }
        }
    }

    fn value(&mut self) -> Result<String, ParseError> {
        self.skip_ws();
        let rest = &self.text[self.pos..];
        if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let mut out = String::new();
            let mut chars = rest[1..].char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, e)) = chars.next() {
                            out.push(e);
                        }
                    }
                    c if c == q => {
                        self.pos += i + 2;
                        return Ok(out);
                    }
                    c => out.push(c),
                }
            }
            return self.err("unterminated string");
        }
        let word = self.peek_word();
        if word.is_empty() {
            return self.err("expected a value");
        }
        self.pos += word.len();
        Ok(word.to_string())
    }
}

/// Parses a whole condition.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let mut p = Parser { text, pos: 0 };
    let e = p.or()?;
    p.skip_ws();
    if p.pos != text.len() {
        return p.err("unexpected text after the condition");
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(e: &Expr) -> String {
        match e {
            Expr::And(a, b) => format!("({} and {})", shape(a), shape(b)),
            Expr::Or(a, b) => format!("({} or {})", shape(a), shape(b)),
            Expr::Not(a) => format!("not {}", shape(a)),
            Expr::Check { field, op, values } => {
                format!("{}{:?}{}", field.canonical(), op, values.join("|"))
            }
        }
    }

    #[test]
    fn precedence_and_grouping() {
        let e = parse("evt.type=open or evt.type = read and not fd.num>3").unwrap();
        assert_eq!(
            shape(&e),
            "(evt.typeEqopen or (evt.typeEqread and not fd.numGt3))"
        );
        let e = parse("(evt.type=open or evt.dir=<) and proc.name exists").unwrap();
        assert_eq!(
            shape(&e),
            "((evt.typeEqopen or evt.dirEq<) and proc.nameExists)"
        );
    }

    #[test]
    fn lists_and_quoted_strings() {
        let e = parse("proc.name in (cat, 'my prog', \"x\\\"y\")").unwrap();
        assert_eq!(shape(&e), "proc.nameIncat|my prog|x\"y");
        let e = parse("fd.name startswith /etc and evt.arg.flags contains O_RDONLY").unwrap();
        assert_eq!(
            shape(&e),
            "(fd.nameStartswith/etc and evt.arg.flagsContainsO_RDONLY)"
        );
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(parse("proc.name").unwrap_err().offset, 9);
        assert_eq!(parse("proc.name = ").unwrap_err().offset, 12);
        assert_eq!(parse("bogus.f = 1").unwrap_err().offset, 0);
        assert_eq!(parse("(proc.name = a").unwrap_err().offset, 14);
        assert_eq!(parse("proc.name = a b").unwrap_err().offset, 14);
        assert!(parse("proc.name = 'abc").is_err());
        assert!(parse("").is_err());
    }
}

//! Recursive-descent parser for Falco conditions.
//!
//! It follows libsinsp's grammar token for token, so that the same inputs are
//! accepted and rejected, errors are reported at the same offsets and with the
//! same messages:
//!
//! ```text
//! Or          ::= And ( 'or' (Blank | '(' Embedded) And )*
//! And         ::= Not ( 'and' (Blank | '(' Embedded) Not )*
//! Not         ::= ('not' Space+)* ( 'not(' Embedded | Check )
//! Embedded    ::= Or ')'
//! Check       ::= '(' Embedded | FieldOrTr Condition | Identifier
//! Condition   ::= 'exists' | NumOp NumValue | StrOp [Modifier] StrValue
//!               | ListOp ListValue
//! ```
//!
//! Whitespace is space, tab, backspace, CR and LF (as in libsinsp), so
//! conditions from YAML block scalars parse as written.

use super::ast::{
    BinaryOp, CmpOp, Expr, ExprKind, FieldRef, Modifier, Operand, Rhs, Span, Transformer,
    TransformerArg, TransformerKind, UnaryOp, Value, line_col,
};
use std::fmt;

/// The nesting limit Falco's rules loader sets (libsinsp's own default is
/// 100). Each parenthesis level costs about five levels.
pub const DEFAULT_MAX_DEPTH: u32 = 1000;

/// A syntax error, positioned where Falco's parser reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset into the condition.
    pub offset: usize,
    /// 1-based line of `offset`.
    pub line: u32,
    /// 1-based column of `offset`.
    pub column: u32,
    /// The message, worded as libsinsp words it.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (index {}, line {}, column {})",
            self.message, self.offset, self.line, self.column
        )
    }
}

impl std::error::Error for ParseError {}

/// A parser for one condition text.
#[derive(Debug)]
pub struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: u32,
    max_depth: u32,
    last: String,
}

/// Internal error: offset and message.
type PErr = Box<(usize, String)>;
type PResult<T> = Result<T, PErr>;

const UNARY_OPS: [(&str, UnaryOp); 1] = [("exists", UnaryOp::Exists)];
const NUM_OPS: [(&str, CmpOp); 4] = [
    ("<=", CmpOp::Le),
    ("<", CmpOp::Lt),
    (">=", CmpOp::Ge),
    (">", CmpOp::Gt),
];
/// String operators; `true` means a blank must follow the word.
const STR_OPS: [(&str, bool, CmpOp); 12] = [
    ("==", false, CmpOp::EqEq),
    ("=", false, CmpOp::Eq),
    ("!=", false, CmpOp::Ne),
    ("glob", true, CmpOp::Glob),
    ("iglob", true, CmpOp::IGlob),
    ("contains", true, CmpOp::Contains),
    ("icontains", true, CmpOp::IContains),
    ("bcontains", true, CmpOp::BContains),
    ("startswith", true, CmpOp::StartsWith),
    ("bstartswith", true, CmpOp::BStartsWith),
    ("endswith", true, CmpOp::EndsWith),
    ("regex", true, CmpOp::Regex),
];
const MODIFIERS: [(&str, Modifier); 3] = [
    ("oneof", Modifier::OneOf),
    ("anyof", Modifier::AnyOf),
    ("allof", Modifier::AllOf),
];
const LIST_OPS: [(&str, CmpOp); 3] = [
    ("intersects", CmpOp::Intersects),
    ("in", CmpOp::In),
    ("pmatch", CmpOp::PMatch),
];

const TRANSFORMERS_MSG: &str =
    "'val', 'tolower', 'toupper', 'b64', 'basename', 'len', 'join', 'concat', 'getopt'";
const OPERATORS_MSG: &str = "'exists', '<=', '<', '>=', '>', '==', '=', '!=', 'glob', 'iglob', \
     'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', \
     'intersects', 'in', 'pmatch'";

/// Every check operator, in libsinsp's order (its `supported_operators()`).
pub const OPERATORS: [&str; 20] = [
    "exists",
    "<=",
    "<",
    ">=",
    ">",
    "==",
    "=",
    "!=",
    "glob",
    "iglob",
    "contains",
    "icontains",
    "bcontains",
    "startswith",
    "bstartswith",
    "endswith",
    "regex",
    "intersects",
    "in",
    "pmatch",
];

/// The binary operator written as `text`: one operator word or symbol
/// (`=`, `in`, `startswith`), optionally followed by blanks and a list
/// modifier after a string operator (`startswith oneof`). `None` for
/// anything else, `exists` included.
pub fn binary_op(text: &str) -> Option<BinaryOp> {
    let mut words = text.split(|c: char| c.is_ascii() && is_blank(c as u8));
    let words: Vec<&str> = std::iter::from_fn(|| words.next())
        .filter(|w| !w.is_empty())
        .collect();
    let (op, modifier) = match words.as_slice() {
        [op] => (*op, None),
        [op, m] => (*op, Some(MODIFIERS.iter().find(|(w, _)| w == m)?.1)),
        _ => return None,
    };
    if let Some((_, _, c)) = STR_OPS.iter().find(|(w, _, _)| *w == op) {
        return Some(BinaryOp { cmp: *c, modifier });
    }
    if modifier.is_some() {
        return None;
    }
    NUM_OPS
        .iter()
        .chain(LIST_OPS.iter())
        .find(|(w, _)| *w == op)
        .map(|(_, c)| BinaryOp {
            cmp: *c,
            modifier: None,
        })
}

/// POSIX `[[:space:]]`.
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// libsinsp's blank characters (note: backspace, not VT/FF).
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | 0x08 | b'\r' | b'\n')
}

fn is_bare_byte(b: u8) -> bool {
    !matches!(b, b'(' | b')' | b'"' | b'\'' | b'=' | b',') && !is_space(b)
}

/// True if all of `s` lexes as one bare string (`[^()"'[:space:]=,]+`).
pub(crate) fn is_bare_str(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_bare_byte)
}

/// Length of the hex number at the start of `b` (`0[xX][0-9a-fA-F]+`).
fn hex_len(b: &[u8]) -> usize {
    if b.len() >= 3 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') {
        let n = b[2..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if n > 0 {
            return 2 + n;
        }
    }
    0
}

/// Length of the number at the start of `b`
/// (`[+-]?[0-9]+\.?[0-9]*([eE][+-][0-9]+)?`).
fn num_len(b: &[u8]) -> usize {
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let d = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if d == 0 {
        return 0;
    }
    i += d;
    if i < b.len() && b[i] == b'.' {
        i += 1;
    }
    i += b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if i + 2 < b.len()
        && (b[i] == b'e' || b[i] == b'E')
        && (b[i + 1] == b'+' || b[i + 1] == b'-')
        && b[i + 2].is_ascii_digit()
    {
        i += 2;
        i += b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    }
    i
}

/// True if all of `s` lexes as one number (hex or decimal).
pub(crate) fn is_number(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && (hex_len(b) == b.len() || num_len(b) == b.len())
}

/// Length of an identifier (`[a-zA-Z]+[a-zA-Z0-9_]*`) at the start of `b`.
fn ident_len(b: &[u8]) -> usize {
    if b.first().is_some_and(|c| c.is_ascii_alphabetic()) {
        1 + b[1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count()
    } else {
        0
    }
}

/// Length of a field name (identifier segments joined by dots, at least two)
/// at the start of `b`.
fn field_len(b: &[u8]) -> usize {
    let mut i = ident_len(b);
    if i == 0 {
        return 0;
    }
    let mut segments = 1;
    while i < b.len() && b[i] == b'.' {
        let n = ident_len(&b[i + 1..]);
        if n == 0 {
            break;
        }
        i += 1 + n;
        segments += 1;
    }
    if segments >= 2 { i } else { 0 }
}

/// Unescapes a quoted token (delimiters included), as libsinsp does.
fn unescape(tok: &[u8]) -> Result<Vec<u8>, String> {
    let mut res = Vec::with_capacity(tok.len());
    let len = tok.len().saturating_sub(1);
    let mut escaped = false;
    let mut i = 1;
    while i < len {
        let c = tok[i];
        if !escaped {
            if c == b'\\' {
                escaped = true;
            } else {
                res.push(c);
            }
        } else {
            match c {
                b'b' => res.push(0x08),
                b'f' => res.push(0x0c),
                b'n' => res.push(b'\n'),
                b'r' => res.push(b'\r'),
                b't' => res.push(b'\t'),
                // libsinsp turns "\ " into a backslash (kept for old rules).
                b' ' | b'\\' => res.push(b'\\'),
                b'/' => res.push(b'/'),
                b'"' => {
                    if tok[0] != c {
                        return Err("invalid \\\" escape in '-quoted string".into());
                    }
                    res.push(b'"');
                }
                b'\'' => {
                    if tok[0] != c {
                        return Err("invalid \\' escape in \"-quoted string".into());
                    }
                    res.push(b'\'');
                }
                b'x' => {
                    if i + 2 >= len {
                        return Err("truncated hex char escape sequence".into());
                    }
                    let h = &tok[i + 1..i + 3];
                    let v = std::str::from_utf8(h)
                        .ok()
                        .filter(|s| s.bytes().all(|c| c.is_ascii_hexdigit()))
                        .and_then(|s| u8::from_str_radix(s, 16).ok());
                    match v {
                        Some(v) => res.push(v),
                        None => {
                            return Err(format!(
                                "invalid hex char escape sequence: {}",
                                String::from_utf8_lossy(h)
                            ));
                        }
                    }
                    i += 2;
                }
                _ => {
                    // Report the whole character, not just its first byte.
                    let rest = String::from_utf8_lossy(&tok[i..]);
                    let ch = rest.chars().next().unwrap_or('?');
                    return Err(format!("unsupported string escape sequence: \\{ch}"));
                }
            }
            escaped = false;
        }
        i += 1;
    }
    Ok(res)
}

/// Reads the quoted string at the start of `b` the way libsinsp's lexer
/// does: returns its length (delimiters included) or `None` if unterminated.
pub(crate) fn quoted_len(b: &[u8]) -> Option<usize> {
    let delim = *b.first()?;
    if delim != b'"' && delim != b'\'' {
        return None;
    }
    let mut prev = b'\\';
    for (i, &c) in b.iter().enumerate() {
        if c == delim && prev != b'\\' {
            return Some(i + 1);
        }
        prev = c;
    }
    None
}

/// Unescapes a whole quoted token into a string (used by list expansion).
pub(crate) fn unescape_quoted(tok: &str) -> Option<String> {
    unescape(tok.as_bytes())
        .ok()
        .and_then(|v| String::from_utf8(v).ok())
}

impl<'a> Parser<'a> {
    /// A parser for `text` with [`DEFAULT_MAX_DEPTH`].
    pub fn new(text: &'a str) -> Parser<'a> {
        Parser {
            src: text,
            b: text.as_bytes(),
            pos: 0,
            depth: 0,
            max_depth: DEFAULT_MAX_DEPTH,
            last: String::new(),
        }
    }

    /// Sets the maximum recursion depth (libsinsp's default is 100, Falco's
    /// rules loader uses 1000).
    pub fn with_max_depth(mut self, max_depth: u32) -> Parser<'a> {
        self.max_depth = max_depth;
        self
    }

    /// Parses the whole text into an expression.
    pub fn parse(mut self) -> Result<Expr, ParseError> {
        self.pos = 0;
        self.depth = 0;
        self.last.clear();
        let r = if self.b.is_empty() {
            Err(Box::new((0, "filter input string is empty".to_string())))
        } else {
            self.parse_or().and_then(|e| {
                if self.pos != self.b.len() {
                    Err(self.err(format!(
                        "unexpected token after '{}', expecting 'or', 'and'",
                        self.last
                    )))
                } else {
                    Ok(*e)
                }
            })
        };
        r.map_err(|b| {
            let (offset, message) = *b;
            let (line, column) = line_col(self.src, offset);
            ParseError {
                offset,
                line,
                column,
                message,
            }
        })
    }

    // ---- helpers ----

    fn err(&self, msg: impl Into<String>) -> PErr {
        Box::new((self.pos, msg.into()))
    }

    fn rest(&self) -> &'a [u8] {
        &self.b[self.pos..]
    }

    fn guard<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        self.enter()?;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn take(&mut self, n: usize) -> &'a str {
        let s = &self.src[self.pos..self.pos + n];
        self.pos += n;
        self.last.clear();
        self.last.push_str(s);
        s
    }

    fn lex_blank(&mut self) -> bool {
        let n = self.rest().iter().take_while(|c| is_blank(**c)).count();
        self.pos += n;
        n > 0
    }

    fn lex_str(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s.as_bytes()) {
            self.take(s.len());
            true
        } else {
            false
        }
    }

    fn lex_identifier(&mut self) -> Option<&'a str> {
        let n = ident_len(self.rest());
        (n > 0).then(|| self.take(n))
    }

    fn lex_field_name(&mut self) -> Option<&'a str> {
        let n = field_len(self.rest());
        (n > 0).then(|| self.take(n))
    }

    fn lex_number(&mut self) -> Option<&'a str> {
        let r = self.rest();
        let n = match hex_len(r) {
            0 => num_len(r),
            n => n,
        };
        (n > 0).then(|| self.take(n))
    }

    /// A quoted string: `Ok(None)` if none here, `Err` on a bad escape.
    fn lex_quoted(&mut self) -> PResult<Option<String>> {
        let Some(n) = quoted_len(self.rest()) else {
            return Ok(None);
        };
        let tok = &self.rest()[..n];
        self.pos += n;
        let bytes = unescape(tok).map_err(|m| self.err(m))?;
        let s = String::from_utf8(bytes).map_err(|_| {
            self.err("string escape sequences do not form valid UTF-8 (unsupported)")
        })?;
        self.last.clear();
        self.last.push_str(&s);
        Ok(Some(s))
    }

    fn lex_bare(&mut self) -> Option<&'a str> {
        let n = self.rest().iter().take_while(|c| is_bare_byte(**c)).count();
        (n > 0).then(|| self.take(n))
    }

    fn lex_field_arg_bare(&mut self) -> Option<&'a str> {
        let n = self
            .rest()
            .iter()
            .take_while(|c| !matches!(c, b'[' | b']' | b'"' | b'\'') && !is_space(**c))
            .count();
        (n > 0).then(|| self.take(n))
    }

    /// A word operator that must be followed by a blank (consumed).
    fn lex_word_op(&mut self, w: &str) -> bool {
        let (pos, last) = (self.pos, std::mem::take(&mut self.last));
        if self.lex_str(w) && self.lex_blank() {
            return true;
        }
        self.pos = pos;
        self.last = last;
        false
    }

    fn lex_transformer(&mut self) -> Option<TransformerKind> {
        for k in TransformerKind::ALL {
            let r = self.rest();
            let name = k.as_str().as_bytes();
            if r.starts_with(name) && r.get(name.len()) == Some(&b'(') {
                self.take(name.len() + 1);
                return Some(k);
            }
        }
        None
    }

    fn lex_not_blank(&mut self) -> bool {
        let r = self.rest();
        if r.starts_with(b"not") {
            let n = r[3..].iter().take_while(|c| is_space(**c)).count();
            if n > 0 {
                self.take(3 + n);
                return true;
            }
        }
        false
    }

    fn span_from(&self, start: usize) -> Span {
        Span::new(start, self.pos)
    }

    // ---- grammar ----

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth >= self.max_depth {
            return Err(self.err(format!("exceeded max depth limit of {}", self.max_depth)));
        }
        Ok(())
    }

    // The functions on the recursion path of nested parentheses (or, and,
    // not, embedded, check) keep their frames small: leaf checks are parsed
    // out of line.

    fn parse_or(&mut self) -> PResult<Box<Expr>> {
        self.enter()?;
        let r = self.parse_junction(false);
        self.depth -= 1;
        r
    }

    fn parse_and(&mut self) -> PResult<Box<Expr>> {
        self.enter()?;
        let r = self.parse_junction(true);
        self.depth -= 1;
        r
    }

    /// `or` (children parsed by `parse_and`) or `and` (by `parse_not`).
    fn parse_junction(&mut self, is_and: bool) -> PResult<Box<Expr>> {
        self.lex_blank();
        let start = self.pos;
        let first = self.parse_junction_child(is_and)?;
        self.lex_blank();
        let word = if is_and { "and" } else { "or" };
        if !self.rest().starts_with(word.as_bytes()) {
            return Ok(first);
        }
        self.parse_junction_rest(is_and, start, *first)
    }

    #[inline(never)]
    fn parse_junction_rest(
        &mut self,
        is_and: bool,
        start: usize,
        first: Expr,
    ) -> PResult<Box<Expr>> {
        let (word, msg) = if is_and {
            ("and", "expected blank or '(' after 'and'")
        } else {
            ("or", "expected blank or '(' after 'or'")
        };
        let mut children = vec![first];
        while self.lex_str(word) {
            let child = if !self.lex_blank() {
                if self.lex_str("(") {
                    self.parse_embedded()?
                } else {
                    return Err(self.err(msg));
                }
            } else {
                self.parse_junction_child(is_and)?
            };
            children.push(*child);
            self.lex_blank();
        }
        let end = children.last().map_or(self.pos, |c| c.span.end);
        let kind = if is_and {
            ExprKind::And(children)
        } else {
            ExprKind::Or(children)
        };
        Ok(Box::new(Expr::new(kind, Span::new(start, end))))
    }

    fn parse_junction_child(&mut self, is_and: bool) -> PResult<Box<Expr>> {
        if is_and {
            self.parse_not()
        } else {
            self.parse_and()
        }
    }

    fn parse_not(&mut self) -> PResult<Box<Expr>> {
        self.enter()?;
        self.lex_blank();
        let start = self.pos;
        let mut is_not = false;
        while self.lex_not_blank() {
            is_not = !is_not;
        }
        let child = if self.lex_str("not(") {
            is_not = !is_not;
            self.parse_embedded()
        } else {
            self.parse_check()
        };
        self.depth -= 1;
        let child = child?;
        Ok(if is_not {
            let end = child.span.end;
            Box::new(Expr::new(ExprKind::Not(child), Span::new(start, end)))
        } else {
            child
        })
    }

    /// The rest of `( ... )` after the opening parenthesis.
    fn parse_embedded(&mut self) -> PResult<Box<Expr>> {
        self.enter()?;
        self.lex_blank();
        let child = self.parse_or();
        self.depth -= 1;
        let child = child?;
        self.lex_blank();
        if !self.lex_str(")") {
            return Err(self.err("expected a ')' token"));
        }
        Ok(child)
    }

    fn parse_check(&mut self) -> PResult<Box<Expr>> {
        self.enter()?;
        self.lex_blank();
        let r = if self.lex_str("(") {
            self.parse_embedded()
        } else {
            self.parse_leaf_check().map(Box::new)
        };
        self.depth -= 1;
        r
    }

    #[inline(never)]
    fn parse_leaf_check(&mut self) -> PResult<Expr> {
        let start = self.pos;
        if let Some(name) = self.lex_field_name() {
            let lhs = self.parse_field_remainder(name, start)?;
            return self.parse_condition(Operand::Field(lhs), start);
        }
        if let Some(k) = self.lex_transformer() {
            self.lex_blank();
            let t = self.parse_transformer_remainder(k, start)?;
            return self.parse_condition(Operand::Transformer(Box::new(t)), start);
        }
        if let Some(id) = self.lex_identifier() {
            return Ok(Expr::new(
                ExprKind::Macro(id.to_string()),
                self.span_from(start),
            ));
        }
        Err(self.err("expected a '(' token, a field check, or an identifier"))
    }

    fn parse_field_remainder(&mut self, name: &str, start: usize) -> PResult<FieldRef> {
        self.guard(|p| {
            let arg = p.parse_optional_field_arg()?;
            Ok(FieldRef {
                name: name.to_string(),
                arg,
                span: p.span_from(start),
            })
        })
    }

    fn parse_optional_field_arg(&mut self) -> PResult<Option<String>> {
        if !self.lex_str("[") {
            return Ok(None);
        }
        let arg = if let Some(q) = self.lex_quoted()? {
            q
        } else if let Some(s) = self.lex_field_arg_bare() {
            s.to_string()
        } else {
            return Err(
                self.err("expected a valid field argument: a quoted string or a bare string")
            );
        };
        if !self.lex_str("]") {
            return Err(self.err("expected a ']' token"));
        }
        Ok(Some(arg))
    }

    /// Arguments of a transformer after `name(` and its closing `)`.
    fn parse_transformer_remainder(
        &mut self,
        kind: TransformerKind,
        start: usize,
    ) -> PResult<Transformer> {
        self.guard(|p| {
            p.lex_blank();
            let mut args = Vec::new();
            loop {
                let s = p.pos;
                args.push(p.parse_transformer_arg(s)?);
                p.lex_blank();
                if !p.lex_str(",") {
                    break;
                }
            }
            p.lex_blank();
            if !p.lex_str(")") {
                return Err(p.err("expected a ')' token closing the transformer"));
            }
            let arg = p.parse_optional_field_arg()?;
            Ok(Transformer {
                kind,
                args,
                arg,
                span: p.span_from(start),
            })
        })
    }

    fn parse_transformer_arg(&mut self, _start: usize) -> PResult<TransformerArg> {
        self.guard(|p| {
            p.lex_blank();
            let start = p.pos;
            if let Some(n) = p.lex_number() {
                return Ok(TransformerArg::Value(Value {
                    text: n.to_string(),
                    quoted: false,
                    span: p.span_from(start),
                }));
            }
            if let Some(q) = p.lex_quoted()? {
                return Ok(TransformerArg::Value(Value {
                    text: q,
                    quoted: true,
                    span: p.span_from(start),
                }));
            }
            if p.lex_str("(") {
                return p.parse_transformer_list(start);
            }
            if let Some(k) = p.lex_transformer() {
                let t = p.parse_transformer_remainder(k, start)?;
                return Ok(TransformerArg::Operand(Operand::Transformer(Box::new(t))));
            }
            if let Some(name) = p.lex_field_name() {
                let f = p.parse_field_remainder(name, start)?;
                return Ok(TransformerArg::Operand(Operand::Field(f)));
            }
            Err(p.err(
                "expected field transformer argument: \
                 field, transformer, quoted string, number, or transformer list",
            ))
        })
    }

    /// `( a, b, ... )` inside transformer arguments, after the `(`.
    fn parse_transformer_list(&mut self, start: usize) -> PResult<TransformerArg> {
        let mut items = Vec::new();
        self.lex_blank();
        if self.lex_str(")") {
            return Ok(TransformerArg::List(items, self.span_from(start)));
        }
        items.push(self.parse_transformer_list_arg()?);
        self.lex_blank();
        while self.lex_str(",") {
            self.lex_blank();
            items.push(self.parse_transformer_list_arg()?);
            self.lex_blank();
        }
        if !self.lex_str(")") {
            return Err(self.err("expected ')'"));
        }
        Ok(TransformerArg::List(items, self.span_from(start)))
    }

    fn parse_transformer_list_arg(&mut self) -> PResult<TransformerArg> {
        let start = self.pos;
        if let Some(name) = self.lex_field_name() {
            let f = self.parse_field_remainder(name, start)?;
            return Ok(TransformerArg::Operand(Operand::Field(f)));
        }
        if let Some(k) = self.lex_transformer() {
            self.lex_blank();
            let t = self.parse_transformer_remainder(k, start)?;
            return Ok(TransformerArg::Operand(Operand::Transformer(Box::new(t))));
        }
        if let Some(q) = self.lex_quoted()? {
            return Ok(TransformerArg::Value(Value {
                text: q,
                quoted: true,
                span: self.span_from(start),
            }));
        }
        if let Some(n) = self.lex_number() {
            return Ok(TransformerArg::Value(Value {
                text: n.to_string(),
                quoted: false,
                span: self.span_from(start),
            }));
        }
        Err(self.err(
            "expected transformer list argument: field, transformer, quoted string, or number",
        ))
    }

    fn parse_condition(&mut self, lhs: Operand, start: usize) -> PResult<Expr> {
        self.guard(|p| {
            p.lex_blank();
            for (w, op) in UNARY_OPS {
                if p.lex_str(w) {
                    return Ok(Expr::new(ExprKind::Unary { lhs, op }, p.span_from(start)));
                }
            }
            p.lex_blank();
            let mut op = None;
            for (w, c) in NUM_OPS {
                if p.lex_str(w) {
                    op = Some(c);
                    break;
                }
            }
            if let Some(cmp) = op {
                let rhs = p.parse_num_value()?;
                return Ok(p.binary(lhs, cmp, None, rhs, start));
            }
            for (w, needs_blank, c) in STR_OPS {
                let ok = if needs_blank {
                    p.lex_word_op(w)
                } else {
                    p.lex_str(w)
                };
                if ok {
                    op = Some(c);
                    break;
                }
            }
            if let Some(cmp) = op {
                let word = cmp.as_str().as_bytes()[0].is_ascii_alphabetic();
                let had_blank = word || p.lex_blank();
                let (saved_pos, saved_last) = (p.pos, p.last.clone());
                if had_blank
                    && let Some(m) = p.lex_modifier()
                    && p.list_value_follows()
                    && !p.bool_keyword_follows()
                {
                    let rhs = p.parse_list_value()?;
                    return Ok(p.binary(lhs, cmp, Some(m), rhs, start));
                }
                p.pos = saved_pos;
                p.last = saved_last;
                let rhs = p.parse_str_value(false)?;
                return Ok(p.binary(lhs, cmp, None, rhs, start));
            }
            for (w, c) in LIST_OPS {
                if p.lex_str(w) {
                    op = Some(c);
                    break;
                }
            }
            if let Some(cmp) = op {
                let rhs = p.parse_list_value_or_transformer()?;
                return Ok(p.binary(lhs, cmp, None, rhs, start));
            }
            Err(p.err(format!(
                "expected a valid check operator: one of {OPERATORS_MSG}"
            )))
        })
    }

    fn binary(
        &self,
        lhs: Operand,
        cmp: CmpOp,
        modifier: Option<Modifier>,
        rhs: Rhs,
        start: usize,
    ) -> Expr {
        let end = rhs.span().end.max(start);
        Expr::new(
            ExprKind::Binary {
                lhs,
                op: BinaryOp { cmp, modifier },
                rhs,
            },
            Span::new(start, end),
        )
    }

    fn lex_modifier(&mut self) -> Option<Modifier> {
        MODIFIERS
            .into_iter()
            .find(|(w, _)| self.lex_word_op(w))
            .map(|(_, m)| m)
    }

    fn list_value_follows(&self) -> bool {
        let r = self.rest();
        r.first() == Some(&b'(') || ident_len(r) > 0
    }

    fn bool_keyword_follows(&self) -> bool {
        let r = self.rest();
        ["and", "or", "not"].iter().any(|kw| {
            r.starts_with(kw.as_bytes())
                && r.get(kw.len()).is_none_or(|c| !c.is_ascii_alphanumeric())
        })
    }

    fn parse_num_value(&mut self) -> PResult<Rhs> {
        self.guard(|p| {
            p.lex_blank();
            let start = p.pos;
            if let Some(o) = p.try_parse_transformer_or_val()? {
                return Ok(Rhs::Operand(o));
            }
            if let Some(n) = p.lex_number() {
                return Ok(Rhs::Value(Value {
                    text: n.to_string(),
                    quoted: false,
                    span: p.span_from(start),
                }));
            }
            Err(p.err(format!(
                "expected a number value or a field with a valid transformer: {TRANSFORMERS_MSG}"
            )))
        })
    }

    /// A string value (or, unless `no_transformer`, a transformer or `val`).
    fn parse_str_value(&mut self, no_transformer: bool) -> PResult<Rhs> {
        self.guard(|p| {
            p.lex_blank();
            let start = p.pos;
            if !no_transformer && let Some(o) = p.try_parse_transformer_or_val()? {
                return Ok(Rhs::Operand(o));
            }
            if let Some(q) = p.lex_quoted()? {
                return Ok(Rhs::Value(Value {
                    text: q,
                    quoted: true,
                    span: p.span_from(start),
                }));
            }
            if let Some(s) = p.lex_bare() {
                return Ok(Rhs::Value(Value {
                    text: s.to_string(),
                    quoted: false,
                    span: p.span_from(start),
                }));
            }
            if no_transformer {
                return Err(p.err("expected a string value"));
            }
            Err(p.err(format!(
                "expected a string value or a field with a valid transformer: {TRANSFORMERS_MSG}"
            )))
        })
    }

    fn str_item(&mut self) -> PResult<Value> {
        match self.parse_str_value(true)? {
            Rhs::Value(v) => Ok(v),
            _ => Err(self.err("parser fatal error: null value expr in body of list")),
        }
    }

    fn try_parse_list(&mut self) -> PResult<Option<Rhs>> {
        let start = self.pos;
        if !self.lex_str("(") {
            return Ok(None);
        }
        let mut items = Vec::new();
        self.lex_blank();
        // libsinsp swallows any error on the first item and then expects ')'.
        if let Ok(v) = self.str_item() {
            items.push(v);
            self.lex_blank();
            while self.lex_str(",") {
                items.push(self.str_item()?);
                self.lex_blank();
            }
        }
        if !self.lex_str(")") {
            return Err(self.err("expected a ')' token"));
        }
        Ok(Some(Rhs::List(items, self.span_from(start))))
    }

    fn ident_value(&mut self, start: usize) -> Option<Rhs> {
        let id = self.lex_identifier()?;
        Some(Rhs::Value(Value {
            text: id.to_string(),
            quoted: false,
            span: Span::new(start, start + id.len()),
        }))
    }

    fn parse_list_value(&mut self) -> PResult<Rhs> {
        self.guard(|p| {
            p.lex_blank();
            let start = p.pos;
            if let Some(l) = p.try_parse_list()? {
                return Ok(l);
            }
            if let Some(v) = p.ident_value(start) {
                return Ok(v);
            }
            Err(p.err("expected a list or an identifier"))
        })
    }

    fn parse_list_value_or_transformer(&mut self) -> PResult<Rhs> {
        self.guard(|p| {
            p.lex_blank();
            let start = p.pos;
            if let Some(l) = p.try_parse_list()? {
                return Ok(l);
            }
            if let Some(o) = p.try_parse_transformer_or_val()? {
                return Ok(Rhs::Operand(o));
            }
            if let Some(v) = p.ident_value(start) {
                return Ok(v);
            }
            Err(p.err(format!(
                "expected a list, an identifier, or a field with a valid transformer: \
                 {TRANSFORMERS_MSG}"
            )))
        })
    }

    fn try_parse_transformer_or_val(&mut self) -> PResult<Option<Operand>> {
        self.guard(|p| {
            p.lex_blank();
            let start = p.pos;
            if p.lex_str("val(") {
                p.lex_blank();
                let fstart = p.pos;
                let Some(name) = p.lex_field_name() else {
                    return Err(p.err("expected a field within 'val' transformer"));
                };
                let f = p.parse_field_remainder(name, fstart)?;
                p.lex_blank();
                if !p.lex_str(")") {
                    return Err(p.err("expected a ')' token closing the transformer"));
                }
                let arg = p.parse_optional_field_arg()?;
                return Ok(Some(Operand::Transformer(Box::new(Transformer {
                    kind: TransformerKind::Val,
                    args: vec![TransformerArg::Operand(Operand::Field(f))],
                    arg,
                    span: p.span_from(start),
                }))));
            }
            if let Some(k) = p.lex_transformer() {
                p.lex_blank();
                let t = p.parse_transformer_remainder(k, start)?;
                return Ok(Some(Operand::Transformer(Box::new(t))));
            }
            Ok(None)
        })
    }
}

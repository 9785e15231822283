//! The condition front end the loader needs: a parser for Falco's
//! condition grammar that reports Falco's error messages and positions,
//! macro resolution with loop detection, field and event-type checks and
//! event-type inference.
//!
//! This is the one module that talks about condition syntax. When
//! `peregrine_filter::condition` is complete, this module becomes a thin
//! adapter over it; the rest of the crate only uses the items below.

use std::collections::BTreeSet;

/// A position in a condition: byte index, 1-based line and column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    /// Byte offset.
    pub idx: usize,
    /// Line, 1-based.
    pub line: usize,
    /// Column, 1-based.
    pub col: usize,
}

/// The operand of a check, or a field expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A field, with its optional `[arg]`.
    Field {
        /// Field name, e.g. `proc.name`.
        name: String,
        /// The argument in brackets.
        arg: Option<String>,
        /// Where it starts.
        pos: Pos,
    },
    /// A transformer such as `tolower(...)` or `val(...)`.
    Transformer {
        /// Its name.
        name: String,
        /// Its arguments.
        args: Vec<Operand>,
    },
    /// A single value (bare or unquoted text).
    Value(String),
    /// A parenthesised list of values.
    List(Vec<String>),
}

/// A parsed condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// All hold.
    And(Vec<Expr>),
    /// Any holds.
    Or(Vec<Expr>),
    /// Does not hold.
    Not(Box<Expr>),
    /// A bare identifier: a macro reference.
    Ident(String, Pos),
    /// `field exists`.
    Unary {
        /// The field or transformer.
        left: Operand,
        /// The operator.
        op: String,
        /// Where the check starts.
        pos: Pos,
    },
    /// `field op value`.
    Binary {
        /// The field or transformer.
        left: Operand,
        /// The operator (`=`, `in`, `startswith oneof`...).
        op: String,
        /// The right side.
        right: Operand,
        /// Where the check starts.
        pos: Pos,
    },
}

/// A condition syntax error, with Falco's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Where the parser stopped.
    pub pos: Pos,
    /// Falco's message.
    pub message: String,
}

const MAX_DEPTH: usize = 1000;
const STR_OPS: &[&str] = &[
    "==",
    "=",
    "!=",
    "glob ",
    "iglob ",
    "contains ",
    "icontains ",
    "bcontains ",
    "startswith ",
    "bstartswith ",
    "endswith ",
    "regex ",
];
const NUM_OPS: &[&str] = &["<=", "<", ">=", ">"];
const LIST_OPS: &[&str] = &["intersects", "in", "pmatch"];
const MODIFIERS: &[&str] = &["oneof ", "anyof ", "allof "];
const TRANSFORMERS: &[&str] = &[
    "tolower(",
    "toupper(",
    "b64(",
    "basename(",
    "len(",
    "join(",
    "concat(",
    "getopt(",
];

/// Every comparison operator a condition accepts.
pub fn supported_operators() -> Vec<&'static str> {
    let mut v = vec!["exists"];
    v.extend(NUM_OPS);
    v.extend(STR_OPS.iter().map(|s| s.trim()));
    v.extend(LIST_OPS);
    v
}

/// True for operators that take a list (`in`, `pmatch`, `intersects`, and
/// string operators with a modifier such as `startswith oneof`).
pub fn is_list_operator(op: &str) -> bool {
    LIST_OPS.contains(&op) || is_modifier_operator(op)
}

/// True for `<string operator> <oneof|anyof|allof>`.
pub fn is_modifier_operator(op: &str) -> bool {
    let mut it = op.split_whitespace();
    match (it.next(), it.next(), it.next()) {
        (Some(a), Some(b), None) => {
            STR_OPS.iter().any(|s| s.trim() == a && s.ends_with(' '))
                && MODIFIERS.iter().any(|m| m.trim() == b)
        }
        _ => false,
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: Pos,
    last: String,
    depth: usize,
}

type PResult<T> = Result<T, String>;

impl<'a> Parser<'a> {
    fn cur(&self) -> u8 {
        self.s.get(self.pos.idx).copied().unwrap_or(0)
    }
    fn rest(&self) -> &'a [u8] {
        &self.s[self.pos.idx.min(self.s.len())..]
    }
    fn advance(&mut self, n: usize) {
        for _ in 0..n {
            let c = self.cur();
            self.pos.col += 1;
            if c == b'\r' || c == b'\n' {
                self.pos.col = 1;
                self.pos.line += 1;
            }
            self.pos.idx += 1;
        }
    }
    fn take(&mut self, n: usize) -> bool {
        if n == 0 {
            return false;
        }
        let end = (self.pos.idx + n).min(self.s.len());
        self.last = String::from_utf8_lossy(&self.s[self.pos.idx..end]).into_owned();
        self.advance(n);
        true
    }
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err(format!("exceeded max depth limit of {MAX_DEPTH}"));
        }
        Ok(())
    }
    fn blank(&mut self) -> bool {
        let mut found = false;
        while matches!(self.cur(), b' ' | b'\t' | 0x08 | b'\r' | b'\n') {
            found = true;
            self.advance(1);
        }
        found
    }
    fn lit(&mut self, w: &str) -> bool {
        if self.rest().starts_with(w.as_bytes()) {
            self.take(w.len())
        } else {
            false
        }
    }
    fn ident_len(r: &[u8]) -> usize {
        if !r.first().is_some_and(|b| b.is_ascii_alphabetic()) {
            return 0;
        }
        r.iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .unwrap_or(r.len())
    }
    fn identifier(&mut self) -> bool {
        let n = Self::ident_len(self.rest());
        self.take(n)
    }
    fn field_name(&mut self) -> bool {
        let r = self.rest();
        let mut n = Self::ident_len(r);
        if n == 0 {
            return false;
        }
        let mut segs = 0;
        while r.get(n) == Some(&b'.') {
            let m = Self::ident_len(&r[n + 1..]);
            if m == 0 {
                break;
            }
            n += 1 + m;
            segs += 1;
        }
        segs > 0 && self.take(n)
    }
    fn run(&mut self, ok: impl Fn(u8) -> bool) -> bool {
        let n = self
            .rest()
            .iter()
            .position(|b| !ok(*b))
            .unwrap_or(self.rest().len());
        self.take(n)
    }
    fn bare_str(&mut self) -> bool {
        self.run(|b| {
            !matches!(b, b'(' | b')' | b'"' | b'\'' | b'=' | b',') && !is_space(b) && b != 0
        })
    }
    fn hex_num(&mut self) -> bool {
        let r = self.rest();
        if r.len() > 2 && r[0] == b'0' && (r[1] == b'x' || r[1] == b'X') {
            let m = r[2..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
            if m > 0 {
                return self.take(2 + m);
            }
        }
        false
    }
    fn num(&mut self) -> bool {
        let r = self.rest();
        let mut i = 0;
        if matches!(r.first(), Some(b'+' | b'-')) {
            i += 1;
        }
        let d = r[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if d == 0 {
            return false;
        }
        i += d;
        if r.get(i) == Some(&b'.') {
            i += 1;
        }
        i += r[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if matches!(r.get(i), Some(b'e' | b'E'))
            && matches!(r.get(i + 1), Some(b'+' | b'-'))
            && r.get(i + 2).is_some_and(|b| b.is_ascii_digit())
        {
            i += 2;
            i += r[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        }
        self.take(i)
    }
    fn quoted(&mut self) -> PResult<bool> {
        let d = self.cur();
        if d != b'\'' && d != b'"' {
            return Ok(false);
        }
        let r = self.rest();
        let mut prev = b'\\';
        for (i, &c) in r.iter().enumerate() {
            if c == d && prev != b'\\' {
                let v = unescape(&r[..=i])?;
                self.advance(i + 1);
                self.last = v;
                return Ok(true);
            }
            prev = c;
        }
        Ok(false)
    }
    fn op_list(&mut self, list: &[&str]) -> bool {
        for op in list {
            if let Some(t) = op.strip_suffix(' ') {
                let saved = (self.pos, self.last.clone());
                if self.lit(t) {
                    if self.blank() {
                        return true;
                    }
                    (self.pos, self.last) = saved;
                }
            } else if self.lit(op) {
                return true;
            }
        }
        false
    }
    fn transformer(&mut self) -> bool {
        TRANSFORMERS.iter().any(|t| self.lit(t))
    }

    fn parse_or(&mut self) -> PResult<Expr> {
        self.enter()?;
        self.blank();
        let mut children = vec![self.parse_and()?];
        self.blank();
        while self.lit("or") {
            let child = if !self.blank() {
                if self.lit("(") {
                    self.embedded()?
                } else {
                    return Err("expected blank or '(' after 'or'".into());
                }
            } else {
                self.parse_and()?
            };
            children.push(child);
            self.blank();
        }
        self.depth -= 1;
        Ok(if children.len() > 1 {
            Expr::Or(children)
        } else {
            children.remove(0)
        })
    }
    fn parse_and(&mut self) -> PResult<Expr> {
        self.enter()?;
        self.blank();
        let mut children = vec![self.parse_not()?];
        self.blank();
        while self.lit("and") {
            let child = if !self.blank() {
                if self.lit("(") {
                    self.embedded()?
                } else {
                    return Err("expected blank or '(' after 'and'".into());
                }
            } else {
                self.parse_not()?
            };
            children.push(child);
            self.blank();
        }
        self.depth -= 1;
        Ok(if children.len() > 1 {
            Expr::And(children)
        } else {
            children.remove(0)
        })
    }
    fn parse_not(&mut self) -> PResult<Expr> {
        self.enter()?;
        self.blank();
        let mut neg = false;
        loop {
            let r = self.rest();
            if r.starts_with(b"not") && r.get(3).is_some_and(|b| is_space(*b)) {
                let n = 3 + r[3..].iter().take_while(|b| is_space(**b)).count();
                self.take(n);
                neg = !neg;
            } else {
                break;
            }
        }
        let child = if self.lit("not(") {
            neg = !neg;
            self.embedded()?
        } else {
            self.parse_check()?
        };
        self.depth -= 1;
        Ok(if neg {
            Expr::Not(Box::new(child))
        } else {
            child
        })
    }
    fn embedded(&mut self) -> PResult<Expr> {
        self.enter()?;
        self.blank();
        let e = self.parse_or()?;
        self.blank();
        if !self.lit(")") {
            return Err("expected a ')' token".into());
        }
        self.depth -= 1;
        Ok(e)
    }
    fn parse_check(&mut self) -> PResult<Expr> {
        self.enter()?;
        let pos = self.pos;
        self.blank();
        if self.lit("(") {
            let e = self.embedded()?;
            self.depth -= 1;
            return Ok(e);
        }
        let e = if self.field_name() {
            let left = self.field_rest(pos)?;
            self.condition(left, pos)?
        } else if self.transformer() {
            self.blank();
            let name = self.last.trim_end_matches('(').to_string();
            let left = self.transformer_rest(name)?;
            self.condition(left, pos)?
        } else if self.identifier() {
            Expr::Ident(self.last.clone(), pos)
        } else {
            return Err("expected a '(' token, a field check, or an identifier".into());
        };
        self.depth -= 1;
        Ok(e)
    }
    fn field_rest(&mut self, pos: Pos) -> PResult<Operand> {
        let name = self.last.clone();
        let arg = self.field_arg()?;
        Ok(Operand::Field { name, arg, pos })
    }
    fn field_arg(&mut self) -> PResult<Option<String>> {
        if !self.lit("[") {
            return Ok(None);
        }
        if !self.quoted()?
            && !self.run(|b| !matches!(b, b'[' | b']' | b'"' | b'\'') && !is_space(b) && b != 0)
        {
            return Err("expected a valid field argument: a quoted string or a bare string".into());
        }
        let arg = self.last.clone();
        if !self.lit("]") {
            return Err("expected a ']' token".into());
        }
        Ok(Some(arg))
    }
    fn transformer_rest(&mut self, name: String) -> PResult<Operand> {
        self.enter()?;
        self.blank();
        let mut args = Vec::new();
        loop {
            args.push(self.transformer_arg()?);
            self.blank();
            if !self.lit(",") {
                break;
            }
        }
        self.blank();
        if !self.lit(")") {
            return Err("expected a ')' token closing the transformer".into());
        }
        let _ = self.field_arg()?;
        self.depth -= 1;
        Ok(Operand::Transformer { name, args })
    }
    fn transformer_arg(&mut self) -> PResult<Operand> {
        self.blank();
        let pos = self.pos;
        if self.hex_num() || self.num() || self.quoted()? {
            return Ok(Operand::Value(self.last.clone()));
        }
        if self.lit("(") {
            let mut vals = Vec::new();
            self.blank();
            if !self.lit(")") {
                loop {
                    self.blank();
                    if self.quoted()? || self.hex_num() || self.num() || self.field_name() {
                        vals.push(self.last.clone());
                    } else {
                        return Err("expected transformer list argument: field, transformer, quoted string, or number".into());
                    }
                    self.blank();
                    if !self.lit(",") {
                        break;
                    }
                }
                if !self.lit(")") {
                    return Err("expected ')'".into());
                }
            }
            return Ok(Operand::List(vals));
        }
        if self.transformer() {
            let name = self.last.trim_end_matches('(').to_string();
            return self.transformer_rest(name);
        }
        if self.field_name() {
            return self.field_rest(pos);
        }
        Err("expected field transformer argument: field, transformer, quoted string, number, or transformer list".into())
    }
    fn transformers_list() -> String {
        let mut v = vec!["'val'".to_string()];
        v.extend(
            TRANSFORMERS
                .iter()
                .map(|t| format!("'{}'", t.trim_end_matches('('))),
        );
        v.join(", ")
    }
    fn condition(&mut self, left: Operand, pos: Pos) -> PResult<Expr> {
        self.enter()?;
        self.blank();
        if self.op_list(&["exists"]) {
            self.depth -= 1;
            return Ok(Expr::Unary {
                left,
                op: "exists".into(),
                pos,
            });
        }
        self.blank();
        let (op, right);
        if self.op_list(NUM_OPS) {
            op = self.last.clone();
            right = self.num_value()?;
        } else if self.op_list(STR_OPS) {
            let mut o = self.last.trim().to_string();
            let had_blank = o.as_bytes()[0].is_ascii_alphabetic() || self.blank();
            let saved = (self.pos, self.last.clone());
            let rest_ok = had_blank && self.op_list(MODIFIERS) && {
                let m = self.last.trim().to_string();
                let follows = self.cur() == b'(' || Self::ident_len(self.rest()) > 0;
                let r = self.rest();
                let kw = ["and", "or", "not"].iter().any(|k| {
                    r.starts_with(k.as_bytes())
                        && !r.get(k.len()).is_some_and(|b| b.is_ascii_alphanumeric())
                });
                if follows && !kw {
                    o = format!("{o} {m}");
                    true
                } else {
                    false
                }
            };
            if rest_ok {
                right = self.list_value(false)?;
            } else {
                (self.pos, self.last) = saved;
                right = self.str_value(false)?;
            }
            op = o;
        } else if self.op_list(LIST_OPS) {
            op = self.last.clone();
            right = self.list_value(true)?;
        } else {
            let ops: Vec<String> = supported_operators()
                .iter()
                .map(|o| format!("'{o}'"))
                .collect();
            return Err(format!(
                "expected a valid check operator: one of {}",
                ops.join(", ")
            ));
        }
        self.depth -= 1;
        Ok(Expr::Binary {
            left,
            op: op.trim().to_string(),
            right,
            pos,
        })
    }
    fn try_transformer_or_val(&mut self) -> PResult<Option<Operand>> {
        self.blank();
        if self.lit("val(") {
            self.blank();
            let fpos = self.pos;
            if !self.field_name() {
                return Err("expected a field within 'val' transformer".into());
            }
            let f = self.field_rest(fpos)?;
            self.blank();
            if !self.lit(")") {
                return Err("expected a ')' token closing the transformer".into());
            }
            let _ = self.field_arg()?;
            return Ok(Some(Operand::Transformer {
                name: "val".into(),
                args: vec![f],
            }));
        }
        if self.transformer() {
            self.blank();
            let name = self.last.trim_end_matches('(').to_string();
            return Ok(Some(self.transformer_rest(name)?));
        }
        Ok(None)
    }
    fn num_value(&mut self) -> PResult<Operand> {
        self.blank();
        if let Some(t) = self.try_transformer_or_val()? {
            return Ok(t);
        }
        if self.hex_num() || self.num() {
            return Ok(Operand::Value(self.last.clone()));
        }
        Err(format!(
            "expected a number value or a field with a valid transformer: {}",
            Self::transformers_list()
        ))
    }
    fn str_value(&mut self, no_transformer: bool) -> PResult<Operand> {
        self.blank();
        if !no_transformer && let Some(t) = self.try_transformer_or_val()? {
            return Ok(t);
        }
        if self.quoted()? || self.bare_str() {
            return Ok(Operand::Value(self.last.clone()));
        }
        if no_transformer {
            return Err("expected a string value".into());
        }
        Err(format!(
            "expected a string value or a field with a valid transformer: {}",
            Self::transformers_list()
        ))
    }
    fn list_value(&mut self, transformers: bool) -> PResult<Operand> {
        self.blank();
        if self.lit("(") {
            let mut values = Vec::new();
            self.blank();
            if let Ok(Operand::Value(v)) = self.str_value(true) {
                values.push(v);
                self.blank();
                while self.lit(",") {
                    match self.str_value(true)? {
                        Operand::Value(v) => values.push(v),
                        _ => {
                            return Err(
                                "parser fatal error: null value expr in body of list".into()
                            );
                        }
                    }
                    self.blank();
                }
            }
            if !self.lit(")") {
                return Err("expected a ')' token".into());
            }
            return Ok(Operand::List(values));
        }
        if transformers && let Some(t) = self.try_transformer_or_val()? {
            return Ok(t);
        }
        if self.identifier() {
            return Ok(Operand::Value(self.last.clone()));
        }
        if transformers {
            Err(format!(
                "expected a list, an identifier, or a field with a valid transformer: {}",
                Self::transformers_list()
            ))
        } else {
            Err("expected a list or an identifier".into())
        }
    }
}

fn unescape(raw: &[u8]) -> PResult<String> {
    let q = raw[0];
    let inner = &raw[1..raw.len().saturating_sub(1).max(1)];
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let Some(&e) = inner.get(i) else { break };
        match e {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b' ' | b'\\' => out.push(b'\\'),
            b'/' => out.push(b'/'),
            b'"' | b'\'' => {
                if e != q {
                    return Err(if e == b'"' {
                        "invalid \\\" escape in '-quoted string".into()
                    } else {
                        "invalid \\' escape in \"-quoted string".into()
                    });
                }
                out.push(e);
            }
            b'x' => {
                let h = inner
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match h.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) if i + 2 < inner.len() + 1 => {
                        out.push(v);
                        i += 2;
                    }
                    _ => return Err("truncated hex char escape sequence".into()),
                }
            }
            other => {
                return Err(format!(
                    "unsupported string escape sequence: \\{}",
                    other as char
                ));
            }
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Parses a condition with Falco's grammar and messages.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        pos: Pos {
            idx: 0,
            line: 1,
            col: 1,
        },
        last: String::new(),
        depth: 0,
    };
    if text.is_empty() {
        return Err(ParseError {
            pos: p.pos,
            message: "filter input string is empty".into(),
        });
    }
    let r = p.parse_or();
    let _ = p.text;
    match r {
        Err(message) => Err(ParseError {
            pos: p.pos,
            message,
        }),
        Ok(_) if p.pos.idx < text.len() => Err(ParseError {
            pos: p.pos,
            message: format!("unexpected token after '{}', expecting 'or', 'and'", p.last),
        }),
        Ok(e) => Ok(e),
    }
}

/// Outcome of resolving macros in one expression.
#[derive(Debug, Default)]
pub struct MacroResolution {
    /// Loop errors: message and position of the reference.
    pub errors: Vec<(String, Pos)>,
    /// Identifiers that are not defined macros.
    pub unknown: Vec<(String, Pos)>,
    /// Macros that were expanded.
    pub resolved: Vec<String>,
}

/// Replaces macro references in `expr` by the macros' conditions
/// (recursively), detecting reference loops.
pub fn resolve_macros<'m>(
    expr: &mut Expr,
    macros: &dyn Fn(&str) -> Option<&'m Expr>,
) -> MacroResolution {
    let mut res = MacroResolution::default();
    let mut path = Vec::new();
    resolve_in(expr, macros, &mut path, &mut res, 0);
    res
}

fn resolve_in<'m>(
    e: &mut Expr,
    macros: &dyn Fn(&str) -> Option<&'m Expr>,
    path: &mut Vec<String>,
    res: &mut MacroResolution,
    depth: usize,
) {
    match e {
        Expr::And(c) | Expr::Or(c) => {
            for x in c {
                resolve_in(x, macros, path, res, depth);
            }
        }
        Expr::Not(x) => resolve_in(x, macros, path, res, depth),
        Expr::Ident(name, pos) => {
            let (name, pos) = (name.clone(), *pos);
            match macros(&name) {
                Some(body) if depth < MAX_DEPTH => {
                    if path.contains(&name) {
                        res.errors
                            .push((format!("reference loop in macro '{name}'"), pos));
                        res.unknown.push((name, pos));
                        return;
                    }
                    path.push(name.clone());
                    let mut new = body.clone();
                    resolve_in(&mut new, macros, path, res, depth + 1);
                    *e = new;
                    res.resolved.push(name);
                    path.pop();
                }
                _ => res.unknown.push((name, pos)),
            }
        }
        Expr::Unary { .. } | Expr::Binary { .. } => {}
    }
}

/// A semantic problem found by [`check`]: message and position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError {
    /// Falco's message.
    pub message: String,
    /// Position of the offending check.
    pub pos: Pos,
}

fn field_text(name: &str, arg: &Option<String>) -> String {
    match arg {
        Some(a) => format!("{name}[{a}]"),
        None => name.to_string(),
    }
}

fn check_operand(
    o: &Operand,
    pos: Pos,
    known_field: &dyn Fn(&str) -> bool,
) -> Result<(), CheckError> {
    match o {
        Operand::Field { name, arg, .. } => {
            if !known_field(&field_text(name, arg)) {
                return Err(CheckError {
                    message: format!("filter_check called with nonexistent field {name}"),
                    pos,
                });
            }
            Ok(())
        }
        Operand::Transformer { args, .. } => {
            for a in args {
                check_operand(a, pos, known_field)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Checks every field against `known_field` and every `evt.type` value
/// against `known_event`, in condition order; returns the first problem
/// with Falco's message.
pub fn check(
    e: &Expr,
    known_field: &dyn Fn(&str) -> bool,
    known_event: &dyn Fn(&str) -> bool,
) -> Result<(), CheckError> {
    match e {
        Expr::And(c) | Expr::Or(c) => c
            .iter()
            .try_for_each(|x| check(x, known_field, known_event)),
        Expr::Not(x) => check(x, known_field, known_event),
        Expr::Ident(name, pos) => Err(CheckError {
            message: format!("Undefined macro '{name}' used in filter."),
            pos: *pos,
        }),
        Expr::Unary { left, pos, .. } => check_operand(left, *pos, known_field),
        Expr::Binary {
            left,
            op,
            right,
            pos,
        } => {
            check_operand(left, *pos, known_field)?;
            check_operand(right, *pos, known_field)?;
            if let Operand::Field {
                name, arg: None, ..
            } = left
                && name == "evt.type"
                && matches!(op.as_str(), "=" | "==" | "!=" | "in")
            {
                let values: Vec<&String> = match right {
                    Operand::Value(v) => vec![v],
                    Operand::List(v) => v.iter().collect(),
                    _ => vec![],
                };
                for v in values {
                    if !known_event(v) {
                        return Err(CheckError {
                            message: format!("unknown event type {v}"),
                            pos: *pos,
                        });
                    }
                }
            }
            Ok(())
        }
    }
}

/// The event types a condition can match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventTypes {
    /// Every event type.
    All,
    /// Only these.
    Names(BTreeSet<String>),
}

/// Infers the event types `e` can match, given every known event-type
/// name (`universe`): `evt.type` checks restrict, `and` intersects, `or`
/// unites, negations are pushed down to the checks.
pub fn event_types(e: &Expr, universe: &BTreeSet<String>) -> EventTypes {
    let (set, _) = evt(e, false, universe);
    if set.len() >= universe.len() && universe.iter().all(|n| set.contains(n)) {
        EventTypes::All
    } else {
        EventTypes::Names(set)
    }
}

fn evt(e: &Expr, neg: bool, all: &BTreeSet<String>) -> (BTreeSet<String>, bool) {
    match e {
        Expr::And(c) | Expr::Or(c) => {
            let conj = matches!(e, Expr::And(_)) != neg;
            let mut acc: Option<BTreeSet<String>> = None;
            let mut any = false;
            for x in c {
                let (s, has) = evt(x, neg, all);
                any |= has;
                acc = Some(match acc {
                    None => s,
                    Some(a) if conj => a.intersection(&s).cloned().collect(),
                    Some(a) => a.union(&s).cloned().collect(),
                });
            }
            (acc.unwrap_or_else(|| all.clone()), any)
        }
        Expr::Not(x) => evt(x, !neg, all),
        Expr::Binary {
            left: Operand::Field {
                name, arg: None, ..
            },
            op,
            right,
            ..
        } if name == "evt.type" && matches!(op.as_str(), "=" | "==" | "!=" | "in") => {
            let vals: BTreeSet<String> = match right {
                Operand::Value(v) => [v.clone()].into(),
                Operand::List(v) => v.iter().cloned().collect(),
                _ => return (all.clone(), false),
            };
            let invert = (op == "!=") != neg;
            if invert {
                (all.difference(&vals).cloned().collect(), true)
            } else {
                (vals, true)
            }
        }
        _ => (all.clone(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_garbage() {
        let e = parse("evt.type=execve foo").unwrap_err();
        assert_eq!(
            e.message,
            "unexpected token after 'execve', expecting 'or', 'and'"
        );
    }

    #[test]
    fn shapes() {
        let e = parse("not (evt.type in (open, 'a b') and proc.name startswith oneof (x)) or m")
            .unwrap();
        assert!(matches!(e, Expr::Or(_)));
        assert!(parse("proc.aname[2]=bash and fd.name exists").is_ok());
        assert!(parse("tolower(proc.name) = val(proc.pname)").is_ok());
        assert!(parse("val(proc.name) = x").is_err());
        assert!(parse("evt.type in (").is_err());
        assert!(parse("a and").is_err());
    }

    #[test]
    fn evttypes() {
        let all: BTreeSet<String> = ["open", "execve", "connect", "close"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let t = |s: &str| event_types(&parse(s).unwrap(), &all);
        assert_eq!(
            t("evt.type=execve and evt.type!=open"),
            EventTypes::Names(["execve".to_string()].into())
        );
        assert_eq!(t("proc.name=cat"), EventTypes::All);
        assert!(matches!(t("not evt.type=open"), EventTypes::Names(s) if s.len() == 3));
    }
}

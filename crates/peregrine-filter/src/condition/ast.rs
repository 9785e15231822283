//! The syntax tree of a Falco condition.
//!
//! Every node carries a [`Span`]: byte offsets into the condition text it was
//! parsed from. Nodes created by macro or list expansion keep the span they
//! had in the text they came from (a macro body's spans point into the macro's
//! own condition).
//!
//! [`Display`](fmt::Display) prints a canonical condition: `and`/`or` groups
//! are parenthesised, operators are surrounded by single spaces, bare values
//! stay bare and quoted values are printed double-quoted with escapes. The
//! printed text parses back to an equal tree (spans aside, see
//! [`Expr::without_spans`]).

use std::fmt;

/// A half-open byte range `start..end` into the condition text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// Line and column (both 1-based) of the span's start in `text`.
    pub fn line_col(&self, text: &str) -> (u32, u32) {
        line_col(text, self.start)
    }
}

/// Line and column, both 1-based, of byte `offset` in `text`, counted the way
/// Falco's parser counts them: every byte advances the column, and both `\r`
/// and `\n` start a new line (so `\r\n` counts as two line breaks).
/// Offsets past the end are clamped to the end of the text.
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let mut line: u32 = 1;
    let mut col: u32 = 1;
    for &b in text.as_bytes().iter().take(offset) {
        if b == b'\r' || b == b'\n' {
            line = line.saturating_add(1);
            col = 1;
        } else {
            col = col.saturating_add(1);
        }
    }
    (line, col)
}

/// A boolean expression: the whole condition or a part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    /// Where the expression is in the text.
    pub span: Span,
    /// What the expression is.
    pub kind: ExprKind,
}

/// The kinds of boolean expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    /// `a and b and ...` (two or more children).
    And(Vec<Expr>),
    /// `a or b or ...` (two or more children).
    Or(Vec<Expr>),
    /// `not a`.
    Not(Box<Expr>),
    /// A bare identifier without a dot: a macro reference (`spawned_process`).
    Macro(String),
    /// `lhs exists`.
    Unary {
        /// The checked field or transformer.
        lhs: Operand,
        /// The operator.
        op: UnaryOp,
    },
    /// `lhs op rhs`.
    Binary {
        /// The checked field or transformer.
        lhs: Operand,
        /// The operator, with its optional `oneof`/`anyof`/`allof` modifier.
        op: BinaryOp,
        /// The right-hand side.
        rhs: Rhs,
    },
}

/// Unary check operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `exists`.
    Exists,
}

impl UnaryOp {
    /// The operator as written in conditions.
    pub fn as_str(self) -> &'static str {
        match self {
            UnaryOp::Exists => "exists",
        }
    }
}

/// Binary comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=` (also written `==`; `==` is kept apart for printing).
    Eq,
    /// `==`.
    EqEq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `contains`.
    Contains,
    /// `icontains`.
    IContains,
    /// `bcontains`.
    BContains,
    /// `startswith`.
    StartsWith,
    /// `bstartswith`.
    BStartsWith,
    /// `endswith`.
    EndsWith,
    /// `glob`.
    Glob,
    /// `iglob`.
    IGlob,
    /// `regex`.
    Regex,
    /// `in`.
    In,
    /// `intersects`.
    Intersects,
    /// `pmatch`.
    PMatch,
}

impl CmpOp {
    /// The operator as written in conditions.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::EqEq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Contains => "contains",
            CmpOp::IContains => "icontains",
            CmpOp::BContains => "bcontains",
            CmpOp::StartsWith => "startswith",
            CmpOp::BStartsWith => "bstartswith",
            CmpOp::EndsWith => "endswith",
            CmpOp::Glob => "glob",
            CmpOp::IGlob => "iglob",
            CmpOp::Regex => "regex",
            CmpOp::In => "in",
            CmpOp::Intersects => "intersects",
            CmpOp::PMatch => "pmatch",
        }
    }

    /// True for `in`, `intersects` and `pmatch`, whose right side is a list.
    pub fn is_list_op(self) -> bool {
        matches!(self, CmpOp::In | CmpOp::Intersects | CmpOp::PMatch)
    }

    /// True for `=`/`==`.
    pub fn is_eq(self) -> bool {
        matches!(self, CmpOp::Eq | CmpOp::EqEq)
    }
}

/// `oneof`/`anyof`/`allof`: turns a string operator into one applied to each
/// element of a list (`proc.name startswith oneof (a, b)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modifier {
    /// `oneof`.
    OneOf,
    /// `anyof`.
    AnyOf,
    /// `allof`.
    AllOf,
}

impl Modifier {
    /// The modifier as written in conditions.
    pub fn as_str(self) -> &'static str {
        match self {
            Modifier::OneOf => "oneof",
            Modifier::AnyOf => "anyof",
            Modifier::AllOf => "allof",
        }
    }
}

/// A binary operator: a comparison plus an optional list modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BinaryOp {
    /// The comparison.
    pub cmp: CmpOp,
    /// `oneof`/`anyof`/`allof`, only after string operators.
    pub modifier: Option<Modifier>,
}

impl BinaryOp {
    /// True when the right side is a list: list operators and modified ones.
    pub fn takes_list(self) -> bool {
        self.cmp.is_list_op() || self.modifier.is_some()
    }
}

impl fmt::Display for BinaryOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cmp.as_str())?;
        if let Some(m) = self.modifier {
            write!(f, " {}", m.as_str())?;
        }
        Ok(())
    }
}

/// A field reference: `proc.name`, `proc.aname[2]`, `proc.env[HOME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRef {
    /// The field name, e.g. `proc.aname`.
    pub name: String,
    /// The argument in brackets, unescaped if it was quoted.
    pub arg: Option<String>,
    /// Where the field (with its argument) is in the text.
    pub span: Span,
}

/// Field transformers (and `val`, which marks a field on the right side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransformerKind {
    /// `val(field)`: the value of another field (right side only).
    Val,
    /// `tolower`.
    ToLower,
    /// `toupper`.
    ToUpper,
    /// `b64` (base64 decode).
    B64,
    /// `basename`.
    Basename,
    /// `len`.
    Len,
    /// `join`.
    Join,
    /// `concat`.
    Concat,
    /// `getopt`.
    Getopt,
}

impl TransformerKind {
    /// The transformer's name as written in conditions.
    pub fn as_str(self) -> &'static str {
        match self {
            TransformerKind::Val => "val",
            TransformerKind::ToLower => "tolower",
            TransformerKind::ToUpper => "toupper",
            TransformerKind::B64 => "b64",
            TransformerKind::Basename => "basename",
            TransformerKind::Len => "len",
            TransformerKind::Join => "join",
            TransformerKind::Concat => "concat",
            TransformerKind::Getopt => "getopt",
        }
    }

    /// The transformers usable on either side (everything but `val`).
    pub const ALL: [TransformerKind; 8] = [
        TransformerKind::ToLower,
        TransformerKind::ToUpper,
        TransformerKind::B64,
        TransformerKind::Basename,
        TransformerKind::Len,
        TransformerKind::Join,
        TransformerKind::Concat,
        TransformerKind::Getopt,
    ];
}

/// A transformer application: `tolower(proc.name)`, `val(proc.pname)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transformer {
    /// Which transformer.
    pub kind: TransformerKind,
    /// The arguments (one field for `val`; at least one for the others).
    pub args: Vec<TransformerArg>,
    /// An optional `[arg]` after the closing parenthesis.
    pub arg: Option<String>,
    /// Where the transformer application is in the text.
    pub span: Span,
}

/// An argument of a transformer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransformerArg {
    /// A field or a nested transformer.
    Operand(Operand),
    /// A quoted string or a number.
    Value(Value),
    /// A parenthesised list of fields, transformers, quoted strings and
    /// numbers (no nested lists).
    List(Vec<TransformerArg>, Span),
}

/// The left side of a check, or a field-valued right side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// A plain field.
    Field(FieldRef),
    /// A transformer applied to fields (or `val(field)` on the right side).
    Transformer(Box<Transformer>),
}

impl Operand {
    /// Where the operand is in the text.
    pub fn span(&self) -> Span {
        match self {
            Operand::Field(f) => f.span,
            Operand::Transformer(t) => t.span,
        }
    }

    /// The field if the operand is a plain field.
    pub fn as_field(&self) -> Option<&FieldRef> {
        match self {
            Operand::Field(f) => Some(f),
            Operand::Transformer(_) => None,
        }
    }
}

/// A literal value: a bare string, a quoted string (unescaped) or a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The value's text, unescaped.
    pub text: String,
    /// Whether it was written in quotes. An unquoted item of a list that
    /// names a list is a list reference.
    pub quoted: bool,
    /// Where the value is in the text.
    pub span: Span,
}

impl Value {
    /// An unquoted value is a list reference candidate if it is
    /// identifier-shaped (`[a-zA-Z][a-zA-Z0-9_]*`).
    pub fn is_identifier(&self) -> bool {
        !self.quoted && is_identifier(&self.text)
    }
}

/// True if `s` matches Falco's identifier shape `[a-zA-Z]+[a-zA-Z0-9_]*`.
pub fn is_identifier(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// The right side of a binary check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rhs {
    /// A single value (for list operators: a bare identifier).
    Value(Value),
    /// A parenthesised list of values: `(a, "b c", list_name)`.
    List(Vec<Value>, Span),
    /// A field on the right side: `val(proc.pname)` or a transformer.
    Operand(Operand),
}

impl Rhs {
    /// Where the right side is in the text.
    pub fn span(&self) -> Span {
        match self {
            Rhs::Value(v) => v.span,
            Rhs::List(_, s) => *s,
            Rhs::Operand(o) => o.span(),
        }
    }
}

impl Expr {
    /// A new expression.
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { span, kind }
    }

    /// A copy with every span set to `0..0` and the `quoted` flag cleared on
    /// values that are not identifier-shaped (it only matters for list
    /// references), to compare trees by shape.
    pub fn without_spans(&self) -> Expr {
        let mut e = self.clone();
        zero_expr(&mut e);
        e
    }
}

fn zero_expr(e: &mut Expr) {
    e.span = Span::default();
    match &mut e.kind {
        ExprKind::And(c) | ExprKind::Or(c) => c.iter_mut().for_each(zero_expr),
        ExprKind::Not(c) => zero_expr(c),
        ExprKind::Macro(_) => {}
        ExprKind::Unary { lhs, .. } => zero_operand(lhs),
        ExprKind::Binary { lhs, rhs, .. } => {
            zero_operand(lhs);
            match rhs {
                Rhs::Value(v) => zero_value(v),
                Rhs::List(items, s) => {
                    *s = Span::default();
                    items.iter_mut().for_each(zero_value);
                }
                Rhs::Operand(o) => zero_operand(o),
            }
        }
    }
}

fn zero_value(v: &mut Value) {
    v.span = Span::default();
    if !is_identifier(&v.text) {
        v.quoted = false;
    }
}

fn zero_operand(o: &mut Operand) {
    match o {
        Operand::Field(f) => f.span = Span::default(),
        Operand::Transformer(t) => {
            t.span = Span::default();
            t.args.iter_mut().for_each(zero_targ);
        }
    }
}

fn zero_targ(a: &mut TransformerArg) {
    match a {
        TransformerArg::Operand(o) => zero_operand(o),
        TransformerArg::Value(v) => zero_value(v),
        TransformerArg::List(items, s) => {
            *s = Span::default();
            items.iter_mut().for_each(zero_targ);
        }
    }
}

// ---- printing ----

/// Writes `s` double-quoted with the escapes Falco's parser understands.
pub(crate) fn write_quoted(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => f.write_str("\\\"")?,
            // libsinsp's lexer takes a quote after any backslash as escaped,
            // so a final backslash cannot be written as `\\`.
            '\\' if chars.peek().is_none() => f.write_str("\\x5c")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            c if (c as u32) < 0x20 || c == '\u{7f}' => write!(f, "\\x{:02x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// True if `s` starts with a modifier word and a blank (only backspace can
/// be in a bare string).
fn modifier_prefixed(s: &str) -> bool {
    ["oneof", "anyof", "allof"]
        .iter()
        .any(|m| s.starts_with(m) && s.as_bytes().get(m.len()) == Some(&0x08))
}

/// True if `s` can be printed as a field argument without quotes.
fn is_bare_field_arg(s: &str) -> bool {
    !s.is_empty()
        && !s.bytes().any(|b| {
            matches!(b, b'[' | b']' | b'"' | b'\'') || crate::condition::parser::is_space(b)
        })
}

fn write_field_arg(f: &mut fmt::Formatter<'_>, arg: &Option<String>) -> fmt::Result {
    if let Some(a) = arg {
        f.write_str("[")?;
        if is_bare_field_arg(a) {
            f.write_str(a)?;
        } else {
            write_quoted(f, a)?;
        }
        f.write_str("]")?;
    }
    Ok(())
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.quoted || !crate::condition::parser::is_bare_str(&self.text) {
            write_quoted(f, &self.text)
        } else {
            f.write_str(&self.text)
        }
    }
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        write_field_arg(f, &self.arg)
    }
}

impl fmt::Display for TransformerArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransformerArg::Operand(o) => o.fmt(f),
            // Bare strings are not allowed here: always quote non-numbers.
            TransformerArg::Value(v) => {
                if !v.quoted && crate::condition::parser::is_number(&v.text) {
                    f.write_str(&v.text)
                } else {
                    write_quoted(f, &v.text)
                }
            }
            TransformerArg::List(items, _) => {
                f.write_str("(")?;
                for (i, a) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    a.fmt(f)?;
                }
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for Transformer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.kind.as_str())?;
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            a.fmt(f)?;
        }
        f.write_str(")")?;
        write_field_arg(f, &self.arg)
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Field(x) => x.fmt(f),
            Operand::Transformer(t) => t.fmt(f),
        }
    }
}

impl fmt::Display for Rhs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rhs::Value(v) => v.fmt(f),
            Rhs::List(items, _) => {
                f.write_str("(")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    v.fmt(f)?;
                }
                f.write_str(")")
            }
            Rhs::Operand(o) => o.fmt(f),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::And(c) | ExprKind::Or(c) => {
                let sep = if matches!(self.kind, ExprKind::And(_)) {
                    " and "
                } else {
                    " or "
                };
                f.write_str("(")?;
                for (i, e) in c.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    e.fmt(f)?;
                }
                f.write_str(")")
            }
            // `not not x` would parse as `x`: parenthesise a nested `not`.
            ExprKind::Not(c) if matches!(c.kind, ExprKind::Not(_)) => write!(f, "not ({c})"),
            ExprKind::Not(c) => write!(f, "not {c}"),
            // A macro named `not` followed by a blank would read as `not`.
            ExprKind::Macro(n) if n == "not" => f.write_str("(not)"),
            ExprKind::Macro(n) => f.write_str(n),
            ExprKind::Unary { lhs, op } => write!(f, "{lhs} {}", op.as_str()),
            ExprKind::Binary { lhs, op, rhs } => match rhs {
                // A bare value like "oneof\x08x" would read back as a
                // modifier: glue it to a symbol operator, or quote it.
                Rhs::Value(v)
                    if !v.quoted && op.modifier.is_none() && modifier_prefixed(&v.text) =>
                {
                    if op.cmp.as_str().as_bytes()[0].is_ascii_alphabetic() {
                        write!(f, "{lhs} {op} ")?;
                        write_quoted(f, &v.text)
                    } else {
                        write!(f, "{lhs} {op}{}", v.text)
                    }
                }
                _ => write!(f, "{lhs} {op} {rhs}"),
            },
        }
    }
}

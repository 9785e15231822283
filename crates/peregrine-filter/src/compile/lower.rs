//! AST → checked IR: field resolution, transformer and operator type rules,
//! conversion of the right-hand constants. Error messages are libsinsp's.

use super::cache::{FieldInterner, FxBuild};
use super::check::{ByteSet, Dom, Matcher, Net, PathTrie, Rel, Set, Test};
use super::ir::{Check, EvtTypeCheck, Node, Operand, RhsIr, Source, Ty};
use super::transform::Xf;
use crate::condition::{
    BinaryOp, CmpOp, Expr, ExprKind, Modifier, Operand as AstOperand, Rhs, Span, TransformerArg,
    TransformerKind, Value as AstValue,
};
use crate::field::{Field, FieldArg, FieldError};
use crate::registry::{FieldId, lookup};
use crate::value::FieldType;
use memchr::memmem;
use peregrine_event::{EVENT_COUNT, ParamType, codes_named, event_info};
use std::collections::HashSet;
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// A compile error before positions are turned into lines and columns.
pub(crate) struct Fail {
    pub(crate) message: String,
    pub(crate) span: Span,
    pub(crate) check: Span,
}

type R<T> = Result<T, Fail>;

/// An operand with what the type rules need to know about its field.
struct Lowered {
    ir: Operand,
    /// The field's name (`proc.name`, also for `proc.aname[2]`).
    name: &'static str,
    /// The field cannot take part in field-to-field comparisons.
    no_rhs: bool,
    /// The operand is a plain `evt.type`.
    is_evt_type: bool,
}

pub(crate) struct Lower<'i> {
    pub(crate) interner: &'i mut FieldInterner,
    /// Span of the check being compiled (Falco reports errors there).
    check: Span,
}

fn op_name(op: CmpOp) -> &'static str {
    match op {
        CmpOp::EqEq => "=",
        o => o.as_str(),
    }
}

/// libsinsp's upper-case operator names (`std::to_string(cmpop)`).
fn op_upper(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq | CmpOp::EqEq => "EQ",
        CmpOp::Ne => "NE",
        CmpOp::Lt => "LT",
        CmpOp::Le => "LE",
        CmpOp::Gt => "GT",
        CmpOp::Ge => "GE",
        CmpOp::Contains => "CONTAINS",
        CmpOp::IContains => "ICONTAINS",
        CmpOp::BContains => "BCONTAINS",
        CmpOp::StartsWith => "STARTSWITH",
        CmpOp::BStartsWith => "BSTARTSWITH",
        CmpOp::EndsWith => "ENDSWITH",
        CmpOp::Glob => "GLOB",
        CmpOp::IGlob => "IGLOB",
        CmpOp::Regex => "REGEX",
        CmpOp::In => "IN",
        CmpOp::Intersects => "INTERSECTS",
        CmpOp::PMatch => "PMATCH",
    }
}

/// libsinsp's `flt_is_comparable`: which operators each type takes.
pub(crate) fn comparable(op: CmpOp, modifier: Option<Modifier>, t: Ty) -> Result<(), String> {
    use CmpOp::*;
    use FieldType::*;
    let name = op_name(op);
    if t.list {
        return match t.base {
            Str | U64 | RelTime | AbsTime | Bool | Ip | IpNet => {
                if matches!(op, In | Intersects) {
                    Ok(())
                } else {
                    Err(format!("'{name}' operator not supported list filters"))
                }
            }
            b => Err(format!(
                "list filters are not supported for type '{}'",
                b.name()
            )),
        };
    }
    let rel = matches!(op, Eq | EqEq | Ne | Lt | Le | Gt | Ge);
    let (ok, what) = match t.base {
        U64 | I64 | Port | RelTime | AbsTime => (rel || matches!(op, In | Intersects), "numeric"),
        Bool => (matches!(op, Eq | EqEq | Ne | In | Intersects), "numeric"),
        Ip | IpNet => {
            let ok = matches!(op, Eq | EqEq | Ne | In | Intersects);
            if modifier.is_some() && !ok {
                return Err(format!(
                    "'{name}' with modifier not supported for ip address and network filters"
                ));
            }
            (ok, "ip address and network")
        }
        Str | Path => (!matches!(op, BContains | BStartsWith), "string"),
        Bytes => (
            matches!(
                op,
                Eq | EqEq
                    | Ne
                    | Contains
                    | In
                    | StartsWith
                    | EndsWith
                    | Intersects
                    | BContains
                    | BStartsWith
            ),
            "buffer",
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{name}' operator not supported for {what} filters"
        ))
    }
}

/// The type `evt.rawarg.NAME` compares with: that of the first event
/// parameter called NAME.
fn rawarg_type(arg: &FieldArg) -> FieldType {
    let FieldArg::Name(name) = arg else {
        return FieldType::Str;
    };
    for code in 0..EVENT_COUNT {
        let Some(info) = event_info(code as u16) else {
            continue;
        };
        if let Some(i) = info.param_index(name) {
            use ParamType::*;
            return match info.params[i].ptype {
                Int8 | Int16 | Int32 | Int64 | Errno | Fd | Pid => FieldType::I64,
                Charbuf | Fspath | Sockaddr | Socktuple | Fdlist => FieldType::Str,
                Bytebuf => FieldType::Bytes,
                Uint8 | Uint16 | Uint32 | Uint64 | Flags8 | Flags16 | Flags32 | Uid | Gid
                | SyscallId | Sigtype | Reltime | Abstime | Port | L4proto | Sockfamily => {
                    FieldType::U64
                }
                Bool => FieldType::Bool,
                Ipv4addr => FieldType::Ip,
                _ => FieldType::Str,
            };
        }
    }
    FieldType::Str
}

fn dom_of(t: FieldType) -> Option<Dom> {
    match t {
        FieldType::U64 | FieldType::RelTime | FieldType::AbsTime => Some(Dom::U64),
        FieldType::I64 => Some(Dom::I64),
        FieldType::Port => Some(Dom::U16),
        _ => None,
    }
}

/// `sscanf("%lu%c")`: optional blanks and sign, decimal digits, nothing
/// after. A minus sign wraps, overflow saturates (as `strtoull`).
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = digits.parse::<u64>().unwrap_or(u64::MAX);
    Some(if neg { v.wrapping_neg() } else { v })
}

/// `sscanf("%ld%c")`, saturating.
pub(crate) fn parse_i64(s: &str) -> Option<i64> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i128 = digits.parse::<i128>().unwrap_or(i128::MAX);
    let v = if neg { -v } else { v };
    Some(v.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// A few well-known service names (`getservbyname`).
fn service_port(name: &str) -> Option<u16> {
    Some(match name {
        "ftp-data" => 20,
        "ftp" => 21,
        "ssh" => 22,
        "telnet" => 23,
        "smtp" => 25,
        "domain" => 53,
        "http" => 80,
        "pop3" => 110,
        "ntp" => 123,
        "imap" => 143,
        "snmp" => 161,
        "ldap" => 389,
        "https" => 443,
        "imaps" => 993,
        "pop3s" => 995,
        "mysql" => 3306,
        "postgresql" => 5432,
        _ => return None,
    })
}

fn parse_num(text: &str, dom: Dom) -> Result<i128, String> {
    let bad = || format!("{text} is not a valid number");
    match dom {
        Dom::U64 => parse_u64(text).map(|v| v as i128).ok_or_else(bad),
        Dom::I64 => parse_i64(text).map(|v| v as i128).ok_or_else(bad),
        Dom::U16 => {
            if text.is_empty() {
                return Ok(0);
            }
            if text.bytes().all(|b| b.is_ascii_digit()) {
                // `stoi`, then a 16-bit store.
                return match text.parse::<i32>() {
                    Ok(v) => Ok(v as u16 as i128),
                    Err(_) => Err("stoi".to_string()),
                };
            }
            service_port(text)
                .map(|p| p as i128)
                .ok_or_else(|| format!("unrecognized protocol {text}"))
        }
    }
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    if text.contains('.') {
        text.parse::<Ipv4Addr>()
            .map(IpAddr::V4)
            .map_err(|_| format!("unrecognized IPv4 address {text}"))
    } else {
        text.parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| format!("unrecognized IPv6 address {text}"))
    }
}

/// `sscanf("%u")` then a store in a byte.
fn parse_u8_trunc(s: &str) -> Result<u8, String> {
    parse_u64(s)
        .map(|v| v as u32 as u8)
        .ok_or_else(|| format!("{s} is not a valid number"))
}

fn parse_net(text: &str) -> Result<Net, String> {
    if text.contains('.') {
        let Some((ip, mask)) = text.split_once('/') else {
            return Err(format!("unrecognized IP network {text}"));
        };
        let addr = ip
            .parse::<Ipv4Addr>()
            .map_err(|_| format!("unrecognized IP address {text}"))?;
        let bits = parse_u8_trunc(mask)?;
        if bits > 32 {
            return Err(format!("invalid netmask {mask}"));
        }
        Ok(Net {
            addr: IpAddr::V4(addr),
            bits,
        })
    } else {
        let Some((ip, mask)) = text.split_once('/') else {
            return Err(format!("invalid v6 netmask: {text}"));
        };
        let addr = ip
            .parse::<Ipv6Addr>()
            .map_err(|_| format!("unrecognized IPv6 address {text}"))?;
        let bits = parse_u8_trunc(mask)?;
        if bits == 0 || bits > 128 {
            return Err(format!("invalid v6 netmask {mask}"));
        }
        Ok(Net {
            addr: IpAddr::V6(addr),
            bits,
        })
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) || !b.iter().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    b.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

/// One converted constant.
enum Lit {
    Num(i128, Dom),
    Bool(bool),
    Net(Net),
    Bytes(Box<[u8]>),
}

fn literal(op: CmpOp, t: FieldType, v: &AstValue) -> Result<Lit, String> {
    let text = v.text.as_str();
    match t {
        FieldType::Bytes => {
            if matches!(op, CmpOp::BContains | CmpOp::BStartsWith) {
                return unhex(text).map(|b| Lit::Bytes(b.into())).ok_or_else(|| {
                    "filter error: bcontains and bstartswith operator support hex strings only"
                        .to_string()
                });
            }
            return Ok(Lit::Bytes(text.as_bytes().into()));
        }
        _ if text.contains('\0') => {
            return Err("filter error: filter value cannot contain a NUL byte (\\x00)".to_string());
        }
        _ => {}
    }
    match t {
        FieldType::Str | FieldType::Path => Ok(Lit::Bytes(text.as_bytes().into())),
        FieldType::Bool => match text {
            "true" => Ok(Lit::Bool(true)),
            "false" => Ok(Lit::Bool(false)),
            _ => Err(format!("filter error: unrecognized boolean value {text}")),
        },
        FieldType::Ip => parse_ip(text).map(|addr| {
            Lit::Net(Net {
                addr,
                bits: if addr.is_ipv4() { 32 } else { 128 },
            })
        }),
        FieldType::IpNet => parse_net(text).map(Lit::Net),
        t => {
            let dom = dom_of(t).unwrap_or(Dom::U64);
            parse_num(text, dom).map(|n| Lit::Num(n, dom))
        }
    }
}

fn test_of(op: CmpOp, lit: Lit) -> Result<Test, String> {
    Ok(match lit {
        Lit::Num(n, dom) => Test::Num(Rel::of(op).unwrap_or(Rel::Eq), n, dom),
        Lit::Bool(b) => Test::Bool(Rel::of(op).unwrap_or(Rel::Eq), b),
        Lit::Net(n) => Test::Net(if op == CmpOp::Ne { Rel::Ne } else { Rel::Eq }, n),
        Lit::Bytes(b) => match op {
            CmpOp::Contains | CmpOp::BContains => {
                Test::Contains(Box::new(memmem::Finder::new(&b[..]).into_owned()))
            }
            CmpOp::IContains => Test::IContains(b.to_ascii_lowercase().into()),
            CmpOp::StartsWith | CmpOp::BStartsWith => Test::StartsWith(b),
            CmpOp::EndsWith => Test::EndsWith(b),
            CmpOp::Glob => Test::Glob(b, false),
            CmpOp::IGlob => Test::Glob(b, true),
            CmpOp::Regex => {
                let pat = String::from_utf8_lossy(&b);
                let re = regex::bytes::RegexBuilder::new(&format!("^(?:{pat})$"))
                    .size_limit(1 << 22)
                    .build()
                    .map_err(|e| format!("invalid regex pattern: {}", regex_error(&e)))?;
                Test::Regex(Box::new(re))
            }
            op => Test::Rel(Rel::of(op).unwrap_or(Rel::Eq), b),
        },
    })
}

/// The last line of the regex crate's (multi-line) error message.
fn regex_error(e: &regex::Error) -> String {
    let s = e.to_string();
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .trim_start_matches("error: ")
        .to_string()
}

fn set_of(lits: Vec<Lit>) -> Result<Matcher, Vec<Lit>> {
    match lits.first() {
        Some(Lit::Bytes(_)) | None => Ok(Matcher::In(Set::Bytes(ByteSet::new(
            lits.into_iter()
                .filter_map(|l| match l {
                    Lit::Bytes(b) => Some(b),
                    _ => None,
                })
                .collect(),
        )))),
        Some(Lit::Num(_, dom)) => {
            let dom = *dom;
            let set: HashSet<i128, FxBuild> = lits
                .into_iter()
                .filter_map(|l| match l {
                    Lit::Num(n, _) => Some(n),
                    _ => None,
                })
                .collect();
            Ok(Matcher::In(Set::Num(set, dom)))
        }
        _ => Err(lits),
    }
}

impl<'i> Lower<'i> {
    pub(crate) fn new(interner: &'i mut FieldInterner) -> Lower<'i> {
        Lower {
            interner,
            check: Span::default(),
        }
    }

    fn fail<T>(&self, span: Span, message: impl Into<String>) -> R<T> {
        Err(Fail {
            message: message.into(),
            span,
            check: self.check,
        })
    }

    pub(crate) fn expr(&mut self, e: &Expr) -> R<Node> {
        Ok(match &e.kind {
            ExprKind::And(c) => Node::And(c.iter().map(|x| self.expr(x)).collect::<R<_>>()?),
            ExprKind::Or(c) => Node::Or(c.iter().map(|x| self.expr(x)).collect::<R<_>>()?),
            ExprKind::Not(c) => Node::Not(Box::new(self.expr(c)?)),
            ExprKind::Macro(name) => {
                self.check = e.span;
                return self.fail(e.span, format!("Undefined macro '{name}' used in filter."));
            }
            ExprKind::Unary { lhs, .. } => {
                self.check = e.span;
                let l = self.operand(lhs)?;
                let memo = self.interner.intern_check(format!("{}|exists", l.ir.key()));
                Node::Check(Arc::new(Check {
                    lhs: l.ir,
                    rhs: RhsIr::Const(Matcher::Exists),
                    memo,
                }))
            }
            ExprKind::Binary { lhs, op, rhs } => {
                self.check = e.span;
                self.binary(lhs, *op, rhs)?
            }
        })
    }

    fn field(&mut self, f: &crate::condition::FieldRef) -> R<Lowered> {
        let full = match &f.arg {
            Some(a) => format!("{}[{a}]", f.name),
            None => f.name.clone(),
        };
        let field = match Field::parse(&full) {
            Ok(x) => x,
            Err(FieldError::Unknown(_)) => {
                return self.fail(
                    f.span,
                    format!("filter_check called with nonexistent field {full}"),
                );
            }
            Err(FieldError::BadArgument { .. }) => {
                return self.fail(
                    f.span,
                    format!("filter error: can't parse field expression '{full}'"),
                );
            }
        };
        let def = field.def;
        use FieldId::*;
        let ancestors = matches!(def.id, ProcAname | ProcAexe | ProcAexepath | ProcApid);
        let either = matches!(def.id, FdIp | FdPort | FdNet);
        let no_rhs = ancestors
            || either
            || matches!(
                def.id,
                EvtRawarg | FdCnet | FdSnet | FdLnet | FdRnet | FdTypes
            );
        let base = if def.id == EvtRawarg {
            rawarg_type(&field.arg)
        } else {
            def.ftype
        };
        let ty = Ty {
            base,
            list: def.id == FdTypes,
        };
        let src = if ancestors && field.arg == FieldArg::None {
            Source::Ancestors(def.id)
        } else if either {
            let (c, s) = match def.id {
                FdIp => ("fd.cip", "fd.sip"),
                FdPort => ("fd.cport", "fd.sport"),
                _ => ("fd.cnet", "fd.snet"),
            };
            let mk = |this: &mut Self, n: &str| -> (u32, Box<Field>) {
                let fd = Field {
                    def: lookup(n).unwrap_or(def),
                    arg: FieldArg::None,
                };
                (this.interner.intern(&fd), Box::new(fd))
            };
            let client = mk(self, c);
            let server = mk(self, s);
            Source::EitherEnd {
                client,
                server,
                all: false,
            }
        } else {
            Source::Field {
                slot: self.interner.intern(&field),
                field: Box::new(field),
            }
        };
        Ok(Lowered {
            ir: Operand {
                src,
                chain: Vec::new(),
                ty,
                field_ty: ty,
            },
            name: def.name,
            no_rhs,
            is_evt_type: def.id == EvtType,
        })
    }

    fn operand(&mut self, o: &AstOperand) -> R<Lowered> {
        let t = match o {
            AstOperand::Field(f) => return self.field(f),
            AstOperand::Transformer(t) => t,
        };
        let name = t.kind.as_str();
        if t.arg.is_some() {
            return self.fail(
                t.span,
                format!("filter error: transformer '{name}' does not support field arguments"),
            );
        }
        let inner = match t.args.as_slice() {
            [TransformerArg::Operand(inner)] => inner,
            _ => {
                return self.fail(
                    t.span,
                    format!(
                        "filter error: transformer '{name}' with these arguments is not supported"
                    ),
                );
            }
        };
        if t.kind == TransformerKind::Val {
            let mut l = self.operand(inner)?;
            l.is_evt_type = false;
            return Ok(l);
        }
        let Some(xf) = Xf::of(t.kind) else {
            return self.fail(
                t.span,
                format!("filter error: transformer '{name}' is not supported"),
            );
        };
        let mut l = self.operand(inner)?;
        l.is_evt_type = false;
        let no_transformer = !matches!(l.ir.src, Source::Field { .. })
            || matches!(
                l.name,
                "evt.rawarg"
                    | "fd.cnet"
                    | "fd.snet"
                    | "fd.lnet"
                    | "fd.rnet"
                    | "proc.aname"
                    | "proc.aexe"
                    | "proc.aexepath"
                    | "proc.apid"
            );
        if no_transformer {
            return self.fail(
                t.span,
                format!("field '{}' does not support transformers", l.name),
            );
        }
        let Some(nt) = xf.result_type(l.ir.ty) else {
            return self.fail(
                t.span,
                format!(
                    "can't add field transformer: type '{}' is not supported by '{}' transformer applied on {}field '{}'",
                    l.ir.ty.base.name(),
                    xf.name(),
                    if l.ir.ty.list { "list " } else { "" },
                    l.name
                ),
            );
        };
        l.ir.chain.push(xf);
        l.ir.ty = nt;
        Ok(l)
    }

    fn binary(&mut self, lhs: &AstOperand, op: BinaryOp, rhs: &Rhs) -> R<Node> {
        let check = self.check;
        let mut l = self.operand(lhs)?;
        if let Err(m) = comparable(op.cmp, op.modifier, l.ir.ty) {
            return self.fail(check, format!("filter error: {m}"));
        }
        if let Source::EitherEnd { all, .. } = &mut l.ir.src {
            *all = op.cmp == CmpOp::Ne;
        }
        let values: Vec<&AstValue> = match rhs {
            Rhs::Operand(o) => return self.field_check(l, op, o),
            Rhs::Value(v) => vec![v],
            Rhs::List(items, _) => items.iter().collect(),
        };
        // `evt.type` checks by event code.
        if l.is_evt_type
            && op.modifier.is_none()
            && matches!(op.cmp, CmpOp::Eq | CmpOp::EqEq | CmpOp::Ne | CmpOp::In)
        {
            return Ok(Node::EvtType(Box::new(evt_type_check(
                values.iter().map(|v| v.text.as_str()),
                op.cmp == CmpOp::Ne,
            ))));
        }
        // The same check (a macro used by many rules) is built once.
        let mut key = l.ir.key();
        let _ = write!(key, "|{op:?}|");
        for v in &values {
            // Length-prefixed: no text can run into the next.
            let quote = if v.quoted { 'q' } else { 'b' };
            let _ = write!(key, "{quote}{}:", v.text.len());
            key.push_str(&v.text);
        }
        let memo = self.interner.intern_check(key);
        if let Some(c) = self.interner.built(memo) {
            return Ok(Node::Check(c));
        }
        let base = l.ir.ty.base;
        let mut lits = Vec::with_capacity(values.len());
        for v in &values {
            match literal(op.cmp, base, v) {
                Ok(x) => lits.push(x),
                Err(m) => return self.fail(v.span, m),
            }
        }
        let span_of = |i: usize| values.get(i).map_or(check, |v| v.span);
        let matcher = if let Some(m) = op.modifier {
            if m == Modifier::AnyOf && op.cmp.is_eq() {
                match set_of(lits) {
                    Ok(s) => s,
                    Err(lits) => Matcher::AnyOf(
                        lits.into_iter()
                            .map(|x| test_of(CmpOp::Eq, x))
                            .collect::<Result<_, _>>()
                            .map_err(|e| self.err(span_of(0), e))?,
                    ),
                }
            } else {
                let mut tests = Vec::with_capacity(lits.len());
                for (i, x) in lits.into_iter().enumerate() {
                    tests.push(test_of(op.cmp, x).map_err(|e| self.err(span_of(i), e))?);
                }
                Matcher::Modified(m, tests)
            }
        } else {
            match op.cmp {
                CmpOp::In | CmpOp::Intersects => match set_of(lits) {
                    Ok(s) => s,
                    Err(lits) => Matcher::AnyOf(
                        lits.into_iter()
                            .map(|x| test_of(CmpOp::Eq, x))
                            .collect::<Result<_, _>>()
                            .map_err(|e| self.err(check, e))?,
                    ),
                },
                CmpOp::PMatch => {
                    let mut trie = PathTrie::default();
                    for x in &lits {
                        if let Lit::Bytes(b) = x {
                            trie.add(b);
                        }
                    }
                    trie.finish();
                    Matcher::PMatch(trie)
                }
                cmp => match lits.into_iter().next() {
                    Some(x) => Matcher::One(test_of(cmp, x).map_err(|e| self.err(span_of(0), e))?),
                    None => return self.fail(check, "filter error: missing right-hand value"),
                },
            }
        };
        let check = Arc::new(Check {
            lhs: l.ir,
            rhs: RhsIr::Const(matcher),
            memo,
        });
        self.interner.keep(memo, &check);
        Ok(Node::Check(check))
    }

    fn err(&self, span: Span, message: String) -> Fail {
        Fail {
            message,
            span,
            check: self.check,
        }
    }

    fn field_check(&mut self, l: Lowered, op: BinaryOp, o: &AstOperand) -> R<Node> {
        let check = self.check;
        let r = self.operand(o)?;
        let span = o.span();
        if l.is_evt_type && matches!(op.cmp, CmpOp::Eq | CmpOp::EqEq | CmpOp::Ne | CmpOp::In) {
            return self.fail(
                check,
                "right-hand field comparisons on `evt.type`/`syscall.type` checks are not supported by event code search",
            );
        }
        if matches!(op.cmp, CmpOp::PMatch | CmpOp::Regex) {
            return self.fail(
                span,
                format!(
                    "operator '{}' doesn't support right-hand side fields",
                    op_upper(op.cmp)
                ),
            );
        }
        if l.ir.ty.base == FieldType::IpNet {
            return self.fail(
                span,
                "field type 'IPNET' doesn't support right-hand side fields",
            );
        }
        if l.no_rhs {
            return self.fail(
                span,
                format!("field '{}' doesn't support right-hand side fields", l.name),
            );
        }
        if r.no_rhs {
            return self.fail(
                span,
                format!(
                    "field '{}' can't be used as a right-hand side field",
                    r.name
                ),
            );
        }
        let (lt, rt) = (l.ir.ty, r.ir.ty);
        if lt != rt {
            let list = |t: Ty| if t.list { " (list)" } else { "" };
            return self.fail(
                span,
                format!(
                    "field '{}' has type '{}{}' while the right-hand side field '{}' has incompatible type '{}{}'",
                    l.name,
                    lt.base.name(),
                    list(lt),
                    r.name,
                    rt.base.name(),
                    list(rt)
                ),
            );
        }
        let mut cmp = op.cmp;
        if cmp == CmpOp::BContains {
            cmp = CmpOp::Contains;
        }
        let memo = self
            .interner
            .intern_check(format!("{}|{op:?}|{}", l.ir.key(), r.ir.key()));
        Ok(Node::Check(Arc::new(Check {
            memo,
            rhs: RhsIr::Field {
                op: cmp,
                rhs: r.ir,
                dom: dom_of(lt.base),
            },
            lhs: l.ir,
        })))
    }
}

/// The code-level form of `evt.type` `=`/`in`/`!=` constants.
pub(crate) fn evt_type_check<'n>(
    names: impl Iterator<Item = &'n str>,
    negate: bool,
) -> EvtTypeCheck {
    let mut codes = vec![0u64; EVENT_COUNT.div_ceil(64)];
    let mut list = Vec::new();
    for n in names {
        for c in codes_named(n) {
            codes[c as usize / 64] |= 1u64 << (c % 64);
        }
        list.push(n.to_string());
    }
    let names = ByteSet::new(list.iter().map(|n| n.as_bytes().into()).collect());
    EvtTypeCheck {
        codes,
        names,
        list,
        negate,
    }
}

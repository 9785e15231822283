//! Direct evaluation of a parsed condition against one event, for the
//! event dump's filter. The rules engine compiles conditions instead.
//!
//! [`Filter`] prepares a condition once (right-hand numbers, addresses
//! and lower-cased texts parsed up front) so that evaluating it per event
//! parses and allocates nothing; [`matches`] evaluates an [`Expr`] as is.

use crate::extract::{Ctx, extract};
use crate::field::Field;
use crate::parse::{Expr, Op};
use crate::registry::FieldId;
use crate::value::{FieldType, Value};
use std::net::IpAddr;

/// True when the event in `cx` satisfies `expr`.
pub fn matches(expr: &Expr, cx: &Ctx<'_>) -> bool {
    match expr {
        Expr::And(a, b) => matches(a, cx) && matches(b, cx),
        Expr::Or(a, b) => matches(a, cx) || matches(b, cx),
        Expr::Not(a) => !matches(a, cx),
        Expr::Check { field, op, values } => {
            let Some(v) = extract(field, cx) else {
                return false;
            };
            match op {
                Op::Exists => true,
                Op::In => values
                    .iter()
                    .any(|rhs| compare(&v, field.def.ftype, Op::Eq, rhs)),
                _ => compare(&v, field.def.ftype, *op, &values[0]),
            }
        }
    }
}

/// A condition prepared for evaluation on many events: same results as
/// [`matches`] on the [`Expr`] it was built from.
#[derive(Clone, Debug)]
pub struct Filter {
    root: Node,
}

#[derive(Clone, Debug)]
enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    /// `evt.num` or `evt.cpu` against an integer: read from the context
    /// and compared without building a value.
    Counter {
        cpu: bool,
        op: Op,
        rhs: i128,
    },
    Check {
        field: Field,
        op: Op,
        values: Vec<Rhs>,
    },
}

/// A right-hand value with its parsed forms.
#[derive(Clone, Debug)]
struct Rhs {
    text: String,
    /// `text` as a number, for numeric fields.
    num: Option<i128>,
    /// `text` as an address or network, for address values.
    ip: IpRhs,
    /// `text` lower-cased, for `icontains`.
    lower: String,
}

#[derive(Clone, Copy, Debug)]
enum IpRhs {
    Addr(IpAddr),
    Net(IpAddr, u32),
    Invalid,
}

impl Rhs {
    fn new(text: &str) -> Rhs {
        let ip = match text.split_once('/') {
            Some((net, bits)) => match (net.parse::<IpAddr>(), bits.parse::<u32>()) {
                (Ok(net), Ok(bits)) => IpRhs::Net(net, bits),
                _ => IpRhs::Invalid,
            },
            None => text.parse::<IpAddr>().map_or(IpRhs::Invalid, IpRhs::Addr),
        };
        Rhs {
            text: text.to_string(),
            num: text.parse::<i128>().ok(),
            ip,
            lower: text.to_lowercase(),
        }
    }
}

impl Node {
    fn new(expr: &Expr) -> Node {
        match expr {
            Expr::And(a, b) => Node::And(Box::new(Node::new(a)), Box::new(Node::new(b))),
            Expr::Or(a, b) => Node::Or(Box::new(Node::new(a)), Box::new(Node::new(b))),
            Expr::Not(a) => Node::Not(Box::new(Node::new(a))),
            Expr::Check { field, op, values }
                if matches!(field.def.id, FieldId::EvtNum | FieldId::EvtCpu)
                    && values.len() == 1
                    && compare_num(0, *op, 0).is_some()
                    && let Ok(rhs) = values[0].parse::<i128>() =>
            {
                Node::Counter {
                    cpu: field.def.id == FieldId::EvtCpu,
                    op: *op,
                    rhs,
                }
            }
            Expr::Check { field, op, values } => Node::Check {
                field: field.clone(),
                op: *op,
                values: values.iter().map(|v| Rhs::new(v)).collect(),
            },
        }
    }

    fn matches(&self, cx: &Ctx<'_>) -> bool {
        match self {
            Node::And(a, b) => a.matches(cx) && b.matches(cx),
            Node::Or(a, b) => a.matches(cx) || b.matches(cx),
            Node::Not(a) => !a.matches(cx),
            Node::Counter { cpu, op, rhs } => {
                let n = if *cpu { cx.cpu as i128 } else { cx.num as i128 };
                compare_num(n, *op, *rhs).unwrap_or(false)
            }
            Node::Check { field, op, values } => {
                // The event's number and CPU come straight from the context.
                let v = match field.def.id {
                    FieldId::EvtNum => Some(Value::U64(cx.num)),
                    FieldId::EvtCpu => Some(Value::U64(cx.cpu as u64)),
                    _ => extract(field, cx),
                };
                let Some(v) = v else {
                    return false;
                };
                // Integers against a number: what compare_rhs would do, sooner.
                if let (Some(a), Some(rhs)) = (int_value(&v), values.first())
                    && let Some(b) = rhs.num
                    && is_numeric(field.def.ftype)
                    && !matches!(op, Op::Exists | Op::In)
                    && let Some(r) = compare_num(a, *op, b)
                {
                    return r;
                }
                match op {
                    Op::Exists => true,
                    Op::In => values
                        .iter()
                        .any(|rhs| compare_rhs(&v, field.def.ftype, Op::Eq, rhs)),
                    _ => compare_rhs(&v, field.def.ftype, *op, &values[0]),
                }
            }
        }
    }

    fn fields<'s>(&'s self, out: &mut Vec<&'s Field>) {
        match self {
            Node::And(a, b) | Node::Or(a, b) => {
                a.fields(out);
                b.fields(out);
            }
            Node::Not(a) => a.fields(out),
            Node::Counter { .. } => {}
            Node::Check { field, .. } => out.push(field),
        }
    }
}

impl Filter {
    /// Prepares `expr`.
    pub fn new(expr: &Expr) -> Filter {
        Filter {
            root: Node::new(expr),
        }
    }

    /// True when the event in `cx` satisfies the condition.
    #[inline]
    pub fn matches(&self, cx: &Ctx<'_>) -> bool {
        self.root.matches(cx)
    }

    /// The fields the condition reads, in order.
    pub fn fields(&self) -> Vec<&Field> {
        let mut out = Vec::new();
        self.root.fields(&mut out);
        out
    }
}

fn compare(v: &Value<'_>, ftype: FieldType, op: Op, rhs: &str) -> bool {
    compare_rhs(v, ftype, op, &Rhs::new(rhs))
}

#[inline]
fn is_numeric(ftype: FieldType) -> bool {
    matches!(
        ftype,
        FieldType::U64 | FieldType::I64 | FieldType::Port | FieldType::RelTime | FieldType::AbsTime
    )
}

/// An integer value as [`Value::as_i128`] reads it (text excluded).
#[inline]
fn int_value(v: &Value<'_>) -> Option<i128> {
    match v {
        Value::U64(v) => Some(*v as i128),
        Value::I64(v) => Some(*v as i128),
        _ => None,
    }
}

/// A numeric comparison; `None` for operators that are not one.
#[inline]
fn compare_num(a: i128, op: Op, b: i128) -> Option<bool> {
    Some(match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        _ => return None,
    })
}

#[inline(never)]
fn compare_rhs(v: &Value<'_>, ftype: FieldType, op: Op, rhs: &Rhs) -> bool {
    if let Value::Ip(ip) = v {
        return compare_ip_rhs(*ip, op, rhs.ip);
    }
    if is_numeric(ftype)
        && let (Some(a), Some(b)) = (v.as_i128(), rhs.num)
    {
        return compare_num(a, op, b).unwrap_or(false);
    }
    let text = v.to_text();
    let s: &str = &text;
    let lower = &rhs.lower;
    let rhs = rhs.text.as_str();
    match op {
        Op::Eq => s == rhs,
        Op::Ne => s != rhs,
        Op::Lt => s < rhs,
        Op::Le => s <= rhs,
        Op::Gt => s > rhs,
        Op::Ge => s >= rhs,
        Op::Contains => s.contains(rhs),
        Op::Icontains => s.to_lowercase().contains(lower.as_str()),
        Op::Startswith => s.starts_with(rhs),
        Op::Endswith => s.ends_with(rhs),
        Op::Glob => glob(s.as_bytes(), rhs.as_bytes()),
        Op::In | Op::Exists => false,
    }
}

#[cfg(test)]
fn compare_ip(ip: IpAddr, op: Op, rhs: &str) -> bool {
    compare_ip_rhs(ip, op, Rhs::new(rhs).ip)
}

fn compare_ip_rhs(ip: IpAddr, op: Op, rhs: IpRhs) -> bool {
    let equal = match rhs {
        IpRhs::Net(net, bits) => in_net(ip, net, bits),
        IpRhs::Addr(r) => r == ip,
        IpRhs::Invalid => false,
    };
    match op {
        Op::Eq => equal,
        Op::Ne => !equal,
        _ => false,
    }
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Shell-style glob: `*`, `?` and `[...]` classes.
pub fn glob(s: &[u8], p: &[u8]) -> bool {
    let (mut si, mut pi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some(pi);
                    mark = si;
                    pi += 1;
                    continue;
                }
                b'?' => {
                    si += 1;
                    pi += 1;
                    continue;
                }
                b'[' => {
                    if let Some((ok, next)) = class(s[si], &p[pi..]) {
                        if ok {
                            si += 1;
                            pi += next;
                            continue;
                        }
                    } else if s[si] == b'[' {
                        si += 1;
                        pi += 1;
                        continue;
                    }
                }
                c if c == s[si] => {
                    si += 1;
                    pi += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some(st) => {
                pi = st + 1;
                mark += 1;
                si = mark;
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the class at the start of `p` (`[abc]`, `[a-z]`,
/// `[!x]`); returns whether it matched and the class length.
fn class(c: u8, p: &[u8]) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            matched |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            matched |= p[i] == c;
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_patterns() {
        assert!(glob(b"/etc/passwd", b"/etc/*"));
        assert!(glob(b"/etc/passwd", b"*passwd"));
        assert!(glob(b"abc", b"a?c"));
        assert!(glob(b"abc", b"a[a-c]c"));
        assert!(!glob(b"abc", b"a[!b]c"));
        assert!(!glob(b"abc", b"ab"));
        assert!(glob(b"", b"*"));
        assert!(glob(b"a[", b"a["));
    }

    #[test]
    fn ip_and_nets() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert!(compare_ip(ip, Op::Eq, "10.0.0.0/8"));
        assert!(!compare_ip(ip, Op::Eq, "192.168.0.0/16"));
        assert!(compare_ip(ip, Op::Ne, "10.1.2.4"));
        assert!(compare_ip("::1".parse().unwrap(), Op::Eq, "::1/128"));
    }

    #[test]
    fn numeric_and_text_comparisons() {
        assert!(compare(&Value::I64(3), FieldType::I64, Op::Gt, "2"));
        assert!(compare(&Value::U64(0), FieldType::U64, Op::Eq, "0"));
        assert!(!compare(&Value::U64(1), FieldType::U64, Op::Eq, "0"));
        assert!(compare(
            &crate::value::text("/etc/x"),
            FieldType::Str,
            Op::Startswith,
            "/etc"
        ));
        assert!(compare(
            &crate::value::text("Cat"),
            FieldType::Str,
            Op::Icontains,
            "cA"
        ));
    }

    #[test]
    fn counter_checks_agree_with_the_plain_evaluator() {
        use crate::extract::StreamInfo;
        use peregrine_event::{EventBuilder, EventView, code};
        let bytes = EventBuilder::new(code::SYSCALL_CLOSE_E, 1_000, 7)
            .u64(3)
            .build();
        let state = peregrine_state::State::new();
        let stream = StreamInfo::default();
        let conditions = [
            "evt.num = 41",
            "evt.num != 41",
            "evt.num > 40",
            "evt.num < 41",
            "evt.num >= 41",
            "evt.num <= 40",
            "evt.cpu = 3",
            "evt.cpu > 3",
            "evt.num in (1, 41)",
            "evt.num = 41 and evt.cpu = 3",
        ];
        for num in [40, 41, 42] {
            for cpu in [2, 3] {
                let cx = Ctx {
                    ev: EventView::parse(&bytes).unwrap(),
                    num,
                    cpu,
                    st: state.bare_context(),
                    stream: &stream,
                };
                for cond in conditions {
                    let expr = crate::parse::parse(cond).unwrap();
                    assert_eq!(
                        Filter::new(&expr).matches(&cx),
                        matches(&expr, &cx),
                        "{cond} on event {num}, cpu {cpu}"
                    );
                }
            }
        }
        // The counters are read from the context: a filter on them alone
        // needs no field.
        let only_counters =
            Filter::new(&crate::parse::parse("evt.num > 1 or evt.cpu = 0").unwrap());
        assert!(only_counters.fields().is_empty());
    }
}

//! Direct evaluation of a parsed condition against one event, for the
//! event dump's filter. The rules engine compiles conditions instead.

use crate::extract::{Ctx, extract};
use crate::parse::{Expr, Op};
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

fn compare(v: &Value<'_>, ftype: FieldType, op: Op, rhs: &str) -> bool {
    if let Value::Ip(ip) = v {
        return compare_ip(*ip, op, rhs);
    }
    let numeric = matches!(
        ftype,
        FieldType::U64 | FieldType::I64 | FieldType::Port | FieldType::RelTime | FieldType::AbsTime
    );
    if numeric && let (Some(a), Ok(b)) = (v.as_i128(), rhs.parse::<i128>()) {
        return match op {
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            _ => false,
        };
    }
    let text = v.to_text();
    let s: &str = &text;
    match op {
        Op::Eq => s == rhs,
        Op::Ne => s != rhs,
        Op::Lt => s < rhs,
        Op::Le => s <= rhs,
        Op::Gt => s > rhs,
        Op::Ge => s >= rhs,
        Op::Contains => s.contains(rhs),
        Op::Icontains => s.to_lowercase().contains(&rhs.to_lowercase()),
        Op::Startswith => s.starts_with(rhs),
        Op::Endswith => s.ends_with(rhs),
        Op::Glob => glob(s.as_bytes(), rhs.as_bytes()),
        Op::In | Op::Exists => false,
    }
}

fn compare_ip(ip: IpAddr, op: Op, rhs: &str) -> bool {
    let equal = match rhs.split_once('/') {
        Some((net, bits)) => match (net.parse::<IpAddr>(), bits.parse::<u32>()) {
            (Ok(net), Ok(bits)) => in_net(ip, net, bits),
            _ => false,
        },
        None => rhs.parse::<IpAddr>().is_ok_and(|r| r == ip),
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
}

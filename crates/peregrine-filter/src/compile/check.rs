//! Comparisons, per operator family: numbers, booleans, text (equality,
//! order, substring, glob, regex, path prefix), byte buffers and IP
//! addresses/networks. Right-hand constants are converted once, at compile
//! time; comparing never allocates.

use super::cache::FxBuild;
use crate::condition::{CmpOp, Modifier};
use crate::value::Value;
use memchr::memmem;
use std::collections::HashSet;
use std::net::IpAddr;

/// The numeric domain a field compares in (libsinsp compares the raw value
/// with the width and signedness of the field's type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dom {
    /// Unsigned 64-bit.
    U64,
    /// Signed 64-bit.
    I64,
    /// Unsigned 16-bit (ports).
    U16,
}

impl Dom {
    /// `n` reinterpreted in the domain, as Falco's raw casts do.
    #[inline]
    pub(crate) fn norm(self, n: i128) -> i128 {
        match self {
            Dom::U64 => n as u64 as i128,
            Dom::I64 => n as i64 as i128,
            Dom::U16 => n as u16 as i128,
        }
    }
}

/// One value as comparisons see it, after transformers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum View<'x> {
    /// Text (a string field).
    Text(&'x [u8]),
    /// A byte buffer.
    Bytes(&'x [u8]),
    /// Any integer, widened.
    Num(i128),
    /// A boolean.
    Bool(bool),
    /// An address.
    Ip(IpAddr),
}

impl<'x> View<'x> {
    /// The view of an extracted value.
    #[inline]
    pub(crate) fn of(v: &'x Value<'_>) -> View<'x> {
        match v {
            Value::Str(s) => View::Text(s.as_bytes()),
            Value::Bytes(b) => View::Bytes(b),
            Value::U64(n) => View::Num(*n as i128),
            Value::I64(n) => View::Num(*n as i128),
            Value::Bool(b) => View::Bool(*b),
            Value::Ip(ip) => View::Ip(*ip),
        }
    }

    fn bytes(&self) -> Option<&'x [u8]> {
        match *self {
            View::Text(b) | View::Bytes(b) => Some(b),
            _ => None,
        }
    }

    fn num(&self) -> Option<i128> {
        match *self {
            View::Num(n) => Some(n),
            View::Bool(b) => Some(b as i128),
            View::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Relational operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rel {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Rel {
    pub(crate) fn of(op: CmpOp) -> Option<Rel> {
        Some(match op {
            CmpOp::Eq | CmpOp::EqEq | CmpOp::In | CmpOp::Intersects => Rel::Eq,
            CmpOp::Ne => Rel::Ne,
            CmpOp::Lt => Rel::Lt,
            CmpOp::Le => Rel::Le,
            CmpOp::Gt => Rel::Gt,
            CmpOp::Ge => Rel::Ge,
            _ => return None,
        })
    }

    #[inline]
    fn test<T: Ord + ?Sized>(self, a: &T, b: &T) -> bool {
        match self {
            Rel::Eq => a == b,
            Rel::Ne => a != b,
            Rel::Lt => a < b,
            Rel::Le => a <= b,
            Rel::Gt => a > b,
            Rel::Ge => a >= b,
        }
    }
}

/// An IP network (an address is a network with a full mask).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Net {
    pub(crate) addr: IpAddr,
    pub(crate) bits: u8,
}

impl Net {
    /// True when `ip` is in the network. Addresses of the other family are
    /// never in it.
    #[inline]
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.bits.min(32) as u32)
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.bits.min(128) as u32)
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// One comparison of a value with one constant.
#[derive(Clone, Debug)]
pub(crate) enum Test {
    /// Numeric relation in a domain; the constant is already normalised.
    Num(Rel, i128, Dom),
    /// Boolean `=`/`!=`.
    Bool(Rel, bool),
    /// Byte-wise relation (`strcmp` order) on text or buffers.
    Rel(Rel, Box<[u8]>),
    /// Substring (text `contains`, buffer `contains`/`bcontains`).
    Contains(Box<memmem::Finder<'static>>),
    /// ASCII case-insensitive substring; the needle is lower-cased.
    IContains(Box<[u8]>),
    /// Prefix.
    StartsWith(Box<[u8]>),
    /// Suffix.
    EndsWith(Box<[u8]>),
    /// `fnmatch` glob, optionally ASCII case-insensitive.
    Glob(Box<[u8]>, bool),
    /// Whole-value regular expression.
    Regex(Box<regex::bytes::Regex>),
    /// Address in network (`=`) or not (`!=`).
    Net(Rel, Net),
}

impl Test {
    /// Applies the test to one value.
    pub(crate) fn test(&self, v: &View<'_>) -> bool {
        match self {
            Test::Num(rel, c, dom) => match v.num() {
                Some(n) => rel.test(&dom.norm(n), c),
                None => false,
            },
            Test::Bool(rel, c) => match v {
                View::Bool(b) => rel.test(b, c),
                View::Num(n) => rel.test(&(*n != 0), c),
                _ => false,
            },
            Test::Net(rel, net) => match v {
                View::Ip(ip) => match rel {
                    Rel::Ne => !net.contains(*ip),
                    _ => net.contains(*ip),
                },
                _ => *rel == Rel::Ne,
            },
            _ => match v.bytes() {
                Some(b) => self.test_bytes(b),
                None => false,
            },
        }
    }

    fn test_bytes(&self, b: &[u8]) -> bool {
        match self {
            Test::Rel(rel, c) => rel.test(b, c),
            Test::Contains(f) => f.find(b).is_some(),
            Test::IContains(n) => icontains(b, n),
            Test::StartsWith(p) => b.starts_with(p),
            Test::EndsWith(p) => b.ends_with(p),
            Test::Glob(p, ci) => glob(p, b, *ci),
            Test::Regex(re) => re.is_match(b),
            _ => false,
        }
    }
}

/// ASCII case-insensitive substring search (`strcasestr`); `needle` is
/// lower-case.
pub(crate) fn icontains(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    if hay.len() < needle.len() {
        return false;
    }
    let first = needle[0];
    let up = first.to_ascii_uppercase();
    let last_start = hay.len() - needle.len();
    let mut i = 0;
    while i <= last_start {
        // Jump to the next candidate first byte.
        let rest = &hay[i..=last_start];
        let off = if up == first {
            memchr::memchr(first, rest)
        } else {
            memchr::memchr2(first, up, rest)
        };
        let Some(off) = off else {
            return false;
        };
        i += off;
        if hay[i..i + needle.len()]
            .iter()
            .zip(needle)
            .all(|(a, b)| a.to_ascii_lowercase() == *b)
        {
            return true;
        }
        i += 1;
    }
    false
}

/// A set of constants for `in`/`intersects` (and `= anyof`): small sets are
/// scanned, larger ones hashed.
#[derive(Clone, Debug)]
pub(crate) enum Set {
    /// Text or bytes.
    Bytes(ByteSet),
    /// Numbers (normalised to the domain).
    Num(HashSet<i128, FxBuild>, Dom),
}

/// A set of byte strings.
#[derive(Clone, Debug)]
pub(crate) struct ByteSet {
    small: Vec<Box<[u8]>>,
    big: Option<HashSet<Box<[u8]>, FxBuild>>,
    min: usize,
    max: usize,
}

impl ByteSet {
    pub(crate) fn new(items: Vec<Box<[u8]>>) -> ByteSet {
        let min = items.iter().map(|i| i.len()).min().unwrap_or(usize::MAX);
        let max = items.iter().map(|i| i.len()).max().unwrap_or(0);
        if items.len() > 8 {
            ByteSet {
                small: Vec::new(),
                big: Some(items.into_iter().collect()),
                min,
                max,
            }
        } else {
            ByteSet {
                small: items,
                big: None,
                min,
                max,
            }
        }
    }

    #[inline]
    pub(crate) fn contains(&self, b: &[u8]) -> bool {
        if b.len() < self.min || b.len() > self.max {
            return false;
        }
        match &self.big {
            Some(h) => h.contains(b),
            None => self.small.iter().any(|s| &**s == b),
        }
    }
}

impl Set {
    #[inline]
    pub(crate) fn contains(&self, v: &View<'_>) -> bool {
        match self {
            Set::Bytes(s) => match v.bytes() {
                Some(b) => s.contains(b),
                None => false,
            },
            Set::Num(s, dom) => match v.num() {
                Some(n) => s.contains(&dom.norm(n)),
                None => false,
            },
        }
    }
}

/// What a check does with the (transformed) left value when the right side
/// is constant.
#[derive(Clone, Debug)]
pub(crate) enum Matcher {
    /// `exists`: the value is there.
    Exists,
    /// One comparison.
    One(Test),
    /// Set membership.
    In(Set),
    /// Any of these comparisons holds (`in` on networks, booleans).
    AnyOf(Vec<Test>),
    /// `oneof`/`anyof`/`allof` over one comparison per constant.
    Modified(Modifier, Vec<Test>),
    /// `pmatch`.
    PMatch(PathTrie),
}

impl Test {
    /// A rough cost of the test (see [`super::ir::Check::cost`]).
    fn cost(&self) -> u32 {
        match self {
            Test::Num(..) | Test::Bool(..) | Test::Net(..) => 0,
            Test::Rel(..) | Test::StartsWith(_) | Test::EndsWith(_) => 1,
            Test::Contains(_) | Test::IContains(_) | Test::Glob(..) => 2,
            Test::Regex(_) => 10,
        }
    }
}

impl Matcher {
    /// A rough cost of the matcher (see [`super::ir::Check::cost`]).
    pub(crate) fn cost(&self) -> u32 {
        match self {
            Matcher::Exists => 0,
            Matcher::One(t) => t.cost(),
            Matcher::In(_) => 1,
            Matcher::AnyOf(ts) | Matcher::Modified(_, ts) => {
                ts.iter().map(Test::cost).sum::<u32>().max(1)
            }
            Matcher::PMatch(_) => 2,
        }
    }

    /// Applies the matcher to one value.
    pub(crate) fn test(&self, v: &View<'_>) -> bool {
        match self {
            Matcher::Exists => true,
            Matcher::One(t) => t.test(v),
            Matcher::In(s) => s.contains(v),
            Matcher::AnyOf(ts) => ts.iter().any(|t| t.test(v)),
            Matcher::Modified(m, ts) => match m {
                Modifier::AnyOf => ts.iter().any(|t| t.test(v)),
                Modifier::AllOf => !ts.is_empty() && ts.iter().all(|t| t.test(v)),
                Modifier::OneOf => {
                    let mut n = 0;
                    for t in ts {
                        if t.test(v) {
                            n += 1;
                            if n > 1 {
                                return false;
                            }
                        }
                    }
                    n == 1
                }
            },
            Matcher::PMatch(trie) => match v.bytes() {
                Some(b) => trie.matches(b),
                None => false,
            },
        }
    }
}

/// Compares two values of the same type, for checks with a field on the
/// right (`proc.name = val(proc.pname)`).
pub(crate) fn compare_views(op: CmpOp, l: &View<'_>, r: &View<'_>, dom: Option<Dom>) -> bool {
    if let Some(rel) = Rel::of(op) {
        return match (l, r) {
            (View::Ip(a), View::Ip(b)) => rel.test(a, b) && matches!(rel, Rel::Eq | Rel::Ne),
            (View::Bool(a), View::Bool(b)) => rel.test(a, b),
            _ => match (l.bytes(), r.bytes()) {
                (Some(a), Some(b)) => rel.test(a, b),
                _ => match (l.num(), r.num()) {
                    (Some(a), Some(b)) => match dom {
                        Some(d) => rel.test(&d.norm(a), &d.norm(b)),
                        None => rel.test(&a, &b),
                    },
                    _ => false,
                },
            },
        };
    }
    let (Some(a), Some(b)) = (l.bytes(), r.bytes()) else {
        return false;
    };
    match op {
        CmpOp::Contains | CmpOp::BContains => memmem::find(a, b).is_some(),
        CmpOp::IContains => {
            // The needle must be lower-case for `icontains`: compare with
            // an ASCII-folding scan instead.
            if b.len() > a.len() {
                return false;
            }
            (0..=a.len() - b.len()).any(|i| a[i..i + b.len()].eq_ignore_ascii_case(b))
        }
        CmpOp::StartsWith | CmpOp::BStartsWith => a.starts_with(b),
        CmpOp::EndsWith => a.ends_with(b),
        CmpOp::Glob => glob(b, a, false),
        CmpOp::IGlob => glob(b, a, true),
        _ => false,
    }
}

// ------------------------------------------------------------------ glob

/// `fnmatch(pattern, s, case_insensitive ? FNM_CASEFOLD : 0)`: `*` and `?`
/// match any byte (`/` included), `[...]` classes with `!`/`^` negation and
/// ranges, `\` escapes the next byte.
pub(crate) fn glob(p: &[u8], s: &[u8], ci: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if ci {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut si) = (0usize, 0usize);
    let mut back: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            let c = p[pi];
            if c == b'*' {
                while pi < p.len() && p[pi] == b'*' {
                    pi += 1;
                }
                if pi == p.len() {
                    return true;
                }
                back = Some((pi, si));
                continue;
            }
            if si < s.len() {
                let step = match c {
                    b'?' => Some(1),
                    b'[' => match class(&p[pi..], s[si], ci) {
                        Some((true, len)) => Some(len),
                        Some((false, _)) => None,
                        None => (s[si] == b'[').then_some(1),
                    },
                    b'\\' if pi + 1 < p.len() => eq(p[pi + 1], s[si]).then_some(2),
                    _ => eq(c, s[si]).then_some(1),
                };
                if let Some(n) = step {
                    pi += n;
                    si += 1;
                    continue;
                }
            }
        } else if si == s.len() {
            return true;
        }
        match back {
            Some((bp, bs)) if bs < s.len() => {
                back = Some((bp, bs + 1));
                pi = bp;
                si = bs + 1;
            }
            _ => return false,
        }
    }
}

/// Matches byte `c` against the bracket expression at the start of `p`.
/// Returns whether it matched and the expression's length, or `None` when
/// the bracket is not closed (then `[` is an ordinary byte).
fn class(p: &[u8], c: u8, ci: bool) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let fold = |b: u8| if ci { b.to_ascii_lowercase() } else { b };
    let c = fold(c);
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        let mut lo = p[i];
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if lo == b'\\' && i + 1 < p.len() {
            i += 1;
            lo = p[i];
        }
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            let mut hi = p[i + 2];
            let mut step = 3;
            if hi == b'\\' && i + 3 < p.len() {
                hi = p[i + 3];
                step = 4;
            }
            if ci {
                matched |= (lo.to_ascii_lowercase()..=hi.to_ascii_lowercase()).contains(&c)
                    || (lo.to_ascii_uppercase()..=hi.to_ascii_uppercase())
                        .contains(&c.to_ascii_uppercase());
            } else {
                matched |= (lo..=hi).contains(&c);
            }
            i += step;
        } else {
            matched |= fold(lo) == c;
            i += 1;
        }
    }
    None
}

// ------------------------------------------------------------------ pmatch

/// Path prefixes for `pmatch`: a path matches when the components of one
/// of the prefixes (split on `/`, empty components ignored; components may
/// be globs) are the first components of the path.
#[derive(Clone, Debug, Default)]
pub(crate) struct PathTrie {
    root: PNode,
}

#[derive(Clone, Debug, Default)]
struct PNode {
    terminal: bool,
    lit: Vec<(Box<[u8]>, PNode)>,
    globs: Vec<(Box<[u8]>, PNode)>,
}

fn components(p: &[u8]) -> impl Iterator<Item = &[u8]> + Clone {
    p.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

impl PathTrie {
    /// Adds a prefix.
    pub(crate) fn add(&mut self, path: &[u8]) {
        let mut node = &mut self.root;
        for c in components(path) {
            if node.terminal {
                return;
            }
            let is_glob = c.iter().any(|b| matches!(b, b'?' | b'*' | b'['));
            let list = if is_glob {
                &mut node.globs
            } else {
                &mut node.lit
            };
            let i = match list.iter().position(|(k, _)| &**k == c) {
                Some(i) => i,
                None => {
                    list.push((c.into(), PNode::default()));
                    list.len() - 1
                }
            };
            node = &mut list[i].1;
        }
        node.terminal = true;
        node.lit.clear();
        node.globs.clear();
    }

    /// Sorts literal children for binary search.
    pub(crate) fn finish(&mut self) {
        fn sort(n: &mut PNode) {
            n.lit.sort_by(|a, b| a.0.cmp(&b.0));
            for (_, c) in n.lit.iter_mut().chain(n.globs.iter_mut()) {
                sort(c);
            }
        }
        sort(&mut self.root);
    }

    /// True when `path` starts with one of the prefixes.
    pub(crate) fn matches(&self, path: &[u8]) -> bool {
        fn walk<'p>(n: &PNode, mut it: impl Iterator<Item = &'p [u8]> + Clone) -> bool {
            if n.terminal {
                return true;
            }
            let Some(c) = it.next() else {
                return false;
            };
            if let Ok(i) = n.lit.binary_search_by(|(k, _)| (**k).cmp(c))
                && walk(&n.lit[i].1, it.clone())
            {
                return true;
            }
            n.globs
                .iter()
                .any(|(g, child)| glob(g, c, false) && walk(child, it.clone()))
        }
        walk(&self.root, components(path))
    }
}

//! Field transformers: `tolower`, `toupper`, `b64`, `basename`, `len`.
//! Their type rules follow libsinsp; values are transformed into scratch
//! buffers owned by the [`FieldCache`](super::FieldCache).

use super::check::View;
use super::ir::Ty;
use crate::condition::TransformerKind;
use crate::value::{FieldType, Value};

/// A transformer applied to a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Xf {
    ToLower,
    ToUpper,
    B64,
    Basename,
    Len,
}

impl Xf {
    /// The transformer for `kind`, if peregrine implements it.
    pub(crate) fn of(kind: TransformerKind) -> Option<Xf> {
        Some(match kind {
            TransformerKind::ToLower => Xf::ToLower,
            TransformerKind::ToUpper => Xf::ToUpper,
            TransformerKind::B64 => Xf::B64,
            TransformerKind::Basename => Xf::Basename,
            TransformerKind::Len => Xf::Len,
            _ => return None,
        })
    }

    /// The name used in error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Xf::ToLower => "tolower",
            Xf::ToUpper => "toupper",
            Xf::B64 => "b64",
            Xf::Basename => "basename",
            Xf::Len => "len",
        }
    }

    /// The type of the result for an input of type `t`, or `None` when the
    /// transformer does not take that type.
    pub(crate) fn result_type(self, t: Ty) -> Option<Ty> {
        use FieldType::*;
        let text = matches!(t.base, Str | Path);
        match self {
            Xf::Len if t.list => Some(Ty {
                base: U64,
                list: false,
            }),
            Xf::Len => (text || t.base == Bytes).then_some(Ty {
                base: U64,
                list: false,
            }),
            Xf::ToLower | Xf::ToUpper | Xf::Basename => text.then_some(t),
            Xf::B64 => matches!(t.base, Str | Bytes).then_some(t),
        }
    }
}

/// Decodes standard base64 (padding optional) into `out`; false on a
/// character outside the alphabet or a dangling sextet.
pub(crate) fn b64_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    }
    let mut n = input.len();
    if n > 0 && input[n - 1] == b'=' {
        n -= 1;
        if n > 0 && input[n - 1] == b'=' {
            n -= 1;
        }
    }
    let input = &input[..n];
    if input.len() % 4 == 1 {
        return false;
    }
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in input {
        let Some(v) = val(c) else {
            return false;
        };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    true
}

/// Applies `chain` to `v` (of type `ty`), using `a` and `b` as scratch.
/// `None` when a transformer fails (invalid base64) or the value cannot be
/// transformed.
pub(crate) fn apply_chain<'x>(
    chain: &[Xf],
    ty: Ty,
    v: &'x Value<'_>,
    a: &'x mut Vec<u8>,
    b: &mut Vec<u8>,
) -> Option<View<'x>> {
    if chain.is_empty() {
        return Some(View::of(v));
    }
    // `len` of a list field: the number of values (one here).
    if ty.list && chain[0] == Xf::Len {
        return Some(View::Num(1));
    }
    let (input, bytes) = match v {
        Value::Str(s) => (s.as_bytes(), false),
        Value::Bytes(x) => (&**x, true),
        _ => return None,
    };
    a.clear();
    a.extend_from_slice(input);
    for xf in chain {
        b.clear();
        match xf {
            Xf::ToLower => b.extend(a.iter().map(|c| c.to_ascii_lowercase())),
            Xf::ToUpper => b.extend(a.iter().map(|c| c.to_ascii_uppercase())),
            Xf::Basename => {
                let start = a.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1);
                b.extend_from_slice(&a[start..]);
            }
            Xf::B64 => {
                let end = if bytes {
                    a.len()
                } else {
                    a.iter().position(|&c| c == 0).unwrap_or(a.len())
                };
                if !b64_decode(&a[..end], b) {
                    return None;
                }
            }
            Xf::Len => {
                let n = if bytes {
                    a.len()
                } else {
                    a.iter().position(|&c| c == 0).unwrap_or(a.len())
                };
                return Some(View::Num(n as i128));
            }
        }
        std::mem::swap(a, b);
    }
    let a: &'x Vec<u8> = a;
    Some(if bytes { View::Bytes(a) } else { View::Text(a) })
}

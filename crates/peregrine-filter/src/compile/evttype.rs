//! The event codes a compiled filter can match, inferred the way libsinsp
//! does it: `and` intersects, `or` unites, negations are pushed down to the
//! leaves (De Morgan), `evt.type` `=`/`in`/`!=` checks give sets, every
//! other check is neutral (all codes, never inverted).
//!
//! Generic events (`syscall`, codes 0 and 1) stand for many system calls:
//! a check naming a syscall that has no event of its own matches *some*
//! generic events, and so does its negation, so both keep the generic codes.

use super::ir::{EvtTypeCheck, Node};
use peregrine_event::{EVENT_COUNT, code, event_info};
use std::sync::OnceLock;

/// How a set covers the generic event codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gen {
    None,
    Some,
    All,
}

#[derive(Clone, Debug)]
struct Codes {
    /// Non-generic codes.
    bits: Vec<u64>,
    generic: Gen,
}

fn is_generic(c: usize) -> bool {
    c == code::GENERIC_E as usize || c == code::GENERIC_X as usize
}

impl Codes {
    fn all() -> Codes {
        static ALL: OnceLock<Codes> = OnceLock::new();
        ALL.get_or_init(|| {
            let mut bits = vec![0u64; EVENT_COUNT.div_ceil(64)];
            for c in 0..EVENT_COUNT {
                if !is_generic(c) && event_info(c as u16).is_some() {
                    bits[c / 64] |= 1 << (c % 64);
                }
            }
            Codes {
                bits,
                generic: Gen::All,
            }
        })
        .clone()
    }

    fn leaf(t: &EvtTypeCheck) -> Codes {
        let mut bits = t.codes.clone();
        for c in [code::GENERIC_E as usize, code::GENERIC_X as usize] {
            bits[c / 64] &= !(1 << (c % 64));
        }
        // Names of generic events (`syscall`) or of syscalls without an
        // event of their own match some generic events.
        let generic_name = t.list.iter().any(|n| {
            n == "syscall"
                || (peregrine_event::codes_named(n).next().is_none()
                    && peregrine_event::syscalls::SYSCALL_NAMES.contains(&n.as_str()))
        });
        let c = Codes {
            bits,
            generic: if generic_name { Gen::Some } else { Gen::None },
        };
        if t.negate { c.complement() } else { c }
    }

    fn complement(&self) -> Codes {
        let all = Codes::all();
        Codes {
            bits: all
                .bits
                .iter()
                .zip(&self.bits)
                .map(|(a, b)| a & !b)
                .collect(),
            generic: match self.generic {
                Gen::None => Gen::All,
                Gen::All => Gen::None,
                Gen::Some => Gen::Some,
            },
        }
    }

    fn and(&self, o: &Codes) -> Codes {
        Codes {
            bits: self.bits.iter().zip(&o.bits).map(|(a, b)| a & b).collect(),
            generic: match (self.generic, o.generic) {
                (Gen::None, _) | (_, Gen::None) => Gen::None,
                (Gen::All, g) | (g, Gen::All) => g,
                _ => Gen::Some,
            },
        }
    }

    fn or(&self, o: &Codes) -> Codes {
        Codes {
            bits: self.bits.iter().zip(&o.bits).map(|(a, b)| a | b).collect(),
            generic: match (self.generic, o.generic) {
                (Gen::All, _) | (_, Gen::All) => Gen::All,
                (Gen::None, g) | (g, Gen::None) => g,
                _ => Gen::Some,
            },
        }
    }
}

fn walk(n: &Node, neg: bool) -> Codes {
    match n {
        Node::And(c) | Node::Or(c) => {
            // Under a negation `and` becomes `or` and vice versa.
            let conj = matches!(n, Node::And(_)) != neg;
            let mut it = c.iter().map(|x| walk(x, neg));
            let first = it.next().unwrap_or_else(Codes::all);
            it.fold(first, |acc, x| if conj { acc.and(&x) } else { acc.or(&x) })
        }
        Node::Not(c) => walk(c, !neg),
        Node::EvtType(t) => {
            let s = Codes::leaf(t);
            if neg { s.complement() } else { s }
        }
        Node::Check(_) => Codes::all(),
    }
}

/// The event codes `n` can match, or `None` for every code.
pub(crate) fn event_codes(n: &Node) -> Option<Vec<u16>> {
    let s = walk(n, false);
    let all = Codes::all();
    if s.generic == Gen::All && s.bits == all.bits {
        return None;
    }
    let mut out = Vec::new();
    for c in 0..EVENT_COUNT {
        let hit = if is_generic(c) {
            s.generic != Gen::None
        } else {
            s.bits[c / 64] & (1 << (c % 64)) != 0
        };
        if hit {
            out.push(c as u16);
        }
    }
    Some(out)
}

//! The checked form of a condition: fields bound to cache slots, constants
//! converted, operators resolved to matchers. Evaluation lives here too.

use super::cache::FieldCache;
use super::check::{ByteSet, Dom, Matcher, View, compare_views};
use super::transform::{Xf, apply_chain};
use crate::condition::CmpOp;
use crate::extract::{Ctx, event_type_name};
use crate::field::Field;
use crate::registry::FieldId;
use crate::value::FieldType;
use peregrine_event::code;
use peregrine_state::{State, Thread};

/// A field type as the type rules see it: the base type and whether the
/// field yields a list of values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ty {
    pub(crate) base: FieldType,
    pub(crate) list: bool,
}

/// A boolean expression.
#[derive(Debug)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Check(Box<Check>),
    EvtType(Box<EvtTypeCheck>),
}

/// `evt.type = x`, `evt.type in (...)`, `evt.type != x`, checked by event
/// code (generic events by syscall name).
#[derive(Debug)]
pub(crate) struct EvtTypeCheck {
    /// Bit per event code.
    pub(crate) codes: Vec<u64>,
    /// Every name, for generic events.
    pub(crate) names: ByteSet,
    /// The names as written.
    pub(crate) list: Vec<String>,
    /// `!=`.
    pub(crate) negate: bool,
}

impl EvtTypeCheck {
    #[inline]
    fn eval(&self, cx: &Ctx<'_>) -> bool {
        let c = cx.ev.code();
        let hit = if c == code::GENERIC_E || c == code::GENERIC_X {
            self.names.contains(event_type_name(&cx.ev).as_bytes())
        } else {
            self.codes
                .get(c as usize / 64)
                .is_some_and(|w| w & (1u64 << (c % 64)) != 0)
        };
        hit != self.negate
    }
}

/// One check.
#[derive(Debug)]
pub(crate) struct Check {
    pub(crate) lhs: Operand,
    pub(crate) rhs: RhsIr,
}

/// The right side of a check.
#[derive(Debug)]
pub(crate) enum RhsIr {
    /// Constants (or `exists`).
    Const(Matcher),
    /// Another field.
    Field {
        op: CmpOp,
        rhs: Operand,
        dom: Option<Dom>,
    },
}

/// Where a value comes from.
#[derive(Debug)]
pub(crate) enum Source {
    /// A field, extracted once per event into its cache slot.
    Field { slot: u32, field: Box<Field> },
    /// `proc.aname` and friends without an index: every ancestor.
    Ancestors(FieldId),
    /// `fd.ip`, `fd.port`, `fd.net`: client and server end; `!=` must hold
    /// for both, other operators for one.
    EitherEnd {
        client: (u32, Box<Field>),
        server: (u32, Box<Field>),
        all: bool,
    },
}

/// A field with its transformers.
#[derive(Debug)]
pub(crate) struct Operand {
    pub(crate) src: Source,
    /// Transformers, innermost first.
    pub(crate) chain: Vec<Xf>,
    /// Type after the transformers.
    pub(crate) ty: Ty,
    /// Type of the field itself.
    pub(crate) field_ty: Ty,
}

impl Node {
    /// Evaluates the expression on one event.
    pub(crate) fn eval<'a>(&self, cx: &Ctx<'a>, cache: &mut FieldCache<'a>) -> bool {
        match self {
            Node::And(c) => c.iter().all(|n| n.eval(cx, cache)),
            Node::Or(c) => c.iter().any(|n| n.eval(cx, cache)),
            Node::Not(c) => !c.eval(cx, cache),
            Node::Check(c) => c.eval(cx, cache),
            Node::EvtType(t) => t.eval(cx),
        }
    }
}

/// The main thread of `t`'s process, as sinsp walks ancestors.
fn main_of<'s>(state: &'s State, t: &'s Thread) -> &'s Thread {
    state.main_thread(t).unwrap_or(t)
}

impl Check {
    fn eval<'a>(&self, cx: &Ctx<'a>, cache: &mut FieldCache<'a>) -> bool {
        match &self.lhs.src {
            Source::Field { slot, field } => {
                cache.fill(*slot, field, cx);
                if let RhsIr::Field { rhs, .. } = &self.rhs {
                    match &rhs.src {
                        Source::Field { slot, field } => cache.fill(*slot, field, cx),
                        _ => return false,
                    }
                }
                if self.lhs.chain.is_empty()
                    && matches!(&self.rhs, RhsIr::Field { rhs, .. } if rhs.chain.is_empty())
                    || self.lhs.chain.is_empty() && matches!(self.rhs, RhsIr::Const(_))
                {
                    let Some(v) = cache.get(*slot) else {
                        return false;
                    };
                    let l = View::of(v);
                    return match &self.rhs {
                        RhsIr::Const(m) => m.test(&l),
                        RhsIr::Field { op, rhs, dom } => {
                            let Source::Field { slot, .. } = &rhs.src else {
                                return false;
                            };
                            match cache.get(*slot) {
                                Some(r) => compare_views(*op, &l, &View::of(r), *dom),
                                None => false,
                            }
                        }
                    };
                }
                self.eval_transformed(*slot, cache)
            }
            Source::Ancestors(id) => {
                let RhsIr::Const(m) = &self.rhs else {
                    return false;
                };
                let Some(t) = cx.st.thread else {
                    return false;
                };
                let state = cx.st.state;
                let mut cur = main_of(state, t);
                for _ in 0..256 {
                    let Some(p) = state.parent_of(cur) else {
                        return false;
                    };
                    cur = main_of(state, p);
                    let v = match id {
                        FieldId::ProcAname => View::Text(cur.info.comm.as_bytes()),
                        FieldId::ProcAexe => View::Text(cur.info.exe.as_bytes()),
                        FieldId::ProcAexepath => View::Text(cur.info.exepath.as_bytes()),
                        _ => View::Num(cur.pid as i128),
                    };
                    if m.test(&v) {
                        return true;
                    }
                }
                false
            }
            Source::EitherEnd {
                client,
                server,
                all,
            } => {
                let RhsIr::Const(m) = &self.rhs else {
                    return false;
                };
                cache.fill(client.0, &client.1, cx);
                cache.fill(server.0, &server.1, cx);
                let c = cache.get(client.0).map(View::of);
                let s = cache.get(server.0).map(View::of);
                if c.is_none() && s.is_none() {
                    return false;
                }
                let mut it = c.iter().chain(s.iter());
                if *all {
                    it.all(|v| m.test(v))
                } else {
                    it.any(|v| m.test(v))
                }
            }
        }
    }

    /// The slow path: transformers on one side or both.
    fn eval_transformed(&self, slot: u32, cache: &mut FieldCache<'_>) -> bool {
        let mut bufs = [
            cache.take_buf(),
            cache.take_buf(),
            cache.take_buf(),
            cache.take_buf(),
        ];
        let r = {
            let [a, b, c, d] = &mut bufs;
            match cache.get(slot) {
                None => false,
                Some(v) => match apply_chain(&self.lhs.chain, self.lhs.field_ty, v, a, b) {
                    None => false,
                    Some(l) => match &self.rhs {
                        RhsIr::Const(m) => m.test(&l),
                        RhsIr::Field { op, rhs, dom } => match &rhs.src {
                            Source::Field { slot, .. } => match cache.get(*slot) {
                                Some(rv) => match apply_chain(&rhs.chain, rhs.field_ty, rv, c, d) {
                                    Some(r) => compare_views(*op, &l, &r, *dom),
                                    None => false,
                                },
                                None => false,
                            },
                            _ => false,
                        },
                    },
                },
            }
        };
        for b in bufs {
            cache.give(b);
        }
        r
    }
}

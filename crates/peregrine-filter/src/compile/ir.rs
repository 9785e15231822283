//! The checked form of a condition: fields bound to cache slots, constants
//! converted, operators resolved to matchers. Evaluation lives here too.

use super::cache::FieldCache;
use super::check::{ByteSet, Dom, Matcher, Rel, Test, View, compare_views};
use super::transform::{Xf, apply_chain};
use crate::condition::CmpOp;
use crate::extract::{Ctx, event_type_name, value_on_code};
use crate::field::Field;
use crate::registry::FieldId;
use crate::value::FieldType;
use peregrine_event::code;
use peregrine_state::{State, Thread};
use std::fmt::Write;
use std::sync::Arc;

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
    /// Shared by every filter of an interner that has the same check.
    Check(Arc<Check>),
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
    pub(crate) fn eval(&self, cx: &Ctx<'_>) -> bool {
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
    /// Identifies the check among all those compiled with the same
    /// interner: equal checks (from the same macro in many rules) share
    /// the id, and the cache remembers the result once per event.
    pub(crate) memo: u32,
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

impl Check {
    /// A rough evaluation cost, to run cheap checks of an `and`/`or`
    /// first: reading a header or state value is cheap; rendering event
    /// arguments, joining command lines, walking ancestors, transformers
    /// and regular expressions are not.
    pub(crate) fn cost(&self) -> u32 {
        use FieldId::*;
        let field_cost = |src: &Source| match src {
            Source::Ancestors(_) => 20,
            Source::EitherEnd { .. } => 3,
            Source::Field { field, .. } => match field.def.id {
                EvtArg | EvtArgs | EvtInfo => 20,
                EvtTime | EvtOutputtime | EvtTimeS | EvtTimeIso8601 | EvtDatetime
                | EvtDatetimeS => 20,
                ProcCmdline | ProcArgs | ProcExeline | ProcPcmdline | ProcEnv | ProcSname
                | ProcVpgidName | ProcVpgidExe | ProcLoginshellid | ThreadCapPermitted
                | ThreadCapEffective | ThreadCapInheritable => 10,
                ProcAname | ProcAexe | ProcAexepath | ProcApid => 10,
                FdName | FdNameraw | FdDirectory | FdFilename | EvtRawarg => 2,
                _ => 1,
            },
        };
        let mut c = field_cost(&self.lhs.src) + 5 * self.lhs.chain.len() as u32;
        c += match &self.rhs {
            RhsIr::Const(m) => m.cost(),
            RhsIr::Field { rhs, .. } => 1 + field_cost(&rhs.src) + 5 * rhs.chain.len() as u32,
        };
        c
    }
}

impl Check {
    /// The result the check has on every event of code `code`, when the
    /// code alone decides it (`evt.dir`, `evt.is_open_read` outside opens,
    /// `fd.*` on events without an fd, ...) or when no event number can
    /// change it ([`Check::on_any_number`]); `None` when it depends on the
    /// event. Agrees with [`Check::eval`] on every event of the code that
    /// rules see.
    pub(crate) fn on_code(&self, code: u16) -> Option<bool> {
        if let Some(r) = self.on_any_number() {
            return Some(r);
        }
        let absent = |f: &Field| matches!(value_on_code(f, code), Some(None));
        match &self.lhs.src {
            Source::Field { field, .. } => {
                let v = value_on_code(field, code)?;
                // A check whose field has no value is false.
                let Some(v) = v else { return Some(false) };
                match &self.rhs {
                    RhsIr::Const(m) if self.lhs.chain.is_empty() => Some(m.test(&View::of(&v))),
                    _ => None,
                }
            }
            Source::EitherEnd { client, server, .. } => {
                (absent(&client.1) && absent(&server.1)).then_some(false)
            }
            Source::Ancestors(_) => None,
        }
    }
}

impl Check {
    /// The result of an `evt.num` comparison with a constant that every
    /// event number rules see gives alike: events are numbered from 1, as
    /// in Falco (only table events, which rules never see, can share the
    /// number 0). This decides `evt.num = 0`, the upstream rules'
    /// `never_true` macro, which many rules reach through `and not
    /// user_known_...` placeholders.
    fn on_any_number(&self) -> Option<bool> {
        let Source::Field { field, .. } = &self.lhs.src else {
            return None;
        };
        if field.def.id != FieldId::EvtNum || !self.lhs.chain.is_empty() {
            return None;
        }
        let RhsIr::Const(Matcher::One(Test::Num(rel, c, _))) = &self.rhs else {
            return None;
        };
        // `n rel c` for every n >= 1.
        match rel {
            Rel::Eq | Rel::Le if *c < 1 => Some(false),
            Rel::Lt if *c <= 1 => Some(false),
            Rel::Ne | Rel::Gt if *c < 1 => Some(true),
            Rel::Ge if *c <= 1 => Some(true),
            _ => None,
        }
    }
}

impl Source {
    /// Appends a key naming the source: equal keys read equal values.
    fn write_key(&self, out: &mut String) {
        let _ = match self {
            Source::Field { slot, .. } => write!(out, "f{slot}"),
            Source::Ancestors(id) => write!(out, "a{id:?}"),
            Source::EitherEnd {
                client,
                server,
                all,
            } => write!(out, "e{}/{}/{all}", client.0, server.0),
        };
    }
}

impl Operand {
    /// A key naming the operand: equal keys give equal values. Built once
    /// per check of every rule at load time, so written compactly, without
    /// intermediate strings.
    pub(crate) fn key(&self) -> String {
        let mut out = String::with_capacity(32);
        self.src.write_key(&mut out);
        for x in &self.chain {
            let _ = write!(out, "/{x:?}");
        }
        let _ = write!(out, "/{:?}/{}", self.ty.base, u8::from(self.ty.list));
        out
    }
}

/// The main thread of `t`'s process, as sinsp walks ancestors.
fn main_of<'s>(state: &'s State, t: &'s Thread) -> &'s Thread {
    state.main_thread(t).unwrap_or(t)
}

impl Check {
    /// Evaluates the check on one event, or recalls its result when an
    /// equal check already ran on the event.
    #[inline]
    pub(crate) fn eval<'a>(&self, cx: &Ctx<'a>, cache: &mut FieldCache<'a>) -> bool {
        if let Some(r) = cache.recalled(self.memo) {
            return r;
        }
        let r = self.eval_uncached(cx, cache);
        cache.remember(self.memo, r);
        r
    }

    /// Evaluates the check on one event, without the per-event results.
    pub(crate) fn eval_uncached<'a>(&self, cx: &Ctx<'a>, cache: &mut FieldCache<'a>) -> bool {
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

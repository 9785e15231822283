//! The executable form of a condition: a branching program. Every
//! instruction evaluates one leaf (a check or an `evt.type` test) and jumps
//! to its true or false successor, or ends with the result; `and`, `or`
//! and `not` become jumps, so evaluation is a flat loop without recursion.
//!
//! A condition is also specialized per event code: on an event whose code
//! is not generic, every `evt.type` leaf is a constant, and so is every
//! check whose field the code alone decides ([`super::ir::Check::on_code`]:
//! `evt.dir`, open flags outside opens, fd fields on calls without an fd),
//! so the tree is folded before it is turned into a program. A rule whose
//! `evt.type` checks the engine's per-code index already guarantees then
//! runs without them, and a branch that cannot match the code disappears.
//! Leaves are pure (they only fill the field cache), so folding never
//! changes a result.

use super::cache::FieldCache;
use super::ir::{Check, EvtTypeCheck, Node};
use crate::extract::Ctx;
use peregrine_event::code;
use std::sync::Arc;

/// Jump target: the condition holds.
pub(crate) const ACCEPT: u32 = u32::MAX;
/// Jump target: the condition does not hold.
pub(crate) const REJECT: u32 = u32::MAX - 1;

/// The condition tree with its leaves moved into arenas.
#[derive(Debug)]
pub(crate) enum Tree {
    And(Vec<Tree>),
    Or(Vec<Tree>),
    Not(Box<Tree>),
    /// Index into [`Leaves::checks`].
    Check(u32),
    /// Index into [`Leaves::evts`].
    EvtType(u32),
}

/// The leaves of one condition.
#[derive(Debug, Default)]
pub(crate) struct Leaves {
    pub(crate) checks: Vec<Arc<Check>>,
    pub(crate) evts: Vec<Arc<EvtTypeCheck>>,
}

impl Tree {
    /// Moves the leaves of `n` into `leaves`.
    pub(crate) fn of(n: Node, leaves: &mut Leaves) -> Tree {
        match n {
            Node::And(c) => Tree::And(c.into_iter().map(|x| Tree::of(x, leaves)).collect()),
            Node::Or(c) => Tree::Or(c.into_iter().map(|x| Tree::of(x, leaves)).collect()),
            Node::Not(c) => Tree::Not(Box::new(Tree::of(*c, leaves))),
            Node::Check(c) => {
                leaves.checks.push(c);
                Tree::Check(leaves.checks.len() as u32 - 1)
            }
            Node::EvtType(t) => {
                leaves.evts.push(Arc::new(*t));
                Tree::EvtType(leaves.evts.len() as u32 - 1)
            }
        }
    }
}

/// A leaf to evaluate.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Leaf {
    Check(u32),
    EvtType(u32),
}

/// One instruction: evaluate `leaf`, go on at `on_true` or `on_false`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ins {
    pub(crate) leaf: Leaf,
    pub(crate) on_true: u32,
    pub(crate) on_false: u32,
}

/// A branching program.
#[derive(Debug)]
pub(crate) struct Prog {
    pub(crate) ins: Vec<Ins>,
    pub(crate) entry: u32,
}

/// A tree after constant folding.
enum Folded {
    Const(bool),
    Leaf(Leaf),
    And(Vec<Folded>),
    Or(Vec<Folded>),
    Not(Box<Folded>),
}

impl Folded {
    /// Upper bound of the cost of evaluating it.
    fn cost(&self, leaves: &Leaves) -> u32 {
        match self {
            Folded::Const(_) => 0,
            Folded::Leaf(Leaf::EvtType(_)) => 1,
            Folded::Leaf(Leaf::Check(i)) => leaves.checks[*i as usize].cost(),
            Folded::Not(c) => c.cost(leaves),
            Folded::And(c) | Folded::Or(c) => c
                .iter()
                .fold(0u32, |acc, x| acc.saturating_add(x.cost(leaves))),
        }
    }
}

/// Cost from which an operand runs after the cheap ones.
const EXPENSIVE: u32 = 10;

/// Folds `t` with the leaf results `known` in advance.
/// The expensive operands of each `and` and `or` (rendered arguments,
/// command lines, ancestors, transformers, regexes) move after the cheap
/// ones, keeping their order otherwise: the written order often puts
/// selective checks shared by many rules (macros) first, and those are
/// free after the first rule thanks to the per-event check results. Leaves have no effect
/// but filling the field cache, so neither folding nor reordering changes
/// the result.
fn fold(t: &Tree, known: &Known<'_>, leaves: &Leaves) -> Folded {
    match t {
        Tree::Check(i) => match known.check(*i) {
            Some(b) => Folded::Const(b),
            None => Folded::Leaf(Leaf::Check(*i)),
        },
        Tree::EvtType(i) => match known.evt(*i) {
            Some(b) => Folded::Const(b),
            None => Folded::Leaf(Leaf::EvtType(*i)),
        },
        Tree::Not(c) => match fold(c, known, leaves) {
            Folded::Const(b) => Folded::Const(!b),
            f => Folded::Not(Box::new(f)),
        },
        Tree::And(c) | Tree::Or(c) => {
            let and = matches!(t, Tree::And(_));
            let mut out = Vec::with_capacity(c.len());
            for x in c {
                match fold(x, known, leaves) {
                    // `true` in an `and`, `false` in an `or`: neutral.
                    Folded::Const(b) if b == and => {}
                    // The other one decides.
                    Folded::Const(b) => return Folded::Const(b),
                    f => out.push(f),
                }
            }
            if out.len() > 1 {
                let mut keyed: Vec<(u32, Folded)> =
                    out.into_iter().map(|f| (f.cost(leaves), f)).collect();
                keyed.sort_by_key(|(c, _)| *c >= EXPENSIVE);
                out = keyed.into_iter().map(|(_, f)| f).collect();
            }
            match out.len() {
                0 => Folded::Const(and),
                1 => out.pop().expect("one child"),
                _ if and => Folded::And(out),
                _ => Folded::Or(out),
            }
        }
    }
}

/// Emits `f` so that it continues at `t` when true and `f` when false;
/// returns its entry.
fn emit(n: &Folded, t: u32, f: u32, ins: &mut Vec<Ins>) -> u32 {
    match n {
        Folded::Const(true) => t,
        Folded::Const(false) => f,
        Folded::Leaf(leaf) => {
            ins.push(Ins {
                leaf: *leaf,
                on_true: t,
                on_false: f,
            });
            ins.len() as u32 - 1
        }
        Folded::Not(c) => emit(c, f, t, ins),
        Folded::And(c) => c.iter().rev().fold(t, |next, x| emit(x, next, f, ins)),
        Folded::Or(c) => c.iter().rev().fold(f, |next, x| emit(x, t, next, ins)),
    }
}

/// What a filter does on events of one code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Plan {
    /// It never matches.
    Never,
    /// It always matches.
    Always,
    /// It runs its program number `n` ([`super::Filter::matches_plan`]).
    Run(u32),
}

/// Leaf results known in advance (for events of one code), by leaf
/// index; an empty list knows nothing.
#[derive(Clone, Copy, Default)]
pub(crate) struct Known<'k> {
    pub(crate) evts: &'k [Option<bool>],
    pub(crate) checks: &'k [Option<bool>],
}

impl Known<'_> {
    fn evt(&self, i: u32) -> Option<bool> {
        self.evts.get(i as usize).copied().flatten()
    }

    fn check(&self, i: u32) -> Option<bool> {
        self.checks.get(i as usize).copied().flatten()
    }
}

/// Builds the plan for `tree` with the leaf results `known` in advance,
/// appending a program to `progs` when one is needed.
pub(crate) fn plan(tree: &Tree, leaves: &Leaves, known: &Known<'_>, progs: &mut Vec<Prog>) -> Plan {
    let folded = fold(tree, known, leaves);
    if let Folded::Const(b) = folded {
        return if b { Plan::Always } else { Plan::Never };
    }
    let mut ins = Vec::new();
    let entry = emit(&folded, ACCEPT, REJECT, &mut ins);
    // Emission runs backwards: renumber so that execution moves forward
    // through memory.
    let n = ins.len() as u32;
    let map = |j: u32| if j >= REJECT { j } else { n - 1 - j };
    ins.reverse();
    for i in &mut ins {
        i.on_true = map(i.on_true);
        i.on_false = map(i.on_false);
    }
    progs.push(Prog {
        ins,
        entry: map(entry),
    });
    Plan::Run(progs.len() as u32 - 1)
}

/// The known value of `evt.type` leaf `t` on events of `c`: every leaf is
/// decided by the code, except on generic events (decided by the syscall
/// named in the event).
pub(crate) fn evt_on_code(t: &EvtTypeCheck, c: u16) -> Option<bool> {
    if c == code::GENERIC_E || c == code::GENERIC_X {
        return None;
    }
    let hit = t
        .codes
        .get(c as usize / 64)
        .is_some_and(|w| w & (1u64 << (c % 64)) != 0);
    Some(hit != t.negate)
}

impl Prog {
    /// Runs the program on one event.
    #[inline]
    pub(crate) fn run<'a>(
        &self,
        leaves: &Leaves,
        cx: &Ctx<'a>,
        cache: &mut FieldCache<'a>,
    ) -> bool {
        let mut pc = self.entry;
        while let Some(ins) = self.ins.get(pc as usize) {
            let hit = match ins.leaf {
                Leaf::Check(i) => leaves.checks[i as usize].eval(cx, cache),
                Leaf::EvtType(i) => leaves.evts[i as usize].eval(cx),
            };
            pc = if hit { ins.on_true } else { ins.on_false };
        }
        pc == ACCEPT
    }
}

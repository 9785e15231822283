//! The condition compiler and evaluator.
//!
//! [`compile_with`] turns a parsed condition (macros and lists already
//! expanded) into a [`Filter`]: every field is resolved and bound to a slot
//! of a [`FieldInterner`], operators are checked against field types with
//! libsinsp's rules and messages, and right-hand constants are converted
//! once (numbers, booleans, addresses, networks, hash sets for `in`, path
//! tries for `pmatch`, regexes). [`Filter::matches`] then evaluates it on
//! an event with Falco's semantics, reading fields through a per-event
//! [`FieldCache`] shared by all filters compiled with the same interner.
//!
//! ```
//! use peregrine_filter::compile::{FieldInterner, compile_with};
//! use peregrine_filter::condition::parse;
//! let text = "evt.type in (open, openat) and proc.name = cat";
//! let mut fields = FieldInterner::new();
//! let f = compile_with(&parse(text).unwrap(), text, &mut fields).unwrap();
//! assert!(f.event_codes().is_some());
//! ```

mod batch;
mod cache;
mod check;
mod evttype;
mod ir;
mod lower;
mod prog;
mod transform;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod upstream_tests;

pub use batch::{Batch, BatchBuilder};
pub use cache::{FieldCache, FieldInterner};
pub use prog::Plan;

use crate::condition::{Expr, Span, line_col};
use crate::extract::Ctx;
use std::collections::HashMap;
use std::fmt;

/// Why a condition does not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    /// Falco's message (`filter_check called with nonexistent field x`).
    pub message: String,
    /// The offending part of the condition (field, value or check).
    pub span: Span,
    /// The whole check the error is in; Falco reports its start.
    pub check: Span,
    /// Line (1-based) of `span.start` in the condition text.
    pub line: u32,
    /// Column (1-based) of `span.start` in the condition text.
    pub col: u32,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CompileError {}

/// Known results of the `evt.type` leaves and of the checks of a filter.
type LeafResults = (Vec<Option<bool>>, Vec<Option<bool>>);

/// A compiled condition.
#[derive(Debug)]
pub struct Filter {
    tree: prog::Tree,
    leaves: prog::Leaves,
    /// Programs: the general one first, then those specialized per code.
    progs: Vec<prog::Prog>,
    general: Plan,
    /// Specialized plans by the leaf results known for an event code
    /// (`evt.type` leaves, then checks).
    plans: HashMap<LeafResults, Plan, cache::FxBuild>,
    codes: Option<Vec<u16>>,
    layout: u64,
}

impl Filter {
    /// True when the event in `cx` satisfies the condition. Field values
    /// are read through `cache` (call [`FieldCache::reset`] between
    /// events). A check whose field has no value is false (so `not` of it
    /// is true), also under `!=`.
    pub fn matches<'a>(&self, cx: &Ctx<'a>, cache: &mut FieldCache<'a>) -> bool {
        self.matches_plan(self.general, cx, cache)
    }

    /// The filter specialized for events of code `code`: its `evt.type`
    /// checks (except on generic events, which stand for many syscalls)
    /// and the checks the code alone decides are decided once, and the
    /// condition folded around them. The plan is
    /// built on first use and then reused; run it with
    /// [`Filter::matches_plan`] on events of that code only.
    pub fn plan_for(&mut self, code: u16) -> Plan {
        let evts: Vec<Option<bool>> = self
            .leaves
            .evts
            .iter()
            .map(|t| prog::evt_on_code(t, code))
            .collect();
        let checks: Vec<Option<bool>> =
            self.leaves.checks.iter().map(|c| c.on_code(code)).collect();
        if evts.iter().chain(&checks).all(Option::is_none) {
            return self.general;
        }
        let key = (evts, checks);
        if let Some(p) = self.plans.get(&key) {
            return *p;
        }
        let known = prog::Known {
            evts: &key.0,
            checks: &key.1,
        };
        let p = prog::plan(&self.tree, &self.leaves, &known, &mut self.progs);
        self.plans.insert(key, p);
        p
    }

    /// Like [`Filter::matches`], with a plan of [`Filter::plan_for`] for
    /// the event's code.
    #[inline]
    pub fn matches_plan<'a>(&self, plan: Plan, cx: &Ctx<'a>, cache: &mut FieldCache<'a>) -> bool {
        match plan {
            Plan::Never => false,
            Plan::Always => true,
            Plan::Run(n) => {
                cache.bind(self.layout);
                self.progs
                    .get(n as usize)
                    .is_some_and(|p| p.run(&self.leaves, cx, cache))
            }
        }
    }

    /// The event codes (every version and direction of each named event
    /// type) the filter can match, from its `evt.type` checks; `None` when
    /// it can match any event. Syscalls without an event of their own
    /// (e.g. `mprotect`) arrive as generic events: they contribute the
    /// generic codes, and the filter checks the syscall name.
    pub fn event_codes(&self) -> Option<Vec<u16>> {
        self.codes.clone()
    }
}

/// Compiles `expr` (parsed from `text`, used for error positions) with a
/// private field interner. Filters compiled this way may share a
/// [`FieldCache`] with others, but then lose the cache's benefit; use
/// [`compile_with`] and one interner per engine.
pub fn compile(expr: &Expr, text: &str) -> Result<Filter, CompileError> {
    compile_with(expr, text, &mut FieldInterner::new())
}

/// Compiles `expr` (parsed from `text`, used for error positions), binding
/// its fields to slots of `interner`. Every filter compiled with the same
/// interner shares one [`FieldCache`] layout.
pub fn compile_with(
    expr: &Expr,
    text: &str,
    interner: &mut FieldInterner,
) -> Result<Filter, CompileError> {
    let mut low = lower::Lower::new(interner);
    let root = low.expr(expr).map_err(|f| {
        let (line, col) = line_col(text, f.span.start);
        CompileError {
            message: f.message,
            span: f.span,
            check: f.check,
            line,
            col,
        }
    })?;
    let codes = evttype::event_codes(&root);
    let mut leaves = prog::Leaves::default();
    let tree = prog::Tree::of(root, &mut leaves);
    let mut progs = Vec::new();
    let general = prog::plan(&tree, &leaves, &prog::Known::default(), &mut progs);
    Ok(Filter {
        tree,
        leaves,
        progs,
        general,
        plans: HashMap::default(),
        codes,
        layout: interner.layout(),
    })
}

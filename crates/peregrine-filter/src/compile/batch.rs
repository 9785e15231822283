//! Many filters, in order, joined into one branching program for the events
//! of one code: the first filter that holds wins.
//!
//! Each filter's program for the code ([`Filter::plan_for`]) is copied
//! into one flat array. Where a filter's program would end with "no", the
//! joined program goes on at the entry of the next filter; where it would
//! end with "yes", it ends with that filter's position. Every step carries
//! the id of its check, so a check an earlier filter already evaluated on
//! the event (the same macro in many rules) costs one load and a compare,
//! without touching the check itself. Running many rules on an event is
//! then one loop over contiguous memory instead of a walk through each
//! rule's own structures.

use super::Filter;
use super::cache::FieldCache;
use super::ir::{Check, EvtTypeCheck};
use super::prog::{Leaf, Plan};
use crate::extract::Ctx;
use std::sync::Arc;

/// Targets from here on are not steps: `MATCH + i` ends with filter `i`
/// (its position in [`Batch`]); [`NONE`] ends without a match.
const MATCH: u32 = u32::MAX / 2;
/// Target: no filter holds.
const NONE: u32 = u32::MAX;
/// Marks a leaf index as an `evt.type` leaf (generic events only: other
/// codes decide those leaves when the filter is specialized).
const EVT: u32 = 1 << 31;

/// One step: evaluate a leaf, go on at `on_true` or `on_false`.
#[derive(Clone, Copy, Debug)]
struct Step {
    /// The check's id in the field cache's per-event results.
    memo: u32,
    /// Index into [`Batch::checks`], or with [`EVT`] into [`Batch::evts`].
    leaf: u32,
    on_true: u32,
    on_false: u32,
}

/// The filters that can match one event code, joined into one program.
#[derive(Debug, Default)]
pub struct Batch {
    steps: Vec<Step>,
    entry: u32,
    /// The caller's id of each filter, in order.
    ids: Vec<u32>,
    checks: Vec<Arc<Check>>,
    evts: Vec<Arc<EvtTypeCheck>>,
    layout: u64,
}

/// Builds a [`Batch`] for one event code.
#[derive(Default)]
pub struct BatchBuilder {
    batch: Batch,
    /// Per check id: its index in [`Batch::checks`] ([`NONE`]: not yet in).
    by_memo: Vec<u32>,
    /// Steps whose `on_false`/`on_true` must go to the next filter's entry.
    pending: Vec<(u32, bool)>,
    /// The same, for the filter being added.
    fresh: Vec<(u32, bool)>,
    /// Entry still unknown: the batch's entry.
    entry_pending: bool,
}

impl BatchBuilder {
    /// An empty batch.
    pub fn new() -> BatchBuilder {
        BatchBuilder {
            batch: Batch {
                entry: NONE,
                ..Batch::default()
            },
            entry_pending: true,
            ..BatchBuilder::default()
        }
    }

    /// Adds `filter` with its `plan` for the batch's event code
    /// ([`Filter::plan_for`]) under the caller's `id`. Filters that can
    /// never match ([`Plan::Never`]) are left out.
    pub fn push(&mut self, id: u32, filter: &Filter, plan: Plan) {
        let pos = self.batch.ids.len() as u32;
        let entry = match plan {
            Plan::Never => return,
            Plan::Always => MATCH + pos,
            Plan::Run(n) if filter.progs[n as usize].entry == super::prog::REJECT => return,
            Plan::Run(n) => self.copy(filter, n, pos),
        };
        self.batch.ids.push(id);
        self.batch.layout = filter.layout;
        self.link(entry);
        self.pending.append(&mut self.fresh);
    }

    /// Points everything waiting for "the next filter" at `entry`.
    fn link(&mut self, entry: u32) {
        if self.entry_pending {
            self.batch.entry = entry;
            self.entry_pending = false;
        }
        for (step, when_true) in self.pending.drain(..) {
            let s = &mut self.batch.steps[step as usize];
            if when_true {
                s.on_true = entry;
            } else {
                s.on_false = entry;
            }
        }
    }

    /// Copies program `n` of `filter`; returns its entry in the batch.
    fn copy(&mut self, filter: &Filter, n: u32, pos: u32) -> u32 {
        let prog = &filter.progs[n as usize];
        let base = self.batch.steps.len() as u32;
        for (j, ins) in prog.ins.iter().enumerate() {
            let (memo, leaf) = match ins.leaf {
                Leaf::Check(i) => {
                    let check = &filter.leaves.checks[i as usize];
                    let m = check.memo as usize;
                    if m >= self.by_memo.len() {
                        self.by_memo.resize(m + 1, NONE);
                    }
                    if self.by_memo[m] == NONE {
                        self.by_memo[m] = self.batch.checks.len() as u32;
                        self.batch.checks.push(Arc::clone(check));
                    }
                    (check.memo, self.by_memo[m])
                }
                Leaf::EvtType(i) => {
                    self.batch
                        .evts
                        .push(Arc::clone(&filter.leaves.evts[i as usize]));
                    (0, EVT | (self.batch.evts.len() as u32 - 1))
                }
            };
            let at = base + j as u32;
            let target = |t: u32, when_true: bool, pending: &mut Vec<(u32, bool)>| match t {
                super::prog::ACCEPT => MATCH + pos,
                super::prog::REJECT => {
                    pending.push((at, when_true));
                    NONE
                }
                t => base + t,
            };
            let on_true = target(ins.on_true, true, &mut self.fresh);
            let on_false = target(ins.on_false, false, &mut self.fresh);
            self.batch.steps.push(Step {
                memo,
                leaf,
                on_true,
                on_false,
            });
        }
        match prog.entry {
            super::prog::ACCEPT => MATCH + pos,
            e => base + e,
        }
    }

    /// The finished batch.
    pub fn build(mut self) -> Batch {
        self.link(NONE);
        thread_jumps(&mut self.batch);
        self.batch
    }
}

/// Check results known on the way to a step: `(check id, result)`, sorted.
type Facts = Vec<(u32, bool)>;

/// Jump threading: a jump to a step whose check's result is already known
/// on every way there (the same macro tested by the rule before) goes
/// straight to that step's successor. Steps only jump forward, so one pass
/// in order sees every jump into a step before the step itself; what is
/// known at a step is what all jumps into it agree on.
fn thread_jumps(batch: &mut Batch) {
    let n = batch.steps.len();
    let mut known: Vec<Option<Facts>> = vec![None; n];
    let entry = batch.entry;
    batch.entry = thread(&batch.steps, entry, &Facts::new(), &mut known);
    for at in 0..n {
        let Some(facts) = known[at].take() else {
            continue; // no longer reached
        };
        let step = batch.steps[at];
        for when in [true, false] {
            let mut f = facts.clone();
            if step.leaf & EVT == 0
                && let Err(i) = f.binary_search_by_key(&step.memo, |x| x.0)
            {
                f.insert(i, (step.memo, when));
            }
            let target = if when { step.on_true } else { step.on_false };
            let t = thread(&batch.steps, target, &f, &mut known);
            let s = &mut batch.steps[at];
            if when {
                s.on_true = t;
            } else {
                s.on_false = t;
            }
        }
    }
}

/// Follows `target` past steps whose result `facts` knows; records what is
/// known on arrival.
fn thread(steps: &[Step], mut target: u32, facts: &Facts, known: &mut [Option<Facts>]) -> u32 {
    while let Some(s) = steps.get(target as usize) {
        if s.leaf & EVT != 0 {
            break;
        }
        match facts.binary_search_by_key(&s.memo, |x| x.0) {
            Ok(i) => target = if facts[i].1 { s.on_true } else { s.on_false },
            Err(_) => break,
        }
    }
    if let Some(k) = known.get_mut(target as usize) {
        *k = Some(match k.take() {
            None => facts.clone(),
            Some(mut old) => {
                old.retain(|x| facts.binary_search(x).is_ok());
                old
            }
        });
    }
    target
}

impl Batch {
    /// True when no filter can match.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The ids of the filters, in order.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// The id of the first filter (in the order they were added) that the
    /// event in `cx` satisfies; the event must be of the batch's code.
    /// Field values and check results are read through `cache` (call
    /// [`FieldCache::reset`] between events).
    #[inline]
    pub fn first_match<'a>(&self, cx: &Ctx<'a>, cache: &mut FieldCache<'a>) -> Option<u32> {
        cache.bind(self.layout);
        let mut pc = self.entry;
        while let Some(step) = self.steps.get(pc as usize) {
            let hit = if step.leaf & EVT != 0 {
                self.evts
                    .get((step.leaf & !EVT) as usize)
                    .is_some_and(|e| e.eval(cx))
            } else if let Some(r) = cache.recalled(step.memo) {
                r
            } else {
                let r = self
                    .checks
                    .get(step.leaf as usize)
                    .is_some_and(|c| c.eval_uncached(cx, cache));
                cache.remember(step.memo, r);
                r
            };
            pc = if hit { step.on_true } else { step.on_false };
        }
        if pc == NONE {
            return None;
        }
        self.ids.get(pc.checked_sub(MATCH)? as usize).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{FieldInterner, compile_with};
    use crate::condition::parse;
    use peregrine_event::code;

    fn batch(conds: &[&str]) -> Batch {
        let mut fields = FieldInterner::new();
        let mut b = BatchBuilder::new();
        for (i, text) in conds.iter().enumerate() {
            let mut f = compile_with(&parse(text).unwrap(), text, &mut fields).unwrap();
            let plan = f.plan_for(code::SYSCALL_OPEN_X);
            b.push(i as u32, &f, plan);
        }
        b.build()
    }

    #[test]
    fn known_results_are_jumped_over() {
        let b = batch(&[
            "proc.name = cat and fd.num > 3",
            "proc.name = cat and fd.num < 2",
            "proc.name = cat and fd.num = 7",
        ]);
        let first = b.steps[b.entry as usize];
        // `proc.name = cat` false: no later rule can hold.
        assert_eq!(first.on_false, NONE);
        // `fd.num > 3` false: the next rule resumes after its own
        // `proc.name = cat`, known true on the way.
        let second = b.steps[first.on_true as usize];
        let resumed = b.steps[second.on_false as usize];
        assert_ne!(resumed.memo, first.memo);
        assert_ne!(resumed.memo, second.memo);
        // `fd.num > 3` true: the first rule matches.
        assert_eq!(second.on_true, MATCH);
    }

    #[test]
    fn event_numbers_from_one_decide_comparisons_with_zero() {
        use crate::compile::Plan;
        let plan = |text: &str| {
            let mut fields = FieldInterner::new();
            let mut f = compile_with(&parse(text).unwrap(), text, &mut fields).unwrap();
            f.plan_for(code::SYSCALL_OPEN_X)
        };
        for never in [
            "evt.num = 0",
            "evt.num < 1",
            "evt.num <= 0",
            "not evt.num != 0",
            "proc.name = cat and evt.num = 0",
            "not evt.num >= 1",
        ] {
            assert!(matches!(plan(never), Plan::Never), "{never}");
        }
        for always in ["evt.num > 0", "evt.num != 0", "not evt.num = 0"] {
            assert!(matches!(plan(always), Plan::Always), "{always}");
        }
        // Numbers can make these go either way.
        for open in [
            "evt.num = 1",
            "evt.num > 1",
            "evt.num < 2",
            "evt.num in (0)",
            "evt.num = 0 or proc.name = cat",
        ] {
            assert!(matches!(plan(open), Plan::Run(_)), "{open}");
        }
    }

    /// The steps reachable from the entry.
    fn reachable(b: &Batch) -> Vec<u32> {
        let mut seen = vec![false; b.steps.len()];
        let mut todo = vec![b.entry];
        while let Some(i) = todo.pop() {
            let Some(s) = b.steps.get(i as usize) else {
                continue;
            };
            if !std::mem::replace(&mut seen[i as usize], true) {
                todo.extend([s.on_true, s.on_false]);
            }
        }
        (0..b.steps.len() as u32)
            .filter(|&i| seen[i as usize])
            .collect()
    }

    #[test]
    fn facts_that_differ_by_path_are_not_assumed() {
        // The second rule's test is reached with `fd.num > 3` known false
        // (cat, small fd) or unknown (not cat): the third rule, after it,
        // must keep its own test of `fd.num > 3`.
        let b = batch(&[
            "proc.name = cat and fd.num > 3",
            "proc.name = dog",
            "fd.num > 3",
        ]);
        let reached = reachable(&b);
        let third: Vec<&Step> = reached
            .iter()
            .map(|&i| &b.steps[i as usize])
            .filter(|s| s.on_true == MATCH + 2)
            .collect();
        assert_eq!(third.len(), 1, "{:?}", b.steps);
        // Every path still ends: a match of some rule, or none.
        for s in reached.iter().map(|&i| b.steps[i as usize]) {
            for t in [s.on_true, s.on_false] {
                assert!(t == NONE || (MATCH..MATCH + 3).contains(&t) || reached.contains(&t));
            }
        }
    }
}

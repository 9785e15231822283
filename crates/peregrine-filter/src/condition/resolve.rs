//! Passes over a parsed condition: reference collection, list and macro
//! expansion, and event-type inference, as Falco's rules engine does them.

use super::EventTypes;
use super::ast::{
    CmpOp, Expr, ExprKind, FieldRef, Operand, Rhs, Span, TransformerArg, UnaryOp, Value,
};
use super::parser::{is_bare_str, quoted_len, unescape_quoted};
use std::collections::{BTreeSet, HashMap};
use std::fmt;

// ---------------------------------------------------------------- visitors

fn walk<'e>(e: &'e Expr, f: &mut impl FnMut(&'e Expr)) {
    f(e);
    match &e.kind {
        ExprKind::And(c) | ExprKind::Or(c) => c.iter().for_each(|c| walk(c, f)),
        ExprKind::Not(c) => walk(c, f),
        _ => {}
    }
}

/// Macro references in text order.
pub fn macro_refs(e: &Expr) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    walk(e, &mut |e| {
        if let ExprKind::Macro(n) = &e.kind {
            out.push((n.clone(), e.span));
        }
    });
    out
}

/// Unquoted identifier-shaped items of right-side lists (and a bare
/// identifier right of a list operator), in text order.
pub fn list_refs(e: &Expr) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    walk(e, &mut |e| {
        if let ExprKind::Binary { op, rhs, .. } = &e.kind {
            match rhs {
                Rhs::List(items, _) => {
                    for v in items.iter().filter(|v| v.is_identifier()) {
                        out.push((v.text.clone(), v.span));
                    }
                }
                Rhs::Value(v) if op.takes_list() && v.is_identifier() => {
                    out.push((v.text.clone(), v.span));
                }
                _ => {}
            }
        }
    });
    out
}

fn operand_fields<'e>(o: &'e Operand, out: &mut Vec<&'e FieldRef>) {
    match o {
        Operand::Field(f) => out.push(f),
        Operand::Transformer(t) => t.args.iter().for_each(|a| targ_fields(a, out)),
    }
}

fn targ_fields<'e>(a: &'e TransformerArg, out: &mut Vec<&'e FieldRef>) {
    match a {
        TransformerArg::Operand(o) => operand_fields(o, out),
        TransformerArg::Value(_) => {}
        TransformerArg::List(items, _) => items.iter().for_each(|a| targ_fields(a, out)),
    }
}

/// Every field in text order.
pub fn fields(e: &Expr) -> Vec<&FieldRef> {
    let mut out = Vec::new();
    walk(e, &mut |e| match &e.kind {
        ExprKind::Unary { lhs, .. } => operand_fields(lhs, &mut out),
        ExprKind::Binary { lhs, rhs, .. } => {
            operand_fields(lhs, &mut out);
            if let Rhs::Operand(o) = rhs {
                operand_fields(o, &mut out);
            }
        }
        _ => {}
    });
    out
}

// ---------------------------------------------------------------- macros

/// Why macro expansion failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacroErrorKind {
    /// No macro of that name is visible.
    Undefined,
    /// The macro refers to itself, directly or through other macros.
    Loop,
}

/// A macro that could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroError {
    /// Undefined or looping.
    pub kind: MacroErrorKind,
    /// The macro's name.
    pub name: String,
    /// Where the reference is (in the text of the condition or macro body
    /// that contains it).
    pub span: Span,
}

/// The name the rules loader codes against.
pub type UndefinedMacro = MacroError;

impl fmt::Display for MacroError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            MacroErrorKind::Undefined => {
                write!(f, "Undefined macro '{}' used in filter.", self.name)
            }
            MacroErrorKind::Loop => write!(f, "reference loop in macro '{}'", self.name),
        }
    }
}

impl std::error::Error for MacroError {}

struct MacroCx<'a, F> {
    lookup: &'a F,
    path: Vec<String>,
    first_loop: Option<MacroError>,
    first_unknown: Option<MacroError>,
}

fn expand_node<'m, F: Fn(&str) -> Option<&'m Expr>>(e: &Expr, cx: &mut MacroCx<'_, F>) -> Expr {
    match &e.kind {
        ExprKind::And(c) => Expr::new(
            ExprKind::And(c.iter().map(|c| expand_node(c, cx)).collect()),
            e.span,
        ),
        ExprKind::Or(c) => Expr::new(
            ExprKind::Or(c.iter().map(|c| expand_node(c, cx)).collect()),
            e.span,
        ),
        ExprKind::Not(c) => Expr::new(ExprKind::Not(Box::new(expand_node(c, cx))), e.span),
        ExprKind::Macro(name) => match (cx.lookup)(name) {
            Some(body) => {
                if cx.path.iter().any(|p| p == name) {
                    cx.first_loop.get_or_insert(MacroError {
                        kind: MacroErrorKind::Loop,
                        name: name.clone(),
                        span: e.span,
                    });
                    return e.clone();
                }
                cx.path.push(name.clone());
                let r = expand_node(body, cx);
                cx.path.pop();
                r
            }
            None => {
                cx.first_unknown.get_or_insert(MacroError {
                    kind: MacroErrorKind::Undefined,
                    name: name.clone(),
                    span: e.span,
                });
                e.clone()
            }
        },
        _ => e.clone(),
    }
}

/// Replaces each macro reference by the macro's body (itself expanded).
/// Errors: the first reference loop if any, else the first undefined macro
/// (Falco reports loops first).
pub fn expand_macros<'m>(
    e: &Expr,
    macros: &impl Fn(&str) -> Option<&'m Expr>,
) -> Result<Expr, MacroError> {
    let mut cx = MacroCx {
        lookup: macros,
        path: Vec::new(),
        first_loop: None,
        first_unknown: None,
    };
    let out = expand_node(e, &mut cx);
    match (cx.first_loop, cx.first_unknown) {
        (Some(err), _) | (None, Some(err)) => Err(err),
        (None, None) => Ok(out),
    }
}

// ---------------------------------------------------------------- lists

/// One list as the rules loader holds it, for [`resolve_list_items`].
#[derive(Debug, Clone, Copy)]
pub struct ListDef<'a> {
    /// The list's name (unique in the slice).
    pub name: &'a str,
    /// Its items as written (after appends).
    pub items: &'a [String],
    /// Lists at an index below this one are visible to this list (Falco's
    /// "visibility": normally the list's own index).
    pub visibility: usize,
}

/// Replaces items that name a visible list (index below the list's
/// `visibility`) by that list's own items as written, one level deep, as
/// Falco's loader does. Returns the lists in order and the names of lists
/// referenced this way.
pub fn resolve_list_items(lists: &[ListDef<'_>]) -> (Vec<(String, Vec<String>)>, BTreeSet<String>) {
    let mut used = BTreeSet::new();
    let out = lists
        .iter()
        .map(|l| {
            let mut items = Vec::with_capacity(l.items.len());
            for it in l.items {
                match lists.iter().position(|r| r.name == it) {
                    Some(j) if j < l.visibility => {
                        used.insert(it.clone());
                        items.extend(lists[j].items.iter().cloned());
                    }
                    _ => items.push(it.clone()),
                }
            }
            (l.name.to_string(), items)
        })
        .collect();
    (out, used)
}

/// The value Falco's textual list substitution gives for one list item:
/// items with a space are double-quoted, quoted items are unescaped, bare
/// items stay bare (and can name further lists).
fn item_value(item: &str, span: Span) -> Value {
    let quoted_form;
    let t = if item.contains(' ') && !item.starts_with(['"', '\'']) {
        quoted_form = format!("\"{item}\"");
        quoted_form.as_str()
    } else {
        item
    };
    if t.starts_with(['"', '\''])
        && quoted_len(t.as_bytes()) == Some(t.len())
        && let Some(s) = unescape_quoted(t)
    {
        return Value {
            text: s,
            quoted: true,
            span,
        };
    }
    Value {
        text: item.to_string(),
        quoted: !is_bare_str(item),
        span,
    }
}

/// Expands in place; `f` maps an unquoted item name to replacement items.
fn expand_lists_with(e: &mut Expr, f: &mut impl FnMut(&str) -> Option<Vec<String>>) {
    match &mut e.kind {
        ExprKind::And(c) | ExprKind::Or(c) => c.iter_mut().for_each(|c| expand_lists_with(c, f)),
        ExprKind::Not(c) => expand_lists_with(c, f),
        ExprKind::Binary { op, rhs, .. } => {
            if let Rhs::Value(v) = rhs {
                if v.is_identifier()
                    && let Some(items) = f(&v.text)
                {
                    let span = v.span;
                    if op.takes_list() {
                        *rhs = Rhs::List(items.iter().map(|i| item_value(i, span)).collect(), span);
                    } else {
                        // Falco substitutes a bare list name by its items as
                        // text: `proc.name=cat_binaries` becomes `proc.name=cat`.
                        *v = item_value(&items.join(", "), span);
                    }
                }
                return;
            }
            if let Rhs::List(values, _) = rhs {
                if !values.iter().any(Value::is_identifier) {
                    return;
                }
                let mut out = Vec::with_capacity(values.len());
                for v in values.drain(..) {
                    match v.is_identifier().then(|| f(&v.text)).flatten() {
                        Some(items) => out.extend(items.iter().map(|i| item_value(i, v.span))),
                        None => out.push(v),
                    }
                }
                *values = out;
            }
        }
        _ => {}
    }
}

/// One pass: each unquoted list item (or identifier right of a list
/// operator) for which `lists` returns items is replaced by them. Inserted
/// items are not expanded again.
pub fn expand_lists<'l>(e: &Expr, lists: &impl Fn(&str) -> Option<&'l [String]>) -> Expr {
    let mut out = e.clone();
    expand_lists_with(&mut out, &mut |n| lists(n).map(|s| s.to_vec()));
    out
}

/// Falco's order-dependent expansion: each list in turn replaces the items
/// naming it, so a later list can expand items inserted by an earlier one.
pub fn expand_lists_ordered(e: &Expr, lists: &[(String, Vec<String>)]) -> (Expr, BTreeSet<String>) {
    OrderedLists::new(lists).expand(e)
}

/// Lists in definition order, indexed by name, to expand many conditions
/// with the semantics of [`expand_lists_ordered`] in one walk each.
///
/// Falco substitutes list after list, in definition order: an item
/// inserted by list *k* is replaced again only by a list defined after
/// *k*. One walk gives the same result: a name is replaced by the first
/// list of that name at or after the current position, and its items are
/// expanded from the position after it.
pub struct OrderedLists<'l> {
    lists: &'l [(String, Vec<String>)],
    /// Per name, the positions of its definitions, ascending.
    by_name: HashMap<&'l str, Vec<usize>>,
}

impl<'l> OrderedLists<'l> {
    /// Indexes `lists` (in definition order).
    pub fn new(lists: &'l [(String, Vec<String>)]) -> Self {
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, (name, _)) in lists.iter().enumerate() {
            by_name.entry(name.as_str()).or_default().push(i);
        }
        OrderedLists { lists, by_name }
    }

    /// The list names, in definition order.
    pub fn names(&self) -> impl Iterator<Item = &'l str> + '_ {
        self.lists.iter().map(|(n, _)| n.as_str())
    }

    /// The first list named `name` defined at or after position `from`.
    fn find(&self, name: &str, from: usize) -> Option<usize> {
        let at = self.by_name.get(name)?;
        at.iter().copied().find(|&i| i >= from)
    }

    /// `e` with its lists expanded, and the names of the lists used.
    pub fn expand(&self, e: &Expr) -> (Expr, BTreeSet<String>) {
        let mut out = e.clone();
        let mut used = BTreeSet::new();
        self.walk(&mut out, &mut used);
        (out, used)
    }

    fn walk(&self, e: &mut Expr, used: &mut BTreeSet<String>) {
        match &mut e.kind {
            ExprKind::And(c) | ExprKind::Or(c) => c.iter_mut().for_each(|c| self.walk(c, used)),
            ExprKind::Not(c) => self.walk(c, used),
            ExprKind::Binary { op, rhs, .. } => match rhs {
                Rhs::Value(v) => {
                    let span = v.span;
                    if op.takes_list() {
                        let mut items = Vec::new();
                        if self.value_items(v, 0, &mut items, used) {
                            *rhs = Rhs::List(items, span);
                        }
                    } else {
                        self.bare_value(v, 0, used);
                    }
                }
                Rhs::List(values, _) => {
                    if !values.iter().any(Value::is_identifier) {
                        return;
                    }
                    let mut out = Vec::with_capacity(values.len());
                    for v in values.drain(..) {
                        if !self.value_items(&v, 0, &mut out, used) {
                            out.push(v);
                        }
                    }
                    *values = out;
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// Pushes the items `v` stands for (lists from position `from` on)
    /// onto `out`; false when `v` names no such list (nothing pushed).
    /// Iterative: a chain of lists each naming the next is as long as the
    /// rules file makes it.
    fn value_items(
        &self,
        v: &Value,
        from: usize,
        out: &mut Vec<Value>,
        used: &mut BTreeSet<String>,
    ) -> bool {
        let Some(k) = self.list_named(v, from) else {
            return false;
        };
        used.insert(self.lists[k].0.clone());
        // Per list being expanded: its remaining items, and where the
        // lists that may expand them start.
        let mut stack = vec![(self.lists[k].1.iter(), k + 1)];
        while let Some((items, after)) = stack.last_mut() {
            let after = *after;
            let Some(item) = items.next() else {
                stack.pop();
                continue;
            };
            let iv = item_value(item, v.span);
            match self.list_named(&iv, after) {
                Some(j) => {
                    used.insert(self.lists[j].0.clone());
                    stack.push((self.lists[j].1.iter(), j + 1));
                }
                None => out.push(iv),
            }
        }
        true
    }

    /// A list name right of a single-value operator becomes its items as
    /// text (`proc.name=cat_binaries` becomes `proc.name=cat`); a result
    /// that is again a name is expanded by the lists after.
    fn bare_value(&self, v: &mut Value, mut from: usize, used: &mut BTreeSet<String>) {
        while let Some(k) = self.list_named(v, from) {
            let (name, items) = &self.lists[k];
            used.insert(name.clone());
            *v = item_value(&items.join(", "), v.span);
            from = k + 1;
        }
    }

    /// The list `v` names among those from position `from` on.
    fn list_named(&self, v: &Value, from: usize) -> Option<usize> {
        v.is_identifier()
            .then(|| self.find(&v.text, from))
            .flatten()
    }
}

// ---------------------------------------------------------------- event types

/// A set of event-type names, possibly as a complement within the universe
/// of all event types.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Set {
    Names(BTreeSet<String>),
    AllBut(BTreeSet<String>),
}

impl Set {
    fn all() -> Set {
        Set::AllBut(BTreeSet::new())
    }

    fn empty() -> Set {
        Set::Names(BTreeSet::new())
    }

    fn complement(self) -> Set {
        match self {
            Set::Names(s) => Set::AllBut(s),
            Set::AllBut(s) => Set::Names(s),
        }
    }

    fn intersect(self, o: Set) -> Set {
        match (self, o) {
            (Set::Names(a), Set::Names(b)) => Set::Names(a.intersection(&b).cloned().collect()),
            (Set::Names(a), Set::AllBut(b)) | (Set::AllBut(b), Set::Names(a)) => {
                Set::Names(a.difference(&b).cloned().collect())
            }
            (Set::AllBut(a), Set::AllBut(b)) => Set::AllBut(a.union(&b).cloned().collect()),
        }
    }

    fn union(self, o: Set) -> Set {
        match (self, o) {
            (Set::Names(a), Set::Names(b)) => Set::Names(a.union(&b).cloned().collect()),
            (Set::Names(a), Set::AllBut(b)) | (Set::AllBut(b), Set::Names(a)) => {
                Set::AllBut(b.difference(&a).cloned().collect())
            }
            (Set::AllBut(a), Set::AllBut(b)) => Set::AllBut(a.intersection(&b).cloned().collect()),
        }
    }
}

/// Port of libsinsp's event-code visitor state machine, on name sets.
struct Evt {
    is_evttype_field: bool,
    is_field_or_transformer: bool,
    neg: bool,
    has_codes: bool,
    codes: Set,
    /// Set when libsinsp would throw (evt.type compared with a field or
    /// under a transformer); the result is then "all".
    unsupported: bool,
}

/// What libsinsp's `sscanf("%lu%c")` gives for a literal, if anything.
fn parse_u64_like_c(s: &str) -> Option<u64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let v = digits.parse::<u64>().unwrap_or(u64::MAX);
    Some(if neg { v.wrapping_neg() } else { v })
}

enum Invariant {
    Empty,
    All,
    Unknown,
}

fn evt_num_invariant(lhs: &Operand, cmp: CmpOp, rhs: &Rhs) -> Invariant {
    let Some(f) = lhs.as_field() else {
        return Invariant::Unknown;
    };
    if f.name != "evt.num" || f.arg.is_some() {
        return Invariant::Unknown;
    }
    if cmp == CmpOp::In {
        let Rhs::List(items, _) = rhs else {
            return Invariant::Unknown;
        };
        return if items.iter().all(|v| parse_u64_like_c(&v.text) == Some(0)) {
            Invariant::Empty
        } else {
            Invariant::Unknown
        };
    }
    let Rhs::Value(v) = rhs else {
        return Invariant::Unknown;
    };
    let Some(n) = parse_u64_like_c(&v.text) else {
        return Invariant::Unknown;
    };
    match cmp {
        CmpOp::Eq | CmpOp::EqEq if n == 0 => Invariant::Empty,
        CmpOp::Ne if n == 0 => Invariant::All,
        CmpOp::Lt if n <= 1 => Invariant::Empty,
        CmpOp::Le if n == 0 => Invariant::Empty,
        CmpOp::Gt if n == 0 => Invariant::All,
        CmpOp::Ge if n <= 1 => Invariant::All,
        _ => Invariant::Unknown,
    }
}

impl Evt {
    fn inversion(&mut self) {
        if self.has_codes {
            self.codes = std::mem::replace(&mut self.codes, Set::empty()).complement();
        }
    }

    fn try_inversion(&mut self) {
        if self.neg {
            self.inversion();
        }
    }

    fn conjunction(&mut self, c: &[Expr]) {
        let mut t = Set::all();
        for c in c {
            self.expr(c);
            t = t.intersect(std::mem::replace(&mut self.codes, Set::empty()));
        }
        self.codes = t;
        self.is_evttype_field = false;
    }

    fn disjunction(&mut self, c: &[Expr]) {
        let mut t = Set::empty();
        for c in c {
            self.expr(c);
            t = t.union(std::mem::replace(&mut self.codes, Set::empty()));
        }
        self.codes = t;
        self.is_evttype_field = false;
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::And(c) => {
                if self.neg {
                    self.disjunction(c)
                } else {
                    self.conjunction(c)
                }
            }
            ExprKind::Or(c) => {
                if self.neg {
                    self.conjunction(c)
                } else {
                    self.disjunction(c)
                }
            }
            ExprKind::Not(c) => {
                self.codes = Set::empty();
                self.neg = !self.neg;
                self.expr(c);
                self.neg = !self.neg;
                self.is_evttype_field = false;
            }
            ExprKind::Macro(_) => {
                self.has_codes = false;
                self.codes = Set::all();
                self.is_evttype_field = false;
                self.try_inversion();
            }
            ExprKind::Unary { lhs, op } => {
                self.operand(lhs);
                self.has_codes = self.is_evttype_field && *op == UnaryOp::Exists;
                self.codes = Set::all();
                self.is_evttype_field = false;
                self.try_inversion();
            }
            ExprKind::Binary { lhs, op, rhs } => {
                self.has_codes = false;
                let inv = match evt_num_invariant(lhs, op.cmp, rhs) {
                    Invariant::Empty => Some(Set::empty()),
                    Invariant::All => Some(Set::all()),
                    Invariant::Unknown => None,
                };
                if let Some(s) = inv {
                    self.codes = s;
                    self.has_codes = true;
                    self.is_evttype_field = false;
                    self.try_inversion();
                    return;
                }
                // The modifier makes the operator e.g. "= oneof", which is
                // not an event-type operator for libsinsp.
                let evttype_op = op.modifier.is_none()
                    && matches!(op.cmp, CmpOp::Eq | CmpOp::EqEq | CmpOp::Ne | CmpOp::In);
                if evttype_op {
                    self.operand(lhs);
                    if self.is_evttype_field {
                        self.is_field_or_transformer = false;
                        self.rhs(rhs);
                        if self.is_field_or_transformer {
                            self.unsupported = true;
                        }
                        if op.cmp == CmpOp::Ne {
                            self.inversion();
                        }
                        self.is_evttype_field = false;
                        return;
                    }
                }
                self.codes = Set::all();
                self.is_evttype_field = false;
                self.try_inversion();
            }
        }
    }

    fn values<'v>(&mut self, names: impl Iterator<Item = &'v Value>) {
        self.has_codes = true;
        self.codes = Set::Names(names.map(|v| v.text.clone()).collect());
        self.is_evttype_field = false;
        self.try_inversion();
    }

    fn rhs(&mut self, r: &Rhs) {
        match r {
            Rhs::Value(v) => self.values(std::iter::once(v)),
            Rhs::List(items, _) => self.values(items.iter()),
            Rhs::Operand(o) => self.operand(o),
        }
    }

    fn operand(&mut self, o: &Operand) {
        match o {
            Operand::Field(f) => {
                self.has_codes = false;
                self.is_field_or_transformer = true;
                self.is_evttype_field =
                    (f.name == "evt.type" || f.name == "syscall.type") && f.arg.is_none();
                self.codes = Set::all();
                self.try_inversion();
            }
            Operand::Transformer(t) => {
                for a in &t.args {
                    self.targ(a);
                    if self.is_evttype_field {
                        self.unsupported = true;
                    }
                }
                self.is_field_or_transformer = true;
            }
        }
    }

    fn targ(&mut self, a: &TransformerArg) {
        match a {
            TransformerArg::Operand(o) => self.operand(o),
            TransformerArg::Value(v) => self.values(std::iter::once(v)),
            TransformerArg::List(items, _) => items.iter().for_each(|a| self.targ(a)),
        }
    }
}

fn infer(e: &Expr) -> Option<Set> {
    let mut v = Evt {
        is_evttype_field: false,
        is_field_or_transformer: true,
        neg: false,
        has_codes: false,
        codes: Set::empty(),
        unsupported: false,
    };
    v.expr(e);
    (!v.unsupported).then_some(v.codes)
}

/// Event types per libsinsp; complements become [`EventTypes::All`].
pub fn event_types(e: &Expr) -> EventTypes {
    match infer(e) {
        Some(Set::Names(s)) => EventTypes::Names(s),
        _ => EventTypes::All,
    }
}

/// Event types per libsinsp, complements taken within `universe`. Names not
/// in `universe` are dropped (libsinsp ignores unknown names).
pub fn event_types_in(e: &Expr, universe: &BTreeSet<String>) -> BTreeSet<String> {
    match infer(e) {
        Some(Set::Names(s)) => s.intersection(universe).cloned().collect(),
        Some(Set::AllBut(s)) => universe.difference(&s).cloned().collect(),
        None => universe.clone(),
    }
}

/// Falco 0.x's Lua-era inference (see [`super::event_types_legacy`]).
pub fn event_types_legacy(e: &Expr) -> EventTypes {
    #[derive(Default)]
    struct St {
        names: BTreeSet<String>,
        found_event: bool,
        found_not: bool,
        after_not: bool,
    }
    fn go(e: &Expr, st: &mut St) {
        match &e.kind {
            ExprKind::And(c) | ExprKind::Or(c) => c.iter().for_each(|c| go(c, st)),
            ExprKind::Not(c) => {
                st.found_not = true;
                go(c, st);
            }
            ExprKind::Binary { lhs, op, rhs } => {
                if op.cmp == CmpOp::Ne {
                    st.found_not = true;
                }
                let is_evt = lhs
                    .as_field()
                    .is_some_and(|f| f.name == "evt.type" && f.arg.is_none());
                if is_evt {
                    st.found_event = true;
                    if st.found_not {
                        st.after_not = true;
                    }
                    match rhs {
                        Rhs::List(items, _) if matches!(op.cmp, CmpOp::In | CmpOp::PMatch) => {
                            st.names
                                .extend(items.iter().filter(|v| !v.quoted).map(|v| v.text.clone()));
                        }
                        Rhs::Value(v) if !v.quoted && !op.cmp.is_list_op() => {
                            st.names.insert(v.text.clone());
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let mut st = St::default();
    go(e, &mut st);
    if !st.found_event || st.after_not {
        EventTypes::All
    } else {
        EventTypes::Names(st.names)
    }
}

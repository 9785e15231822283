//! Falco's condition language, front end: parse a condition into an AST with
//! spans ([`parse`]), then resolve it the way Falco's rules engine does
//! (expand lists and macros, collect references, infer event types).
//!
//! Typical use by a rules loader:
//!
//! 1. `resolve_list_items` on the lists in definition order (lists can name
//!    earlier lists);
//! 2. [`parse`] every macro and rule condition;
//!    [`expand_lists`]/[`expand_lists_ordered`] replaces list names in
//!    `in (...)` lists;
//! 3. [`expand_macros`] replaces macro references (errors for undefined or
//!    looping macros); [`macro_refs`]/[`list_refs`] tell which are used;
//! 4. [`event_types`] gives the event types a rule can match.

pub mod ast;
pub mod parser;
pub mod resolve;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

pub use ast::{
    BinaryOp, CmpOp, Expr, ExprKind, FieldRef, Modifier, Operand, Rhs, Span, Transformer,
    TransformerArg, TransformerKind, UnaryOp, Value, line_col,
};
pub use parser::{DEFAULT_MAX_DEPTH, OPERATORS, ParseError, Parser, binary_op};
pub use resolve::{ListDef, MacroError, MacroErrorKind, OrderedLists, UndefinedMacro};

/// Parses a condition with Falco's grammar and the rules loader's maximum
/// nesting depth ([`DEFAULT_MAX_DEPTH`]).
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    Parser::new(text).parse()
}

/// Macro references (identifiers) in `e`, in text order, with their spans.
pub fn macro_refs(e: &Expr) -> Vec<(String, Span)> {
    resolve::macro_refs(e)
}

/// List references in `e`: unquoted identifier-shaped items of `(...)` lists
/// on the right of list operators (and a bare identifier right of a list
/// operator, `in my_list`), in text order, with their spans. Whether a name
/// really is a list is up to the caller.
pub fn list_refs(e: &Expr) -> Vec<(String, Span)> {
    resolve::list_refs(e)
}

/// Every field referenced in `e` (left sides, `val(...)`, transformer
/// arguments), in text order.
pub fn fields(e: &Expr) -> Vec<&FieldRef> {
    resolve::fields(e)
}

/// Replaces macro references by the (recursively expanded) macro bodies that
/// `macros` returns. Fails on the first undefined macro or reference loop,
/// preferring loops (as Falco does). See [`resolve::expand_macros`].
pub fn expand_macros<'m>(
    e: &Expr,
    macros: &impl Fn(&str) -> Option<&'m Expr>,
) -> Result<Expr, UndefinedMacro> {
    resolve::expand_macros(e, macros)
}

/// Replaces each list reference item (see [`list_refs`]) for which `lists`
/// returns items by those items, in one pass (nested lists must already be
/// resolved, see [`resolve_list_items`]).
pub fn expand_lists<'l>(e: &Expr, lists: &impl Fn(&str) -> Option<&'l [String]>) -> Expr {
    resolve::expand_lists(e, lists)
}

/// Falco's exact list expansion: lists are applied one after the other in
/// definition order, so items inserted by one list can be expanded by a
/// later one. Returns the expanded tree and the names of the lists used.
pub fn expand_lists_ordered(e: &Expr, lists: &[(String, Vec<String>)]) -> (Expr, BTreeSet<String>) {
    resolve::expand_lists_ordered(e, lists)
}

/// Resolves list items that name other lists, as Falco's loader does before
/// expanding conditions. See [`resolve::resolve_list_items`].
pub fn resolve_list_items(lists: &[ListDef<'_>]) -> (Vec<(String, Vec<String>)>, BTreeSet<String>) {
    resolve::resolve_list_items(lists)
}

/// The event types a condition can match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTypes {
    /// Any event type (the condition does not restrict `evt.type`, or only
    /// excludes some types).
    All,
    /// Only these event-type names (possibly none).
    Names(BTreeSet<String>),
}

/// The event types `e` (macros expanded) can match, following libsinsp's
/// event-code inference: `and` intersects, `or` unites, `not`/`!=` take the
/// complement of `evt.type` checks and leave other checks neutral. A
/// complement ("all but these") is reported as [`EventTypes::All`]; use
/// [`event_types_in`] to get it as names.
pub fn event_types(e: &Expr) -> EventTypes {
    resolve::event_types(e)
}

/// Like [`event_types`] but complements are taken within `universe` (all
/// event-type names), so the result is always a set of names.
pub fn event_types_in(e: &Expr, universe: &BTreeSet<String>) -> BTreeSet<String> {
    resolve::event_types_in(e, universe)
}

/// The event types as Falco 0.x (the Lua rules compiler) computed them, which
/// the `rules_events` expectations of Falco's regression suite encode: the
/// `evt.type` values named in `=`/`in`/`pmatch` checks, or
/// [`EventTypes::All`] when no `evt.type` check exists or one appears at or
/// after the first `not`/`!=` (pre-order, left to right).
pub fn event_types_legacy(e: &Expr) -> EventTypes {
    resolve::event_types_legacy(e)
}

//! The compiler pass: lists expanded into conditions, macros resolved,
//! exceptions turned into condition text, fields, event types and outputs
//! checked; unused lists and macros reported.

use crate::collector::{Collector, ExceptionEntry, ExceptionInfo, Fail, fail};
use crate::result::{Context, ErrorCode, LoadResult, LoadWarning, WarningCode};
use crate::{Config, LoadedRule};
use peregrine_filter::condition::{
    self as cond, CmpOp, EventTypes, Expr, ExprKind, FieldRef, ListDef, Operand, Rhs,
    TransformerArg,
};
use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};

type R<T> = Result<T, Fail>;

/// Falco warns about rules that match more than this many event types.
pub const MAX_EVTTYPES_WITHOUT_WARNING: usize = 100;

const DEPRECATED_FIELDS: &[(&str, &str)] = &[
    (
        "evt.dir",
        "due to the drop of enter events, 'evt.dir = <' always evaluates to true, and 'evt.dir = >' always evaluates to false. The rule expression can be simplified by removing the condition on 'evt.dir'",
    ),
    (
        "evt.latency",
        "field is not available due to the drop of enter events.",
    ),
    (
        "evt.latency.s",
        "field is not available due to the drop of enter events.",
    ),
    (
        "evt.latency.ns",
        "field is not available due to the drop of enter events.",
    ),
    (
        "evt.latency.human",
        "field is not available due to the drop of enter events.",
    ),
    (
        "evt.wait_latency",
        "field is not available due to the drop of enter events.",
    ),
];

fn quote_item(e: &str) -> String {
    if e.contains(' ') && !e.starts_with('"') && !e.starts_with('\'') {
        format!("\"{e}\"")
    } else {
        e.to_string()
    }
}

fn paren_item(e: &str) -> String {
    if e.starts_with('(') {
        e.to_string()
    } else {
        format!("({e})")
    }
}

/// Appends `and not (...)` for each exception to `(condition)`, as Falco
/// builds the text; returns the fields the exceptions use.
pub fn exception_condition(
    condition: &str,
    exceptions: &[ExceptionInfo],
) -> R<(String, BTreeSet<String>)> {
    let mut fields = BTreeSet::new();
    let mut cond = format!("({condition})");
    for ex in exceptions {
        let mut icond = String::new();
        if !ex.fields.is_list {
            for val in &ex.values {
                if val.is_list {
                    return fail(
                        ErrorCode::Validate,
                        "Expected values array to contain a list of strings",
                        &ex.ctx,
                    );
                }
                if icond.is_empty() {
                    icond = format!("({} {} (", ex.fields.item, ex.comps.item);
                } else {
                    icond.push_str(", ");
                }
                fields.insert(ex.fields.item.clone());
                icond.push_str(&quote_item(&val.item));
            }
            if !icond.is_empty() {
                icond.push_str("))");
            }
        } else {
            icond = "(".to_string();
            for values in &ex.values {
                if ex.fields.items.len() != values.items.len() {
                    return fail(
                        ErrorCode::Validate,
                        "Fields and values lists must have equal length",
                        &ex.ctx,
                    );
                }
                if icond != "(" {
                    icond.push_str(" or ");
                }
                icond.push('(');
                for (k, field) in ex.fields.items.iter().enumerate() {
                    if k > 0 {
                        icond.push_str(" and ");
                    }
                    let comp = ex
                        .comps
                        .items
                        .get(k)
                        .map(|c| c.item.as_str())
                        .unwrap_or("=");
                    let v: &ExceptionEntry = &values.items[k];
                    let istr = if v.is_list {
                        let parts: Vec<String> =
                            v.items.iter().map(|i| quote_item(&i.item)).collect();
                        format!("({})", parts.join(", "))
                    } else if cond::binary_op(comp).is_some_and(|o| o.takes_list()) {
                        paren_item(&v.item)
                    } else {
                        quote_item(&v.item)
                    };
                    icond.push_str(&format!(" {} {} {}", field.item, comp, istr));
                    fields.insert(field.item.clone());
                }
                icond.push(')');
            }
            icond.push(')');
            if icond == "()" {
                icond.clear();
            }
        }
        if !icond.is_empty() {
            cond.push_str(" and not ");
            cond.push_str(&icond);
        }
    }
    Ok((cond, fields))
}

/// The context of a problem at byte `offset` of condition `text`.
fn at(ctx: &Context, offset: usize, text: &str) -> Context {
    let offset = offset.min(text.len());
    let (line, col) = cond::line_col(text, offset);
    ctx.in_condition(offset, line as usize, col as usize, text)
}

/// Parses a condition; a syntax error is `LOAD_ERR_COMPILE_CONDITION` at
/// the parser's position.
fn parse_condition(text: &str, ctx: &Context) -> R<Expr> {
    match cond::parse(text) {
        Ok(e) => Ok(e),
        Err(e) => fail(
            ErrorCode::CompileCondition,
            e.message,
            &ctx.in_condition(e.offset, e.line as usize, e.column as usize, text),
        ),
    }
}

/// Expands the lists in `e` in definition order (Falco's substitution) and
/// marks the lists used; `None` when `e` names no list.
fn expand_lists(e: &Expr, lists: &cond::OrderedLists<'_>, used: &mut [bool]) -> Option<Expr> {
    let (e, names) = lists.expand(e);
    if names.is_empty() {
        return None;
    }
    for (i, name) in lists.names().enumerate() {
        if names.contains(name) {
            used[i] = true;
        }
    }
    Some(e)
}

/// A macro expansion failure as Falco reports it (`LOAD_ERR_VALIDATE`).
fn macro_error<T>(err: &cond::MacroError, text: &str, ctx: &Context) -> R<T> {
    fail(
        ErrorCode::Validate,
        err.to_string(),
        &at(ctx, err.span.start, text),
    )
}

fn output_tokens(fmt: &str) -> Vec<String> {
    let b = fmt.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            i += 1;
            continue;
        }
        i += 1;
        match b.get(i) {
            Some(b'%') => i += 1,
            Some(&open @ (b'{' | b'(')) => {
                let close = if open == b'{' { b'}' } else { b')' };
                let start = i + 1;
                let end = b[start..]
                    .iter()
                    .position(|&c| c == close)
                    .map(|p| start + p)
                    .unwrap_or(b.len());
                out.push(String::from_utf8_lossy(&b[start..end]).into_owned());
                i = end + 1;
            }
            _ => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.')
                {
                    i += 1;
                }
                if i < b.len() && b[i] == b'[' {
                    match b[i..].iter().position(|&c| c == b']') {
                        Some(p) => i += p + 1,
                        None => i = b.len(),
                    }
                }
                let mut tok = &b[start..i];
                while tok.last() == Some(&b'.') {
                    tok = &tok[..tok.len() - 1];
                }
                if !tok.is_empty() {
                    out.push(String::from_utf8_lossy(tok).into_owned());
                }
            }
        }
    }
    out
}

/// Calls `f` on `e` and every expression below it, in text order.
fn walk<'e>(e: &'e Expr, f: &mut impl FnMut(&'e Expr)) {
    f(e);
    match &e.kind {
        ExprKind::And(c) | ExprKind::Or(c) => c.iter().for_each(|c| walk(c, f)),
        ExprKind::Not(c) => walk(c, f),
        _ => {}
    }
}

/// The fields of an operand (transformer arguments included).
fn operand_fields<'e>(o: &'e Operand, out: &mut Vec<&'e FieldRef>) {
    fn arg<'e>(a: &'e TransformerArg, out: &mut Vec<&'e FieldRef>) {
        match a {
            TransformerArg::Operand(o) => operand_fields(o, out),
            TransformerArg::Value(_) => {}
            TransformerArg::List(items, _) => items.iter().for_each(|a| arg(a, out)),
        }
    }
    match o {
        Operand::Field(f) => out.push(f),
        Operand::Transformer(t) => t.args.iter().for_each(|a| arg(a, out)),
    }
}

/// A field as the registry names it: `name` or `name[arg]`.
fn field_text(f: &FieldRef) -> String {
    match &f.arg {
        Some(a) => format!("{}[{a}]", f.name),
        None => f.name.clone(),
    }
}

/// Checks every field against `known_field` and every `evt.type` value
/// against `known_event`, in condition order. The first problem: Falco's
/// message and the offset of the check.
fn check(
    e: &Expr,
    known_field: &dyn Fn(&str) -> bool,
    known_event: &dyn Fn(&str) -> bool,
) -> Result<(), (String, usize)> {
    let mut first = None;
    walk(e, &mut |e| {
        if first.is_some() {
            return;
        }
        let mut fields = Vec::new();
        match &e.kind {
            ExprKind::Macro(name) => {
                first = Some((
                    format!("Undefined macro '{name}' used in filter."),
                    e.span.start,
                ));
                return;
            }
            ExprKind::Unary { lhs, .. } => operand_fields(lhs, &mut fields),
            ExprKind::Binary { lhs, rhs, .. } => {
                operand_fields(lhs, &mut fields);
                if let Rhs::Operand(o) = rhs {
                    operand_fields(o, &mut fields);
                }
            }
            _ => return,
        }
        if let Some(f) = fields.iter().find(|f| !known_field(&field_text(f))) {
            first = Some((
                format!("filter_check called with nonexistent field {}", f.name),
                e.span.start,
            ));
            return;
        }
        if let ExprKind::Binary {
            lhs: Operand::Field(f),
            op,
            rhs,
        } = &e.kind
            && f.name == "evt.type"
            && f.arg.is_none()
            && op.modifier.is_none()
            && matches!(op.cmp, CmpOp::Eq | CmpOp::EqEq | CmpOp::Ne | CmpOp::In)
        {
            let values: &[cond::Value] = match rhs {
                Rhs::Value(v) => std::slice::from_ref(v),
                Rhs::List(v, _) => v,
                Rhs::Operand(_) => &[],
            };
            if let Some(v) = values.iter().find(|v| !known_event(&v.text)) {
                first = Some((format!("unknown event type {}", v.text), e.span.start));
            }
        }
    });
    first.map_or(Ok(()), Err)
}

/// True when a `ka.*`/`jevt.*` field is compared with `<NA>`.
fn has_unsafe_na(e: &Expr) -> bool {
    let mut found = false;
    walk(e, &mut |e| {
        if let ExprKind::Binary {
            lhs: Operand::Field(f),
            op,
            rhs,
        } = &e.kind
            && (f.name.starts_with("ka.") || f.name.starts_with("jevt."))
            && op.modifier.is_none()
            && matches!(
                op.cmp,
                CmpOp::Eq | CmpOp::EqEq | CmpOp::Ne | CmpOp::In | CmpOp::Intersects | CmpOp::PMatch
            )
        {
            found |= match rhs {
                Rhs::Value(v) => v.text == "<NA>",
                Rhs::List(v, _) => v.iter().any(|x| x.text == "<NA>"),
                Rhs::Operand(_) => false,
            };
        }
    });
    found
}
fn condition_warnings(res: &mut LoadResult, e: &Expr, ctx: &Context) {
    let deprecated: BTreeSet<usize> = cond::fields(e)
        .iter()
        .filter_map(|f| DEPRECATED_FIELDS.iter().position(|(n, _)| *n == f.name))
        .collect();
    if has_unsafe_na(e) {
        res.add_warning(WarningCode::UnsafeNaCheck, "", ctx.clone());
    }
    for i in deprecated {
        let (name, desc) = DEPRECATED_FIELDS[i];
        res.warnings.push(LoadWarning {
            code: WarningCode::DeprecatedItem,
            message: desc.to_string(),
            context: ctx.clone(),
            deprecated_field: Some(name.to_string()),
        });
    }
}

/// Compiles everything the collector holds into `out`; errors and
/// warnings go to `res`.
pub fn compile(cfg: &Config, col: &Collector, res: &mut LoadResult, out: &mut Vec<LoadedRule>) {
    out.clear();
    let mut list_used = vec![false; col.lists.len()];
    let macro_used: Vec<Cell<bool>> = col.macros.iter().map(|_| Cell::new(false)).collect();
    let r = compile_all(cfg, col, res, out, &mut list_used, &macro_used);
    if let Err(f) = r {
        res.add_error(f.code, f.message, f.context);
        out.clear();
        return;
    }
    for (m, used) in col.macros.iter().zip(&macro_used) {
        if !used.get() {
            res.add_warning(
                WarningCode::UnusedMacro,
                "Macro not referred to by any other rule/macro",
                m.ctx.clone(),
            );
        }
    }
    for (l, used) in col.lists.iter().zip(&list_used) {
        if !used {
            res.add_warning(
                WarningCode::UnusedList,
                "List not referred to by any other rule/macro",
                l.ctx.clone(),
            );
        }
    }
}

/// Lists with items naming an earlier visible list replaced by its items.
fn compile_lists(col: &Collector, used: &mut [bool]) -> Vec<(String, Vec<String>)> {
    // `index` grows with the position, so "index below the visibility"
    // is "position below the number of such lists".
    let indices: Vec<u32> = col.lists.iter().map(|l| l.index).collect();
    let defs: Vec<ListDef<'_>> = col
        .lists
        .iter()
        .map(|l| ListDef {
            name: &l.name,
            items: &l.items,
            visibility: indices.partition_point(|&i| i < l.visibility),
        })
        .collect();
    let (lists, names) = cond::resolve_list_items(&defs);
    for (i, l) in col.lists.iter().enumerate() {
        if names.contains(&l.name) {
            used[i] = true;
        }
    }
    lists
}

fn compile_all(
    cfg: &Config,
    col: &Collector,
    res: &mut LoadResult,
    out: &mut Vec<LoadedRule>,
    list_used: &mut [bool],
    macro_used: &[Cell<bool>],
) -> R<()> {
    let defined = compile_lists(col, list_used);
    let lists = cond::OrderedLists::new(&defined);

    // Macros: parse and expand lists in all, then expand the macros each
    // refers to among those visible to it, in definition order (a macro's
    // expanded body then serves the macros and rules after it).
    let infos: Vec<_> = col.macros.iter().collect();
    let mut asts: Vec<Expr> = Vec::with_capacity(infos.len());
    let mut names: HashMap<&str, usize> = HashMap::with_capacity(infos.len());
    for (i, m) in infos.iter().enumerate() {
        let e = parse_condition(&m.cond, &m.cond_ctx)?;
        asts.push(expand_lists(&e, &lists, list_used).unwrap_or(e));
        names.insert(&m.name, i);
    }
    for (i, info) in infos.iter().enumerate() {
        let vis = info.visibility;
        let expanded = {
            let lookup = |n: &str| -> Option<&Expr> {
                let j = *names.get(n).filter(|&&j| infos[j].index < vis)?;
                macro_used[j].set(true);
                Some(&asts[j])
            };
            cond::expand_macros(&asts[i], &lookup)
        };
        match expanded {
            Ok(e) => asts[i] = e,
            Err(err) => return macro_error(&err, &info.cond, &info.ctx),
        }
    }
    let lookup = |n: &str| -> Option<&Expr> {
        let j = *names.get(n)?;
        macro_used[j].set(true);
        Some(&asts[j])
    };

    // Rules.
    for r in col.rules.iter() {
        if r.unknown_source {
            continue;
        }
        let Some(source) = cfg.source(&r.source) else {
            return fail(
                ErrorCode::Validate,
                format!("Unknown source at compile-time{}", r.source),
                &r.ctx,
            );
        };
        let (text, exception_fields) = if r.exceptions.is_empty() {
            (r.cond.clone(), BTreeSet::new())
        } else {
            exception_condition(&r.cond, &r.exceptions)?
        };
        let mut output = r.output.clone();
        if output.contains("%container.info") {
            res.add_warning(
                WarningCode::DeprecatedItem,
                "%container.info is deprecated and no more useful, and will be dropped by Falco 1.0.0. The container plugin will automatically add required fields to the output message.",
                r.ctx.clone(),
            );
            output = output.replace("%container.info", "");
        }
        if let Some(bad) = output_tokens(&output)
            .into_iter()
            .find(|t| !(source.known_field)(t))
        {
            let msg = format!("invalid formatting token {bad}");
            if r.skip_if_unknown_filter {
                res.add_warning(WarningCode::UnknownFilter, msg, r.output_ctx.clone());
                continue;
            }
            return fail(ErrorCode::CompileOutput, msg, &r.output_ctx);
        }
        for (name, _) in DEPRECATED_FIELDS {
            if output.contains(name) {
                res.warnings.push(LoadWarning {
                    code: WarningCode::DeprecatedItem,
                    message: format!(
                        "usage of deprecated field '{name}' has been detected in the rule output"
                    ),
                    context: r.output_ctx.clone(),
                    deprecated_field: Some(name.to_string()),
                });
            }
        }

        let parsed = parse_condition(&text, &r.cond_ctx)?;
        // With lists named, the text becomes the expanded tree printed
        // canonically (it parses back to the same tree), re-parsed so that
        // spans point into it; problems are then shown in that text, as
        // Falco shows them in its substituted text.
        let (text, listed) = match expand_lists(&parsed, &lists, list_used) {
            Some(listed) => {
                let printed = listed.to_string();
                match cond::parse(&printed) {
                    Ok(reparsed) => (printed, reparsed),
                    Err(_) => (text, listed),
                }
            }
            None => (text, parsed),
        };
        let expr = match cond::expand_macros(&listed, &lookup) {
            Ok(e) => e,
            Err(err) => return macro_error(&err, &text, &r.ctx),
        };
        condition_warnings(res, &expr, &at(&r.cond_ctx, 0, &text));
        let known_event = |n: &str| cfg.event_types.contains(n);
        if let Err((message, offset)) = check(&expr, &*source.known_field, &known_event) {
            let ctx = at(&r.cond_ctx, offset, &text);
            if r.skip_if_unknown_filter {
                res.add_warning(WarningCode::UnknownFilter, message, ctx);
                continue;
            }
            return fail(ErrorCode::CompileCondition, message, &ctx);
        }
        let event_types = if r.source == "syscall" {
            let names = cond::event_types_in(&expr, &cfg.event_types);
            if names.len() > MAX_EVTTYPES_WITHOUT_WARNING && r.warn_evttypes {
                res.add_warning(
                    WarningCode::NoEvttype,
                    "Rule matches too many evt.type values. This has a significant performance penalty.",
                    r.ctx.clone(),
                );
            }
            if names.len() == cfg.event_types.len() {
                EventTypes::All
            } else {
                EventTypes::Names(names)
            }
        } else {
            EventTypes::All
        };
        out.push(LoadedRule {
            name: r.name.clone(),
            description: r.desc.clone(),
            condition_text: text,
            condition: expr,
            output,
            priority: r.priority,
            tags: r.tags.clone(),
            source: r.source.clone(),
            enabled: r.enabled,
            event_types,
            exception_fields,
            capture: r.capture,
            capture_duration: r.capture_duration,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_expand_in_order_and_checks_report_offsets() {
        let lists = vec![
            (
                "shells".to_string(),
                vec!["bash".to_string(), "a b".to_string()],
            ),
            ("empty".to_string(), vec![]),
            ("outer".to_string(), vec!["shells".to_string()]),
        ];
        let mut used = [false; 3];
        let e = cond::parse("proc.name in (outer) and proc.name in (a, empty, empty_x)").unwrap();
        let e = expand_lists(&e, &cond::OrderedLists::new(&lists), &mut used).unwrap();
        // `outer` inserts `shells`, which a later list cannot expand again.
        assert_eq!(
            e.to_string(),
            "(proc.name in (shells) and proc.name in (a, empty_x))"
        );
        assert_eq!(used, [false, true, true]);

        let known = |f: &str| f != "proc.nobody";
        let events = |n: &str| n == "open";
        let e = cond::parse("evt.type = open and proc.nobody = 1").unwrap();
        assert_eq!(
            check(&e, &known, &events),
            Err((
                "filter_check called with nonexistent field proc.nobody".to_string(),
                20
            ))
        );
        let e = cond::parse("evt.type in (open, nope)").unwrap();
        assert_eq!(
            check(&e, &known, &events),
            Err(("unknown event type nope".to_string(), 0))
        );
        let e = cond::parse("ka.user.name = <NA>").unwrap();
        assert!(has_unsafe_na(&e));
    }

    #[test]
    fn output_token_scan() {
        assert_eq!(
            output_tokens("a %proc.name %evt.arg[0] %{fd.name} 100%% %jevt.value[/a b]."),
            vec!["proc.name", "evt.arg[0]", "fd.name", "jevt.value[/a b]"]
        );
    }
}

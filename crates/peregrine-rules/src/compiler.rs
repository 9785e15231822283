//! The compiler pass: lists expanded into conditions, macros resolved,
//! exceptions turned into condition text, fields, event types and outputs
//! checked; unused lists and macros reported.

use crate::collector::{Collector, ExceptionEntry, ExceptionInfo, Fail, fail};
use crate::condition::{self, EventTypes, Expr, Operand};
use crate::result::{Context, ErrorCode, LoadResult, LoadWarning, WarningCode};
use crate::{Config, LoadedRule};
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
                    } else if condition::is_list_operator(comp) {
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

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from >= hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Replaces references to list `name` in `cnd` by its quoted items, as
/// Falco does on the condition text; true when it was used.
pub fn resolve_list(cnd: &mut String, name: &str, items: &[String]) -> bool {
    const BLANKS: &[u8] = b" \t\n\r";
    const DELIMS: &[u8] = b" \t\n\r(),=";
    let mut c: Vec<u8> = cnd.as_bytes().to_vec();
    let n = name.as_bytes();
    let mut used = false;
    let mut start = find(&c, n, 0);
    while let Some(mut s) = start {
        let mut end = s + n.len();
        if (s == 0 || DELIMS.contains(&c[s - 1])) && (end >= c.len() || DELIMS.contains(&c[end])) {
            while s > 0 && BLANKS.contains(&c[s - 1]) {
                s -= 1;
            }
            while end < c.len() && BLANKS.contains(&c[end]) {
                end += 1;
            }
            let sub: Vec<String> = items.iter().map(|v| quote_item(v)).collect();
            let sub = sub.join(", ");
            if sub.is_empty() {
                if s > 0 && c[s - 1] == b',' {
                    s -= 1;
                } else if end < c.len() && c[end] == b',' {
                    end += 1;
                }
            }
            let mut new = Vec::with_capacity(c.len() + sub.len() + 2);
            if s > 0 {
                new.extend_from_slice(&c[..s]);
                new.push(b' ');
            }
            new.extend_from_slice(sub.as_bytes());
            new.push(b' ');
            if end <= c.len() {
                new.extend_from_slice(&c[end..]);
            }
            c = new;
            s += sub.len() + 1;
            used = true;
        }
        start = find(&c, n, s + 1);
    }
    if used {
        *cnd = String::from_utf8_lossy(&c).into_owned();
    }
    used
}

struct CompiledList {
    name: String,
    items: Vec<String>,
    used: bool,
}

fn parse_condition(cond: &str, lists: &mut [CompiledList], ctx: &Context) -> R<(Expr, String)> {
    let mut text = cond.to_string();
    for l in lists.iter_mut() {
        if resolve_list(&mut text, &l.name, &l.items) {
            l.used = true;
        }
    }
    match condition::parse(&text) {
        Ok(e) => Ok((e, text)),
        Err(e) => fail(
            ErrorCode::CompileCondition,
            e.message,
            &ctx.in_condition(e.pos.idx, e.pos.line, e.pos.col, &text),
        ),
    }
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

fn collect_fields<'a>(e: &'a Expr, out: &mut Vec<&'a str>) {
    fn operand<'a>(o: &'a Operand, out: &mut Vec<&'a str>) {
        match o {
            Operand::Field { name, .. } => out.push(name),
            Operand::Transformer { args, .. } => args.iter().for_each(|a| operand(a, out)),
            _ => {}
        }
    }
    match e {
        Expr::And(c) | Expr::Or(c) => c.iter().for_each(|x| collect_fields(x, out)),
        Expr::Not(x) => collect_fields(x, out),
        Expr::Ident(..) => {}
        Expr::Unary { left, .. } => operand(left, out),
        Expr::Binary { left, right, .. } => {
            operand(left, out);
            operand(right, out);
        }
    }
}

fn has_unsafe_na(e: &Expr) -> bool {
    match e {
        Expr::And(c) | Expr::Or(c) => c.iter().any(has_unsafe_na),
        Expr::Not(x) => has_unsafe_na(x),
        Expr::Binary {
            left: Operand::Field { name, .. },
            op,
            right,
            ..
        } if (name.starts_with("ka.") || name.starts_with("jevt."))
            && matches!(
                op.as_str(),
                "==" | "=" | "!=" | "in" | "intersects" | "pmatch"
            ) =>
        {
            match right {
                Operand::Value(v) => v == "<NA>",
                Operand::List(v) => v.iter().any(|x| x == "<NA>"),
                _ => false,
            }
        }
        _ => false,
    }
}

fn condition_warnings(res: &mut LoadResult, e: &Expr, ctx: &Context) {
    let mut fields = Vec::new();
    collect_fields(e, &mut fields);
    let deprecated: BTreeSet<usize> = fields
        .iter()
        .filter_map(|f| DEPRECATED_FIELDS.iter().position(|(n, _)| n == f))
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
    let mut lists: Vec<CompiledList> = Vec::new();
    let mut macro_used: Vec<bool> = Vec::new();
    let r = compile_all(cfg, col, res, out, &mut lists, &mut macro_used);
    if let Err(f) = r {
        res.add_error(f.code, f.message, f.context);
        out.clear();
        return;
    }
    for (m, used) in col.macros.iter().zip(&macro_used) {
        if !used {
            res.add_warning(
                WarningCode::UnusedMacro,
                "Macro not referred to by any other rule/macro",
                m.ctx.clone(),
            );
        }
    }
    for (l, c) in col.lists.iter().zip(&lists) {
        if !c.used {
            res.add_warning(
                WarningCode::UnusedList,
                "List not referred to by any other rule/macro",
                l.ctx.clone(),
            );
        }
    }
}

fn compile_all(
    cfg: &Config,
    col: &Collector,
    res: &mut LoadResult,
    out: &mut Vec<LoadedRule>,
    lists: &mut Vec<CompiledList>,
    macro_used: &mut Vec<bool>,
) -> R<()> {
    // Lists: items naming an earlier list are replaced by its items.
    let mut used_names = Vec::new();
    for l in col.lists.iter() {
        let mut items = Vec::new();
        for it in &l.items {
            match col.lists.get(it) {
                Some(r) if r.index < l.visibility => {
                    used_names.push(r.name.clone());
                    items.extend(r.items.iter().cloned());
                }
                _ => items.push(it.clone()),
            }
        }
        lists.push(CompiledList {
            name: l.name.clone(),
            items,
            used: false,
        });
    }
    for n in used_names {
        if let Some(l) = lists.iter_mut().find(|l| l.name == n) {
            l.used = true;
        }
    }

    // Macros: parse all, then resolve each against the macros visible to it.
    let mut asts: Vec<Expr> = Vec::new();
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, m) in col.macros.iter().enumerate() {
        let (e, _) = parse_condition(&m.cond, lists, &m.cond_ctx)?;
        asts.push(e);
        names.insert(&m.name, i);
        macro_used.push(false);
    }
    let infos: Vec<_> = col.macros.iter().collect();
    for (i, info) in infos.iter().enumerate() {
        let mut e = asts[i].clone();
        let vis = info.visibility;
        let snapshot = &asts;
        let lookup = |n: &str| -> Option<&Expr> {
            names
                .get(n)
                .filter(|&&j| infos[j].index < vis)
                .map(|&j| &snapshot[j])
        };
        let r = condition::resolve_macros(&mut e, &lookup);
        report_macro_errors(&r, &info.cond, &info.ctx)?;
        for n in &r.resolved {
            if let Some(&j) = names.get(n.as_str()) {
                macro_used[j] = true;
            }
        }
        asts[i] = e;
    }

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
        let (cond_text, exception_fields) = if r.exceptions.is_empty() {
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

        let (mut expr, text) = parse_condition(&cond_text, lists, &r.cond_ctx)?;
        let snapshot = &asts;
        let lookup = |n: &str| -> Option<&Expr> { names.get(n).map(|&j| &snapshot[j]) };
        let mr = condition::resolve_macros(&mut expr, &lookup);
        report_macro_errors(&mr, &text, &r.ctx)?;
        for n in &mr.resolved {
            if let Some(&j) = names.get(n.as_str()) {
                macro_used[j] = true;
            }
        }
        condition_warnings(res, &expr, &r.cond_ctx.in_condition(0, 0, 0, &text));
        let known_event = |n: &str| cfg.event_types.contains(n);
        if let Err(e) = condition::check(&expr, &*source.known_field, &known_event) {
            let ctx = r
                .cond_ctx
                .in_condition(e.pos.idx, e.pos.line, e.pos.col, &text);
            if r.skip_if_unknown_filter {
                res.add_warning(WarningCode::UnknownFilter, e.message, ctx);
                continue;
            }
            return fail(ErrorCode::CompileCondition, e.message, &ctx);
        }
        let event_types = if r.source == "syscall" {
            let t = condition::event_types(&expr, &cfg.event_types);
            let n = match &t {
                EventTypes::All => cfg.event_types.len(),
                EventTypes::Names(s) => s.len(),
            };
            if n > MAX_EVTTYPES_WITHOUT_WARNING && r.warn_evttypes {
                res.add_warning(
                    WarningCode::NoEvttype,
                    "Rule matches too many evt.type values. This has a significant performance penalty.",
                    r.ctx.clone(),
                );
            }
            t
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

fn report_macro_errors(r: &condition::MacroResolution, cond: &str, ctx: &Context) -> R<()> {
    let first = r.errors.first().cloned().or_else(|| {
        r.unknown
            .first()
            .map(|(n, p)| (format!("Undefined macro '{n}' used in filter."), *p))
    });
    if let Some((msg, pos)) = first {
        return fail(
            ErrorCode::Validate,
            msg,
            &ctx.in_condition(pos.idx, pos.line, pos.col, cond),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_substitution() {
        let mut c = "proc.name in (shell_binaries) and x".to_string();
        assert!(resolve_list(
            &mut c,
            "shell_binaries",
            &["bash".into(), "a b".into()]
        ));
        assert_eq!(c, "proc.name in ( bash, \"a b\" ) and x");
        let mut c = "proc.name in (a, empty)".to_string();
        assert!(resolve_list(&mut c, "empty", &[]));
        assert_eq!(c, "proc.name in (a  )");
        let mut c = "proc.name in (my_list_x)".to_string();
        assert!(!resolve_list(&mut c, "my_list", &["q".into()]));
    }

    #[test]
    fn output_token_scan() {
        assert_eq!(
            output_tokens("a %proc.name %evt.arg[0] %{fd.name} 100%% %jevt.value[/a b]."),
            vec!["proc.name", "evt.arg[0]", "fd.name", "jevt.value[/a b]"]
        );
    }
}

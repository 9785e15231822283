//! Compiles every rule of the upstream Falco rules files (loaded with
//! `peregrine_rules`, macros expanded with `condition::expand_macros`).

use super::{FieldInterner, Filter, compile_with};
use crate::condition::{Expr, expand_lists, expand_macros, parse};
use std::collections::{BTreeMap, HashMap};

const FILES: &[&str] = &[
    "/work/shared/falco-rules/upstream/falco_rules.yaml",
    "/work/shared/falco-rules/upstream/falco-incubating_rules.yaml",
    "/work/shared/falco-rules/upstream/falco-sandbox_rules.yaml",
];

/// (rule name, expanded condition text) of every upstream rule.
pub(crate) fn upstream_conditions() -> Vec<(String, Expr, String)> {
    if !FILES.iter().all(|f| std::path::Path::new(f).exists()) {
        return Vec::new();
    }
    let mut loader = peregrine_rules::Loader::new(peregrine_rules::Config::permissive());
    for f in FILES {
        let r = loader.load_file(f);
        assert!(r.successful, "{f}: {:?}", r.errors);
    }
    let col = loader.collector();
    // Lists, with items naming earlier lists resolved.
    let mut lists: HashMap<String, Vec<String>> = HashMap::new();
    for l in col.lists.iter() {
        let mut items = Vec::new();
        for it in &l.items {
            match lists.get(it) {
                Some(inner) => items.extend(inner.iter().cloned()),
                None => items.push(it.clone()),
            }
        }
        lists.insert(l.name.clone(), items);
    }
    let list_lookup = |n: &str| lists.get(n).map(|v| v.as_slice());
    let mut macros: HashMap<String, Expr> = HashMap::new();
    for m in col.macros.iter() {
        if let Ok(e) = parse(&m.cond) {
            macros.insert(m.name.clone(), expand_lists(&e, &list_lookup));
        }
    }
    let macro_lookup = |n: &str| macros.get(n);
    let mut out = Vec::new();
    for r in loader.rules() {
        let e = parse(&r.condition_text).expect("loader-accepted condition parses");
        let e = expand_macros(&e, &macro_lookup).expect("macros resolve");
        out.push((r.name.clone(), e, r.condition_text.clone()));
    }
    out
}

#[test]
fn compile_every_upstream_rule() {
    let conds = upstream_conditions();
    if conds.is_empty() {
        eprintln!("upstream rules not found; skipping");
        return;
    }
    let mut fields = FieldInterner::new();
    let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut other = Vec::new();
    let mut ok: Vec<Filter> = Vec::new();
    for (name, e, text) in &conds {
        match compile_with(e, text, &mut fields) {
            Ok(f) => ok.push(f),
            Err(err) => match err
                .message
                .strip_prefix("filter_check called with nonexistent field ")
            {
                Some(field) => missing
                    .entry(field.to_string())
                    .or_default()
                    .push(name.clone()),
                None => other.push(format!("{name}: {}", err.message)),
            },
        }
    }
    eprintln!(
        "{} rules: {} compile, {} need missing fields, {} other errors",
        conds.len(),
        ok.len(),
        conds.len() - ok.len() - other.len(),
        other.len()
    );
    for (f, rules) in &missing {
        eprintln!(
            "missing field {f}: {} rule(s), e.g. {}",
            rules.len(),
            rules[0]
        );
    }
    assert!(other.is_empty(), "unexpected errors:\n{}", other.join("\n"));
    assert!(ok.len() * 2 > conds.len());
    // Most rules name their event types.
    let typed = ok.iter().filter(|f| f.event_codes().is_some()).count();
    assert!(typed * 10 > ok.len() * 9, "{typed} of {}", ok.len());
}

//! The upstream and legacy rules files load without errors, with the
//! fields of peregrine's registry (`Config::new()`).

mod common;
use common::SHARED;
use peregrine_rules::{Config, LoadResult, Loader};

fn report(r: &LoadResult) {
    println!(
        "{}: successful={} errors={} warnings={}",
        r.name,
        r.successful,
        r.errors.len(),
        r.warnings.len()
    );
    for e in &r.errors {
        let loc = e
            .context
            .locations
            .iter()
            .map(|l| format!("{} '{}'", l.item_type.as_str(), l.item_name))
            .collect::<Vec<_>>()
            .join(" > ");
        println!("  ERROR {} {} [{}]", e.code.as_str(), e.message, loc);
    }
    for w in &r.warnings {
        let loc = w
            .context
            .locations
            .get(1)
            .map(|l| format!("{} '{}'", l.item_type.as_str(), l.item_name))
            .unwrap_or_default();
        println!("  warning {} {} [{}]", w.code.as_str(), w.message, loc);
    }
}

fn load(config: Config, files: &[&str]) -> (Loader, Vec<LoadResult>) {
    let mut loader = Loader::new(config);
    let results = files
        .iter()
        .map(|f| loader.load_file(&format!("{SHARED}/{f}")))
        .collect::<Vec<_>>();
    (loader, results)
}

#[test]
fn upstream_files_load_without_errors() {
    let (loader, results) = load(
        Config::new(),
        &[
            "falco-rules/upstream/falco_rules.yaml",
            "falco-rules/upstream/falco-incubating_rules.yaml",
            "falco-rules/upstream/falco-sandbox_rules.yaml",
        ],
    );
    for r in &results {
        report(r);
        assert!(r.successful, "{}", r.name);
        assert!(r.errors.is_empty());
    }
    println!("rules loaded: {}", loader.rules().len());
    assert!(loader.rules().len() > 50);
}

#[test]
fn legacy_file_loads_without_errors() {
    let (loader, results) = load(
        Config::new(),
        &["falco-rules/legacy-0.7.0/falco_rules.yaml"],
    );
    for r in &results {
        report(r);
        assert!(r.successful, "{}", r.name);
    }
    println!("rules loaded: {}", loader.rules().len());
    assert!(!loader.rules().is_empty());
}

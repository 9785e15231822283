//! `Loader::load_files` parses and compiles on other threads; it must give
//! exactly what `Loader::load_file` on each file in turn gives, stopping at
//! the first file that fails.

use peregrine_rules::{Config, Loader};
use std::path::{Path, PathBuf};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// Loads `paths` both ways and compares results, rules and what was read.
fn same_as_one_by_one(paths: &[String]) {
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let mut one = Loader::new(Config::new());
    let mut expected = Vec::new();
    for p in &paths {
        let r = one.load_file(p);
        let ok = r.successful;
        expected.push(r);
        if !ok {
            break;
        }
    }
    let mut all = Loader::new(Config::new());
    let got = all.load_files(&paths);
    assert_eq!(got, expected, "{paths:?}");
    let rules = |l: &Loader| -> Vec<(String, String, String, bool)> {
        l.rules()
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    r.condition_text.clone(),
                    r.output.clone(),
                    r.enabled,
                )
            })
            .collect()
    };
    assert_eq!(rules(&all), rules(&one), "{paths:?}");
    // What was read, in order (the maps' hash indexes aside).
    let read = |l: &Loader| {
        let c = l.collector();
        format!(
            "{:?} {:?} {:?} {:?} {:?}",
            c.lists.iter().collect::<Vec<_>>(),
            c.macros.iter().collect::<Vec<_>>(),
            c.rules.iter().collect::<Vec<_>>(),
            c.required_plugin_versions,
            c.required_engine_version
        )
    };
    assert_eq!(read(&all), read(&one), "{paths:?}");
}

fn file(dir: &Path, name: &str) -> String {
    let p = dir.join(name);
    assert!(p.exists(), "missing test data {}", p.display());
    p.to_string_lossy().into_owned()
}

#[test]
fn upstream_and_legacy_rules() {
    let up = shared().join("falco-rules/upstream");
    same_as_one_by_one(&[
        file(&up, "falco_rules.yaml"),
        file(&up, "falco-incubating_rules.yaml"),
        file(&up, "falco-sandbox_rules.yaml"),
    ]);
    same_as_one_by_one(&[file(
        &shared().join("falco-rules/legacy-0.7.0"),
        "falco_rules.yaml",
    )]);
}

#[test]
fn every_regression_rules_file_after_the_stable_rules() {
    let stable = file(&shared().join("falco-rules/upstream"), "falco_rules.yaml");
    let dir = shared().join("falco-regression/rules");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() > 50, "{} rules files", files.len());
    let mut failing = 0;
    for f in &files {
        let f = f.to_string_lossy().into_owned();
        same_as_one_by_one(std::slice::from_ref(&f));
        same_as_one_by_one(&[stable.clone(), f.clone()]);
        // A failing file in the middle stops the load there.
        same_as_one_by_one(&[f.clone(), stable.clone()]);
        let mut l = Loader::new(Config::new());
        failing += !l.load_file(&f).successful as usize;
    }
    assert!(
        failing > 10,
        "only {failing} failing files: the stop is barely tested"
    );
}

#[test]
fn a_file_can_fail_for_what_a_later_file_defines() {
    let dir = tempfile::Builder::new()
        .prefix("peregrine-load-files-")
        .tempdir()
        .unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    };
    // Uses a macro defined only in the next file: Falco fails on the first.
    let uses = write(
        "uses.yaml",
        "- rule: r\n  desc: d\n  condition: evt.type = open and later_macro\n  output: o\n  priority: INFO\n",
    );
    let defines = write(
        "defines.yaml",
        "- macro: later_macro\n  condition: proc.name = cat\n",
    );
    // Defines a macro only the next file uses: a warning on the first.
    let unused = write("unused.yaml", "- macro: m\n  condition: proc.name = cat\n");
    let user = write(
        "user.yaml",
        "- rule: u\n  desc: d\n  condition: evt.type = open and m\n  output: o\n  priority: INFO\n",
    );
    let missing = dir
        .path()
        .join("missing.yaml")
        .to_string_lossy()
        .into_owned();
    same_as_one_by_one(&[uses.clone(), defines.clone()]);
    same_as_one_by_one(&[unused.clone(), user.clone()]);
    same_as_one_by_one(&[unused.clone(), missing.clone(), user.clone()]);
    same_as_one_by_one(&[unused, user, uses, defines, missing]);
    same_as_one_by_one(&[]);
    dir.close().unwrap();
}

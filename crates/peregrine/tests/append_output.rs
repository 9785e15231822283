//! `append_output` end to end: the real binary on a capture of opens of
//! /tmp/file-1 .. /tmp/file-13, with rules `open_N` (one per file, tagged
//! as in `tagged_rules.yaml`), with entries given in a configuration file,
//! by `-o` and by `-p`.

mod common;

use common::{peregrine, run, shared, tempdir};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Output;
use tempfile::TempDir;

/// Rules of `tagged_rules.yaml` having both tags `a` and `b`.
const TAGGED_AB: &[&str] = &["open_4", "open_7", "open_8", "open_10"];

fn trace() -> PathBuf {
    shared().join("falco-regression/trace_files/open-multiple-files.scap")
}

fn rules() -> PathBuf {
    shared().join("falco-regression/rules/tagged_rules.yaml")
}

/// A configuration file in a fresh folder, removed on drop.
struct Config(TempDir);

impl Config {
    /// Stdout on, syslog off, then `append_output` text.
    fn new(name: &str, append_output: &str) -> Config {
        let dir = tempdir(&format!("append-{name}"));
        let text = format!(
            "stdout_output:\n  enabled: true\nsyslog_output:\n  enabled: false\n{append_output}"
        );
        std::fs::write(dir.path().join("falco.yaml"), text).unwrap();
        Config(dir)
    }

    fn path(&self) -> PathBuf {
        self.0.path().join("falco.yaml")
    }
}

/// Runs peregrine on the trace and rules with `args`; returns its output.
fn peregrine_on_trace(config: &Config, args: &[&str]) -> Output {
    run(
        peregrine()
            .arg("-c")
            .arg(config.path())
            .arg("-e")
            .arg(trace())
            .arg("-r")
            .arg(rules())
            .args(["-o", "json_output=true"])
            .args(args),
        true,
    )
}

/// The JSON alerts of a successful run, by rule name.
fn alerts(out: &Output) -> BTreeMap<String, Value> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "failed: {stderr}");
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let mut by_rule = BTreeMap::new();
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let rule = v["rule"].as_str().unwrap().to_string();
        assert!(by_rule.insert(rule, v).is_none(), "two alerts: {line}");
    }
    assert_eq!(by_rule.len(), 13, "one alert per rule expected:\n{stdout}");
    by_rule
}

/// `/tmp/file-N` for rule `open_N`.
fn file_of(rule: &str) -> String {
    format!("/tmp/file-{}", rule.trim_start_matches("open_"))
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v["output_fields"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    k.sort();
    k
}

/// The rule's own output ends the `output` of an alert left untouched.
fn assert_untouched(rule: &str, v: &Value) {
    let output = v["output"].as_str().unwrap();
    assert!(
        output.ends_with(&format!("(file={})", file_of(rule))),
        "{rule}: {output}"
    );
    assert_eq!(keys(v), ["evt.time", "fd.name"], "{rule}: {v}");
}

const ENTRIES: &str = r#"
append_output:
  - match:
      tags: [a, b]
    extra_output: "tagged-ab"
    extra_fields:
      - evt.is_open_read
      - fd.num
      - read: "%evt.is_open_read"
      - where: "on %fd.name"
  - match:
      rule: open_1
    extra_output: "rule-one on %fd.name"
  - match:
      source: k8s_audit
    extra_output: never
    extra_fields: [evt.num]
  - suggested_output: true
"#;

#[test]
fn entries_from_a_config_file() {
    let config = Config::new("file", ENTRIES);
    let by_rule = alerts(&peregrine_on_trace(&config, &[]));
    for (rule, v) in &by_rule {
        let output = v["output"].as_str().unwrap();
        let fields = &v["output_fields"];
        let file = file_of(rule);
        assert!(!output.contains("never"), "{output}");
        if TAGGED_AB.contains(&rule.as_str()) {
            assert!(
                output.ends_with(&format!("(file={file}) tagged-ab")),
                "{rule}: {output}"
            );
            // Raw fields: typed values under the field's name (the rules
            // match only reads, so evt.is_open_read is true).
            assert_eq!(fields["evt.is_open_read"], Value::Bool(true), "{v}");
            assert!(fields["fd.num"].is_u64(), "{v}");
            // Formatted fields: text under their key.
            assert_eq!(fields["read"], "true", "{v}");
            assert_eq!(fields["where"], format!("on {file}"), "{v}");
            assert_eq!(fields["fd.name"], file);
            assert_eq!(
                keys(v),
                [
                    "evt.is_open_read",
                    "evt.time",
                    "fd.name",
                    "fd.num",
                    "read",
                    "where"
                ]
            );
        } else if rule == "open_1" {
            assert!(
                output.ends_with("(file=/tmp/file-1) rule-one on /tmp/file-1"),
                "{output}"
            );
            assert_eq!(keys(v), ["evt.time", "fd.name"], "{v}");
        } else {
            assert_untouched(rule, v);
        }
    }
}

#[test]
fn entries_from_options_then_print() {
    let config = Config::new("options", "");
    let out = peregrine_on_trace(
        &config,
        &[
            "-o",
            "append_output=[{match: {rule: open_2}, extra_output: 'via option %fd.name', \
             extra_fields: [{k: '%fd.name!'}]}]",
            "-p",
            "pee",
        ],
    );
    let by_rule = alerts(&out);
    for (rule, v) in &by_rule {
        let output = v["output"].as_str().unwrap();
        let file = file_of(rule);
        if rule == "open_2" {
            assert!(
                output.ends_with("(file=/tmp/file-2) via option /tmp/file-2 pee"),
                "{output}"
            );
            assert_eq!(v["output_fields"]["k"], "/tmp/file-2!");
        } else {
            assert!(output.ends_with(&format!("(file={file}) pee")), "{output}");
            assert!(v["output_fields"].get("k").is_none(), "{v}");
        }
    }
}

#[test]
fn bad_entries_are_clear_errors() {
    let config = Config::new("bad", "");
    let cases = [
        ("append_output=[42]", "append_output[0]"),
        (
            "append_output=[{extra_fields: [nosuch.field]}]",
            "nosuch.field",
        ),
        (
            "append_output=[{extra_output: 'x %nosuch.field'}]",
            "append_output[0]",
        ),
        (
            "append_output=[{match: {tags: a}}]",
            "append_output[0].match.tags",
        ),
    ];
    for (opt, expected) in cases {
        let out = peregrine_on_trace(&config, &["-o", opt]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{opt}: accepted");
        assert!(stderr.contains(expected), "{opt}: {stderr}");
        assert!(stderr.contains("append_output"), "{opt}: {stderr}");
        assert!(!stderr.contains("panicked"), "{opt}: {stderr}");
    }
    let out = peregrine_on_trace(&config, &["-p", "%nosuch.field"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("-p") && stderr.contains("unknown field 'nosuch.field'"),
        "{stderr}"
    );
}

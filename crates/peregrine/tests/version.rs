//! `--version` names the engine version, the event schema version and the
//! probe's, as the driver packaging of Falco does.

mod common;

use common::{peregrine, run};

#[test]
fn version_names_engine_schema_and_probe() {
    let out = run(peregrine().arg("--version"), false);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no '{prefix}' line in:\n{text}"))
            .trim()
            .to_string()
    };
    // The Falco engine version whose rule features we implement (rules
    // files ask for it in required_engine_version).
    assert_eq!(line("Engine version:"), "0.62.0");
    // The event table is generated from libs' driver schema 4.5.1.
    assert_eq!(line("Event schema version:"), "4.5.1");
    let probe = line("Probe:");
    assert!(
        probe.starts_with("modern eBPF (CO-RE) ") && probe.ends_with("writes schema 4.5.1"),
        "{probe}"
    );
}

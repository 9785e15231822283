//! Helpers shared by the integration tests: locating test data and
//! running the peregrine and sysdig binaries.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The shared reference material, beside the repository.
pub fn shared() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(
        dir.is_dir(),
        "test data not found at {} (../shared beside the repo)",
        dir.display()
    );
    dir
}

/// Every capture file of the shared traces and of the regression suite.
pub fn all_traces() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in ["traces", "falco-regression/trace_files"] {
        let mut files: Vec<_> = std::fs::read_dir(shared().join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "scap"))
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}

/// The peregrine binary built for this test run.
pub fn peregrine() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_peregrine"));
    cmd.env("TZ", "UTC");
    cmd
}

/// The sysdig reference decoder; the test fails if it is missing.
pub fn sysdig() -> Command {
    let found = Command::new("sysdig").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "sysdig not found: apt-get install -y --no-install-recommends sysdig"
    );
    let mut cmd = Command::new("sysdig");
    cmd.env("TZ", "UTC");
    cmd
}

/// Runs a command and returns its output, failing with its stderr on error
/// unless `allow_failure`.
pub fn run(cmd: &mut Command, allow_failure: bool) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !allow_failure && !out.status.success() {
        panic!(
            "{cmd:?} failed with {}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// True when sysdig 0.29.3 can read this capture (it cannot read newer
/// format revisions).
pub fn sysdig_reads(trace: &Path) -> bool {
    let out = run(
        sysdig().arg("-r").arg(trace).arg("-p").arg("%evt.num"),
        true,
    );
    out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("unknown block")
}

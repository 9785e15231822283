//! Helpers shared by the integration tests: locating test data, temporary
//! directories and running the peregrine and sysdig binaries.

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

/// A fresh directory `peregrine-{name}-…` under the system temp dir,
/// removed with its contents when dropped, also when the test panics.
pub fn tempdir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("peregrine-{name}-"))
        .tempdir()
        .expect("create a temp dir")
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

/// A `peregrine` monitoring the live system, its output as lines.
pub struct Live {
    /// The process.
    pub child: std::process::Child,
    /// Its standard output, a line per message.
    pub out: std::sync::mpsc::Receiver<String>,
    /// Its standard error, a line per message.
    pub err: std::sync::mpsc::Receiver<String>,
    /// The standard error lines read while waiting for `ready`.
    pub log: Vec<String>,
}

/// Starts `cmd` (a live `peregrine` with both outputs piped) and waits
/// up to 90 s for a line of its standard error containing `ready`; fails
/// with what it logged when the probe does not start (root, BTF and BPF
/// are required).
pub fn start_live(cmd: &mut Command, ready: &str) -> Live {
    use std::process::Stdio;
    assert!(
        Path::new("/sys/kernel/btf/vmlinux").exists(),
        "live capture needs BTF at /sys/kernel/btf/vmlinux"
    );
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start peregrine");
    let out = lines_of(child.stdout.take().unwrap());
    let err = lines_of(child.stderr.take().unwrap());
    let mut log = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    if lines_until(&err, deadline, ready, &mut log).is_none() {
        let _ = child.kill();
        panic!(
            "the probe did not start (BPF unavailable?); stderr:\n{}",
            log.join("\n")
        );
    }
    Live {
        child,
        out,
        err,
        log,
    }
}

impl Live {
    /// Stops it with SIGINT and waits; returns its exit status and every
    /// standard error line it logged.
    pub fn stop(mut self) -> (std::process::ExitStatus, Vec<String>) {
        signal(self.child.id(), "INT");
        let status = self.child.wait().unwrap();
        self.log.extend(self.err.try_iter());
        (status, self.log)
    }
}

/// The lines of `r`, read on a thread of their own.
pub fn lines_of(r: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(r).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Reads lines of `rx` until one contains `want` (returned) or until
/// `deadline`; every line read is added to `seen`.
pub fn lines_until(
    rx: &std::sync::mpsc::Receiver<String>,
    deadline: std::time::Instant,
    want: &str,
    seen: &mut Vec<String>,
) -> Option<String> {
    use std::sync::mpsc::RecvTimeoutError;
    while std::time::Instant::now() < deadline {
        match rx.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(line) => {
                let hit = line.contains(want);
                seen.push(line);
                if hit {
                    return seen.last().cloned();
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
    None
}

/// Sends signal `name` to `pid` with the `kill` command (no unsafe code
/// in tests).
pub fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}

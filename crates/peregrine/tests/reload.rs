//! Operations on a running peregrine: SIGHUP and `watch_config_files`
//! reloads (good and broken rules edits), SIGINT stopping cleanly.
//! Each test replays a synthesized capture of a few million events, long
//! enough to act on the process while it runs; waits are driven by what
//! the process prints, with generous timeouts.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long any one wait may take on a slow, busy machine.
const TIMEOUT: Duration = Duration::from_secs(120);

const RULE_A: &str = r#"- rule: rule_a
  desc: opens by cat
  condition: evt.type = open and proc.name = cat
  output: "RULE_A %fd.name"
  priority: WARNING
"#;

const RULE_B: &str = r#"- rule: rule_b
  desc: closes by cat
  condition: evt.type = close and proc.name = cat
  output: "RULE_B %fd.name"
  priority: WARNING
"#;

const BROKEN: &str = r#"- rule: rule_b
  desc: broken
  condition: evt.type = close and (proc.name = cat
  output: "RULE_B %fd.name"
  priority: WARNING
"#;

/// Builds the capture: `cat_write.scap` repeated to a few million events.
fn build_capture(dir: &Path) -> PathBuf {
    let out = dir.join("big.scap");
    let trace = common::shared().join("falco-regression/trace_files/cat_write.scap");
    let status = common::peregrine()
        .args(["synth", "--events", "3000000", "-o"])
        .arg(&out)
        .arg(&trace)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    out
}

/// One test runs the scenarios in turn: they share one large capture,
/// removed at the end, and do not compete for the CPUs.
#[test]
fn operations_on_a_running_replay() {
    let dir = common::tempdir("reload");
    let capture = build_capture(dir.path());
    sighup_with_edited_rules_takes_effect(&capture);
    broken_rules_edit_keeps_the_old_rules(&capture);
    watched_rules_file_change_reloads(&capture);
    sigint_stops_cleanly_and_sigusr1_reopens(&capture);
}

/// A temporary folder with a config and a rules file, removed on drop.
struct Setup {
    /// Held for its removal on drop.
    _dir: TempDir,
    rules: PathBuf,
    config: PathBuf,
}

impl Setup {
    fn new(name: &str, watch: bool) -> Setup {
        let dir = common::tempdir(&format!("reload-{name}"));
        let rules = dir.path().join("rules.yaml");
        std::fs::write(&rules, RULE_A).unwrap();
        let config = dir.path().join("falco.yaml");
        std::fs::write(
            &config,
            format!(
                "rules_files:\n  - {}\nstdout_output:\n  enabled: true\nsyslog_output:\n  \
                 enabled: false\nlog_syslog: false\nlog_stderr: true\nwatch_config_files: {watch}\n",
                rules.display()
            ),
        )
        .unwrap();
        Setup {
            _dir: dir,
            rules,
            config,
        }
    }
}

/// A running peregrine with its stdout and stderr lines on channels.
struct Running {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
    stderr_seen: Vec<String>,
}

fn lines(r: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Running {
    fn start(setup: &Setup, capture: &Path) -> Running {
        let mut child = common::peregrine()
            .arg("-c")
            .arg(&setup.config)
            .arg("-e")
            .arg(capture)
            .arg("-U")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = lines(child.stdout.take().unwrap());
        let err = lines(child.stderr.take().unwrap());
        Running {
            child,
            out,
            err,
            stderr_seen: Vec::new(),
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Reads stdout until a line contains `needle`; false at end of output.
    fn wait_stdout(&mut self, needle: &str) -> bool {
        let deadline = Instant::now() + TIMEOUT;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.out.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        false
    }

    /// Reads stderr until a line contains `needle`; false at end of output.
    fn wait_stderr(&mut self, needle: &str) -> bool {
        let deadline = Instant::now() + TIMEOUT;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.err.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    self.stderr_seen.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    /// Drops stdout lines read so far.
    fn drain_stdout(&mut self) {
        while self.out.try_recv().is_ok() {}
    }

    /// Stops the process (SIGINT) and returns its exit status and the
    /// rest of its stderr.
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        let _ = self.child.kill();
        let status = self.child.wait().unwrap();
        let deadline = Instant::now() + TIMEOUT;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.err.recv_timeout(left) {
                Ok(line) => self.stderr_seen.push(line),
                Err(_) => break,
            }
        }
        (status, self.stderr_seen.join("\n"))
    }
}

fn sighup_with_edited_rules_takes_effect(capture: &Path) {
    let setup = Setup::new("good", false);
    let mut run = Running::start(&setup, capture);
    assert!(run.wait_stdout("RULE_A"), "no alert from the first rule");
    std::fs::write(&setup.rules, RULE_B).unwrap();
    run.signal("HUP");
    assert!(
        run.wait_stderr("Configuration and rules reloaded"),
        "no reload: {:?}",
        run.stderr_seen
    );
    run.drain_stdout();
    assert!(run.wait_stdout("RULE_B"), "no alert from the new rule");
    // Once reloaded, the old rule is gone.
    let mut after = Vec::new();
    while let Ok(line) = run.out.recv_timeout(Duration::from_secs(2)) {
        after.push(line);
        if after.len() > 100 {
            break;
        }
    }
    assert!(after.iter().all(|l| !l.contains("RULE_A")), "{after:?}");
    run.finish();
}

fn broken_rules_edit_keeps_the_old_rules(capture: &Path) {
    let setup = Setup::new("broken", false);
    let mut run = Running::start(&setup, capture);
    assert!(run.wait_stdout("RULE_A"), "no alert from the first rule");
    std::fs::write(&setup.rules, BROKEN).unwrap();
    run.signal("HUP");
    assert!(
        run.wait_stderr("Reload failed"),
        "no reload error: {:?}",
        run.stderr_seen
    );
    let error = run.stderr_seen.join("\n");
    run.drain_stdout();
    assert!(run.wait_stdout("RULE_A"), "the old rule stopped alerting");
    let (_, stderr) = run.finish();
    let all = format!("{error}\n{stderr}");
    assert!(
        all.contains("rules.yaml"),
        "error does not name the file: {all}"
    );
    assert!(all.contains("3:"), "error does not name the line: {all}");
}

fn watched_rules_file_change_reloads(capture: &Path) {
    let setup = Setup::new("watch", true);
    let mut run = Running::start(&setup, capture);
    assert!(run.wait_stdout("RULE_A"), "no alert from the first rule");
    std::fs::write(&setup.rules, format!("{RULE_B}\n")).unwrap();
    assert!(
        run.wait_stderr("Configuration and rules reloaded"),
        "no reload: {:?}",
        run.stderr_seen
    );
    run.drain_stdout();
    assert!(run.wait_stdout("RULE_B"), "no alert from the new rule");
    run.finish();
}

fn sigint_stops_cleanly_and_sigusr1_reopens(capture: &Path) {
    let setup = Setup::new("stop", false);
    let mut run = Running::start(&setup, capture);
    assert!(run.wait_stdout("RULE_A"), "no alert from the first rule");
    run.signal("USR1");
    assert!(
        run.wait_stderr("reopening outputs"),
        "{:?}",
        run.stderr_seen
    );
    run.signal("INT");
    let status = run.child.wait().unwrap();
    let (_, stderr) = run.finish();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("stopping the event loop"), "{stderr}");
    assert!(stderr.contains("Stopping (exit code 0)"), "{stderr}");
}

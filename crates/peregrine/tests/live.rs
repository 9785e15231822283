//! Live capture end to end (root and BPF required): `peregrine` with no
//! capture file attaches the probe, real commands run, and their alerts
//! come out with the right fields.

mod common;

use common::{lines_until, peregrine, signal, start_live, tempdir};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const RULES: &str = r#"
- rule: Read shadow
  desc: a process reads /etc/shadow
  condition: evt.type in (open, openat, openat2) and fd.name = /etc/shadow
  output: "shadow read (proc=%proc.name parent=%proc.pname user=%user.name file=%fd.name)"
  priority: WARNING
- rule: Shell spawned child
  desc: a shell runs a child
  condition: evt.type in (execve, execveat) and proc.pname = sh and proc.name = true
  output: "child of sh (cmdline=%proc.cmdline parent=%proc.aname[1])"
  priority: NOTICE
"#;

/// A fresh directory for test `name` with `rules` in rules.yaml and
/// `config` in falco.yaml: (directory, removed on drop; rules file;
/// config file).
fn setup(name: &str, rules: &str, config: &str) -> (TempDir, PathBuf, PathBuf) {
    let dir = tempdir(&format!("live-{name}"));
    let (rules_file, config_file) = (dir.path().join("rules.yaml"), dir.path().join("falco.yaml"));
    std::fs::write(&rules_file, rules).unwrap();
    std::fs::write(&config_file, config).unwrap();
    (dir, rules_file, config_file)
}

#[test]
fn live_capture_alerts_on_real_commands() {
    let (dir, rules, config) = setup(
        "alerts",
        RULES,
        "stdout_output:\n  enabled: true\nlog_stderr: true\nlog_level: info\n",
    );

    let capture = dir.path().join("live.scap");
    let live = start_live(
        peregrine()
            .arg("-c")
            .arg(&config)
            .arg("-r")
            .arg(&rules)
            .arg("-w")
            .arg(&capture)
            .args(["-o", "json_output=true", "-M", "120"]),
        "live capture:",
    );

    let mut out = Vec::new();
    let mut shadow = None;
    let mut spawned = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while (shadow.is_none() || spawned.is_none()) && Instant::now() < deadline {
        let mut buf = String::new();
        let _ = Command::new("cat")
            .arg("/etc/shadow")
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdout.take().unwrap().read_to_string(&mut buf)?;
                c.wait()
            });
        let _ = Command::new("sh")
            .args(["-c", "/bin/true; /bin/true"])
            .status();
        let step = Instant::now() + Duration::from_secs(2);
        while Instant::now() < step {
            if let Ok(line) = live.out.recv_timeout(Duration::from_millis(100)) {
                if line.contains("\"rule\":\"Read shadow\"") && shadow.is_none() {
                    shadow = Some(line.clone());
                }
                if line.contains("\"rule\":\"Shell spawned child\"") && spawned.is_none() {
                    spawned = Some(line.clone());
                }
                out.push(line);
            }
        }
    }
    // SIGINT: a clean stop.
    let (status, log) = live.stop();
    let context = format!("stdout:\n{}\nstderr:\n{}", out.join("\n"), log.join("\n"));
    assert!(status.success(), "exit status {status}\n{context}");

    let shadow = shadow.unwrap_or_else(|| panic!("no alert for cat /etc/shadow\n{context}"));
    let v: serde_json::Value = serde_json::from_str(&shadow).unwrap();
    let f = &v["output_fields"];
    assert_eq!(f["proc.name"], "cat", "{shadow}");
    assert_eq!(f["fd.name"], "/etc/shadow", "{shadow}");
    assert_eq!(f["user.name"], "root", "{shadow}");
    assert!(
        f["proc.pname"].is_string() && f["proc.pname"] != "<NA>",
        "{shadow}"
    );

    let spawned = spawned.unwrap_or_else(|| panic!("no alert for sh -c true\n{context}"));
    let v: serde_json::Value = serde_json::from_str(&spawned).unwrap();
    assert_eq!(v["output_fields"]["proc.cmdline"], "true", "{spawned}");
    assert_eq!(v["output_fields"]["proc.aname[1]"], "sh", "{spawned}");

    // The live stream written with -w: peregrine and sysdig both read it
    // and both see cat open /etc/shadow.
    let format = ["-p", "%evt.type %proc.name %fd.name"];
    let ours = common::run(
        peregrine()
            .args(["dump", "-e"])
            .arg(&capture)
            .args(format)
            .arg("fd.name=/etc/shadow"),
        false,
    );
    let ours = String::from_utf8_lossy(&ours.stdout).into_owned();
    assert!(
        ours.lines()
            .any(|l| l.starts_with("open") && l.contains("cat /etc/shadow")),
        "{ours}"
    );
    let theirs = common::run(
        common::sysdig()
            .arg("-r")
            .arg(&capture)
            .args(format)
            .arg("fd.name=/etc/shadow"),
        false,
    );
    let theirs = String::from_utf8_lossy(&theirs.stdout).into_owned();
    assert!(
        theirs
            .lines()
            .any(|l| l.starts_with("open") && l.contains("cat /etc/shadow")),
        "{theirs}"
    );
}

#[test]
fn live_drops_reach_the_drop_actions_and_the_stats() {
    // A rule on read events, so that read is attached.
    let (dir, rules, config) = setup(
        "drops",
        "- rule: Never\n  desc: never matches\n  condition: evt.type = read and proc.name = peregrine-none\n  output: never\n  priority: DEBUG\n",
        "stdout_output:\n  enabled: true\njson_output: true\nlog_stderr: true\n\
         engine:\n  kind: modern_ebpf\n  modern_ebpf:\n    buf_size_preset: 1\n\
         syscall_event_drops:\n  actions: [alert]\n  threshold: 0\n  rate: 10\n  max_burst: 10\n",
    );
    let stats = dir.path().join("stats.jsonl");
    let stats_arg = stats.to_string_lossy().into_owned();
    let live = start_live(
        peregrine()
            .arg("-c")
            .arg(&config)
            .arg("-r")
            .arg(&rules)
            .args(["-s", &stats_arg, "--stats-interval", "100", "-M", "120"]),
        "live capture:",
    );
    // Stopped, peregrine reads nothing while dd makes far more read
    // events than its rings hold (1 MiB a CPU).
    let pid = live.child.id();
    signal(pid, "STOP");
    let dd = Command::new("dd")
        .args(["if=/dev/zero", "of=/dev/null", "bs=1", "count=100000"])
        .stderr(Stdio::null())
        .status()
        .expect("run dd");
    signal(pid, "CONT");
    assert!(dd.success());
    // More events, for a second of event time to pass: the drop manager
    // samples the counters once per second of events.
    let mut seen = Vec::new();
    let mut alert = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while alert.is_none() && Instant::now() < deadline {
        let _ = Command::new("cat")
            .arg("/etc/hostname")
            .stdout(Stdio::null())
            .status();
        alert = lines_until(
            &live.out,
            Instant::now() + Duration::from_millis(200),
            "Falco internal: syscall event drop",
            &mut seen,
        );
    }
    let (status, log) = live.stop();
    let context = format!("stdout:\n{}\nstderr:\n{}", seen.join("\n"), log.join("\n"));
    assert!(status.success(), "exit status {status}\n{context}");
    let alert = alert.unwrap_or_else(|| panic!("no drop alert\n{context}"));
    let v: serde_json::Value = serde_json::from_str(&alert).unwrap();
    let f = &v["output_fields"];
    assert_eq!(v["source"], "internal", "{alert}");
    assert_eq!(f["ebpf_enabled"], "1", "{alert}");
    let buffer: u64 = f["n_drops_buffer_total"].as_str().unwrap().parse().unwrap();
    assert!(buffer > 0, "{alert}");
    assert_eq!(f["n_drops"], f["n_drops_buffer_total"], "{alert}");
    let occurrences = log
        .iter()
        .find_map(|l| l.trim().strip_prefix("- event drop detected: "))
        .and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok());
    assert!(occurrences.is_some_and(|n| n >= 1), "{context}");
    // -s: the probe's counters, drops included.
    let text = std::fs::read_to_string(&stats).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let cur = &last["cur"];
    assert!(cur["drops"].as_u64().unwrap() >= buffer, "{last}");
    assert_eq!(cur["drops"], cur["drops_buffer"], "{last}");
    assert!(
        cur["events"].as_u64().unwrap() > cur["drops"].as_u64().unwrap(),
        "{last}"
    );
}

#[test]
fn live_reload_names_the_syscalls_the_probe_lacks() {
    let (_dir, rules, config) = setup("reload", RULES, "log_stderr: true\nlog_level: info\n");
    let mut live = start_live(
        peregrine().arg("-c").arg(&config).arg("-r").arg(&rules),
        "live capture:",
    );
    assert!(
        !live.log.iter().any(|l| l.contains("ptrace")),
        "ptrace attached at start: {:?}",
        live.log
    );
    // A rule on a syscall neither the first rules nor the state need.
    let more = format!(
        "{RULES}- rule: Ptrace\n  desc: d\n  condition: evt.type = ptrace\n  output: o\n  priority: INFO\n"
    );
    std::fs::write(&rules, more).unwrap();
    signal(live.child.id(), "HUP");
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let warning = lines_until(&live.err, deadline, "did not attach at start", &mut seen);
    let reloaded = lines_until(&live.err, deadline, "rules reloaded", &mut seen);
    live.log.extend(seen);
    let (status, log) = live.stop();
    let warning = warning.unwrap_or_else(|| panic!("no warning on reload: {log:#?}"));
    assert!(warning.contains("(ptrace)"), "{warning}");
    assert!(reloaded.is_some(), "{log:#?}");
    assert!(status.success(), "{status:?}: {log:#?}");
}

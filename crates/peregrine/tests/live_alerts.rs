//! Live engine, more commands (root and BPF required): a TCP connect to a
//! loopback listener, a rename and an unlink in a temp dir, an execve of a
//! file in /dev/shm and a program that changes its uid each raise the
//! alert of their rule, with the fields the rule prints; meanwhile the
//! engine runs without the capabilities it needed to attach the probe.

mod common;

use common::{lines_until, peregrine, start_live, tempdir};
use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

fn rules(port: u16, dir: &Path) -> String {
    let d = dir.display();
    format!(
        r#"
- rule: Loopback connect
  desc: a connect to the test's listener
  condition: evt.type = connect and evt.dir = < and fd.sip = 127.0.0.1 and fd.sport = {port}
  output: "connect (sip=%fd.sip sport=%fd.sport l4=%fd.l4proto name=%fd.name)"
  priority: NOTICE
- rule: Rename in test dir
  desc: mv inside the test's directory
  condition: evt.type in (rename, renameat, renameat2) and evt.dir = < and evt.arg.newpath startswith {d}/
  output: "rename (proc=%proc.name from=%evt.arg.oldpath to=%evt.arg.newpath)"
  priority: NOTICE
- rule: Unlink in test dir
  desc: rm inside the test's directory
  condition: evt.type in (unlink, unlinkat) and evt.dir = < and evt.arg.name contains {d}/
  output: "unlink (proc=%proc.name name=%evt.arg.name)"
  priority: NOTICE
- rule: Exec from shm
  desc: a program run from /dev/shm
  condition: evt.type in (execve, execveat) and evt.dir = < and proc.exepath startswith /dev/shm/
  output: "shm exec (exepath=%proc.exepath name=%proc.name parent=%proc.pname)"
  priority: WARNING
- rule: Uid change
  desc: a process takes uid 65534
  condition: evt.type in (setuid, setresuid, setreuid) and evt.dir = < and proc.name = setpriv
  output: "uid change (proc=%proc.name type=%evt.type res=%evt.res)"
  priority: NOTICE
"#
    )
}

/// Waits until an alert of `rule` arrives (or was seen); returns its JSON.
fn alert_of(rx: &Receiver<String>, rule: &str, seen: &mut Vec<String>) -> Option<Value> {
    let want = format!("\"rule\":\"{rule}\"");
    let line = match seen.iter().find(|l| l.contains(&want)) {
        Some(l) => l.clone(),
        None => lines_until(rx, Instant::now() + Duration::from_secs(10), &want, seen)?,
    };
    serde_json::from_str(&line).ok()
}

#[test]
fn live_alerts_for_network_files_exec_and_uid() {
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("setpriv (util-linux) is needed for the uid change");
    let tmp = tempdir("live-alerts");
    let dir = tmp.path();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let rules_file = dir.join("rules.yaml");
    std::fs::write(&rules_file, rules(port, dir)).unwrap();

    let live = start_live(
        peregrine()
            .args([
                "-c",
                "/dev/null",
                "-o",
                "json_output=true",
                "-o",
                "log_stderr=true",
            ])
            .args(["-o", "stdout_output.enabled=true", "-M", "90"])
            .arg("-r")
            .arg(&rules_file),
        "capabilities dropped",
    );

    // Once attached, the probe's privileges are gone; files stay open to
    // it (DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER) and low ports bindable.
    let status = std::fs::read_to_string(format!("/proc/{}/status", live.child.id())).unwrap();
    let caps = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
            .unwrap_or_else(|| panic!("no {key} in\n{status}"))
    };
    let keep = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 10);
    assert_eq!(caps("CapEff:"), keep, "{status}");
    assert_eq!(caps("CapPrm:"), keep, "{status}");
    assert_eq!(caps("CapBnd:"), keep, "{status}");

    // The commands.
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_accepted, _) = listener.accept().unwrap();
    drop(stream);
    let a = dir.join("a.txt");
    std::fs::write(&a, "x").unwrap();
    let status = Command::new("mv")
        .arg(&a)
        .arg(dir.join("b.txt"))
        .status()
        .unwrap();
    assert!(status.success());
    let status = Command::new("rm").arg(dir.join("b.txt")).status().unwrap();
    assert!(status.success());
    let shm = format!("/dev/shm/peregrine-true-{}", std::process::id());
    std::fs::copy("/bin/true", &shm).unwrap();
    let status = Command::new("sh").args(["-c", &shm]).status().unwrap();
    let _ = std::fs::remove_file(&shm);
    assert!(status.success());
    let status = Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
        .status()
        .unwrap();
    assert!(status.success());

    let mut seen = Vec::new();
    let connect = alert_of(&live.out, "Loopback connect", &mut seen);
    let rename = alert_of(&live.out, "Rename in test dir", &mut seen);
    let unlink = alert_of(&live.out, "Unlink in test dir", &mut seen);
    let exec = alert_of(&live.out, "Exec from shm", &mut seen);
    let uid = alert_of(&live.out, "Uid change", &mut seen);
    let (status, _) = live.stop();
    let context = seen.join("\n");

    let f = |v: &Option<Value>, what: &str| -> Value {
        v.as_ref()
            .unwrap_or_else(|| panic!("no alert for {what}; alerts:\n{context}"))["output_fields"]
            .clone()
    };
    let c = f(&connect, "the loopback connect");
    assert_eq!(c["fd.sip"], "127.0.0.1", "{c}");
    assert_eq!(c["fd.sport"], port, "{c}");
    assert_eq!(c["fd.l4proto"], "tcp", "{c}");
    let r = f(&rename, "the rename");
    assert_eq!(r["proc.name"], "mv", "{r}");
    assert_eq!(r["evt.arg.oldpath"], a.display().to_string(), "{r}");
    assert_eq!(
        r["evt.arg.newpath"],
        dir.join("b.txt").display().to_string(),
        "{r}"
    );
    let u = f(&unlink, "the unlink");
    assert_eq!(u["proc.name"], "rm", "{u}");
    assert!(
        u["evt.arg.name"]
            .as_str()
            .is_some_and(|n| n.ends_with("b.txt")),
        "{u}"
    );
    let e = f(&exec, "the execve from /dev/shm");
    assert_eq!(e["proc.exepath"], shm, "{e}");
    assert_eq!(e["proc.pname"], "sh", "{e}");
    let s = f(&uid, "the uid change");
    assert_eq!(s["proc.name"], "setpriv", "{s}");
    assert_eq!(s["evt.res"], "SUCCESS", "{s}");
    assert!(status.success(), "peregrine: {status}");
}

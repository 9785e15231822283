//! program_output with a real /bin/sh.
mod common;

use std::time::Duration;

use common::*;
use peregrine_outputs::{Outputs, Priority};

const T: Duration = Duration::from_secs(10);

fn program_outputs(program: String, keep_alive: bool) -> Outputs {
    let mut c = quiet_config();
    c.program.enabled = true;
    c.program.program = program;
    c.program.keep_alive = keep_alive;
    Outputs::new(c).unwrap()
}

#[test]
fn cat_appends_every_alert_keep_alive_both_ways() {
    for keep_alive in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("program_output.txt");
        let o = program_outputs(format!("cat >> '{}'", out.display()), keep_alive);
        for i in 0..20 {
            o.send(alert(i, Priority::Informational));
        }
        let r = o.shutdown(T);
        let p = r.stats.channel("program").unwrap();
        assert_eq!((p.sent, p.delivered, p.failed, p.restarts), (20, 20, 0, 0));
        let lines = read_lines(&out);
        assert_eq!(lines.len(), 20, "keep_alive={keep_alive}");
        assert_eq!(lines[19], "12:00:00.000000000: Informational text 19");
    }
}

#[test]
fn keep_alive_is_one_process_and_per_alert_is_many() {
    for keep_alive in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids.txt");
        // Each process logs its pid once, then consumes its input.
        let o = program_outputs(
            format!("echo $$ >> '{}'; cat > /dev/null", pids.display()),
            keep_alive,
        );
        for i in 0..5 {
            o.send(alert(i, Priority::Debug));
        }
        o.shutdown(T);
        let n = read_lines(&pids).len();
        assert_eq!(n, if keep_alive { 1 } else { 5 }, "keep_alive={keep_alive}");
    }
}

#[test]
fn alert_data_never_reaches_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    let pwned = dir.path().join("pwned");
    let o = program_outputs(format!("cat >> '{}'", out.display()), false);
    let mut a = alert(1, Priority::Warning);
    a.text = format!(
        "$(touch {}) `touch {}`; touch {}",
        pwned.display(),
        pwned.display(),
        pwned.display()
    );
    o.send(a.clone());
    o.shutdown(T);
    assert!(!pwned.exists());
    assert_eq!(read_lines(&out), vec![a.text]);
}

#[test]
fn program_that_exits_early_is_restarted_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    // Reads exactly one line (the shell's `read` takes no more), then exits.
    let o = program_outputs(
        format!(
            "read -r line; printf '%s\\n' \"$line\" >> '{}'",
            out.display()
        ),
        true,
    );
    for i in 0..4u64 {
        o.send(alert(i, Priority::Warning));
        assert!(wait_until(T, || read_lines(&out).len() == i as usize + 1));
        // Let the shell exit after its one line.
        std::thread::sleep(Duration::from_millis(100));
    }
    let r = o.shutdown(T);
    let p = r.stats.channel("program").unwrap();
    assert_eq!((p.delivered, p.failed), (4, 0));
    assert_eq!(p.restarts, 3, "{p}");
    assert_eq!(read_lines(&out).len(), 4);
}

#[test]
fn failing_program_counts_failures_per_alert() {
    let o = program_outputs("cat > /dev/null; exit 3".into(), false);
    for i in 0..3 {
        o.send(alert(i, Priority::Warning));
    }
    let r = o.shutdown(T);
    let p = r.stats.channel("program").unwrap();
    assert_eq!((p.sent, p.delivered, p.failed, p.retries), (3, 0, 3, 0));
}

#[test]
fn reopen_restarts_the_long_lived_program() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids.txt");
    let o = program_outputs(
        format!("echo $$ >> '{}'; cat > /dev/null", pids.display()),
        true,
    );
    o.send(alert(1, Priority::Debug));
    assert!(wait_until(T, || read_lines(&pids).len() == 1));
    o.reopen();
    o.send(alert(2, Priority::Debug));
    assert!(wait_until(T, || read_lines(&pids).len() == 2));
    let r = o.shutdown(T);
    let p = r.stats.channel("program").unwrap();
    assert_eq!((p.delivered, p.reopens, p.restarts), (2, 1, 0));
}

#[test]
fn shutdown_kills_a_program_that_never_reads() {
    let o = program_outputs("sleep 60".into(), true);
    // Far more than a pipe buffer: the writer blocks.
    let big = "x".repeat(64 * 1024);
    for i in 0..8 {
        let mut a = alert(i, Priority::Debug);
        a.text = big.clone();
        o.send(a);
    }
    let start = std::time::Instant::now();
    let r = o.shutdown(Duration::from_millis(300));
    assert!(start.elapsed() < Duration::from_secs(5));
    let p = r.stats.channel("program").unwrap();
    assert_eq!(p.sent, 8);
    assert_eq!(p.accounted(), 8, "{p}");
    assert!(p.lost > 0, "{p}");
}

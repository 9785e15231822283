//! file_output against real files.
mod common;

use std::time::Duration;

use common::*;
use peregrine_outputs::{Outputs, Priority};

const T: Duration = Duration::from_secs(10);

fn file_outputs(path: &std::path::Path, keep_alive: bool, json: bool) -> Outputs {
    let mut c = quiet_config();
    c.file.enabled = true;
    c.file.filename = path.to_path_buf();
    c.file.keep_alive = keep_alive;
    c.json_output = json;
    Outputs::new(c).unwrap()
}

#[test]
fn writes_lines_keep_alive_both_ways() {
    for keep_alive in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.txt");
        std::fs::write(&path, "existing\n").unwrap();
        let o = file_outputs(&path, keep_alive, false);
        for i in 0..100 {
            assert!(o.send(alert(i, Priority::Warning)));
        }
        assert!(wait_until(T, || o
            .stats()
            .channel("file")
            .unwrap()
            .delivered
            == 100));
        let lines = read_lines(&path);
        assert_eq!(lines.len(), 101, "keep_alive={keep_alive}");
        assert_eq!(lines[0], "existing");
        assert_eq!(lines[1], "12:00:00.000000000: Warning text 0");
        assert_eq!(lines[100], "12:00:00.000000000: Warning text 99");
        let r = o.shutdown(T);
        let f = r.stats.channel("file").unwrap();
        assert_eq!(
            (f.sent, f.delivered, f.dropped, f.failed, f.lost),
            (100, 100, 0, 0, 0)
        );
    }
}

#[test]
fn json_output_writes_json_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.json");
    let o = file_outputs(&path, true, true);
    o.send(alert(7, Priority::Critical));
    o.shutdown(T);
    assert_eq!(read_lines(&path), vec![r#"{"n":7,"priority":"Critical"}"#]);
}

#[test]
fn buffered_keep_alive_flushes_when_idle_and_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.txt");
    let mut c = quiet_config();
    c.file.enabled = true;
    c.file.filename = path.clone();
    c.file.keep_alive = true;
    c.buffered_outputs = true;
    let o = Outputs::new(c).unwrap();
    for i in 0..1000 {
        o.send(alert(i, Priority::Notice));
    }
    // Flushed once the queue ran empty.
    assert!(wait_until(T, || read_lines(&path).len() == 1000));
    let r = o.shutdown(T);
    assert_eq!(r.stats.channel("file").unwrap().delivered, 1000);
}

#[test]
fn reopen_after_the_file_was_moved_away() {
    for keep_alive in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.txt");
        let rotated = dir.path().join("events.txt.1");
        let o = file_outputs(&path, keep_alive, false);
        o.send(alert(1, Priority::Error));
        assert!(wait_until(T, || o
            .stats()
            .channel("file")
            .unwrap()
            .delivered
            == 1));
        std::fs::rename(&path, &rotated).unwrap();
        if keep_alive {
            // Still open: this line follows the file to its new name.
            o.send(alert(2, Priority::Error));
            assert!(wait_until(T, || o
                .stats()
                .channel("file")
                .unwrap()
                .delivered
                == 2));
            assert_eq!(read_lines(&rotated).len(), 2);
        }
        o.reopen();
        o.send(alert(3, Priority::Error));
        let r = o.shutdown(T);
        assert_eq!(r.stats.channel("file").unwrap().reopens, 1);
        assert_eq!(read_lines(&path), vec!["12:00:00.000000000: Error text 3"]);
        let old = read_lines(&rotated);
        assert_eq!(old[0], "12:00:00.000000000: Error text 1");
        assert_eq!(old.len(), if keep_alive { 2 } else { 1 });
    }
}

#[test]
fn unwritable_path_is_reported_and_others_keep_going() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.txt");
    let mut c = quiet_config();
    // A path below a regular file can never be created, even as root.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    c.file.enabled = true;
    c.file.filename = blocker.join("events.txt");
    c.program.enabled = true;
    c.program.keep_alive = true;
    c.program.program = format!("cat >> '{}'", good.display());
    let o = Outputs::new(c).unwrap();
    for i in 0..50 {
        o.send(alert(i, Priority::Alert));
    }
    let r = o.shutdown(T);
    let f = r.stats.channel("file").unwrap();
    assert_eq!((f.sent, f.delivered, f.failed), (50, 0, 50));
    assert_eq!(f.retries, 50, "one reopen attempt per alert");
    let p = r.stats.channel("program").unwrap();
    assert_eq!((p.sent, p.delivered, p.failed), (50, 50, 0));
    assert_eq!(read_lines(&good).len(), 50);
}

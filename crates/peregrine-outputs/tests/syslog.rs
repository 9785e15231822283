//! syslog_output against a unix datagram socket standing in for /dev/log.
mod common;

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use common::*;
use peregrine_outputs::{Outputs, Priority, format_syslog_line};

const T: Duration = Duration::from_secs(10);

/// Checks `<PRI>Mmm dd hh:mm:ss falco: MSG` and returns (PRI, MSG).
fn parse(d: &str) -> (u32, String) {
    let rest = d.strip_prefix('<').expect("starts with <");
    let (pri, rest) = rest.split_once('>').expect("PRI closed");
    let month = &rest[..3];
    assert!(
        [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
        ]
        .contains(&month),
        "{d}"
    );
    let b = rest.as_bytes();
    assert_eq!(b[3], b' ');
    assert!(b[4] == b' ' || b[4].is_ascii_digit(), "{d}");
    assert!(b[5].is_ascii_digit());
    assert_eq!(b[6], b' ');
    // hh:mm:ss
    let time = &rest[7..15];
    assert!(time.chars().enumerate().all(|(i, c)| if i == 2 || i == 5 {
        c == ':'
    } else {
        c.is_ascii_digit()
    }));
    let msg = rest[15..].strip_prefix(" falco: ").expect("tag");
    (pri.parse().unwrap(), msg.to_string())
}

#[test]
fn wire_format_for_every_priority() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("log");
    let server = UnixDatagram::bind(&sock_path).unwrap();
    server.set_read_timeout(Some(T)).unwrap();
    let mut c = quiet_config();
    c.syslog.enabled = true;
    c.syslog.socket_path = sock_path.clone();
    let o = Outputs::new(c).unwrap();
    for (i, p) in Priority::ALL.iter().enumerate() {
        o.send(alert(i as u64, *p));
    }
    let mut buf = vec![0u8; 65536];
    for (i, p) in Priority::ALL.iter().enumerate() {
        let n = server.recv(&mut buf).unwrap();
        let d = std::str::from_utf8(&buf[..n]).unwrap();
        let (pri, msg) = parse(d);
        // facility user (1) * 8 + severity: <8> emergency ... <15> debug.
        assert_eq!(pri, 8 + i as u32, "{d}");
        assert_eq!(msg, format!("12:00:00.000000000: {} text {i}", p.name()));
        assert!(!d.ends_with('\n'));
    }
    let r = o.shutdown(T);
    assert_eq!(r.stats.channel("syslog").unwrap().delivered, 8);
}

#[test]
fn exact_line_for_a_fixed_time() {
    // The time is local: the exact line is checked when the zone is UTC.
    let mut out = Vec::new();
    format_syslog_line(
        &mut out,
        Priority::Critical,
        "falco",
        "hello",
        1_709_214_811,
    );
    let s = String::from_utf8(out).unwrap();
    let (pri, msg) = parse(&s);
    assert_eq!((pri, msg.as_str()), (10, "hello"));
    if std::env::var_os("TZ").is_none()
        && std::fs::read_link("/etc/localtime")
            .map(|p| p.ends_with("UTC") || p.ends_with("Etc/UTC"))
            .unwrap_or(!std::path::Path::new("/etc/localtime").exists())
    {
        assert_eq!(s, "<10>Feb 29 13:53:31 falco: hello");
    }
    let mut out = Vec::new();
    format_syslog_line(&mut out, Priority::Debug, "falco", "x", 1_704_153_600);
    let s = String::from_utf8(out).unwrap();
    // Day of month padded with a space, as glibc's %e.
    assert!(
        s.starts_with("<15>Jan  2 ") || s.starts_with("<15>Jan  1 "),
        "{s}"
    );
}

#[test]
fn json_output_sends_json_and_missing_socket_fails_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("log");
    let mut c = quiet_config();
    c.json_output = true;
    c.syslog.enabled = true;
    c.syslog.socket_path = sock_path.clone();
    let o = Outputs::new(c).unwrap();
    // No socket yet: connect fails, one retry, counted as failed.
    o.send(alert(1, Priority::Error));
    assert!(wait_until(T, || o
        .stats()
        .channel("syslog")
        .unwrap()
        .failed
        == 1));
    // The daemon comes up: the next alert after the one-second hold-off
    // (a missing socket is not retried for every alert) goes through.
    let server = UnixDatagram::bind(&sock_path).unwrap();
    server.set_read_timeout(Some(T)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    o.send(alert(2, Priority::Error));
    let mut buf = vec![0u8; 4096];
    let n = server.recv(&mut buf).unwrap();
    let (pri, msg) = parse(std::str::from_utf8(&buf[..n]).unwrap());
    assert_eq!((pri, msg.as_str()), (11, r#"{"n":2,"priority":"Error"}"#));
    let r = o.shutdown(T);
    let s = r.stats.channel("syslog").unwrap();
    assert_eq!((s.sent, s.delivered, s.failed, s.retries), (2, 1, 1, 1));
}

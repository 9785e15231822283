//! Falco's token bucket in front of the queues.
mod common;

use std::time::Duration;

use common::*;
use peregrine_outputs::{Outputs, Priority};

#[test]
fn burst_then_steady_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.txt");
    let mut c = quiet_config();
    c.file.enabled = true;
    c.file.filename = path.clone();
    c.rate = 100.0;
    c.max_burst = 50.0;
    let o = Outputs::new(c).unwrap();

    // Burst: the bucket starts full, 50 tokens (plus at most a couple
    // gained while the loop runs).
    let burst = (0..1000)
        .filter(|&i| o.send(alert(i, Priority::Warning)))
        .count();
    assert!((50..=53).contains(&burst), "burst {burst}");

    // Steady state: 100 tokens a second, so ~50 in 500 ms.
    std::thread::sleep(Duration::from_millis(500));
    let steady = (0..1000)
        .filter(|&i| o.send(alert(i, Priority::Warning)))
        .count();
    assert!((45..=56).contains(&steady), "steady {steady}");

    // Another source has its own bucket.
    let mut other = alert(0, Priority::Warning);
    other.source = "k8s_audit".into();
    assert!(o.send(other));

    let r = o.shutdown(Duration::from_secs(10));
    let passed = (burst + steady + 1) as u64;
    assert_eq!(r.stats.alerts, 2001);
    assert_eq!(r.stats.throttled, 2001 - passed);
    let f = r.stats.channel("file").unwrap();
    assert_eq!((f.sent, f.delivered), (passed, passed));
    assert_eq!(read_lines(&path).len() as u64, passed);
}

#[test]
fn rate_zero_is_unlimited() {
    let mut c = quiet_config();
    c.rate = 0.0;
    c.max_burst = 1.0;
    let o = Outputs::new(c).unwrap();
    assert!((0..10_000).all(|i| o.send(alert(i, Priority::Debug))));
    assert_eq!(o.shutdown(Duration::from_secs(1)).stats.throttled, 0);
}

//! The queue under load: one million alerts through stdout (to /dev/null),
//! file and a slow http endpoint. `send` must never wait for a channel, and
//! every alert must be accounted for exactly.
//!
//! `PEREGRINE_LOAD_ALERTS` overrides the count. Figures are printed; run
//! with `--nocapture` (and `--release` for real numbers).
mod common;

use std::time::{Duration, Instant};

use common::*;
use peregrine_outputs::{Outputs, Priority};

#[test]
fn million_alerts_never_block_and_add_up() {
    let n: u64 = std::env::var("PEREGRINE_LOAD_ALERTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let server = Server::start(0, None);
    // ~200 alerts a second at most.
    server.set(Behavior::Delay(Duration::from_millis(5)));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.txt");
    let mut c = quiet_config();
    c.stdout.enabled = true;
    c.file.enabled = true;
    c.file.filename = path.clone();
    c.file.keep_alive = true;
    c.http.enabled = true;
    c.http.url = server.url("http");
    c.http.keep_alive = true;
    c.http.ca_path = String::new();
    c.output_timeout = Duration::from_millis(1000);
    let capacity = c.queue_capacity as u64;
    let devnull = std::fs::File::create("/dev/null").unwrap();
    let o = Outputs::with_stdout_writer(c, Box::new(devnull)).unwrap();

    let template = alert(0, Priority::Warning);
    let mut in_send = Duration::ZERO;
    let mut slowest = Duration::ZERO;
    let start = Instant::now();
    for i in 0..n {
        let mut a = template.clone();
        a.ts += i;
        let t = Instant::now();
        o.send(a);
        let d = t.elapsed();
        in_send += d;
        slowest = slowest.max(d);
    }
    let produce = start.elapsed();
    let during = o.stats();
    let report = o.shutdown(Duration::from_secs(2));
    let total = start.elapsed();

    let rate = n as f64 / produce.as_secs_f64();
    eprintln!(
        "load: {n} alerts produced in {:.3} s ({:.0} alerts/s; {:.0} ns per send on average, slowest send {:?}); shutdown done after {:.3} s",
        produce.as_secs_f64(),
        rate,
        in_send.as_nanos() as f64 / n as f64,
        slowest,
        total.as_secs_f64()
    );
    for c in &report.stats.channels {
        eprintln!("load:   {c}");
    }
    eprintln!(
        "load: http delivered {} while producing; server saw {} requests",
        during.channel("http").unwrap().delivered,
        server.count()
    );

    for c in &report.stats.channels {
        assert_eq!(c.sent, n, "{c}");
        assert_eq!(c.delivered + c.dropped + c.failed + c.lost, n, "{c}");
    }
    // The slow endpoint could not take them all: most were dropped and counted.
    let h = report.stats.channel("http").unwrap();
    assert!(h.dropped > n / 2, "{h}");
    // Every request the endpoint answered while the channel still waited is
    // counted as delivered (the server may have seen one more in flight).
    let seen = server.count() as u64;
    assert!(
        seen >= h.delivered && seen <= h.delivered + h.lost + h.failed,
        "{h}, seen {seen}"
    );
    assert!(h.delivered > 0, "{h}");
    // The producer never waited for the slow endpoint: when the last send
    // returned, the http channel had taken all of them, far more than it
    // had delivered plus what its queue holds.
    let hd = during.channel("http").unwrap();
    assert_eq!(hd.sent, n, "{hd}");
    assert!(
        hd.delivered + capacity < n,
        "{hd}, queue capacity {capacity}"
    );
    // What the file channel counts as delivered is in the file.
    let f = report.stats.channel("file").unwrap();
    let lines = std::fs::read(&path)
        .unwrap()
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64;
    assert_eq!(lines, f.delivered, "{f}");
}

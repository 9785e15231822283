//! What slow channels log: the "output timeout" line naming the channel,
//! and queue overflows counted and reported (at most once a second per
//! channel, with the count), never silent. The log is captured by a
//! subscriber installed for the whole test binary; the tests take turns.
mod common;

use std::fmt::{Debug, Write as _};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use peregrine_outputs::{Outputs, OutputsConfig, Priority};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata};

const T: Duration = Duration::from_secs(10);

/// Keeps every event as one line: `LEVEL message key=value...`.
struct Capture(Arc<Mutex<Vec<String>>>);

/// Writes an event's fields into a line.
struct LineWriter(String);

impl Visit for LineWriter {
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = LineWriter(event.metadata().level().to_string());
        event.record(&mut line);
        self.0.lock().unwrap().push(line.0);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// The captured log, installed once (workers log from their own threads,
/// so the subscriber must be the global one).
fn log() -> &'static Arc<Mutex<Vec<String>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<String>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let lines = Arc::new(Mutex::new(Vec::new()));
        tracing::subscriber::set_global_default(Capture(Arc::clone(&lines)))
            .expect("no other subscriber");
        lines
    })
}

/// One test at a time, starting with an empty log.
fn exclusive() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    let guard = TURN.lock().unwrap_or_else(|p| p.into_inner());
    log().lock().unwrap().clear();
    guard
}

/// The captured lines containing every one of `parts`.
fn lines_with(parts: &[&str]) -> Vec<String> {
    log()
        .lock()
        .unwrap()
        .iter()
        .filter(|l| parts.iter().all(|p| l.contains(p)))
        .cloned()
        .collect()
}

fn slow_program_config() -> OutputsConfig {
    let mut c = quiet_config();
    c.program.enabled = true;
    // Each alert's process takes 400 ms.
    c.program.program = "sleep 0.4; cat > /dev/null".into();
    c.output_timeout = Duration::from_millis(100);
    c.queue_capacity = 2;
    c
}

#[test]
fn slow_program_logs_timeouts_and_overflows() {
    let _turn = exclusive();
    let o = Outputs::new(slow_program_config()).unwrap();
    for i in 0..10 {
        o.send(alert(i, Priority::Error));
    }
    // The worker takes at most the queue's 2 alerts into its batch (one of
    // them in flight for 400 ms) and 2 more wait in the queue: at least 6
    // of the 10 do not fit.
    let dropped = o.stats().channel("program").unwrap().dropped;
    assert!(dropped >= 6, "{}", o.stats().channel("program").unwrap());

    // The overflow is reported with the total the counters show.
    let total = format!("{dropped} in total");
    assert!(
        wait_until(T, || !lines_with(&[
            "WARN",
            "program output: queue full (capacity 2)",
            &total
        ])
        .is_empty()),
        "no overflow line with {total}: {:?}",
        log().lock().unwrap()
    );
    // The first delivery takes 400 ms, past output_timeout (100 ms).
    assert!(
        wait_until(T, || !lines_with(&[
            "ERROR",
            "\"program\" output timeout",
            "channel=program"
        ])
        .is_empty()),
        "no timeout line: {:?}",
        log().lock().unwrap()
    );
    // Counted once the slow delivery ends (the monitor may log first).
    assert!(wait_until(T, || o
        .stats()
        .channel("program")
        .unwrap()
        .timeouts
        >= 1));

    let r = o.shutdown(Duration::from_millis(100));
    let p = r.stats.channel("program").unwrap();
    assert_eq!(p.dropped, dropped, "{p}");
    assert_eq!(p.accounted(), 10, "{p}");
    let summary = format!("{dropped} dropped on overflow");
    assert!(
        !lines_with(&["program output at shutdown", &summary]).is_empty(),
        "{:?}",
        log().lock().unwrap()
    );
}

#[test]
fn overflow_lines_are_rate_limited_not_one_per_drop() {
    let _turn = exclusive();
    let o = Outputs::new(slow_program_config()).unwrap();
    let start = Instant::now();
    let mut sent = 0;
    while start.elapsed() < Duration::from_millis(1500) {
        o.send(alert(sent, Priority::Error));
        sent += 1;
        std::thread::sleep(Duration::from_millis(2));
    }
    let dropped = o.stats().channel("program").unwrap().dropped;
    // Most of the ~700 alerts cannot fit: the program takes 400 ms each.
    assert!(dropped > 100, "{dropped} dropped of {sent}");
    let total = format!("{dropped} in total");
    assert!(wait_until(T, || !lines_with(&["queue full", &total]).is_empty()));
    let elapsed = start.elapsed().as_secs() as usize;
    let overflow_lines = lines_with(&["program output: queue full"]);
    // At most one line a second (plus the first one at once).
    assert!(
        overflow_lines.len() <= elapsed + 2,
        "{} lines in {elapsed} s: {overflow_lines:?}",
        overflow_lines.len()
    );
    o.shutdown(Duration::from_millis(100));
}

#[test]
fn stalled_http_endpoint_logs_a_timeout_naming_http() {
    let _turn = exclusive();
    let server = Server::start(0, None);
    server.set(Behavior::Delay(Duration::from_millis(600)));
    let mut c = quiet_config();
    c.http.enabled = true;
    c.http.url = server.url("http");
    c.http.ca_path = String::new();
    c.http.max_consecutive_timeouts = 1;
    c.retry_backoff = Duration::from_millis(20);
    c.output_timeout = Duration::from_millis(150);
    c.queue_capacity = 1;
    let o = Outputs::new(c).unwrap();
    for i in 0..6 {
        o.send(alert(i, Priority::Critical));
    }
    // One alert in the worker's batch (in flight), one queued.
    let dropped = o.stats().channel("http").unwrap().dropped;
    assert!(dropped >= 4, "{}", o.stats().channel("http").unwrap());
    // Each request times out after 150 ms and is tried twice: one alert
    // takes about 300 ms.
    assert!(
        wait_until(T, || !lines_with(&[
            "\"http\" output timeout",
            "channel=http"
        ])
        .is_empty()),
        "no timeout line: {:?}",
        log().lock().unwrap()
    );
    assert!(wait_until(T, || !lines_with(&[
        "http output: queue full (capacity 1)"
    ])
    .is_empty()));
    // No other channel is named in a timeout line.
    assert!(lines_with(&["\"program\" output timeout"]).is_empty());
    o.shutdown(Duration::from_millis(100));
}

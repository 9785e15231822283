//! Alert output channels for peregrine: stdout, file, syslog, program and
//! http, as configured by Falco's `falco.yaml` keys.
//!
//! The engine renders each alert once ([`AlertMessage`], text and JSON) and
//! calls [`Outputs::send`], which never blocks: after Falco's token bucket
//! (`outputs.rate`), the alert is pushed onto one bounded queue per channel,
//! and each channel's worker thread writes it. A slow or dead channel fills
//! only its own queue; alerts that do not fit are dropped and counted, and
//! a monitor thread logs drops and channels blocked longer than
//! `output_timeout`. [`Outputs::stats`] gives the counters;
//! [`Outputs::shutdown`] drains what it can in time and reports the rest.
//!
//! Wiring: build [`OutputsConfig`] with [`OutputsConfig::from_lookup`]
//! (set `buffered_outputs = false` for `-U`), call [`Outputs::reopen`] on
//! SIGUSR1, and [`Outputs::shutdown`] with `output_timeout` at exit.
//! Errors while delivering are logged with `tracing` and counted, never
//! returned.

mod config;
mod file;
mod http;
mod priority;
mod program;
mod rate;
mod stats;
mod stdout;
mod syslog;
mod worker;

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use config::{
    DEFAULT_QUEUE_CAPACITY, FileConfig, HttpConfig, OutputsConfig, ProgramConfig, StdoutConfig,
    SyslogConfig,
};
pub use priority::Priority;
pub use rate::TokenBucket;
pub use stats::{ChannelStats, OutputStats, ShutdownReport};
pub use syslog::format_syslog_line;

use worker::{Channel, Shared};

/// One alert, rendered once by the engine for every channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMessage {
    /// Event time, nanoseconds since the epoch.
    pub ts: u64,
    /// The rule's priority (syslog severity for the syslog channel).
    pub priority: Priority,
    /// The rule's name.
    pub rule: String,
    /// The event source (`syscall`, ...); rate limiting is per source.
    pub source: String,
    /// The full text line Falco prints, without trailing newline.
    pub text: String,
    /// The full JSON line, without trailing newline.
    pub json: String,
}

impl AlertMessage {
    /// The line a channel writes: `json` when `json_output` is on.
    pub fn line(&self, json_output: bool) -> &str {
        if json_output { &self.json } else { &self.text }
    }
}

/// Errors of configuration and start-up. Delivery errors are never
/// returned: they are logged and counted per channel.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A key has a value of the wrong type or out of range.
    #[error("{key}: '{value}' is not {expected}")]
    Config {
        /// The dotted `falco.yaml` key.
        key: String,
        /// The value found.
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
    /// A channel could not be set up (bad URL, unreadable certificate...).
    #[error("{channel} output: {message}")]
    Channel {
        /// The channel's name.
        channel: &'static str,
        /// What went wrong.
        message: String,
    },
}

struct Running {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
}

struct Monitor {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

/// The output stage: one bounded queue and one worker thread per enabled
/// channel, plus a monitor thread that reports drops and blocked channels.
///
/// Dropping it without [`Outputs::shutdown`] shuts down with
/// `output_timeout`.
pub struct Outputs {
    channels: Vec<Running>,
    limiter: Option<Mutex<Vec<(String, TokenBucket)>>>,
    rate: f64,
    max_burst: f64,
    epoch: Instant,
    alerts: AtomicU64,
    throttled: Arc<AtomicU64>,
    monitor: Monitor,
    output_timeout: Duration,
    shut: bool,
}

impl Outputs {
    /// Starts the enabled channels of `config`. The stdout channel writes
    /// to the process's standard output.
    pub fn new(config: OutputsConfig) -> Result<Outputs, OutputError> {
        Outputs::start(config, None)
    }

    /// Like [`Outputs::new`], with the stdout channel writing to `writer`
    /// instead (for embedding and tests).
    pub fn with_stdout_writer(
        config: OutputsConfig,
        writer: Box<dyn Write + Send>,
    ) -> Result<Outputs, OutputError> {
        Outputs::start(config, Some(writer))
    }

    fn start(
        config: OutputsConfig,
        stdout_writer: Option<Box<dyn Write + Send>>,
    ) -> Result<Outputs, OutputError> {
        config.validate()?;
        let epoch = Instant::now();
        let c = &config;
        let mut built: Vec<(&'static str, Box<dyn Channel>)> = Vec::new();
        if c.stdout.enabled {
            let w = stdout_writer.unwrap_or_else(|| Box::new(std::io::stdout()));
            built.push(("stdout", Box::new(stdout::StdoutChannel::new(c, w))));
        }
        if c.file.enabled {
            built.push(("file", Box::new(file::FileChannel::new(c))));
        }
        if c.syslog.enabled {
            built.push(("syslog", Box::new(syslog::SyslogChannel::new(c))));
        }
        if c.program.enabled {
            built.push(("program", Box::new(program::ProgramChannel::new(c))));
        }
        if c.http.enabled {
            built.push(("http", Box::new(http::HttpChannel::new(c)?)));
        }
        let throttled = Arc::new(AtomicU64::new(0));
        let mut outputs = Outputs {
            channels: Vec::new(),
            limiter: (c.rate > 0.0).then(|| Mutex::new(Vec::new())),
            rate: c.rate,
            max_burst: c.max_burst,
            epoch,
            alerts: AtomicU64::new(0),
            throttled: Arc::clone(&throttled),
            monitor: Monitor {
                stop: Arc::new(AtomicBool::new(false)),
                handle: None,
            },
            output_timeout: c.output_timeout,
            shut: false,
        };
        for (name, channel) in built {
            let shared = Arc::new(Shared::new(name, c.queue_capacity, epoch));
            let s = Arc::clone(&shared);
            let timeout = c.output_timeout;
            let handle = std::thread::Builder::new()
                .name(format!("output-{name}"))
                .spawn(move || worker::run(s, channel, timeout))
                .map_err(|e| OutputError::Channel {
                    channel: name,
                    message: format!("cannot start worker thread: {e}"),
                })?;
            outputs.channels.push(Running {
                shared,
                handle: Some(handle),
            });
        }
        let shareds: Vec<Arc<Shared>> = outputs
            .channels
            .iter()
            .map(|r| Arc::clone(&r.shared))
            .collect();
        let stop = Arc::clone(&outputs.monitor.stop);
        let timeout = c.output_timeout;
        outputs.monitor.handle = std::thread::Builder::new()
            .name("output-monitor".into())
            .spawn(move || monitor(shareds, throttled, stop, timeout))
            .ok();
        if outputs.monitor.handle.is_none() {
            tracing::warn!("outputs: cannot start the monitor thread; drops are still counted");
        }
        Ok(outputs)
    }

    /// Queues `msg` for every enabled channel. Never blocks on a channel: a
    /// full queue drops the alert for that channel and counts it. Returns
    /// false when the token bucket throttled the alert (counted too).
    pub fn send(&self, msg: AlertMessage) -> bool {
        self.alerts.fetch_add(1, Ordering::Relaxed);
        if let Some(limiter) = &self.limiter {
            let now = self.epoch.elapsed().as_nanos() as u64;
            let mut buckets = limiter.lock().unwrap_or_else(|p| p.into_inner());
            let pass = match buckets.iter_mut().find(|(s, _)| *s == msg.source) {
                Some((_, b)) => b.claim(now),
                None => {
                    let mut b = TokenBucket::new(self.rate, self.max_burst, now);
                    let pass = b.claim(now);
                    buckets.push((msg.source.clone(), b));
                    pass
                }
            };
            drop(buckets);
            if !pass {
                self.throttled.fetch_add(1, Ordering::Relaxed);
                return false;
            }
        }
        if self.channels.is_empty() {
            return true;
        }
        let msg = Arc::new(msg);
        for ch in &self.channels {
            ch.shared.push(&msg);
        }
        true
    }

    /// SIGUSR1: every channel closes and reopens its file, restarts its
    /// program, or reconnects, before its next alert. Returns at once.
    pub fn reopen(&self) {
        for ch in &self.channels {
            ch.shared.request_reopen();
        }
    }

    /// The counters now.
    pub fn stats(&self) -> OutputStats {
        OutputStats {
            alerts: self.alerts.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            channels: self.channels.iter().map(|c| c.shared.stats()).collect(),
        }
    }

    /// Stops taking alerts, lets every channel drain its queue for up to
    /// `timeout`, then gives up on what is left: queued alerts and alerts in
    /// flight are reported as `lost`, programs still running are killed,
    /// and workers still blocked (a hung write) are left detached.
    pub fn shutdown(mut self, timeout: Duration) -> ShutdownReport {
        self.shutdown_inner(timeout)
    }

    fn shutdown_inner(&mut self, timeout: Duration) -> ShutdownReport {
        self.shut = true;
        let deadline = Instant::now() + timeout;
        for ch in &self.channels {
            ch.shared.close();
        }
        wait_finished(&self.channels, deadline);
        let mut unfinished = Vec::new();
        for ch in &self.channels {
            if !ch.shared.finished.load(Ordering::Acquire) {
                ch.shared.abort();
                kill_child(&ch.shared);
            }
        }
        // Give aborted workers a moment to notice (they stop between alerts).
        wait_finished(&self.channels, Instant::now() + Duration::from_millis(200));
        for ch in &mut self.channels {
            if ch.shared.finished.load(Ordering::Acquire) {
                if let Some(h) = ch.handle.take() {
                    let _ = h.join();
                }
            } else {
                unfinished.push(ch.shared.name);
                tracing::error!(
                    "{} output: still blocked at shutdown, left behind",
                    ch.shared.name
                );
            }
        }
        self.monitor.stop.store(true, Ordering::Release);
        if let Some(h) = self.monitor.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
        let mut stats = self.stats();
        for c in &mut stats.channels {
            let known = c.delivered + c.dropped + c.failed;
            c.lost = c.sent.saturating_sub(known);
            c.queued = 0;
            if c.lost > 0 || c.dropped > 0 || c.failed > 0 {
                tracing::warn!(
                    "{} output at shutdown: {} alerts lost, {} dropped on overflow, {} failed, {} delivered",
                    c.name,
                    c.lost,
                    c.dropped,
                    c.failed,
                    c.delivered
                );
            }
        }
        ShutdownReport { stats, unfinished }
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        if !self.shut {
            let t = self.output_timeout;
            self.shutdown_inner(t);
        }
    }
}

fn wait_finished(channels: &[Running], deadline: Instant) {
    loop {
        if channels
            .iter()
            .all(|c| c.shared.finished.load(Ordering::Acquire))
        {
            return;
        }
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(5)));
    }
}

fn kill_child(shared: &Shared) {
    let pid = shared.child_pid.load(Ordering::Acquire);
    if pid > 0 {
        // The program channel publishes the pid only while it writes to
        // the child's stdin, never while it waits for (reaps) the child, so
        // the pid cannot have been reused.
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Logs queue overflows, throttling and channels blocked past
/// `output_timeout`, at most once a second each.
fn monitor(
    channels: Vec<Arc<Shared>>,
    throttled: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    output_timeout: Duration,
) {
    let mut reported_drops = vec![0u64; channels.len()];
    let mut reported_busy = vec![0u64; channels.len()];
    let mut reported_throttled = 0u64;
    let mut last = Instant::now() - Duration::from_secs(1);
    while !stop.load(Ordering::Acquire) {
        std::thread::park_timeout(Duration::from_millis(100));
        if last.elapsed() < Duration::from_secs(1) {
            continue;
        }
        last = Instant::now();
        for (i, ch) in channels.iter().enumerate() {
            let dropped = ch.dropped.load(Ordering::Relaxed);
            if dropped > reported_drops[i] {
                tracing::warn!(
                    channel = ch.name,
                    "{} output: queue full (capacity {}): {} alerts dropped in the last second, {} in total",
                    ch.name,
                    ch.capacity,
                    dropped - reported_drops[i],
                    dropped
                );
                reported_drops[i] = dropped;
            }
            let busy = ch.busy_since.load(Ordering::Acquire);
            if busy != 0 && busy != reported_busy[i] {
                let blocked = ch.now_ms().saturating_sub(busy);
                if blocked > output_timeout.as_millis() as u64 {
                    tracing::error!(
                        channel = ch.name,
                        "\"{}\" output timeout: blocked for {} ms on one alert (output_timeout {} ms); other channels keep going",
                        ch.name,
                        blocked,
                        output_timeout.as_millis()
                    );
                    reported_busy[i] = busy;
                }
            }
        }
        let t = throttled.load(Ordering::Relaxed);
        if t > reported_throttled {
            tracing::warn!(
                "outputs: {} alerts throttled by outputs.rate in the last second, {} in total",
                t - reported_throttled,
                t
            );
            reported_throttled = t;
        }
    }
}

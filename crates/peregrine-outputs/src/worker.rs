//! One bounded queue and one worker thread per channel.
//!
//! The producer ([`Outputs::send`](crate::Outputs::send)) only locks the
//! queue long enough to push a pointer; a full queue drops the alert and
//! counts it. The worker takes up to [`BATCH`] alerts at a time, delivers
//! them with the channel's retry policy, and flushes when the queue runs
//! empty.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::AlertMessage;
use crate::stats::ChannelStats;

/// Most alerts a worker takes off its queue at once.
pub(crate) const BATCH: usize = 256;

/// Why one delivery failed.
#[derive(Debug)]
pub(crate) struct DeliveryError {
    /// Worth another attempt (after [`Channel::recover`]).
    pub retryable: bool,
    /// What happened, for the log.
    pub message: String,
}

impl DeliveryError {
    pub(crate) fn retry(message: impl Into<String>) -> Self {
        DeliveryError {
            retryable: true,
            message: message.into(),
        }
    }

    pub(crate) fn fatal(message: impl Into<String>) -> Self {
        DeliveryError {
            retryable: false,
            message: message.into(),
        }
    }
}

/// How often and how patiently a channel retries one alert.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Attempts after the first.
    pub max_retries: u32,
    /// Wait before the first retry (doubled each time, capped at 1 s);
    /// zero retries at once.
    pub backoff: Duration,
}

/// What a worker gives a channel: the abort flag and an interruptible sleep.
pub(crate) struct Ctx<'a> {
    shared: &'a Shared,
}

impl Ctx<'_> {
    /// True once shutdown gave up waiting: stop as soon as possible.
    pub(crate) fn aborted(&self) -> bool {
        self.shared.abort.load(Ordering::Acquire)
    }

    /// Sleeps up to `d`, waking early on abort. Returns false if aborted.
    pub(crate) fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut q = self.shared.lock();
        loop {
            if self.aborted() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            q = match self.shared.cv.wait_timeout(q, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Publishes the pid of a child process the channel is writing to, so
    /// that an aborted shutdown can kill it (0: none).
    pub(crate) fn set_child_pid(&self, pid: u32) {
        self.shared
            .child_pid
            .store(i32::try_from(pid).unwrap_or(0), Ordering::Release);
    }

    /// Counts a restart of the channel's program or connection.
    pub(crate) fn count_restart(&self) {
        self.shared.restarts.fetch_add(1, Ordering::Relaxed);
    }
}

/// One output channel. Runs on its own worker thread.
pub(crate) trait Channel: Send {
    /// Delivers one alert. For buffered channels success may mean
    /// "buffered"; [`Channel::flush`] then confirms.
    fn deliver(&mut self, msg: &AlertMessage, ctx: &Ctx<'_>) -> Result<(), DeliveryError>;
    /// Pushes buffered alerts out; called when the queue runs empty.
    fn flush(&mut self, _ctx: &Ctx<'_>) -> Result<(), DeliveryError> {
        Ok(())
    }
    /// Gets ready for another attempt after a failed delivery (drop a
    /// broken file handle, socket or child process).
    fn recover(&mut self, _ctx: &Ctx<'_>) {}
    /// SIGUSR1: reopen files, restart programs.
    fn reopen(&mut self, ctx: &Ctx<'_>) -> Result<(), DeliveryError>;
    /// Flushes and releases everything at shutdown.
    fn close(&mut self, ctx: &Ctx<'_>);
    /// How failed deliveries are retried.
    fn retry_policy(&self) -> RetryPolicy;
    /// True when a successful [`Channel::deliver`] may leave the alert in a
    /// buffer: it then counts as delivered only after [`Channel::flush`].
    fn buffered(&self) -> bool {
        false
    }
}

#[derive(Default)]
struct QueueState {
    items: VecDeque<Arc<AlertMessage>>,
    closed: bool,
    reopen: bool,
    /// The worker waits for a wake-up (it is not polling).
    parked: bool,
}

/// While alerts keep coming (one within the last [`ACTIVE_SPELL`]), an idle
/// worker polls the queue every [`POLL`] instead of waiting to be woken,
/// so that the event loop pushing alerts does not pay a wake-up (a futex
/// system call and an inter-processor interrupt) for each one. Alerts wait
/// at most [`POLL`] longer; a quiet worker parks and is woken as before.
const POLL: Duration = Duration::from_millis(1);

/// See [`POLL`].
const ACTIVE_SPELL: Duration = Duration::from_millis(100);

/// The state a channel's producer, worker and monitor share.
pub(crate) struct Shared {
    pub name: &'static str,
    pub capacity: usize,
    queue: Mutex<QueueState>,
    cv: Condvar,
    pub abort: AtomicBool,
    pub sent: AtomicU64,
    pub delivered: AtomicU64,
    pub dropped: AtomicU64,
    pub failed: AtomicU64,
    pub retries: AtomicU64,
    pub timeouts: AtomicU64,
    pub restarts: AtomicU64,
    pub reopens: AtomicU64,
    /// Wake-ups of the worker asked for by [`Shared::push`].
    pub wakeups: AtomicU64,
    /// Milliseconds since `epoch` when the current delivery started; 0 idle.
    pub busy_since: AtomicU64,
    pub child_pid: AtomicI32,
    pub epoch: Instant,
    pub finished: AtomicBool,
}

impl Shared {
    pub(crate) fn new(name: &'static str, capacity: usize, epoch: Instant) -> Shared {
        Shared {
            name,
            capacity: capacity.max(1),
            queue: Mutex::new(QueueState::default()),
            cv: Condvar::new(),
            abort: AtomicBool::new(false),
            sent: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
            reopens: AtomicU64::new(0),
            wakeups: AtomicU64::new(0),
            busy_since: AtomicU64::new(0),
            child_pid: AtomicI32::new(0),
            epoch,
            finished: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // A worker that panicked mid-push leaves a consistent VecDeque.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Never blocks beyond the queue lock: a full queue drops and counts.
    pub(crate) fn push(&self, msg: &Arc<AlertMessage>) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let mut q = self.lock();
        if q.closed || q.items.len() >= self.capacity {
            drop(q);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let was_empty = q.items.is_empty();
        q.items.push_back(Arc::clone(msg));
        // A polling worker comes by itself, unless the queue fills up.
        let wake = (was_empty && q.parked) || q.items.len() == self.capacity.div_ceil(2);
        drop(q);
        if wake {
            self.wakeups.fetch_add(1, Ordering::Relaxed);
            self.cv.notify_one();
        }
    }

    pub(crate) fn request_reopen(&self) {
        self.lock().reopen = true;
        self.cv.notify_all();
    }

    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.cv.notify_all();
    }

    pub(crate) fn abort(&self) {
        self.abort.store(true, Ordering::Release);
        let _guard = self.lock();
        self.cv.notify_all();
    }

    pub(crate) fn queued(&self) -> u64 {
        self.lock().items.len() as u64
    }

    pub(crate) fn now_ms(&self) -> u64 {
        // +1 so that 0 keeps meaning "idle".
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    pub(crate) fn stats(&self) -> ChannelStats {
        let queued = self.queued();
        ChannelStats {
            name: self.name,
            sent: self.sent.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            restarts: self.restarts.load(Ordering::Relaxed),
            reopens: self.reopens.load(Ordering::Relaxed),
            queued,
            lost: 0,
        }
    }
}

/// Rate-limits repeated log lines of one kind: at most one a second, with
/// the count of those held back.
#[derive(Default)]
pub(crate) struct LogLimiter {
    last: Option<Instant>,
    held: u64,
}

impl LogLimiter {
    /// Returns `Some(held_back)` when a line may be logged now.
    pub(crate) fn allow(&mut self) -> Option<u64> {
        let now = Instant::now();
        match self.last {
            Some(t) if now.duration_since(t) < Duration::from_secs(1) => {
                self.held += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held))
            }
        }
    }
}

/// The worker thread's loop.
pub(crate) fn run(shared: Arc<Shared>, mut channel: Box<dyn Channel>, output_timeout: Duration) {
    let ctx = Ctx { shared: &shared };
    let policy = channel.retry_policy();
    let buffered = channel.buffered();
    let mut batch: VecDeque<Arc<AlertMessage>> = VecDeque::with_capacity(BATCH);
    let mut error_log = LogLimiter::default();
    let mut retry_log = LogLimiter::default();
    let mut slow_log = LogLimiter::default();
    let mut unflushed: u64 = 0;
    let mut last_alert = Instant::now();
    loop {
        let (reopen, closed) = {
            let mut q = shared.lock();
            while q.items.is_empty() && !q.closed && !q.reopen && !ctx.aborted() {
                if last_alert.elapsed() < ACTIVE_SPELL {
                    q = match shared.cv.wait_timeout(q, POLL) {
                        Ok((g, _)) => g,
                        Err(p) => p.into_inner().0,
                    };
                    continue;
                }
                q.parked = true;
                q = match shared.cv.wait(q) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
                q.parked = false;
            }
            if !q.items.is_empty() {
                last_alert = Instant::now();
            }
            let n = q.items.len().min(BATCH);
            batch.extend(q.items.drain(..n));
            (std::mem::take(&mut q.reopen), q.closed)
        };
        if ctx.aborted() {
            break;
        }
        if reopen {
            settle(&shared, &mut channel, &ctx, &mut unflushed);
            shared.reopens.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = channel.reopen(&ctx) {
                tracing::error!(
                    channel = shared.name,
                    "{} output: reopen failed: {}",
                    shared.name,
                    e.message
                );
            }
        }
        while let Some(msg) = batch.pop_front() {
            if ctx.aborted() {
                break;
            }
            let start = Instant::now();
            shared.busy_since.store(shared.now_ms(), Ordering::Release);
            let mut attempt = 0u32;
            loop {
                match channel.deliver(&msg, &ctx) {
                    Ok(()) if buffered => {
                        unflushed += 1;
                        break;
                    }
                    Ok(()) => {
                        shared.delivered.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Err(e) => {
                        channel.recover(&ctx);
                        if e.retryable && attempt < policy.max_retries && !ctx.aborted() {
                            attempt += 1;
                            shared.retries.fetch_add(1, Ordering::Relaxed);
                            if let Some(held) = retry_log.allow() {
                                tracing::warn!(
                                    channel = shared.name,
                                    "{} output: {} (retry {}/{}; {} similar not logged)",
                                    shared.name,
                                    e.message,
                                    attempt,
                                    policy.max_retries,
                                    held
                                );
                            }
                            let wait = backoff(policy.backoff, attempt);
                            if !wait.is_zero() && !ctx.sleep(wait) {
                                // Aborted while waiting: this alert is lost.
                                break;
                            }
                            continue;
                        }
                        shared.failed.fetch_add(1, Ordering::Relaxed);
                        if let Some(held) = error_log.allow() {
                            tracing::error!(
                                channel = shared.name,
                                "{} output: alert not delivered: {} ({} similar not logged, {} failed so far)",
                                shared.name,
                                e.message,
                                held,
                                shared.failed.load(Ordering::Relaxed)
                            );
                        }
                        break;
                    }
                }
            }
            shared.busy_since.store(0, Ordering::Release);
            let took = start.elapsed();
            if took > output_timeout {
                shared.timeouts.fetch_add(1, Ordering::Relaxed);
                if let Some(held) = slow_log.allow() {
                    tracing::error!(
                        channel = shared.name,
                        "\"{}\" output timeout: one alert took {} ms (output_timeout {} ms; {} similar not logged)",
                        shared.name,
                        took.as_millis(),
                        output_timeout.as_millis(),
                        held
                    );
                }
            }
            if unflushed >= BATCH as u64 * 16 {
                settle(&shared, &mut channel, &ctx, &mut unflushed);
            }
        }
        if ctx.aborted() {
            break;
        }
        // Flush when the queue has run empty (buffered channels batch up
        // everything that arrived meanwhile).
        let empty = shared.lock().items.is_empty();
        if empty {
            settle(&shared, &mut channel, &ctx, &mut unflushed);
            if closed {
                break;
            }
        }
    }
    // Also after an abort: this worker is not blocked, so the flush is
    // quick, and what it writes out is delivered, not lost.
    settle(&shared, &mut channel, &ctx, &mut unflushed);
    channel.close(&ctx);
    shared.finished.store(true, Ordering::Release);
    shared.cv.notify_all();
}

/// Flushes the channel and moves the alerts written since the last flush
/// to `delivered` (or `failed` if the flush failed).
fn settle(shared: &Shared, channel: &mut Box<dyn Channel>, ctx: &Ctx<'_>, unflushed: &mut u64) {
    if *unflushed == 0 {
        return;
    }
    let n = std::mem::take(unflushed);
    match channel.flush(ctx) {
        Ok(()) => {
            shared.delivered.fetch_add(n, Ordering::Relaxed);
        }
        Err(e) => {
            channel.recover(ctx);
            shared.failed.fetch_add(n, Ordering::Relaxed);
            tracing::error!(
                channel = shared.name,
                "{} output: flush failed, {} alerts lost: {}",
                shared.name,
                n,
                e.message
            );
        }
    }
}

fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(10);
    base.saturating_mul(factor).min(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Priority;
    use std::sync::mpsc;

    /// A channel that reports each delivery, with its rule name.
    struct Recorder(mpsc::Sender<String>);

    impl Channel for Recorder {
        fn deliver(&mut self, msg: &AlertMessage, _: &Ctx<'_>) -> Result<(), DeliveryError> {
            let _ = self.0.send(msg.rule.clone());
            Ok(())
        }
        fn reopen(&mut self, _: &Ctx<'_>) -> Result<(), DeliveryError> {
            Ok(())
        }
        fn close(&mut self, _: &Ctx<'_>) {}
        fn retry_policy(&self) -> RetryPolicy {
            RetryPolicy {
                max_retries: 0,
                backoff: Duration::ZERO,
            }
        }
    }

    fn alert(rule: String) -> Arc<AlertMessage> {
        Arc::new(AlertMessage {
            ts: 0,
            priority: Priority::Warning,
            rule,
            source: "syscall".into(),
            text: String::new(),
            json: String::new(),
        })
    }

    fn start(
        capacity: usize,
    ) -> (
        Arc<Shared>,
        mpsc::Receiver<String>,
        std::thread::JoinHandle<()>,
    ) {
        let shared = Arc::new(Shared::new("test", capacity, Instant::now()));
        let (tx, rx) = mpsc::channel();
        let worker = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || run(shared, Box::new(Recorder(tx)), Duration::from_secs(10)))
        };
        (shared, rx, worker)
    }

    fn wait_parked(shared: &Shared) {
        let end = Instant::now() + Duration::from_secs(10);
        while !shared.lock().parked {
            assert!(Instant::now() < end, "the idle worker never parked");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn alerts_in_a_busy_spell_do_not_wake_the_worker_each() {
        let (shared, rx, worker) = start(1000);
        wait_parked(&shared);
        for i in 0..200 {
            shared.push(&alert(format!("r{i}")));
            std::thread::sleep(Duration::from_micros(200));
        }
        shared.close();
        worker.join().expect("worker");
        let got: Vec<String> = rx.try_iter().collect();
        let want: Vec<String> = (0..200).map(|i| format!("r{i}")).collect();
        assert_eq!(got, want, "every alert delivered, in order");
        let wakeups = shared.wakeups.load(Ordering::Relaxed);
        // The first alert wakes the parked worker; the rest of the spell
        // it polls. (Waking on every alert that finds the queue empty
        // would be about 200 here.)
        assert!(wakeups <= 5, "{wakeups} wake-ups for 200 alerts");
    }

    #[test]
    fn a_quiet_worker_parks_and_is_woken_by_the_next_alert() {
        let (shared, rx, worker) = start(1000);
        shared.push(&alert("before".into()));
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)).as_deref(),
            Ok("before")
        );
        wait_parked(&shared);
        let before = shared.wakeups.load(Ordering::Relaxed);
        shared.push(&alert("after".into()));
        assert_eq!(
            shared.wakeups.load(Ordering::Relaxed),
            before + 1,
            "a parked worker is woken"
        );
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)).as_deref(),
            Ok("after")
        );
        shared.close();
        worker.join().expect("worker");
    }

    #[test]
    fn a_filling_queue_wakes_a_polling_worker() {
        let shared = Shared::new("test", 8, Instant::now());
        // No worker: the queue fills; the push that makes it half full
        // asks for a wake-up even though nobody is parked.
        for i in 0..8 {
            shared.push(&alert(format!("r{i}")));
        }
        assert_eq!(shared.wakeups.load(Ordering::Relaxed), 1);
        shared.push(&alert("over".into()));
        assert_eq!(
            shared.dropped.load(Ordering::Relaxed),
            1,
            "a full queue drops"
        );
    }
}

//! Counters per channel and for the whole output stage.

use std::fmt;

/// One channel's counters.
///
/// Every alert offered to a channel ends in exactly one of `delivered`,
/// `dropped`, `failed` or `lost`, or is still `queued`/in flight:
/// after [`Outputs::shutdown`](crate::Outputs::shutdown),
/// `sent == delivered + dropped + failed + lost` holds exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelStats {
    /// The channel: `stdout`, `file`, `syslog`, `program` or `http`.
    pub name: &'static str,
    /// Alerts offered to this channel (after rate limiting).
    pub sent: u64,
    /// Alerts written (and flushed) or accepted by the endpoint.
    pub delivered: u64,
    /// Alerts dropped because the channel's queue was full.
    pub dropped: u64,
    /// Alerts given up on after their retries (error logged).
    pub failed: u64,
    /// Extra delivery attempts.
    pub retries: u64,
    /// Deliveries that took longer than `output_timeout`.
    pub timeouts: u64,
    /// Programs restarted after they exited (program channel), or
    /// connections re-established after an error (syslog).
    pub restarts: u64,
    /// Reopen requests handled (SIGUSR1).
    pub reopens: u64,
    /// Alerts waiting in the queue now.
    pub queued: u64,
    /// Alerts neither delivered nor failed when shutdown gave up (only set
    /// in a [`ShutdownReport`]).
    pub lost: u64,
}

impl ChannelStats {
    /// Alerts whose fate is known: delivered + dropped + failed + lost.
    pub fn accounted(&self) -> u64 {
        self.delivered + self.dropped + self.failed + self.lost
    }
}

/// Counters of the whole output stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputStats {
    /// Calls to [`Outputs::send`](crate::Outputs::send).
    pub alerts: u64,
    /// Alerts held back by the token bucket (`outputs.rate`).
    pub throttled: u64,
    /// One entry per enabled channel, in the order stdout, file, syslog,
    /// program, http.
    pub channels: Vec<ChannelStats>,
}

impl OutputStats {
    /// The counters of the named channel.
    pub fn channel(&self, name: &str) -> Option<&ChannelStats> {
        self.channels.iter().find(|c| c.name == name)
    }
}

/// What [`Outputs::shutdown`](crate::Outputs::shutdown) achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// The final counters (`lost` filled in).
    pub stats: OutputStats,
    /// Channels whose worker did not finish in time (left detached).
    pub unfinished: Vec<&'static str>,
}

impl ShutdownReport {
    /// Alerts lost at shutdown, all channels together.
    pub fn lost(&self) -> u64 {
        self.stats.channels.iter().map(|c| c.lost).sum()
    }
}

impl fmt::Display for ChannelStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: sent {} delivered {} dropped {} failed {} lost {} retries {} timeouts {} restarts {} reopens {} queued {}",
            self.name,
            self.sent,
            self.delivered,
            self.dropped,
            self.failed,
            self.lost,
            self.retries,
            self.timeouts,
            self.restarts,
            self.reopens,
            self.queued
        )
    }
}

//! Syscall event drop handling (`syscall_event_drops`), as Falco's
//! `syscall_evt_drop_mgr` (`event_drops.cpp`) does it: once per second of
//! *event* time the drop counters of the source are sampled; when the
//! drops of that second exceed `threshold` of its events (or one drop is
//! faked with `simulate_drops`), the configured actions run, at most as
//! often as a token bucket (`rate`, `max_burst`) allows.
//!
//! The counters come from a [`DropSource`]: a capture file (no drops) or
//! the live probe ([`ProbeSource`], its per-CPU counters of lost events).

use super::{App, Flow};
use crate::config::Config;
use peregrine_bpf::ProbeCounters;
use peregrine_outputs::{AlertMessage, Outputs, Priority};
use peregrine_rules::yaml;
use std::path::Path;

/// One second, in nanoseconds.
const ONE_SECOND_NS: u64 = 1_000_000_000;

/// The rule name of drop alerts and log lines.
pub const DROP_RULE: &str = "Falco internal: syscall event drop";

/// The counters of an event source, as libscap's `scap_stats` has them
/// (the subset peregrine's sources can fill in). All are running totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounters {
    /// Events the source produced (drops included).
    pub n_evts: u64,
    /// Events dropped, all causes.
    pub n_drops: u64,
    /// Drops because the ring buffer was full.
    pub n_drops_buffer: u64,
    /// Drops for lack of scratch space.
    pub n_drops_scratch_map: u64,
    /// Drops on page faults (invalid memory access).
    pub n_drops_pf: u64,
    /// Drops on an invalid condition in the probe.
    pub n_drops_bug: u64,
    /// Preemptions.
    pub n_preemptions: u64,
    /// Parameters the probe could not read and sent empty (not drops: the
    /// event was kept). peregrine's own counter.
    pub n_read_failures: u64,
}

impl DropCounters {
    /// `self - earlier`, counter by counter (saturating: a source that
    /// restarts its counters yields zeros, not huge numbers).
    pub fn delta(&self, earlier: &DropCounters) -> DropCounters {
        DropCounters {
            n_evts: self.n_evts.saturating_sub(earlier.n_evts),
            n_drops: self.n_drops.saturating_sub(earlier.n_drops),
            n_drops_buffer: self.n_drops_buffer.saturating_sub(earlier.n_drops_buffer),
            n_drops_scratch_map: self
                .n_drops_scratch_map
                .saturating_sub(earlier.n_drops_scratch_map),
            n_drops_pf: self.n_drops_pf.saturating_sub(earlier.n_drops_pf),
            n_drops_bug: self.n_drops_bug.saturating_sub(earlier.n_drops_bug),
            n_preemptions: self.n_preemptions.saturating_sub(earlier.n_preemptions),
            n_read_failures: self.n_read_failures.saturating_sub(earlier.n_read_failures),
        }
    }

    /// The live probe's counters as libscap reports them: events include
    /// the lost ones; a full ring buffer and a missing scratch buffer are
    /// the two causes of loss.
    pub fn from_probe(p: &peregrine_bpf::DropCounters) -> DropCounters {
        DropCounters {
            n_evts: p.events + p.lost(),
            n_drops: p.lost(),
            n_drops_buffer: p.ring_full,
            n_drops_scratch_map: p.scratch_fail,
            n_read_failures: p.read_fail,
            ..DropCounters::default()
        }
    }
}

/// Where drop counters come from: a capture file (which records none) or
/// the live probe (`peregrine_bpf`'s per-CPU counters).
pub trait DropSource {
    /// The running totals now.
    fn counters(&self) -> DropCounters;
    /// Whether the source is the live eBPF probe (`ebpf_enabled` of alerts).
    fn is_ebpf(&self) -> bool {
        false
    }
}

/// A capture file: the events read so far, and no drops.
#[derive(Debug, Default)]
pub struct CaptureSource {
    /// Events read so far.
    pub events: u64,
}

impl DropSource for CaptureSource {
    fn counters(&self) -> DropCounters {
        DropCounters {
            n_evts: self.events,
            ..DropCounters::default()
        }
    }
}

/// The live eBPF probe: its per-CPU counters, summed when read.
#[derive(Clone, Debug)]
pub struct ProbeSource {
    counters: ProbeCounters,
}

impl ProbeSource {
    /// The source behind the probe's counters.
    pub fn new(counters: ProbeCounters) -> ProbeSource {
        ProbeSource { counters }
    }
}

impl DropSource for ProbeSource {
    fn counters(&self) -> DropCounters {
        DropCounters::from_probe(&self.counters.read())
    }

    fn is_ebpf(&self) -> bool {
        true
    }
}

/// One action of `syscall_event_drops.actions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DropAction {
    /// `ignore`.
    Ignore,
    /// `log`: a debug log line.
    Log,
    /// `alert`: an alert through the outputs.
    Alert,
    /// `exit`: stop with an error.
    Exit,
}

/// The `syscall_event_drops` settings.
#[derive(Clone, Debug, PartialEq)]
pub struct DropsConfig {
    /// Actions, each once, in a fixed order (log, alert, exit).
    pub actions: Vec<DropAction>,
    /// Fraction of a second's events that may drop without action.
    pub threshold: f64,
    /// Actions per second, long term.
    pub rate: f64,
    /// Actions in a burst.
    pub max_burst: f64,
    /// Fake one drop per second (threshold forced to 0).
    pub simulate_drops: bool,
}

/// Falco's prefix for configuration errors.
fn config_error(config_name: &str, what: &str) -> String {
    format!("Error reading config file ({config_name}): {what}")
}

impl DropsConfig {
    /// Reads and checks the settings; errors are worded as Falco's
    /// `configuration.cpp` words them. `actions` is the list of
    /// `syscall_event_drops.actions`.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        actions: &[String],
        config_name: &str,
    ) -> Result<DropsConfig, String> {
        let mut set = Vec::new();
        for act in actions {
            let action = match act.as_str() {
                "ignore" => DropAction::Ignore,
                "log" | "alert" => {
                    if set.contains(&DropAction::Ignore) {
                        return Err(config_error(
                            config_name,
                            &format!(
                                "syscall event drop action \"{act}\" does not make sense with the \"ignore\" action"
                            ),
                        ));
                    }
                    if act == "log" {
                        DropAction::Log
                    } else {
                        DropAction::Alert
                    }
                }
                "exit" => DropAction::Exit,
                _ => {
                    return Err(config_error(
                        config_name,
                        "available actions for syscall event drops are \"ignore\", \"log\", \"alert\", and \"exit\"",
                    ));
                }
            };
            if !set.contains(&action) {
                set.push(action);
            }
        }
        if set.is_empty() {
            set.push(DropAction::Ignore);
        }
        set.sort();
        let double = |key: &str, default: f64| -> Result<f64, String> {
            match lookup(key) {
                None => Ok(default),
                Some(v) => v.trim().parse::<f64>().map_err(|_| {
                    config_error(
                        config_name,
                        &format!("config key '{key}': expected a number"),
                    )
                }),
            }
        };
        let threshold = double("syscall_event_drops.threshold", 0.1)
            .ok()
            .filter(|t| (0.0..=1.0).contains(t))
            .ok_or_else(|| {
                config_error(
                    config_name,
                    "syscall event drops threshold must be a double in the range [0, 1]",
                )
            })?;
        let rate = double("syscall_event_drops.rate", 0.03333)?;
        let max_burst = double("syscall_event_drops.max_burst", 1.0)?;
        let simulate_drops = match lookup("syscall_event_drops.simulate_drops") {
            None => false,
            Some(v) => yaml::decode_bool(&v).ok_or_else(|| {
                config_error(
                    config_name,
                    "config key 'syscall_event_drops.simulate_drops': expected true or false",
                )
            })?,
        };
        Ok(DropsConfig {
            actions: set,
            threshold,
            rate,
            max_burst,
            simulate_drops,
        })
    }

    /// Reads the settings of `app`'s configuration.
    pub fn from_app(app: &App) -> Result<DropsConfig, String> {
        let config = app.config.as_ref().ok_or("configuration not loaded")?;
        let name = app
            .args
            .config
            .as_deref()
            .unwrap_or(Path::new(crate::config::DEFAULT_CONFIG))
            .display()
            .to_string();
        let actions = config_list(app, "syscall_event_drops.actions");
        DropsConfig::from_lookup(|k| config.lookup(k), &actions, &name)
    }
}

/// Step: checks `syscall_event_drops` right after the configuration is
/// loaded, so that a bad setting stops Falco before anything runs.
pub fn check_config(app: &mut App) -> Result<Flow, String> {
    DropsConfig::from_app(app)?;
    Ok(Flow::Next)
}

/// The string list at `key` (a scalar counts as a one-item list).
fn config_list(app: &App, key: &str) -> Vec<String> {
    app.config
        .as_ref()
        .and_then(|c| c.lookup_list(key))
        .unwrap_or_default()
}

/// Falco's log levels, most severe first (syslog numbering).
fn level_number(name: &str) -> u8 {
    match name.to_ascii_lowercase().as_str() {
        "emergency" => 0,
        "alert" => 1,
        "critical" => 2,
        "error" => 3,
        "warning" => 4,
        "notice" => 5,
        "info" | "informational" => 6,
        "debug" => 7,
        _ => 6,
    }
}

/// A lifecycle line at a syslog level (`log_level` filters, default info).
/// Stands in until the logging rework offers a levelled logger.
pub fn log_at(config: &Config, level: u8, message: &str) {
    let max = config
        .lookup("log_level")
        .map(|l| level_number(&l))
        .unwrap_or(6);
    if config.log_stderr && level <= max {
        super::log(config, message);
    }
}

/// A token bucket in event time, as libsinsp's `token_bucket`: starts
/// full, gains `rate` tokens per second up to `max_tokens`.
#[derive(Debug)]
struct TokenBucket {
    rate: f64,
    max_tokens: f64,
    tokens: f64,
    last_seen: Option<u64>,
}

impl TokenBucket {
    fn new(rate: f64, max_tokens: f64) -> TokenBucket {
        TokenBucket {
            rate,
            max_tokens,
            tokens: max_tokens,
            last_seen: None,
        }
    }

    fn claim(&mut self, now: u64) -> bool {
        if let Some(last) = self.last_seen {
            let gained = self.rate * now.saturating_sub(last) as f64 / ONE_SECOND_NS as f64;
            self.tokens = (self.tokens + gained).min(self.max_tokens);
        }
        self.last_seen = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What the caller must do after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropVerdict {
    /// Keep processing.
    Continue,
    /// The `exit` action ran: stop with an error.
    Exit,
}

/// The drop monitor of one event stream.
#[derive(Debug)]
pub struct DropMonitor {
    config: DropsConfig,
    bucket: TokenBucket,
    next_check_ts: u64,
    last: DropCounters,
    /// Seconds in which drops over the threshold were seen.
    pub num_drops: u64,
    /// Times the actions were taken.
    pub num_actions: u64,
}

impl DropMonitor {
    /// A monitor; `initial` are the source's counters at start.
    pub fn new(mut config: DropsConfig, initial: DropCounters) -> DropMonitor {
        if config.simulate_drops {
            config.threshold = 0.0;
        }
        DropMonitor {
            bucket: TokenBucket::new(config.rate, config.max_burst),
            config,
            next_check_ts: 0,
            last: initial,
            num_drops: 0,
            num_actions: 0,
        }
    }

    /// Call for every event, with its timestamp. Samples the counters of
    /// `source` once per second of event time and runs the actions,
    /// reporting through `to`.
    #[inline]
    pub fn process(
        &mut self,
        ts: u64,
        source: &dyn DropSource,
        to: &DropReport<'_>,
    ) -> DropVerdict {
        // Nearly every event: the second is not over.
        if self.next_check_ts >= ts && self.next_check_ts != 0 {
            return DropVerdict::Continue;
        }
        self.check(ts, source, to)
    }

    /// The once-a-second part of [`Self::process`] (and the first
    /// event's, which starts the clock).
    #[cold]
    fn check(&mut self, ts: u64, source: &dyn DropSource, to: &DropReport<'_>) -> DropVerdict {
        let app_config = to.config;
        if self.next_check_ts == 0 {
            self.next_check_ts = ts.saturating_add(ONE_SECOND_NS);
            return DropVerdict::Continue;
        }
        self.next_check_ts = ts.saturating_add(ONE_SECOND_NS);
        let now = source.counters();
        let mut delta = now.delta(&self.last);
        self.last = now;
        if self.config.simulate_drops {
            log_at(app_config, 6, "Simulating syscall event drop");
            delta.n_drops += 1;
        }
        if delta.n_drops == 0 {
            return DropVerdict::Continue;
        }
        // n_evts includes n_drops; a simulated drop may come with no event.
        let ratio = delta.n_drops as f64 / delta.n_evts.max(1) as f64;
        if ratio <= self.config.threshold {
            return DropVerdict::Continue;
        }
        self.num_drops += 1;
        if !self.bucket.claim(ts) {
            log_at(
                app_config,
                7,
                "Syscall event drop but token bucket depleted, skipping actions",
            );
            return DropVerdict::Continue;
        }
        self.num_actions += 1;
        self.perform_actions(ts, &delta, source.is_ebpf(), to)
    }

    fn perform_actions(
        &self,
        ts: u64,
        delta: &DropCounters,
        ebpf: bool,
        to: &DropReport<'_>,
    ) -> DropVerdict {
        let DropReport {
            config,
            outputs,
            hostname,
            json,
        } = *to;
        let msg = format!(
            "{DROP_RULE}. {} system calls dropped in last second.",
            delta.n_drops
        );
        let mut verdict = DropVerdict::Continue;
        for act in &self.config.actions {
            match act {
                DropAction::Ignore => {}
                DropAction::Log => log_at(config, 7, &msg),
                DropAction::Alert => {
                    outputs.send(internal_alert(
                        ts,
                        Priority::Debug,
                        DROP_RULE,
                        &msg,
                        &alert_fields(delta, ebpf),
                        hostname,
                        json,
                    ));
                }
                DropAction::Exit => {
                    log_at(config, 2, &msg);
                    log_at(config, 2, "Exiting.");
                    verdict = DropVerdict::Exit;
                }
            }
        }
        verdict
    }

    /// Falco's summary at the end, on standard error.
    pub fn print_stats(&self) {
        eprintln!("Syscall event drop monitoring:");
        eprintln!("   - event drop detected: {} occurrences", self.num_drops);
        eprintln!("   - num times actions taken: {}", self.num_actions);
    }
}

/// Where drop actions report: the configuration (log levels), the alert
/// outputs and how alerts are written.
#[derive(Clone, Copy)]
pub struct DropReport<'a> {
    /// The application configuration (`log_level`, `log_stderr`, ...).
    pub config: &'a Config,
    /// The alert channels.
    pub outputs: &'a Outputs,
    /// The hostname alerts carry.
    pub hostname: &'a str,
    /// JSON alerts (`json_output`).
    pub json: bool,
}

/// The `output_fields` of a drop alert, as Falco fills them (strings).
fn alert_fields(d: &DropCounters, ebpf: bool) -> Vec<(&'static str, String)> {
    vec![
        ("ebpf_enabled", u8::from(ebpf).to_string()),
        ("n_drops", d.n_drops.to_string()),
        ("n_drops_bug", d.n_drops_bug.to_string()),
        ("n_drops_buffer_total", d.n_drops_buffer.to_string()),
        ("n_drops_page_faults", d.n_drops_pf.to_string()),
        ("n_drops_scratch_map", d.n_drops_scratch_map.to_string()),
        ("n_evts", d.n_evts.to_string()),
    ]
}

/// An alert of Falco's `internal` source (`falco_outputs::handle_msg`):
/// text `HH:MM:SS.nnnnnnnnn: Priority msg (k="v" ...)`, or JSON with
/// `output`, `priority`, `rule`, `time`, `output_fields`, `hostname`,
/// `source`. `fields` must be sorted by key (Falco's JSON objects are).
pub fn internal_alert(
    ts: u64,
    priority: Priority,
    rule: &str,
    msg: &str,
    fields: &[(&str, String)],
    hostname: &str,
    json: bool,
) -> AlertMessage {
    let secs = (ts / ONE_SECOND_NS) as i64;
    let nanos = (ts % ONE_SECOND_NS) as u32;
    let time = chrono::DateTime::from_timestamp(secs, nanos).unwrap_or_default();
    let field_text: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", serde_json::Value::from(v.as_str())))
        .collect();
    let text = format!(
        "{}: {} {msg} ({})",
        time.format("%H:%M:%S%.9f"),
        priority.name(),
        field_text.join(" ")
    );
    let json_text = if json {
        let mut out_fields = serde_json::Map::new();
        for (k, v) in fields {
            out_fields.insert((*k).to_string(), serde_json::Value::from(v.as_str()));
        }
        serde_json::json!({
            "hostname": hostname,
            "output": msg,
            "output_fields": out_fields,
            "priority": priority.name(),
            "rule": rule,
            "source": "internal",
            "time": time.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string(),
        })
        .to_string()
    } else {
        String::new()
    };
    AlertMessage {
        ts,
        priority,
        rule: rule.to_string(),
        source: "internal".to_string(),
        text,
        json: json_text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reporting to `config` and `outputs`, text alerts from host "h".
    fn report<'a>(config: &'a Config, outputs: &'a Outputs) -> DropReport<'a> {
        DropReport {
            config,
            outputs,
            hostname: "h",
            json: false,
        }
    }

    /// An empty configuration and outputs that print nothing.
    fn quiet_app() -> (Config, Outputs) {
        let app_config = Config::load(Some(Path::new("/dev/null")), &[]).unwrap();
        let outputs = Outputs::new(
            peregrine_outputs::OutputsConfig::from_lookup(|k| {
                (k == "stdout_output.enabled").then(|| "false".to_string())
            })
            .unwrap(),
        )
        .unwrap();
        (app_config, outputs)
    }

    fn cfg(pairs: &[(&str, &str)], actions: &[&str]) -> Result<DropsConfig, String> {
        let acts: Vec<String> = actions.iter().map(|s| s.to_string()).collect();
        DropsConfig::from_lookup(
            |k| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| v.to_string())
            },
            &acts,
            "f.yaml",
        )
    }

    #[test]
    fn falco_messages_for_bad_settings() {
        let e = cfg(&[("syscall_event_drops.threshold", "1.1")], &[]).unwrap_err();
        assert_eq!(
            e,
            "Error reading config file (f.yaml): syscall event drops threshold must be a double in the range [0, 1]"
        );
        assert!(cfg(&[("syscall_event_drops.threshold", "-1")], &[]).is_err());
        assert!(cfg(&[("syscall_event_drops.threshold", "x")], &[]).is_err());
        let e = cfg(&[], &["ignore", "log"]).unwrap_err();
        assert!(e.ends_with(
            "syscall event drop action \"log\" does not make sense with the \"ignore\" action"
        ));
        let e = cfg(&[], &["ignore", "alert"]).unwrap_err();
        assert!(e.contains("\"alert\" does not make sense"));
        assert!(
            cfg(&[], &["bogus"])
                .unwrap_err()
                .contains("available actions")
        );
        // log before ignore is accepted, as in Falco.
        assert!(cfg(&[], &["log", "ignore"]).is_ok());
        let c = cfg(&[], &[]).unwrap();
        assert_eq!(c.actions, [DropAction::Ignore]);
        assert_eq!(c.threshold, 0.1);
        assert_eq!(c.max_burst, 1.0);
    }

    #[test]
    fn token_bucket_refills_in_event_time() {
        let mut b = TokenBucket::new(1.0, 2.0);
        assert!(b.claim(0));
        assert!(b.claim(0));
        assert!(!b.claim(0));
        assert!(b.claim(ONE_SECOND_NS));
        assert!(!b.claim(ONE_SECOND_NS));
    }

    #[test]
    fn real_drops_over_threshold_count() {
        struct Fake(std::cell::Cell<DropCounters>);
        impl DropSource for Fake {
            fn counters(&self) -> DropCounters {
                self.0.get()
            }
        }
        let config = cfg(&[("syscall_event_drops.max_burst", "10")], &["ignore"]).unwrap();
        let src = Fake(Default::default());
        let mut m = DropMonitor::new(config, src.counters());
        let (app_config, outputs) = quiet_app();
        let mut ts = 1;
        let mut step = |m: &mut DropMonitor, evts: u64, drops: u64| {
            let mut c = src.0.get();
            c.n_evts += evts;
            c.n_drops += drops;
            src.0.set(c);
            ts += 2 * ONE_SECOND_NS;
            m.process(ts, &src, &report(&app_config, &outputs))
        };
        step(&mut m, 0, 0); // first event arms the timer
        assert_eq!(step(&mut m, 100, 5), DropVerdict::Continue); // 5% < 10%
        assert_eq!(m.num_drops, 0);
        step(&mut m, 100, 50);
        assert_eq!((m.num_drops, m.num_actions), (1, 1));
    }

    #[test]
    fn probe_counters_as_libscap_reports_them() {
        let p = peregrine_bpf::DropCounters {
            events: 90,
            ring_full: 7,
            read_fail: 4,
            scratch_fail: 3,
        };
        let c = DropCounters::from_probe(&p);
        assert_eq!((c.n_evts, c.n_drops), (100, 10));
        assert_eq!((c.n_drops_buffer, c.n_drops_scratch_map), (7, 3));
        assert_eq!(c.n_read_failures, 4);
        assert_eq!(c.delta(&c), DropCounters::default());
        // Ten drops in a hundred events (10%) pass the default threshold
        // only when over it.
        let config = cfg(&[("syscall_event_drops.threshold", "0.09")], &["ignore"]).unwrap();
        let mut m = DropMonitor::new(config, DropCounters::default());
        struct Fixed(DropCounters);
        impl DropSource for Fixed {
            fn counters(&self) -> DropCounters {
                self.0
            }
            fn is_ebpf(&self) -> bool {
                true
            }
        }
        let (app_config, outputs) = quiet_app();
        let src = Fixed(c);
        m.process(1, &src, &report(&app_config, &outputs));
        m.process(2 * ONE_SECOND_NS, &src, &report(&app_config, &outputs));
        assert_eq!(m.num_drops, 1);
    }

    #[test]
    fn internal_alert_text_and_json() {
        let a = internal_alert(
            1_470_327_477_881_781_949,
            Priority::Debug,
            DROP_RULE,
            "m",
            &[("a", "1".into()), ("b", "2".into())],
            "h",
            true,
        );
        assert_eq!(a.text, "16:17:57.881781949: Debug m (a=\"1\" b=\"2\")");
        assert!(a.json.contains("\"source\":\"internal\""), "{}", a.json);
        assert!(
            a.json
                .contains("\"time\":\"2016-08-04T16:17:57.881781949Z\"")
        );
    }
}

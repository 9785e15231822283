//! Statistics: the `-s FILE` samples of old Falco (`statsfilewriter.cpp`),
//! the `metrics` snapshots of current Falco (as the internal alert
//! "Falco internal: metrics snapshot" and/or lines of `metrics.output_file`),
//! and the shared snapshot the web server's `/metrics` reads.
//!
//! Everything here runs on the event loop between events: a wall clock is
//! read every [`CLOCK_EVERY`] events, and work happens only when an
//! interval has passed, so the per-event cost is one counter increment.

use super::drops::{
    CaptureSource, DropCounters, DropMonitor, DropReport, DropSource, DropVerdict, DropsConfig,
    ProbeSource, internal_alert,
};
use super::{App, Flow};
use crate::config::Config;
use peregrine_bpf::ProbeCounters;
use peregrine_engine::Engine;
use peregrine_outputs::{OutputStats, Outputs, Priority};
use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Events between two reads of the wall clock.
const CLOCK_EVERY: u64 = 256;

/// How often the shared snapshot (web server) is refreshed.
const PUBLISH_EVERY: Duration = Duration::from_millis(500);

/// The rule name of metrics alerts.
pub const METRICS_RULE: &str = "Falco internal: metrics snapshot";

/// The counters at one moment, for `/metrics` and metrics snapshots.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Events processed (all events read from the source).
    pub events: u64,
    /// The source's drop counters.
    pub drops: DropCounters,
    /// Alerts, all rules.
    pub alerts: u64,
    /// Alerts by priority, for priorities with alerts.
    pub by_priority: Vec<(Priority, u64)>,
    /// Alerts by rule (name, rule priority, count), for rules with alerts.
    pub by_rule: Vec<(String, Priority, u64)>,
    /// The outputs' counters.
    pub outputs: OutputStats,
    /// Resident memory, bytes (`VmRSS`).
    pub memory_rss: u64,
    /// Virtual memory, bytes (`VmSize`).
    pub memory_vsz: u64,
    /// Seconds since processing started.
    pub uptime: f64,
}

impl Snapshot {
    /// Takes the counters of the engine, outputs and source now.
    pub fn take(
        events: u64,
        drops: DropCounters,
        engine: &Engine,
        outputs: &Outputs,
        start: Instant,
    ) -> Snapshot {
        let stats = engine.stats();
        let by_priority = Priority::ALL
            .iter()
            .map(|p| (*p, stats.priority_count(*p)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let by_rule = engine
            .rules()
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.clone(), r.priority, stats.rule_count(i)))
            .filter(|(_, _, n)| *n > 0)
            .collect();
        let (memory_rss, memory_vsz) = memory();
        Snapshot {
            events,
            drops,
            alerts: stats.total(),
            by_priority,
            by_rule,
            outputs: outputs.stats(),
            memory_rss,
            memory_vsz,
            uptime: start.elapsed().as_secs_f64(),
        }
    }

    /// The snapshot as Prometheus text (exposition format 0.0.4).
    pub fn prometheus(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, rows: &[(String, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, value) in rows {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let plain = |v: String| vec![(String::new(), v)];
        metric(
            "falcosecurity_falco_version_info",
            "gauge",
            "peregrine version.",
            &[(
                format!("{{version=\"{}\"}}", env!("CARGO_PKG_VERSION")),
                "1".into(),
            )],
        );
        metric(
            "falcosecurity_falco_duration_sec",
            "counter",
            "Seconds since event processing started.",
            &plain(format!("{:.3}", self.uptime)),
        );
        let counters = [
            (
                "falcosecurity_falco_events_processed_total",
                "Events processed.",
                self.events,
            ),
            (
                "falcosecurity_scap_n_evts_total",
                "Events produced by the source, drops included.",
                self.drops.n_evts,
            ),
            (
                "falcosecurity_scap_n_drops_total",
                "Events dropped by the source.",
                self.drops.n_drops,
            ),
            (
                "falcosecurity_scap_n_drops_buffer_total",
                "Events dropped because a ring buffer was full.",
                self.drops.n_drops_buffer,
            ),
            (
                "falcosecurity_scap_n_drops_scratch_map_total",
                "Events dropped for lack of scratch space.",
                self.drops.n_drops_scratch_map,
            ),
            (
                "falcosecurity_scap_n_read_failures_total",
                "Event parameters the probe could not read (sent empty).",
                self.drops.n_read_failures,
            ),
            (
                "falcosecurity_falco_alerts_total",
                "Alerts, all rules.",
                self.alerts,
            ),
        ];
        for (name, help, value) in counters {
            metric(name, "counter", help, &plain(value.to_string()));
        }
        let rows: Vec<_> = self
            .by_priority
            .iter()
            .map(|(p, n)| (format!("{{priority=\"{}\"}}", p.name()), n.to_string()))
            .collect();
        metric(
            "falcosecurity_falco_alerts_by_priority_total",
            "counter",
            "Alerts by priority.",
            &rows,
        );
        let rows: Vec<_> = self
            .by_rule
            .iter()
            .map(|(r, p, n)| {
                (
                    format!("{{rule_name=\"{}\",priority=\"{}\"}}", label(r), p.name()),
                    n.to_string(),
                )
            })
            .collect();
        metric(
            "falcosecurity_falco_rules_matches_total",
            "counter",
            "Alerts by rule.",
            &rows,
        );
        let per_channel =
            |f: fn(&peregrine_outputs::ChannelStats) -> u64| -> Vec<(String, String)> {
                self.outputs
                    .channels
                    .iter()
                    .map(|c| (format!("{{channel=\"{}\"}}", c.name), f(c).to_string()))
                    .collect()
            };
        metric(
            "falcosecurity_falco_outputs_delivered_total",
            "counter",
            "Alerts delivered, per output channel.",
            &per_channel(|c| c.delivered),
        );
        metric(
            "falcosecurity_falco_outputs_dropped_total",
            "counter",
            "Alerts dropped on a full queue, per output channel.",
            &per_channel(|c| c.dropped),
        );
        metric(
            "falcosecurity_falco_outputs_failed_total",
            "counter",
            "Alerts given up after retries, per output channel.",
            &per_channel(|c| c.failed),
        );
        metric(
            "falcosecurity_falco_outputs_throttled_total",
            "counter",
            "Alerts held back by outputs.rate.",
            &plain(self.outputs.throttled.to_string()),
        );
        metric(
            "falcosecurity_falco_memory_rss_bytes",
            "gauge",
            "Resident memory.",
            &plain(self.memory_rss.to_string()),
        );
        metric(
            "falcosecurity_falco_memory_vsz_bytes",
            "gauge",
            "Virtual memory.",
            &plain(self.memory_vsz.to_string()),
        );
        out
    }

    /// The `output_fields` of a metrics snapshot alert, sorted by key.
    fn fields(&self) -> Vec<(&'static str, String)> {
        let delivered: u64 = self.outputs.channels.iter().map(|c| c.delivered).sum();
        let dropped: u64 = self.outputs.channels.iter().map(|c| c.dropped).sum();
        let failed: u64 = self.outputs.channels.iter().map(|c| c.failed).sum();
        let by_prio: serde_json::Map<String, serde_json::Value> = self
            .by_priority
            .iter()
            .map(|(p, n)| (p.name().to_string(), (*n).into()))
            .collect();
        let by_rule: serde_json::Map<String, serde_json::Value> = self
            .by_rule
            .iter()
            .map(|(r, _, n)| (r.clone(), (*n).into()))
            .collect();
        vec![
            (
                "falco.alerts_by_priority",
                serde_json::Value::from(by_prio).to_string(),
            ),
            (
                "falco.alerts_by_rule",
                serde_json::Value::from(by_rule).to_string(),
            ),
            ("falco.alerts_total", self.alerts.to_string()),
            ("falco.duration_sec", format!("{:.3}", self.uptime)),
            ("falco.events_processed", self.events.to_string()),
            ("falco.memory_rss_bytes", self.memory_rss.to_string()),
            ("falco.memory_vsz_bytes", self.memory_vsz.to_string()),
            ("falco.outputs_delivered", delivered.to_string()),
            ("falco.outputs_dropped", dropped.to_string()),
            ("falco.outputs_failed", failed.to_string()),
            ("falco.version", env!("CARGO_PKG_VERSION").to_string()),
            ("scap.n_drops", self.drops.n_drops.to_string()),
            (
                "scap.n_drops_buffer_total",
                self.drops.n_drops_buffer.to_string(),
            ),
            (
                "scap.n_drops_scratch_map",
                self.drops.n_drops_scratch_map.to_string(),
            ),
            ("scap.n_evts", self.drops.n_evts.to_string()),
            (
                "scap.n_read_failures",
                self.drops.n_read_failures.to_string(),
            ),
        ]
    }
}

/// Escapes a Prometheus label value.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `VmRSS` and `VmSize` of /proc/self/status, in bytes (zeros elsewhere).
pub fn memory() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (kb("VmRSS:"), kb("VmSize:"))
}

/// The latest snapshot, shared with the web server.
pub fn shared() -> &'static Mutex<Option<Snapshot>> {
    static SHARED: OnceLock<Mutex<Option<Snapshot>>> = OnceLock::new();
    SHARED.get_or_init(|| Mutex::new(None))
}

/// Makes `snap` the one the web server and reloads read.
fn publish(snap: Snapshot) {
    if let Ok(mut s) = shared().lock() {
        *s = Some(snap);
    }
}

/// Parses a Prometheus duration (`1h`, `15s`, `1m30s`, `500ms`) to
/// milliseconds; a bare number is milliseconds (Falco's
/// `parse_prometheus_interval`).
pub fn parse_interval(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        let ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add(n.checked_mul(ms)?)?;
    }
    Some(total)
}

/// The `metrics` settings.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsConfig {
    /// Time between snapshots.
    pub interval: Duration,
    /// Emit each snapshot as an alert.
    pub output_rule: bool,
    /// Append each snapshot as a JSON line to this file.
    pub output_file: Option<String>,
}

impl MetricsConfig {
    /// Reads `metrics.*`; `None` when metrics are disabled. Errors are
    /// Falco's (`init_stats_writer`).
    pub fn from_config(config: &Config) -> Result<Option<MetricsConfig>, String> {
        let flag = |key: &str, default: bool| -> Result<bool, String> {
            match config.lookup(key) {
                None => Ok(default),
                Some(v) => peregrine_rules::yaml::decode_bool(&v)
                    .ok_or_else(|| format!("config key '{key}': expected true or false")),
            }
        };
        if !flag("metrics.enabled", false)? {
            return Ok(None);
        }
        let text = config
            .lookup("metrics.interval")
            .unwrap_or_else(|| "5000".into());
        let ms = parse_interval(&text).unwrap_or(0);
        if ms < 100 {
            return Err("Metrics interval must have a minimum value of 100ms and reflect a Prometheus compliant time duration format: https://prometheus.io/docs/prometheus/latest/querying/basics/#time-durations. ".into());
        }
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return Err("Metrics interval was passed as numeric value without Prometheus time unit. Please specify a time unit".into());
        }
        let output_rule = flag("metrics.output_rule", false)?;
        let output_file = config
            .lookup("metrics.output_file")
            .filter(|f| !f.is_empty());
        let prometheus = flag("webserver.enabled", false)?
            && flag("webserver.prometheus_metrics_enabled", false)?;
        if !output_rule && output_file.is_none() && !prometheus {
            return Err("Metrics are enabled with no output configured. Please enable at least one output channel ('metrics.output_rule', 'metrics.output_file' or 'webserver.prometheus_metrics_enabled')".into());
        }
        Ok(Some(MetricsConfig {
            interval: Duration::from_millis(ms),
            output_rule,
            output_file,
        }))
    }
}

/// Step: checks the `metrics` settings (and `-s`) before anything runs.
pub fn check_config(app: &mut App) -> Result<Flow, String> {
    let config = app.config.as_ref().ok_or("configuration not loaded")?;
    if let Some(m) = MetricsConfig::from_config(config)? {
        super::drops::log_at(
            config,
            6,
            &format!(
                "Setting metrics interval to {}, equivalent to {} (ms)",
                config.lookup("metrics.interval").unwrap_or_default(),
                m.interval.as_millis()
            ),
        );
    }
    Ok(Flow::Next)
}

/// `-s FILE`: a JSON line every `--stats-interval` ms.
struct StatsFile {
    file: File,
    interval: Duration,
    next: Instant,
    samples: u64,
    last: DropCounters,
    extra: Vec<(String, String)>,
}

impl StatsFile {
    fn open(path: &std::path::Path, interval_ms: u64) -> Result<StatsFile, String> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("Could not open stats file {}: {e}", path.display()))?;
        let mut extra: Vec<(String, String)> = std::env::vars()
            .filter_map(|(k, v)| {
                k.strip_prefix("FALCO_STATS_EXTRA_")
                    .map(|s| (s.to_string(), v))
            })
            .collect();
        extra.sort();
        let interval = Duration::from_millis(interval_ms.max(1));
        Ok(StatsFile {
            file,
            interval,
            next: Instant::now() + interval,
            samples: 0,
            last: DropCounters::default(),
            extra,
        })
    }

    /// Writes one sample: `sample`, the extra keys, `cur` and `delta`.
    fn sample(&mut self, cur: DropCounters) {
        let delta = cur.delta(&self.last);
        self.last = cur;
        let pct = |c: &DropCounters| {
            if c.n_evts == 0 {
                0.0
            } else {
                100.0 * c.n_drops as f64 / c.n_evts as f64
            }
        };
        let part = |c: &DropCounters| {
            serde_json::json!({
                "events": c.n_evts, "drops": c.n_drops,
                "preemptions": c.n_preemptions, "drop_pct": pct(c),
                "drops_buffer": c.n_drops_buffer,
                "drops_scratch_map": c.n_drops_scratch_map,
                "read_failures": c.n_read_failures,
            })
        };
        let mut line = format!("{{\"sample\": {}", self.samples);
        for (k, v) in &self.extra {
            line.push_str(&format!(
                ", {}: {}",
                serde_json::Value::from(k.as_str()),
                serde_json::Value::from(v.as_str())
            ));
        }
        line.push_str(&format!(
            ", \"cur\": {}, \"delta\": {}}}\n",
            part(&cur),
            part(&delta)
        ));
        self.samples += 1;
        if let Err(e) = self.file.write_all(line.as_bytes()) {
            eprintln!("stats file: {e}");
        }
    }
}

/// The counters of the event stream the monitors watch: the events read
/// so far, and, once live capture runs, the probe's own counters.
#[derive(Debug, Default)]
struct SourceCounters {
    capture: CaptureSource,
    live: Option<ProbeSource>,
}

impl DropSource for SourceCounters {
    fn counters(&self) -> DropCounters {
        match &self.live {
            Some(probe) => probe.counters(),
            None => self.capture.counters(),
        }
    }

    fn is_ebpf(&self) -> bool {
        self.live.is_some()
    }
}

/// Everything that watches the event stream besides the rules: drop
/// handling, `-s` samples, metrics snapshots, the web server's snapshot.
pub struct Monitors {
    source: SourceCounters,
    drops: DropMonitor,
    stats_file: Option<StatsFile>,
    metrics: Option<(MetricsConfig, Instant, Option<File>)>,
    next_publish: Instant,
    start: Instant,
    exit: bool,
    config: Config,
    hostname: String,
    json: bool,
}

impl Monitors {
    /// Sets up from the configuration and the command line.
    pub fn new(app: &App, probe: Option<ProbeCounters>) -> Result<Monitors, String> {
        let config = app.config.as_ref().ok_or("configuration not loaded")?;
        let source = SourceCounters {
            capture: CaptureSource::default(),
            live: probe.map(ProbeSource::new),
        };
        // From zero: drops before the first event (during the /proc scan,
        // say) count in the first second.
        let drops = DropMonitor::new(DropsConfig::from_app(app)?, DropCounters::default());
        let stats_file = match &app.args.stats_file {
            Some(p) => Some(StatsFile::open(p, app.args.stats_interval)?),
            None => None,
        };
        let metrics = match MetricsConfig::from_config(config)? {
            None => None,
            Some(m) => {
                let file = match &m.output_file {
                    None => None,
                    Some(f) => Some(
                        std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(f)
                            .map_err(|e| format!("Could not open metrics output file {f}: {e}"))?,
                    ),
                };
                let next = Instant::now() + m.interval;
                Some((m, next, file))
            }
        };
        let now = Instant::now();
        Ok(Monitors {
            source,
            drops,
            stats_file,
            metrics,
            next_publish: now,
            start: now,
            exit: false,
            config: config.clone(),
            hostname: app.alert_format.hostname.clone(),
            json: app.alert_format.json,
        })
    }

    /// Call for every event the source produces, before the rules.
    /// Returns `false` when processing must stop (`exit` drop action).
    /// Inlined: the per-event part is a count and two comparisons; the
    /// rest is out of line.
    #[inline]
    pub fn event(&mut self, ts: u64, engine: &Engine, outputs: &Outputs) -> bool {
        self.source.capture.events += 1;
        let to = DropReport {
            config: &self.config,
            outputs,
            hostname: &self.hostname,
            json: self.json,
        };
        if self.drops.process(ts, &self.source, &to) == DropVerdict::Exit {
            self.exit = true;
            return false;
        }
        if self.source.capture.events.is_multiple_of(CLOCK_EVERY) {
            self.tick_now(ts, engine, outputs);
        }
        true
    }

    /// [`Monitors::tick`] at the current time, out of the event path.
    #[cold]
    #[inline(never)]
    fn tick_now(&mut self, ts: u64, engine: &Engine, outputs: &Outputs) {
        self.tick(ts, engine, outputs, Instant::now());
    }

    fn tick(&mut self, ts: u64, engine: &Engine, outputs: &Outputs, now: Instant) {
        let stats_due = self.stats_file.as_ref().is_some_and(|sf| now >= sf.next);
        let metrics_due = self
            .metrics
            .as_ref()
            .is_some_and(|(_, next, _)| now >= *next);
        if !stats_due && !metrics_due && now < self.next_publish {
            return;
        }
        // Reading the live probe's counters is a system call: only when due.
        let counters = self.source.counters();
        if stats_due && let Some(sf) = &mut self.stats_file {
            sf.next = now + sf.interval;
            sf.sample(counters);
        }
        let snap = self.snapshot(counters, engine, outputs);
        if metrics_due && let Some((m, next, file)) = &mut self.metrics {
            *next = now + m.interval;
            emit_metrics(
                &snap,
                m,
                file.as_mut(),
                ts,
                &self.hostname,
                self.json,
                outputs,
            );
        }
        self.next_publish = now + PUBLISH_EVERY;
        publish(snap);
    }

    fn snapshot(&self, counters: DropCounters, engine: &Engine, outputs: &Outputs) -> Snapshot {
        Snapshot::take(
            self.source.capture.events,
            counters,
            engine,
            outputs,
            self.start,
        )
    }

    /// Whether the `exit` drop action stopped processing.
    pub fn exit_requested(&self) -> bool {
        self.exit
    }

    /// At the end, before the outputs shut down: a last `-s` sample and the
    /// final snapshot.
    pub fn finish(&mut self, engine: &Engine, outputs: &Outputs) {
        let counters = self.source.counters();
        if let Some(sf) = &mut self.stats_file {
            sf.sample(counters);
        }
        publish(self.snapshot(counters, engine, outputs));
    }

    /// Falco's drop summary (`event drop detected: N occurrences`).
    pub fn print_drop_stats(&self) {
        self.drops.print_stats();
    }
}

/// One metrics snapshot: an alert through the outputs and/or a JSON line.
fn emit_metrics(
    snap: &Snapshot,
    m: &MetricsConfig,
    file: Option<&mut File>,
    ts: u64,
    hostname: &str,
    json: bool,
    outputs: &Outputs,
) {
    let fields = snap.fields();
    let msg = "Falco metrics snapshot";
    if m.output_rule {
        outputs.send(internal_alert(
            ts,
            Priority::Informational,
            METRICS_RULE,
            msg,
            &fields,
            hostname,
            json,
        ));
    }
    if let Some(f) = file {
        let alert = internal_alert(
            ts,
            Priority::Informational,
            METRICS_RULE,
            msg,
            &fields,
            hostname,
            true,
        );
        if let Err(e) = writeln!(f, "{}", alert.json) {
            eprintln!("metrics output file: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_intervals() {
        assert_eq!(parse_interval("15s"), Some(15_000));
        assert_eq!(parse_interval("1h"), Some(3_600_000));
        assert_eq!(parse_interval("1m30s"), Some(90_000));
        assert_eq!(parse_interval("500ms"), Some(500));
        assert_eq!(parse_interval("5000"), Some(5000));
        assert_eq!(parse_interval("5x"), None);
        assert_eq!(parse_interval("s"), None);
        assert_eq!(parse_interval(""), None);
    }

    #[test]
    fn metrics_config_errors() {
        let load = |opts: &[&str]| {
            let opts: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
            let c = Config::load(Some(std::path::Path::new("/dev/null")), &opts).unwrap();
            MetricsConfig::from_config(&c)
        };
        assert_eq!(load(&[]), Ok(None));
        assert!(
            load(&[
                "metrics.enabled=true",
                "metrics.interval=50ms",
                "metrics.output_rule=true"
            ])
            .unwrap_err()
            .contains("minimum value of 100ms")
        );
        assert!(
            load(&[
                "metrics.enabled=true",
                "metrics.interval=5000",
                "metrics.output_rule=true"
            ])
            .unwrap_err()
            .contains("without Prometheus time unit")
        );
        assert!(
            load(&["metrics.enabled=true", "metrics.interval=1s"])
                .unwrap_err()
                .contains("no output configured")
        );
        let m = load(&[
            "metrics.enabled=true",
            "metrics.interval=1m",
            "metrics.output_rule=true",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(m.interval, Duration::from_secs(60));
    }

    #[test]
    fn prometheus_text_escapes_labels() {
        let snap = Snapshot {
            events: 7,
            drops: DropCounters::default(),
            alerts: 2,
            by_priority: vec![(Priority::Warning, 2)],
            by_rule: vec![("a \"q\"".into(), Priority::Warning, 2)],
            outputs: OutputStats {
                alerts: 2,
                throttled: 0,
                channels: Vec::new(),
            },
            memory_rss: 0,
            memory_vsz: 0,
            uptime: 0.0,
        };
        let text = snap.prometheus();
        assert!(
            text.contains("falcosecurity_falco_events_processed_total 7\n"),
            "{text}"
        );
        assert!(text.contains("falcosecurity_falco_rules_matches_total{rule_name=\"a \\\"q\\\"\",priority=\"Warning\"} 2\n"), "{text}");
    }
}

//! Processing events: replay a capture file, or capture live with the
//! eBPF probe, through the state engine and the rules engine, and send
//! each alert to the configured outputs.

use super::{App, Flow};
use crate::cli::FalcoArgs;
use crate::config::Config;
use peregrine_bpf::ProbeCounters;
use peregrine_engine::{AlertFormat, Engine, Replay, ReplayEnd, ReplayEvent, ReplayHandler};
use peregrine_event::RenderOptions;
use peregrine_outputs::{AlertMessage, Outputs, OutputsConfig};
use std::convert::Infallible;
use std::io::Write;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

/// Alerts a replay may queue per channel: a capture is read faster than
/// any channel writes, and replayed alerts must not be dropped.
const REPLAY_QUEUE_CAPACITY: usize = 1 << 20;

/// The event source, opened before the threads of the web server, the
/// file watcher and the outputs start (see [`open_source`]).
pub struct Source {
    /// How messages name it: the capture file, or "live capture".
    path: String,
    replay: Replay,
    /// `-w`: where every event seen is also written.
    writer: Option<super::live::CaptureWriter>,
    /// Live: the probe's drop counters, for the drop monitor and stats.
    probe: Option<ProbeCounters>,
    /// Live: the syscalls the probe attached.
    attached: Option<Vec<String>>,
}

/// Opens the capture file (`-e` or `engine.replay.capture_file`), or
/// attaches the probe to monitor the live system when none is given; then,
/// live, drops the capabilities the probe needed (before any other thread
/// starts, so that none keeps them).
pub fn open_source(app: &mut App) -> Result<Flow, String> {
    if app.args.dry_run {
        return Ok(Flow::Next);
    }
    let config = app.config.as_ref().expect("config loaded");
    let from_config = (config.engine_kind == "replay").then(|| config.replay_capture_file.clone());
    let capture = app.args.capture.clone().or(from_config.flatten());
    let mut writer = match &app.args.write {
        Some(out) => Some(
            peregrine_scap::Writer::create(out).map_err(|e| format!("{}: {e}", out.display()))?,
        ),
        None => None,
    };
    let (path, replay, probe) = match &capture {
        Some(capture) => {
            let path = capture.display().to_string();
            let replay = Replay::open(
                capture,
                RenderOptions::FALCO,
                app.alert_format.hostname.clone(),
            )
            .map_err(|e| format!("{path}: {e}"))?;
            (path, replay, None)
        }
        None => {
            let engine = app.engine.as_ref().expect("rules loaded");
            let base = super::live::BaseSyscalls::from_config(config)?;
            let probe = super::live::ProbeSettings::from_config(config)?;
            let opened = super::live::open(
                engine,
                app.args.all_events,
                &base,
                &probe,
                app.alert_format.hostname.clone(),
                writer.as_mut(),
            )?;
            let program_output = outputs_config(config, app.args)?.program.enabled;
            log_privileges(super::privileges::drop_after_attach(program_output));
            let probe = Some((opened.counters, opened.attached));
            ("live capture".to_string(), opened.replay, probe)
        }
    };
    let (probe, attached) = probe.unzip();
    app.source = Some(Source {
        path,
        replay,
        writer,
        probe,
        attached,
    });
    Ok(Flow::Next)
}

/// Says what became of the capabilities.
fn log_privileges(outcome: Result<super::privileges::Dropped, String>) {
    use super::logging::{Level, log};
    use super::privileges::{Dropped, KEEP};
    match outcome {
        Ok(Dropped::ToKeep) => {
            let kept: Vec<String> = KEEP.iter().map(ToString::to_string).collect();
            log(
                Level::Info,
                &format!(
                    "probe attached: capabilities dropped but {}",
                    kept.join(", ")
                ),
            );
        }
        Ok(Dropped::KeptForProgramOutput) => log(
            Level::Info,
            "probe attached: capabilities kept, since program_output is enabled",
        ),
        Ok(Dropped::NothingHeld) => {}
        Err(e) => log(Level::Warning, &format!("could not drop capabilities: {e}")),
    }
}

/// Runs the events of the source opened by [`open_source`] through the
/// state and the rules, and sends each alert to the configured outputs.
pub fn process_events(app: &mut App) -> Result<Flow, String> {
    if app.args.dry_run {
        return Ok(Flow::Exit(0));
    }
    let Source {
        path,
        mut replay,
        mut writer,
        probe,
        attached,
    } = app.source.take().expect("source opened");
    let config = app.config.as_ref().expect("config loaded");
    let outputs_config = outputs_config(config, app.args)?;
    let output_timeout = outputs_config.output_timeout;
    let mut outputs = Outputs::new(outputs_config).map_err(|e| e.to_string())?;
    // Drop handling, -s samples, metrics (issue 4).
    let mut monitors = super::stats::Monitors::new(app, probe)?;

    let end = replay.run(&mut AlertSender {
        engine: app.engine.as_mut().expect("rules loaded"),
        format: app.alert_format.clone(),
        outputs: &mut outputs,
        // Signals and reloads between events (issue 4, operations).
        ops: super::reload::Ops::new(
            app.args,
            &app.control,
            app.watcher.as_ref(),
            config,
            start_outputs,
        )
        .with_attached(attached),
        monitors: &mut monitors,
        deadline: (app.args.duration > 0)
            .then(|| Instant::now() + Duration::from_secs(app.args.duration)),
        writer: writer.as_mut(),
    });
    if let Some(w) = writer {
        let mut file = w.finish().map_err(|e| format!("capture file: {e}"))?;
        file.flush().map_err(|e| format!("capture file: {e}"))?;
    }
    monitors.finish(app.engine.as_ref().expect("rules loaded"), &outputs);
    // Outputs first: the summary comes after every alert.
    let report = outputs.shutdown(output_timeout.max(Duration::from_secs(5)));
    for ch in &report.stats.channels {
        let undelivered = ch.dropped + ch.failed + ch.lost;
        if undelivered > 0 {
            eprintln!(
                "output {}: {undelivered} alerts not delivered ({} dropped, {} failed, {} lost)",
                ch.name, ch.dropped, ch.failed, ch.lost
            );
        }
    }
    if app.args.verbose {
        let mut out = std::io::stdout().lock();
        let summary = app.engine.as_ref().expect("rules loaded").summary();
        write!(out, "{summary}").map_err(|e| format!("stdout: {e}"))?;
        out.flush().map_err(|e| format!("stdout: {e}"))?;
    }
    for w in replay.warnings() {
        eprintln!("{path}: {w}");
    }
    monitors.print_drop_stats();
    let flow = if monitors.exit_requested() {
        Err("Drop manager internal error".into())
    } else {
        match end {
            ReplayEnd::Done | ReplayEnd::Handler(_) => Ok(Flow::Exit(0)),
            ReplayEnd::Damaged(e) => Err(format!("{path}: {e}")),
            ReplayEnd::Source(e) => Err(format!("{path}: {e}")),
        }
    };
    if replay.is_live() {
        // Dropping the live source detaches the probe, several programs
        // at a time.
        drop(replay);
    } else {
        // The state (every thread and fd seen) goes back to the system
        // with the process, which exits next, instead of being freed
        // piece by piece.
        std::mem::forget(replay);
    }
    flow
}

/// The outputs configuration: `falco.yaml`, `-U`, and a queue long
/// enough for a replay.
fn outputs_config(config: &Config, args: &FalcoArgs) -> Result<OutputsConfig, String> {
    let mut outputs_config =
        OutputsConfig::from_lookup(|key| config.lookup(key)).map_err(|e| e.to_string())?;
    if args.unbuffered {
        outputs_config.buffered_outputs = false;
    }
    outputs_config.queue_capacity = outputs_config.queue_capacity.max(REPLAY_QUEUE_CAPACITY);
    Ok(outputs_config)
}

/// Starts the outputs of a configuration (also on reload).
fn start_outputs(config: &Config, args: &FalcoArgs) -> Result<Outputs, String> {
    Outputs::new(outputs_config(config, args)?).map_err(|e| e.to_string())
}

/// Runs the rules on each event and sends alerts to the outputs.
struct AlertSender<'a> {
    engine: &'a mut Engine,
    format: AlertFormat,
    outputs: &'a mut Outputs,
    ops: super::reload::Ops<'a>,
    monitors: &'a mut super::stats::Monitors,
    deadline: Option<Instant>,
    /// `-w`: every event seen is also written here.
    writer: Option<&'a mut super::live::CaptureWriter>,
}

impl AlertSender<'_> {
    /// Writes one event to the `-w` capture; the first failure is logged
    /// and writing stops, monitoring goes on.
    fn record(&mut self, event: &ReplayEvent<'_>) {
        if let Some(w) = self.writer.as_mut()
            && let Err(e) = w.write_event(event.cpu, event.flags, event.ev.bytes())
        {
            super::logging::log(
                super::logging::Level::Error,
                &format!("capture file: {e}; no more events written"),
            );
            self.writer = None;
        }
    }
}

impl ReplayHandler for AlertSender<'_> {
    type Error = Infallible;

    fn metadata(&mut self, raw_block: &[u8]) -> Result<(), Infallible> {
        if let Some(w) = self.writer.as_mut()
            && let Err(e) = w.write_raw_block(raw_block)
        {
            super::logging::log(
                super::logging::Level::Error,
                &format!("capture file: {e}; no more events written"),
            );
            self.writer = None;
        }
        Ok(())
    }

    fn idle(&mut self) -> Result<ControlFlow<()>, Infallible> {
        if self.ops.pending()
            && self
                .ops
                .between_events(self.engine, &mut self.format, self.outputs)
                .is_break()
        {
            return Ok(ControlFlow::Break(()));
        }
        let expired = self.deadline.is_some_and(|d| Instant::now() >= d);
        Ok(if expired {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        })
    }

    fn event(&mut self, event: &ReplayEvent<'_>) -> Result<ControlFlow<()>, Infallible> {
        if self.ops.pending()
            && self
                .ops
                .between_events(self.engine, &mut self.format, self.outputs)
                .is_break()
        {
            return Ok(ControlFlow::Break(()));
        }
        if !self
            .monitors
            .event(event.ev.ts(), self.engine, self.outputs)
        {
            return Ok(ControlFlow::Break(()));
        }
        self.record(event);
        if event.hidden {
            return Ok(ControlFlow::Continue(()));
        }
        if self
            .deadline
            .is_some_and(|d| event.num.is_multiple_of(1024) && Instant::now() >= d)
        {
            return Ok(ControlFlow::Break(()));
        }
        if !self.engine.has_candidates(event.ev.code()) {
            return Ok(ControlFlow::Continue(()));
        }
        let cx = event.ctx();
        if let Some(rule) = self.engine.process(&cx) {
            let time_field = if self.format.time_iso_8601 {
                "evt.time.iso8601"
            } else {
                "evt.time"
            };
            let alert = self.engine.alert(rule, &cx, time_field);
            let json = if self.format.json {
                alert.json(&self.format)
            } else {
                String::new()
            };
            self.outputs.send(AlertMessage {
                ts: alert.ts,
                priority: alert.priority,
                rule: alert.rule.to_string(),
                source: alert.source.to_string(),
                text: alert.text(&self.format),
                json,
            });
        }
        Ok(ControlFlow::Continue(()))
    }
}

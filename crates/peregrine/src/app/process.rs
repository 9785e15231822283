//! Processing events: replay a capture file through the state engine and
//! the rules engine, writing alerts as they match.

use super::{App, Flow};
use peregrine_engine::{AlertFormat, Engine, Replay, ReplayEnd, ReplayEvent, ReplayHandler};
use peregrine_event::RenderOptions;
use std::io::{self, BufWriter, StdoutLock, Write};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

/// Replays the capture file (`-e` or `engine.replay.capture_file`).
pub fn process_events(app: &mut App) -> Result<Flow, String> {
    if app.args.dry_run {
        return Ok(Flow::Exit(0));
    }
    let config = app.config.as_ref().expect("config loaded");
    let from_config = (config.engine_kind == "replay").then(|| config.replay_capture_file.clone());
    let Some(capture) = app.args.capture.clone().or(from_config.flatten()) else {
        return Err(
            "live capture is not available yet: give a capture file with -e or \
                    engine.kind=replay and engine.replay.capture_file"
                .into(),
        );
    };
    let path = capture.display().to_string();
    let mut replay = Replay::open(
        &capture,
        RenderOptions::FALCO,
        app.alert_format.hostname.clone(),
    )
    .map_err(|e| format!("{path}: {e}"))?;
    let mut handler = AlertWriter {
        engine: app.engine.as_mut().expect("rules loaded"),
        format: &app.alert_format,
        out: BufWriter::new(io::stdout().lock()),
        print: config.stdout_output,
        flush_each: app.args.unbuffered || !config.buffered_outputs,
        deadline: (app.args.duration > 0)
            .then(|| Instant::now() + Duration::from_secs(app.args.duration)),
    };
    let end = replay.run(&mut handler);
    if app.args.verbose {
        let summary = handler.engine.summary();
        write!(handler.out, "{summary}").map_err(|e| format!("stdout: {e}"))?;
    }
    handler.out.flush().map_err(|e| format!("stdout: {e}"))?;
    for w in replay.warnings() {
        eprintln!("{path}: {w}");
    }
    match end {
        ReplayEnd::Done => Ok(Flow::Exit(0)),
        ReplayEnd::Damaged(e) => Err(format!("{path}: {e}")),
        ReplayEnd::Handler(e) => Err(format!("stdout: {e}")),
    }
}

/// Runs the rules on each event and writes the alerts to standard output.
struct AlertWriter<'a> {
    engine: &'a mut Engine,
    format: &'a AlertFormat,
    out: BufWriter<StdoutLock<'static>>,
    print: bool,
    flush_each: bool,
    deadline: Option<Instant>,
}

impl ReplayHandler for AlertWriter<'_> {
    type Error = io::Error;

    fn event(&mut self, event: &ReplayEvent<'_>) -> io::Result<ControlFlow<()>> {
        if event.hidden {
            return Ok(ControlFlow::Continue(()));
        }
        if self
            .deadline
            .is_some_and(|d| event.num.is_multiple_of(1024) && Instant::now() >= d)
        {
            return Ok(ControlFlow::Break(()));
        }
        let cx = event.ctx();
        if let Some(rule) = self.engine.process(&cx)
            && self.print
        {
            let time_field = if self.format.time_iso_8601 {
                "evt.time.iso8601"
            } else {
                "evt.time"
            };
            let alert = self.engine.alert(rule, &cx, time_field);
            let line = if self.format.json {
                alert.json(self.format)
            } else {
                alert.text(self.format)
            };
            writeln!(self.out, "{line}")?;
            if self.flush_each {
                self.out.flush()?;
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

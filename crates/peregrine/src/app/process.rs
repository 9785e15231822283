//! Processing events: replay a capture file through the state engine and
//! the rules engine, writing alerts as they match.

use super::{App, Flow};
use peregrine_event::{EventView, RenderOptions, code};
use peregrine_filter::extract::{Ctx, StreamInfo};
use peregrine_scap::{Block, Reader};
use peregrine_state::State;
use std::io::{self, BufWriter, Write};
use std::time::{Duration, Instant};

/// Replays the capture file (`-e` or `engine.replay.capture_file`).
pub fn process_events(app: &mut App) -> Result<Flow, String> {
    if app.args.dry_run {
        return Ok(Flow::Exit(0));
    }
    let config = app.config.as_ref().expect("config loaded");
    let capture = app.args.capture.clone().or_else(|| {
        (config.engine_kind == "replay")
            .then(|| config.replay_capture_file.clone())
            .flatten()
    });
    let Some(capture) = capture else {
        return Err(
            "live capture is not available yet: give a capture file with -e or \
                    engine.kind=replay and engine.replay.capture_file"
                .into(),
        );
    };
    let engine = app.engine.as_mut().expect("rules loaded");
    let format = &app.alert_format;
    let print = config.stdout_output;
    let unbuffered = app.args.unbuffered || !config.buffered_outputs;
    let time_field = if format.time_iso_8601 {
        "evt.time.iso8601"
    } else {
        "evt.time"
    };
    let deadline =
        (app.args.duration > 0).then(|| Instant::now() + Duration::from_secs(app.args.duration));

    let path = capture.display().to_string();
    let mut reader = Reader::open(&capture).map_err(|e| format!("{path}: {e}"))?;
    let mut state = State::new();
    let mut stream = StreamInfo {
        hostname: format.hostname.clone(),
        render: RenderOptions::FALCO,
        ..StreamInfo::default()
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let mut num = 0u64;
    let mut failure = None;
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let block = match reader.next_block() {
            Ok(Some(b)) => b,
            Ok(None) => break,
            Err(e) => {
                failure = Some(format!("{path}: {e}"));
                break;
            }
        };
        match block {
            Block::Event(eb) => {
                let Ok(ev) = EventView::parse(eb.data) else {
                    continue;
                };
                state.process(&ev);
                if matches!(
                    ev.code(),
                    code::USER_ADDED_E
                        | code::USER_DELETED_E
                        | code::GROUP_ADDED_E
                        | code::GROUP_DELETED_E
                ) {
                    continue;
                }
                num += 1;
                stream.first_ts.get_or_insert(ev.ts());
                let cx = Ctx {
                    ev,
                    num,
                    cpu: eb.cpu,
                    st: state.context(),
                    stream: &stream,
                };
                if let Some(rule) = engine.process(&cx)
                    && print
                {
                    let alert = engine.alert(rule, &cx, time_field);
                    let line = if format.json {
                        alert.json(format)
                    } else {
                        alert.text(format)
                    };
                    writeln!(out, "{line}").map_err(|e| format!("stdout: {e}"))?;
                    if unbuffered {
                        out.flush().map_err(|e| format!("stdout: {e}"))?;
                    }
                }
                stream.prev_ts = Some(ev.ts());
            }
            Block::MachineInfo(m) => state.set_machine_info(m),
            Block::ProcessList(list) => list.into_iter().for_each(|t| state.load_thread(t)),
            Block::FdList { pid, fds } => {
                fds.into_iter().for_each(|f| state.load_fd(pid as i64, f))
            }
            Block::InterfaceList(list) => state.load_interfaces(list),
            Block::UserList { users, groups } => {
                users.into_iter().for_each(|u| state.load_user(u));
                groups.into_iter().for_each(|g| state.load_group(g));
            }
            Block::SectionHeader(_) | Block::Unknown { .. } => {}
        }
    }
    if app.args.verbose {
        write!(out, "{}", engine.summary()).map_err(|e| format!("stdout: {e}"))?;
    }
    out.flush().map_err(|e| format!("stdout: {e}"))?;
    match failure {
        Some(f) => Err(f),
        None => Ok(Flow::Exit(0)),
    }
}

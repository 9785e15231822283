//! `peregrine dump`: decode a capture file, apply every event to the state
//! engine, and print (or write) the events that pass the filter.

use crate::cli::DumpArgs;
use peregrine_engine::{Replay, ReplayEnd, ReplayEvent, ReplayHandler};
use peregrine_event::RenderOptions;
use peregrine_filter::eval::Filter;
use peregrine_filter::extract::{Ctx, extract};
use peregrine_filter::parse::parse;
use peregrine_filter::registry::FieldId;
use peregrine_filter::{OutputFormat, Segment};
use peregrine_scap::Writer;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::process::ExitCode;

/// sysdig's default line format.
const DEFAULT_FORMAT: &str =
    "*%evt.num %evt.outputtime %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.info";

/// Where matching events go.
enum Sink {
    Print {
        out: BufWriter<io::StdoutLock<'static>>,
        format: OutputFormat,
        line: String,
    },
    Capture(Box<Writer<BufWriter<File>>>),
}

/// Runs the dump; returns the process exit code.
pub fn run(args: &DumpArgs) -> ExitCode {
    match dump(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("peregrine: {message}");
            ExitCode::FAILURE
        }
    }
}

fn dump(args: &DumpArgs) -> Result<ExitCode, String> {
    let path = args.capture.display();
    let filter = match args.filter.is_empty() {
        true => None,
        false => {
            let text = args.filter.join(" ");
            let expr = parse(&text).map_err(|e| format!("filter '{text}': {e}"))?;
            Some(Filter::new(&expr))
        }
    };
    // A filter that reads no state is checked before the event's state
    // context is looked up; only matching events pay for it.
    let stateless = filter
        .as_ref()
        .is_some_and(|f| f.fields().iter().all(|f| reads_no_state(f.def.id)));
    let sink = match &args.write {
        Some(out) => {
            let file = File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
            let writer =
                Writer::new(BufWriter::new(file)).map_err(|e| format!("{}: {e}", out.display()))?;
            Sink::Capture(Box::new(writer))
        }
        None => {
            let text = args.format.as_deref().unwrap_or(DEFAULT_FORMAT);
            let format = OutputFormat::parse(text).map_err(|e| format!("-p '{text}': {e}"))?;
            Sink::Print {
                out: BufWriter::new(io::stdout().lock()),
                format,
                line: String::new(),
            }
        }
    };

    let mut replay = Replay::open(&args.capture, RenderOptions::SYSDIG, crate::app::hostname())
        .map_err(|e| format!("{path}: {e}"))?;
    let mut handler = DumpHandler {
        sink,
        filter,
        stateless,
    };
    let end = replay.run(&mut handler);
    for w in replay.warnings() {
        eprintln!("peregrine: {path}: {w}");
    }
    let failed = match end {
        ReplayEnd::Done => false,
        ReplayEnd::Damaged(e) => {
            eprintln!("peregrine: {path}: {e}");
            true
        }
        ReplayEnd::Handler(e) => return Err(format!("output: {e}")),
        ReplayEnd::Source(e) => return Err(format!("{path}: {e}")),
    };
    match handler.sink {
        Sink::Print { mut out, .. } => match out.flush() {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(format!("output: {e}")),
            _ => {}
        },
        Sink::Capture(w) => {
            w.finish()
                .map_err(|e| e.to_string())?
                .flush()
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints or writes the events that pass the filter.
struct DumpHandler {
    sink: Sink,
    filter: Option<Filter>,
    stateless: bool,
}

impl ReplayHandler for DumpHandler {
    type Error = io::Error;

    fn event(&mut self, event: &ReplayEvent<'_>) -> io::Result<ControlFlow<()>> {
        if event.hidden {
            // Not shown, but a written capture keeps them: they carry state.
            if let Sink::Capture(w) = &mut self.sink {
                w.write_event(event.cpu, event.flags, event.ev.bytes())
                    .map_err(io::Error::other)?;
            }
            return Ok(ControlFlow::Continue(()));
        }
        // A filter that reads no state is checked before the event's state
        // context is looked up; only matching events pay for it.
        let cx = if self.stateless {
            event.bare_ctx()
        } else {
            event.ctx()
        };
        if self.filter.as_ref().is_none_or(|f| f.matches(&cx)) {
            let cx = if self.stateless { event.ctx() } else { cx };
            emit(&mut self.sink, &cx, event.flags)?;
        }
        Ok(ControlFlow::Continue(()))
    }

    fn metadata(&mut self, raw_block: &[u8]) -> io::Result<()> {
        if let Sink::Capture(w) = &mut self.sink {
            w.write_raw_block(raw_block).map_err(io::Error::other)?;
        }
        Ok(())
    }
}

/// Fields whose value comes from the event alone (never from the state
/// context), so that a filter made of them can run before the context is
/// looked up.
fn reads_no_state(id: FieldId) -> bool {
    use FieldId::*;
    matches!(
        id,
        EvtNum | EvtCpu | EvtType | EvtDir | EvtRawtime | EvtRawtimeS | EvtRawtimeNs
    )
}

/// Prints or writes one matching event.
fn emit(sink: &mut Sink, cx: &Ctx<'_>, flags: Option<u32>) -> io::Result<()> {
    match sink {
        Sink::Print { out, format, line } => {
            if !render_line(format, cx, line) {
                return Ok(());
            }
            line.push('\n');
            match out.write_all(line.as_bytes()) {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
                other => other,
            }
        }
        Sink::Capture(w) => w
            .write_event(cx.cpu, flags, cx.ev.bytes())
            .map_err(|e| io::Error::other(e.to_string())),
    }
}

/// Renders one line; false when a field has no value and the format does
/// not print incomplete lines.
fn render_line(format: &OutputFormat, cx: &Ctx<'_>, line: &mut String) -> bool {
    line.clear();
    for seg in &format.segments {
        match seg {
            Segment::Literal(text) => line.push_str(text),
            Segment::Field(field) => match extract(field, cx) {
                Some(v) => v.render(line),
                None if format.print_all => line.push_str("<NA>"),
                None => return false,
            },
        }
    }
    true
}

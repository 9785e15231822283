//! `peregrine dump`: decode a capture file, apply every event to the state
//! engine, and print (or write) the events that pass the filter.

use crate::cli::DumpArgs;
use peregrine_event::{RenderOptions, code};
use peregrine_filter::eval::Filter;
use peregrine_filter::extract::{Ctx, StreamInfo, extract};
use peregrine_filter::parse::parse;
use peregrine_filter::registry::FieldId;
use peregrine_filter::{OutputFormat, Segment};
use peregrine_scap::{Block, ThreadedReader, Writer};
use peregrine_state::State;
use std::fs::File;
use std::io::{self, BufWriter, Write};
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
    let mut reader = ThreadedReader::open(&args.capture).map_err(|e| format!("{path}: {e}"))?;
    let mut sink = match &args.write {
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

    let mut state = State::new();
    let mut stream = StreamInfo {
        hostname: hostname(),
        render: RenderOptions::SYSDIG,
        ..StreamInfo::default()
    };
    let mut num = 0u64;
    let mut failed = false;
    loop {
        let block = match reader.next_block() {
            Ok(Some(block)) => block,
            Ok(None) => break,
            Err(e) => {
                eprintln!("peregrine: {path}: {e}");
                failed = true;
                break;
            }
        };
        let meta = match block {
            Block::Event(eb) => {
                // Nothing to drop in an event block: skip the drop glue.
                std::mem::forget(block);
                let ev = match eb.view() {
                    Ok(ev) => ev,
                    Err(e) => {
                        eprintln!("peregrine: {path}: event after #{num}: {e}; skipped");
                        continue;
                    }
                };
                state.process(&ev);
                // evt.reltime counts from the first event that is not a meta-event
                if ev.info().category.0 & peregrine_event::Category::METAEVENT == 0 {
                    stream.first_ts.get_or_insert(ev.ts());
                }
                let hidden = is_table_event(ev.code()) || is_hidden(ev.code());
                if !is_table_event(ev.code()) {
                    num += 1;
                }
                if hidden {
                    // Not shown, but a written capture keeps them: they carry state.
                    if let Sink::Capture(w) = &mut sink {
                        w.write_event(eb.cpu, eb.flags, ev.bytes())
                            .map_err(|e| format!("output: {e}"))?;
                    }
                    continue;
                }
                let mut cx = Ctx {
                    ev,
                    num,
                    cpu: eb.cpu,
                    st: if stateless {
                        state.bare_context()
                    } else {
                        state.context()
                    },
                    stream: &stream,
                };
                if filter.as_ref().is_none_or(|f| f.matches(&cx)) {
                    if stateless {
                        cx.st = state.context();
                    }
                    emit(&mut sink, &cx, eb.flags).map_err(|e| format!("output: {e}"))?;
                }
                stream.prev_ts = Some(ev.ts());
                continue;
            }
            other => Meta::from(other),
        };
        if let Sink::Capture(w) = &mut sink
            && !matches!(meta, Meta::Unknown(..))
        {
            w.write_raw_block(reader.raw_block())
                .map_err(|e| e.to_string())?;
        }
        meta.apply(&mut state, &path.to_string());
    }
    match sink {
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

/// User and group table events: they update the state but, as in sysdig,
/// are neither numbered nor shown.
fn is_table_event(c: u16) -> bool {
    matches!(
        c,
        code::USER_ADDED_E | code::USER_DELETED_E | code::GROUP_ADDED_E | code::GROUP_DELETED_E
    )
}

/// Events that are numbered but not shown: the driver's per-process CPU
/// samples and capture markers.
fn is_hidden(c: u16) -> bool {
    matches!(c, code::PROCINFO_E | code::SCAPEVENT_E)
}

/// A metadata block, detached from the reader's buffer.
enum Meta {
    Apply(Block<'static>),
    Unknown(u32, u64),
}

impl From<Block<'_>> for Meta {
    fn from(block: Block<'_>) -> Meta {
        match block {
            Block::Event(_) => Meta::Unknown(0, 0),
            Block::MachineInfo(m) => Meta::Apply(Block::MachineInfo(m)),
            Block::ProcessList(l) => Meta::Apply(Block::ProcessList(l)),
            Block::FdList { pid, fds } => Meta::Apply(Block::FdList { pid, fds }),
            Block::InterfaceList(l) => Meta::Apply(Block::InterfaceList(l)),
            Block::UserList { users, groups } => Meta::Apply(Block::UserList { users, groups }),
            Block::SectionHeader(h) => Meta::Apply(Block::SectionHeader(h)),
            Block::Unknown {
                block_type, offset, ..
            } => Meta::Unknown(block_type, offset),
        }
    }
}

impl Meta {
    fn apply(self, state: &mut State, path: &str) {
        match self {
            Meta::Apply(Block::MachineInfo(m)) => state.set_machine_info(m),
            Meta::Apply(Block::ProcessList(list)) => {
                list.into_iter().for_each(|t| state.load_thread(t))
            }
            Meta::Apply(Block::FdList { pid, fds }) => {
                fds.into_iter().for_each(|f| state.load_fd(pid as i64, f))
            }
            Meta::Apply(Block::InterfaceList(list)) => state.load_interfaces(list),
            Meta::Apply(Block::UserList { users, groups }) => {
                users.into_iter().for_each(|u| state.load_user(u));
                groups.into_iter().for_each(|g| state.load_group(g));
            }
            Meta::Apply(_) => {}
            Meta::Unknown(block_type, offset) => {
                eprintln!(
                    "peregrine: {path}: offset {offset}: unknown block type {block_type:#x} skipped"
                )
            }
        }
    }
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

fn hostname() -> String {
    std::env::var("FALCO_HOSTNAME").ok().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    })
}

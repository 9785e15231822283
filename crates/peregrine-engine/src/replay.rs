//! Replaying events: from a capture file (its blocks read on a reader
//! thread, the state seeded from its metadata) or from a live source (the
//! state seeded from a /proc scan), apply every event to the state, number
//! events as sysdig and Falco do, and hand each one to the caller.

use peregrine_event::{Category, EventView, RenderOptions, code};
use peregrine_filter::extract::{Ctx, StreamInfo};
use peregrine_scap::{Block, ScapError, ThreadedReader, pipeline};
use peregrine_state::State;
use std::ops::ControlFlow;
use std::path::Path;

/// One event of the replay, after the state has seen it.
pub struct ReplayEvent<'a> {
    /// The event.
    pub ev: EventView<'a>,
    /// Its number (`evt.num`); table events share the previous number.
    pub num: u64,
    /// CPU that produced it.
    pub cpu: u16,
    /// Block flags, for the block types that carry them.
    pub flags: Option<u32>,
    /// Not shown by sysdig and not matched by rules: user/group table
    /// events, procinfo samples and capture markers. They still carry state.
    pub hidden: bool,
    state: &'a State,
    stream: &'a StreamInfo,
}

impl<'a> ReplayEvent<'a> {
    /// The event with its full state context (thread, fd, enter event).
    pub fn ctx(&self) -> Ctx<'a> {
        Ctx {
            ev: self.ev,
            num: self.num,
            cpu: self.cpu,
            st: self.state.context(),
            stream: self.stream,
        }
    }

    /// The event with an empty state context: cheaper, for fields that read
    /// only the event.
    pub fn bare_ctx(&self) -> Ctx<'a> {
        Ctx {
            ev: self.ev,
            num: self.num,
            cpu: self.cpu,
            st: self.state.bare_context(),
            stream: self.stream,
        }
    }
}

/// What the replay tells its caller about.
pub trait ReplayHandler {
    /// Error type of the handler.
    type Error;
    /// One event.
    fn event(&mut self, event: &ReplayEvent<'_>) -> Result<ControlFlow<()>, Self::Error>;
    /// One metadata block, already applied to the state, as raw bytes.
    fn metadata(&mut self, _raw_block: &[u8]) -> Result<(), Self::Error> {
        Ok(())
    }
    /// A live source had no event for a while: a chance to check signals
    /// and deadlines.
    fn idle(&mut self) -> Result<ControlFlow<()>, Self::Error> {
        Ok(ControlFlow::Continue(()))
    }
}

/// What a live source yields.
pub enum Next<'a> {
    /// One event: the CPU it came from and its scap bytes.
    Event(u16, &'a [u8]),
    /// Nothing for now.
    Idle,
    /// The source is finished.
    End,
}

/// A source of events other than a capture file, such as the live probe.
pub trait EventSource {
    /// The next event, waiting a little for one.
    fn next_event(&mut self) -> Result<Next<'_>, String>;
}

/// How a replay ended.
#[derive(Debug)]
pub enum ReplayEnd<E> {
    /// The file was read to its end (or the handler stopped).
    Done,
    /// The file is damaged: everything before was replayed.
    Damaged(ScapError),
    /// The handler failed.
    Handler(E),
    /// A live source failed.
    Source(String),
}

/// Where the events come from.
enum Input {
    Capture(Box<ThreadedReader>),
    Live(Box<dyn EventSource>),
}

/// A capture file being replayed.
pub struct Replay {
    input: Input,
    state: State,
    stream: StreamInfo,
    num: u64,
    warnings: Vec<String>,
}

/// User and group table events: they update the state but are neither
/// numbered nor shown.
pub fn is_table_event(c: u16) -> bool {
    matches!(
        c,
        code::USER_ADDED_E | code::USER_DELETED_E | code::GROUP_ADDED_E | code::GROUP_DELETED_E
    )
}

/// Events numbered but not shown: per-process CPU samples, capture markers.
pub fn is_hidden_event(c: u16) -> bool {
    matches!(c, code::PROCINFO_E | code::SCAPEVENT_E)
}

impl Replay {
    /// Opens a capture file (plain or gzip) for replay.
    pub fn open(path: &Path, render: RenderOptions, hostname: String) -> Result<Replay, ScapError> {
        Ok(Replay {
            input: Input::Capture(Box::new(ThreadedReader::open(path)?)),
            state: State::new(),
            stream: StreamInfo {
                hostname,
                render,
                ..StreamInfo::default()
            },
            num: 0,
            warnings: Vec::new(),
        })
    }

    /// Replays a live source, the state seeded with the threads and fds
    /// already running (a /proc scan) and the machine's users and groups.
    pub fn live(
        source: Box<dyn EventSource>,
        threads: Vec<peregrine_scap::ThreadRecord>,
        fds: Vec<(u64, peregrine_scap::FdRecord)>,
        users: (
            Vec<peregrine_scap::UserRecord>,
            Vec<peregrine_scap::GroupRecord>,
        ),
        render: RenderOptions,
        hostname: String,
    ) -> Replay {
        let mut state = State::new();
        users.0.into_iter().for_each(|u| state.load_user(u));
        users.1.into_iter().for_each(|g| state.load_group(g));
        threads.into_iter().for_each(|t| state.load_thread(t));
        fds.into_iter()
            .for_each(|(pid, f)| state.load_fd(pid as i64, f));
        Replay {
            input: Input::Live(source),
            state,
            stream: StreamInfo {
                hostname,
                render,
                ..StreamInfo::default()
            },
            num: 0,
            warnings: Vec::new(),
        }
    }

    /// Problems met and skipped so far (bad events, unknown blocks).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The state engine.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// True when the events come from a live source rather than a file.
    pub fn is_live(&self) -> bool {
        matches!(self.input, Input::Live(_))
    }

    /// Replays until the end of the input, an error, or the handler stops.
    pub fn run<H: ReplayHandler>(&mut self, handler: &mut H) -> ReplayEnd<H::Error> {
        match &mut self.input {
            Input::Capture(reader) => run_capture(
                reader,
                &mut self.state,
                &mut self.stream,
                &mut self.num,
                &mut self.warnings,
                handler,
            ),
            Input::Live(source) => loop {
                let (cpu, bytes) = match source.next_event() {
                    Ok(Next::Event(cpu, bytes)) => (cpu, bytes),
                    Ok(Next::Idle) => match handler.idle() {
                        Ok(ControlFlow::Continue(())) => continue,
                        Ok(ControlFlow::Break(())) => return ReplayEnd::Done,
                        Err(e) => return ReplayEnd::Handler(e),
                    },
                    Ok(Next::End) => return ReplayEnd::Done,
                    Err(e) => return ReplayEnd::Source(e),
                };
                let ev = match EventView::parse(bytes) {
                    Ok(ev) => ev,
                    Err(e) => {
                        self.warnings
                            .push(format!("event after #{}: {e}; skipped", self.num));
                        continue;
                    }
                };
                let flow = deliver(
                    ev,
                    cpu,
                    None,
                    &mut self.state,
                    &mut self.stream,
                    &mut self.num,
                    handler,
                );
                match flow {
                    Ok(ControlFlow::Continue(())) => {}
                    Ok(ControlFlow::Break(())) => return ReplayEnd::Done,
                    Err(e) => return ReplayEnd::Handler(e),
                }
            },
        }
    }
}

/// Applies one event to the state, numbers it and hands it to the handler.
#[inline(always)]
fn deliver<H: ReplayHandler>(
    ev: EventView<'_>,
    cpu: u16,
    flags: Option<u32>,
    state: &mut State,
    stream: &mut StreamInfo,
    num: &mut u64,
    handler: &mut H,
) -> Result<ControlFlow<()>, H::Error> {
    state.process(&ev);
    let c = ev.code();
    if ev.info().category.0 & Category::METAEVENT == 0 {
        stream.first_ts.get_or_insert(ev.ts());
    }
    if !is_table_event(c) {
        *num += 1;
    }
    let hidden = is_table_event(c) || is_hidden_event(c);
    let item = ReplayEvent {
        ev,
        num: *num,
        cpu,
        flags,
        hidden,
        state,
        stream,
    };
    let flow = handler.event(&item);
    if !hidden {
        stream.prev_ts = Some(ev.ts());
    }
    flow
}

/// The capture-file loop of [`Replay::run`].
fn run_capture<H: ReplayHandler>(
    reader: &mut ThreadedReader,
    state: &mut State,
    stream: &mut StreamInfo,
    num: &mut u64,
    warnings: &mut Vec<String>,
    handler: &mut H,
) -> ReplayEnd<H::Error> {
    {
        loop {
            let block = match reader.next() {
                Ok(Some(pipeline::Next::Event(eb))) => {
                    let ev = match eb.view() {
                        Ok(ev) => ev,
                        Err(e) => {
                            warnings.push(format!("event after #{num}: {e}; skipped"));
                            continue;
                        }
                    };
                    match deliver(ev, eb.cpu, eb.flags, state, stream, num, handler) {
                        Ok(ControlFlow::Continue(())) => continue,
                        Ok(ControlFlow::Break(())) => return ReplayEnd::Done,
                        Err(e) => return ReplayEnd::Handler(e),
                    }
                }
                Ok(Some(pipeline::Next::Other(block))) => block,
                Ok(None) => return ReplayEnd::Done,
                Err(e) => return ReplayEnd::Damaged(e),
            };
            let meta = match *block {
                Block::Unknown {
                    block_type, offset, ..
                } => {
                    warnings.push(format!(
                        "offset {offset}: unknown block type {block_type:#x} skipped"
                    ));
                    continue;
                }
                other => Meta::from(other),
            };
            meta.apply(state);
            if let Err(e) = handler.metadata(reader.raw_block()) {
                return ReplayEnd::Handler(e);
            }
        }
    }
}

/// A metadata block detached from the reader's buffer.
enum Meta {
    Machine(peregrine_scap::MachineInfo),
    Threads(Vec<peregrine_scap::ThreadRecord>),
    Fds(u64, Vec<peregrine_scap::FdRecord>),
    Interfaces(Vec<peregrine_scap::InterfaceRecord>),
    Users(
        Vec<peregrine_scap::UserRecord>,
        Vec<peregrine_scap::GroupRecord>,
    ),
    Other,
}

impl From<Block<'_>> for Meta {
    fn from(block: Block<'_>) -> Meta {
        match block {
            Block::MachineInfo(m) => Meta::Machine(m),
            Block::ProcessList(l) => Meta::Threads(l),
            Block::FdList { pid, fds } => Meta::Fds(pid, fds),
            Block::InterfaceList(l) => Meta::Interfaces(l),
            Block::UserList { users, groups } => Meta::Users(users, groups),
            _ => Meta::Other,
        }
    }
}

impl Meta {
    fn apply(self, state: &mut State) {
        match self {
            Meta::Machine(m) => state.set_machine_info(m),
            Meta::Threads(list) => list.into_iter().for_each(|t| state.load_thread(t)),
            Meta::Fds(pid, fds) => fds.into_iter().for_each(|f| state.load_fd(pid as i64, f)),
            Meta::Interfaces(list) => state.load_interfaces(list),
            Meta::Users(users, groups) => {
                users.into_iter().for_each(|u| state.load_user(u));
                groups.into_iter().for_each(|g| state.load_group(g));
            }
            Meta::Other => {}
        }
    }
}

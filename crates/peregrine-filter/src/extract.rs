//! Field extraction: reads one field of the current event from the event
//! itself and from the state engine, with Falco's semantics for values and
//! for "not available" (`None`).

use crate::field::{Field, FieldArg};
use crate::registry::FieldId;
use crate::value::{Value, text};
use chrono::{DateTime, Local, TimeZone};
use peregrine_event::{
    Category, Direction, EventFlags, EventView, FdDesc, ParamType, RenderContext, RenderOptions,
    code, errno_name, render_arg, render_args,
};
use peregrine_state::{
    EventContext, FdInfo, FdType as Kind, L4Proto, Role, SockInfo, State, Thread,
};
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Facts about the whole event stream that some fields need.
#[derive(Clone, Debug, Default)]
pub struct StreamInfo {
    /// Timestamp of the first event.
    pub first_ts: Option<u64>,
    /// Timestamp of the previous event.
    pub prev_ts: Option<u64>,
    /// Host name for `evt.hostname`.
    pub hostname: String,
    /// How parameters are rendered.
    pub render: RenderOptions,
}

/// Everything a field may read about one event.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// The event.
    pub ev: EventView<'a>,
    /// Its sequence number (`evt.num`).
    pub num: u64,
    /// CPU that produced it.
    pub cpu: u16,
    /// State after the event was applied.
    pub st: EventContext<'a>,
    /// Stream-wide facts.
    pub stream: &'a StreamInfo,
}

/// Adapts the state engine to what parameter rendering needs.
pub struct StateRender<'a> {
    st: EventContext<'a>,
    options: RenderOptions,
}

impl<'a> StateRender<'a> {
    /// Rendering context for the event described by `st`.
    pub fn new(st: EventContext<'a>, options: RenderOptions) -> Self {
        StateRender { st, options }
    }
}

impl RenderContext for StateRender<'_> {
    fn thread_known(&self) -> bool {
        self.st.thread.is_some()
    }

    fn fd(&self, fd: i64) -> Option<FdDesc<'_>> {
        let t = self.st.thread?;
        let info = self.st.state.fd_of(t.tid, fd)?;
        Some(FdDesc {
            type_char: info.type_char(),
            l4_char: l4_char(info),
            name: &info.name,
        })
    }

    fn thread_comm(&self, tid: i64) -> Option<&str> {
        self.st.state.thread(tid).map(|t| t.info.comm.as_str())
    }

    fn cwd(&self) -> Option<&str> {
        self.st.cwd()
    }

    fn user_name(&self, uid: u32) -> Option<&str> {
        self.st.state.user(uid).map(|u| u.name.as_str())
    }

    fn group_name(&self, gid: u32) -> Option<&str> {
        self.st.state.group(gid).map(|g| g.name.as_str())
    }

    fn options(&self) -> RenderOptions {
        self.options
    }
}

fn l4_char(info: &FdInfo) -> Option<char> {
    if !info.fd_type.is_inet() {
        return None;
    }
    match info.l4proto() {
        L4Proto::Tcp => Some('t'),
        L4Proto::Udp => Some('u'),
        L4Proto::Icmp => Some('i'),
        L4Proto::Raw => Some('r'),
        _ => None,
    }
}

fn owned<'a>(s: String) -> Option<Value<'a>> {
    Some(Value::Str(Cow::Owned(s)))
}

fn local_time(ts: u64) -> DateTime<Local> {
    Local.timestamp_nanos(ts as i64)
}

/// The main thread of `t`'s process (itself when unknown).
fn main_of<'s>(state: &'s State, t: &'s Thread) -> &'s Thread {
    state.main_thread(t).unwrap_or(t)
}

/// The `n`-th ancestor process of `t` (1 is the parent), as sinsp walks it:
/// from the main thread, to the parent thread, to its main thread.
fn ancestor<'s>(state: &'s State, t: &'s Thread, n: u32) -> Option<&'s Thread> {
    let mut cur = main_of(state, t);
    for _ in 0..n {
        let parent = state.parent_of(cur)?;
        cur = main_of(state, parent);
    }
    Some(cur)
}

fn cmdline(t: &Thread) -> String {
    let mut s = t.info.comm.clone();
    for a in &t.info.args {
        s.push(' ');
        s.push_str(a);
    }
    s
}

fn caps_text(caps: u64) -> String {
    crate::caps::caps_to_string(caps)
}

/// The fd the event is about, as sinsp's fd checks find it: only for
/// events that create, use or destroy an fd, and only with a thread.
fn event_fd<'a>(cx: &Ctx<'a>) -> Option<Option<&'a FdInfo>> {
    if !is_fd_event(cx.ev.info().flags) || cx.st.thread.is_none() {
        return None;
    }
    Some(cx.st.fd)
}

/// True for events of calls that create, use or destroy an fd: the only
/// ones with `fd.*` values.
fn is_fd_event(flags: EventFlags) -> bool {
    flags.0 & (EventFlags::CREATES_FD | EventFlags::USES_FD | EventFlags::DESTROYS_FD) != 0
}

/// True for the `fd.*` fields [`extract_fd`] serves.
fn is_fd_field(id: FieldId) -> bool {
    use FieldId::*;
    matches!(
        id,
        FdNum
            | FdType
            | FdTypechar
            | FdName
            | FdNameraw
            | FdDirectory
            | FdFilename
            | FdIp
            | FdCip
            | FdSip
            | FdLip
            | FdRip
            | FdPort
            | FdCport
            | FdSport
            | FdLport
            | FdRport
            | FdL4proto
            | FdSockfamily
            | FdIsServer
            | FdNet
            | FdCnet
            | FdSnet
            | FdLnet
            | FdRnet
            | FdConnected
            | FdNameChanged
            | FdIno
            | FdDev
            | FdTypes
    )
}

/// `evt.is_io`, `evt.is_io_read`, `evt.is_io_write`, `evt.is_wait`: read
/// from the flags of the event's code.
fn flag_field(id: FieldId, flags: EventFlags) -> Option<bool> {
    use FieldId::*;
    Some(match id {
        EvtIsIo => flags.0 & (EventFlags::READS_FROM_FD | EventFlags::WRITES_TO_FD) != 0,
        EvtIsIoRead => flags.has(EventFlags::READS_FROM_FD),
        EvtIsIoWrite => flags.has(EventFlags::WRITES_TO_FD),
        EvtIsWait => flags.has(EventFlags::WAITS),
        _ => return None,
    })
}

/// The value `field` has on every event of code `code`, when the code
/// alone decides it: `Some(None)` when no event of the code has the field,
/// `Some(Some(v))` when all have the value `v`, `None` when it depends on
/// the event. Lets a condition be simplified once per event code.
pub fn value_on_code(field: &Field, code: u16) -> Option<Option<Value<'static>>> {
    use FieldId::*;
    let info = peregrine_event::event_info(code)?;
    let id = field.def.id;
    if let Some(b) = flag_field(id, info.flags) {
        return Some(Some(Value::Bool(b)));
    }
    match id {
        EvtDir => Some(Some(text(Direction::of(code).symbol()))),
        EvtIsOpenRead | EvtIsOpenWrite | EvtIsOpenExec | EvtIsOpenCreate
            if !is_open_event(code) =>
        {
            Some(Some(Value::Bool(false)))
        }
        _ if is_fd_field(id) && !is_fd_event(info.flags) => Some(None),
        _ => None,
    }
}

/// `fd.name` of a failed fd-creating call, taken from the event's arguments.
fn fdname_from_event(cx: &Ctx<'_>, raw: bool) -> Option<String> {
    let ev = &cx.ev;
    if ev.direction() == Direction::Enter {
        return None;
    }
    let render = StateRender::new(cx.st, cx.stream.render);
    let mut out = String::new();
    match ev.code() {
        code::SYSCALL_OPEN_X
        | code::SOCKET_ACCEPT_5_X
        | code::SOCKET_ACCEPT4_6_X
        | code::SYSCALL_CREAT_X
        | code::SOCKET_CONNECT_X => {
            render_arg(ev, 1, &render, &mut out);
            Some(out)
        }
        code::SYSCALL_OPENAT_2_X | code::SYSCALL_OPENAT2_X => {
            let name = ev.param_str(2)?;
            let name = String::from_utf8_lossy(name);
            if raw {
                return Some(name.into_owned());
            }
            let dirfd = ev.param_int(1, true)?;
            let dir = if name.starts_with('/') {
                String::new()
            } else if dirfd == peregrine_event::render::AT_FDCWD {
                cx.st.cwd()?.to_string()
            } else {
                let t = cx.st.thread?;
                cx.st
                    .state
                    .fd_of(t.tid, dirfd)
                    .map(|f| f.name.clone())
                    .unwrap_or_default()
            };
            Some(peregrine_state::path::concatenate_paths(&dir, &name))
        }
        code::SYSCALL_OPEN_BY_HANDLE_AT_X => {
            Some(String::from_utf8_lossy(ev.param_str(3)?).into_owned())
        }
        _ => Some(String::new()),
    }
}

fn ip4(b: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(b))
}

fn ip6(b: [u8; 16]) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(b))
}

/// (client ip, client port, server ip, server port) of a connected socket.
fn tuple(fd: &FdInfo) -> Option<(IpAddr, u16, IpAddr, u16)> {
    match &fd.sock {
        SockInfo::Ipv4 {
            sip,
            sport,
            dip,
            dport,
            ..
        } => Some((ip4(*sip), *sport, ip4(*dip), *dport)),
        SockInfo::Ipv6 {
            sip,
            sport,
            dip,
            dport,
            ..
        } => Some((ip6(*sip), *sport, ip6(*dip), *dport)),
        _ => None,
    }
}

fn server_end(fd: &FdInfo) -> Option<(IpAddr, u16)> {
    match &fd.sock {
        SockInfo::Ipv4Server { ip, port, .. } => Some((ip4(*ip), *port)),
        SockInfo::Ipv6Server { ip, port, .. } => Some((ip6(*ip), *port)),
        _ => None,
    }
}

/// True when `ip` is one of the machine's interface addresses (IPv4), or
/// in the /64 of one (IPv6), as sinsp decides it.
fn is_local(state: &State, ip: IpAddr) -> bool {
    state.interfaces().iter().any(|i| match ip {
        IpAddr::V4(v4) => i.addr.as_slice() == v4.octets(),
        IpAddr::V6(v6) => i.addr.len() == 16 && i.addr[..8] == v6.octets()[..8],
    })
}

/// (local ip, local port, remote ip, remote port) as sinsp decides them:
/// local is the client end when the client address is one of ours.
fn local_remote(state: &State, fd: &FdInfo) -> Option<(IpAddr, u16, IpAddr, u16)> {
    let (cip, cport, sip, sport) = tuple(fd)?;
    if fd.role == Role::None {
        return None;
    }
    Some(if is_local(state, cip) {
        (cip, cport, sip, sport)
    } else {
        (sip, sport, cip, cport)
    })
}

fn param_value<'a>(cx: &Ctx<'a>, arg: &FieldArg, raw: bool) -> Option<Value<'a>> {
    let ev = &cx.ev;
    let index = match arg {
        FieldArg::Index(i) => {
            let i = *i as usize;
            (i < ev.nparams()).then_some(i)?
        }
        FieldArg::Name(name) => ev.info().param_index(name).filter(|&i| i < ev.nparams())?,
        FieldArg::None => return None,
    };
    if raw {
        let info = ev.info().params.get(index)?;
        let bytes = ev.param(index)?;
        return Some(match info.ptype {
            ParamType::Charbuf | ParamType::Fspath | ParamType::Fsrelpath => {
                let s = bytes.split(|&b| b == 0).next().unwrap_or_default();
                Value::Str(String::from_utf8_lossy(s))
            }
            ParamType::Bytebuf => Value::Bytes(Cow::Borrowed(bytes)),
            ParamType::Int8
            | ParamType::Int16
            | ParamType::Int32
            | ParamType::Int64
            | ParamType::Errno
            | ParamType::Fd
            | ParamType::Pid
            | ParamType::Fd32
            | ParamType::Pid32 => Value::I64(peregrine_event::read_int(bytes, true)?),
            _ => match peregrine_event::read_int(bytes, false) {
                Some(v) => Value::U64(v as u64),
                None => Value::Bytes(Cow::Borrowed(bytes)),
            },
        });
    }
    let render = StateRender::new(cx.st, cx.stream.render);
    let mut out = String::new();
    render_arg(ev, index, &render, &mut out).then_some(())?;
    owned(out)
}

/// `evt.type`: the event's name, or for generic events the name of the
/// system call they stand for.
pub fn event_type_name(ev: &EventView<'_>) -> &'static str {
    if matches!(ev.code(), code::GENERIC_E | code::GENERIC_X)
        && let Some(id) = ev
            .param(0)
            .and_then(|p| peregrine_event::read_int(p, false))
        && let Some(name) = peregrine_event::syscall_name(id as u16)
    {
        return name;
    }
    ev.name()
}

fn return_value(ev: &EventView<'_>) -> Option<i64> {
    let is_syscall = ev.info().category.0 & Category::SYSCALL != 0;
    if ev.code() == code::GENERIC_X || !is_syscall || ev.direction() != Direction::Exit {
        return None;
    }
    peregrine_event::read_int(ev.param(0)?, true)
}

fn open_flags(ev: &EventView<'_>) -> Option<u32> {
    let i = ev.info().param_index("flags")?;
    Some(peregrine_event::read_int(ev.param(i)?, false)? as u32)
}

fn is_open_event(code: u16) -> bool {
    matches!(
        code,
        code::SYSCALL_OPEN_X
            | code::SYSCALL_OPENAT_X
            | code::SYSCALL_OPENAT_2_X
            | code::SYSCALL_OPENAT2_X
            | code::SYSCALL_OPEN_BY_HANDLE_AT_X
    )
}

/// `evt.category`: the syscall category of the event; for I/O events,
/// the kind of fd they move data through (`file`, `net`, `ipc`, or
/// `unknown` without an fd).
fn category_name(cx: &Ctx<'_>) -> &'static str {
    const IO_BASE: u32 = 32;
    let cat = cx.ev.info().category.0 & (Category::SYSCALL - 1);
    if cat & IO_BASE == 0 {
        return Category(cat).name();
    }
    if !matches!(cat, 32..=34) {
        return "unknown";
    }
    match cx.st.fd.map(|f| f.fd_type) {
        Some(Kind::File | Kind::Directory) => "file",
        Some(t) if t.is_inet() => "net",
        Some(
            Kind::Fifo
            | Kind::UnixSock
            | Kind::Event
            | Kind::Signalfd
            | Kind::Inotify
            | Kind::Userfaultfd,
        ) => "ipc",
        _ => "unknown",
    }
}

/// `fd.typechar` of an fd event whose fd is unknown: guessed from the
/// event type, as current libs do.
fn typechar_from_event(code: u16) -> char {
    match code | 1 {
        code::SYSCALL_OPENAT_2_X | code::SYSCALL_OPENAT2_X | code::SYSCALL_CREAT_X => 'f',
        code::SOCKET_SOCKET_X | code::SOCKET_ACCEPT_5_X | code::SOCKET_ACCEPT4_6_X => '4',
        code::SYSCALL_PIPE_X | code::SYSCALL_PIPE2_X => 'p',
        code::SYSCALL_EVENTFD_X | code::SYSCALL_EVENTFD2_X => 'e',
        code::SYSCALL_SIGNALFD_X | code::SYSCALL_SIGNALFD4_X => 's',
        code::SYSCALL_TIMERFD_CREATE_X => 't',
        code::SYSCALL_INOTIFY_INIT_X | code::SYSCALL_INOTIFY_INIT1_X => 'i',
        _ => 'o',
    }
}

/// `fd.directory` of a file path: everything before the last `/` (the
/// path itself when it ends with `/`), `/` for a path without a `/` or
/// whose only `/` is the first byte.
fn directory_of(name: &str) -> &str {
    match name.rfind('/') {
        Some(pos) if pos != 0 => {
            if pos < name.len() - 1 {
                &name[..pos]
            } else {
                name
            }
        }
        _ => "/",
    }
}

/// `c` as a static one-character string, for the ASCII characters
/// `fd.typechar` yields.
fn one_char_str(c: char) -> Option<&'static str> {
    const ASCII: &str = "\0\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\u{7}\u{8}\t\n\u{b}\u{c}\r\u{e}\u{f}\
        \u{10}\u{11}\u{12}\u{13}\u{14}\u{15}\u{16}\u{17}\u{18}\u{19}\u{1a}\u{1b}\u{1c}\u{1d}\u{1e}\u{1f}\
        \u{20}!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\u{7f}";
    let i = c as usize;
    (c.is_ascii()).then(|| &ASCII[i..i + 1])
}

const PPM_O_RDONLY: u32 = 1 << 0;
const PPM_O_WRONLY: u32 = 1 << 1;
const PPM_O_CREAT: u32 = 1 << 2;
const PPM_O_F_CREATED: u32 = 1 << 13;

/// Extracts `field` from the event in `cx`. `None` means the value is not
/// available (printed `<NA>`).
pub fn extract<'a>(field: &Field, cx: &Ctx<'a>) -> Option<Value<'a>> {
    use FieldId::*;
    let ev = &cx.ev;
    let ts = ev.ts();
    let id = field.def.id;
    match id {
        EvtNum => Some(Value::U64(cx.num)),
        EvtTime | EvtOutputtime => owned(local_time(ts).format("%H:%M:%S%.9f").to_string()),
        EvtTimeS => owned(local_time(ts).format("%H:%M:%S").to_string()),
        EvtTimeIso8601 => owned(local_time(ts).format("%Y-%m-%dT%H:%M:%S%.9f%z").to_string()),
        EvtDatetime => owned(local_time(ts).format("%Y-%m-%d %H:%M:%S%.9f").to_string()),
        EvtDatetimeS => owned(local_time(ts).format("%Y-%m-%d %H:%M:%S").to_string()),
        EvtRawtime => Some(Value::U64(ts)),
        EvtRawtimeS => Some(Value::U64(ts / 1_000_000_000)),
        EvtRawtimeNs => Some(Value::U64(ts % 1_000_000_000)),
        EvtReltime | EvtReltimeS | EvtReltimeNs => {
            let rel = ts.saturating_sub(cx.stream.first_ts.unwrap_or(ts));
            Some(Value::U64(match id {
                EvtReltimeS => rel / 1_000_000_000,
                EvtReltimeNs => rel % 1_000_000_000,
                _ => rel,
            }))
        }
        // Current libs no longer measure it: always 0.
        EvtLatency => Some(Value::U64(0)),
        EvtDeltatime => Some(Value::U64(
            ts.saturating_sub(cx.stream.prev_ts.unwrap_or(ts)),
        )),
        EvtType => Some(text(event_type_name(ev))),
        EvtTypeIs => match &field.arg {
            FieldArg::Name(n) => Some(Value::U64((event_type_name(ev) == &**n) as u64)),
            _ => None,
        },
        EvtDir => Some(text(ev.direction().symbol())),
        EvtCpu => Some(Value::U64(cx.cpu as u64)),
        EvtCategory => Some(text(category_name(cx))),
        EvtArgs | EvtInfo => {
            let render = StateRender::new(cx.st, cx.stream.render);
            let mut out = String::new();
            render_args(ev, &render, &mut out);
            owned(out)
        }
        EvtArg => param_value(cx, &field.arg, false),
        EvtRawarg => param_value(cx, &field.arg, true),
        EvtRes => {
            let res = return_value(ev)?;
            if res >= 0 {
                Some(text("SUCCESS"))
            } else {
                Some(text(errno_name(-res).unwrap_or("UNKNOWN")))
            }
        }
        EvtRawres => Some(Value::I64(return_value(ev)?)),
        EvtFailed => Some(Value::Bool(return_value(ev).is_some_and(|r| r < 0))),
        EvtIsIo | EvtIsIoRead | EvtIsIoWrite | EvtIsWait => {
            flag_field(id, ev.info().flags).map(Value::Bool)
        }
        EvtIsOpenRead | EvtIsOpenWrite | EvtIsOpenExec | EvtIsOpenCreate => {
            let flags = if is_open_event(ev.code()) {
                open_flags(ev)
            } else {
                None
            };
            let flags = flags.unwrap_or(0);
            let mode_exec = ev
                .info()
                .param_index("mode")
                .and_then(|i| peregrine_event::read_int(ev.param(i)?, false))
                .is_some_and(|m| m & 0o111 != 0);
            Some(Value::Bool(match id {
                EvtIsOpenRead => flags & PPM_O_RDONLY != 0,
                EvtIsOpenWrite => flags & PPM_O_WRONLY != 0,
                EvtIsOpenExec => flags & (PPM_O_CREAT | PPM_O_F_CREATED) != 0 && mode_exec,
                _ => flags & PPM_O_F_CREATED != 0,
            }))
        }
        EvtBuffer => {
            let i = ev.info().param_index("data")?;
            Some(Value::Bytes(Cow::Borrowed(ev.param(i)?)))
        }
        EvtBuflen => {
            let io = ev.info().category.0 & Category::SUBCATEGORY_MASK >= 32;
            if !io || cx.st.fd.is_none() || ev.direction() != Direction::Exit {
                return None;
            }
            let res = return_value(ev)?;
            (res >= 0).then_some(Value::U64(res as u64))
        }
        EvtCount => Some(Value::U64(1)),
        EvtHostname => Some(text(&cx.stream.hostname)),
        EvtSource => Some(text("syscall")),
        EvtPluginname => None,
        // DNS names of socket addresses: peregrine resolves none.
        FdCipName | FdSipName | FdLipName | FdRipName => None,
        // Kubernetes metadata comes from a plugin in Falco 0.44.
        K8sNsName | K8sPodName => None,
        _ => extract_state(field, cx),
    }
}

fn extract_state<'a>(field: &Field, cx: &Ctx<'a>) -> Option<Value<'a>> {
    use FieldId::*;
    let id = field.def.id;
    let state = cx.st.state;
    match id {
        ThreadTid => return Some(Value::I64(cx.ev.tid() as i64)),
        _ if is_fd_field(id) => return extract_fd(field, cx),
        ContainerId
        | ContainerName
        | ContainerImage
        | ContainerImageRepository
        | ContainerImageTag
        | ContainerType
        | ContainerPrivileged
        | ContainerInfo
        | ContainerMountDest
        | ContainerMounts
        | ContainerStartTs => {
            return extract_container(id, cx);
        }
        _ => {}
    }
    let t = cx.st.thread?;
    let info = &t.info;
    match id {
        ProcName => Some(text(&info.comm)),
        ProcExe => Some(text(&info.exe)),
        ProcExepath => Some(text(&info.exepath)),
        ProcArgs => owned(info.args.joined()),
        ProcCmdline => owned(cmdline(t)),
        ProcCmdnargs => Some(Value::U64(info.args.len() as u64)),
        ProcExeline => {
            let mut s = info.exe.clone();
            s.push(' ');
            s.push_str(&info.args.join(" "));
            owned(s)
        }
        ProcEnv => match &field.arg {
            FieldArg::Name(key) => Some(Value::Str(info.env.value_of(key).unwrap_or_default())),
            _ => owned(info.env.joined()),
        },
        ProcCwd => Some(text(state.cwd(t))),
        ProcTty => Some(Value::U64(info.tty as u64)),
        ProcPid => Some(Value::I64(t.pid)),
        ProcPpid | ProcPname | ProcPexe | ProcPexepath | ProcPcmdline => {
            let p = ancestor(state, t, 1)?;
            Some(match id {
                ProcPpid => Value::I64(p.pid),
                ProcPname => text(&p.info.comm),
                ProcPexe => text(&p.info.exe),
                ProcPexepath => text(&p.info.exepath),
                _ => Value::Str(Cow::Owned(cmdline(p))),
            })
        }
        ProcVpid => (t.vpid != -1).then_some(Value::I64(t.vpid)),
        ProcPvpid => Some(Value::I64(ancestor(state, t, 1)?.vpid)),
        ProcSid => Some(Value::I64(info.sid)),
        ProcVpgid => Some(Value::I64(info.vpgid)),
        ProcSname | ProcVpgidName | ProcVpgidExe => {
            let target = if id == ProcSname {
                info.sid
            } else {
                info.vpgid
            };
            let leader = std::iter::once(main_of(state, t))
                .chain(state.ancestors(main_of(state, t)))
                .find(|a| a.pid == target)?;
            Some(if id == ProcVpgidExe {
                text(&leader.info.exe)
            } else {
                text(&leader.info.comm)
            })
        }
        ProcIsVpgidLeader => Some(Value::Bool(t.vpid == info.vpgid)),
        ProcIsSidLeader => Some(Value::Bool(t.vpid == info.sid)),
        ProcLoginshellid => {
            let mut found = None;
            for a in std::iter::once(main_of(state, t)).chain(state.ancestors(main_of(state, t))) {
                if a.info.comm.ends_with("sh") {
                    found = Some(a.pid);
                }
            }
            found.map(Value::I64)
        }
        ProcAname | ProcAexe | ProcAexepath | ProcApid => {
            let pick = |a: &'a Thread| -> Value<'a> {
                match id {
                    ProcAname => text(&a.info.comm),
                    ProcAexe => text(&a.info.exe),
                    ProcAexepath => text(&a.info.exepath),
                    _ => Value::I64(a.pid),
                }
            };
            match &field.arg {
                FieldArg::Index(n) => Some(pick(ancestor(state, t, *n)?)),
                _ => {
                    // Without an index: every ancestor, space separated.
                    let mut out = String::new();
                    let mut n = 1;
                    while let Some(a) = ancestor(state, t, n) {
                        if !out.is_empty() {
                            out.push(' ');
                        }
                        pick(a).render(&mut out);
                        n += 1;
                        if n > 256 {
                            break;
                        }
                    }
                    (!out.is_empty()).then_some(Value::Str(Cow::Owned(out)))
                }
            }
        }
        ProcDuration => {
            (t.clone_ts != 0).then(|| Value::U64(cx.ev.ts().saturating_sub(t.clone_ts)))
        }
        ProcPpidDuration => {
            let p = ancestor(state, t, 1)?;
            Some(Value::U64(if p.clone_ts == 0 {
                0
            } else {
                cx.ev.ts().saturating_sub(p.clone_ts)
            }))
        }
        ProcIsExeWritable => Some(Value::Bool(info.exe_writable)),
        ProcIsExeUpperLayer => Some(Value::Bool(info.exe_upper_layer)),
        ProcIsExeLowerLayer => Some(Value::Bool(info.exe_lower_layer)),
        ProcIsExeFromMemfd => Some(Value::Bool(info.exe_from_memfd)),
        ProcExeIno => Some(Value::I64(info.exe_ino as i64)),
        ProcExeInoCtime => Some(Value::U64(info.exe_ino_ctime)),
        ProcExeInoMtime => Some(Value::U64(info.exe_ino_mtime)),
        ProcExeInoCtimeDurationProcStart => (info.exe_ino_ctime != 0 && t.clone_ts != 0)
            .then(|| Value::U64(t.clone_ts.saturating_sub(info.exe_ino_ctime))),
        ProcFdlimit => Some(Value::I64(info.fdlimit)),
        ProcVmsize | ProcVmrss | ProcVmswap => None,
        ThreadVtid => (t.vtid != -1).then_some(Value::I64(t.vtid)),
        ThreadIsmain => Some(Value::Bool(t.is_main_thread())),
        ThreadCapPermitted => owned(caps_text(info.cap_permitted)),
        ThreadCapEffective => owned(caps_text(info.cap_effective)),
        ThreadCapInheritable => owned(caps_text(info.cap_inheritable)),
        UserUid => Some(Value::U64(info.uid as u64)),
        UserName | UserHomedir | UserShell => {
            let u = state.user(info.uid);
            Some(match (id, u) {
                (UserName, Some(u)) => text(&u.name),
                (UserHomedir, Some(u)) => text(&u.homedir),
                (UserShell, Some(u)) => text(&u.shell),
                _ => text("<NA>"),
            })
        }
        UserLoginuid => Some(Value::I64(info.loginuid as i32 as i64)),
        UserLoginname => {
            if info.loginuid == u32::MAX {
                return Some(text("<NA>"));
            }
            Some(text(
                state
                    .user(info.loginuid)
                    .map_or("<NA>", |u| u.name.as_str()),
            ))
        }
        GroupGid => Some(Value::U64(info.gid as u64)),
        GroupName => Some(text(
            state.group(info.gid).map_or("<NA>", |g| g.name.as_str()),
        )),
        _ => None,
    }
}

fn extract_container<'a>(id: FieldId, cx: &Ctx<'a>) -> Option<Value<'a>> {
    use FieldId::*;
    let cid = cx.st.container_id()?;
    let host = cid == peregrine_state::container::HOST;
    if host {
        return match id {
            ContainerId | ContainerName | ContainerType | ContainerInfo => Some(text("host")),
            _ => None,
        };
    }
    let meta = cx.st.state.container(cid);
    match id {
        ContainerId => Some(text(cid)),
        ContainerInfo => Some(text(cid)),
        // without metadata the engine is only guessed from the cgroup
        ContainerType => Some(text(meta.map_or("docker", |m| m.type_str()))),
        ContainerName => Some(text(&meta?.name)),
        ContainerImage => Some(text(&meta?.image)),
        ContainerImageRepository => Some(text(&meta?.image_repo)),
        ContainerImageTag => Some(text(&meta?.image_tag)),
        ContainerPrivileged => Some(Value::Bool(meta?.privileged?)),
        // The container metadata the state keeps has no mounts and no
        // start time.
        ContainerMountDest | ContainerMounts | ContainerStartTs => None,
        _ => None,
    }
}

fn extract_fd<'a>(field: &Field, cx: &Ctx<'a>) -> Option<Value<'a>> {
    use FieldId::*;
    let id = field.def.id;
    let fd = event_fd(cx)?;
    if id == FdNum {
        return cx.st.fd_num.map(Value::I64);
    }
    let state = cx.st.state;
    match id {
        FdName => match fd {
            Some(f) => Some(text(&f.name)),
            None => owned(fdname_from_event(cx, false)?),
        },
        FdNameraw => match fd {
            Some(f) => Some(text(&f.name_raw)),
            None => owned(fdname_from_event(cx, true)?),
        },
        FdType | FdTypes => Some(text(fd?.fd_type.type_str()?)),
        FdTypechar => {
            let c = fd.map_or_else(|| typechar_from_event(cx.ev.code()), |f| f.type_char());
            Some(match one_char_str(c) {
                Some(s) => text(s),
                None => Value::Str(Cow::Owned(c.to_string())),
            })
        }
        FdDirectory => match fd {
            Some(f) if matches!(f.fd_type, Kind::File | Kind::Directory) => {
                if f.fd_type != Kind::File {
                    return Some(text(&f.name));
                }
                Some(text(directory_of(&f.name)))
            }
            Some(_) => None,
            None => {
                let name = fdname_from_event(cx, false)?;
                let dir = directory_of(&name);
                if dir.len() == name.len() {
                    owned(name)
                } else {
                    owned(dir.to_string())
                }
            }
        },
        FdFilename => {
            let f = fd?;
            if f.fd_type != Kind::File {
                return None;
            }
            match f.name.rfind('/') {
                Some(pos) if pos < f.name.len() - 1 => Some(text(&f.name[pos + 1..])),
                Some(_) => Some(text(&f.name)),
                None => Some(text("/")),
            }
        }
        FdCip | FdCnet => {
            let f = fd?;
            if f.role == Role::None {
                return None;
            }
            Some(Value::Ip(tuple(f)?.0))
        }
        FdSip | FdSnet => {
            let f = fd?;
            if f.role == Role::None {
                return None;
            }
            match tuple(f) {
                Some(t) => Some(Value::Ip(t.2)),
                None => Some(Value::Ip(server_end(f)?.0)),
            }
        }
        FdIp | FdNet => {
            let f = fd?;
            Some(Value::Ip(
                tuple(f).map(|t| t.2).or(server_end(f).map(|s| s.0))?,
            ))
        }
        FdLip | FdLnet => Some(Value::Ip(local_remote(state, fd?)?.0)),
        FdRip | FdRnet => Some(Value::Ip(local_remote(state, fd?)?.2)),
        FdCport => {
            let f = fd?;
            if f.role == Role::None {
                return None;
            }
            Some(Value::U64(tuple(f)?.1 as u64))
        }
        FdSport | FdPort => {
            let f = fd?;
            match tuple(f) {
                Some(t) if f.role != Role::None => Some(Value::U64(t.3 as u64)),
                Some(_) => None,
                None => Some(Value::U64(server_end(f)?.1 as u64)),
            }
        }
        FdLport => Some(Value::U64(local_remote(state, fd?)?.1 as u64)),
        FdRport => Some(Value::U64(local_remote(state, fd?)?.3 as u64)),
        FdL4proto => Some(text(fd?.l4proto().as_str().unwrap_or("<NA>"))),
        FdSockfamily => match fd?.fd_type {
            t if t.is_inet() => Some(text("ip")),
            Kind::UnixSock => Some(text("unix")),
            _ => None,
        },
        FdIsServer => {
            let f = fd?;
            Some(Value::Bool(match f.fd_type {
                Kind::Ipv4ServerSock | Kind::Ipv6ServerSock => true,
                Kind::Ipv4Sock | Kind::Ipv6Sock => tuple(f).is_some_and(|t| is_local(state, t.2)),
                _ => false,
            }))
        }
        FdConnected => Some(Value::Bool(fd?.connected)),
        FdNameChanged => {
            fd?;
            Some(Value::Bool(false))
        }
        FdIno => Some(Value::I64(fd?.ino as i64)),
        FdDev => Some(Value::U64(fd?.dev as u64)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_char_strings() {
        for c in (0u8..128).map(char::from) {
            assert_eq!(one_char_str(c), Some(c.to_string().as_str()));
        }
        assert_eq!(one_char_str('é'), None);
    }

    #[test]
    fn directories() {
        assert_eq!(directory_of("/etc/passwd"), "/etc");
        assert_eq!(directory_of("/etc/"), "/etc/");
        assert_eq!(directory_of("/passwd"), "/");
        assert_eq!(directory_of("passwd"), "/");
        assert_eq!(directory_of("a/b"), "a");
    }
}

//! The state engine: applies each event to the tables that rules read —
//! threads and processes, file descriptors per process, users and groups,
//! container ids — before rules see the event.
//!
//! Handles both event streams: old captures with enter and exit events
//! (exit parameters missing from old versions are taken, by name, from the
//! thread's stored enter event) and current drivers' exit-only events.
//!
//! What rules read is kept in `Arc` snapshots ([`ProcessInfo`],
//! [`FdInfo`]) replaced (copy on write) when changed, so an evaluator on
//! another thread may hold them while this one moves on.

pub mod container;
pub mod fd;
mod iface;
mod parse;
pub mod path;
pub mod thread;

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use peregrine_event::{Direction, EventFlags, EventView, ParamType, code};
use peregrine_scap::records::{
    FdAddress, FdKind, FdRecord, GroupRecord, InterfaceRecord, MachineInfo, ThreadRecord,
    UserRecord,
};

pub use fd::{FdInfo, FdType, IpAddr, L4Proto, Role, SockInfo};
pub use thread::{GroupInfo, ProcessInfo, Thread, UserInfo, flags};

/// Per-process tables shared by all threads of a process: the fd table and
/// the working directory (sinsp keeps both on the main thread).
#[derive(Debug, Default, Clone)]
pub struct Process {
    /// Open fds.
    pub fds: HashMap<i64, Arc<FdInfo>>,
    /// Working directory, always ending with `/` once known.
    pub cwd: String,
    nthreads: u32,
}

/// What the last processed event touched.
#[derive(Clone, Copy, Debug, Default)]
struct Current {
    tid: i64,
    fd: Option<i64>,
    enter_valid: bool,
}

/// Removals sinsp defers until after rules have seen the event.
#[derive(Clone, Copy, Debug, Default)]
struct Pending {
    fd: Option<(i64, i64)>,
    thread: Option<i64>,
}

/// The state tables and the parsers that update them.
#[derive(Debug, Default)]
pub struct State {
    threads: HashMap<i64, Thread>,
    procs: HashMap<i64, Process>,
    users: HashMap<u32, UserInfo>,
    groups: HashMap<u32, GroupInfo>,
    interfaces: Vec<InterfaceRecord>,
    containers: container::Containers,
    machine: Option<MachineInfo>,
    cur: Current,
    pending: Pending,
    scratch: String,
    cgroups_cache: thread::CgroupsCache,
}

/// Everything field extractors need about the event just processed.
#[derive(Clone, Copy)]
pub struct EventContext<'s> {
    /// The state, for lookups (parents, users, other fds).
    pub state: &'s State,
    /// Thread that generated the event, if known.
    pub thread: Option<&'s Thread>,
    /// fd number the event uses or created (`fd.num`), if any.
    pub fd_num: Option<i64>,
    /// That fd's info (still present for `close`, whose removal is deferred).
    pub fd: Option<&'s FdInfo>,
    /// The matching enter event, for exit events of old captures.
    pub enter: Option<EventView<'s>>,
}

impl<'s> EventContext<'s> {
    /// Parent of the event's thread.
    pub fn parent(&self) -> Option<&'s Thread> {
        self.state.parent_of(self.thread?)
    }

    /// Working directory of the event's process.
    pub fn cwd(&self) -> Option<&'s str> {
        Some(self.state.cwd(self.thread?))
    }

    /// User of the event's thread.
    pub fn user(&self) -> Option<&'s UserInfo> {
        self.state.user(self.thread?.info.uid)
    }

    /// Group of the event's thread.
    pub fn group(&self) -> Option<&'s GroupInfo> {
        self.state.group(self.thread?.info.gid)
    }

    /// Container id of the event's thread (`"host"` outside containers;
    /// `None` without a thread).
    pub fn container_id(&self) -> Option<&'s str> {
        self.thread.map(|t| t.info.container_id.as_str())
    }
}

/// Iterator over a thread's ancestors (parent first), stopping at an
/// unknown parent or after a loop-guard of 256 steps.
pub struct Ancestors<'s> {
    state: &'s State,
    cur: Option<&'s Thread>,
    steps: u32,
}

impl<'s> Iterator for Ancestors<'s> {
    type Item = &'s Thread;

    fn next(&mut self) -> Option<&'s Thread> {
        if self.steps >= 256 {
            return None;
        }
        self.steps += 1;
        let p = self.state.parent_of(self.cur?)?;
        self.cur = Some(p);
        Some(p)
    }
}

impl State {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    // ------------------------------------------------------------------
    // Lookups

    /// Thread `tid`.
    pub fn thread(&self, tid: i64) -> Option<&Thread> {
        self.threads.get(&tid)
    }

    /// Number of threads known.
    pub fn thread_count(&self) -> usize {
        self.threads.len()
    }

    /// All threads, in no order.
    pub fn threads(&self) -> impl Iterator<Item = &Thread> {
        self.threads.values()
    }

    /// The thread group leader of `t`'s process, if known.
    pub fn main_thread<'s>(&'s self, t: &'s Thread) -> Option<&'s Thread> {
        if t.is_main_thread() {
            Some(t)
        } else {
            self.threads.get(&t.pid)
        }
    }

    /// Parent (`proc.ppid`'s thread) of `t`: the thread `t.ptid`.
    pub fn parent_of<'s>(&'s self, t: &Thread) -> Option<&'s Thread> {
        if t.ptid < 0 || t.ptid == t.tid {
            return None;
        }
        self.threads.get(&t.ptid)
    }

    /// Ancestors of `t`, parent first (`proc.aname[N]` is the N-th, from 1).
    pub fn ancestors<'s>(&'s self, t: &'s Thread) -> Ancestors<'s> {
        Ancestors {
            state: self,
            cur: Some(t),
            steps: 0,
        }
    }

    /// The per-process tables of process `pid`.
    pub fn process_tables(&self, pid: i64) -> Option<&Process> {
        self.procs.get(&pid)
    }

    /// Metadata of container `id` (short id), from the capture's
    /// container events.
    pub fn container(&self, id: &str) -> Option<&container::ContainerInfo> {
        self.containers.get(id)
    }

    /// Working directory of `t`'s process (empty when unknown).
    pub fn cwd(&self, t: &Thread) -> &str {
        self.procs.get(&t.pid).map_or("", |p| p.cwd.as_str())
    }

    /// fd `fd` of thread `tid`'s process.
    pub fn fd_of(&self, tid: i64, fd: i64) -> Option<&Arc<FdInfo>> {
        let t = self.threads.get(&tid)?;
        self.procs.get(&t.pid)?.fds.get(&fd)
    }

    /// User `uid`.
    pub fn user(&self, uid: u32) -> Option<&UserInfo> {
        self.users.get(&uid)
    }

    /// Group `gid`.
    pub fn group(&self, gid: u32) -> Option<&GroupInfo> {
        self.groups.get(&gid)
    }

    /// Network interfaces from the capture.
    pub fn interfaces(&self) -> &[InterfaceRecord] {
        &self.interfaces
    }

    /// Machine description from the capture.
    pub fn machine_info(&self) -> Option<&MachineInfo> {
        self.machine.as_ref()
    }

    /// The context of the event last given to [`State::process`]: its
    /// thread, its fd (as it was before a `close`), its enter event.
    pub fn context(&self) -> EventContext<'_> {
        let thread = self.threads.get(&self.cur.tid);
        let fd = match (thread, self.cur.fd) {
            (Some(t), Some(n)) => self
                .procs
                .get(&t.pid)
                .and_then(|p| p.fds.get(&n))
                .map(|a| &**a),
            _ => None,
        };
        let enter = match thread {
            // a copy of an event checked when it was processed
            Some(t) if self.cur.enter_valid => EventView::parse_prechecked(&t.last_enter).ok(),
            _ => None,
        };
        EventContext {
            state: self,
            thread,
            fd_num: self.cur.fd,
            fd,
            enter,
        }
    }

    /// A context without the event's thread, fd or enter event, for
    /// fields that read none of them (cheaper than [`State::context`]).
    #[inline]
    pub fn bare_context(&self) -> EventContext<'_> {
        EventContext {
            state: self,
            thread: None,
            fd_num: None,
            fd: None,
            enter: None,
        }
    }

    // ------------------------------------------------------------------
    // Seeding from capture metadata or a /proc scan

    /// Adds (or replaces) a thread from the process list.
    pub fn load_thread(&mut self, r: ThreadRecord) {
        let tid = r.tid as i64;
        let pid = r.pid as i64;
        let mut info = ProcessInfo {
            comm: r.comm,
            exe: r.exe,
            exepath: r.exepath,
            args: r.args.into(),
            env: r.env.into(),
            root: r.root,
            tty: r.tty,
            loginuid: r.loginuid,
            uid: r.uid,
            gid: r.gid,
            cap_inheritable: r.cap_inheritable,
            cap_permitted: r.cap_permitted,
            cap_effective: r.cap_effective,
            sid: r.sid as i64,
            vpgid: r.vpgid as i64,
            pgid: r.pgid as i64,
            fdlimit: r.fdlimit,
            exe_writable: r.exe_writable,
            exe_upper_layer: r.exe_upper_layer,
            exe_lower_layer: r.exe_lower_layer,
            exe_from_memfd: r.exe_from_memfd,
            exe_ino: r.exe_ino,
            exe_ino_ctime: r.exe_ino_ctime,
            exe_ino_mtime: r.exe_ino_mtime,
            pidns_init_start_ts: r.pidns_init_start_ts,
            ..Default::default()
        };
        info.set_cgroups(r.cgroups);
        let mut t = Thread::with_info(tid, pid, r.ptid as i64, Arc::new(info));
        t.vtid = if r.vtid != 0 { r.vtid } else { tid };
        t.vpid = if r.vpid != 0 { r.vpid } else { pid };
        t.clone_ts = r.clone_ts;
        t.flags = r.flags | flags::ACTIVE;
        if tid != pid {
            t.flags |= flags::CLONE_THREAD | flags::CLONE_FILES;
        }
        self.remove_thread_now(tid);
        self.attach(pid);
        if !r.cwd.is_empty()
            && let Some(p) = self.procs.get_mut(&pid)
            && (tid == pid || p.cwd.is_empty())
        {
            p.cwd = path::update_cwd("", &r.cwd);
        }
        self.threads.insert(tid, t);
    }

    /// Adds an fd of process `pid` from an fd list.
    pub fn load_fd(&mut self, pid: i64, r: FdRecord) {
        let fd_type = match r.kind {
            FdKind::File | FdKind::FileV2 => FdType::File,
            FdKind::Directory => FdType::Directory,
            FdKind::Ipv4Sock => FdType::Ipv4Sock,
            FdKind::Ipv6Sock => FdType::Ipv6Sock,
            FdKind::Ipv4Server => FdType::Ipv4ServerSock,
            FdKind::Ipv6Server => FdType::Ipv6ServerSock,
            FdKind::Fifo => FdType::Fifo,
            FdKind::UnixSock => FdType::UnixSock,
            FdKind::Event => FdType::Event,
            FdKind::Signalfd => FdType::Signalfd,
            FdKind::Eventpoll => FdType::Eventpoll,
            FdKind::Inotify => FdType::Inotify,
            FdKind::Timerfd => FdType::Timerfd,
            FdKind::Netlink => FdType::Netlink,
            FdKind::Bpf => FdType::Bpf,
            FdKind::Userfaultfd => FdType::Userfaultfd,
            FdKind::Iouring => FdType::IoUring,
            FdKind::Memfd => FdType::Memfd,
            FdKind::Pidfd => FdType::Pidfd,
            FdKind::Unsupported => FdType::Unsupported,
            FdKind::Uninitialized | FdKind::Unknown | FdKind::Other(_) => FdType::Unknown,
        };
        let mut fi = FdInfo::new(fd_type);
        fi.ino = r.ino;
        match r.address {
            FdAddress::Ipv4 {
                sip,
                dip,
                sport,
                dport,
                l4proto,
            } => {
                fi.sock = SockInfo::Ipv4 {
                    sip,
                    sport,
                    dip,
                    dport,
                    l4proto: L4Proto::from_scap(l4proto),
                };
                fi.connected = l4proto == 1;
            }
            FdAddress::Ipv6 {
                sip,
                dip,
                sport,
                dport,
                l4proto,
            } => {
                fi.sock = SockInfo::Ipv6 {
                    sip,
                    sport,
                    dip,
                    dport,
                    l4proto: L4Proto::from_scap(l4proto),
                };
                fi.connected = l4proto == 1;
            }
            FdAddress::Ipv4Server { ip, port, l4proto } => {
                fi.sock = SockInfo::Ipv4Server {
                    ip,
                    port,
                    l4proto: L4Proto::from_scap(l4proto),
                };
                fi.role = Role::Server;
            }
            FdAddress::Ipv6Server { ip, port, l4proto } => {
                fi.sock = SockInfo::Ipv6Server {
                    ip,
                    port,
                    l4proto: L4Proto::from_scap(l4proto),
                };
                fi.role = Role::Server;
            }
            FdAddress::Unix { source, dest, path } => {
                fi.name = path.clone();
                fi.sock = SockInfo::Unix { source, dest, path };
            }
            FdAddress::File {
                name,
                open_flags,
                mount_id,
                dev,
            } => {
                fi.name_raw = name.clone();
                fi.name = name;
                fi.open_flags = open_flags;
                fi.mount_id = mount_id;
                fi.dev = dev;
            }
            FdAddress::Name(n) => fi.name = n,
        }
        if matches!(
            fi.sock,
            SockInfo::Ipv4 { .. }
                | SockInfo::Ipv6 { .. }
                | SockInfo::Ipv4Server { .. }
                | SockInfo::Ipv6Server { .. }
        ) {
            let mut s = String::new();
            fd::sock_name(&fi.sock, &mut s);
            fi.name = s;
        }
        self.procs
            .entry(pid)
            .or_default()
            .fds
            .insert(r.fd, Arc::new(fi));
    }

    /// Adds a user.
    pub fn load_user(&mut self, r: UserRecord) {
        self.users.insert(
            r.uid,
            UserInfo {
                uid: r.uid,
                gid: r.gid,
                name: r.name,
                homedir: r.homedir,
                shell: r.shell,
            },
        );
    }

    /// Adds a group.
    pub fn load_group(&mut self, r: GroupRecord) {
        self.groups.insert(
            r.gid,
            GroupInfo {
                gid: r.gid,
                name: r.name,
            },
        );
    }

    /// Sets the network interfaces.
    pub fn load_interfaces(&mut self, list: Vec<InterfaceRecord>) {
        self.interfaces = list;
    }

    /// Sets the machine description.
    pub fn set_machine_info(&mut self, mi: MachineInfo) {
        self.machine = Some(mi);
    }

    // ------------------------------------------------------------------
    // Event processing

    /// Applies `ev` to the tables. Call [`State::context`] afterwards for
    /// what field extractors read. Removals caused by `close` and
    /// `procexit` take effect at the start of the next call (or at
    /// [`State::flush`]), so rules still see the closed fd / exiting thread.
    pub fn process(&mut self, ev: &EventView<'_>) {
        self.flush();
        let tid = ev.tid() as i64;
        self.cur = Current {
            tid,
            fd: None,
            enter_valid: false,
        };
        let info = ev.info();
        let code = ev.code();
        let facts = code_facts(code);
        let kind = facts.kind;
        if kind == Kind::Threadless {
            parse::handle_threadless(self, ev);
            return;
        }
        if info.flags.has(EventFlags::SKIPPARSERESET) {
            return;
        }
        // context switches never touch a thread's enter/exit pairing
        if kind == Kind::Switch {
            return;
        }
        let is_syscall = info.category.0 & peregrine_event::Category::SYSCALL != 0;
        let creates = is_syscall && kind != Kind::Procexit;
        // One hash lookup for the thread, created if need be.
        let t = if creates {
            match self.threads.entry(tid) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    // a thread first seen: attach it to its own process
                    self.procs.entry(tid).or_default().nthreads += 1;
                    let mut t = Thread::unknown(tid);
                    t.flags |= flags::ACTIVE;
                    v.insert(t)
                }
            }
        } else {
            let Some(t) = self.threads.get_mut(&tid) else {
                return;
            };
            t
        };
        let uses_fd = info.flags.has(EventFlags::USES_FD);
        let creates_fd = info.flags.has(EventFlags::CREATES_FD);
        match ev.direction() {
            Direction::Enter => {
                t.last_code = Some(code);
                t.last_fd = -1;
                if uses_fd
                    && let Some(fd) = facts.enter_fd.and_then(|i| ev.param_int(i.into(), true))
                {
                    t.last_fd = fd;
                }
                t.last_enter.clear();
                t.last_enter.extend_from_slice(ev.bytes());
                if uses_fd || creates_fd {
                    self.cur.fd = Some(t.last_fd);
                }
                if kind == Kind::Procexit {
                    parse::procexit(self, tid);
                }
            }
            Direction::Exit => {
                let valid = match t.last_code {
                    Some(c) => {
                        c + 1 == code
                            || (c == peregrine_event::code::SYSCALL_EXECVEAT_E
                                && kind == Kind::Execve)
                    }
                    None => false,
                };
                t.last_code = None;
                if !valid {
                    t.last_fd = -1;
                }
                if creates_fd {
                    self.cur.fd = Some(t.last_fd);
                }
                if uses_fd {
                    if t.last_fd == -1
                        && let Some(fd) = facts.exit_fd.and_then(|i| ev.param_int(i.into(), true))
                    {
                        t.last_fd = fd;
                    }
                    self.cur.fd = Some(t.last_fd);
                }
                self.cur.enter_valid = valid;
                let buf = std::mem::take(&mut t.last_enter);
                let enter = if valid {
                    // a copy of an event checked when it was processed
                    EventView::parse_prechecked(&buf).ok()
                } else {
                    None
                };
                parse::exit(self, ev, enter.as_ref(), tid, facts.op);
                if let Some(t) = self.threads.get_mut(&tid) {
                    t.last_enter = buf;
                } else {
                    self.cur.enter_valid = false;
                }
            }
        }
    }

    /// Applies deferred removals (closed fds, exited threads) now.
    #[inline]
    pub fn flush(&mut self) {
        // Most events leave nothing pending.
        if self.pending.fd.is_some() || self.pending.thread.is_some() {
            self.flush_pending();
        }
    }

    #[cold]
    fn flush_pending(&mut self) {
        if let Some((pid, fd)) = self.pending.fd.take()
            && let Some(p) = self.procs.get_mut(&pid)
        {
            p.fds.remove(&fd);
        }
        if let Some(tid) = self.pending.thread.take() {
            self.remove_thread_now(tid);
        }
    }

    // ------------------------------------------------------------------
    // Internal helpers

    fn attach(&mut self, pid: i64) {
        self.procs.entry(pid).or_default().nthreads += 1;
    }

    fn detach(&mut self, pid: i64) {
        if let Some(p) = self.procs.get_mut(&pid) {
            p.nthreads = p.nthreads.saturating_sub(1);
            if p.nthreads == 0 {
                self.procs.remove(&pid);
            }
        }
    }

    fn remove_thread_now(&mut self, tid: i64) {
        if let Some(t) = self.threads.remove(&tid) {
            self.detach(t.pid);
        }
    }

    /// Moves thread `tid` to process `pid` (its fd table and cwd).
    fn set_pid(&mut self, tid: i64, pid: i64) {
        let Some(old) = self.threads.get(&tid).map(|t| t.pid) else {
            return;
        };
        if old == pid {
            return;
        }
        self.attach(pid);
        // carry the temporary process's fds and cwd when the new one has none
        if let Some(op) = self.procs.get(&old).cloned() {
            let np = self.procs.entry(pid).or_default();
            if np.cwd.is_empty() {
                np.cwd = op.cwd.clone();
            }
            if np.fds.is_empty() && op.nthreads == 1 {
                np.fds = op.fds;
            }
        }
        self.detach(old);
        if let Some(t) = self.threads.get_mut(&tid) {
            t.pid = pid;
        }
    }

    fn proc_of(&self, tid: i64) -> Option<&Process> {
        self.procs.get(&self.threads.get(&tid)?.pid)
    }

    fn proc_of_mut(&mut self, tid: i64) -> Option<&mut Process> {
        let pid = self.threads.get(&tid)?.pid;
        self.procs.get_mut(&pid)
    }

    fn add_fd(&mut self, tid: i64, fd: i64, fi: FdInfo) {
        if let Some(p) = self.proc_of_mut(tid) {
            p.fds.insert(fd, Arc::new(fi));
            self.cur.fd = Some(fd);
        }
    }

    fn fd_mut(&mut self, tid: i64, fd: i64) -> Option<&mut FdInfo> {
        self.proc_of_mut(tid)?.fds.get_mut(&fd).map(Arc::make_mut)
    }
}

/// What [`State::process`] needs to know of an event code beyond its flags.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Other,
    Switch,
    Procexit,
    Execve,
    /// User, group and container table events (no thread).
    Threadless,
}

/// Facts about one event code, from the event table, computed once.
#[derive(Clone, Copy)]
struct CodeFacts {
    kind: Kind,
    /// The exit parser.
    op: parse::Op,
    /// Index of the fd an enter event uses: its `fd` parameter, else its
    /// first fd-typed one.
    enter_fd: Option<u8>,
    /// Index of the fd an exit event uses when its enter event is
    /// missing: `fd`, else `oldfd`.
    exit_fd: Option<u8>,
}

const UNKNOWN_CODE: CodeFacts = CodeFacts {
    kind: Kind::Other,
    op: parse::Op::None,
    enter_fd: None,
    exit_fd: None,
};

/// The [`CodeFacts`] of every event code, from the names in the event
/// table (so that every version of an event is covered), computed once.
#[inline]
fn code_facts(code: u16) -> CodeFacts {
    static FACTS: std::sync::OnceLock<Vec<CodeFacts>> = std::sync::OnceLock::new();
    let facts = FACTS.get_or_init(|| {
        (0..=u16::MAX)
            .map_while(|c| Some((c, peregrine_event::event_info(c)?)))
            .map(|(c, i)| {
                let threadless = matches!(
                    c,
                    code::USER_ADDED_E
                        | code::USER_DELETED_E
                        | code::GROUP_ADDED_E
                        | code::GROUP_DELETED_E
                        | code::USER_ADDED_X
                        | code::USER_DELETED_X
                        | code::GROUP_ADDED_X
                        | code::GROUP_DELETED_X
                        | code::CONTAINER_E
                        | code::CONTAINER_JSON_E
                        | code::CONTAINER_JSON_2_E
                        | code::CONTAINER_X
                        | code::CONTAINER_JSON_X
                        | code::CONTAINER_JSON_2_X
                );
                let small = |i: Option<usize>| i.and_then(|i| u8::try_from(i).ok());
                CodeFacts {
                    kind: match i.name {
                        _ if threadless => Kind::Threadless,
                        "switch" => Kind::Switch,
                        "procexit" => Kind::Procexit,
                        "execve" => Kind::Execve,
                        _ => Kind::Other,
                    },
                    op: parse::Op::of(i.name),
                    enter_fd: small(
                        i.param_index("fd")
                            .or_else(|| i.params.iter().position(|p| p.ptype == ParamType::Fd)),
                    ),
                    exit_fd: small(i.param_index("fd").or_else(|| i.param_index("oldfd"))),
                }
            })
            .collect()
    });
    facts.get(code as usize).copied().unwrap_or(UNKNOWN_CODE)
}

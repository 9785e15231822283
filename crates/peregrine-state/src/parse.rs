//! Event parsers: one per syscall family, reading parameters by name so
//! that every event version works (missing exit parameters come from the
//! stored enter event).

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use peregrine_event::{EventView, code, event_info, read_int};

use crate::fd::{
    self, AF_INET, AF_INET6, AF_NETLINK, AF_UNIX, FdInfo, FdType, L4Proto, PPM_FD_LOWER_LAYER,
    PPM_FD_UPPER_LAYER, PPM_O_CLOEXEC, PPM_O_DIRECTORY, PPM_O_F_CREATED, Role, SockAddr, SockInfo,
    SockTuple,
};
use crate::path::{concatenate_paths, update_cwd};
use crate::thread::{CgroupsCache, GroupInfo, NulList, ProcessInfo, Thread, UserInfo, flags};
use crate::{State, container};

/// Parameters of an exit event, each falling back to the same-named
/// parameter of its enter event.
#[derive(Clone, Copy)]
struct Args<'a, 'b> {
    ev: &'b EventView<'a>,
    enter: Option<&'b EventView<'a>>,
}

fn nonempty(p: Option<&[u8]>) -> Option<&[u8]> {
    p.filter(|b| !b.is_empty())
}

fn cstr(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(n) => &b[..n],
        None => b,
    }
}

pub(crate) fn lossy(b: &[u8]) -> String {
    // valid UTF-8 (nearly always) is checked faster than it is repaired
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// Declares [`Param`] from `Variant = "schema name"` pairs.
macro_rules! params {
    ($($variant:ident = $name:literal,)*) => {
        /// A parameter the parsers read, named as in the driver schema.
        /// Where it sits differs between event versions; [`slots`] knows.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Param {
            $($variant,)*
        }

        impl Param {
            /// Every parameter, in declaration order.
            #[cfg(test)]
            const ALL: [Param; Param::COUNT] = [$(Param::$variant,)*];
            /// Number of parameters.
            const COUNT: usize = [$($name,)*].len();

            /// The parameter called `name` in the schema.
            fn of(name: &str) -> Option<Param> {
                match name {
                    $($name => Some(Param::$variant),)*
                    _ => None,
                }
            }

            /// Its name in the schema.
            #[cfg(test)]
            fn name(self) -> &'static str {
                match self {
                    $(Param::$variant => $name,)*
                }
            }
        }
    };
}

params! {
    Addr = "addr",
    Arg = "arg",
    Args = "args",
    CapEffective = "cap_effective",
    CapInheritable = "cap_inheritable",
    CapPermitted = "cap_permitted",
    Cgroups = "cgroups",
    Cmd = "cmd",
    Comm = "comm",
    CreatFlags = "creat_flags",
    Cwd = "cwd",
    Dev = "dev",
    Dirfd = "dirfd",
    Domain = "domain",
    Egid = "egid",
    Env = "env",
    Euid = "euid",
    Exe = "exe",
    ExeIno = "exe_ino",
    ExeInoCtime = "exe_ino_ctime",
    ExeInoMtime = "exe_ino_mtime",
    Fd1 = "fd1",
    Fd2 = "fd2",
    Fdlimit = "fdlimit",
    Filename = "filename",
    Flags = "flags",
    Gid = "gid",
    Ino = "ino",
    Loginuid = "loginuid",
    Name = "name",
    Path = "path",
    Pathname = "pathname",
    Peer = "peer",
    Pgid = "pgid",
    Pid = "pid",
    PidFd = "pid_fd",
    Proto = "proto",
    Ptid = "ptid",
    Source = "source",
    TargetFd = "target_fd",
    TrustedExepath = "trusted_exepath",
    Tty = "tty",
    Tuple = "tuple",
    Type = "type",
    Uid = "uid",
    Vpgid = "vpgid",
    Vpid = "vpid",
    Vtid = "vtid",
}

/// Index of each [`Param`] in one event code's parameter list (`None`
/// when the code has no parameter of that name).
type Slots = [Option<u8>; Param::COUNT];

/// The [`Slots`] of event code `code`: what `EventInfo::param_index` says
/// for each [`Param`], worked out once for every code rather than by
/// comparing names on every event.
fn slots(code: u16) -> Option<&'static Slots> {
    static TABLE: OnceLock<Vec<Slots>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        (0..=u16::MAX)
            .map_while(event_info)
            .map(|info| {
                let mut row = [None; Param::COUNT];
                // backwards, so that the first of repeated names wins
                for (i, p) in info.params.iter().enumerate().rev() {
                    if let Some(param) = Param::of(p.name) {
                        row[param as usize] = u8::try_from(i).ok();
                    }
                }
                row
            })
            .collect()
    });
    table.get(usize::from(code))
}

/// Parameter `p` of `ev`, `None` when its version has no such parameter.
fn param_of<'a>(ev: &EventView<'a>, p: Param) -> Option<&'a [u8]> {
    let i = slots(ev.code())?[p as usize]?;
    ev.param(usize::from(i))
}

impl<'a> Args<'a, '_> {
    fn exit(&self, p: Param) -> Option<&'a [u8]> {
        nonempty(param_of(self.ev, p))
    }
    fn enter(&self, p: Param) -> Option<&'a [u8]> {
        nonempty(param_of(self.enter?, p))
    }
    fn get(&self, p: Param) -> Option<&'a [u8]> {
        self.exit(p).or_else(|| self.enter(p))
    }
    fn int(&self, p: Param) -> Option<i64> {
        read_int(self.get(p)?, true)
    }
    fn uint(&self, p: Param) -> Option<u64> {
        read_int(self.get(p)?, false).map(|v| v as u64)
    }
    fn u32(&self, p: Param) -> Option<u32> {
        self.uint(p).map(|v| v as u32)
    }
    fn str(&self, p: Param) -> Option<&'a [u8]> {
        self.get(p).map(cstr)
    }
    /// Syscall result: parameter 0 of the exit event.
    fn res(&self) -> i64 {
        self.ev.param_int(0, true).unwrap_or(-1)
    }
}

/// Events that do not belong to a thread (user/group table changes).
pub(crate) fn handle_threadless(st: &mut State, ev: &EventView<'_>) -> bool {
    let c = ev.code();
    let int = |i| ev.param_int(i, false).map(|v| v as u32);
    let s = |i| ev.param_str(i).map(lossy).unwrap_or_default();
    match c {
        code::USER_ADDED_E => {
            if let Some(uid) = int(0) {
                let u = UserInfo {
                    uid,
                    gid: int(1).unwrap_or(0),
                    name: s(2),
                    homedir: s(3),
                    shell: s(4),
                };
                st.users.insert(uid, u);
            }
            true
        }
        code::USER_DELETED_E => {
            if let Some(uid) = int(0) {
                st.users.remove(&uid);
            }
            true
        }
        code::GROUP_ADDED_E => {
            if let Some(gid) = int(0) {
                st.groups.insert(gid, GroupInfo { gid, name: s(1) });
            }
            true
        }
        code::GROUP_DELETED_E => {
            if let Some(gid) = int(0) {
                st.groups.remove(&gid);
            }
            true
        }
        code::USER_ADDED_X | code::USER_DELETED_X | code::GROUP_ADDED_X | code::GROUP_DELETED_X => {
            true
        }
        code::CONTAINER_E => {
            let id = s(0);
            if !id.is_empty() {
                let info =
                    container::ContainerInfo::from_fields(id, int(1).unwrap_or(0), s(2), s(3));
                st.containers.insert(info);
            }
            true
        }
        code::CONTAINER_JSON_E | code::CONTAINER_JSON_2_E => {
            if let Some(json) = ev.param_str(0)
                && let Some(info) = container::ContainerInfo::from_json(cstr(json))
            {
                st.containers.insert(info);
            }
            true
        }
        code::CONTAINER_X | code::CONTAINER_JSON_X | code::CONTAINER_JSON_2_X => true,
        _ => false,
    }
}

/// What [`exit`] does for an event code: decided once per code from the
/// event's name (so that every version of an event is covered).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    None,
    Clone,
    Execve,
    Open,
    Socket,
    Bind,
    Connect,
    Accept,
    Close,
    Pipe,
    Socketpair,
    Eventfd,
    Signalfd,
    TimerfdCreate,
    Inotify,
    EpollCreate,
    Bpf,
    Userfaultfd,
    IoUringSetup,
    MemfdCreate,
    PidfdOpen,
    PidfdGetfd,
    Dup,
    Fcntl,
    Chdir,
    Fchdir,
    Getcwd,
    Setuid,
    Setresuid,
    Setgid,
    Setresgid,
    Capset,
    Setsid,
    Chroot,
    Unshare,
    /// Data transfer: `incoming` for reads; `send` for send/sendto/sendmsg
    /// (may create a socket); `tuple` for the calls sysdig 0.29 learns
    /// tuples from (recv, recvfrom, send, sendto).
    Rw {
        incoming: bool,
        send: bool,
        tuple: bool,
    },
}

impl Op {
    /// The exit parser of events named `name`.
    pub(crate) fn of(name: &str) -> Op {
        match name {
            "clone" | "fork" | "vfork" | "clone3" => Op::Clone,
            "execve" | "execveat" => Op::Execve,
            "open" | "openat" | "openat2" | "creat" | "open_by_handle_at" => Op::Open,
            "socket" => Op::Socket,
            "bind" => Op::Bind,
            "connect" => Op::Connect,
            "accept" | "accept4" => Op::Accept,
            "close" => Op::Close,
            "pipe" | "pipe2" => Op::Pipe,
            "socketpair" => Op::Socketpair,
            "eventfd" | "eventfd2" => Op::Eventfd,
            "signalfd" | "signalfd4" => Op::Signalfd,
            "timerfd_create" => Op::TimerfdCreate,
            "inotify_init" | "inotify_init1" => Op::Inotify,
            "epoll_create" | "epoll_create1" => Op::EpollCreate,
            "bpf" => Op::Bpf,
            "userfaultfd" => Op::Userfaultfd,
            "io_uring_setup" => Op::IoUringSetup,
            "memfd_create" => Op::MemfdCreate,
            "pidfd_open" => Op::PidfdOpen,
            "pidfd_getfd" => Op::PidfdGetfd,
            "dup" | "dup2" | "dup3" => Op::Dup,
            "fcntl" => Op::Fcntl,
            "chdir" => Op::Chdir,
            "fchdir" => Op::Fchdir,
            "getcwd" => Op::Getcwd,
            "setuid" => Op::Setuid,
            "setresuid" | "setreuid" => Op::Setresuid,
            "setgid" => Op::Setgid,
            "setresgid" | "setregid" => Op::Setresgid,
            "capset" => Op::Capset,
            "setsid" => Op::Setsid,
            "chroot" => Op::Chroot,
            "unshare" | "setns" => Op::Unshare,
            "read" | "readv" | "pread" | "preadv" | "recv" | "recvfrom" | "recvmsg"
            | "recvmmsg" => Op::Rw {
                incoming: true,
                send: false,
                tuple: matches!(name, "recv" | "recvfrom"),
            },
            "write" | "writev" | "pwrite" | "pwritev" | "send" | "sendto" | "sendmsg"
            | "sendmmsg" => Op::Rw {
                incoming: false,
                // sysdig 0.29 learns tuples from send/sendto/recv/recvfrom
                // only (newer sinsp also from the *msg variants)
                send: matches!(name, "send" | "sendto" | "sendmsg"),
                tuple: matches!(name, "send" | "sendto"),
            },
            _ => Op::None,
        }
    }
}

/// The `procexit` event: the thread goes once rules have seen it.
pub(crate) fn procexit(st: &mut State, tid: i64) {
    st.pending.thread = Some(tid);
    if let Some(t) = st.threads.get_mut(&tid) {
        t.flags |= flags::CLOSED;
    }
}

/// Exit-event parsers.
pub(crate) fn exit(
    st: &mut State,
    ev: &EventView<'_>,
    enter: Option<&EventView<'_>>,
    tid: i64,
    op: Op,
) {
    let a = Args { ev, enter };
    match op {
        Op::None => {}
        Op::Clone => clone_exit(st, a, tid),
        Op::Execve => execve_exit(st, a, tid),
        Op::Open => open_exit(st, a, tid),
        Op::Socket => socket_exit(st, a, tid),
        Op::Bind => bind_exit(st, a, tid),
        Op::Connect => connect_exit(st, a, tid),
        Op::Accept => accept_exit(st, a, tid),
        Op::Close => close_exit(st, a, tid),
        Op::Pipe => pipe_exit(st, a, tid),
        Op::Socketpair => socketpair_exit(st, a, tid),
        Op::Eventfd => {
            let fl = if ev.name() == "eventfd2" {
                a.u32(Param::Flags).unwrap_or(0)
            } else {
                0
            };
            single_fd(st, a, tid, FdType::Event, fl)
        }
        Op::Signalfd => {
            let fl = if ev.name() == "signalfd4" {
                a.u32(Param::Flags).unwrap_or(0)
            } else {
                0
            };
            single_fd(st, a, tid, FdType::Signalfd, fl)
        }
        Op::TimerfdCreate => single_fd(
            st,
            a,
            tid,
            FdType::Timerfd,
            a.u32(Param::Flags).unwrap_or(0),
        ),
        Op::Inotify => {
            let fl = if ev.name() == "inotify_init1" {
                a.u32(Param::Flags).unwrap_or(0)
            } else {
                0
            };
            single_fd(st, a, tid, FdType::Inotify, fl)
        }
        Op::EpollCreate => {
            let fl = if ev.name() == "epoll_create1" && a.u32(Param::Flags).unwrap_or(0) & 1 != 0 {
                PPM_O_CLOEXEC
            } else {
                0
            };
            single_fd(st, a, tid, FdType::Eventpoll, fl)
        }
        Op::Bpf if ev.code() == code::SYSCALL_BPF_2_X => single_fd(st, a, tid, FdType::Bpf, 0),
        Op::Userfaultfd => single_fd(st, a, tid, FdType::Userfaultfd, 0),
        Op::IoUringSetup => single_fd(st, a, tid, FdType::IoUring, 0),
        Op::MemfdCreate => memfd_exit(st, a, tid),
        Op::PidfdOpen => pidfd_open_exit(st, a, tid),
        Op::PidfdGetfd => pidfd_getfd_exit(st, a, tid),
        Op::Dup => dup_exit(st, a, tid),
        Op::Fcntl => fcntl_exit(st, a, tid),
        Op::Chdir => {
            if a.res() >= 0
                && let Some(p) = a.str(Param::Path)
            {
                set_cwd(st, tid, &lossy(p));
            }
        }
        Op::Fchdir => {
            if a.res() >= 0
                && let Some(fd) = st.cur.fd
                && let Some(name) = st
                    .proc_of(tid)
                    .and_then(|p| p.fds.get(&fd))
                    .map(|f| f.name.clone())
            {
                set_cwd(st, tid, &name);
            }
        }
        Op::Getcwd => {
            if a.res() >= 0
                && let Some(p) = a.str(Param::Path)
            {
                set_cwd(st, tid, &lossy(p));
            }
        }
        Op::Setuid => set_ids(st, a, tid, Param::Uid, None),
        Op::Setresuid => set_ids(st, a, tid, Param::Euid, None),
        Op::Setgid => set_ids(st, a, tid, None, Param::Gid),
        Op::Setresgid => set_ids(st, a, tid, None, Param::Egid),
        Op::Capset => {
            if a.res() >= 0
                && let Some(t) = st.threads.get_mut(&tid)
            {
                let (i, p, e) = (
                    a.uint(Param::CapInheritable),
                    a.uint(Param::CapPermitted),
                    a.uint(Param::CapEffective),
                );
                let info = t.info_mut();
                info.cap_inheritable = i.unwrap_or(info.cap_inheritable);
                info.cap_permitted = p.unwrap_or(info.cap_permitted);
                info.cap_effective = e.unwrap_or(info.cap_effective);
            }
        }
        Op::Setsid => {
            let r = a.res();
            if r >= 0
                && let Some(t) = st.threads.get_mut(&tid)
            {
                t.info_mut().sid = r;
            }
        }
        Op::Chroot => {
            if a.res() == 0
                && let Some(p) = a.str(Param::Path)
            {
                let root = st
                    .threads
                    .get(&tid)
                    .map(|t| concatenate_paths(st.cwd(t), &String::from_utf8_lossy(p)));
                if let (Some(root), Some(t)) = (root, st.threads.get_mut(&tid)) {
                    t.info_mut().root = root;
                }
            }
        }
        Op::Unshare => {
            if a.res() >= 0
                && a.u32(Param::Flags).unwrap_or(0) & flags::CLONE_NEWUSER != 0
                && let Some(t) = st.threads.get_mut(&tid)
            {
                let info = t.info_mut();
                info.cap_inheritable = MAX_CAPS;
                info.cap_permitted = MAX_CAPS;
                info.cap_effective = MAX_CAPS;
            }
        }
        Op::Rw {
            incoming,
            send,
            tuple,
        } => rw_exit(st, a, tid, incoming, send, tuple),
        Op::Bpf => {}
    }
}

/// All capabilities (what sinsp assumes after entering a new user namespace).
const MAX_CAPS: u64 = (1u64 << 41) - 1;

fn set_cwd(st: &mut State, tid: i64, change: &str) {
    if let Some(p) = st.proc_of_mut(tid) {
        p.cwd = update_cwd(&p.cwd, change);
    }
}

fn set_ids(
    st: &mut State,
    a: Args<'_, '_>,
    tid: i64,
    uid: impl Into<Option<Param>>,
    gid: impl Into<Option<Param>>,
) {
    if a.res() != 0 {
        return;
    }
    let uid = uid.into().and_then(|n| a.u32(n));
    let gid = gid.into().and_then(|n| a.u32(n));
    if let Some(t) = st.threads.get_mut(&tid) {
        if let Some(u) = uid {
            t.info_mut().uid = u;
        }
        if let Some(g) = gid {
            t.info_mut().gid = g;
        }
    }
}

// ----------------------------------------------------------------------
// Processes

/// Fills the child's info fields that come from the clone event itself.
fn child_info_from_event(
    a: Args<'_, '_>,
    base: &ProcessInfo,
    cache: &mut CgroupsCache,
) -> ProcessInfo {
    let mut info = base.clone();
    info.exe = a.str(Param::Exe).map(lossy).unwrap_or_default();
    info.args = a
        .get(Param::Args)
        .map(NulList::from_raw)
        .unwrap_or_default();
    info.comm = match a.str(Param::Comm) {
        Some(c) if !c.is_empty() => lossy(c),
        _ => info.exe.clone(),
    };
    if let Some(l) = a.int(Param::Fdlimit) {
        info.fdlimit = l;
    }
    if let Some(u) = a.u32(Param::Uid) {
        info.uid = u;
    }
    if let Some(g) = a.u32(Param::Gid) {
        info.gid = g;
    }
    if let Some(cg) = a.get(Param::Cgroups) {
        info.set_cgroups_raw(cg, cache);
    } else if info.container_id.is_empty() {
        info.container_id = container::HOST.to_string();
    }
    info
}

fn clone_exit(st: &mut State, a: Args<'_, '_>, tid: i64) {
    let res = a.res();
    if res < 0 {
        return;
    }
    let cflags = a.u32(Param::Flags).unwrap_or(0);
    let ts = a.ev.ts();
    let p_pid = a.int(Param::Pid);
    let p_ptid = a.int(Param::Ptid);
    let vtid = a.int(Param::Vtid);
    let vpid = a.int(Param::Vpid);
    if res == 0 {
        // child side: the event's thread is the new one
        if let Some(t) = st.threads.get(&tid)
            && t.clone_ts != 0
            && ts.saturating_sub(t.clone_ts) < CLONE_STALE_NS
        {
            return;
        }
        let pid = p_pid.unwrap_or(tid);
        let ptid = p_ptid.unwrap_or(-1);
        let leader = cflags & flags::CLONE_THREAD == 0;
        let lookup = if leader { ptid } else { pid };
        let mut tflags = cflags | flags::CLONE_INVERTED;
        if !leader {
            tflags |= flags::CLONE_FILES;
        }
        let base = st
            .threads
            .get(&lookup)
            .map(|l| (l.info.clone(), l.pid, l.lastexec_ts));
        // remove any stale entry for this tid
        st.remove_thread_now(tid);
        let info = match &base {
            Some((i, _, _)) => child_info_from_event(a, i, &mut st.cgroups_cache),
            None => child_info_from_event(a, &Thread::unknown(tid).info, &mut st.cgroups_cache),
        };
        let mut t = Thread::with_info(tid, pid, ptid, Arc::new(info));
        t.flags = tflags;
        t.clone_ts = ts;
        match (vtid, vpid) {
            (Some(vt), Some(vp)) => {
                t.vtid = vt;
                t.vpid = vp;
            }
            _ => {
                t.vtid = tid;
                t.vpid = -1;
            }
        }
        if !leader && let Some((_, _, le)) = base {
            t.lastexec_ts = le;
        }
        st.attach(pid);
        if leader {
            copy_process(st, lookup, pid, a);
        }
        st.threads.insert(tid, t);
        return;
    }
    // caller side
    let child = res;
    let Some(caller) = st.threads.get_mut(&tid) else {
        return;
    };
    let valid_caller = !caller.is_invalid();
    if !valid_caller {
        if let Some(pp) = p_ptid {
            caller.ptid = pp;
        }
        match (vtid, vpid) {
            (Some(vt), Some(vp)) => {
                caller.vtid = vt;
                caller.vpid = vp;
            }
            _ => {
                caller.vtid = tid;
                caller.vpid = -1;
            }
        }
        if let Some(pid) = p_pid {
            st.set_pid(tid, pid);
        }
    }
    let Some(caller) = st.threads.get(&tid) else {
        return;
    };
    if cflags & (flags::CHILD_IN_PIDNS | flags::CLONE_NEWPID | flags::CLONE_PARENT) != 0
        || caller.tid != caller.vtid
    {
        return;
    }
    if cflags & flags::CLONE_VFORK != 0 || a.ev.code() == code::SYSCALL_VFORK_20_X {
        return;
    }
    if let Some(existing) = st.threads.get(&child) {
        if existing.flags & flags::CLONE_INVERTED != 0 {
            return;
        }
        st.remove_thread_now(child);
    }
    let Some(caller) = st.threads.get(&tid) else {
        return;
    };
    let leader = cflags & flags::CLONE_THREAD == 0;
    let (pid, ptid) = if leader {
        (child, caller.tid)
    } else {
        (caller.pid, caller.ptid)
    };
    let caller_pid = caller.pid;
    let caller_lastexec = caller.lastexec_ts;
    let info = child_info_from_event(a, &caller.info, &mut st.cgroups_cache);
    let mut t = Thread::with_info(child, pid, ptid, Arc::new(info));
    t.flags = cflags;
    if !leader {
        t.flags |= flags::CLONE_FILES;
        t.lastexec_ts = caller_lastexec;
    }
    t.clone_ts = ts;
    t.vtid = child;
    t.vpid = pid;
    if !valid_caller {
        // the caller learns its names from the event
        let (exe, comm, args) = (t.info.exe.clone(), t.info.comm.clone(), t.info.args.clone());
        if let Some(c) = st.threads.get_mut(&tid) {
            let ci = c.info_mut();
            ci.exe = exe;
            ci.comm = comm;
            ci.args = args;
        }
    }
    st.attach(pid);
    if leader {
        copy_process(st, caller_pid, pid, a);
    }
    st.threads.insert(child, t);
}

/// Clone events older than this are not the same clone (ns).
const CLONE_STALE_NS: u64 = 1_000_000_000;

/// A new process gets a copy of its parent's fd table and cwd.
fn copy_process(st: &mut State, from_pid: i64, to_pid: i64, a: Args<'_, '_>) {
    let src = st
        .threads
        .get(&from_pid)
        .and_then(|t| st.procs.get(&t.pid))
        .map(|p| (p.fds.clone(), p.cwd.clone()));
    let ev_cwd = a.str(Param::Cwd).map(lossy);
    if let Some(p) = st.procs.get_mut(&to_pid) {
        match src {
            Some((fds, cwd)) => {
                p.fds = fds;
                p.cwd = cwd;
            }
            None => {
                if let Some(c) = ev_cwd {
                    p.cwd = update_cwd("", &c);
                }
            }
        }
    }
}

fn execve_exit(st: &mut State, a: Args<'_, '_>, tid: i64) {
    if a.res() < 0 || !st.threads.contains_key(&tid) {
        return;
    }
    if let Some(pid) = a.int(Param::Pid) {
        st.set_pid(tid, pid);
    }
    // exepath: trusted_exepath, else the enter event's filename resolved
    let cwd = st.proc_of(tid).map(|p| p.cwd.clone()).unwrap_or_default();
    let exepath = if let Some(p) = a.str(Param::TrustedExepath) {
        Some(lossy(p))
    } else if let Some(e) = a.enter {
        if e.name() == "execveat" {
            let dirfd = a
                .enter(Param::Dirfd)
                .and_then(|b| read_int(b, true))
                .unwrap_or(-100);
            let flags = a
                .enter(Param::Flags)
                .and_then(|b| read_int(b, false))
                .unwrap_or(0);
            let pathname = a
                .enter(Param::Pathname)
                .map(cstr)
                .map(lossy)
                .unwrap_or_default();
            let sdir = dirfd_base(st, tid, &pathname, dirfd, &cwd);
            Some(match sdir {
                None => "<NA>".to_string(),
                Some(d) if flags & 1 != 0 => concatenate_paths("", &d),
                Some(d) => concatenate_paths(&d, &pathname),
            })
        } else {
            a.enter(Param::Filename).map(cstr).map(|f| {
                if f == b"<NA>" {
                    "<NA>".to_string()
                } else {
                    concatenate_paths(&cwd, &String::from_utf8_lossy(f))
                }
            })
        }
    } else {
        None
    };
    let ts = a.ev.ts();
    let Some(t) = st.threads.get_mut(&tid) else {
        return;
    };
    t.lastexec_ts = ts;
    if t.is_invalid() {
        if let Some(pp) = a.int(Param::Ptid) {
            t.ptid = pp;
        }
        if t.flags & flags::CHILD_IN_PIDNS == 0 {
            t.vtid = t.tid;
            t.vpid = t.pid;
        }
    }
    let info = t.info_mut();
    info.exe = a.str(Param::Exe).map(lossy).unwrap_or_default();
    info.comm = match a.str(Param::Comm) {
        Some(c) if !c.is_empty() => lossy(c),
        _ => info.exe.clone(),
    };
    info.args = a
        .get(Param::Args)
        .map(NulList::from_raw)
        .unwrap_or_default();
    if let Some(l) = a.int(Param::Fdlimit) {
        info.fdlimit = l;
    }
    if let Some(e) = a.exit(Param::Env)
        && !info.env.is_raw(e)
    {
        info.env = NulList::from_raw(e);
    }
    if let Some(cg) = a.exit(Param::Cgroups) {
        info.set_cgroups_raw(cg, &mut st.cgroups_cache);
    }
    if let Some(tty) = a.u32(Param::Tty) {
        info.tty = tty;
    }
    if let Some(p) = exepath {
        info.exepath = p;
    }
    if let Some(v) = a.int(Param::Vpgid) {
        info.vpgid = v;
    }
    if let Some(v) = a.u32(Param::Loginuid) {
        info.loginuid = v;
    }
    if let Some(f) = a.exit(Param::Flags).and_then(|b| read_int(b, false)) {
        info.exe_writable = f & 1 != 0;
        info.exe_upper_layer = f & 2 != 0;
        info.exe_from_memfd = f & 4 != 0;
        info.exe_lower_layer = f & 8 != 0;
    }
    if let (Some(i), Some(p), Some(e)) = (
        a.uint(Param::CapInheritable),
        a.uint(Param::CapPermitted),
        a.uint(Param::CapEffective),
    ) {
        info.cap_inheritable = i;
        info.cap_permitted = p;
        info.cap_effective = e;
    }
    if let (Some(i), Some(c), Some(m)) = (
        a.uint(Param::ExeIno),
        a.uint(Param::ExeInoCtime),
        a.uint(Param::ExeInoMtime),
    ) {
        info.exe_ino = i;
        info.exe_ino_ctime = c;
        info.exe_ino_mtime = m;
    }
    if let Some(u) = a.exit(Param::Uid).and_then(|b| read_int(b, false)) {
        info.uid = u as u32;
    }
    info.pgid = a.int(Param::Pgid).unwrap_or(-1);
    if let Some(g) = a.exit(Param::Gid).and_then(|b| read_int(b, false)) {
        info.gid = g as u32;
    }
    let keep = t.flags & flags::CLONE_INVERTED;
    t.flags = flags::ACTIVE | keep | flags::NAME_CHANGED;
    let pid = t.pid;
    // close-on-exec fds go away
    if let Some(p) = st.procs.get_mut(&pid) {
        p.fds.retain(|_, f| !f.is_cloexec());
    }
    // the other threads of the process are gone
    let others: Vec<i64> = st
        .threads
        .values()
        .filter(|o| o.pid == pid && o.tid != tid && o.tid != pid)
        .map(|o| o.tid)
        .collect();
    for o in others {
        st.remove_thread_now(o);
    }
}

// ----------------------------------------------------------------------
// Files

/// Directory against which a relative `name` is resolved for `dirfd`;
/// `Some(".")` for absolute names, `None` when unknown.
fn dirfd_base<'s>(
    st: &'s State,
    tid: i64,
    name: &str,
    dirfd: i64,
    cwd: &'s str,
) -> Option<Cow<'s, str>> {
    if name.starts_with('/') {
        return Some(Cow::Borrowed("."));
    }
    if dirfd == -100 {
        return Some(Cow::Borrowed(cwd));
    }
    let f = st.proc_of(tid)?.fds.get(&dirfd)?;
    if f.name.is_empty() || f.name.ends_with('/') {
        Some(Cow::Borrowed(&f.name))
    } else {
        Some(Cow::Owned(format!("{}/", f.name)))
    }
}

fn open_exit(st: &mut State, a: Args<'_, '_>, tid: i64) {
    let Some(t) = st.threads.get(&tid) else {
        return;
    };
    let fd = a.res();
    let name_ev = a.ev.name();
    let by_handle = name_ev == "open_by_handle_at";
    let cwd = st.cwd(t);
    let exit_name = a
        .exit(if by_handle { Param::Path } else { Param::Name })
        .map(cstr);
    let enter_name = a.enter(Param::Name).map(cstr).filter(|n| *n != b"<NA>");
    let from_enter = enter_name.is_some() && !by_handle;
    let name = if from_enter { enter_name } else { exit_name }.unwrap_or(b"<NA>");
    let name = lossy(name);
    let exit_flags = a
        .exit(Param::Flags)
        .and_then(|b| read_int(b, false))
        .unwrap_or(0) as u32;
    let creat = name_ev == "creat";
    let mut oflags = match () {
        _ if creat => 0,
        _ if from_enter => {
            let ef = a
                .enter(Param::Flags)
                .and_then(|b| read_int(b, false))
                .unwrap_or(0) as u32;
            ef | (exit_flags & !(PPM_O_F_CREATED - 1))
        }
        _ => exit_flags,
    };
    if creat && let Some(cf) = a.exit(Param::CreatFlags).and_then(|b| read_int(b, false)) {
        if cf & 1 != 0 {
            oflags |= PPM_FD_UPPER_LAYER;
        } else if cf & 2 != 0 {
            oflags |= PPM_FD_LOWER_LAYER;
        }
    }
    let sdir: Cow<'_, str> = match name_ev {
        "open" | "creat" => Cow::Borrowed(cwd),
        "openat" | "openat2" => {
            let dirfd = if from_enter {
                a.enter(Param::Dirfd)
            } else {
                a.exit(Param::Dirfd)
            }
            .and_then(|b| read_int(b, true));
            match dirfd {
                Some(d) => dirfd_base(st, tid, &name, d, cwd).unwrap_or(Cow::Borrowed("<UNKNOWN>")),
                None => Cow::Borrowed(""),
            }
        }
        _ => Cow::Borrowed(""),
    };
    if fd < 0 {
        // a failed open adds no fd
        return;
    }
    let full = concatenate_paths(&sdir, &name);
    let mut fi = FdInfo::new(if oflags & PPM_O_DIRECTORY != 0 {
        FdType::Directory
    } else {
        FdType::File
    });
    fi.open_flags = oflags;
    fi.dev = a
        .exit(Param::Dev)
        .and_then(|b| read_int(b, false))
        .unwrap_or(0) as u32;
    fi.ino = a
        .exit(Param::Ino)
        .and_then(|b| read_int(b, false))
        .unwrap_or(0) as u64;
    fi.name_raw = name;
    fi.name = full;
    st.add_fd(tid, fd, fi);
}

fn single_fd(st: &mut State, a: Args<'_, '_>, tid: i64, ty: FdType, open_flags: u32) {
    let fd = a.res();
    if fd < 0 {
        return;
    }
    let mut fi = FdInfo::new(ty);
    fi.open_flags = open_flags;
    st.add_fd(tid, fd, fi);
}

fn memfd_exit(st: &mut State, a: Args<'_, '_>, tid: i64) {
    let fd = a.res();
    if fd < 0 {
        return;
    }
    let mut fi = FdInfo::new(FdType::Memfd);
    fi.name = a.str(Param::Name).map(lossy).unwrap_or_default();
    fi.open_flags = a.u32(Param::Flags).unwrap_or(0);
    st.add_fd(tid, fd, fi);
}

fn pidfd_open_exit(st: &mut State, a: Args<'_, '_>, tid: i64) {
    let fd = a.res();
    if fd < 0 {
        return;
    }
    let pid = a.int(Param::Pid).unwrap_or(-1);
    let mut fi = FdInfo::new(FdType::Pidfd);
    fi.name = format!("/proc/{pid}");
    fi.open_flags = a.u32(Param::Flags).unwrap_or(0);
    fi.pid = pid;
    st.add_fd(tid, fd, fi);
}

fn pidfd_getfd_exit(st: &mut State, a: Args<'_, '_>, tid: i64) {
    let fd = a.res();
    if fd < 0 {
        return;
    }
    let (Some(pidfd), Some(target)) = (a.int(Param::PidFd), a.int(Param::TargetFd)) else {
        return;
    };
    let Some(pf) = st.proc_of(tid).and_then(|p| p.fds.get(&pidfd)) else {
        return;
    };
    if pf.fd_type != FdType::Pidfd {
        return;
    }
    let Some(src) = st
        .threads
        .get(&pf.pid)
        .and_then(|t| st.procs.get(&t.pid))
        .and_then(|p| p.fds.get(&target))
    else {
        return;
    };
    let mut fi = (**src).clone();
    fi.open_flags |= PPM_O_CLOEXEC;
    st.add_fd(tid, fd, fi);
}

fn close_exit(st: &mut State, a: Args<'_, '_>, tid: i64) {
    if a.res() < 0 {
        return;
    }
    let (Some(fd), Some(t)) = (st.cur.fd, st.threads.get(&tid)) else {
        return;
    };
    let pid = t.pid;
    if st.procs.get(&pid).is_some_and(|p| p.fds.contains_key(&fd)) {
        st.pending.fd = Some((pid, fd));
    }
}

fn dup_exit(st: &mut State, a: Args<'_, '_>, tid: i64) {
    let newfd = a.res();
    let Some(old) = st.cur.fd else {
        return;
    };
    if newfd < 0 {
        return;
    }
    let Some(src) = st.proc_of(tid).and_then(|p| p.fds.get(&old)) else {
        return;
    };
    let mut fi = (**src).clone();
    fi.clear_cloexec();
    if a.ev.name() == "dup3" && a.u32(Param::Flags).unwrap_or(0) & PPM_O_CLOEXEC != 0 {
        fi.open_flags |= PPM_O_CLOEXEC;
    }
    st.add_fd(tid, newfd, fi);
}

fn fcntl_exit(st: &mut State, a: Args<'_, '_>, tid: i64) {
    const F_DUPFD: i64 = 1;
    const F_SETFD: i64 = 3;
    const F_DUPFD_CLOEXEC: i64 = 0x1a;
    let Some(cmd) = a.get(Param::Cmd).and_then(|b| read_int(b, false)) else {
        return;
    };
    if !matches!(cmd, F_DUPFD | F_DUPFD_CLOEXEC | F_SETFD) {
        return;
    }
    let r = a.res();
    let Some(fd) = st.cur.fd else {
        return;
    };
    if r < 0 {
        return;
    }
    if cmd == F_SETFD {
        let arg = a.uint(Param::Arg);
        if let (Some(arg), Some(f)) = (arg, st.fd_mut(tid, fd)) {
            f.clear_cloexec();
            if arg & 1 != 0 {
                f.open_flags |= PPM_O_CLOEXEC;
            }
        }
        return;
    }
    let Some(src) = st.proc_of(tid).and_then(|p| p.fds.get(&fd)) else {
        return;
    };
    let mut fi = (**src).clone();
    fi.clear_cloexec();
    if cmd == F_DUPFD_CLOEXEC {
        fi.open_flags |= PPM_O_CLOEXEC;
    }
    st.add_fd(tid, r, fi);
}

fn pipe_exit(st: &mut State, a: Args<'_, '_>, tid: i64) {
    if a.res() < 0 {
        return;
    }
    let (Some(fd1), Some(fd2)) = (a.int(Param::Fd1), a.int(Param::Fd2)) else {
        return;
    };
    let mut fi = FdInfo::new(FdType::Fifo);
    fi.ino = a.uint(Param::Ino).unwrap_or(0);
    if a.ev.name() == "pipe2" {
        fi.open_flags = a.u32(Param::Flags).unwrap_or(0);
    }
    st.add_fd(tid, fd1, fi.clone());
    st.add_fd(tid, fd2, fi);
}

fn socketpair_exit(st: &mut State, a: Args<'_, '_>, tid: i64) {
    if a.res() < 0 {
        return;
    }
    let (Some(fd1), Some(fd2)) = (a.int(Param::Fd1), a.int(Param::Fd2)) else {
        return;
    };
    if fd1 == fd2 {
        return;
    }
    let mut fi = FdInfo::new(FdType::UnixSock);
    fi.sock = SockInfo::Unix {
        source: a.uint(Param::Source).unwrap_or(0),
        dest: a.uint(Param::Peer).unwrap_or(0),
        path: String::new(),
    };
    st.add_fd(tid, fd2, fi.clone());
    st.add_fd(tid, fd1, fi);
}

// ----------------------------------------------------------------------
// Sockets

fn new_socket(domain: u32, ty: u32, proto: u32, open_flags: u32) -> FdInfo {
    const SOCK_STREAM: u32 = 1;
    const SOCK_DGRAM: u32 = 2;
    const SOCK_RAW: u32 = 3;
    let mut fi = FdInfo::new(FdType::Unknown);
    fi.open_flags = open_flags;
    match domain as u8 {
        AF_UNIX if domain == AF_UNIX as u32 => {
            fi.fd_type = FdType::UnixSock;
            fi.sock = SockInfo::Unix {
                source: 0,
                dest: 0,
                path: String::new(),
            };
        }
        AF_INET | AF_INET6 if domain < 256 => {
            let raw = ty == SOCK_RAW;
            let l4 = match proto {
                6 => {
                    if raw {
                        L4Proto::Raw
                    } else {
                        L4Proto::Tcp
                    }
                }
                17 => {
                    if raw {
                        L4Proto::Raw
                    } else {
                        L4Proto::Udp
                    }
                }
                0 => match ty & 0xff {
                    SOCK_STREAM => L4Proto::Tcp,
                    SOCK_DGRAM => L4Proto::Udp,
                    _ => L4Proto::Unknown,
                },
                1 => {
                    if raw {
                        L4Proto::Raw
                    } else {
                        L4Proto::Icmp
                    }
                }
                255 => L4Proto::Raw,
                _ => L4Proto::Unknown,
            };
            if domain == AF_INET as u32 {
                fi.fd_type = FdType::Ipv4Sock;
                fi.sock = SockInfo::Ipv4 {
                    sip: [0; 4],
                    sport: 0,
                    dip: [0; 4],
                    dport: 0,
                    l4proto: l4,
                };
            } else {
                fi.fd_type = FdType::Ipv6Sock;
                fi.sock = SockInfo::Ipv6 {
                    sip: [0; 16],
                    sport: 0,
                    dip: [0; 16],
                    dport: 0,
                    l4proto: l4,
                };
            }
        }
        AF_NETLINK if domain == AF_NETLINK as u32 => fi.fd_type = FdType::Netlink,
        _ => {}
    }
    fi
}

fn socket_exit(st: &mut State, a: Args<'_, '_>, tid: i64) {
    let fd = a.res();
    if fd < 0 {
        return;
    }
    let fi = new_socket(
        a.u32(Param::Domain).unwrap_or(0),
        a.u32(Param::Type).unwrap_or(0),
        a.u32(Param::Proto).unwrap_or(0),
        a.u32(Param::Flags).unwrap_or(0),
    );
    st.add_fd(tid, fd, fi);
}

fn bind_exit(st: &mut State, a: Args<'_, '_>, tid: i64) {
    if a.res() < 0 {
        return;
    }
    let Some(fd) = st.cur.fd else {
        return;
    };
    let Some(raw) = a.get(Param::Addr) else {
        return;
    };
    let Some(addr) = SockAddr::parse(raw) else {
        return;
    };
    let Some(f) = st.fd_mut(tid, fd) else {
        return;
    };
    let l4 = f.sock.l4proto();
    match addr {
        SockAddr::V4(ip, port) if port > 0 => {
            f.fd_type = FdType::Ipv4ServerSock;
            f.sock = SockInfo::Ipv4Server {
                ip,
                port,
                l4proto: l4,
            };
            f.role = Role::Server;
        }
        SockAddr::V6(ip, port) if port > 0 => {
            if fd::is_ipv4_mapped(&ip) {
                f.fd_type = FdType::Ipv4ServerSock;
                f.sock = SockInfo::Ipv4Server {
                    ip: fd::mapped_v4(&ip),
                    port,
                    l4proto: l4,
                };
            } else {
                f.fd_type = FdType::Ipv6ServerSock;
                f.sock = SockInfo::Ipv6Server {
                    ip,
                    port,
                    l4proto: l4,
                };
            }
            f.role = Role::Server;
        }
        _ => {}
    }
    f.name = addr.render();
}

/// Sets the tuple of a connected socket; returns whether anything changed.
fn set_tuple(f: &mut FdInfo, t: &SockTuple<'_>, overwrite_dest: bool) -> bool {
    fn upd<A: PartialEq + Copy + Default>(
        cur: (A, u16, A, u16),
        new: (A, u16, A, u16),
        same_type: bool,
        overwrite: bool,
    ) -> Option<(A, u16, A, u16)> {
        let (cs, csp, cd, cdp) = cur;
        let (ns, nsp, nd, ndp) = new;
        if same_type
            && ((ns == cs && nsp == csp && nd == cd && ndp == cdp)
                || (nd == cs && ndp == csp && ns == cd && nsp == cdp))
        {
            return None;
        }
        let mut out = cur;
        let mut changed = false;
        if cs != ns {
            out.0 = ns;
            changed = true;
        }
        if csp != nsp {
            out.1 = nsp;
            changed = true;
        }
        if cd == A::default() || (overwrite && cd != nd) {
            out.2 = nd;
            changed = true;
        }
        if cdp == 0 || (overwrite && cdp != ndp) {
            out.3 = ndp;
            changed = true;
        }
        changed.then_some(out)
    }
    let l4 = f.sock.l4proto();
    let v4 = |f: &mut FdInfo, s: [u8; 4], sp, d: [u8; 4], dp| {
        let same = f.fd_type == FdType::Ipv4Sock;
        let cur = match f.sock {
            SockInfo::Ipv4 {
                sip,
                sport,
                dip,
                dport,
                ..
            } => (sip, sport, dip, dport),
            _ => Default::default(),
        };
        f.fd_type = FdType::Ipv4Sock;
        match upd(cur, (s, sp, d, dp), same, overwrite_dest) {
            Some((sip, sport, dip, dport)) => {
                f.sock = SockInfo::Ipv4 {
                    sip,
                    sport,
                    dip,
                    dport,
                    l4proto: l4,
                };
                true
            }
            None => {
                if !matches!(f.sock, SockInfo::Ipv4 { .. }) {
                    f.sock = SockInfo::Ipv4 {
                        sip: cur.0,
                        sport: cur.1,
                        dip: cur.2,
                        dport: cur.3,
                        l4proto: l4,
                    };
                }
                false
            }
        }
    };
    match *t {
        SockTuple::V4(s, sp, d, dp) => v4(f, s, sp, d, dp),
        SockTuple::V6(s, sp, d, dp) => {
            if fd::is_ipv4_mapped(&s) && fd::is_ipv4_mapped(&d) {
                return v4(f, fd::mapped_v4(&s), sp, fd::mapped_v4(&d), dp);
            }
            let same = f.fd_type == FdType::Ipv6Sock;
            let cur = match f.sock {
                SockInfo::Ipv6 {
                    sip,
                    sport,
                    dip,
                    dport,
                    ..
                } => (sip, sport, dip, dport),
                _ => Default::default(),
            };
            f.fd_type = FdType::Ipv6Sock;
            match upd(cur, (s, sp, d, dp), same, overwrite_dest) {
                Some((sip, sport, dip, dport)) => {
                    f.sock = SockInfo::Ipv6 {
                        sip,
                        sport,
                        dip,
                        dport,
                        l4proto: l4,
                    };
                    true
                }
                None => false,
            }
        }
        SockTuple::Unix(source, dest, path) => {
            f.fd_type = FdType::UnixSock;
            f.sock = SockInfo::Unix {
                source,
                dest,
                path: lossy(path),
            };
            true
        }
    }
}

fn swap(f: &mut FdInfo) {
    match &mut f.sock {
        SockInfo::Ipv4 {
            sip,
            sport,
            dip,
            dport,
            ..
        } => {
            std::mem::swap(sip, dip);
            std::mem::swap(sport, dport);
        }
        SockInfo::Ipv6 {
            sip,
            sport,
            dip,
            dport,
            ..
        } => {
            std::mem::swap(sip, dip);
            std::mem::swap(sport, dport);
        }
        _ => {}
    }
}

/// sinsp since 0.30 replaces a connected socket's destination on a new
/// connect; sysdig 0.29 (the reference used here) keeps the first one.
const CONNECT_OVERWRITES_DEST: bool = false;

fn connect_exit(st: &mut State, a: Args<'_, '_>, tid: i64) {
    // sysdig 0.29 records the tuple whatever the result; newer sinsp only on
    // success or EINPROGRESS
    const EINPROGRESS: i64 = 115;
    let r = a.res();
    if CONNECT_OVERWRITES_DEST && r < 0 && r != -EINPROGRESS {
        return;
    }
    let Some(fd) = st.cur.fd else {
        return;
    };
    if (r >= 0 || r == -EINPROGRESS)
        && let Some(f) = st.fd_mut(tid, fd)
    {
        f.connected = true;
    }
    let enter_addr = a.enter(Param::Addr);
    let tuple = a.exit(Param::Tuple);
    let mut name = std::mem::take(&mut st.scratch);
    if let Some(f) = st.fd_mut(tid, fd) {
        match tuple.and_then(SockTuple::parse) {
            None if tuple.is_none() => {
                // only the enter event's address: destination only
                if let Some(addr) = enter_addr.and_then(SockAddr::parse) {
                    let l4 = f.sock.l4proto();
                    match addr {
                        SockAddr::V4(ip, port) => {
                            let (s, sp) = match f.sock {
                                SockInfo::Ipv4 { sip, sport, .. } => (sip, sport),
                                _ => ([0; 4], 0),
                            };
                            f.fd_type = FdType::Ipv4Sock;
                            f.sock = SockInfo::Ipv4 {
                                sip: s,
                                sport: sp,
                                dip: ip,
                                dport: port,
                                l4proto: l4,
                            };
                        }
                        SockAddr::V6(ip, port) => {
                            let (s, sp) = match f.sock {
                                SockInfo::Ipv6 { sip, sport, .. } => (sip, sport),
                                _ => ([0; 16], 0),
                            };
                            f.fd_type = FdType::Ipv6Sock;
                            f.sock = SockInfo::Ipv6 {
                                sip: s,
                                sport: sp,
                                dip: ip,
                                dport: port,
                                l4proto: l4,
                            };
                        }
                        SockAddr::Unix(_) => f.name = addr.render(),
                    }
                }
            }
            None => {}
            Some(t) => {
                // when the exit address equals the tuple's destination, the
                // enter event's (pre-resolution) address is preferred
                let exit_addr = a.exit(Param::Addr).and_then(SockAddr::parse);
                let t = match (&t, exit_addr, enter_addr.and_then(SockAddr::parse)) {
                    (
                        SockTuple::V4(s, sp, d, dp),
                        Some(SockAddr::V4(xi, xp)),
                        Some(SockAddr::V4(ei, ep)),
                    ) if *d == xi && *dp == xp => {
                        let _ = (d, dp);
                        SockTuple::V4(*s, *sp, ei, ep)
                    }
                    (
                        SockTuple::V6(s, sp, d, dp),
                        Some(SockAddr::V6(xi, xp)),
                        Some(SockAddr::V6(ei, ep)),
                    ) if *d == xi && *dp == xp => SockTuple::V6(*s, *sp, ei, ep),
                    _ => t,
                };
                match t {
                    SockTuple::Unix(source, dest, path) => {
                        if f.fd_type == FdType::UnixSock {
                            let path = lossy(path);
                            name.clear();
                            use std::fmt::Write as _;
                            let _ = write!(name, "{source:x}->{dest:x} {path}");
                            f.sock = SockInfo::Unix { source, dest, path };
                            f.name.clone_from(&name);
                        }
                    }
                    _ => {
                        let changed = set_tuple(f, &t, CONNECT_OVERWRITES_DEST);
                        if changed && f.role == Role::Server && f.sock.l4proto() == L4Proto::Udp {
                            swap(f);
                        }
                        fd::sock_name(&f.sock, &mut name);
                        f.name.clone_from(&name);
                    }
                }
            }
        }
        if f.role == Role::None {
            f.role = Role::Client;
        }
    }
    st.scratch = name;
}

fn accept_exit(st: &mut State, a: Args<'_, '_>, tid: i64) {
    let fd = a.res();
    if fd < 0 {
        return;
    }
    st.cur.fd = Some(fd);
    let Some(raw) = a.exit(Param::Tuple) else {
        return;
    };
    let Some(t) = SockTuple::parse(raw) else {
        return;
    };
    let mut fi = FdInfo::new(FdType::Unknown);
    match t {
        SockTuple::V4(sip, sport, dip, dport) => {
            fi.fd_type = FdType::Ipv4Sock;
            fi.sock = SockInfo::Ipv4 {
                sip,
                sport,
                dip,
                dport,
                l4proto: L4Proto::Tcp,
            };
        }
        SockTuple::V6(sip, sport, dip, dport) => {
            if fd::is_ipv4_mapped(&sip) && fd::is_ipv4_mapped(&dip) {
                fi.fd_type = FdType::Ipv4Sock;
                fi.sock = SockInfo::Ipv4 {
                    sip: fd::mapped_v4(&sip),
                    sport,
                    dip: fd::mapped_v4(&dip),
                    dport,
                    l4proto: L4Proto::Tcp,
                };
            } else {
                fi.fd_type = FdType::Ipv6Sock;
                fi.sock = SockInfo::Ipv6 {
                    sip,
                    sport,
                    dip,
                    dport,
                    l4proto: L4Proto::Tcp,
                };
            }
        }
        SockTuple::Unix(source, dest, path) => {
            fi.fd_type = FdType::UnixSock;
            fi.sock = SockInfo::Unix {
                source,
                dest,
                path: lossy(path),
            };
        }
    }
    // the parameter's text: the full tuple, also for IPv4-mapped IPv6
    match &t {
        SockTuple::V6(sip, sport, dip, dport)
            if !(fd::is_ipv4_mapped(sip) && fd::is_ipv4_mapped(dip)) =>
        {
            fi.name = format!(
                "{}:{}->{}:{}",
                fd::ipv6_to_string(sip),
                sport,
                fd::ipv6_to_string(dip),
                dport
            );
        }
        _ => fd::sock_name(&fi.sock, &mut fi.name),
    }
    if a.ev.name() == "accept4" || a.ev.code() == code::SOCKET_ACCEPT4_6_X {
        let fl = a.int(Param::Flags).unwrap_or(0) as u32;
        fi.open_flags = fl & PPM_O_CLOEXEC;
    }
    fi.role = Role::Server;
    fi.connected = true;
    st.add_fd(tid, fd, fi);
}

/// Data-transfer exits: UDP (and other non-TCP) sockets learn their tuple.
fn rw_exit(
    st: &mut State,
    a: Args<'_, '_>,
    tid: i64,
    incoming: bool,
    is_send: bool,
    learns_tuple: bool,
) {
    if a.res() < 0 {
        return;
    }
    let fd = st.cur.fd;
    let tuple = a.get(Param::Tuple);
    // a send on an fd we never saw: assume an UDP socket of the tuple's family
    if is_send
        && let Some(fdn) = fd
        && st.proc_of(tid).is_some_and(|p| !p.fds.contains_key(&fdn))
        && let Some(fam) = tuple.and_then(SockTuple::family)
        && (fam == AF_INET || fam == AF_INET6)
    {
        let fi = new_socket(fam as u32, 2, 17, 0);
        st.add_fd(tid, fdn, fi);
    }
    // data moved through an IP socket: it is connected
    if let Some(fdn) = fd
        && st
            .proc_of(tid)
            .and_then(|p| p.fds.get(&fdn))
            .is_some_and(|f| f.fd_type.is_inet() && !f.connected)
        && let Some(f) = st.fd_mut(tid, fdn)
    {
        f.connected = true;
    }
    if !learns_tuple {
        return;
    }
    let (Some(fd), Some(raw)) = (fd, tuple) else {
        return;
    };
    let Some(t) = SockTuple::parse(raw) else {
        return;
    };
    let mut buf = std::mem::take(&mut st.scratch);
    let pid = st.threads.get(&tid).map(|t| t.pid);
    let ifs = &st.interfaces;
    if let Some(f) = pid
        .and_then(|pid| st.procs.get_mut(&pid))
        .and_then(|p| p.fds.get_mut(&fd))
        .map(Arc::make_mut)
        && (f.name.is_empty() || !f.is_tcp())
        && set_tuple(f, &t, false)
    {
        if let SockTuple::Unix(_, _, path) = t {
            f.name = lossy(path);
        } else {
            f.set_l4proto_if_unknown(L4Proto::Udp);
            crate::iface::infer_local(ifs, f);
            if f.role == Role::None {
                f.role = if incoming { Role::Server } else { Role::Client };
            }
            if (incoming && f.role == Role::Client) || (!incoming && f.role == Role::Server) {
                swap(f);
            }
            fd::sock_name(&f.sock, &mut buf);
            f.name.clone_from(&buf);
        }
    }
    st.scratch = buf;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_agree_with_the_schema_lookup() {
        let mut found = 0;
        for code in 0..=u16::MAX {
            let Some(info) = event_info(code) else {
                assert!(slots(code).is_none(), "code {code}");
                break;
            };
            let row = slots(code).expect("a row for every code");
            for p in Param::ALL {
                let want = info.param_index(p.name());
                assert_eq!(
                    row[p as usize].map(usize::from),
                    want,
                    "{} {p:?}",
                    info.name
                );
                found += usize::from(want.is_some());
            }
        }
        assert!(found > 100, "only {found} parameters found");
        for p in Param::ALL {
            assert_eq!(Param::of(p.name()), Some(p));
        }
    }

    #[test]
    fn reads_parameters_by_slot() {
        let bytes = peregrine_event::EventBuilder::open_exit(1, 2, 3, "/etc/passwd", 1);
        let ev = EventView::parse(&bytes).unwrap();
        assert_eq!(param_of(&ev, Param::Name), ev.param_by_name("name"));
        assert_eq!(param_of(&ev, Param::Flags), ev.param_by_name("flags"));
        assert_eq!(param_of(&ev, Param::Tuple), None);
        let a = Args {
            ev: &ev,
            enter: None,
        };
        assert_eq!(a.str(Param::Name), Some(&b"/etc/passwd"[..]));
        assert_eq!(a.u32(Param::Flags), Some(1));
    }
}

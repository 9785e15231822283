//! Threads, process information, users and groups.

use std::sync::Arc;

use crate::container;

/// `PPM_CL_*` clone flags and sinsp thread flags.
pub mod flags {
    /// Shares the fd table with the parent.
    pub const CLONE_FILES: u32 = 0x1;
    /// Shares cwd/root with the parent.
    pub const CLONE_FS: u32 = 0x2;
    /// New pid namespace.
    pub const CLONE_NEWPID: u32 = 0x40;
    /// Same parent as the caller.
    pub const CLONE_PARENT: u32 = 0x100;
    /// A thread of the caller's process.
    pub const CLONE_THREAD: u32 = 0x2000;
    /// Created from the child's side of the clone exit.
    pub const CLONE_INVERTED: u32 = 0x10000;
    /// comm/exe changed by execve.
    pub const NAME_CHANGED: u32 = 0x20000;
    /// Thread has exited.
    pub const CLOSED: u32 = 0x40000;
    /// Thread seen alive.
    pub const ACTIVE: u32 = 0x80000;
    /// New user namespace.
    pub const CLONE_NEWUSER: u32 = 0x100000;
    /// vfork-like clone.
    pub const CLONE_VFORK: u32 = 0x8000000;
    /// The caller is inside a child pid namespace.
    pub const CHILD_IN_PIDNS: u32 = 0x20000000;
}

/// What rules read about a thread's process, shared by the threads of a
/// process until one of them changes it (copy on write), and safe to
/// hand to another thread as a snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Command name (`proc.name`).
    pub comm: String,
    /// `argv[0]` (`proc.exe`).
    pub exe: String,
    /// Full executable path (`proc.exepath`).
    pub exepath: String,
    /// Arguments after `argv[0]` (`proc.args`).
    pub args: Vec<String>,
    /// Environment, `KEY=VALUE` each.
    pub env: Vec<String>,
    /// Root directory.
    pub root: String,
    /// Controlling terminal.
    pub tty: u32,
    /// Login uid (`user.loginuid`).
    pub loginuid: u32,
    /// Effective user id.
    pub uid: u32,
    /// Effective group id.
    pub gid: u32,
    /// Inheritable capabilities.
    pub cap_inheritable: u64,
    /// Permitted capabilities.
    pub cap_permitted: u64,
    /// Effective capabilities.
    pub cap_effective: u64,
    /// Session id.
    pub sid: i64,
    /// Process group id in the process's pid namespace.
    pub vpgid: i64,
    /// Process group id on the host.
    pub pgid: i64,
    /// fd limit.
    pub fdlimit: i64,
    /// Cgroups, `subsys=path` each.
    pub cgroups: Vec<String>,
    /// Container id from the cgroups (`"host"` outside containers).
    pub container_id: String,
    /// Executable writable by its user.
    pub exe_writable: bool,
    /// Executable in an overlayfs upper layer.
    pub exe_upper_layer: bool,
    /// Executable in an overlayfs lower layer.
    pub exe_lower_layer: bool,
    /// Executable from a memfd.
    pub exe_from_memfd: bool,
    /// Executable inode.
    pub exe_ino: u64,
    /// Executable inode ctime.
    pub exe_ino_ctime: u64,
    /// Executable inode mtime.
    pub exe_ino_mtime: u64,
    /// Start of the pid namespace's init task.
    pub pidns_init_start_ts: u64,
}

impl ProcessInfo {
    /// Sets the cgroups and recomputes the container id.
    pub fn set_cgroups(&mut self, cgroups: Vec<String>) {
        self.container_id = container::container_id(&cgroups).to_string();
        self.cgroups = cgroups;
    }
}

/// One thread.
#[derive(Debug)]
pub struct Thread {
    /// Thread id.
    pub tid: i64,
    /// Process id (thread group leader); `tid` when unknown.
    pub pid: i64,
    /// Parent thread id; -1 when unknown.
    pub ptid: i64,
    /// Thread id in its pid namespace.
    pub vtid: i64,
    /// Process id in its pid namespace; -1 when unknown.
    pub vpid: i64,
    /// `PPM_CL_*` flags (see [`flags`]).
    pub flags: u32,
    /// Clone timestamp (0 when not seen).
    pub clone_ts: u64,
    /// Timestamp of the last successful execve (0 when not seen).
    pub lastexec_ts: u64,
    /// Process information (shared with the other threads of the process
    /// until changed).
    pub info: Arc<ProcessInfo>,
    pub(crate) last_enter: Vec<u8>,
    pub(crate) last_code: Option<u16>,
    pub(crate) last_fd: i64,
}

impl Thread {
    /// A thread about which nothing is known yet, as sinsp creates it for
    /// an unseen tid: pid = tid, no parent, unknown uid, name and
    /// executable `<NA>`.
    pub fn unknown(tid: i64) -> Self {
        let info = ProcessInfo {
            comm: "<NA>".to_string(),
            exe: "<NA>".to_string(),
            uid: u32::MAX,
            gid: u32::MAX,
            loginuid: u32::MAX,
            container_id: container::HOST.to_string(),
            sid: -1,
            vpgid: -1,
            pgid: -1,
            ..Default::default()
        };
        Thread::with_info(tid, tid, -1, Arc::new(info))
    }

    pub(crate) fn with_info(tid: i64, pid: i64, ptid: i64, info: Arc<ProcessInfo>) -> Self {
        Thread {
            tid,
            pid,
            ptid,
            vtid: tid,
            vpid: -1,
            flags: 0,
            clone_ts: 0,
            lastexec_ts: 0,
            info,
            last_enter: Vec::new(),
            last_code: None,
            last_fd: -1,
        }
    }

    /// True when sinsp would call the thread invalid (pid or parent unknown).
    pub fn is_invalid(&self) -> bool {
        self.tid < 0 || self.pid < 0 || self.ptid < 0
    }

    /// True for the thread group leader.
    pub fn is_main_thread(&self) -> bool {
        self.tid == self.pid
    }

    /// Mutable process info (copied first when shared).
    pub fn info_mut(&mut self) -> &mut ProcessInfo {
        Arc::make_mut(&mut self.info)
    }
}

/// A user (`user.*` fields).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Login name.
    pub name: String,
    /// Home directory.
    pub homedir: String,
    /// Login shell.
    pub shell: String,
}

/// A group (`group.*` fields).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupInfo {
    /// Group id.
    pub gid: u32,
    /// Group name.
    pub name: String,
}

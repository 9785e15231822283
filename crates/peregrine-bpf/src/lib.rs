//! Live capture: a CO-RE eBPF probe that writes Falco scap events into a
//! BPF ring buffer, and its loader.
//!
//! The probe (`src/bpf/probe.bpf.c`, compiled by `build.rs` with clang
//! against the running kernel's BTF) attaches **per syscall**: for each
//! selected syscall X, `syscalls/sys_exit_X` writes one exit event carrying
//! the full parameter set of the current schema (no enter events, as
//! Falco's current drivers). The arguments are read at exit from the
//! registers the task saved on kernel entry (`bpf_task_pt_regs`), so there
//! is no enter program and no per-thread stash. Syscalls that are not
//! selected get no program, so they pay only the kernel's syscall-tracing
//! slow path. [`SYSCALLS`] is the table of supported syscalls and the
//! events they emit; [`syscalls_for_event_type`] maps rule event types to
//! syscalls.
//! `sched/sched_process_exit` (procexit) is always attached;
//! `sched/sched_process_exec` is attached with execve/execveat and emits
//! the successful execve exit event (failures come from `sys_exit_execve`).
//! Children of clone/clone3/fork/vfork are reported by the child's own
//! clone exit (`res == 0`), the first thing a new thread runs.
//!
//! **One ring buffer** is shared by all CPUs. With per-CPU buffers, events
//! of different CPUs must be merged by timestamp in user space (the classic
//! pitfall); with one buffer the consumer reads them in the order they were
//! committed. Timestamps are taken when an event starts being built, so two
//! CPUs can commit a few microseconds out of timestamp order; on a 2-core
//! machine the shared buffer's lock costs nothing measurable.
//!
//! Loader: [aya](https://docs.rs/aya) (pure Rust, loads clang-built
//! objects and does the CO-RE relocations itself; no C libbpf to build).
//! Memory: kernels since 5.11 account BPF memory to the cgroup; aya raises
//! `RLIMIT_MEMLOCK` only on older kernels and only warns when it cannot.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod proc_scan;

use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use aya::maps::{MapData, PerCpuArray, RingBuf};
use aya::programs::TracePoint;
use aya::{Ebpf, EbpfLoader};
use peregrine_event::code;

/// The compiled probe object.
static PROBE: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/probe.bpf.o"));

/// Version of the probe's event output (bumped when what it emits changes).
pub const PROBE_VERSION: &str = "0.2.0";

/// Errors of the live source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A syscall name that the probe has no program for.
    #[error("syscall `{0}` is not supported by the probe (supported: {list})", list = supported_syscalls().collect::<Vec<_>>().join(", "))]
    Unsupported(String),
    /// Loading the object or creating its maps failed.
    #[error("loading the BPF probe failed (root and BPF support are required): {0}")]
    Load(String),
    /// Loading (verifying) one program failed.
    #[error("loading BPF program `{prog}` failed: {msg}")]
    Program {
        /// Program name.
        prog: String,
        /// Error with the verifier log.
        msg: String,
    },
    /// Attaching a program to its tracepoint failed.
    #[error("attaching `{prog}` to tracepoint {tp} failed: {msg}")]
    Attach {
        /// Program name.
        prog: String,
        /// Tracepoint `category/name`.
        tp: String,
        /// Error.
        msg: String,
    },
    /// tracefs is not mounted and could not be mounted.
    #[error("tracefs is not mounted at /sys/kernel/tracing and mounting it failed: {0}")]
    Tracefs(std::io::Error),
    /// Waiting on the ring buffer failed.
    #[error("polling the ring buffer failed: {0}")]
    Poll(std::io::Error),
}

/// Result of the live source.
pub type Result<T> = std::result::Result<T, Error>;

/// One syscall the probe has a program for: `syscalls/sys_exit_<name>`
/// runs `x_<name>`, which emits the exit event `event`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syscall {
    /// Syscall name (the tracepoint's).
    pub name: &'static str,
    /// Event code the program emits (`peregrine_event::code::*`).
    pub event: u16,
}

impl Syscall {
    /// The name of its tracepoints (`syscalls/sys_exit_<name>`): the name
    /// of the kernel's `SYSCALL_DEFINE`, which differs for `umount2`.
    pub fn tracepoint(&self) -> &'static str {
        match self.name {
            "umount2" => "umount",
            n => n,
        }
    }

    /// The event type name rules use for this syscall (`evt.type`).
    pub fn event_type(&self) -> &'static str {
        peregrine_event::event_info(self.event).map_or(self.name, |i| i.name)
    }
}

/// Every syscall the probe supports, with the exit event it emits: the one
/// table that maps rule event types to the syscalls to attach.
pub const SYSCALLS: &[Syscall] = &[
    Syscall {
        name: "open",
        event: code::SYSCALL_OPEN_X,
    },
    Syscall {
        name: "openat",
        event: code::SYSCALL_OPENAT_2_X,
    },
    Syscall {
        name: "openat2",
        event: code::SYSCALL_OPENAT2_X,
    },
    Syscall {
        name: "creat",
        event: code::SYSCALL_CREAT_X,
    },
    Syscall {
        name: "close",
        event: code::SYSCALL_CLOSE_X,
    },
    Syscall {
        name: "dup",
        event: code::SYSCALL_DUP_1_X,
    },
    Syscall {
        name: "dup2",
        event: code::SYSCALL_DUP2_X,
    },
    Syscall {
        name: "dup3",
        event: code::SYSCALL_DUP3_X,
    },
    Syscall {
        name: "fcntl",
        event: code::SYSCALL_FCNTL_X,
    },
    Syscall {
        name: "pipe",
        event: code::SYSCALL_PIPE_X,
    },
    Syscall {
        name: "pipe2",
        event: code::SYSCALL_PIPE2_X,
    },
    Syscall {
        name: "read",
        event: code::SYSCALL_READ_X,
    },
    Syscall {
        name: "write",
        event: code::SYSCALL_WRITE_X,
    },
    Syscall {
        name: "pread64",
        event: code::SYSCALL_PREAD_X,
    },
    Syscall {
        name: "pwrite64",
        event: code::SYSCALL_PWRITE_X,
    },
    Syscall {
        name: "readv",
        event: code::SYSCALL_READV_X,
    },
    Syscall {
        name: "writev",
        event: code::SYSCALL_WRITEV_X,
    },
    Syscall {
        name: "preadv",
        event: code::SYSCALL_PREADV_X,
    },
    Syscall {
        name: "pwritev",
        event: code::SYSCALL_PWRITEV_X,
    },
    Syscall {
        name: "splice",
        event: code::SYSCALL_SPLICE_X,
    },
    Syscall {
        name: "rename",
        event: code::SYSCALL_RENAME_X,
    },
    Syscall {
        name: "renameat",
        event: code::SYSCALL_RENAMEAT_X,
    },
    Syscall {
        name: "renameat2",
        event: code::SYSCALL_RENAMEAT2_X,
    },
    Syscall {
        name: "unlink",
        event: code::SYSCALL_UNLINK_2_X,
    },
    Syscall {
        name: "unlinkat",
        event: code::SYSCALL_UNLINKAT_2_X,
    },
    Syscall {
        name: "mkdir",
        event: code::SYSCALL_MKDIR_2_X,
    },
    Syscall {
        name: "mkdirat",
        event: code::SYSCALL_MKDIRAT_X,
    },
    Syscall {
        name: "rmdir",
        event: code::SYSCALL_RMDIR_2_X,
    },
    Syscall {
        name: "link",
        event: code::SYSCALL_LINK_2_X,
    },
    Syscall {
        name: "linkat",
        event: code::SYSCALL_LINKAT_2_X,
    },
    Syscall {
        name: "symlink",
        event: code::SYSCALL_SYMLINK_X,
    },
    Syscall {
        name: "symlinkat",
        event: code::SYSCALL_SYMLINKAT_X,
    },
    Syscall {
        name: "chmod",
        event: code::SYSCALL_CHMOD_X,
    },
    Syscall {
        name: "fchmod",
        event: code::SYSCALL_FCHMOD_X,
    },
    Syscall {
        name: "fchmodat",
        event: code::SYSCALL_FCHMODAT_X,
    },
    Syscall {
        name: "chown",
        event: code::SYSCALL_CHOWN_X,
    },
    Syscall {
        name: "lchown",
        event: code::SYSCALL_LCHOWN_X,
    },
    Syscall {
        name: "fchown",
        event: code::SYSCALL_FCHOWN_X,
    },
    Syscall {
        name: "fchownat",
        event: code::SYSCALL_FCHOWNAT_X,
    },
    Syscall {
        name: "chdir",
        event: code::SYSCALL_CHDIR_X,
    },
    Syscall {
        name: "fchdir",
        event: code::SYSCALL_FCHDIR_X,
    },
    Syscall {
        name: "chroot",
        event: code::SYSCALL_CHROOT_X,
    },
    Syscall {
        name: "mount",
        event: code::SYSCALL_MOUNT_X,
    },
    Syscall {
        name: "umount2",
        event: code::SYSCALL_UMOUNT2_X,
    },
    Syscall {
        name: "socket",
        event: code::SOCKET_SOCKET_X,
    },
    Syscall {
        name: "socketpair",
        event: code::SOCKET_SOCKETPAIR_X,
    },
    Syscall {
        name: "bind",
        event: code::SOCKET_BIND_X,
    },
    Syscall {
        name: "listen",
        event: code::SOCKET_LISTEN_X,
    },
    Syscall {
        name: "connect",
        event: code::SOCKET_CONNECT_X,
    },
    Syscall {
        name: "accept",
        event: code::SOCKET_ACCEPT_5_X,
    },
    Syscall {
        name: "accept4",
        event: code::SOCKET_ACCEPT4_6_X,
    },
    Syscall {
        name: "sendto",
        event: code::SOCKET_SENDTO_X,
    },
    Syscall {
        name: "recvfrom",
        event: code::SOCKET_RECVFROM_X,
    },
    Syscall {
        name: "sendmsg",
        event: code::SOCKET_SENDMSG_X,
    },
    Syscall {
        name: "recvmsg",
        event: code::SOCKET_RECVMSG_X,
    },
    Syscall {
        name: "execve",
        event: code::SYSCALL_EXECVE_19_X,
    },
    Syscall {
        name: "execveat",
        event: code::SYSCALL_EXECVEAT_X,
    },
    Syscall {
        name: "clone",
        event: code::SYSCALL_CLONE_20_X,
    },
    Syscall {
        name: "clone3",
        event: code::SYSCALL_CLONE3_X,
    },
    Syscall {
        name: "fork",
        event: code::SYSCALL_FORK_20_X,
    },
    Syscall {
        name: "vfork",
        event: code::SYSCALL_VFORK_20_X,
    },
    Syscall {
        name: "setuid",
        event: code::SYSCALL_SETUID_X,
    },
    Syscall {
        name: "setgid",
        event: code::SYSCALL_SETGID_X,
    },
    Syscall {
        name: "setresuid",
        event: code::SYSCALL_SETRESUID_X,
    },
    Syscall {
        name: "setresgid",
        event: code::SYSCALL_SETRESGID_X,
    },
    Syscall {
        name: "capset",
        event: code::SYSCALL_CAPSET_X,
    },
    Syscall {
        name: "prctl",
        event: code::SYSCALL_PRCTL_X,
    },
    Syscall {
        name: "unshare",
        event: code::SYSCALL_UNSHARE_X,
    },
    Syscall {
        name: "setns",
        event: code::SYSCALL_SETNS_X,
    },
    Syscall {
        name: "ptrace",
        event: code::SYSCALL_PTRACE_X,
    },
    Syscall {
        name: "kill",
        event: code::SYSCALL_KILL_X,
    },
    Syscall {
        name: "tkill",
        event: code::SYSCALL_TKILL_X,
    },
    Syscall {
        name: "tgkill",
        event: code::SYSCALL_TGKILL_X,
    },
    Syscall {
        name: "mmap",
        event: code::SYSCALL_MMAP_X,
    },
    Syscall {
        name: "mprotect",
        event: code::SYSCALL_MPROTECT_X,
    },
    Syscall {
        name: "memfd_create",
        event: code::SYSCALL_MEMFD_CREATE_X,
    },
    Syscall {
        name: "userfaultfd",
        event: code::SYSCALL_USERFAULTFD_X,
    },
    Syscall {
        name: "bpf",
        event: code::SYSCALL_BPF_2_X,
    },
    Syscall {
        name: "init_module",
        event: code::SYSCALL_INIT_MODULE_X,
    },
    Syscall {
        name: "finit_module",
        event: code::SYSCALL_FINIT_MODULE_X,
    },
];

/// Event types the probe always emits, whatever the selection (from
/// scheduler tracepoints, not syscalls).
pub const ALWAYS_ON_EVENT_TYPES: &[&str] = &["procexit"];

/// Names of the syscalls the probe supports.
pub fn supported_syscalls() -> impl Iterator<Item = &'static str> {
    SYSCALLS.iter().map(|s| s.name)
}

/// The syscalls to attach for rules on event type `event_type` (as in
/// `peregrine_event::event_info(code).name`, e.g. `open`, `execve`,
/// `pread` -> `pread64`). Empty for event types the probe cannot produce
/// or always produces (see [`ALWAYS_ON_EVENT_TYPES`]).
pub fn syscalls_for_event_type(event_type: &str) -> Vec<&'static str> {
    SYSCALLS
        .iter()
        .filter(|s| s.event_type() == event_type)
        .map(|s| s.name)
        .collect()
}

/// The probe's version (see [`PROBE_VERSION`]).
pub fn probe_version() -> &'static str {
    PROBE_VERSION
}

/// The event schema version the probe writes (`peregrine_event::SCHEMA_VERSION`).
pub fn schema_version() -> &'static str {
    peregrine_event::SCHEMA_VERSION
}

/// Options of [`LiveSource::open`].
#[derive(Clone, Debug)]
pub struct LiveOptions<'a> {
    /// Syscalls to capture (names from [`SYSCALLS`]). Others get no program.
    pub syscalls: &'a [&'a str],
    /// Ring buffer size in bytes (a power of two, multiple of the page
    /// size; rounded up). Default 8 MiB, Falco's default preset.
    pub ring_bytes: u32,
}

impl Default for LiveOptions<'_> {
    fn default() -> Self {
        LiveOptions {
            syscalls: &[],
            ring_bytes: 8 << 20,
        }
    }
}

/// Counters of the probe, summed over CPUs (see `struct counters` in
/// `src/bpf/scap.h`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounters {
    /// Events written to the ring buffer.
    pub events: u64,
    /// Events lost because the ring buffer was full.
    pub ring_full: u64,
    /// Parameters that could not be read (sent empty; event kept).
    pub read_fail: u64,
    /// Events lost because the scratch buffer was unavailable.
    pub scratch_fail: u64,
}

// SAFETY: `DropCounters` is `repr(C)` with only `u64` fields (no padding),
// matching the probe's `struct counters`; every bit pattern is valid.
unsafe impl aya::Pod for DropCounters {}

impl DropCounters {
    /// Events lost (ring full, scratch failures).
    pub fn lost(&self) -> u64 {
        self.ring_full + self.scratch_fail
    }

    fn add(&mut self, o: &DropCounters) {
        self.events += o.events;
        self.ring_full += o.ring_full;
        self.read_fail += o.read_fail;
        self.scratch_fail += o.scratch_fail;
    }
}

/// A running live capture. Dropping it detaches every program.
pub struct LiveSource {
    ring: RingBuf<MapData>,
    counters: PerCpuArray<MapData, DropCounters>,
    buf: Vec<u8>,
    attached: Vec<String>,
    unavailable: Vec<String>,
    boot_offset_ns: u64,
    // Owns the programs and their links: dropped last, which detaches them.
    _ebpf: Ebpf,
}

impl std::fmt::Debug for LiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSource")
            .field("attached", &self.attached)
            .finish_non_exhaustive()
    }
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; clock_gettime only writes it.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Nanoseconds to add to `CLOCK_BOOTTIME` to get the epoch time (the
/// tightest of a few samples).
pub fn boot_offset_ns() -> u64 {
    let mut best = (u64::MAX, 0u64);
    for _ in 0..5 {
        let b1 = clock_ns(libc::CLOCK_BOOTTIME);
        let r = clock_ns(libc::CLOCK_REALTIME);
        let b2 = clock_ns(libc::CLOCK_BOOTTIME);
        let width = b2.saturating_sub(b1);
        if width < best.0 {
            best = (width, r.saturating_sub(b1 + width / 2));
        }
    }
    best.1
}

/// Mounts tracefs at /sys/kernel/tracing when nothing is there (tracepoint
/// ids are read from it).
fn ensure_tracefs() -> Result<()> {
    let p = Path::new("/sys/kernel/tracing");
    if p.join("events").exists() || Path::new("/sys/kernel/debug/tracing/events").exists() {
        return Ok(());
    }
    let src = c"tracefs";
    let dst = c"/sys/kernel/tracing";
    // SAFETY: all pointers are valid NUL-terminated strings; data is null.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            src.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(Error::Tracefs(std::io::Error::last_os_error()));
    }
    Ok(())
}

/// The tracefs `events` directory, if found.
fn tracefs_events() -> Option<std::path::PathBuf> {
    [
        "/sys/kernel/tracing/events",
        "/sys/kernel/debug/tracing/events",
    ]
    .iter()
    .map(std::path::PathBuf::from)
    .find(|p| p.exists())
}

fn load_attach(ebpf: &mut Ebpf, prog: &str, category: &str, tp: &str) -> Result<()> {
    let p: &mut TracePoint = ebpf
        .program_mut(prog)
        .ok_or_else(|| Error::Load(format!("program {prog} missing from the object")))?
        .try_into()
        .map_err(|e| Error::Load(format!("{prog}: {e}")))?;
    p.load().map_err(|e| Error::Program {
        prog: prog.to_string(),
        msg: verifier_msg(&e),
    })?;
    p.attach(category, tp).map_err(|e| Error::Attach {
        prog: prog.to_string(),
        tp: format!("{category}/{tp}"),
        msg: e.to_string(),
    })?;
    Ok(())
}

/// An error and its sources, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn verifier_msg(e: &aya::programs::ProgramError) -> String {
    match e {
        aya::programs::ProgramError::LoadError {
            io_error,
            verifier_log,
        } => {
            // Keep the end of the log: the error is there.
            let log = verifier_log.to_string();
            let tail: String = log
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            format!("{io_error}\n{tail}")
        }
        other => other.to_string(),
    }
}

impl LiveSource {
    /// Loads the probe and attaches the programs of `opts.syscalls` (plus
    /// procexit, and sched_process_exec with execve/execveat).
    pub fn open(opts: &LiveOptions<'_>) -> Result<LiveSource> {
        let mut selected: Vec<&Syscall> = Vec::new();
        for name in opts.syscalls {
            let s = SYSCALLS
                .iter()
                .find(|s| s.name == *name)
                .ok_or_else(|| Error::Unsupported(name.to_string()))?;
            if !selected.iter().any(|x| x.name == s.name) {
                selected.push(s);
            }
        }
        ensure_tracefs()?;
        let ncpus =
            aya::util::nr_cpus().map_err(|(what, e)| Error::Load(format!("{what}: {e}")))? as u32;
        let page = 4096u32;
        let ring = opts.ring_bytes.max(page).next_power_of_two();
        let boot_offset = boot_offset_ns();
        let wakeup_bytes = u64::from(ring / 4);
        let mut ebpf = EbpfLoader::new()
            .override_global("boot_offset_ns", &boot_offset, true)
            .override_global("wakeup_bytes", &wakeup_bytes, true)
            .map_max_entries("events", ring)
            .map_max_entries("scratch", ncpus.max(1))
            .load(PROBE)
            .map_err(|e| Error::Load(chain(&e)))?;

        let mut attached = Vec::new();
        let mut unavailable = Vec::new();
        load_attach(&mut ebpf, "sched_exit", "sched", "sched_process_exit")?;
        attached.push("sched/sched_process_exit".to_string());
        let events = tracefs_events();
        for s in &selected {
            let tp = format!("sys_exit_{}", s.tracepoint());
            // A syscall this kernel does not have (e.g. init_module
            // without CONFIG_MODULES) has no tracepoint: nothing to watch.
            if let Some(dir) = &events
                && !dir.join("syscalls").join(&tp).exists()
            {
                unavailable.push(s.name.to_string());
                continue;
            }
            load_attach(&mut ebpf, &format!("x_{}", s.name), "syscalls", &tp)?;
            attached.push(format!("syscalls/{tp}"));
        }
        if selected
            .iter()
            .any(|s| s.name == "execve" || s.name == "execveat")
        {
            load_attach(&mut ebpf, "sched_exec", "sched", "sched_process_exec")?;
            attached.push("sched/sched_process_exec".to_string());
        }

        let ring = RingBuf::try_from(
            ebpf.take_map("events")
                .ok_or_else(|| Error::Load("map events missing".into()))?,
        )
        .map_err(|e| Error::Load(e.to_string()))?;
        let counters = PerCpuArray::try_from(
            ebpf.take_map("counters")
                .ok_or_else(|| Error::Load("map counters missing".into()))?,
        )
        .map_err(|e| Error::Load(e.to_string()))?;
        Ok(LiveSource {
            ring,
            counters,
            buf: Vec::with_capacity(64 * 1024),
            attached,
            unavailable,
            boot_offset_ns: boot_offset,
            _ebpf: ebpf,
        })
    }

    /// Names of the syscalls the probe supports (see [`SYSCALLS`]).
    pub fn supported_syscalls() -> impl Iterator<Item = &'static str> {
        supported_syscalls()
    }

    /// The probe's version and the event schema version it writes.
    pub fn versions() -> (&'static str, &'static str) {
        (probe_version(), schema_version())
    }

    /// Selected syscalls that this kernel does not have (no tracepoint):
    /// they were skipped.
    pub fn unavailable(&self) -> &[String] {
        &self.unavailable
    }

    /// Tracepoints with a program attached (`category/name`).
    pub fn attached(&self) -> &[String] {
        &self.attached
    }

    /// The offset added to `CLOCK_BOOTTIME` to make event timestamps.
    pub fn boot_offset_ns(&self) -> u64 {
        self.boot_offset_ns
    }

    /// The next event (scap bytes: header, lengths, parameters), waiting
    /// up to `timeout` for one; `None` when none came. Records too short
    /// for a header or whose `len` field disagrees are skipped.
    pub fn next_event(&mut self, timeout: Duration) -> Result<Option<&[u8]>> {
        // The probe wakes the consumer only when the buffer is a quarter
        // full, so wait in slices of at most POLL_SLICE: poll() returns at
        // once when data is already there.
        const POLL_SLICE: Duration = Duration::from_millis(5);
        let end = std::time::Instant::now() + timeout;
        loop {
            if let Some(item) = self.ring.next() {
                let b: &[u8] = &item;
                let ok = b.len() >= peregrine_event::HEADER_LEN
                    && u32::from_le_bytes([b[16], b[17], b[18], b[19]]) as usize == b.len();
                if !ok {
                    continue;
                }
                self.buf.clear();
                self.buf.extend_from_slice(b);
                drop(item);
                return Ok(Some(&self.buf));
            }
            let now = std::time::Instant::now();
            if now >= end {
                return Ok(None);
            }
            let slice = (end - now).min(POLL_SLICE);
            let mut pfd = libc::pollfd {
                fd: self.ring.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = slice.as_millis().max(1) as i32;
            // SAFETY: `pfd` is one valid pollfd and nfds is 1.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(Error::Poll(e));
                }
            }
        }
    }

    /// The bytes of the event the last successful [`LiveSource::next_event`]
    /// returned (empty before the first).
    pub fn last_event(&self) -> &[u8] {
        &self.buf
    }

    /// The probe's counters, summed over CPUs (zero if unreadable).
    pub fn drops(&self) -> DropCounters {
        let mut total = DropCounters::default();
        if let Ok(per_cpu) = self.counters.get(&0, 0) {
            for c in per_cpu.iter() {
                total.add(c);
            }
        }
        total
    }

    /// The probe's counters per CPU.
    pub fn drops_per_cpu(&self) -> Vec<DropCounters> {
        match self.counters.get(&0, 0) {
            Ok(v) => v.iter().copied().collect(),
            Err(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let src = include_str!("bpf/probe.bpf.c");
        let mut seen = std::collections::HashSet::new();
        for s in SYSCALLS {
            assert!(seen.insert(s.name), "{} listed twice", s.name);
            assert!(2 + s.name.len() <= 15, "program name x_{} too long", s.name);
            assert!(
                src.contains(&format!("SYSCALL_EXIT({}) {{", s.name)),
                "no program for {}",
                s.name
            );
            let info = peregrine_event::event_info(s.event).expect("event code in the schema");
            assert_eq!(s.event % 2, 1, "{}: not an exit event", s.name);
            assert!(!info.name.is_empty());
        }
    }

    #[test]
    fn event_codes_match_the_schema() {
        // Every PPME_* constant of scap.h equals the generated table's code.
        let hdr = include_str!("bpf/scap.h");
        let mut n = 0;
        for line in hdr.lines() {
            let Some(rest) = line.strip_prefix("#define PPME_") else {
                continue;
            };
            let mut it = rest.split_whitespace();
            let (name, val) = (it.next().unwrap(), it.next().unwrap());
            let val: u16 = val.parse().unwrap();
            let info = peregrine_event::event_info(val).expect("code in the schema");
            let direction_ok = name.ends_with("_X") == (val % 2 == 1);
            assert!(direction_ok, "{name} = {val} ({})", info.name);
            n += 1;
        }
        assert!(n > 60);
        for s in SYSCALLS {
            assert!(
                hdr.lines().any(|l| l.starts_with("#define PPME_")
                    && l.split_whitespace().nth(2) == Some(&s.event.to_string())),
                "{}: event {} not defined in scap.h",
                s.name,
                s.event
            );
        }
    }

    #[test]
    fn event_type_mapping() {
        assert_eq!(syscalls_for_event_type("open"), ["open"]);
        assert_eq!(syscalls_for_event_type("openat"), ["openat"]);
        assert_eq!(syscalls_for_event_type("execve"), ["execve"]);
        assert_eq!(syscalls_for_event_type("connect"), ["connect"]);
        assert_eq!(syscalls_for_event_type("pread"), ["pread64"]);
        assert_eq!(syscalls_for_event_type("umount2"), ["umount2"]);
        assert!(syscalls_for_event_type("procexit").is_empty());
        assert!(syscalls_for_event_type("no_such_event").is_empty());
        for s in SYSCALLS {
            assert!(syscalls_for_event_type(s.event_type()).contains(&s.name));
        }
        assert_eq!(schema_version(), peregrine_event::SCHEMA_VERSION);
        assert!(!probe_version().is_empty());
    }
}

//! Live capture: a CO-RE eBPF probe that writes Falco scap events into
//! per-CPU rings, and its loader.
//!
//! The probe (`src/bpf/probe.bpf.c`, compiled by `build.rs` with clang
//! against the running kernel's BTF) attaches **per syscall**: for each
//! selected syscall X, `syscalls/sys_exit_X` writes one exit event carrying
//! the full parameter set of the current schema (no enter events, as
//! Falco's current drivers). The arguments are read at exit from the
//! registers the task saved on kernel entry (`task_pt_regs`), so there
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
//! **Rings**: one per CPU, each with a single producer (the CPU's
//! programs, which never run two at a time) and a single consumer, so the
//! probe takes no lock; they live in two memory-mapped BPF arrays (control
//! positions and data), read in place by `cpu_ring.rs`. Falco's
//! `buf_size_preset` and `cpus_for_each_buffer` set the memory: the bytes
//! Falco's buffers would take are shared out among the CPUs (see
//! [`ring_bytes_per_cpu`]). [`LiveSource::next_event`] returns the oldest of
//! the rings' next events, so one thread's events come out in order even
//! when it moves between CPUs; timestamps are taken when an event starts
//! being built, so events of two CPUs can come a few microseconds out of
//! timestamp order. The probe never wakes the consumer: the consumer polls,
//! sleeping from [`IDLE_SLEEP_MIN`] up to [`IDLE_SLEEP_MAX`] while the rings
//! stay empty, so a ring must hold what arrives in [`IDLE_SLEEP_MAX`] (1
//! MiB, the smallest, holds 200 MB/s).
//!
//! Loader: [aya](https://docs.rs/aya) (pure Rust, loads clang-built
//! objects and does the CO-RE relocations itself; no C libbpf to build).
//! Memory: kernels since 5.11 account BPF memory to the cgroup; aya raises
//! `RLIMIT_MEMLOCK` only on older kernels and only warns when it cannot.

#![deny(unsafe_op_in_unsafe_fn)]

mod cpu_ring;
mod kfunc;
pub mod proc_scan;

use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aya::maps::{MapData, PerCpuArray};
use aya::programs::TracePoint;
use aya::programs::trace_point::TracePointLink;
use aya::{Btf, Ebpf, EbpfLoader};
use cpu_ring::{CpuRing, RingMaps, Span};
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

/// A table entry.
const fn sc(name: &'static str, event: u16) -> Syscall {
    Syscall { name, event }
}

/// Every syscall the probe supports, with the exit event it emits: the one
/// table that maps rule event types to the syscalls to attach.
pub const SYSCALLS: &[Syscall] = &[
    sc("open", code::SYSCALL_OPEN_X),
    sc("openat", code::SYSCALL_OPENAT_2_X),
    sc("openat2", code::SYSCALL_OPENAT2_X),
    sc("creat", code::SYSCALL_CREAT_X),
    sc("close", code::SYSCALL_CLOSE_X),
    sc("dup", code::SYSCALL_DUP_1_X),
    sc("dup2", code::SYSCALL_DUP2_X),
    sc("dup3", code::SYSCALL_DUP3_X),
    sc("fcntl", code::SYSCALL_FCNTL_X),
    sc("pipe", code::SYSCALL_PIPE_X),
    sc("pipe2", code::SYSCALL_PIPE2_X),
    sc("read", code::SYSCALL_READ_X),
    sc("write", code::SYSCALL_WRITE_X),
    sc("pread64", code::SYSCALL_PREAD_X),
    sc("pwrite64", code::SYSCALL_PWRITE_X),
    sc("readv", code::SYSCALL_READV_X),
    sc("writev", code::SYSCALL_WRITEV_X),
    sc("preadv", code::SYSCALL_PREADV_X),
    sc("pwritev", code::SYSCALL_PWRITEV_X),
    sc("splice", code::SYSCALL_SPLICE_X),
    sc("rename", code::SYSCALL_RENAME_X),
    sc("renameat", code::SYSCALL_RENAMEAT_X),
    sc("renameat2", code::SYSCALL_RENAMEAT2_X),
    sc("unlink", code::SYSCALL_UNLINK_2_X),
    sc("unlinkat", code::SYSCALL_UNLINKAT_2_X),
    sc("mkdir", code::SYSCALL_MKDIR_2_X),
    sc("mkdirat", code::SYSCALL_MKDIRAT_X),
    sc("rmdir", code::SYSCALL_RMDIR_2_X),
    sc("link", code::SYSCALL_LINK_2_X),
    sc("linkat", code::SYSCALL_LINKAT_2_X),
    sc("symlink", code::SYSCALL_SYMLINK_X),
    sc("symlinkat", code::SYSCALL_SYMLINKAT_X),
    sc("chmod", code::SYSCALL_CHMOD_X),
    sc("fchmod", code::SYSCALL_FCHMOD_X),
    sc("fchmodat", code::SYSCALL_FCHMODAT_X),
    sc("chown", code::SYSCALL_CHOWN_X),
    sc("lchown", code::SYSCALL_LCHOWN_X),
    sc("fchown", code::SYSCALL_FCHOWN_X),
    sc("fchownat", code::SYSCALL_FCHOWNAT_X),
    sc("chdir", code::SYSCALL_CHDIR_X),
    sc("fchdir", code::SYSCALL_FCHDIR_X),
    sc("chroot", code::SYSCALL_CHROOT_X),
    sc("mount", code::SYSCALL_MOUNT_X),
    sc("umount2", code::SYSCALL_UMOUNT2_X),
    sc("socket", code::SOCKET_SOCKET_X),
    sc("socketpair", code::SOCKET_SOCKETPAIR_X),
    sc("bind", code::SOCKET_BIND_X),
    sc("listen", code::SOCKET_LISTEN_X),
    sc("connect", code::SOCKET_CONNECT_X),
    sc("accept", code::SOCKET_ACCEPT_5_X),
    sc("accept4", code::SOCKET_ACCEPT4_6_X),
    sc("sendto", code::SOCKET_SENDTO_X),
    sc("recvfrom", code::SOCKET_RECVFROM_X),
    sc("sendmsg", code::SOCKET_SENDMSG_X),
    sc("recvmsg", code::SOCKET_RECVMSG_X),
    sc("execve", code::SYSCALL_EXECVE_19_X),
    sc("execveat", code::SYSCALL_EXECVEAT_X),
    sc("clone", code::SYSCALL_CLONE_20_X),
    sc("clone3", code::SYSCALL_CLONE3_X),
    sc("fork", code::SYSCALL_FORK_20_X),
    sc("vfork", code::SYSCALL_VFORK_20_X),
    sc("setuid", code::SYSCALL_SETUID_X),
    sc("setgid", code::SYSCALL_SETGID_X),
    sc("setresuid", code::SYSCALL_SETRESUID_X),
    sc("setresgid", code::SYSCALL_SETRESGID_X),
    sc("capset", code::SYSCALL_CAPSET_X),
    sc("prctl", code::SYSCALL_PRCTL_X),
    sc("unshare", code::SYSCALL_UNSHARE_X),
    sc("setns", code::SYSCALL_SETNS_X),
    sc("ptrace", code::SYSCALL_PTRACE_X),
    sc("kill", code::SYSCALL_KILL_X),
    sc("tkill", code::SYSCALL_TKILL_X),
    sc("tgkill", code::SYSCALL_TGKILL_X),
    sc("mmap", code::SYSCALL_MMAP_X),
    sc("mprotect", code::SYSCALL_MPROTECT_X),
    sc("memfd_create", code::SYSCALL_MEMFD_CREATE_X),
    sc("userfaultfd", code::SYSCALL_USERFAULTFD_X),
    sc("bpf", code::SYSCALL_BPF_2_X),
    sc("init_module", code::SYSCALL_INIT_MODULE_X),
    sc("finit_module", code::SYSCALL_FINIT_MODULE_X),
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
    /// Size of each of Falco's ring buffers in bytes (`buf_size_preset`).
    /// Default 8 MiB, Falco's default preset. With `cpus_per_buffer` it
    /// sets the memory of the per-CPU rings ([`ring_bytes_per_cpu`]).
    pub ring_bytes: u32,
    /// CPUs that share one of Falco's ring buffers
    /// (`cpus_for_each_buffer`); 0 puts every CPU on one buffer. Default
    /// 2, as in Falco.
    pub cpus_per_buffer: u32,
}

impl Default for LiveOptions<'_> {
    fn default() -> Self {
        LiveOptions {
            syscalls: &[],
            ring_bytes: 8 << 20,
            cpus_per_buffer: 2,
        }
    }
}

/// The first sleep of a consumer that found the ring buffers empty.
pub const IDLE_SLEEP_MIN: Duration = Duration::from_micros(100);

/// The longest sleep of a consumer that finds the ring buffers empty (the
/// sleep doubles from [`IDLE_SLEEP_MIN`] while they stay empty).
pub const IDLE_SLEEP_MAX: Duration = Duration::from_millis(5);

/// Bytes of each CPU's ring: the memory Falco's buffers would take
/// (`ring_bytes` for each group of `per` online CPUs; 0: one group),
/// shared out among the `online` CPUs, rounded down to a power of two and
/// at least one chunk (1 MiB).
pub fn ring_bytes_per_cpu(ring_bytes: u32, online: u32, per: u32) -> u64 {
    let online = u64::from(online.max(1));
    let buffers = match per {
        0 => 1,
        n => online.div_ceil(u64::from(n)),
    };
    let share = u64::from(ring_bytes) * buffers / online;
    let chunk = cpu_ring::CHUNK as u64;
    if share <= chunk {
        chunk
    } else {
        1 << share.ilog2()
    }
}

/// Counters of the probe, summed over CPUs (see `struct counters` in
/// `src/bpf/scap.h`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounters {
    /// Events written to a ring buffer.
    pub events: u64,
    /// Events lost because their ring buffer was full.
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

/// A handle on the probe's counters that can outlive the borrow of the
/// [`LiveSource`] (cloned, kept by whoever reports drops); the counters
/// stay readable as long as a handle exists.
#[derive(Clone)]
pub struct ProbeCounters(Arc<PerCpuArray<MapData, DropCounters>>);

impl std::fmt::Debug for ProbeCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ProbeCounters").field(&self.read()).finish()
    }
}

impl ProbeCounters {
    /// The counters summed over CPUs (zero if unreadable).
    pub fn read(&self) -> DropCounters {
        let mut total = DropCounters::default();
        for c in self.per_cpu() {
            total.add(&c);
        }
        total
    }

    /// The counters of each CPU (empty if unreadable).
    pub fn per_cpu(&self) -> Vec<DropCounters> {
        match self.0.get(&0, 0) {
            Ok(v) => v.iter().copied().collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// A running live capture. Dropping it detaches every program.
pub struct LiveSource {
    rings: Vec<CpuRing>,
    /// Each ring's next event, read but not handed out yet (the merge
    /// compares their timestamps); it stays valid in place until that
    /// ring is read again.
    pending: Vec<Option<Span>>,
    /// The ring and place of the event last handed out.
    current: Option<(usize, Span)>,
    counters: ProbeCounters,
    idle_sleep: Duration,
    attached: Vec<String>,
    unavailable: Vec<String>,
    /// The programs' attachments, detached on drop ([`detach_all`]).
    links: Vec<TracePointLink>,
    boot_offset_ns: u64,
    ring_bytes: u64,
    // Owns the programs: dropped last.
    _ebpf: Ebpf,
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        detach_all(std::mem::take(&mut self.links));
    }
}

impl std::fmt::Debug for LiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSource")
            .field("attached", &self.attached)
            .field("ring_buffers", &self.rings.len())
            .finish_non_exhaustive()
    }
}

/// Maps the rings of `cpus` CPUs (`chunks` chunks each) that the probe's
/// `ring_ctl` and `ring_data` arrays hold.
fn cpu_rings(ebpf: &Ebpf, cpus: usize, chunks: usize) -> Result<Vec<CpuRing>> {
    let fd = |name: &str| match ebpf.map(name) {
        Some(aya::maps::Map::Array(data)) => Ok(data.fd().as_fd()),
        _ => Err(Error::Load(format!("map {name} missing"))),
    };
    let maps = RingMaps::new(fd("ring_ctl")?, fd("ring_data")?, cpus, chunks)
        .map_err(|e| Error::Load(format!("mapping the rings: {e}")))?;
    Ok(maps.readers())
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

fn load_attach(ebpf: &mut Ebpf, prog: &str, category: &str, tp: &str) -> Result<TracePointLink> {
    let p: &mut TracePoint = ebpf
        .program_mut(prog)
        .ok_or_else(|| Error::Load(format!("program {prog} missing from the object")))?
        .try_into()
        .map_err(|e| Error::Load(format!("{prog}: {e}")))?;
    p.load().map_err(|e| Error::Program {
        prog: prog.to_string(),
        msg: verifier_msg(&e),
    })?;
    let attach_err = |e: aya::programs::ProgramError| Error::Attach {
        prog: prog.to_string(),
        tp: format!("{category}/{tp}"),
        msg: e.to_string(),
    };
    let id = p.attach(category, tp).map_err(attach_err)?;
    p.take_link(id).map_err(attach_err)
}

/// Detaches `links` several at a time: each detach waits for the kernel
/// to finish with the tracepoint (about 70 ms here), and those waits
/// partly overlap (43 links: 1.5 s instead of 3.1 s).
fn detach_all(mut links: Vec<TracePointLink>) {
    const AT_ONCE: usize = 16;
    let per = links.len().div_ceil(AT_ONCE).max(1);
    std::thread::scope(|s| {
        while !links.is_empty() {
            let batch: Vec<_> = links.drain(..per.min(links.len())).collect();
            // Without a thread, the batch is detached here, in turn.
            let _ = std::thread::Builder::new().spawn_scoped(s, move || drop(batch));
        }
    });
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
        let online =
            aya::util::online_cpus().map_err(|(what, e)| Error::Load(format!("{what}: {e}")))?;
        let cpus = ncpus.max(1);
        let ring_bytes =
            ring_bytes_per_cpu(opts.ring_bytes, online.len() as u32, opts.cpus_per_buffer);
        let chunks = (ring_bytes >> cpu_ring::CHUNK_SHIFT) as u32;
        let boot_offset = boot_offset_ns();
        let btf = Btf::from_sys_fs().map_err(|e| Error::Load(format!("kernel BTF: {e}")))?;
        let probe = kfunc::resolve(PROBE, &btf).map_err(Error::Load)?;
        let mut ebpf = EbpfLoader::new()
            .btf(Some(&btf))
            .override_global("boot_offset_ns", &boot_offset, true)
            .override_global("ring_chunks", &chunks, true)
            .map_max_entries("ring_ctl", cpus)
            .map_max_entries("ring_data", cpus * chunks)
            .map_max_entries("scratch", cpus)
            .load(probe.bytes())
            .map_err(|e| Error::Load(chain(&e)))?;
        let rings = cpu_rings(&ebpf, cpus as usize, chunks as usize)?;
        let counters = PerCpuArray::try_from(
            ebpf.take_map("counters")
                .ok_or_else(|| Error::Load("map counters missing".into()))?,
        )
        .map_err(|e| Error::Load(e.to_string()))?;

        let mut attached = Vec::new();
        let mut unavailable = Vec::new();
        let mut links = Vec::new();
        links.push(load_attach(
            &mut ebpf,
            "sched_exit",
            "sched",
            "sched_process_exit",
        )?);
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
            links.push(load_attach(
                &mut ebpf,
                &format!("x_{}", s.name),
                "syscalls",
                &tp,
            )?);
            attached.push(format!("syscalls/{tp}"));
        }
        if selected
            .iter()
            .any(|s| s.name == "execve" || s.name == "execveat")
        {
            links.push(load_attach(
                &mut ebpf,
                "sched_exec",
                "sched",
                "sched_process_exec",
            )?);
            attached.push("sched/sched_process_exec".to_string());
        }
        Ok(LiveSource {
            pending: vec![None; rings.len()],
            current: None,
            rings,
            counters: ProbeCounters(Arc::new(counters)),
            idle_sleep: IDLE_SLEEP_MIN,
            attached,
            unavailable,
            links,
            boot_offset_ns: boot_offset,
            ring_bytes,
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

    /// The number of rings: one per possible CPU.
    pub fn ring_buffers(&self) -> usize {
        self.rings.len()
    }

    /// The bytes of each CPU's ring ([`ring_bytes_per_cpu`]).
    pub fn ring_bytes(&self) -> u64 {
        self.ring_bytes
    }

    /// The next event (scap bytes: header, lengths, parameters), waiting
    /// up to `timeout` for one; `None` when none came: the oldest of the
    /// rings' next events.
    pub fn next_event(&mut self, timeout: Duration) -> Result<Option<&[u8]>> {
        let end = Instant::now() + timeout;
        // Reading its ring again frees the event handed out last.
        self.current = None;
        loop {
            if let Some((ring, span)) = self.pull_oldest() {
                self.idle_sleep = IDLE_SLEEP_MIN;
                self.current = Some((ring, span));
                return Ok(Some(self.rings[ring].bytes(span)));
            }
            // The probe never wakes the consumer: sleep, longer while the
            // rings stay empty.
            let now = Instant::now();
            if now >= end {
                return Ok(None);
            }
            std::thread::sleep(self.idle_sleep.min(end - now));
            self.idle_sleep = (self.idle_sleep * 2).min(IDLE_SLEEP_MAX);
        }
    }

    /// The oldest of the rings' next events: its ring and place.
    fn pull_oldest(&mut self) -> Option<(usize, Span)> {
        // Two passes: a ring found empty in the first is looked at again
        // once another gave an event, so that an event published before
        // that one (the same thread's previous syscall, say) is not
        // overtaken by it.
        let mut any = false;
        for _ in 0..2 {
            for (ring, pending) in self.rings.iter_mut().zip(&mut self.pending) {
                if pending.is_none() {
                    *pending = ring.next_span();
                }
                any |= pending.is_some();
            }
            if !any {
                return None;
            }
        }
        let ts = |i: usize, span: Span| {
            let header = &self.rings[i].bytes(span)[..8];
            u64::from_le_bytes(header.try_into().expect("events are longer than a header"))
        };
        let oldest = (0..self.rings.len())
            .filter_map(|i| self.pending[i].map(|span| (i, span)))
            .min_by_key(|&(i, span)| ts(i, span))?;
        self.pending[oldest.0] = None;
        Some(oldest)
    }

    /// The bytes of the event the last call to [`LiveSource::next_event`]
    /// returned (empty if it returned none).
    pub fn last_event(&self) -> &[u8] {
        match self.current {
            Some((ring, span)) => self.rings[ring].bytes(span),
            None => &[],
        }
    }

    /// The probe's counters, summed over CPUs (zero if unreadable).
    pub fn drops(&self) -> DropCounters {
        self.counters.read()
    }

    /// The probe's counters per CPU.
    pub fn drops_per_cpu(&self) -> Vec<DropCounters> {
        self.counters.per_cpu()
    }

    /// A handle on the probe's counters, for whoever reports drops while
    /// the source itself is busy delivering events.
    pub fn counters(&self) -> ProbeCounters {
        self.counters.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of `#define NAME value` in scap.h.
    fn scap_define(name: &str) -> Option<u16> {
        include_str!("bpf/scap.h").lines().find_map(|l| {
            let mut it = l.strip_prefix("#define ")?.split_whitespace();
            (it.next()? == name).then(|| it.next()?.parse().ok())?
        })
    }

    #[test]
    fn table_is_consistent() {
        let src = include_str!("bpf/probe.bpf.c");
        let mut seen = std::collections::HashSet::new();
        for s in SYSCALLS {
            assert!(seen.insert(s.name), "{} listed twice", s.name);
            assert!(2 + s.name.len() <= 15, "program name x_{} too long", s.name);
            let info = peregrine_event::event_info(s.event).expect("event code in the schema");
            assert_eq!(s.event % 2, 1, "{}: not an exit event", s.name);
            assert!(!info.name.is_empty());
            // The program: SYSCALL_EXIT(name), or SYSCALL_EVENT/SYSCALL_FIXED
            // with the table's event code and the schema's parameter count.
            if src.contains(&format!("SYSCALL_EXIT({}) {{", s.name)) {
                continue;
            }
            let args = ["SYSCALL_EVENT(", "SYSCALL_FIXED("]
                .iter()
                .find_map(|m| {
                    src.lines().find_map(|l| {
                        let rest = l.strip_prefix(m)?.strip_suffix(") {")?;
                        let args: Vec<&str> = rest.split(", ").collect();
                        (args[0] == s.name).then_some(args)
                    })
                })
                .unwrap_or_else(|| panic!("no program for {}", s.name));
            assert_eq!(
                scap_define(args[1]),
                Some(s.event),
                "{}: event code",
                s.name
            );
            assert_eq!(
                args[2].parse::<usize>().ok(),
                Some(info.params.len()),
                "{}: parameter count",
                s.name
            );
        }
    }

    #[test]
    fn per_cpu_rings_share_out_falcos_buffer_memory() {
        const MIB: u32 = 1 << 20;
        // Falco's default: 8 MiB for each pair of CPUs.
        assert_eq!(ring_bytes_per_cpu(8 * MIB, 2, 2), 4 << 20);
        assert_eq!(ring_bytes_per_cpu(8 * MIB, 4, 2), 4 << 20);
        // One buffer per CPU, or one for all.
        assert_eq!(ring_bytes_per_cpu(8 * MIB, 4, 1), 8 << 20);
        assert_eq!(ring_bytes_per_cpu(8 * MIB, 4, 0), 2 << 20);
        // An odd group rounds its share down to a power of two.
        assert_eq!(ring_bytes_per_cpu(8 * MIB, 3, 2), 4 << 20);
        assert_eq!(ring_bytes_per_cpu(8 * MIB, 6, 0), 1 << 20);
        // Never below one chunk, whatever the share.
        assert_eq!(ring_bytes_per_cpu(MIB, 64, 0), 1 << 20);
        assert_eq!(ring_bytes_per_cpu(16 << 10, 2, 0), 1 << 20);
        assert_eq!(ring_bytes_per_cpu(8 * MIB, 0, 2), 8 << 20);
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

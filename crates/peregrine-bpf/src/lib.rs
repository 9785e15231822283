//! Live capture: a CO-RE eBPF probe that writes Falco scap events into a
//! BPF ring buffer, and its loader.
//!
//! The probe (`src/bpf/probe.bpf.c`, compiled by `build.rs` with clang
//! against the running kernel's BTF) attaches **per syscall**: for each
//! selected syscall X, `syscalls/sys_enter_X` stashes the arguments in a
//! hash map keyed by thread id and `syscalls/sys_exit_X` writes one exit
//! event carrying the full parameter set of the current schema (no enter
//! events, as Falco's current drivers). Syscalls that are not selected get
//! no program, so they pay only the kernel's syscall-tracing slow path.
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

/// The compiled probe object.
static PROBE: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/probe.bpf.o"));

/// Version of the probe's event output (bumped when what it emits changes).
pub const PROBE_VERSION: &str = "0.1.0";

/// Errors of the live source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A syscall name that the probe has no program for.
    #[error("syscall `{0}` is not supported by the probe (supported: {list})", list = SUPPORTED.iter().map(|s| s.name).collect::<Vec<_>>().join(", "))]
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

/// One syscall the probe supports: its enter program (if it needs the
/// arguments) and exit program.
#[derive(Clone, Copy, Debug)]
pub struct SyscallProgs {
    /// Syscall name (as in `evt.type`).
    pub name: &'static str,
    /// Whether a `sys_enter_<name>` program stashes the arguments.
    pub enter: bool,
}

/// Every syscall the probe has programs for.
pub const SUPPORTED: &[SyscallProgs] = &[
    SyscallProgs {
        name: "open",
        enter: true,
    },
    SyscallProgs {
        name: "openat",
        enter: true,
    },
    SyscallProgs {
        name: "openat2",
        enter: true,
    },
    SyscallProgs {
        name: "creat",
        enter: true,
    },
    SyscallProgs {
        name: "close",
        enter: true,
    },
    SyscallProgs {
        name: "dup",
        enter: true,
    },
    SyscallProgs {
        name: "dup2",
        enter: true,
    },
    SyscallProgs {
        name: "dup3",
        enter: true,
    },
    SyscallProgs {
        name: "socket",
        enter: true,
    },
    SyscallProgs {
        name: "bind",
        enter: true,
    },
    SyscallProgs {
        name: "connect",
        enter: true,
    },
    SyscallProgs {
        name: "accept",
        enter: true,
    },
    SyscallProgs {
        name: "accept4",
        enter: true,
    },
    SyscallProgs {
        name: "execve",
        enter: true,
    },
    SyscallProgs {
        name: "execveat",
        enter: true,
    },
    SyscallProgs {
        name: "clone",
        enter: true,
    },
    SyscallProgs {
        name: "clone3",
        enter: true,
    },
    SyscallProgs {
        name: "fork",
        enter: false,
    },
    SyscallProgs {
        name: "vfork",
        enter: false,
    },
];

/// Options of [`LiveSource::open`].
#[derive(Clone, Debug)]
pub struct LiveOptions<'a> {
    /// Syscalls to capture (names from [`SUPPORTED`]). Others get no program.
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
    /// Exit events lost because the enter program had stashed nothing
    /// (syscalls already running at attach time, or a full stash).
    pub stash_miss: u64,
    /// Enter programs that could not stash their arguments.
    pub stash_full: u64,
    /// Events lost because the scratch buffer was unavailable.
    pub scratch_fail: u64,
}

// SAFETY: `DropCounters` is `repr(C)` with only `u64` fields (no padding),
// matching the probe's `struct counters`; every bit pattern is valid.
unsafe impl aya::Pod for DropCounters {}

impl DropCounters {
    /// Events lost (ring full, missing stash, scratch failures).
    pub fn lost(&self) -> u64 {
        self.ring_full + self.stash_miss + self.scratch_fail
    }

    fn add(&mut self, o: &DropCounters) {
        self.events += o.events;
        self.ring_full += o.ring_full;
        self.read_fail += o.read_fail;
        self.stash_miss += o.stash_miss;
        self.stash_full += o.stash_full;
        self.scratch_fail += o.scratch_fail;
    }
}

/// A running live capture. Dropping it detaches every program.
pub struct LiveSource {
    ring: RingBuf<MapData>,
    counters: PerCpuArray<MapData, DropCounters>,
    buf: Vec<u8>,
    attached: Vec<String>,
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
        let mut selected = Vec::new();
        for name in opts.syscalls {
            let s = SUPPORTED
                .iter()
                .find(|s| s.name == *name)
                .ok_or_else(|| Error::Unsupported(name.to_string()))?;
            if !selected.iter().any(|x: &&SyscallProgs| x.name == s.name) {
                selected.push(s);
            }
        }
        ensure_tracefs()?;
        let ncpus =
            aya::util::nr_cpus().map_err(|(what, e)| Error::Load(format!("{what}: {e}")))? as u32;
        let page = 4096u32;
        let ring = opts.ring_bytes.max(page).next_power_of_two();
        let boot_offset = boot_offset_ns();
        let mut ebpf = EbpfLoader::new()
            .override_global("boot_offset_ns", &boot_offset, true)
            .map_max_entries("events", ring)
            .map_max_entries("scratch", ncpus.max(1))
            .load(PROBE)
            .map_err(|e| Error::Load(chain(&e)))?;

        let mut attached = Vec::new();
        load_attach(&mut ebpf, "sched_exit", "sched", "sched_process_exit")?;
        attached.push("sched/sched_process_exit".to_string());
        for s in &selected {
            if s.enter {
                let tp = format!("sys_enter_{}", s.name);
                load_attach(&mut ebpf, &format!("e_{}", s.name), "syscalls", &tp)?;
                attached.push(format!("syscalls/{tp}"));
            }
            let tp = format!("sys_exit_{}", s.name);
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
            boot_offset_ns: boot_offset,
            _ebpf: ebpf,
        })
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

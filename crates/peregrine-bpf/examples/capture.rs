//! Prints live events (or writes them to a capture file).
//!
//! ```text
//! capture [-w FILE] [-q] [-n COUNT] [-s SECONDS] [-b BYTES] [-c CPUS] [syscall ...]
//! capture -l          # the supported syscalls
//! ```
//! `-q` only counts the events. `-b` and `-c` are Falco's ring buffer size
//! and CPUs per buffer (0: one buffer for all), which set the memory of the
//! per-CPU rings (`ring_bytes_per_cpu`). Default syscalls:
//! execve, openat, connect, clone, close. SIGINT/SIGTERM stop the capture
//! cleanly; the last line on stderr is `events=N bytes=N lost=N
//! ring_full=N scratch_fail=N read_fail=N buffers=N secs=S` (for
//! `bench/live.sh`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use peregrine_bpf::{LiveOptions, LiveSource};
use peregrine_event::{EventView, NoContext, render_args};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn main() {
    if let Err(e) = run() {
        eprintln!("capture: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut out: Option<String> = None;
    let mut count = u64::MAX;
    let mut secs = 10u64;
    let mut quiet = false;
    let mut options = LiveOptions::default();
    let mut syscalls: Vec<String> = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-w" => out = args.next(),
            "-q" => quiet = true,
            "-n" => count = args.next().ok_or("-n needs a value")?.parse()?,
            "-s" => secs = args.next().ok_or("-s needs a value")?.parse()?,
            "-b" => options.ring_bytes = args.next().ok_or("-b needs a value")?.parse()?,
            "-c" => options.cpus_per_buffer = args.next().ok_or("-c needs a value")?.parse()?,
            "-l" => {
                let names: Vec<&str> = peregrine_bpf::supported_syscalls().collect();
                println!("{}", names.join(" "));
                return Ok(());
            }
            _ => syscalls.push(a),
        }
    }
    if syscalls.is_empty() {
        syscalls = ["execve", "openat", "connect", "clone", "close"]
            .map(String::from)
            .to_vec();
    }
    let names: Vec<&str> = syscalls.iter().map(String::as_str).collect();
    options.syscalls = &names;
    let mut src = LiveSource::open(&options)?;
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic (async-signal-safe).
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }
    if !src.unavailable().is_empty() {
        eprintln!("not in this kernel: {}", src.unavailable().join(" "));
    }
    eprintln!("attached: {}", src.attached().join(" "));
    let mut writer = match &out {
        Some(p) => {
            let mut w = peregrine_scap::Writer::create(p)?;
            let (threads, fds) = peregrine_bpf::proc_scan::scan();
            w.write_process_list(&threads)?;
            let mut by_pid: std::collections::BTreeMap<u64, Vec<_>> = Default::default();
            for (pid, f) in fds {
                by_pid.entry(pid).or_default().push(f);
            }
            for (pid, f) in by_pid {
                w.write_fd_list(pid, &f)?;
            }
            Some(w)
        }
        None => None,
    };
    let end = Instant::now() + Duration::from_secs(secs);
    let mut n = 0u64;
    let mut bytes = 0u64;
    let mut line = String::new();
    let start = Instant::now();
    while n < count && Instant::now() < end && !STOP.load(Ordering::Relaxed) {
        let Some(ev) = src.next_event(Duration::from_millis(100))? else {
            continue;
        };
        n += 1;
        bytes += ev.len() as u64;
        if quiet {
            continue;
        }
        if let Some(w) = writer.as_mut() {
            w.write_event(0, None, ev)?;
            continue;
        }
        let v = EventView::parse(ev)?;
        line.clear();
        render_args(&v, &NoContext::default(), &mut line);
        println!(
            "{} {} {} {} {}",
            v.ts(),
            v.tid(),
            v.direction().symbol(),
            v.name(),
            line
        );
    }
    if quiet {
        // Count what is still in the ring buffer.
        while n < count
            && let Some(ev) = src.next_event(Duration::ZERO)?
        {
            n += 1;
            bytes += ev.len() as u64;
        }
    }
    if let Some(w) = writer {
        w.finish()?;
    }
    let d = src.drops();
    eprintln!("{n} events; counters {d:?}");
    eprintln!(
        "events={n} bytes={bytes} lost={} ring_full={} scratch_fail={} read_fail={} buffers={} secs={:.3}",
        d.lost(),
        d.ring_full,
        d.scratch_fail,
        d.read_fail,
        src.ring_buffers(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

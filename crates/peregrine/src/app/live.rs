//! Live capture: the eBPF probe as the event source, attached only to the
//! syscalls that the loaded rules and the state engine need.

use crate::config::Config;
use peregrine_bpf::{
    LiveOptions, LiveSource, ProbeCounters, SYSCALLS, proc_scan, supported_syscalls,
    syscalls_for_event_type,
};
use peregrine_engine::{Engine, EventSource, Next, Replay};
use peregrine_event::RenderOptions;
use peregrine_scap::{FdKind, FdRecord, GroupRecord, ThreadRecord, UserRecord, Writer};
use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufWriter;
use std::time::Duration;

/// Syscalls the state engine needs whatever the rules: process life,
/// file descriptors, identity and working directory (Falco's default
/// state set, `sinsp_state_sc_set`, as far as the probe supports it).
const STATE_SYSCALLS: &[&str] = &[
    "clone",
    "clone3",
    "fork",
    "vfork",
    "execve",
    "execveat",
    "open",
    "openat",
    "openat2",
    "creat",
    "close",
    "dup",
    "dup2",
    "dup3",
    "socket",
    "socketpair",
    "bind",
    "connect",
    "accept",
    "accept4",
    "pipe",
    "pipe2",
    "fcntl",
    "chdir",
    "fchdir",
    "chroot",
    "setuid",
    "setgid",
    "setresuid",
    "setresgid",
    "capset",
    "memfd_create",
    "userfaultfd",
];

/// How long one wait for an event lasts before the loop checks signals.
const IDLE_WAIT: Duration = Duration::from_millis(100);

/// Falco's `engine.modern_ebpf` settings that apply to this probe.
#[derive(Clone, Debug)]
pub struct ProbeSettings {
    /// Ring buffer size from `buf_size_preset` (1 = 1 MiB ... 10 = 512 MiB;
    /// 4, 8 MiB, is the default), for each of Falco's buffers; the probe
    /// shares that memory out among per-CPU rings
    /// (`peregrine_bpf::ring_bytes_per_cpu`).
    pub ring_bytes: u32,
    /// `cpus_for_each_buffer`: CPUs sharing one of Falco's ring buffers
    /// (0: one buffer for all CPUs; default 2).
    pub cpus_per_buffer: u32,
    /// `drop_failed_exit`: events of failed syscalls are not processed.
    pub drop_failed_exit: bool,
}

impl ProbeSettings {
    /// Reads the `engine.modern_ebpf` keys.
    pub fn from_config(config: &Config) -> Result<ProbeSettings, String> {
        let preset = match config.lookup("engine.modern_ebpf.buf_size_preset") {
            None => 4,
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|p| (1..=10).contains(p))
                .ok_or("config key 'engine.modern_ebpf.buf_size_preset': expected 1 to 10")?,
        };
        let cpus_per_buffer = match config.lookup("engine.modern_ebpf.cpus_for_each_buffer") {
            None => 2,
            Some(v) => v.trim().parse::<u32>().map_err(|_| {
                "config key 'engine.modern_ebpf.cpus_for_each_buffer': expected a number of CPUs (0: one buffer for all)"
            })?,
        };
        let drop_failed_exit = match config.lookup("engine.modern_ebpf.drop_failed_exit") {
            None => false,
            Some(v) => peregrine_rules::yaml::decode_bool(&v).ok_or(
                "config key 'engine.modern_ebpf.drop_failed_exit': expected true or false",
            )?,
        };
        Ok(ProbeSettings {
            ring_bytes: (1 << 20) << (preset - 1),
            cpus_per_buffer,
            drop_failed_exit,
        })
    }
}

/// True when `event` reports a failed syscall: its first parameter is a
/// negative return value.
fn failed(event: &[u8]) -> bool {
    peregrine_event::EventView::parse(event)
        .ok()
        .filter(|ev| ev.direction() == peregrine_event::Direction::Exit)
        .and_then(|ev| ev.param_int(0, true))
        .is_some_and(|res| res < 0)
}

/// Falco's `base_syscalls` settings: what is attached besides the
/// syscalls the rules name.
#[derive(Clone, Debug, Default)]
pub struct BaseSyscalls {
    /// `base_syscalls.custom_set`: syscalls that replace the state
    /// engine's default set when any is named; `!name` removes one.
    pub custom_set: Vec<String>,
    /// `base_syscalls.repair`: instead of the state engine's full set, add
    /// only what it needs for the syscalls selected (Falco's
    /// `sinsp_repair_state_sc_set`).
    pub repair: bool,
    /// `base_syscalls.all`: attach every supported syscall.
    pub all: bool,
}

impl BaseSyscalls {
    /// Reads the `base_syscalls` keys.
    pub fn from_config(config: &Config) -> Result<BaseSyscalls, String> {
        let flag = |key: &str| -> Result<bool, String> {
            match config.lookup(key) {
                None => Ok(false),
                Some(v) => peregrine_rules::yaml::decode_bool(&v)
                    .ok_or_else(|| format!("config key '{key}': expected true or false")),
            }
        };
        let custom_set = config
            .lookup_list("base_syscalls.custom_set")
            .unwrap_or_default();
        Ok(BaseSyscalls {
            custom_set,
            repair: flag("base_syscalls.repair")?,
            all: flag("base_syscalls.all")?,
        })
    }
}

/// The syscalls to attach for `engine`'s enabled rules plus the state's
/// needs and `base_syscalls`; every supported syscall when a rule matches
/// any event type, with `-A`, or with `base_syscalls.all`.
pub fn selected_syscalls(engine: &Engine, all: bool, base: &BaseSyscalls) -> Vec<&'static str> {
    let rules: Option<Vec<&'static str>> = engine
        .rules()
        .iter()
        .filter(|r| r.enabled)
        .map(|r| r.event_type_names())
        .try_fold(Vec::new(), |mut acc, names| {
            acc.extend(names?);
            Some(acc)
        });
    select(rules.as_deref(), all || base.all, base)
}

/// The selection itself, as Falco's `configure_interesting_sets` makes it:
/// the rules' syscalls (`rule_types` are the event types they name;
/// `None`: some rule matches every type) plus a base set: the positive
/// entries of `custom_set` when there are any, else the state engine's
/// minimal set for the rules' syscalls with `repair`, else its full set.
/// The `!name` entries of `custom_set` are removed last.
fn select(rule_types: Option<&[&str]>, all: bool, base: &BaseSyscalls) -> Vec<&'static str> {
    let supported: BTreeSet<&'static str> = supported_syscalls().collect();
    let Some(rule_types) = rule_types.filter(|_| !all) else {
        return supported.into_iter().collect();
    };
    let rules: BTreeSet<&'static str> = rule_types
        .iter()
        .flat_map(|name| syscalls_for_event_type(name))
        .collect();
    let positive: BTreeSet<&'static str> = base
        .custom_set
        .iter()
        .filter(|e| !e.starts_with('!'))
        .filter_map(|e| supported.get(e.as_str()).copied())
        .collect();
    let mut set = rules.clone();
    if !positive.is_empty() {
        set.extend(positive);
    } else if base.repair {
        set.extend(repair_set(&rules));
    } else {
        set.extend(STATE_SYSCALLS.iter().filter(|s| supported.contains(*s)));
    }
    for name in base.custom_set.iter().filter_map(|e| e.strip_prefix('!')) {
        set.remove(name);
    }
    set.into_iter().collect()
}

/// Syscalls that keep the process table right whatever the rules (the
/// first part of Falco's `sinsp_repair_state_sc_set`, as far as the probe
/// supports them).
const REPAIR_PROCESS_SYSCALLS: &[&str] = &[
    "clone",
    "clone3",
    "fork",
    "vfork",
    "execve",
    "execveat",
    "fchdir",
    "chdir",
    "chroot",
    "capset",
    "setgid",
    "setresgid",
    "setresuid",
    "setuid",
    "prctl",
];

/// What the state engine needs on top of `selected` (Falco's
/// `sinsp_repair_state_sc_set`): the process syscalls always; `socket`
/// and `close` with network syscalls; `bind` with accept or listen;
/// `close` with file or I/O syscalls. procexit is always on.
fn repair_set(selected: &BTreeSet<&'static str>) -> BTreeSet<&'static str> {
    let category = |name: &str| {
        SYSCALLS
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| peregrine_event::event_info(s.event))
            .map_or("unknown", |info| info.category.name())
    };
    let any = |pred: &dyn Fn(&str) -> bool| selected.iter().any(|s| pred(s));
    let mut set: BTreeSet<&'static str> = REPAIR_PROCESS_SYSCALLS.iter().copied().collect();
    if any(&|s| category(s) == "net") {
        set.extend(["socket", "close"]);
    }
    if any(&|s| matches!(s, "accept" | "accept4" | "listen")) {
        set.insert("bind");
    }
    if any(&|s| matches!(category(s), "file" | "IO_read" | "IO_write" | "IO_other")) {
        set.insert("close");
    }
    set
}

/// The probe behind [`EventSource`].
struct Probe {
    source: LiveSource,
    drop_failed_exit: bool,
}

impl EventSource for Probe {
    fn next_event(&mut self) -> Result<Next<'_>, String> {
        // Failed exits are skipped here when asked: whether the source has
        // another event is re-checked without holding the previous one.
        if self.drop_failed_exit {
            loop {
                match self.source.next_event(IDLE_WAIT) {
                    Ok(Some(bytes)) if failed(bytes) => continue,
                    Ok(Some(_)) => break,
                    Ok(None) => return Ok(Next::Idle),
                    Err(e) => return Err(e.to_string()),
                }
            }
            return Ok(Next::Event(0, self.source.last_event()));
        }
        match self.source.next_event(IDLE_WAIT) {
            Ok(Some(bytes)) => Ok(Next::Event(0, bytes)),
            Ok(None) => Ok(Next::Idle),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// What [`open`] gives: the replay over the probe, a handle on its drop
/// counters and the syscalls it attached.
pub struct Opened {
    /// The event loop's source.
    pub replay: Replay,
    /// The probe's drop counters.
    pub counters: ProbeCounters,
    /// The syscalls selected for the probe (those this kernel lacks
    /// included: a reload would select them again).
    pub attached: Vec<String>,
}

/// Loads and attaches the probe and seeds the state from /proc.
pub fn open(
    engine: &Engine,
    all: bool,
    base: &BaseSyscalls,
    probe: &ProbeSettings,
    hostname: String,
    writer: Option<&mut CaptureWriter>,
) -> Result<Opened, String> {
    let syscalls = selected_syscalls(engine, all, base);
    let options = LiveOptions {
        syscalls: &syscalls,
        ring_bytes: probe.ring_bytes,
        cpus_per_buffer: probe.cpus_per_buffer,
    };
    let source =
        LiveSource::open(&options).map_err(|e| format!("could not start live capture: {e}"))?;
    super::logging::log(
        super::logging::Level::Info,
        &format!(
            "live capture: {} syscalls attached, {} per-CPU rings of {} MiB",
            source.attached().len(),
            source.ring_buffers(),
            source.ring_bytes() >> 20
        ),
    );
    // The drop monitor reads the probe's counters through this handle.
    let counters = source.counters();
    let attached = syscalls.iter().map(|s| s.to_string()).collect();
    let (threads, fds) = proc_scan::scan();
    let users = (read_users("/etc/passwd"), read_groups("/etc/group"));
    if let Some(w) = writer {
        write_snapshot(w, &threads, &fds, &users).map_err(|e| format!("capture file: {e}"))?;
    }
    let replay = Replay::live(
        Box::new(Probe {
            source,
            drop_failed_exit: probe.drop_failed_exit,
        }),
        threads,
        fds,
        users,
        RenderOptions::FALCO,
        hostname,
    );
    Ok(Opened {
        replay,
        counters,
        attached,
    })
}

/// The syscalls that `selected` has and `attached` has not: what rules
/// loaded after the probe was attached want but cannot see.
pub fn not_attached<'s>(selected: &[&'s str], attached: &[String]) -> Vec<&'s str> {
    selected
        .iter()
        .filter(|s| !attached.iter().any(|a| a == *s))
        .copied()
        .collect()
}

/// A capture file being written (`-w`).
pub type CaptureWriter = Writer<BufWriter<File>>;

/// Writes the machine's state at start-up as a capture file's metadata:
/// the process list, each process's fds, users and groups.
fn write_snapshot(
    w: &mut CaptureWriter,
    threads: &[ThreadRecord],
    fds: &[(u64, FdRecord)],
    users: &(Vec<UserRecord>, Vec<GroupRecord>),
) -> Result<(), peregrine_scap::ScapError> {
    w.write_user_list(&users.0, &users.1)?;
    w.write_process_list(threads)?;
    let mut by_pid: BTreeMap<u64, Vec<FdRecord>> = BTreeMap::new();
    for (pid, fd) in fds {
        let mut fd = fd.clone();
        fd.kind = compatible_kind(fd.kind);
        by_pid.entry(*pid).or_default().push(fd);
    }
    for (pid, list) in &by_pid {
        w.write_fd_list(*pid, list)?;
    }
    Ok(())
}

/// The fd kind as older readers (sysdig 0.29, Falco before 0.35) know it:
/// newer kinds fall back to the closest old one.
fn compatible_kind(kind: FdKind) -> FdKind {
    match kind {
        FdKind::FileV2 | FdKind::Memfd => FdKind::File,
        FdKind::Bpf | FdKind::Userfaultfd | FdKind::Iouring | FdKind::Pidfd => FdKind::Unsupported,
        other => other,
    }
}

/// Users from a passwd file (`name:x:uid:gid:gecos:home:shell`); malformed
/// lines are skipped.
fn read_users(path: &str) -> Vec<UserRecord> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(UserRecord {
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                name: f[0].to_string(),
                homedir: f[5].to_string(),
                shell: f[6].to_string(),
            })
        })
        .collect()
}

/// Groups from a group file (`name:x:gid:members`).
fn read_groups(path: &str) -> Vec<GroupRecord> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() >= 3).then_some(())?;
            Some(GroupRecord {
                gid: f[2].parse().ok()?,
                name: f[0].to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(custom_set: &[&str], repair: bool) -> BaseSyscalls {
        BaseSyscalls {
            custom_set: custom_set.iter().map(|s| s.to_string()).collect(),
            repair,
            all: false,
        }
    }

    #[test]
    fn selection_follows_rules_state_and_base_syscalls() {
        let s = select(Some(&["execve", "connect"]), false, &base(&[], false));
        assert!(s.contains(&"execve") && s.contains(&"connect") && s.contains(&"clone"));
        assert!(
            s.contains(&"openat") && s.contains(&"close"),
            "full state set"
        );
        assert!(!s.contains(&"getppid") && !s.contains(&"read"));
        // A positive custom set replaces the state set; negatives go last.
        let s = select(
            Some(&["execve"]),
            false,
            &base(&["read", "!clone", "nope", "!execve"], false),
        );
        assert_eq!(s, ["read"]);
        let s = select(Some(&["execve"]), false, &base(&["!clone"], false));
        assert!(s.contains(&"openat") && !s.contains(&"clone"));
        let every: Vec<_> = supported_syscalls().collect();
        assert_eq!(select(None, false, &base(&[], false)).len(), every.len());
        assert_eq!(
            select(Some(&["execve"]), true, &base(&[], false)).len(),
            every.len()
        );
    }

    #[test]
    fn repair_adds_what_the_state_needs_for_the_rules() {
        // Process syscalls only: no fd or network syscall is selected.
        let s = select(Some(&["execve"]), false, &base(&[], true));
        assert!(s.contains(&"execve") && s.contains(&"clone") && s.contains(&"setuid"));
        assert!(s.contains(&"chdir") && s.contains(&"prctl"));
        for fd_call in ["close", "openat", "socket", "bind", "dup"] {
            assert!(!s.contains(&fd_call), "{fd_call} in {s:?}");
        }
        // A file syscall brings close; a network one socket and close;
        // accept brings bind too.
        let s = select(Some(&["openat"]), false, &base(&[], true));
        assert!(s.contains(&"close") && !s.contains(&"socket"));
        let s = select(Some(&["connect"]), false, &base(&[], true));
        assert!(s.contains(&"socket") && s.contains(&"close") && !s.contains(&"bind"));
        let s = select(Some(&["accept"]), false, &base(&[], true));
        assert!(s.contains(&"bind"));
        // Smaller than the full state set for the same rules.
        let full = select(Some(&["openat"]), false, &base(&[], false));
        let repaired = select(Some(&["openat"]), false, &base(&[], true));
        assert!(repaired.len() < full.len());
        // A positive custom set wins over repair, as in Falco.
        let s = select(Some(&["openat"]), false, &base(&["read"], true));
        assert_eq!(s, ["openat", "read"]);
    }

    #[test]
    fn probe_settings_from_config() {
        let load = |opts: &[&str]| {
            let opts: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
            let c = Config::load(Some(std::path::Path::new("/dev/null")), &opts).unwrap();
            ProbeSettings::from_config(&c)
        };
        let d = load(&[]).unwrap();
        assert_eq!((d.ring_bytes, d.cpus_per_buffer), (8 << 20, 2));
        let s = load(&[
            "engine.modern_ebpf.cpus_for_each_buffer=0",
            "engine.modern_ebpf.buf_size_preset=1",
        ])
        .unwrap();
        assert_eq!((s.ring_bytes, s.cpus_per_buffer), (1 << 20, 0));
        assert!(
            load(&["engine.modern_ebpf.cpus_for_each_buffer=-1"])
                .unwrap_err()
                .contains("cpus_for_each_buffer")
        );
        let c = Config::load(
            Some(std::path::Path::new("/dev/null")),
            &["base_syscalls.repair=true".to_string()],
        )
        .unwrap();
        let b = BaseSyscalls::from_config(&c).unwrap();
        assert!(b.repair && !b.all && b.custom_set.is_empty());
    }

    #[test]
    fn failed_exits_are_recognised() {
        use peregrine_event::{EventBuilder, code};
        let failed_open = EventBuilder::new(code::SYSCALL_OPENAT_2_X, 1, 1)
            .u64((-2i64) as u64)
            .build();
        let ok_open = EventBuilder::new(code::SYSCALL_OPENAT_2_X, 1, 1)
            .u64(3)
            .build();
        let enter = EventBuilder::new(code::SYSCALL_OPENAT_2_E, 1, 1)
            .u64((-100i64) as u64)
            .build();
        assert!(failed(&failed_open));
        assert!(!failed(&ok_open));
        assert!(!failed(&enter));
        assert!(!failed(b"garbage"));
    }

    #[test]
    fn passwd_and_group_lines() {
        let dir = std::env::temp_dir().join(format!("peregrine-users-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let passwd = dir.join("passwd");
        let text = "root:x:0:0:root:/root:/bin/bash\nbad line\nbob:x:1000:100::/home/bob:/bin/sh\n";
        std::fs::write(&passwd, text).unwrap();
        let users = read_users(passwd.to_str().unwrap());
        assert_eq!(users.len(), 2);
        assert_eq!((users[1].uid, users[1].name.as_str()), (1000, "bob"));
        assert_eq!(users[1].homedir, "/home/bob");
        let group = dir.join("group");
        std::fs::write(&group, "root:x:0:\nusers:x:100:bob\nx\n").unwrap();
        let groups: Vec<(u32, String)> = read_groups(group.to_str().unwrap())
            .into_iter()
            .map(|g| (g.gid, g.name))
            .collect();
        assert_eq!(
            groups,
            [(0, "root".to_string()), (100, "users".to_string())]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

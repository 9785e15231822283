//! Live tests against the real kernel (root and BPF required: they fail,
//! not skip, where the probe cannot load).

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use peregrine_bpf::{LiveOptions, LiveSource};
use peregrine_event::{EventView, code};

/// One live source at a time (the tests share the machine's tracepoints).
static LOCK: Mutex<()> = Mutex::new(());

fn start(options: &LiveOptions<'_>) -> LiveSource {
    LiveSource::open(options).unwrap_or_else(|e| {
        panic!("the live probe could not start (these tests need root and BPF): {e}")
    })
}

fn open(syscalls: &[&str]) -> LiveSource {
    start(&LiveOptions {
        syscalls,
        ..LiveOptions::default()
    })
}

/// A source whose rings are the smallest there are: 1 MiB a CPU.
fn open_smallest_rings(syscalls: &[&str]) -> LiveSource {
    let src = start(&LiveOptions {
        syscalls,
        ring_bytes: 1 << 20,
        cpus_per_buffer: 0,
    });
    assert_eq!(src.ring_bytes(), 1 << 20);
    src
}

/// Collects events for `dur` after `act` ran, keeping those `keep` wants.
fn collect(
    src: &mut LiveSource,
    dur: Duration,
    keep: impl Fn(&EventView<'_>) -> bool,
) -> Vec<Vec<u8>> {
    let end = Instant::now() + dur;
    let mut out = Vec::new();
    while Instant::now() < end {
        match src
            .next_event(Duration::from_millis(50))
            .expect("ring poll")
        {
            Some(b) => {
                let v = EventView::parse(b).expect("probe events parse");
                assert_eq!(v.len() as usize, b.len());
                if keep(&v) {
                    out.push(b.to_vec());
                }
            }
            None => continue,
        }
    }
    out
}

fn str_param<'a>(v: &EventView<'a>, name: &str) -> String {
    let i = v.info().param_index(name).expect("param in schema");
    String::from_utf8_lossy(v.param_str(i).unwrap_or_default()).into_owned()
}

fn int_param(v: &EventView<'_>, name: &str) -> i64 {
    let i = v.info().param_index(name).expect("param in schema");
    v.param_int(i, true).expect("integer param")
}

fn gettid() -> u64 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u64 }
}

#[test]
fn cat_execve_and_openat() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut src = open(&["openat", "execve", "connect"]);
    let child = Command::new("cat")
        .arg("/etc/hostname")
        .output()
        .expect("run cat");
    assert!(child.status.success());
    let evs = collect(&mut src, Duration::from_millis(500), |v| {
        v.code() == code::SYSCALL_EXECVE_19_X || v.code() == code::SYSCALL_OPENAT_2_X
    });
    let execs: Vec<EventView<'_>> = evs
        .iter()
        .map(|b| EventView::parse(b).unwrap())
        .filter(|v| v.code() == code::SYSCALL_EXECVE_19_X && str_param(v, "comm") == "cat")
        .collect();
    let ex = execs.first().expect("an execve event for cat");
    let tid = ex.tid();
    assert_eq!(int_param(ex, "res"), 0);
    assert_eq!(str_param(ex, "exe"), "cat");
    assert_eq!(ex.param_by_name("args").unwrap(), b"/etc/hostname\0");
    assert_eq!(int_param(ex, "tid") as u64, tid);
    assert_eq!(int_param(ex, "pid") as u64, tid);
    assert_eq!(int_param(ex, "ptid") as u32, std::process::id());
    let cat_path = std::fs::canonicalize(which("cat")).unwrap();
    assert_eq!(str_param(ex, "trusted_exepath"), cat_path.to_string_lossy());
    assert_eq!(
        str_param(ex, "cwd"),
        std::env::current_dir().unwrap().to_string_lossy()
    );
    assert!(!ex.param_by_name("env").unwrap().is_empty());
    // cgroups: "subsys=path" entries; the memory controller's path is the
    // one /proc shows for this process (the child did not move).
    let cg = String::from_utf8_lossy(ex.param_by_name("cgroups").unwrap()).into_owned();
    let proc_cg = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let mem_path = proc_cg
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|(_, p)| p))
        .or_else(|| proc_cg.lines().find_map(|l| l.strip_prefix("0::")));
    if let Some(p) = mem_path {
        assert!(
            cg.split('\0').any(|e| e == format!("memory={p}")),
            "cgroups {cg:?} lacks memory={p}"
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert!(
        now - ex.ts() < 10_000_000_000,
        "epoch timestamp: {} vs {now}",
        ex.ts()
    );

    let open = evs
        .iter()
        .map(|b| EventView::parse(b).unwrap())
        .find(|v| {
            v.code() == code::SYSCALL_OPENAT_2_X
                && v.tid() == tid
                && str_param(v, "name") == "/etc/hostname"
        })
        .expect("openat of /etc/hostname by the cat child");
    assert!(int_param(&open, "fd") >= 0);
    assert_eq!(int_param(&open, "dirfd"), -100);
    assert_eq!(int_param(&open, "flags") as u32 & 3, 1, "O_RDONLY");
    assert_ne!(int_param(&open, "ino"), 0);
    assert!(open.ts() >= ex.ts());
    let d = src.drops();
    assert_eq!(d.lost(), 0, "{d:?}");
}

fn which(name: &str) -> String {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| format!("{d}/{name}"))
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or_else(|| panic!("{name} not in PATH"))
}

/// The kernel's encoding of a device number (MKDEV: 12-bit major, 20-bit
/// minor), which the open family's `dev` parameter carries.
fn kernel_dev(st_dev: u64) -> i64 {
    let (major, minor) = (libc::major(st_dev), libc::minor(st_dev));
    i64::from((major << 20) | minor)
}

/// The open family reads the file it opened from the fd table (direct
/// loads through bpf_rdonly_cast): its device, inode and whether the call
/// created it must be those `stat` gives.
#[test]
fn openat_reports_the_opened_file() {
    use std::os::unix::fs::MetadataExt;
    const PPM_O_F_CREATED: i64 = 1 << 14;
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("made");
    let mut src = open(&["openat"]);
    let me = gettid();
    std::fs::File::create(&path).unwrap(); // created by this call
    std::fs::File::open(&path).unwrap(); // only opened
    let evs = collect(&mut src, Duration::from_millis(500), |v| {
        v.code() == code::SYSCALL_OPENAT_2_X && v.tid() == me
    });
    let meta = std::fs::metadata(&path).unwrap();
    let name = path.to_str().unwrap();
    let opens: Vec<EventView<'_>> = by_thread(&evs, me, &["openat"])
        .into_iter()
        .filter(|v| str_param(v, "name") == name)
        .collect();
    assert_eq!(opens.len(), 2, "two opens of {name}");
    for (v, created) in opens.iter().zip([true, false]) {
        assert!(int_param(v, "fd") >= 0);
        assert_eq!(int_param(v, "ino"), meta.ino() as i64);
        assert_eq!(int_param(v, "dev"), kernel_dev(meta.dev()));
        let flags = int_param(v, "flags");
        assert_eq!(flags & PPM_O_F_CREATED != 0, created, "flags {flags:#x}");
    }
}

#[test]
fn shell_spawns_child() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut src = open(&["execve", "clone", "clone3", "fork", "vfork"]);
    let out = Command::new("sh")
        .args(["-c", "/bin/echo child; /bin/true"])
        .output()
        .expect("run sh");
    assert!(out.status.success());
    let evs = collect(&mut src, Duration::from_millis(500), |_| true);
    let views: Vec<EventView<'_>> = evs.iter().map(|b| EventView::parse(b).unwrap()).collect();
    let sh = views
        .iter()
        .find(|v| {
            v.code() == code::SYSCALL_EXECVE_19_X
                && str_param(v, "comm") == "sh"
                && int_param(v, "ptid") as u32 == std::process::id()
        })
        .expect("execve of sh");
    let sh_tid = sh.tid();
    let echo = views
        .iter()
        .find(|v| v.code() == code::SYSCALL_EXECVE_19_X && str_param(v, "comm") == "echo")
        .expect("execve of echo");
    assert_ne!(echo.tid(), sh_tid, "echo runs in a child of sh");
    assert_eq!(int_param(echo, "ptid") as u64, sh_tid);
    assert_eq!(echo.param_by_name("args").unwrap(), b"child\0");
    // The fork: caller side (res = child) and child side (res = 0).
    let forks: Vec<&EventView<'_>> = views
        .iter()
        .filter(|v| matches!(v.name(), "clone" | "clone3" | "fork" | "vfork"))
        .collect();
    assert!(
        forks
            .iter()
            .any(|v| v.tid() == sh_tid && int_param(v, "res") as u64 == echo.tid()),
        "caller-side clone of sh returning the echo tid"
    );
    assert!(
        forks.iter().any(|v| v.tid() == echo.tid()
            && int_param(v, "res") == 0
            && int_param(v, "ptid") as u64 == sh_tid),
        "child-side clone event of the echo child"
    );
    // procexit of the children.
    assert!(
        views
            .iter()
            .any(|v| v.code() == code::PROCEXIT_1_E && v.tid() == echo.tid()),
        "procexit of echo"
    );
}

#[test]
fn tcp_connect_to_loopback() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let lport = listener.local_addr().unwrap().port();
    let mut src = open(&["openat", "execve", "connect", "accept", "accept4", "socket"]);
    let me = gettid();
    let mut s = TcpStream::connect(("127.0.0.1", lport)).expect("connect");
    let (mut a, _) = listener.accept().expect("accept");
    let sport = s.local_addr().unwrap().port();
    drop(s.set_nodelay(true));
    std::io::Write::write_all(&mut s, b"x").unwrap();
    let mut b = [0u8; 1];
    a.read_exact(&mut b).unwrap();
    let evs = collect(&mut src, Duration::from_millis(300), |v| v.tid() == me);
    let views: Vec<EventView<'_>> = evs.iter().map(|b| EventView::parse(b).unwrap()).collect();
    let c = views
        .iter()
        .find(|v| v.code() == code::SOCKET_CONNECT_X)
        .expect("connect event from this thread");
    assert_eq!(int_param(c, "res"), 0);
    let mut tuple = vec![2u8, 127, 0, 0, 1];
    tuple.extend_from_slice(&sport.to_le_bytes());
    tuple.extend_from_slice(&[127, 0, 0, 1]);
    tuple.extend_from_slice(&lport.to_le_bytes());
    assert_eq!(c.param_by_name("tuple").unwrap(), &tuple[..]);
    let mut addr = vec![2u8, 127, 0, 0, 1];
    addr.extend_from_slice(&lport.to_le_bytes());
    assert_eq!(c.param_by_name("addr").unwrap(), &addr[..]);
    let fd = int_param(c, "fd");
    assert_eq!(fd, std::os::fd::AsRawFd::as_raw_fd(&s) as i64);
    let sock = views
        .iter()
        .find(|v| v.code() == code::SOCKET_SOCKET_X && int_param(v, "fd") == fd)
        .expect("socket event");
    assert_eq!(int_param(sock, "domain"), 2);
    let acc = views
        .iter()
        .find(|v| v.name() == "accept" || v.name() == "accept4")
        .expect("accept event");
    assert_eq!(
        int_param(acc, "fd"),
        std::os::fd::AsRawFd::as_raw_fd(&a) as i64
    );
    // Inbound tuple: client -> server.
    assert_eq!(acc.param_by_name("tuple").unwrap(), &tuple[..]);
}

#[test]
fn unknown_syscall_is_an_error() {
    let e = LiveSource::open(&LiveOptions {
        syscalls: &["no_such_call"],
        ..LiveOptions::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("no_such_call"), "{e}");
}

/// Events of thread `tid` (the calling thread unless given) named `names`.
fn by_thread<'a>(evs: &'a [Vec<u8>], tid: u64, names: &[&str]) -> Vec<EventView<'a>> {
    evs.iter()
        .map(|b| EventView::parse(b).unwrap())
        .filter(|v| v.tid() == tid && names.contains(&v.name()))
        .collect()
}

#[test]
fn file_system_ops_in_temp_dir() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::Builder::new()
        .prefix("peregrine-live-")
        .tempdir()
        .expect("temp dir");
    let mut src = open(&[
        "rename",
        "renameat",
        "renameat2",
        "unlink",
        "unlinkat",
        "mkdir",
        "mkdirat",
        "rmdir",
    ]);
    let me = gettid();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let sub = dir.path().join("sub");
    std::fs::write(&a, b"x").unwrap();
    std::fs::rename(&a, &b).unwrap();
    std::fs::remove_file(&b).unwrap();
    std::fs::create_dir(&sub).unwrap();
    std::fs::remove_dir(&sub).unwrap();
    let evs = collect(&mut src, Duration::from_millis(300), |v| v.tid() == me);
    dir.close().unwrap();
    let s = |p: &std::path::Path| p.to_string_lossy().into_owned();

    let ren = by_thread(&evs, me, &["rename", "renameat", "renameat2"]);
    let ren = ren.first().expect("a rename event");
    assert_eq!(int_param(ren, "res"), 0);
    assert_eq!(str_param(ren, "oldpath"), s(&a));
    assert_eq!(str_param(ren, "newpath"), s(&b));

    let unl = by_thread(&evs, me, &["unlink", "unlinkat"]);
    let unl = unl
        .iter()
        .find(|v| v.name() == "unlink" || int_param(v, "flags") == 0)
        .expect("an unlink event");
    assert_eq!(int_param(unl, "res"), 0);
    let name = if unl.name() == "unlink" {
        "path"
    } else {
        "name"
    };
    assert_eq!(str_param(unl, name), s(&b));

    let mk = by_thread(&evs, me, &["mkdir", "mkdirat"]);
    let mk = mk.first().expect("a mkdir event");
    assert_eq!(int_param(mk, "res"), 0);
    assert_eq!(str_param(mk, "path"), s(&sub));
    assert_eq!(int_param(mk, "mode"), 0o777);

    let rm = by_thread(&evs, me, &["rmdir", "unlinkat"]);
    let rm = rm
        .iter()
        .find(|v| v.name() == "rmdir" || int_param(v, "flags") == 0x200)
        .expect("an rmdir event");
    assert_eq!(int_param(rm, "res"), 0);
    let name = if rm.name() == "rmdir" { "path" } else { "name" };
    assert_eq!(str_param(rm, name), s(&sub));
    assert_eq!(src.drops().lost(), 0);
}

#[test]
fn setuid_memfd_pipe_kill() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut src = open(&["setuid", "setgid", "memfd_create", "pipe2", "kill"]);
    let me = gettid();
    // SAFETY: memfd_create with a valid NUL-terminated name.
    let mfd = unsafe { libc::memfd_create(c"peregrine-test".as_ptr(), libc::MFD_CLOEXEC) };
    assert!(mfd >= 0);
    let mut fds = [0i32; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: signal 0 only checks that the process exists.
    assert_eq!(unsafe { libc::kill(libc::getpid(), 0) }, 0);
    // A child drops its privileges with raw syscalls (no libc set*id
    // broadcast in the forked child) and exits.
    // SAFETY: the child only makes raw syscalls and _exit()s.
    let child = unsafe { libc::fork() };
    if child == 0 {
        // SAFETY: raw syscalls in the single-threaded child.
        unsafe {
            libc::syscall(libc::SYS_setgid, 65534);
            let rc = libc::syscall(libc::SYS_setuid, 65534);
            libc::_exit(if rc == 0 { 0 } else { 1 });
        }
    }
    assert!(child > 0);
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    assert_eq!(status, 0, "child setuid failed");
    let evs = collect(&mut src, Duration::from_millis(300), |_| true);
    // SAFETY: closing descriptors this test opened.
    unsafe {
        libc::close(mfd);
        libc::close(fds[0]);
        libc::close(fds[1]);
    }

    let m = by_thread(&evs, me, &["memfd_create"]);
    let m = m.first().expect("memfd_create event");
    assert_eq!(int_param(m, "fd"), i64::from(mfd));
    assert_eq!(str_param(m, "name"), "peregrine-test");
    assert_eq!(int_param(m, "flags"), 1, "MFD_CLOEXEC");

    let p = by_thread(&evs, me, &["pipe2"]);
    let p = p.first().expect("pipe2 event");
    assert_eq!(int_param(p, "res"), 0);
    assert_eq!(int_param(p, "fd1"), i64::from(fds[0]));
    assert_eq!(int_param(p, "fd2"), i64::from(fds[1]));
    assert_ne!(int_param(p, "ino"), 0);
    assert_eq!(int_param(p, "flags"), 1 << 12, "PPM_O_CLOEXEC");

    let k = by_thread(&evs, me, &["kill"]);
    let k = k.first().expect("kill event");
    assert_eq!(int_param(k, "res"), 0);
    assert_eq!(int_param(k, "pid"), i64::from(std::process::id()));
    assert_eq!(int_param(k, "sig"), 0);

    let ctid = child as u64;
    let g = by_thread(&evs, ctid, &["setgid"]);
    let g = g.first().expect("setgid event of the child");
    assert_eq!((int_param(g, "res"), int_param(g, "gid")), (0, 65534));
    let u = by_thread(&evs, ctid, &["setuid"]);
    let u = u.first().expect("setuid event of the child");
    assert_eq!((int_param(u, "res"), int_param(u, "uid")), (0, 65534));
    assert_eq!(src.drops().lost(), 0);
}

#[test]
fn every_program_loads_and_its_events_parse() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let all: Vec<&str> = peregrine_bpf::supported_syscalls().collect();
    let mut src = open(&all);
    assert!(
        src.attached().len() + src.unavailable().len() > all.len(),
        "{:?}",
        src.attached()
    );
    let out = Command::new("sh")
        .args(["-c", "cat /etc/hostname >/dev/null; true"])
        .output()
        .expect("run sh");
    assert!(out.status.success());
    // Every event of the whole machine parses (collect() checks it).
    let evs = collect(&mut src, Duration::from_millis(300), |_| true);
    assert!(!evs.is_empty());
    assert_eq!(src.drops().lost(), 0, "{:?}", src.drops());
}

#[test]
fn fixed_size_events_carry_their_values() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut src = open(&["close", "dup2", "fcntl", "read", "socket"]);
    let me = gettid();
    let f = std::fs::File::open("/etc/hostname").expect("open");
    let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
    let mut buf = [0u8; 7];
    // SAFETY: plain syscalls on descriptors this test owns.
    unsafe {
        assert!(libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) >= 0);
        assert_eq!(libc::dup2(fd, 77), 77);
        assert_eq!(libc::fcntl(77, libc::F_SETFD, libc::FD_CLOEXEC), 0);
        assert_eq!(libc::close(77), 0);
        assert_eq!(libc::close(-5), -1);
        let s = libc::socket(libc::AF_INET6, libc::SOCK_DGRAM | libc::SOCK_NONBLOCK, 0);
        assert!(s >= 0);
        libc::close(s);
    }
    let evs = collect(&mut src, Duration::from_millis(300), |v| v.tid() == me);
    // (The loader's own reads of tracefs ids may have used the same fd.)
    let rd = by_thread(&evs, me, &["read"]);
    let rd = rd
        .iter()
        .rfind(|v| int_param(v, "fd") == i64::from(fd))
        .expect("read event");
    assert_eq!(int_param(rd, "size"), 7);
    assert!(int_param(rd, "res") >= 0);
    assert!(rd.param_by_name("data").unwrap().is_empty());
    let d = by_thread(&evs, me, &["dup2"]);
    let d = d
        .iter()
        .find(|v| int_param(v, "newfd") == 77)
        .expect("dup2 event");
    assert_eq!(
        (
            int_param(d, "res"),
            int_param(d, "oldfd"),
            int_param(d, "newfd")
        ),
        (77, i64::from(fd), 77)
    );
    let c = by_thread(&evs, me, &["fcntl"]);
    let c = c
        .iter()
        .find(|v| int_param(v, "fd") == 77)
        .expect("fcntl event");
    assert_eq!(int_param(c, "res"), 0);
    assert_eq!(c.param_by_name("cmd").unwrap(), [3], "PPM_FCNTL_F_SETFD");
    let closes = by_thread(&evs, me, &["close"]);
    assert!(
        closes
            .iter()
            .any(|v| int_param(v, "fd") == 77 && int_param(v, "res") == 0)
    );
    let bad = closes
        .iter()
        .find(|v| int_param(v, "fd") == -5)
        .expect("close(-5) event");
    assert_eq!(int_param(bad, "res"), -i64::from(libc::EBADF));
    let s = by_thread(&evs, me, &["socket"]);
    let s = s
        .iter()
        .find(|v| int_param(v, "domain") == i64::from(libc::AF_INET6))
        .expect("socket event");
    assert_eq!(int_param(s, "domain"), i64::from(libc::AF_INET6));
    assert_eq!(
        int_param(s, "type"),
        i64::from(libc::SOCK_DGRAM | libc::SOCK_NONBLOCK)
    );
    // Every event's length field matches its record (collect() checks).
    assert_eq!(src.drops().lost(), 0);
}

/// Lets the calling thread run only on `cpu`.
fn pin_to(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET writes inside it and
    // sched_setaffinity only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

#[test]
fn per_cpu_ring_buffers_keep_a_thread_in_order() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut src = start(&LiveOptions {
        syscalls: &["openat"],
        cpus_per_buffer: 1,
        ..LiveOptions::default()
    });
    assert_eq!(src.ring_buffers(), cpus, "one buffer per online CPU");
    // A thread that hops between CPUs: its events land in different
    // buffers and must still come out in order.
    let worker = std::thread::spawn(move || {
        for i in 0..200 {
            pin_to(i % cpus);
            let _ = std::fs::File::open(format!("/nonexistent/peregrine-order-{i}"));
        }
        gettid()
    });
    let tid = worker.join().unwrap();
    let evs = collect(&mut src, Duration::from_millis(500), |v| {
        v.tid() == tid && v.code() == code::SYSCALL_OPENAT_2_X
    });
    let seq: Vec<usize> = evs
        .iter()
        .map(|b| EventView::parse(b).unwrap())
        .filter_map(|v| {
            str_param(&v, "name")
                .strip_prefix("/nonexistent/peregrine-order-")
                .and_then(|n| n.parse().ok())
        })
        .collect();
    assert_eq!(seq, (0..200).collect::<Vec<_>>());
    let ts: Vec<u64> = evs
        .iter()
        .map(|b| EventView::parse(b).unwrap().ts())
        .collect();
    assert!(
        ts.windows(2).all(|w| w[0] <= w[1]),
        "timestamps out of order"
    );
    assert_eq!(src.drops().lost(), 0);
}

/// Both CPUs produce while the consumer reads: every ring wraps several
/// times, and each producer's events must come out whole, in order, with
/// every one either delivered or counted as lost.
#[test]
fn rings_wrap_while_read_concurrently_and_lose_nothing_silently() {
    const PER_THREAD: i64 = 60_000; // 60,000 x 46 bytes: the 1 MiB rings wrap
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut src = open_smallest_rings(&["close"]);
    let cpus = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(2);
    let before = src.drops();
    // Thread k closes the bad fds -(k * 1e6 + 1) down to -(k * 1e6 + N),
    // pinned to CPU k: the fd parameter numbers its events.
    let workers: Vec<_> = (0..cpus)
        .map(|k| {
            std::thread::spawn(move || {
                pin_to(k);
                let base = (k as i64 + 1) * 1_000_000;
                for i in 1..=PER_THREAD {
                    // SAFETY: closing an invalid descriptor only fails with EBADF.
                    unsafe { libc::close(-((base + i) as i32)) };
                }
                (gettid(), base)
            })
        })
        .collect();
    let mut last: std::collections::HashMap<u64, i64> = Default::default();
    let mut delivered = 0u64;
    let mut read_one =
        |src: &mut LiveSource, last: &mut std::collections::HashMap<u64, i64>| -> bool {
            let Some(b) = src
                .next_event(Duration::from_millis(20))
                .expect("ring poll")
            else {
                return false;
            };
            let v = EventView::parse(b).expect("probe events parse");
            assert_eq!(v.len() as usize, b.len());
            if v.code() == code::SYSCALL_CLOSE_X {
                let fd = -int_param(&v, "fd");
                if fd > 1_000_000 {
                    let prev = last.insert(v.tid(), fd).unwrap_or(0);
                    assert!(fd > prev, "thread {}: fd {fd} after {prev}", v.tid());
                    delivered += 1;
                }
            }
            true
        };
    while workers.iter().any(|w| !w.is_finished()) {
        read_one(&mut src, &mut last);
    }
    let ids: Vec<(u64, i64)> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    while read_one(&mut src, &mut last) {}
    for (tid, base) in &ids {
        let end = last.get(tid).copied().unwrap_or(0);
        assert!(
            end > *base && end <= base + PER_THREAD,
            "thread {tid} ended at {end}"
        );
    }
    // Other processes' events may be lost too, so this is a bound.
    let lost = src.drops().ring_full - before.ring_full;
    let made = PER_THREAD as u64 * ids.len() as u64;
    assert!(
        delivered <= made && delivered + lost >= made,
        "delivered {delivered} of {made}, lost {lost}"
    );
    // More than one ring's worth (1 MiB / 46 bytes) was read: a ring wrapped.
    assert!(
        delivered > (1 << 20) / 46,
        "delivered {delivered} of {made}, lost {lost}"
    );
    eprintln!("delivered {delivered} of {made}, lost {lost}");
}

/// `last_event` gives back the event `next_event` returned, until the
/// next call; after a call that found nothing it is empty.
#[test]
fn last_event_is_the_event_next_event_returned() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut src = open(&["close"]);
    assert!(src.last_event().is_empty(), "nothing read yet");
    for cpu in 0..std::thread::available_parallelism().map_or(1, |n| n.get()) {
        std::thread::spawn(move || {
            pin_to(cpu);
            // SAFETY: closing an invalid descriptor only fails with EBADF.
            unsafe { libc::close(-4242) };
        })
        .join()
        .unwrap();
    }
    let (mut seen, mut found_none) = (0, false);
    let deadline = Instant::now() + Duration::from_secs(10);
    // Other processes close files too: read until the rings run dry, or
    // for 10 s on a busy machine.
    while Instant::now() < deadline {
        let Some(b) = src
            .next_event(Duration::from_millis(200))
            .expect("ring poll")
        else {
            found_none = true;
            break;
        };
        let returned = b.to_vec();
        assert_eq!(src.last_event(), &returned[..]);
        let v = EventView::parse(&returned).unwrap();
        if v.code() == code::SYSCALL_CLOSE_X && int_param(&v, "fd") == -4242 {
            seen += 1;
        }
    }
    assert!(seen >= 1, "the closes of -4242 were read");
    if found_none {
        assert!(src.last_event().is_empty(), "the last call found nothing");
    }
}

#[test]
fn a_full_ring_buffer_counts_its_drops() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // The smallest ring (1 MiB per CPU), which nobody reads while this
    // thread, on one CPU, makes 60,000 events of 46 bytes (close of a bad
    // fd, 2.8 MB): more than half cannot fit.
    let mut src = open_smallest_rings(&["close"]);
    pin_to(0);
    for _ in 0..60_000 {
        // SAFETY: closing an invalid descriptor only fails with EBADF.
        unsafe { libc::close(-7) };
    }
    let d = src.drops();
    assert!(d.ring_full > 30_000, "{d:?}");
    assert_eq!(d.lost(), d.ring_full + d.scratch_fail);
    // What fit is delivered whole; the reader then catches up.
    let mut n = 0;
    while let Some(b) = src.next_event(Duration::ZERO).expect("ring poll") {
        EventView::parse(b).expect("probe events parse");
        n += 1;
    }
    assert!(n > 20_000 && n < 30_000, "{n} events");
    assert!(src.drops().events >= n, "{:?}", src.drops());
}

/// This process's open perf events and BPF links (what keeps a program
/// attached to a tracepoint).
fn attachment_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|l| {
            let l = l.to_string_lossy();
            l.contains("perf_event") || l.contains("bpf_link") || l.contains("bpf-link")
        })
        .count()
}

#[test]
fn dropping_the_source_detaches_every_program() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let before = attachment_fds();
    let src = open(&["openat", "close", "dup", "read", "connect"]);
    let attached = src.attached().len();
    assert!(attached >= 5, "{:?}", src.attached());
    let during = attachment_fds();
    eprintln!("{before} attachment fds before, {during} with {attached} programs");
    assert!(
        during >= before + attached,
        "{during} attachment fds with {attached} programs attached ({before} before)"
    );
    drop(src);
    assert_eq!(attachment_fds(), before, "attachments left after drop");
}

//! Start-up scan of `/proc`: the threads and file descriptors that exist
//! before the probe sees any event, to seed the state tables.
//!
//! Processes and threads that vanish during the scan are skipped; fields
//! that cannot be read keep the values of [`ThreadRecord::absent`].

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use peregrine_scap::records::{FdAddress, FdKind, FdRecord, ThreadRecord};

/// Scans `/proc`: every thread, and the fds of every process (keyed by pid).
pub fn scan() -> (Vec<ThreadRecord>, Vec<(u64, FdRecord)>) {
    scan_root(Path::new("/proc"))
}

fn num_dirs(p: &Path) -> Vec<u64> {
    let mut v: Vec<u64> = match fs::read_dir(p) {
        Ok(d) => d
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort_unstable();
    v
}

/// [`scan`] of a proc file system mounted at `root`.
pub fn scan_root(root: &Path) -> (Vec<ThreadRecord>, Vec<(u64, FdRecord)>) {
    let boot_epoch = boot_epoch_ns(root);
    let sockets = SocketTable::read(&root.join("net"));
    let mut threads = Vec::new();
    let mut fds = Vec::new();
    for pid in num_dirs(root) {
        let pdir = root.join(pid.to_string());
        for tid in num_dirs(&pdir.join("task")) {
            let tdir = pdir.join("task").join(tid.to_string());
            if let Some(t) = read_thread(&pdir, &tdir, pid, tid, boot_epoch) {
                threads.push(t);
            }
        }
        for f in read_fds(&pdir, pid, &sockets) {
            fds.push((pid, f));
        }
    }
    (threads, fds)
}

fn boot_epoch_ns(root: &Path) -> u64 {
    let btime = fs::read_to_string(root.join("stat"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    btime * 1_000_000_000
}

fn status_map(s: &str) -> HashMap<&str, &str> {
    s.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k, v.trim()))
        })
        .collect()
}

fn nth_num<T: std::str::FromStr>(s: Option<&&str>, i: usize) -> Option<T> {
    s?.split_whitespace().nth(i)?.parse().ok()
}

fn last_num<T: std::str::FromStr>(s: Option<&&str>) -> Option<T> {
    s?.split_whitespace().last()?.parse().ok()
}

fn kb(s: Option<&&str>) -> u32 {
    nth_num(s, 0).unwrap_or(0)
}

fn split_nul(b: &[u8]) -> Vec<String> {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    if b.is_empty() {
        return Vec::new();
    }
    b.split(|&c| c == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

fn link(p: &Path) -> String {
    fs::read_link(p)
        .map(|l| l.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read_thread(
    pdir: &Path,
    tdir: &Path,
    pid: u64,
    tid: u64,
    boot_epoch: u64,
) -> Option<ThreadRecord> {
    let status = fs::read_to_string(tdir.join("status")).ok()?;
    let st = status_map(&status);
    let mut t = ThreadRecord::absent();
    t.tid = tid;
    t.pid = pid;
    t.ptid = nth_num(st.get("PPid"), 0).unwrap_or(0);
    t.comm = fs::read_to_string(tdir.join("comm"))
        .map(|s| s.trim_end_matches('\n').to_string())
        .unwrap_or_default();
    let cmdline = fs::read(pdir.join("cmdline")).unwrap_or_default();
    let mut args = split_nul(&cmdline);
    if !args.is_empty() {
        t.exe = args.remove(0);
    } else {
        t.exe = t.comm.clone();
    }
    t.args = args;
    t.env = split_nul(&fs::read(pdir.join("environ")).unwrap_or_default());
    t.exepath = link(&pdir.join("exe"));
    t.cwd = link(&tdir.join("cwd"));
    t.root = link(&pdir.join("root"));
    t.uid = nth_num(st.get("Uid"), 1).unwrap_or(0);
    t.gid = nth_num(st.get("Gid"), 1).unwrap_or(0);
    t.cap_inheritable = st
        .get("CapInh")
        .and_then(|v| u64::from_str_radix(v, 16).ok())
        .unwrap_or(0);
    t.cap_permitted = st
        .get("CapPrm")
        .and_then(|v| u64::from_str_radix(v, 16).ok())
        .unwrap_or(0);
    t.cap_effective = st
        .get("CapEff")
        .and_then(|v| u64::from_str_radix(v, 16).ok())
        .unwrap_or(0);
    t.vmsize_kb = kb(st.get("VmSize"));
    t.vmrss_kb = kb(st.get("VmRSS"));
    t.vmswap_kb = kb(st.get("VmSwap"));
    t.vtid = last_num(st.get("NSpid")).unwrap_or(tid as i64);
    t.vpid = last_num(st.get("NStgid")).unwrap_or(pid as i64);
    t.vpgid = last_num(st.get("NSpgid")).unwrap_or(u64::MAX);
    t.loginuid = fs::read_to_string(pdir.join("loginuid"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(u32::MAX);
    if let Ok(stat) = fs::read_to_string(tdir.join("stat")) {
        // Fields after the parenthesized comm, which may contain spaces.
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let n = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
            // rest[0] is field 3 (state).
            t.pgid = n(2);
            t.sid = n(3);
            t.tty = n(4) as u32;
            t.pfminor = n(7);
            t.pfmajor = n(9);
            // SAFETY: sysconf has no memory-safety preconditions.
            let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
            t.clone_ts = boot_epoch + n(19) * (1_000_000_000 / hz);
        }
    }
    t.fdlimit = fs::read_to_string(pdir.join("limits"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let rest = l.strip_prefix("Max open files")?;
                rest.split_whitespace().next()?.parse().ok()
            })
        })
        .unwrap_or(0);
    if let Ok(md) = fs::metadata(pdir.join("exe")) {
        t.exe_ino = md.ino();
        t.exe_ino_ctime = (md.ctime() as u64) * 1_000_000_000 + md.ctime_nsec() as u64;
        t.exe_ino_mtime = (md.mtime() as u64) * 1_000_000_000 + md.mtime_nsec() as u64;
    }
    t.exe_from_memfd = t.exepath.starts_with("/memfd:");
    t.cgroups = fs::read_to_string(pdir.join("cgroup"))
        .map(|s| {
            s.lines()
                .filter_map(|l| {
                    let mut it = l.splitn(3, ':');
                    let _id = it.next()?;
                    let subsys = it.next()?;
                    let path = it.next()?;
                    let subsys = subsys.strip_prefix("name=").unwrap_or(subsys);
                    let subsys = if subsys.is_empty() { "unified" } else { subsys };
                    Some(format!("{subsys}={path}"))
                })
                .collect()
        })
        .unwrap_or_default();
    if tid != pid {
        // PPM_CL_CLONE_THREAD | SIGHAND | VM | FILES
        t.flags = 0x2000 | 0x800 | 0x8000 | 0x1;
    }
    Some(t)
}

/// Linux open flags -> PPM_O_* (x86_64 values).
fn open_flags_to_scap(f: u32) -> u32 {
    let mut r = match f & 3 {
        1 => 2,
        2 => 3,
        _ => 1,
    };
    for (from, to) in [
        (0o100, 1 << 2),
        (0o2000, 1 << 3),
        (0o10000, 1 << 4),
        (0o200, 1 << 5),
        (0o4000, 1 << 6),
        (0o4000000, 1 << 7),
        (0o1000, 1 << 8),
        (0o40000, 1 << 9),
        (0o200000, 1 << 10),
        (0o100000, 1 << 11),
        (0o2000000, 1 << 12),
        (0o20000000, 1 << 13),
    ] {
        if f & from != 0 {
            r |= to;
        }
    }
    r
}

fn read_fds(pdir: &Path, pid: u64, sockets: &SocketTable) -> Vec<FdRecord> {
    let mut out = Vec::new();
    for fd in num_dirs(&pdir.join("fd")) {
        let p = pdir.join("fd").join(fd.to_string());
        let target = link(&p);
        if target.is_empty() {
            continue;
        }
        let md = fs::metadata(&p).ok();
        let ino = md.as_ref().map(|m| m.ino()).unwrap_or(0);
        let (kind, address) = classify(&target, md.as_ref(), pdir, fd, sockets);
        out.push(FdRecord {
            tid: pid,
            fd: fd as i64,
            ino,
            kind,
            address,
        });
    }
    out
}

fn classify(
    target: &str,
    md: Option<&fs::Metadata>,
    pdir: &Path,
    fd: u64,
    sockets: &SocketTable,
) -> (FdKind, FdAddress) {
    let name = |s: &str| FdAddress::Name(s.to_string());
    if let Some(ino) = target
        .strip_prefix("socket:[")
        .and_then(|s| s.strip_suffix(']'))
        .and_then(|s| s.parse::<u64>().ok())
    {
        return sockets
            .by_ino
            .get(&ino)
            .cloned()
            .unwrap_or((FdKind::Unknown, FdAddress::Name(String::new())));
    }
    if target.starts_with("pipe:") {
        return (FdKind::Fifo, name(""));
    }
    if let Some(a) = target.strip_prefix("anon_inode:") {
        let a = a.trim_start_matches('[').trim_end_matches(']');
        let kind = match a {
            "eventfd" => FdKind::Event,
            "eventpoll" => FdKind::Eventpoll,
            "inotify" => FdKind::Inotify,
            "signalfd" => FdKind::Signalfd,
            "timerfd" => FdKind::Timerfd,
            "userfaultfd" => FdKind::Userfaultfd,
            "io_uring" => FdKind::Iouring,
            "pidfd" => FdKind::Pidfd,
            _ if a.starts_with("bpf") => FdKind::Bpf,
            _ => FdKind::Unsupported,
        };
        return (kind, name(""));
    }
    if target.starts_with("/memfd:") {
        return (FdKind::Memfd, name(target));
    }
    if md.is_some_and(|m| m.is_dir()) {
        return (FdKind::Directory, name(target));
    }
    let info = fs::read_to_string(pdir.join("fdinfo").join(fd.to_string())).unwrap_or_default();
    let field = |k: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
    };
    let flags = field("flags:")
        .and_then(|v| u32::from_str_radix(&v, 8).ok())
        .unwrap_or(0);
    let mount_id = field("mnt_id:").and_then(|v| v.parse().ok()).unwrap_or(0);
    let dev = md.map(|m| m.dev() as u32).unwrap_or(0);
    (
        FdKind::FileV2,
        FdAddress::File {
            name: target.to_string(),
            open_flags: open_flags_to_scap(flags),
            mount_id,
            dev,
        },
    )
}

/// Sockets of the scanning process's network namespace, by inode.
struct SocketTable {
    by_ino: HashMap<u64, (FdKind, FdAddress)>,
}

const SCAP_L4_TCP: u8 = 3;
const SCAP_L4_UDP: u8 = 4;

fn hex_ip4(s: &str) -> Option<[u8; 4]> {
    // Stored as a host-order (little-endian) u32 of the network-order bytes.
    Some(u32::from_str_radix(s, 16).ok()?.to_le_bytes())
}

fn hex_ip6(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for w in 0..4 {
        let v = u32::from_str_radix(&s[w * 8..w * 8 + 8], 16).ok()?;
        out[w * 4..w * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    Some(out)
}

fn hex_port(s: &str) -> Option<u16> {
    u16::from_str_radix(s, 16).ok()
}

impl SocketTable {
    fn read(net: &Path) -> SocketTable {
        let mut by_ino = HashMap::new();
        for (file, l4, v6) in [
            ("tcp", SCAP_L4_TCP, false),
            ("udp", SCAP_L4_UDP, false),
            ("tcp6", SCAP_L4_TCP, true),
            ("udp6", SCAP_L4_UDP, true),
        ] {
            let Ok(text) = fs::read_to_string(net.join(file)) else {
                continue;
            };
            for line in text.lines().skip(1) {
                if let Some((ino, rec)) = parse_inet_line(line, l4, v6) {
                    by_ino.insert(ino, rec);
                }
            }
        }
        if let Ok(text) = fs::read_to_string(net.join("unix")) {
            for line in text.lines().skip(1) {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() < 7 {
                    continue;
                }
                let Ok(ino) = f[6].parse::<u64>() else {
                    continue;
                };
                let source = u64::from_str_radix(f[0].trim_end_matches(':'), 16).unwrap_or(0);
                let path = f.get(7).copied().unwrap_or("").to_string();
                by_ino.insert(
                    ino,
                    (
                        FdKind::UnixSock,
                        FdAddress::Unix {
                            source,
                            dest: 0,
                            path,
                        },
                    ),
                );
            }
        }
        SocketTable { by_ino }
    }
}

fn parse_inet_line(line: &str, l4proto: u8, v6: bool) -> Option<(u64, (FdKind, FdAddress))> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let (local, remote, state, ino) = (f.get(1)?, f.get(2)?, f.get(3)?, f.get(9)?);
    let ino: u64 = ino.parse().ok()?;
    let (lip, lport) = local.split_once(':')?;
    let (rip, rport) = remote.split_once(':')?;
    let (lport, rport) = (hex_port(lport)?, hex_port(rport)?);
    // TCP_LISTEN is 0A; an unconnected UDP socket (remote port 0) too is a server.
    let listening = *state == "0A" || (l4proto == SCAP_L4_UDP && rport == 0);
    let rec = if v6 {
        let (sip, dip) = (hex_ip6(lip)?, hex_ip6(rip)?);
        if listening {
            (
                FdKind::Ipv6Server,
                FdAddress::Ipv6Server {
                    ip: sip,
                    port: lport,
                    l4proto,
                },
            )
        } else {
            (
                FdKind::Ipv6Sock,
                FdAddress::Ipv6 {
                    sip,
                    dip,
                    sport: lport,
                    dport: rport,
                    l4proto,
                },
            )
        }
    } else {
        let (sip, dip) = (hex_ip4(lip)?, hex_ip4(rip)?);
        if listening {
            (
                FdKind::Ipv4Server,
                FdAddress::Ipv4Server {
                    ip: sip,
                    port: lport,
                    l4proto,
                },
            )
        } else {
            (
                FdKind::Ipv4Sock,
                FdAddress::Ipv4 {
                    sip,
                    dip,
                    sport: lport,
                    dport: rport,
                    l4proto,
                },
            )
        }
    };
    Some((ino, rec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_self() {
        let (threads, fds) = scan();
        let me = std::process::id() as u64;
        let t = threads
            .iter()
            .find(|t| t.tid == me)
            .expect("own thread in scan");
        assert_eq!(t.pid, me);
        assert!(!t.comm.is_empty());
        assert!(t.exepath.starts_with('/'));
        assert!(
            fds.iter()
                .any(|(pid, f)| *pid == me && f.fd == 0 || f.fd == 1)
        );
    }

    #[test]
    fn inet_line() {
        let l = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0";
        let (ino, (kind, addr)) = parse_inet_line(l, SCAP_L4_TCP, false).unwrap();
        assert_eq!(ino, 12345);
        assert_eq!(kind, FdKind::Ipv4Server);
        assert_eq!(
            addr,
            FdAddress::Ipv4Server {
                ip: [127, 0, 0, 1],
                port: 8080,
                l4proto: SCAP_L4_TCP
            }
        );
    }

    #[test]
    fn flags() {
        assert_eq!(open_flags_to_scap(0), 1);
        assert_eq!(open_flags_to_scap(0o2000001), 2 | (1 << 12));
    }
}

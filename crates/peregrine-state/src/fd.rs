//! File descriptor information: type, name as sinsp builds it, socket
//! addresses and roles.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Kind of file descriptor (sinsp's `scap_fd_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum FdType {
    /// Not known (e.g. a socket of an unsupported family).
    #[default]
    Unknown,
    /// Regular file.
    File,
    /// Directory (opened with `O_DIRECTORY`).
    Directory,
    /// IPv4 socket (connected or not yet bound).
    Ipv4Sock,
    /// IPv6 socket.
    Ipv6Sock,
    /// Bound IPv4 server socket.
    Ipv4ServerSock,
    /// Bound IPv6 server socket.
    Ipv6ServerSock,
    /// Pipe or fifo.
    Fifo,
    /// Unix socket.
    UnixSock,
    /// eventfd.
    Event,
    /// Unsupported kind.
    Unsupported,
    /// signalfd.
    Signalfd,
    /// epoll instance.
    Eventpoll,
    /// inotify instance.
    Inotify,
    /// timerfd.
    Timerfd,
    /// Netlink socket.
    Netlink,
    /// BPF object.
    Bpf,
    /// userfaultfd.
    Userfaultfd,
    /// io_uring instance.
    IoUring,
    /// memfd.
    Memfd,
    /// pidfd.
    Pidfd,
}

impl FdType {
    /// `fd.typechar`, as sinsp prints it.
    pub fn type_char(self) -> char {
        match self {
            FdType::File => 'f',
            FdType::Directory => 'd',
            FdType::Ipv4Sock | FdType::Ipv4ServerSock => '4',
            FdType::Ipv6Sock | FdType::Ipv6ServerSock => '6',
            FdType::Fifo => 'p',
            FdType::UnixSock => 'u',
            FdType::Event => 'e',
            FdType::Unknown => 'o',
            FdType::Unsupported => 'X',
            FdType::Signalfd => 's',
            FdType::Eventpoll => 'l',
            FdType::Inotify => 'i',
            FdType::Timerfd => 't',
            FdType::Netlink => 'n',
            FdType::Bpf => 'b',
            FdType::Userfaultfd => 'u',
            FdType::IoUring => 'r',
            FdType::Memfd => 'm',
            FdType::Pidfd => 'P',
        }
    }

    /// `fd.type`, as sinsp prints it (`None` where sinsp prints `<NA>`).
    pub fn type_str(self) -> Option<&'static str> {
        Some(match self {
            FdType::File => "file",
            FdType::Directory => "directory",
            FdType::Ipv4Sock | FdType::Ipv4ServerSock => "ipv4",
            FdType::Ipv6Sock | FdType::Ipv6ServerSock => "ipv6",
            FdType::UnixSock => "unix",
            FdType::Fifo => "pipe",
            FdType::Event => "event",
            FdType::Signalfd => "signalfd",
            FdType::Eventpoll => "eventpoll",
            FdType::Inotify => "inotify",
            FdType::Timerfd => "timerfd",
            FdType::Netlink => "netlink",
            FdType::Bpf => "bpf",
            FdType::Userfaultfd => "userfaultfd",
            FdType::IoUring => "io_uring",
            FdType::Memfd => "memfd",
            FdType::Pidfd => "pidfd",
            FdType::Unknown | FdType::Unsupported => return None,
        })
    }

    /// True for IPv4/IPv6 sockets, connected or listening.
    pub fn is_inet(self) -> bool {
        matches!(
            self,
            FdType::Ipv4Sock | FdType::Ipv6Sock | FdType::Ipv4ServerSock | FdType::Ipv6ServerSock
        )
    }
}

/// Layer-4 protocol (`SCAP_L4_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum L4Proto {
    /// Not known yet.
    #[default]
    Unknown,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP.
    Icmp,
    /// Raw IP.
    Raw,
}

impl L4Proto {
    /// Decodes the capture-file code (`SCAP_L4_*`).
    pub fn from_scap(v: u8) -> Self {
        match v {
            1 => L4Proto::Tcp,
            2 => L4Proto::Udp,
            3 => L4Proto::Icmp,
            4 => L4Proto::Raw,
            _ => L4Proto::Unknown,
        }
    }

    /// `fd.l4proto` text (`None` when unknown).
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            L4Proto::Tcp => Some("tcp"),
            L4Proto::Udp => Some("udp"),
            L4Proto::Icmp => Some("icmp"),
            L4Proto::Raw => Some("raw"),
            L4Proto::Unknown => None,
        }
    }
}

/// Which end of a connection this process is, as sinsp tracks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Role {
    /// Not known.
    #[default]
    None,
    /// Client side (connect, or first write).
    Client,
    /// Server side (accept, bind to a port, or first read).
    Server,
}

/// Socket addressing of an fd. IP addresses are kept in network byte
/// order as on the wire; ports in host order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum SockInfo {
    /// Not a socket, or nothing known yet.
    #[default]
    None,
    /// IPv4 tuple; `s*` is the source (client) end, `d*` the destination (server) end.
    Ipv4 {
        /// Source address.
        sip: [u8; 4],
        /// Source port.
        sport: u16,
        /// Destination address.
        dip: [u8; 4],
        /// Destination port.
        dport: u16,
        /// Protocol.
        l4proto: L4Proto,
    },
    /// IPv6 tuple.
    Ipv6 {
        /// Source address.
        sip: [u8; 16],
        /// Source port.
        sport: u16,
        /// Destination address.
        dip: [u8; 16],
        /// Destination port.
        dport: u16,
        /// Protocol.
        l4proto: L4Proto,
    },
    /// Listening IPv4 socket.
    Ipv4Server {
        /// Local address.
        ip: [u8; 4],
        /// Local port.
        port: u16,
        /// Protocol.
        l4proto: L4Proto,
    },
    /// Listening IPv6 socket.
    Ipv6Server {
        /// Local address.
        ip: [u8; 16],
        /// Local port.
        port: u16,
        /// Protocol.
        l4proto: L4Proto,
    },
    /// Unix socket endpoints (kernel pointers) and path.
    Unix {
        /// Source endpoint.
        source: u64,
        /// Destination endpoint.
        dest: u64,
        /// Path (may be empty).
        path: String,
    },
}

impl SockInfo {
    /// Layer-4 protocol, when an inet socket.
    pub fn l4proto(&self) -> L4Proto {
        match self {
            SockInfo::Ipv4 { l4proto, .. }
            | SockInfo::Ipv6 { l4proto, .. }
            | SockInfo::Ipv4Server { l4proto, .. }
            | SockInfo::Ipv6Server { l4proto, .. } => *l4proto,
            _ => L4Proto::Unknown,
        }
    }

    fn set_l4proto(&mut self, p: L4Proto) {
        match self {
            SockInfo::Ipv4 { l4proto, .. }
            | SockInfo::Ipv6 { l4proto, .. }
            | SockInfo::Ipv4Server { l4proto, .. }
            | SockInfo::Ipv6Server { l4proto, .. } => *l4proto = p,
            _ => {}
        }
    }
}

/// `O_CLOEXEC` in `PPM_O_*` flags.
pub const PPM_O_CLOEXEC: u32 = 0x1000;
/// `O_DIRECTORY` in `PPM_O_*` flags.
pub const PPM_O_DIRECTORY: u32 = 0x400;
/// `O_F_CREATED` in `PPM_O_*` flags (the file was created by this open).
pub const PPM_O_F_CREATED: u32 = 0x4000;
/// Overlayfs upper layer marker in `PPM_O_*` flags.
pub const PPM_FD_UPPER_LAYER: u32 = 0x8000;
/// Overlayfs lower layer marker in `PPM_O_*` flags.
pub const PPM_FD_LOWER_LAYER: u32 = 0x10000;

/// One file descriptor as rules see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FdInfo {
    /// Kind.
    pub fd_type: FdType,
    /// `fd.name`: resolved path, socket tuple text, etc.
    pub name: String,
    /// Path as the syscall passed it, before resolution (`fd.nameraw`).
    pub name_raw: String,
    /// Open flags (`PPM_O_*`).
    pub open_flags: u32,
    /// Device number, when known.
    pub dev: u32,
    /// Inode number, when known.
    pub ino: u64,
    /// Mount id, when known.
    pub mount_id: u32,
    /// Socket addressing.
    pub sock: SockInfo,
    /// Client/server role of this process.
    pub role: Role,
    /// For a pidfd: the pid it refers to.
    pub pid: i64,
    /// The socket is connected (`fd.connected`): set by a successful or
    /// in-progress connect, by accept, by data moving through an IP socket,
    /// and for TCP sockets of the capture's fd lists.
    pub connected: bool,
}

impl FdInfo {
    /// A new fd of `fd_type` with everything else empty.
    pub fn new(fd_type: FdType) -> Self {
        FdInfo {
            fd_type,
            ..Default::default()
        }
    }

    /// `fd.typechar`.
    pub fn type_char(&self) -> char {
        self.fd_type.type_char()
    }

    /// True when opened with close-on-exec.
    pub fn is_cloexec(&self) -> bool {
        self.open_flags & PPM_O_CLOEXEC != 0
    }

    /// True when sinsp would call this fd a server endpoint.
    pub fn is_role_server(&self) -> bool {
        self.role == Role::Server
    }

    /// True when sinsp would call this fd a client endpoint.
    pub fn is_role_client(&self) -> bool {
        self.role == Role::Client
    }

    /// True for a TCP socket.
    pub fn is_tcp(&self) -> bool {
        self.sock.l4proto() == L4Proto::Tcp
    }

    /// `fd.l4proto`, as sinsp computes it: a connected socket whose role
    /// is unknown reports nothing (except raw sockets).
    pub fn l4proto(&self) -> L4Proto {
        let p = self.sock.l4proto();
        match self.fd_type {
            FdType::Ipv4Sock | FdType::Ipv6Sock => {
                if p == L4Proto::Raw {
                    p
                } else if self.role == Role::None {
                    L4Proto::Unknown
                } else {
                    p
                }
            }
            FdType::Ipv4ServerSock | FdType::Ipv6ServerSock => p,
            _ => L4Proto::Unknown,
        }
    }

    /// Client and server ends `(cip, cport, sip, sport)` of a connected
    /// socket, as `fd.cip`/`fd.sip` read them (tuple source = client).
    pub fn client_server(&self) -> Option<(IpAddr, u16, IpAddr, u16)> {
        match &self.sock {
            SockInfo::Ipv4 {
                sip,
                sport,
                dip,
                dport,
                ..
            } => Some((IpAddr::V4(*sip), *sport, IpAddr::V4(*dip), *dport)),
            SockInfo::Ipv6 {
                sip,
                sport,
                dip,
                dport,
                ..
            } => Some((IpAddr::V6(*sip), *sport, IpAddr::V6(*dip), *dport)),
            _ => None,
        }
    }

    pub(crate) fn clear_cloexec(&mut self) {
        self.open_flags &= !PPM_O_CLOEXEC;
    }

    pub(crate) fn set_l4proto_if_unknown(&mut self, p: L4Proto) {
        if self.sock.l4proto() == L4Proto::Unknown {
            self.sock.set_l4proto(p);
        }
    }
}

/// An IP address as stored in fd tuples (network byte order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpAddr {
    /// IPv4.
    V4([u8; 4]),
    /// IPv6.
    V6([u8; 16]),
}

impl std::fmt::Display for IpAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IpAddr::V4(a) => write!(f, "{}", Ipv4Addr::from(*a)),
            IpAddr::V6(a) => f.write_str(&ipv6_to_string(a)),
        }
    }
}

/// Formats an IPv6 address as `inet_ntop` does.
pub fn ipv6_to_string(a: &[u8; 16]) -> String {
    let addr = Ipv6Addr::from(*a);
    // inet_ntop prints IPv4-compatible addresses (::a.b.c.d) in dotted
    // form, except :: and ::1; Rust only does so for IPv4-mapped ones.
    if a[..12].iter().all(|&b| b == 0) && !(a[12..15].iter().all(|&b| b == 0) && a[15] <= 1) {
        return format!("::{}", Ipv4Addr::new(a[12], a[13], a[14], a[15]));
    }
    addr.to_string()
}

/// True for an IPv4-mapped (`::ffff:a.b.c.d`) or all-zero IPv6 address,
/// which sinsp treats as IPv4.
pub fn is_ipv4_mapped(a: &[u8; 16]) -> bool {
    a[..10].iter().all(|&b| b == 0)
        && ((a[10] == 0xff && a[11] == 0xff) || a[10..].iter().all(|&b| b == 0))
}

/// The IPv4 part of an IPv4-mapped IPv6 address.
pub fn mapped_v4(a: &[u8; 16]) -> [u8; 4] {
    [a[12], a[13], a[14], a[15]]
}

/// `fd.name` of a socket from its addressing, as sinsp's
/// `sockinfo_to_str` builds it.
pub fn sock_name(sock: &SockInfo, out: &mut String) {
    out.clear();
    match sock {
        SockInfo::Ipv4 {
            sip,
            sport,
            dip,
            dport,
            l4proto,
        } => match l4proto {
            L4Proto::Tcp | L4Proto::Udp => {
                let _ = write!(
                    out,
                    "{}:{}->{}:{}",
                    Ipv4Addr::from(*sip),
                    sport,
                    Ipv4Addr::from(*dip),
                    dport
                );
            }
            L4Proto::Icmp | L4Proto::Raw => {
                let _ = write!(out, "{}->{}", Ipv4Addr::from(*sip), Ipv4Addr::from(*dip));
            }
            L4Proto::Unknown => out.push_str("<unknown>"),
        },
        SockInfo::Ipv6 {
            sip,
            sport,
            dip,
            dport,
            l4proto,
        } => match l4proto {
            L4Proto::Tcp | L4Proto::Udp => {
                if is_ipv4_mapped(sip) && is_ipv4_mapped(dip) {
                    let _ = write!(
                        out,
                        "{}:{}->{}:{}",
                        Ipv4Addr::from(mapped_v4(sip)),
                        sport,
                        Ipv4Addr::from(mapped_v4(dip)),
                        dport
                    );
                } else {
                    let _ = write!(
                        out,
                        "{}:{}->{}:{}",
                        ipv6_to_string(sip),
                        sport,
                        ipv6_to_string(dip),
                        dport
                    );
                }
            }
            L4Proto::Icmp | L4Proto::Raw => {
                let _ = write!(out, "{}->{}", ipv6_to_string(sip), ipv6_to_string(dip));
            }
            L4Proto::Unknown => out.push_str("<unknown>"),
        },
        SockInfo::Ipv4Server { ip, port, .. } => {
            let _ = write!(out, "{}:{}", Ipv4Addr::from(*ip), port);
        }
        SockInfo::Ipv6Server { ip, port, .. } => {
            let _ = write!(out, "{}:{}", ipv6_to_string(ip), port);
        }
        SockInfo::Unix { source, dest, path } => {
            let _ = write!(out, "{source:x}->{dest:x} {path}");
        }
        SockInfo::None => {}
    }
}

// ---------------------------------------------------------------------
// Wire formats of PT_SOCKADDR and PT_SOCKTUPLE parameters.

/// `PPM_AF_UNIX`.
pub const AF_UNIX: u8 = 1;
/// `PPM_AF_INET`.
pub const AF_INET: u8 = 2;
/// `PPM_AF_INET6`.
pub const AF_INET6: u8 = 10;
/// `PPM_AF_NETLINK`.
pub const AF_NETLINK: u8 = 16;

/// A decoded `PT_SOCKADDR` parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SockAddr<'a> {
    /// IPv4 address and port.
    V4([u8; 4], u16),
    /// IPv6 address and port.
    V6([u8; 16], u16),
    /// Unix path (without NUL).
    Unix(&'a [u8]),
}

fn arr4(b: &[u8], off: usize) -> Option<[u8; 4]> {
    b.get(off..off + 4)?.try_into().ok()
}
fn arr16(b: &[u8], off: usize) -> Option<[u8; 16]> {
    b.get(off..off + 16)?.try_into().ok()
}
fn port(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}
fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}
fn cstr(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(n) => &b[..n],
        None => b,
    }
}

impl<'a> SockAddr<'a> {
    /// Decodes a sockaddr parameter; `None` when empty, truncated or of
    /// another family.
    pub fn parse(b: &'a [u8]) -> Option<Self> {
        match *b.first()? {
            AF_INET => Some(SockAddr::V4(arr4(b, 1)?, port(b, 5)?)),
            AF_INET6 => Some(SockAddr::V6(arr16(b, 1)?, port(b, 17)?)),
            AF_UNIX => Some(SockAddr::Unix(cstr(&b[1..]))),
            _ => None,
        }
    }

    /// The parameter's text as sysdig renders it (`ip:port` or the path).
    pub fn render(&self) -> String {
        match self {
            SockAddr::V4(ip, p) => format!("{}:{}", Ipv4Addr::from(*ip), p),
            SockAddr::V6(ip, p) => format!("{}:{}", ipv6_to_string(ip), p),
            SockAddr::Unix(path) => String::from_utf8_lossy(path).into_owned(),
        }
    }
}

/// A decoded `PT_SOCKTUPLE` parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SockTuple<'a> {
    /// IPv4 `sip, sport, dip, dport`.
    V4([u8; 4], u16, [u8; 4], u16),
    /// IPv6 `sip, sport, dip, dport`.
    V6([u8; 16], u16, [u8; 16], u16),
    /// Unix `source, dest, path`.
    Unix(u64, u64, &'a [u8]),
}

impl<'a> SockTuple<'a> {
    /// Decodes a socktuple parameter; `None` when empty, truncated or of
    /// another family.
    pub fn parse(b: &'a [u8]) -> Option<Self> {
        match *b.first()? {
            AF_INET => Some(SockTuple::V4(
                arr4(b, 1)?,
                port(b, 5)?,
                arr4(b, 7)?,
                port(b, 11)?,
            )),
            AF_INET6 => Some(SockTuple::V6(
                arr16(b, 1)?,
                port(b, 17)?,
                arr16(b, 19)?,
                port(b, 35)?,
            )),
            AF_UNIX => Some(SockTuple::Unix(
                u64_at(b, 1)?,
                u64_at(b, 9)?,
                cstr(b.get(17..)?),
            )),
            _ => None,
        }
    }

    /// The family byte of a raw socktuple parameter.
    pub fn family(b: &[u8]) -> Option<u8> {
        b.first().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_sinsp() {
        let mut s = String::new();
        sock_name(
            &SockInfo::Ipv4 {
                sip: [127, 0, 0, 1],
                sport: 40000,
                dip: [127, 0, 0, 1],
                dport: 80,
                l4proto: L4Proto::Tcp,
            },
            &mut s,
        );
        assert_eq!(s, "127.0.0.1:40000->127.0.0.1:80");
        let mut ip = [0u8; 16];
        ip[0] = 0x20;
        ip[1] = 0x01;
        ip[2] = 0x0d;
        ip[3] = 0xb8;
        ip[15] = 4;
        sock_name(
            &SockInfo::Ipv6Server {
                ip,
                port: 0,
                l4proto: L4Proto::Tcp,
            },
            &mut s,
        );
        assert_eq!(s, "2001:db8::4:0");
        sock_name(
            &SockInfo::Unix {
                source: 0,
                dest: 0xffff94dc817b9400,
                path: "/x".into(),
            },
            &mut s,
        );
        assert_eq!(s, "0->ffff94dc817b9400 /x");
        assert_eq!(FdType::Ipv4ServerSock.type_char(), '4');
        assert_eq!(FdType::Fifo.type_str(), Some("pipe"));
    }

    #[test]
    fn parses_wire_addresses_without_panicking() {
        let mut b = vec![AF_INET, 10, 0, 0, 1];
        b.extend_from_slice(&80u16.to_le_bytes());
        assert_eq!(SockAddr::parse(&b), Some(SockAddr::V4([10, 0, 0, 1], 80)));
        for cut in 0..b.len() {
            let _ = SockAddr::parse(&b[..cut]);
            let _ = SockTuple::parse(&b[..cut]);
        }
        assert_eq!(SockTuple::parse(&[AF_INET6, 1, 2]), None);
        assert_eq!(
            SockAddr::parse(&[AF_UNIX, b'/', b'a', 0]),
            Some(SockAddr::Unix(b"/a"))
        );
    }
}

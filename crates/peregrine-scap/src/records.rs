//! Typed contents of the capture file's metadata blocks: machine info,
//! process list, fd lists, interface list and user list.
//!
//! These are owned values: metadata is read once at start-up, off the
//! per-event hot path. Fields that an older block version lacks take the
//! value libscap gives them: `-1` (all bits set) for `sid`, `vpgid`,
//! `pgid`, `vtid`, `vpid` and `loginuid`, zero or empty for the rest
//! (see [`ThreadRecord::absent`]).

/// Machine description (`MI` block).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MachineInfo {
    /// Number of CPUs.
    pub num_cpus: u32,
    /// Physical memory in bytes.
    pub memory_size_bytes: u64,
    /// Highest pid number on the machine.
    pub max_pid: u64,
    /// Host name.
    pub hostname: String,
    /// Boot time in ns since the epoch (newer block versions only).
    pub boot_ts_epoch: u64,
    /// Flags (newer block versions only).
    pub flags: u64,
}

/// One thread of the process list (`PL` blocks, every version).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadRecord {
    /// Thread id.
    pub tid: u64,
    /// Process id (thread group leader).
    pub pid: u64,
    /// Parent thread id.
    pub ptid: u64,
    /// Session id.
    pub sid: u64,
    /// Process group id as seen from the thread's pid namespace.
    pub vpgid: u64,
    /// Process group id as seen from the host.
    pub pgid: u64,
    /// Command name (`comm`).
    pub comm: String,
    /// `argv[0]`.
    pub exe: String,
    /// Full executable path.
    pub exepath: String,
    /// Arguments after `argv[0]`, each without its NUL.
    pub args: Vec<String>,
    /// Environment entries `KEY=VALUE`.
    pub env: Vec<String>,
    /// Current working directory.
    pub cwd: String,
    /// Maximum number of fds.
    pub fdlimit: i64,
    /// Process flags (`PPM_CL_*`).
    pub flags: u32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Login uid.
    pub loginuid: u32,
    /// Controlling terminal number.
    pub tty: u32,
    /// Permitted capabilities.
    pub cap_permitted: u64,
    /// Effective capabilities.
    pub cap_effective: u64,
    /// Inheritable capabilities.
    pub cap_inheritable: u64,
    /// Executable inode number.
    pub exe_ino: u64,
    /// Executable inode ctime.
    pub exe_ino_ctime: u64,
    /// Executable inode mtime.
    pub exe_ino_mtime: u64,
    /// Executable writable by its user.
    pub exe_writable: bool,
    /// Executable in an overlayfs upper layer.
    pub exe_upper_layer: bool,
    /// Executable in an overlayfs lower layer.
    pub exe_lower_layer: bool,
    /// Executable from a memfd.
    pub exe_from_memfd: bool,
    /// Virtual memory size in KiB.
    pub vmsize_kb: u32,
    /// Resident memory in KiB.
    pub vmrss_kb: u32,
    /// Swapped memory in KiB.
    pub vmswap_kb: u32,
    /// Major page faults.
    pub pfmajor: u64,
    /// Minor page faults.
    pub pfminor: u64,
    /// Thread id in its pid namespace.
    pub vtid: i64,
    /// Process id in its pid namespace.
    pub vpid: i64,
    /// Start time of the pid namespace's init task.
    pub pidns_init_start_ts: u64,
    /// Cgroups, `subsys=path` each.
    pub cgroups: Vec<String>,
    /// Root directory.
    pub root: String,
    /// Clone timestamp.
    pub clone_ts: u64,
}

impl ThreadRecord {
    /// A record whose fields hold the values libscap uses when a block
    /// version does not carry them: `-1` for session, process group and
    /// namespace ids, `u32::MAX` for the login uid, zero/empty otherwise.
    pub fn absent() -> Self {
        ThreadRecord {
            sid: u64::MAX,
            vpgid: u64::MAX,
            pgid: u64::MAX,
            vtid: -1,
            vpid: -1,
            loginuid: u32::MAX,
            ..Default::default()
        }
    }
}

/// Kind of a file descriptor as stored in capture files (`SCAP_FD_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum FdKind {
    Uninitialized,
    Unknown,
    File,
    Directory,
    Ipv4Sock,
    Ipv6Sock,
    Ipv4Server,
    Ipv6Server,
    Fifo,
    UnixSock,
    Event,
    Unsupported,
    Signalfd,
    Eventpoll,
    Inotify,
    Timerfd,
    Netlink,
    FileV2,
    Bpf,
    Userfaultfd,
    Iouring,
    Memfd,
    Pidfd,
    /// A type code this reader does not know.
    Other(u8),
}

impl FdKind {
    /// The kind for an on-disk type code (`SCAP_FD_*`, stored as one byte;
    /// `0xff` is the uninitialized `-1`).
    pub fn from_code(code: u8) -> FdKind {
        use FdKind::*;
        match code {
            0 => Unknown,
            1 => File,
            2 => Directory,
            3 => Ipv4Sock,
            4 => Ipv6Sock,
            5 => Ipv4Server,
            6 => Ipv6Server,
            7 => Fifo,
            8 => UnixSock,
            9 => Event,
            10 => Unsupported,
            11 => Signalfd,
            12 => Eventpoll,
            13 => Inotify,
            14 => Timerfd,
            15 => Netlink,
            16 => FileV2,
            17 => Bpf,
            18 => Userfaultfd,
            19 => Iouring,
            20 => Memfd,
            21 => Pidfd,
            0xff => Uninitialized,
            other => Other(other),
        }
    }

    /// The on-disk type code of this kind (inverse of [`FdKind::from_code`]).
    pub fn code(self) -> u8 {
        use FdKind::*;
        match self {
            Uninitialized => 0xff,
            Unknown => 0,
            File => 1,
            Directory => 2,
            Ipv4Sock => 3,
            Ipv6Sock => 4,
            Ipv4Server => 5,
            Ipv6Server => 6,
            Fifo => 7,
            UnixSock => 8,
            Event => 9,
            Unsupported => 10,
            Signalfd => 11,
            Eventpoll => 12,
            Inotify => 13,
            Timerfd => 14,
            Netlink => 15,
            FileV2 => 16,
            Bpf => 17,
            Userfaultfd => 18,
            Iouring => 19,
            Memfd => 20,
            Pidfd => 21,
            Other(c) => c,
        }
    }

    /// Whether records of this kind carry just a name on disk (old-style
    /// files, directories, fifos, eventfds, ...).
    pub fn is_name_only(self) -> bool {
        use FdKind::*;
        matches!(
            self,
            File | Directory
                | Fifo
                | Event
                | Unsupported
                | Signalfd
                | Eventpoll
                | Inotify
                | Timerfd
                | Netlink
                | Bpf
                | Userfaultfd
                | Iouring
                | Memfd
                | Pidfd
        )
    }
}

/// Address part of an fd record, by kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FdAddress {
    /// IPv4 connection: source/dest address (network byte order as stored), ports, l4 protocol.
    Ipv4 {
        /// Source address.
        sip: [u8; 4],
        /// Destination address.
        dip: [u8; 4],
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Layer-4 protocol (`SCAP_L4_*`).
        l4proto: u8,
    },
    /// IPv6 connection.
    Ipv6 {
        /// Source address.
        sip: [u8; 16],
        /// Destination address.
        dip: [u8; 16],
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Layer-4 protocol.
        l4proto: u8,
    },
    /// IPv4 listening socket.
    Ipv4Server {
        /// Local address.
        ip: [u8; 4],
        /// Local port.
        port: u16,
        /// Layer-4 protocol.
        l4proto: u8,
    },
    /// IPv6 listening socket.
    Ipv6Server {
        /// Local address.
        ip: [u8; 16],
        /// Local port.
        port: u16,
        /// Layer-4 protocol.
        l4proto: u8,
    },
    /// Unix socket: source and destination kernel pointers and the path.
    Unix {
        /// Source endpoint.
        source: u64,
        /// Destination endpoint.
        dest: u64,
        /// Socket path.
        path: String,
    },
    /// Regular file with its open flags (`FILE_V2` records). The reader uses
    /// it only for [`FdKind::FileV2`]; the writer also accepts it for the
    /// name-only kinds (then only `name` is written).
    File {
        /// Path.
        name: String,
        /// Open flags (`PPM_O_*`), when known.
        open_flags: u32,
        /// Mount id, when known (not stored in capture files: always 0 when read).
        mount_id: u32,
        /// Device number, when known.
        dev: u32,
    },
    /// Name-only kinds (old-style files, directories, fifos, eventfds, ...):
    /// just a name. Empty for kinds that carry nothing (unknown codes).
    Name(String),
}

/// One entry of an fd list (`FDL` blocks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdRecord {
    /// Owning thread group (pid).
    pub tid: u64,
    /// fd number.
    pub fd: i64,
    /// Inode number.
    pub ino: u64,
    /// Kind.
    pub kind: FdKind,
    /// Address or name.
    pub address: FdAddress,
}

/// One network interface (`IL` block).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfaceRecord {
    /// Interface name.
    pub name: String,
    /// Address: 4 bytes for IPv4, 16 for IPv6.
    pub addr: Vec<u8>,
    /// Netmask, same width as `addr`.
    pub netmask: Vec<u8>,
    /// Broadcast address, same width as `addr` (zeros when absent).
    pub broadcast: Vec<u8>,
    /// Link speed (0 when the record has none).
    pub linkspeed: u64,
}

/// One user (`UL` block).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserRecord {
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

/// One group (`UL` block).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupRecord {
    /// Group id.
    pub gid: u32,
    /// Group name.
    pub name: String,
}

//! Decoders for the metadata block bodies. They work on an in-memory block
//! body and report errors with the position inside that body.

use crate::block_type as bt;
use crate::error::ErrorKind;
use crate::records::*;

/// An error at byte `at` of the block body.
pub(crate) struct DecodeError {
    pub at: usize,
    pub kind: ErrorKind,
}

pub(crate) type DResult<T> = Result<T, DecodeError>;

pub(crate) fn invalid(
    at: usize,
    what: &'static str,
    expected: String,
    found: String,
) -> DecodeError {
    DecodeError {
        at,
        kind: ErrorKind::Invalid {
            what,
            expected,
            found,
        },
    }
}

/// A bounds-checked little-endian cursor over a block body.
pub(crate) struct Cur<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Cur<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cur { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn bytes(&mut self, n: usize, what: &'static str) -> DResult<&'a [u8]> {
        if self.remaining() < n {
            return Err(DecodeError {
                at: self.pos,
                kind: ErrorKind::Truncated {
                    what,
                    expected: n as u64,
                    found: self.remaining() as u64,
                },
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn array<const N: usize>(&mut self, what: &'static str) -> DResult<[u8; N]> {
        Ok(self.bytes(N, what)?.try_into().expect("length checked"))
    }

    pub fn u8(&mut self, what: &'static str) -> DResult<u8> {
        Ok(self.bytes(1, what)?[0])
    }
    pub fn u16(&mut self, what: &'static str) -> DResult<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    pub fn u32(&mut self, what: &'static str) -> DResult<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    pub fn u64(&mut self, what: &'static str) -> DResult<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    pub fn i64(&mut self, what: &'static str) -> DResult<i64> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    /// `u16` length then that many bytes.
    pub fn blob16(&mut self, what: &'static str) -> DResult<&'a [u8]> {
        let n = self.u16(what)? as usize;
        self.bytes(n, what)
    }

    /// `u16` length then a string, cut at its first NUL.
    pub fn str16(&mut self, what: &'static str) -> DResult<String> {
        Ok(cstr(self.blob16(what)?))
    }
}

/// Bytes up to the first NUL, as (lossy) UTF-8.
pub(crate) fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// A NUL-separated list (`a\0b\0`), the last NUL optional.
pub(crate) fn nul_list(b: &[u8]) -> Vec<String> {
    if b.is_empty() {
        return Vec::new();
    }
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    b.split(|&c| c == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Machine info: `num_cpus u32, memory u64, max_pid u64, hostname[128]`,
/// then `boot_ts_epoch u64, flags u64` and two reserved `u64`s.
pub(crate) fn machine_info(body: &[u8]) -> DResult<MachineInfo> {
    let mut c = Cur::new(body);
    let num_cpus = c.u32("machine info")?;
    let memory_size_bytes = c.u64("machine info")?;
    let max_pid = c.u64("machine info")?;
    let hostname = cstr(c.bytes(128, "machine info hostname")?);
    let mut mi = MachineInfo {
        num_cpus,
        memory_size_bytes,
        max_pid,
        hostname,
        ..Default::default()
    };
    if c.remaining() >= 16 {
        mi.boot_ts_epoch = c.u64("machine info")?;
        mi.flags = c.u64("machine info")?;
    }
    Ok(mi)
}

/// Size of the fields that entries written by libs before 0.10 may have
/// after `root`: loginuid, exe_writable and three capability sets.
const PRE_0_10_TAIL: usize = 4 + 1 + 8 + 8 + 8;

/// Process list, every version.
pub(crate) fn proc_list(body: &[u8], block_type: u32) -> DResult<Vec<ThreadRecord>> {
    let v = bt::proc_list_version(block_type).expect("process list block type");
    let mut c = Cur::new(body);
    let mut out = Vec::new();
    while c.remaining() >= 4 {
        let start = c.pos;
        let sub_len = if v >= 9 {
            c.u32("process list entry length")? as usize
        } else {
            0
        };
        if sub_len != 0 && sub_len > body.len() - start {
            return Err(DecodeError {
                at: start,
                kind: ErrorKind::Truncated {
                    what: "process list entry",
                    expected: sub_len as u64,
                    found: (body.len() - start) as u64,
                },
            });
        }
        let mut t = ThreadRecord::absent();
        t.tid = c.u64("process list entry tid")?;
        t.pid = c.u64("process list entry pid")?;
        t.ptid = c.u64("process list entry ptid")?;
        if v >= 6 {
            t.sid = c.u64("process list entry sid")?;
        }
        if v >= 8 {
            t.vpgid = c.u64("process list entry vpgid")?;
        }
        t.comm = c.str16("process list entry comm")?;
        t.exe = c.str16("process list entry exe")?;
        if v >= 7 {
            t.exepath = c.str16("process list entry exepath")?;
        }
        t.args = nul_list(c.blob16("process list entry args")?);
        t.cwd = c.str16("process list entry cwd")?;
        t.fdlimit = c.i64("process list entry fdlimit")?;
        t.flags = c.u32("process list entry flags")?;
        t.uid = c.u32("process list entry uid")?;
        t.gid = c.u32("process list entry gid")?;
        if v >= 2 {
            t.vmsize_kb = c.u32("process list entry vmsize")?;
            t.vmrss_kb = c.u32("process list entry vmrss")?;
            t.vmswap_kb = c.u32("process list entry vmswap")?;
            t.pfmajor = c.u64("process list entry pfmajor")?;
            t.pfminor = c.u64("process list entry pfminor")?;
            if v >= 3 {
                t.env = nul_list(c.blob16("process list entry env")?);
            }
            if v >= 4 {
                t.vtid = c.i64("process list entry vtid")?;
                t.vpid = c.i64("process list entry vpid")?;
                t.cgroups = nul_list(c.blob16("process list entry cgroups")?);
                if v >= 5 {
                    t.root = c.str16("process list entry root")?;
                }
            }
        }
        if sub_len != 0 {
            let consumed = c.pos - start;
            if consumed > sub_len {
                return Err(invalid(
                    start,
                    "process list entry length",
                    format!("at least {consumed}"),
                    sub_len.to_string(),
                ));
            }
            let end = start + sub_len;
            let fits = |c: &Cur, n: usize| c.pos + n <= end;
            // libs 0.10 inserted two fields before loginuid; entries from
            // older producers have at most the pre-0.10 tail left.
            if end - c.pos > PRE_0_10_TAIL {
                if fits(&c, 8) {
                    t.pidns_init_start_ts = c.u64("pidns_init_start_ts")?;
                }
                if fits(&c, 4) {
                    t.tty = c.u32("tty")?;
                }
            }
            if fits(&c, 4) {
                t.loginuid = c.u32("loginuid")?;
            }
            if fits(&c, 1) {
                t.exe_writable = c.u8("exe_writable")? != 0;
            }
            if fits(&c, 8) {
                t.cap_inheritable = c.u64("cap_inheritable")?;
            }
            if fits(&c, 8) {
                t.cap_permitted = c.u64("cap_permitted")?;
            }
            if fits(&c, 8) {
                t.cap_effective = c.u64("cap_effective")?;
            }
            if fits(&c, 1) {
                t.exe_upper_layer = c.u8("exe_upper_layer")? != 0;
            }
            if fits(&c, 8) {
                t.exe_ino = c.u64("exe_ino")?;
            }
            if fits(&c, 8) {
                t.exe_ino_ctime = c.u64("exe_ino_ctime")?;
            }
            if fits(&c, 8) {
                t.exe_ino_mtime = c.u64("exe_ino_mtime")?;
            }
            if fits(&c, 1) {
                t.exe_from_memfd = c.u8("exe_from_memfd")? != 0;
            }
            if fits(&c, 1) {
                t.exe_lower_layer = c.u8("exe_lower_layer")? != 0;
            }
            if fits(&c, 8) {
                t.pgid = c.u64("pgid")?;
            }
            c.pos = end;
        }
        out.push(t);
    }
    Ok(out)
}

/// Fd list: `u64 pid`, then entries.
pub(crate) fn fd_list(body: &[u8], block_type: u32) -> DResult<(u64, Vec<FdRecord>)> {
    let v2 = block_type == bt::FD_LIST_V2;
    let mut c = Cur::new(body);
    let pid = c.u64("fd list pid")?;
    let mut fds = Vec::new();
    while c.remaining() >= 4 {
        let start = c.pos;
        let sub_len = if v2 {
            c.u32("fd entry length")? as usize
        } else {
            0
        };
        if sub_len != 0 && sub_len > body.len() - start {
            return Err(DecodeError {
                at: start,
                kind: ErrorKind::Truncated {
                    what: "fd entry",
                    expected: sub_len as u64,
                    found: (body.len() - start) as u64,
                },
            });
        }
        let fd = c.i64("fd entry fd")?;
        let ino = c.u64("fd entry ino")?;
        let kind = FdKind::from_code(c.u8("fd entry type")?);
        let address = match kind {
            FdKind::Ipv4Sock => FdAddress::Ipv4 {
                sip: c.array("fd entry address")?,
                dip: c.array("fd entry address")?,
                sport: c.u16("fd entry address")?,
                dport: c.u16("fd entry address")?,
                l4proto: c.u8("fd entry address")?,
            },
            FdKind::Ipv6Sock => FdAddress::Ipv6 {
                sip: c.array("fd entry address")?,
                dip: c.array("fd entry address")?,
                sport: c.u16("fd entry address")?,
                dport: c.u16("fd entry address")?,
                l4proto: c.u8("fd entry address")?,
            },
            FdKind::Ipv4Server => FdAddress::Ipv4Server {
                ip: c.array("fd entry address")?,
                port: c.u16("fd entry address")?,
                l4proto: c.u8("fd entry address")?,
            },
            FdKind::Ipv6Server => FdAddress::Ipv6Server {
                ip: c.array("fd entry address")?,
                port: c.u16("fd entry address")?,
                l4proto: c.u8("fd entry address")?,
            },
            FdKind::UnixSock => FdAddress::Unix {
                source: c.u64("fd entry address")?,
                dest: c.u64("fd entry address")?,
                path: c.str16("fd entry name")?,
            },
            FdKind::FileV2 => {
                let open_flags = c.u32("fd entry open flags")?;
                let name = c.str16("fd entry name")?;
                let dev = if sub_len != 0 && c.pos - start + 4 <= sub_len {
                    c.u32("fd entry dev")?
                } else {
                    0
                };
                FdAddress::File {
                    name,
                    open_flags,
                    mount_id: 0,
                    dev,
                }
            }
            k if k.is_name_only() => FdAddress::Name(c.str16("fd entry name")?),
            _ => FdAddress::Name(String::new()),
        };
        if sub_len != 0 {
            let consumed = c.pos - start;
            if consumed > sub_len {
                return Err(invalid(
                    start,
                    "fd entry length",
                    format!("at least {consumed}"),
                    sub_len.to_string(),
                ));
            }
            c.pos = start + sub_len;
        }
        fds.push(FdRecord {
            tid: pid,
            fd,
            ino,
            kind,
            address,
        });
    }
    Ok((pid, fds))
}

const II_IPV4: u16 = 1;
const II_IPV6: u16 = 2;
const II_IPV4_NOLINKSPEED: u16 = 3;
const II_IPV6_NOLINKSPEED: u16 = 4;

/// Interface list, both versions.
pub(crate) fn if_list(body: &[u8], block_type: u32) -> DResult<Vec<InterfaceRecord>> {
    let v2 = block_type == bt::IF_LIST_V2;
    let mut c = Cur::new(body);
    let mut out = Vec::new();
    while c.remaining() >= 4 {
        let entry_len = if v2 {
            Some(c.u32("interface entry length")? as usize)
        } else {
            None
        };
        let start = c.pos;
        let ty = c.u16("interface entry type")?;
        let namelen = c.u16("interface entry name length")? as usize;
        let (width, linkspeed) = match ty {
            II_IPV4 => (4, true),
            II_IPV6 => (16, true),
            II_IPV4_NOLINKSPEED => (4, false),
            II_IPV6_NOLINKSPEED => (16, false),
            other => {
                return Err(invalid(
                    start,
                    "interface entry type",
                    "1 to 4".into(),
                    other.to_string(),
                ));
            }
        };
        let addr = c.bytes(width, "interface entry address")?.to_vec();
        let netmask = c.bytes(width, "interface entry netmask")?.to_vec();
        let broadcast = c.bytes(width, "interface entry broadcast")?.to_vec();
        let linkspeed = if linkspeed {
            c.u64("interface entry link speed")?
        } else {
            0
        };
        let name = cstr(c.bytes(namelen, "interface entry name")?);
        if let Some(len) = entry_len.filter(|&l| l != 0) {
            let consumed = c.pos - start;
            if len < consumed {
                return Err(invalid(
                    start,
                    "interface entry length",
                    format!("at least {consumed}"),
                    len.to_string(),
                ));
            }
            c.pos = start;
            c.bytes(len, "interface entry")?;
        }
        out.push(InterfaceRecord {
            name,
            addr,
            netmask,
            broadcast,
            linkspeed,
        });
    }
    Ok(out)
}

/// User list, both versions: users and groups interleaved, tagged.
pub(crate) fn user_list(
    body: &[u8],
    block_type: u32,
) -> DResult<(Vec<UserRecord>, Vec<GroupRecord>)> {
    let v2 = block_type == bt::USER_LIST_V2;
    let mut c = Cur::new(body);
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    while c.remaining() >= 4 {
        let start = c.pos;
        let sub_len = if v2 {
            c.u32("user entry length")? as usize
        } else {
            0
        };
        if sub_len != 0 && sub_len > body.len() - start {
            return Err(DecodeError {
                at: start,
                kind: ErrorKind::Truncated {
                    what: "user entry",
                    expected: sub_len as u64,
                    found: (body.len() - start) as u64,
                },
            });
        }
        if c.u8("user entry type")? == 0 {
            users.push(UserRecord {
                uid: c.u32("user entry uid")?,
                gid: c.u32("user entry gid")?,
                name: c.str16("user entry name")?,
                homedir: c.str16("user entry homedir")?,
                shell: c.str16("user entry shell")?,
            });
        } else {
            groups.push(GroupRecord {
                gid: c.u32("group entry gid")?,
                name: c.str16("group entry name")?,
            });
        }
        if sub_len != 0 {
            let consumed = c.pos - start;
            if consumed > sub_len {
                return Err(invalid(
                    start,
                    "user entry length",
                    format!("at least {consumed}"),
                    sub_len.to_string(),
                ));
            }
            c.pos = start + sub_len;
        }
    }
    Ok((users, groups))
}

//! Writing capture files.
//!
//! Block versions written: section header 1.2, machine info `0x201`,
//! process list v9 `0x215`, fd list v2 `0x218`, interface list v2
//! `0x219`, user list v2 `0x220`, events `0x216`/`0x217` (and their
//! `_LARGE` forms `0x221`/`0x222` for large-payload event types). These
//! are what libscap writes, and what Debian's sysdig 0.29.3 reads.

use crate::block_type as bt;
use crate::error::{ErrorKind, ScapError};
use crate::records::*;
use peregrine_event::{EventFlags, event_info};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Which fields process-list entries get after `root`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProcListLayout {
    /// loginuid, exe_writable and the three capability sets: the layout of
    /// libs before 0.10, which those (sysdig 0.29.3 among them) and all
    /// later readers understand. `pidns_init_start_ts`, `tty`, the
    /// `exe_*` inode fields, `exe_from_memfd`, `exe_lower_layer` and
    /// `pgid` are not written.
    #[default]
    Compat,
    /// Everything current libscap writes (libs 0.10 and later). Readers
    /// older than libs 0.10 misread it.
    Full,
}

/// Writer settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterOptions {
    /// Process-list entry layout.
    pub proc_list_layout: ProcListLayout,
}

/// Writes a capture file: a section header, then whatever blocks the
/// caller writes, in order (metadata first, then events, by convention).
pub struct Writer<W: Write> {
    out: W,
    offset: u64,
    scratch: Vec<u8>,
    options: WriterOptions,
}

impl Writer<BufWriter<File>> {
    /// Creates (or truncates) the file at `path` and writes the section header.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, ScapError> {
        let f = File::create(path).map_err(|e| ScapError::new(0, None, e.into()))?;
        Writer::new(BufWriter::with_capacity(256 << 10, f))
    }
}

fn too_long(what: &str, len: usize) -> ErrorKind {
    ErrorKind::InvalidInput(format!(
        "{what} is {len} bytes, more than a block field holds"
    ))
}

/// Little-endian encoding helpers over a `Vec<u8>`.
trait Put {
    fn u8(&mut self, v: u8);
    fn u16(&mut self, v: u16);
    fn u32(&mut self, v: u32);
    fn u64(&mut self, v: u64);
    fn blob16(&mut self, what: &str, b: &[u8]) -> Result<(), ErrorKind>;
}

impl Put for Vec<u8> {
    fn u8(&mut self, v: u8) {
        self.push(v)
    }
    fn u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_le_bytes())
    }
    fn u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes())
    }
    fn u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes())
    }
    fn blob16(&mut self, what: &str, b: &[u8]) -> Result<(), ErrorKind> {
        let n = u16::try_from(b.len()).map_err(|_| too_long(what, b.len()))?;
        self.u16(n);
        self.extend_from_slice(b);
        Ok(())
    }
}

/// libscap's limits on the strings of a process-list record
/// (`scap_limits.h`): a longer one makes sysdig and Falco reject the whole
/// file, so records are cut to them, as libscap's own /proc scan does.
const MAX_PATH_LEN: usize = 1024;
/// The limit for the NUL-separated lists (args, env, cgroups).
const MAX_LIST_LEN: usize = 4096;

/// `s` cut to at most `max` bytes, at a character boundary.
fn path_within(s: &str, max: usize) -> &[u8] {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s.as_bytes()[..end]
}

/// `a\0b\0` from `[a, b]`, keeping the whole items that fit in `max`
/// bytes (a first item longer than that is cut, still NUL-terminated).
fn nul_join(items: &[String], max: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for s in items {
        if v.len() + s.len() + 1 > max {
            if v.is_empty() {
                v.extend_from_slice(path_within(s, max - 1));
                v.push(0);
            }
            break;
        }
        v.extend_from_slice(s.as_bytes());
        v.push(0);
    }
    v
}

/// Patches the `u32` entry length written as a placeholder at `start`.
fn patch_len(buf: &mut [u8], start: usize) {
    let len = (buf.len() - start) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

impl<W: Write> Writer<W> {
    /// Wraps `out` and writes the section header (version 1.2).
    pub fn new(out: W) -> Result<Self, ScapError> {
        Writer::with_options(out, WriterOptions::default())
    }

    /// Like [`Writer::new`], with settings.
    pub fn with_options(out: W, options: WriterOptions) -> Result<Self, ScapError> {
        let mut w = Writer {
            out,
            offset: 0,
            scratch: Vec::new(),
            options,
        };
        let mut body = Vec::with_capacity(16);
        body.u32(bt::BYTE_ORDER_MAGIC);
        body.u16(1);
        body.u16(2);
        body.u64(u64::MAX);
        w.block(bt::SECTION_HEADER, &body)?;
        Ok(w)
    }

    /// Bytes written so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn io(&self, block_type: Option<u32>, e: std::io::Error) -> ScapError {
        ScapError::new(self.offset, block_type, e.into())
    }

    fn invalid(&self, block_type: u32, kind: ErrorKind) -> ScapError {
        ScapError::new(self.offset, Some(block_type), kind)
    }

    /// Frames `body` as a block and writes it.
    fn block(&mut self, block_type: u32, body: &[u8]) -> Result<(), ScapError> {
        let padded = (body.len() + 3) & !3;
        let total = 12 + padded;
        if total > crate::MAX_BLOCK_LEN as usize {
            return Err(self.invalid(block_type, too_long("block", total)));
        }
        let total32 = (total as u32).to_le_bytes();
        let res = (|| {
            self.out.write_all(&block_type.to_le_bytes())?;
            self.out.write_all(&total32)?;
            self.out.write_all(body)?;
            self.out.write_all(&[0u8; 3][..padded - body.len()])?;
            self.out.write_all(&total32)
        })();
        res.map_err(|e| self.io(Some(block_type), e))?;
        self.offset += total as u64;
        Ok(())
    }

    /// Writes the scratch buffer as a block body.
    fn scratch_block(&mut self, block_type: u32) -> Result<(), ScapError> {
        let body = std::mem::take(&mut self.scratch);
        let r = self.block(block_type, &body);
        self.scratch = body;
        r
    }

    /// Writes a machine info block.
    pub fn write_machine_info(&mut self, mi: &MachineInfo) -> Result<(), ScapError> {
        let host = mi.hostname.as_bytes();
        if host.len() > 127 {
            return Err(self.invalid(bt::MACHINE_INFO, too_long("hostname", host.len())));
        }
        let b = &mut self.scratch;
        b.clear();
        b.u32(mi.num_cpus);
        b.u64(mi.memory_size_bytes);
        b.u64(mi.max_pid);
        b.extend_from_slice(host);
        b.resize(b.len() + 128 - host.len(), 0);
        b.u64(mi.boot_ts_epoch);
        b.u64(mi.flags);
        b.u64(0);
        b.u64(0);
        self.scratch_block(bt::MACHINE_INFO)
    }

    /// Writes a process list block (version 9, with the configured
    /// [`ProcListLayout`]).
    pub fn write_process_list(&mut self, threads: &[ThreadRecord]) -> Result<(), ScapError> {
        let full = self.options.proc_list_layout == ProcListLayout::Full;
        let mut b = std::mem::take(&mut self.scratch);
        b.clear();
        let res = (|| {
            for t in threads {
                let start = b.len();
                b.u32(0);
                b.u64(t.tid);
                b.u64(t.pid);
                b.u64(t.ptid);
                b.u64(t.sid);
                b.u64(t.vpgid);
                b.blob16("comm", path_within(&t.comm, MAX_PATH_LEN))?;
                b.blob16("exe", path_within(&t.exe, MAX_PATH_LEN))?;
                b.blob16("exepath", path_within(&t.exepath, MAX_PATH_LEN))?;
                b.blob16("args", &nul_join(&t.args, MAX_LIST_LEN))?;
                b.blob16("cwd", path_within(&t.cwd, MAX_PATH_LEN))?;
                b.u64(t.fdlimit as u64);
                b.u32(t.flags);
                b.u32(t.uid);
                b.u32(t.gid);
                b.u32(t.vmsize_kb);
                b.u32(t.vmrss_kb);
                b.u32(t.vmswap_kb);
                b.u64(t.pfmajor);
                b.u64(t.pfminor);
                b.blob16("env", &nul_join(&t.env, MAX_LIST_LEN))?;
                b.u64(t.vtid as u64);
                b.u64(t.vpid as u64);
                b.blob16("cgroups", &nul_join(&t.cgroups, MAX_LIST_LEN))?;
                b.blob16("root", path_within(&t.root, MAX_PATH_LEN))?;
                if full {
                    b.u64(t.pidns_init_start_ts);
                    b.u32(t.tty);
                }
                b.u32(t.loginuid);
                b.u8(t.exe_writable as u8);
                b.u64(t.cap_inheritable);
                b.u64(t.cap_permitted);
                b.u64(t.cap_effective);
                if full {
                    b.u8(t.exe_upper_layer as u8);
                    b.u64(t.exe_ino);
                    b.u64(t.exe_ino_ctime);
                    b.u64(t.exe_ino_mtime);
                    b.u8(t.exe_from_memfd as u8);
                    b.u8(t.exe_lower_layer as u8);
                    b.u64(t.pgid);
                }
                patch_len(&mut b, start);
            }
            Ok(())
        })();
        self.scratch = b;
        res.map_err(|k| self.invalid(bt::PROC_LIST_V9, k))?;
        self.scratch_block(bt::PROC_LIST_V9)
    }

    /// Writes the fd list block (version 2) of process `pid`. Records of
    /// kind `Uninitialized` or `Unknown` are skipped, as libscap does.
    pub fn write_fd_list(&mut self, pid: u64, fds: &[FdRecord]) -> Result<(), ScapError> {
        let mut b = std::mem::take(&mut self.scratch);
        b.clear();
        b.u64(pid);
        let res = (|| {
            for f in fds {
                if matches!(f.kind, FdKind::Uninitialized | FdKind::Unknown) {
                    continue;
                }
                let start = b.len();
                b.u32(0);
                b.u64(f.fd as u64);
                b.u64(f.ino);
                b.u8(f.kind.code());
                match (f.kind, &f.address) {
                    (
                        FdKind::Ipv4Sock,
                        FdAddress::Ipv4 {
                            sip,
                            dip,
                            sport,
                            dport,
                            l4proto,
                        },
                    ) => {
                        b.extend_from_slice(sip);
                        b.extend_from_slice(dip);
                        b.u16(*sport);
                        b.u16(*dport);
                        b.u8(*l4proto);
                    }
                    (
                        FdKind::Ipv6Sock,
                        FdAddress::Ipv6 {
                            sip,
                            dip,
                            sport,
                            dport,
                            l4proto,
                        },
                    ) => {
                        b.extend_from_slice(sip);
                        b.extend_from_slice(dip);
                        b.u16(*sport);
                        b.u16(*dport);
                        b.u8(*l4proto);
                    }
                    (FdKind::Ipv4Server, FdAddress::Ipv4Server { ip, port, l4proto }) => {
                        b.extend_from_slice(ip);
                        b.u16(*port);
                        b.u8(*l4proto);
                    }
                    (FdKind::Ipv6Server, FdAddress::Ipv6Server { ip, port, l4proto }) => {
                        b.extend_from_slice(ip);
                        b.u16(*port);
                        b.u8(*l4proto);
                    }
                    (FdKind::UnixSock, FdAddress::Unix { source, dest, path }) => {
                        b.u64(*source);
                        b.u64(*dest);
                        b.blob16("unix socket path", path.as_bytes())?;
                    }
                    (
                        FdKind::FileV2,
                        FdAddress::File {
                            name,
                            open_flags,
                            dev,
                            ..
                        },
                    ) => {
                        b.u32(*open_flags);
                        b.blob16("file name", name.as_bytes())?;
                        b.u32(*dev);
                    }
                    (FdKind::FileV2, FdAddress::Name(name)) => {
                        b.u32(0);
                        b.blob16("file name", name.as_bytes())?;
                        b.u32(0);
                    }
                    (k, FdAddress::Name(name) | FdAddress::File { name, .. })
                        if k.is_name_only() =>
                    {
                        b.blob16("fd name", name.as_bytes())?;
                    }
                    (FdKind::Other(_), FdAddress::Name(n)) if n.is_empty() => {}
                    (k, a) => {
                        return Err(ErrorKind::InvalidInput(format!(
                            "fd {} of kind {k:?} cannot have address {a:?}",
                            f.fd
                        )));
                    }
                }
                patch_len(&mut b, start);
            }
            Ok(())
        })();
        self.scratch = b;
        res.map_err(|k| self.invalid(bt::FD_LIST_V2, k))?;
        self.scratch_block(bt::FD_LIST_V2)
    }

    /// Writes an interface list block (version 2). Addresses must be 4
    /// (IPv4) or 16 (IPv6) bytes wide, netmask and broadcast likewise.
    pub fn write_interface_list(&mut self, ifs: &[InterfaceRecord]) -> Result<(), ScapError> {
        let mut b = std::mem::take(&mut self.scratch);
        b.clear();
        let res = (|| {
            // libscap writes IPv4 entries first, then IPv6.
            for want in [4usize, 16] {
                for i in ifs.iter().filter(|i| i.addr.len() == want) {
                    if i.netmask.len() != want || i.broadcast.len() != want {
                        return Err(ErrorKind::InvalidInput(format!(
                            "interface {}: address, netmask and broadcast widths differ",
                            i.name
                        )));
                    }
                    let start = b.len();
                    b.u32(0);
                    b.u16(if want == 4 { 1 } else { 2 });
                    let name = i.name.as_bytes();
                    let n = u16::try_from(name.len())
                        .map_err(|_| too_long("interface name", name.len()))?;
                    b.u16(n);
                    b.extend_from_slice(&i.addr);
                    b.extend_from_slice(&i.netmask);
                    b.extend_from_slice(&i.broadcast);
                    b.u64(i.linkspeed);
                    b.extend_from_slice(name);
                    // The entry length does not count itself.
                    let len = (b.len() - start - 4) as u32;
                    b[start..start + 4].copy_from_slice(&len.to_le_bytes());
                }
            }
            if let Some(i) = ifs.iter().find(|i| i.addr.len() != 4 && i.addr.len() != 16) {
                return Err(ErrorKind::InvalidInput(format!(
                    "interface {}: address is {} bytes, expected 4 or 16",
                    i.name,
                    i.addr.len()
                )));
            }
            Ok(())
        })();
        self.scratch = b;
        res.map_err(|k| self.invalid(bt::IF_LIST_V2, k))?;
        self.scratch_block(bt::IF_LIST_V2)
    }

    /// Writes a user list block (version 2): users, then groups.
    pub fn write_user_list(
        &mut self,
        users: &[UserRecord],
        groups: &[GroupRecord],
    ) -> Result<(), ScapError> {
        let mut b = std::mem::take(&mut self.scratch);
        b.clear();
        let res = (|| {
            for u in users {
                let start = b.len();
                b.u32(0);
                b.u8(0);
                b.u32(u.uid);
                b.u32(u.gid);
                b.blob16("user name", u.name.as_bytes())?;
                b.blob16("home directory", u.homedir.as_bytes())?;
                b.blob16("shell", u.shell.as_bytes())?;
                patch_len(&mut b, start);
            }
            for g in groups {
                let start = b.len();
                b.u32(0);
                b.u8(1);
                b.u32(g.gid);
                b.blob16("group name", g.name.as_bytes())?;
                patch_len(&mut b, start);
            }
            Ok(())
        })();
        self.scratch = b;
        res.map_err(|k| self.invalid(bt::USER_LIST_V2, k))?;
        self.scratch_block(bt::USER_LIST_V2)
    }

    /// Writes one event (current layout, 26-byte header; its `len` field
    /// must equal `event.len()`). `flags` selects the block type with
    /// flags; large-payload event types get the `_LARGE` block types.
    pub fn write_event(
        &mut self,
        cpu: u16,
        flags: Option<u32>,
        event: &[u8],
    ) -> Result<(), ScapError> {
        let guess = if flags.is_some() {
            bt::EVENT_FLAGS_V2
        } else {
            bt::EVENT_V2
        };
        if event.len() < 26 {
            return Err(self.invalid(
                guess,
                ErrorKind::InvalidInput(format!(
                    "event is {} bytes, shorter than its header",
                    event.len()
                )),
            ));
        }
        let len = u32::from_le_bytes(event[16..20].try_into().expect("4 bytes")) as usize;
        if len != event.len() {
            return Err(self.invalid(
                guess,
                ErrorKind::InvalidInput(format!(
                    "event header says {len} bytes, slice has {}",
                    event.len()
                )),
            ));
        }
        let ty = u16::from_le_bytes([event[20], event[21]]);
        let large = event_info(ty).is_some_and(|i| i.flags.has(EventFlags::LARGE_PAYLOAD));
        let block_type = match (flags.is_some(), large) {
            (false, false) => bt::EVENT_V2,
            (false, true) => bt::EVENT_V2_LARGE,
            (true, false) => bt::EVENT_FLAGS_V2,
            (true, true) => bt::EVENT_FLAGS_V2_LARGE,
        };
        let body_len = 2 + if flags.is_some() { 4 } else { 0 } + event.len();
        let padded = (body_len + 3) & !3;
        let total = 12 + padded;
        if total > crate::MAX_BLOCK_LEN as usize {
            return Err(self.invalid(block_type, too_long("event block", total)));
        }
        let total32 = (total as u32).to_le_bytes();
        let mut head = [0u8; 14];
        head[0..4].copy_from_slice(&block_type.to_le_bytes());
        head[4..8].copy_from_slice(&total32);
        head[8..10].copy_from_slice(&cpu.to_le_bytes());
        let head_len = match flags {
            Some(f) => {
                head[10..14].copy_from_slice(&f.to_le_bytes());
                14
            }
            None => 10,
        };
        let res = (|| {
            self.out.write_all(&head[..head_len])?;
            self.out.write_all(event)?;
            self.out.write_all(&[0u8; 3][..padded - body_len])?;
            self.out.write_all(&total32)
        })();
        res.map_err(|e| self.io(Some(block_type), e))?;
        self.offset += total as u64;
        Ok(())
    }

    /// Copies a whole block verbatim (framing included), e.g. from
    /// [`crate::Reader::raw_block`]. Its framing is checked.
    pub fn write_raw_block(&mut self, block: &[u8]) -> Result<(), ScapError> {
        let t = (block.len() >= 4)
            .then(|| u32::from_le_bytes(block[0..4].try_into().expect("4 bytes")));
        let ok = block.len() >= 12 && {
            let h = u32::from_le_bytes(block[4..8].try_into().expect("4 bytes")) as usize;
            let tr =
                u32::from_le_bytes(block[block.len() - 4..].try_into().expect("4 bytes")) as usize;
            h == block.len() && tr == block.len()
        };
        if !ok {
            return Err(ScapError::new(
                self.offset,
                t,
                ErrorKind::InvalidInput(format!(
                    "raw block of {} bytes does not carry its own length in header and trailer",
                    block.len()
                )),
            ));
        }
        self.out.write_all(block).map_err(|e| self.io(t, e))?;
        self.offset += block.len() as u64;
        Ok(())
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> Result<W, ScapError> {
        self.out.flush().map_err(|e| self.io(None, e))?;
        Ok(self.out)
    }
}

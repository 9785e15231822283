//! Reading capture files block by block.

use crate::block_type as bt;
use crate::decode::{self, DecodeError};
use crate::error::{ErrorKind, ScapError};
use crate::records::*;
use peregrine_event::{EventFlags, code, event_info};
use std::fs::File;
use std::io::{self, BufReader, Chain, Cursor, Read};
use std::path::Path;

/// Largest block accepted (256 MiB); longer lengths are reported as corrupt.
pub const MAX_BLOCK_LEN: u32 = 256 << 20;

/// Smallest block: header, trailer, nothing in between.
const MIN_BLOCK_LEN: u32 = 12;

/// The buffer grows by at most this much per read, so that a corrupt
/// length in a short file never allocates much more than the file holds.
const GROW_STEP: usize = 1 << 20;

/// Size of an event header with `nparams` (block versions 2).
const EVT_HDR_V2: usize = 26;
/// Size of an event header without `nparams` (block version 1).
const EVT_HDR_V1: usize = 22;

/// One pcapng option of a section header (code 1 is a comment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockOption {
    /// Option code.
    pub code: u16,
    /// Option value, padding removed.
    pub value: Vec<u8>,
}

/// Contents of a section header block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionHeader {
    /// Major format version (1).
    pub major_version: u16,
    /// Minor format version (0 to 2 in practice).
    pub minor_version: u16,
    /// Section length (`u64::MAX`: unspecified).
    pub section_length: u64,
    /// pcapng options after the fixed fields (comments, writer name...).
    /// Parsed leniently: a malformed tail is ignored, as libscap does.
    pub options: Vec<BlockOption>,
}

/// One event block: the event borrows the reader's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventBlock<'a> {
    /// CPU the event was captured on.
    pub cpu: u16,
    /// Flags, for the block types that carry them (`EVF*`).
    pub flags: Option<u32>,
    /// The event in the current scap layout (26-byte header with
    /// `nparams`), exactly `len` bytes. Events of version-1 blocks, which
    /// lack `nparams`, are converted (into a reused buffer) the way
    /// libscap does.
    pub data: &'a [u8],
    /// The block type it came from (see [`crate::block_type`]).
    pub block_type: u32,
}

/// One block of a capture file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block<'a> {
    /// An event.
    Event(EventBlock<'a>),
    /// Machine description.
    MachineInfo(MachineInfo),
    /// Process table (any process list version).
    ProcessList(Vec<ThreadRecord>),
    /// Fd table of one process.
    FdList {
        /// The process.
        pid: u64,
        /// Its fds.
        fds: Vec<FdRecord>,
    },
    /// Network interfaces.
    InterfaceList(Vec<InterfaceRecord>),
    /// Users and groups.
    UserList {
        /// Users.
        users: Vec<UserRecord>,
        /// Groups.
        groups: Vec<GroupRecord>,
    },
    /// A section header after the first one (a new section begins).
    SectionHeader(SectionHeader),
    /// A block type this reader does not know; skipped (callers may warn).
    Unknown {
        /// Its type code.
        block_type: u32,
        /// Offset of its first byte.
        offset: u64,
        /// Its total length.
        len: u32,
    },
}

/// A decoded block that does not borrow the reader yet.
enum Decoded {
    Block(Block<'static>),
    Event {
        cpu: u16,
        flags: Option<u32>,
        start: usize,
        len: usize,
        converted: bool,
        block_type: u32,
    },
}

type Prefixed<R> = Chain<Cursor<Vec<u8>>, R>;

/// The byte source: plain or gunzipped.
enum Source<R: Read> {
    Plain(BufReader<Prefixed<R>>),
    Gzip(BufReader<flate2::read::MultiGzDecoder<Prefixed<R>>>),
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Plain(r) => r.read(buf),
            Source::Gzip(r) => r.read(buf),
        }
    }
}

/// Reads blocks from a capture file (plain or gzip-compressed).
///
/// Offsets are positions in the decompressed stream.
pub struct Reader<R: Read> {
    src: Source<R>,
    /// The last block, framing included (first `raw_len` bytes).
    buf: Vec<u8>,
    raw_len: usize,
    /// Storage for events converted from version-1 blocks.
    conv: Vec<u8>,
    /// Offset of the next block.
    offset: u64,
    /// Offset of the last block read.
    block_offset: u64,
    header: SectionHeader,
    gzip: bool,
    done: bool,
}

impl Reader<File> {
    /// Opens a capture file (gzip-compressed or not) and reads its
    /// section header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ScapError> {
        let f = File::open(path).map_err(|e| ScapError::new(0, None, e.into()))?;
        Reader::new(f)
    }
}

impl<R: Read> Reader<R> {
    /// Wraps a byte source (gzip detected by its magic `1f 8b`) and reads
    /// the section header.
    pub fn new(mut inner: R) -> Result<Self, ScapError> {
        let mut magic = Vec::with_capacity(2);
        (&mut inner)
            .take(2)
            .read_to_end(&mut magic)
            .map_err(|e| ScapError::new(0, None, e.into()))?;
        let gzip = magic == [0x1f, 0x8b];
        let chained = Cursor::new(magic).chain(inner);
        let src = if gzip {
            Source::Gzip(BufReader::with_capacity(
                64 << 10,
                flate2::read::MultiGzDecoder::new(chained),
            ))
        } else {
            Source::Plain(BufReader::with_capacity(64 << 10, chained))
        };
        let mut r = Reader {
            src,
            buf: Vec::new(),
            raw_len: 0,
            conv: Vec::new(),
            offset: 0,
            block_offset: 0,
            header: SectionHeader {
                major_version: 0,
                minor_version: 0,
                section_length: 0,
                options: Vec::new(),
            },
            gzip,
            done: false,
        };
        match r.read_raw()? {
            None => {
                return Err(ScapError::new(
                    0,
                    None,
                    ErrorKind::Truncated {
                        what: "section header",
                        expected: 28,
                        found: 0,
                    },
                ));
            }
            Some(bt::SECTION_HEADER) => {}
            Some(other) => {
                return Err(ScapError::new(0, None, ErrorKind::NotScap { found: other }));
            }
        }
        r.header = r.section_header_body()?;
        Ok(r)
    }

    /// The first section header.
    pub fn section_header(&self) -> &SectionHeader {
        &self.header
    }

    /// Whether the source is gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Offset of the next block in the (decompressed) stream.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Offset of the last block returned.
    pub fn block_offset(&self) -> u64 {
        self.block_offset
    }

    /// The bytes of the last block read, framing included, for
    /// [`crate::Writer::write_raw_block`]. Empty before the first
    /// [`Reader::next_block`]; the section header read by
    /// [`Reader::new`] is not kept.
    pub fn raw_block(&self) -> &[u8] {
        &self.buf[..self.raw_len]
    }

    /// The next block; `Ok(None)` at the end of the file. After an error,
    /// every later call returns `Ok(None)`.
    pub fn next_block(&mut self) -> Result<Option<Block<'_>>, ScapError> {
        if self.done {
            return Ok(None);
        }
        let t = match self.read_raw() {
            Ok(Some(t)) => t,
            Ok(None) => {
                self.done = true;
                return Ok(None);
            }
            Err(e) => {
                self.done = true;
                self.raw_len = 0;
                return Err(e);
            }
        };
        match self.decode(t) {
            Ok(Decoded::Block(b)) => Ok(Some(b)),
            Ok(Decoded::Event {
                cpu,
                flags,
                start,
                len,
                converted,
                block_type,
            }) => {
                let data = if converted {
                    &self.conv[..len]
                } else {
                    &self.buf[start..start + len]
                };
                Ok(Some(Block::Event(EventBlock {
                    cpu,
                    flags,
                    data,
                    block_type,
                })))
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    fn err(&self, at: usize, block_type: u32, kind: ErrorKind) -> ScapError {
        ScapError::new(self.block_offset + at as u64, Some(block_type), kind)
    }

    fn decode_err(&self, block_type: u32, e: DecodeError) -> ScapError {
        // Decoders see the body, which starts 8 bytes into the block.
        self.err(8 + e.at, block_type, e.kind)
    }

    fn decode(&mut self, t: u32) -> Result<Decoded, ScapError> {
        let body_range = 8..self.raw_len - 4;
        Ok(Decoded::Block(match t {
            bt::SECTION_HEADER => Block::SectionHeader(self.section_header_body()?),
            bt::MACHINE_INFO | bt::MACHINE_INFO_INT => Block::MachineInfo(
                decode::machine_info(&self.buf[body_range]).map_err(|e| self.decode_err(t, e))?,
            ),
            _ if bt::proc_list_version(t).is_some() => Block::ProcessList(
                decode::proc_list(&self.buf[body_range], t).map_err(|e| self.decode_err(t, e))?,
            ),
            bt::FD_LIST | bt::FD_LIST_INT | bt::FD_LIST_V2 => {
                let (pid, fds) =
                    decode::fd_list(&self.buf[body_range], t).map_err(|e| self.decode_err(t, e))?;
                Block::FdList { pid, fds }
            }
            bt::IF_LIST | bt::IF_LIST_INT | bt::IF_LIST_V2 => Block::InterfaceList(
                decode::if_list(&self.buf[body_range], t).map_err(|e| self.decode_err(t, e))?,
            ),
            bt::USER_LIST | bt::USER_LIST_INT | bt::USER_LIST_V2 => {
                let (users, groups) = decode::user_list(&self.buf[body_range], t)
                    .map_err(|e| self.decode_err(t, e))?;
                Block::UserList { users, groups }
            }
            _ if bt::is_event(t) => return self.event(t),
            _ => Block::Unknown {
                block_type: t,
                offset: self.block_offset,
                len: self.raw_len as u32,
            },
        }))
    }

    fn section_header_body(&self) -> Result<SectionHeader, ScapError> {
        // Magic and length were checked by read_raw.
        let b = &self.buf[8..self.raw_len - 4];
        let major_version = u16::from_le_bytes([b[4], b[5]]);
        let minor_version = u16::from_le_bytes([b[6], b[7]]);
        let section_length = u64::from_le_bytes(b[8..16].try_into().expect("16 bytes"));
        if major_version != 1 {
            return Err(self.err(
                12,
                bt::SECTION_HEADER,
                ErrorKind::UnsupportedVersion {
                    major: major_version,
                    minor: minor_version,
                },
            ));
        }
        let mut options = Vec::new();
        let mut o = &b[16..];
        while o.len() >= 4 {
            let code = u16::from_le_bytes([o[0], o[1]]);
            let len = u16::from_le_bytes([o[2], o[3]]) as usize;
            if code == 0 {
                break;
            }
            let padded = (len + 3) & !3;
            if o.len() - 4 < padded {
                break;
            }
            options.push(BlockOption {
                code,
                value: o[4..4 + len].to_vec(),
            });
            o = &o[4 + padded..];
        }
        Ok(SectionHeader {
            major_version,
            minor_version,
            section_length,
            options,
        })
    }

    fn event(&mut self, t: u32) -> Result<Decoded, ScapError> {
        let with_flags = matches!(
            t,
            bt::EVENT_FLAGS | bt::EVENT_FLAGS_V2 | bt::EVENT_FLAGS_V2_LARGE
        );
        let v1 = matches!(t, bt::EVENT | bt::EVENT_INT | bt::EVENT_FLAGS);
        let body = &self.buf[8..self.raw_len - 4];
        let evt_off = if with_flags { 6 } else { 2 };
        let hdr = if v1 { EVT_HDR_V1 } else { EVT_HDR_V2 };
        if body.len() < evt_off + hdr {
            return Err(self.err(
                8,
                t,
                ErrorKind::Truncated {
                    what: "event header",
                    expected: (evt_off + hdr) as u64,
                    found: body.len() as u64,
                },
            ));
        }
        let cpu = u16::from_le_bytes([body[0], body[1]]);
        let flags = with_flags.then(|| u32::from_le_bytes(body[2..6].try_into().expect("4 bytes")));
        let avail = &body[evt_off..];
        let len = u32::from_le_bytes(avail[16..20].try_into().expect("4 bytes")) as usize;
        let ty = u16::from_le_bytes([avail[20], avail[21]]);
        let at = 8 + evt_off;
        if v1 {
            let block_offset = self.block_offset;
            let len = convert_v1(avail, len, ty, &mut self.conv).map_err(|(rel, kind)| {
                ScapError::new(block_offset + (at + rel) as u64, Some(t), kind)
            })?;
            return Ok(Decoded::Event {
                cpu,
                flags,
                start: 0,
                len,
                converted: true,
                block_type: t,
            });
        }
        if len < EVT_HDR_V2 || len > avail.len() {
            return Err(self.err(
                at + 16,
                t,
                ErrorKind::Invalid {
                    what: "event length",
                    expected: format!("{EVT_HDR_V2} to {} bytes", avail.len()),
                    found: len.to_string(),
                },
            ));
        }
        let data = &avail[..len];
        if let Err((rel, kind)) = check_params(data) {
            return Err(self.err(at + rel, t, kind));
        }
        Ok(Decoded::Event {
            cpu,
            flags,
            start: at,
            len,
            converted: false,
            block_type: t,
        })
    }

    /// Reads one whole block into `buf`; returns its type, or `None` at a
    /// clean end of file (no byte of a next block).
    fn read_raw(&mut self) -> Result<Option<u32>, ScapError> {
        self.block_offset = self.offset;
        self.raw_len = 0;
        let off = self.offset;
        let n = fill(&mut self.src, &mut self.buf, 0, 8)
            .map_err(|e| ScapError::new(off, None, e.into()))?;
        if n == 0 {
            return Ok(None);
        }
        let t = (n >= 4).then(|| u32::from_le_bytes(self.buf[0..4].try_into().expect("4 bytes")));
        if n < 8 {
            return Err(ScapError::new(
                off,
                t,
                ErrorKind::Truncated {
                    what: "block header",
                    expected: 8,
                    found: n as u64,
                },
            ));
        }
        let t = t.expect("8 bytes read");
        if off == 0 && t != bt::SECTION_HEADER {
            return Err(ScapError::new(0, None, ErrorKind::NotScap { found: t }));
        }
        let len = u32::from_le_bytes(self.buf[4..8].try_into().expect("4 bytes"));
        let mut have = 8;
        let mut min = MIN_BLOCK_LEN;
        if t == bt::SECTION_HEADER {
            // Check the byte order first: a big-endian length looks huge.
            min = 28;
            have += fill(&mut self.src, &mut self.buf, 8, 12)
                .map_err(|e| ScapError::new(off, Some(t), e.into()))?;
            if have < 12 {
                return Err(ScapError::new(
                    off,
                    Some(t),
                    ErrorKind::Truncated {
                        what: "",
                        expected: 12,
                        found: have as u64,
                    },
                ));
            }
            let magic = u32::from_le_bytes(self.buf[8..12].try_into().expect("4 bytes"));
            if magic == bt::BYTE_ORDER_MAGIC_SWAPPED {
                return Err(ScapError::new(off + 8, Some(t), ErrorKind::BigEndian));
            }
            if magic != bt::BYTE_ORDER_MAGIC {
                return Err(ScapError::new(
                    off + 8,
                    Some(t),
                    ErrorKind::BadMagic { found: magic },
                ));
            }
        }
        if !(min..=MAX_BLOCK_LEN).contains(&len) {
            return Err(ScapError::new(
                off + 4,
                Some(t),
                ErrorKind::BadBlockLength {
                    min,
                    max: MAX_BLOCK_LEN,
                    found: len,
                },
            ));
        }
        let len = len as usize;
        let got = fill(&mut self.src, &mut self.buf, have, len)
            .map_err(|e| ScapError::new(off, Some(t), e.into()))?;
        if have + got < len {
            return Err(ScapError::new(
                off,
                Some(t),
                ErrorKind::Truncated {
                    what: "",
                    expected: len as u64,
                    found: (have + got) as u64,
                },
            ));
        }
        let trailer = u32::from_le_bytes(self.buf[len - 4..len].try_into().expect("4 bytes"));
        if trailer as usize != len {
            return Err(ScapError::new(
                off + len as u64 - 4,
                Some(t),
                ErrorKind::TrailerMismatch {
                    header: len as u32,
                    trailer,
                },
            ));
        }
        self.raw_len = len;
        self.offset += len as u64;
        Ok(Some(t))
    }
}

/// Reads into `buf[start..end]` until full or end of input, growing `buf`
/// step by step; returns the number of bytes read.
fn fill(src: &mut impl Read, buf: &mut Vec<u8>, start: usize, end: usize) -> io::Result<usize> {
    let mut pos = start;
    while pos < end {
        if buf.len() <= pos {
            let want = end.min(pos + GROW_STEP);
            buf.resize(want, 0);
        }
        let stop = end.min(buf.len());
        match src.read(&mut buf[pos..stop]) {
            Ok(0) => break,
            Ok(n) => pos += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(pos - start)
}

fn large_payload(ty: u16) -> Option<bool> {
    event_info(ty).map(|i| i.flags.has(EventFlags::LARGE_PAYLOAD))
}

/// Checks that the parameter lengths of a version-2 event fit in it.
/// Errors carry the position relative to the event start.
fn check_params(e: &[u8]) -> Result<(), (usize, ErrorKind)> {
    let ty = u16::from_le_bytes([e[20], e[21]]);
    let nparams = u32::from_le_bytes(e[22..26].try_into().expect("4 bytes")) as usize;
    // Unknown (newer) event types: the width of the lengths is unknown.
    let Some(large) = large_payload(ty) else {
        return Ok(());
    };
    let w = if large { 4 } else { 2 };
    let table_end = nparams
        .checked_mul(w)
        .and_then(|n| n.checked_add(EVT_HDR_V2));
    let Some(table_end) = table_end.filter(|&t| t <= e.len()) else {
        return Err((
            22,
            ErrorKind::Invalid {
                what: "event nparams",
                expected: format!("at most {}", (e.len() - EVT_HDR_V2) / w),
                found: nparams.to_string(),
            },
        ));
    };
    let mut total = table_end;
    for i in 0..nparams {
        let p = EVT_HDR_V2 + i * w;
        total += if large {
            u32::from_le_bytes(e[p..p + 4].try_into().expect("4 bytes")) as usize
        } else {
            u16::from_le_bytes([e[p], e[p + 1]]) as usize
        };
    }
    if total > e.len() {
        return Err((
            16,
            ErrorKind::Invalid {
                what: "event parameter lengths",
                expected: format!("at most {} bytes", e.len()),
                found: format!("{total} bytes"),
            },
        ));
    }
    Ok(())
}

/// Converts a version-1 event (no `nparams` in its header) to the current
/// layout, in `out`. `avail` is the block body from the event on; `len`
/// and `ty` come from the old header.
fn convert_v1(
    avail: &[u8],
    len: usize,
    ty: u16,
    out: &mut Vec<u8>,
) -> Result<usize, (usize, ErrorKind)> {
    if len < EVT_HDR_V1 || len > avail.len() {
        return Err((
            16,
            ErrorKind::Invalid {
                what: "event length",
                expected: format!("{EVT_HDR_V1} to {} bytes", avail.len()),
                found: len.to_string(),
            },
        ));
    }
    // Old producers wrote a length 3 bytes too long for these two.
    let len = if (ty == code::NOTIFICATION_E || ty == code::INFRASTRUCTURE_EVENT_E)
        && len >= EVT_HDR_V1 + 3
    {
        len - 3
    } else {
        len
    };
    let old = &avail[..len];
    let lens = &old[EVT_HDR_V1..];
    let max = lens.len() / 2;
    // Like libscap: start from the table's parameter count (or as many
    // as could fit, for unknown types) and go down until the lengths
    // account for the event's bytes exactly.
    let start = event_info(ty).map_or(max, |i| i.params.len().min(max));
    let mut found = None;
    for n in (0..=start).rev() {
        let used = 2 * n
            + (0..n)
                .map(|i| u16::from_le_bytes([lens[2 * i], lens[2 * i + 1]]) as usize)
                .sum::<usize>();
        if used > lens.len() {
            continue;
        }
        if used == lens.len() {
            found = Some(n);
        }
        break;
    }
    let Some(n) = found else {
        return Err((
            EVT_HDR_V1,
            ErrorKind::Invalid {
                what: "event parameters",
                expected: format!("lengths adding up to {} bytes", lens.len()),
                found: "no parameter count that fits".into(),
            },
        ));
    };
    out.clear();
    out.extend_from_slice(&old[..16]);
    out.extend_from_slice(&((len + 4) as u32).to_le_bytes());
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.extend_from_slice(lens);
    Ok(out.len())
}

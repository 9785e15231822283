//! Reading capture files block by block.

use crate::block_type as bt;
use crate::decode::{self, DecodeError};
use crate::error::{ErrorKind, ScapError};
use crate::records::*;
use peregrine_event::{EventError, EventFlags, EventView, code, event_info};
use std::fs::File;
use std::io::{self, Chain, Cursor, Read};
use std::ops::Range;
use std::path::Path;

/// Largest block accepted (256 MiB); longer lengths are reported as corrupt.
pub const MAX_BLOCK_LEN: u32 = 256 << 20;

/// Smallest block: header, trailer, nothing in between.
const MIN_BLOCK_LEN: u32 = 12;

/// The buffer grows by at most this much per read, so that a corrupt
/// length in a short file never allocates much more than the file holds.
const GROW_STEP: usize = 1 << 20;

/// Size of the read buffer (blocks are framed in place, many per read).
const CHUNK: usize = 256 << 10;

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

/// One event block: the event borrows the reader's buffer. Only the
/// readers make these (`data` passed the parameter length checks, see
/// [`EventBlock::view`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
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

impl<'a> EventBlock<'a> {
    /// Builds a block over event bytes the reader has checked.
    pub(crate) fn checked(cpu: u16, flags: Option<u32>, data: &'a [u8], block_type: u32) -> Self {
        EventBlock {
            cpu,
            flags,
            data,
            block_type,
        }
    }

    /// The event, without checking its parameter lengths a second time
    /// (the reader did). Fails only for event codes this build does not
    /// know.
    #[inline]
    pub fn view(&self) -> Result<EventView<'a>, EventError> {
        EventView::parse_prechecked(self.data)
    }
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
pub(crate) enum Decoded {
    Block(Block<'static>),
    Event {
        cpu: u16,
        flags: Option<u32>,
        /// Where the event is in the read buffer (or, when converted,
        /// in [`Reader::converted`]).
        start: usize,
        len: usize,
        converted: bool,
        block_type: u32,
    },
}

type Prefixed<R> = Chain<Cursor<Vec<u8>>, R>;

/// The byte source: plain or gunzipped. Both are read in large chunks
/// straight into the reader's buffer.
enum Source<R: Read> {
    Plain(Prefixed<R>),
    Gzip(Box<flate2::read::MultiGzDecoder<Prefixed<R>>>),
}

/// Reads blocks from a capture file (plain or gzip-compressed).
///
/// Offsets are positions in the decompressed stream.
pub struct Reader<R: Read> {
    src: Source<R>,
    /// Bytes read from the source: `buf[pos..end]` are not consumed yet;
    /// the last block returned is `buf[raw_start..raw_start + raw_len]`.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    raw_start: usize,
    raw_len: usize,
    /// The source reached its end.
    eof: bool,
    /// A read error met while reading ahead, reported when the bytes
    /// before it are used up.
    read_err: Option<io::Error>,
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
            Source::Gzip(Box::new(flate2::read::MultiGzDecoder::new(chained)))
        } else {
            Source::Plain(chained)
        };
        let mut r = Reader {
            src,
            buf: Vec::new(),
            pos: 0,
            end: 0,
            raw_start: 0,
            raw_len: 0,
            eof: false,
            read_err: None,
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
        &self.buf[self.raw_start..self.raw_start + self.raw_len]
    }

    /// Where converted version-1 events are kept.
    pub(crate) fn converted(&self) -> &[u8] {
        &self.conv
    }

    /// Position of the last block in the read buffer.
    pub(crate) fn raw_range(&self) -> Range<usize> {
        self.raw_start..self.raw_start + self.raw_len
    }

    /// Whether the next block (as far as its header tells) is whole in the
    /// buffer, so that reading it moves no buffered bytes.
    #[inline]
    pub(crate) fn next_is_buffered(&self) -> bool {
        let avail = self.end - self.pos;
        if avail < 8 {
            return false;
        }
        let p = self.pos + 4;
        let len = u32::from_le_bytes(self.buf[p..p + 4].try_into().expect("4 bytes")) as usize;
        len <= avail
    }

    /// Gives the buffer away, with the blocks returned so far where they
    /// are, and goes on in `fresh`, into which the unread bytes move.
    pub(crate) fn swap_buffer(&mut self, mut fresh: Vec<u8>) -> Vec<u8> {
        let tail = self.end - self.pos;
        let size = CHUNK.max(tail);
        if fresh.len() < size {
            fresh.resize(size, 0);
        }
        fresh[..tail].copy_from_slice(&self.buf[self.pos..self.end]);
        self.pos = 0;
        self.end = tail;
        self.raw_start = 0;
        self.raw_len = 0;
        std::mem::replace(&mut self.buf, fresh)
    }

    /// The next block; `Ok(None)` at the end of the file. After an error,
    /// every later call returns `Ok(None)`.
    #[inline]
    pub fn next_block(&mut self) -> Result<Option<Block<'_>>, ScapError> {
        Ok(match self.next_decoded()? {
            None => None,
            Some(Decoded::Block(b)) => Some(b),
            Some(Decoded::Event {
                cpu,
                flags,
                start,
                len,
                converted,
                block_type,
            }) => {
                let data = if converted {
                    &self.conv[start..start + len]
                } else {
                    &self.buf[start..start + len]
                };
                Some(Block::Event(EventBlock::checked(
                    cpu, flags, data, block_type,
                )))
            }
        })
    }

    /// The next block, events as positions in the reader's buffers.
    #[inline]
    pub(crate) fn next_decoded(&mut self) -> Result<Option<Decoded>, ScapError> {
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
            Ok(d) => Ok(Some(d)),
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

    #[inline]
    fn decode(&mut self, t: u32) -> Result<Decoded, ScapError> {
        if bt::is_event(t) {
            return self.event(t);
        }
        self.decode_meta(t)
    }

    #[cold]
    fn decode_meta(&mut self, t: u32) -> Result<Decoded, ScapError> {
        let body_range = self.raw_start + 8..self.raw_start + self.raw_len - 4;
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
            _ => Block::Unknown {
                block_type: t,
                offset: self.block_offset,
                len: self.raw_len as u32,
            },
        }))
    }

    fn section_header_body(&self) -> Result<SectionHeader, ScapError> {
        // Magic and length were checked by read_raw.
        let b = &self.buf[self.raw_start + 8..self.raw_start + self.raw_len - 4];
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

    #[inline]
    fn event(&mut self, t: u32) -> Result<Decoded, ScapError> {
        let with_flags = matches!(
            t,
            bt::EVENT_FLAGS | bt::EVENT_FLAGS_V2 | bt::EVENT_FLAGS_V2_LARGE
        );
        let v1 = matches!(t, bt::EVENT | bt::EVENT_INT | bt::EVENT_FLAGS);
        let body = &self.buf[self.raw_start + 8..self.raw_start + self.raw_len - 4];
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
            start: self.raw_start + at,
            len,
            converted: false,
            block_type: t,
        })
    }

    /// Frames the next whole block in `buf`; returns its type, or `None`
    /// at a clean end of file (no byte of a next block).
    #[inline]
    fn read_raw(&mut self) -> Result<Option<u32>, ScapError> {
        self.block_offset = self.offset;
        self.raw_len = 0;
        // Fast path: a whole event block is already buffered.
        if self.end - self.pos >= 8 && self.offset != 0 {
            let p = self.pos;
            let t = u32::from_le_bytes(self.buf[p..p + 4].try_into().expect("4 bytes"));
            let len = u32::from_le_bytes(self.buf[p + 4..p + 8].try_into().expect("4 bytes"));
            let l = len as usize;
            if t != bt::SECTION_HEADER
                && (MIN_BLOCK_LEN..=MAX_BLOCK_LEN).contains(&len)
                && self.end - p >= l
                && u32::from_le_bytes(self.buf[p + l - 4..p + l].try_into().expect("4 bytes"))
                    == len
            {
                self.raw_start = p;
                self.raw_len = l;
                self.pos = p + l;
                self.offset += len as u64;
                return Ok(Some(t));
            }
        }
        self.read_raw_slow()
    }

    #[cold]
    fn read_raw_slow(&mut self) -> Result<Option<u32>, ScapError> {
        let off = self.offset;
        let n = self.ensure(8);
        if n == 0 {
            return match self.read_err.take() {
                Some(e) => Err(ScapError::new(off, None, e.into())),
                None => Ok(None),
            };
        }
        let p = self.pos;
        let t =
            (n >= 4).then(|| u32::from_le_bytes(self.buf[p..p + 4].try_into().expect("4 bytes")));
        if n < 8 {
            if let Some(e) = self.read_err.take() {
                return Err(ScapError::new(off, None, e.into()));
            }
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
        let len = u32::from_le_bytes(self.buf[p + 4..p + 8].try_into().expect("4 bytes"));
        let mut min = MIN_BLOCK_LEN;
        if t == bt::SECTION_HEADER {
            // Check the byte order first: a big-endian length looks huge.
            min = 28;
            let have = self.ensure(12);
            if have < 12 {
                if let Some(e) = self.read_err.take() {
                    return Err(ScapError::new(off, Some(t), e.into()));
                }
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
            let p = self.pos;
            let magic = u32::from_le_bytes(self.buf[p + 8..p + 12].try_into().expect("4 bytes"));
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
        let have = self.ensure(len);
        if have < len {
            if let Some(e) = self.read_err.take() {
                return Err(ScapError::new(off, Some(t), e.into()));
            }
            return Err(ScapError::new(
                off,
                Some(t),
                ErrorKind::Truncated {
                    what: "",
                    expected: len as u64,
                    found: have as u64,
                },
            ));
        }
        let p = self.pos;
        let trailer =
            u32::from_le_bytes(self.buf[p + len - 4..p + len].try_into().expect("4 bytes"));
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
        self.raw_start = p;
        self.raw_len = len;
        self.pos = p + len;
        self.offset += len as u64;
        Ok(Some(t))
    }

    /// Makes `want` bytes available at `buf[pos..]` if the source has
    /// them, reading ahead in large chunks; returns how many are (fewer
    /// only at the end of the source or after a read error, kept in
    /// `read_err`). The buffer grows by at most [`GROW_STEP`] per read.
    fn ensure(&mut self, want: usize) -> usize {
        if self.end - self.pos >= want {
            return self.end - self.pos;
        }
        // Move the unconsumed tail to the front.
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.raw_start = 0;
            self.raw_len = 0;
            self.pos = 0;
        }
        while self.end < want && !self.eof && self.read_err.is_none() {
            if self.buf.len() < want.min(self.end + GROW_STEP).max(CHUNK) {
                let size = want.min(self.end + GROW_STEP).max(CHUNK);
                self.buf.resize(size, 0);
            }
            let res = match &mut self.src {
                Source::Plain(r) => r.read(&mut self.buf[self.end..]),
                Source::Gzip(r) => r.read(&mut self.buf[self.end..]),
            };
            match res {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.read_err = Some(e),
            }
        }
        self.end
    }
}

fn large_payload(ty: u16) -> Option<bool> {
    event_info(ty).map(|i| i.flags.has(EventFlags::LARGE_PAYLOAD))
}

/// Checks that the parameter lengths of a version-2 event fit in it
/// (the check [`EventView::parse`] makes, so that
/// [`EventBlock::view`] need not repeat it). Errors carry the position
/// relative to the event start.
#[inline]
fn check_params(e: &[u8]) -> Result<(), (usize, ErrorKind)> {
    let ty = u16::from_le_bytes([e[20], e[21]]);
    let nparams = u32::from_le_bytes(e[22..26].try_into().expect("4 bytes")) as usize;
    // Unknown (newer) event types: the width of the lengths is unknown.
    let Some(large) = large_payload(ty) else {
        return Ok(());
    };
    let w = if large { 4 } else { 2 };
    let avail = e.len() - EVT_HDR_V2;
    if nparams > avail / w {
        return Err(nparams_error(nparams, avail / w));
    }
    let table_end = EVT_HDR_V2 + nparams * w;
    let lens = &e[EVT_HDR_V2..table_end];
    let sum: usize = if large {
        lens.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
            .sum()
    } else {
        lens.chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]) as usize)
            .sum()
    };
    let total = table_end + sum;
    if total > e.len() {
        return Err(lengths_error(total, e.len()));
    }
    Ok(())
}

#[cold]
fn nparams_error(nparams: usize, most: usize) -> (usize, ErrorKind) {
    (
        22,
        ErrorKind::Invalid {
            what: "event nparams",
            expected: format!("at most {most}"),
            found: nparams.to_string(),
        },
    )
}

#[cold]
fn lengths_error(total: usize, len: usize) -> (usize, ErrorKind) {
    (
        16,
        ErrorKind::Invalid {
            what: "event parameter lengths",
            expected: format!("at most {len} bytes"),
            found: format!("{total} bytes"),
        },
    )
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

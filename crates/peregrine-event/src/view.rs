//! Zero-copy view over one event in scap layout.
//!
//! Layout (little-endian): `ts: u64, tid: u64, len: u32, type: u16,
//! nparams: u32`, then `nparams` parameter lengths (`u16`, or `u32` for
//! large-payload events), then the parameter bytes back to back.

use crate::generated::EVENTS;
use crate::table::{Direction, EventFlags, EventInfo, event_info};
use std::fmt;

/// Size of the fixed event header.
pub const HEADER_LEN: usize = 26;

/// Why some bytes are not a well-formed event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventError {
    /// Fewer bytes than the header needs, or than the header's `len` says.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The header's `len` is smaller than the header and lengths table.
    BadLength(u32),
    /// The parameter lengths add up to more than the event holds.
    ParamsOverflow {
        /// Bytes the lengths claim.
        claimed: usize,
        /// Bytes the event has for parameters.
        available: usize,
    },
    /// Unknown event code.
    UnknownType(u16),
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::Truncated { needed, available } => {
                write!(
                    f,
                    "event truncated: needed {needed} bytes, {available} available"
                )
            }
            EventError::BadLength(len) => write!(f, "event length {len} is too small"),
            EventError::ParamsOverflow { claimed, available } => write!(
                f,
                "parameter lengths add up to {claimed} bytes but the event has {available}"
            ),
            EventError::UnknownType(t) => write!(f, "unknown event type {t}"),
        }
    }
}

impl std::error::Error for EventError {}

/// A checked, zero-copy view over one event's bytes.
#[derive(Clone, Copy)]
pub struct EventView<'a> {
    bytes: &'a [u8],
    info: &'static EventInfo,
    nparams: u32,
    large: bool,
}

#[inline]
fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

#[inline]
fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

#[inline]
fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

impl<'a> EventView<'a> {
    /// Checks `bytes` and returns a view of the event at its start.
    /// Bytes past the header's `len` are ignored.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, EventError> {
        if bytes.len() < HEADER_LEN {
            return Err(EventError::Truncated {
                needed: HEADER_LEN,
                available: bytes.len(),
            });
        }
        let len = u32_at(bytes, 16);
        let code = u16_at(bytes, 20);
        let nparams = u32_at(bytes, 22);
        let info = event_info(code).ok_or(EventError::UnknownType(code))?;
        if (len as usize) > bytes.len() {
            return Err(EventError::Truncated {
                needed: len as usize,
                available: bytes.len(),
            });
        }
        let large = info.flags.has(EventFlags::LARGE_PAYLOAD);
        let width: usize = if large { 4 } else { 2 };
        let table_end = (nparams as usize)
            .checked_mul(width)
            .and_then(|n| n.checked_add(HEADER_LEN))
            .ok_or(EventError::BadLength(len))?;
        if table_end > len as usize {
            return Err(EventError::BadLength(len));
        }
        let bytes = &bytes[..len as usize];
        let mut claimed = 0usize;
        for i in 0..nparams as usize {
            let off = HEADER_LEN + i * width;
            claimed += if large {
                u32_at(bytes, off) as usize
            } else {
                u16_at(bytes, off) as usize
            };
        }
        let available = len as usize - table_end;
        if claimed > available {
            return Err(EventError::ParamsOverflow { claimed, available });
        }
        Ok(EventView {
            bytes,
            info,
            nparams,
            large,
        })
    }

    /// A view over an event whose parameter lengths were already checked
    /// the way [`EventView::parse`] checks them (the capture reader checks
    /// every event it returns): only the constant-time checks are redone.
    /// Given bytes whose lengths were not checked, accessors may panic.
    #[doc(hidden)]
    #[inline]
    pub fn parse_prechecked(bytes: &'a [u8]) -> Result<Self, EventError> {
        if bytes.len() < HEADER_LEN {
            return Err(EventError::Truncated {
                needed: HEADER_LEN,
                available: bytes.len(),
            });
        }
        let len = u32_at(bytes, 16) as usize;
        let code = u16_at(bytes, 20);
        let nparams = u32_at(bytes, 22);
        let info = event_info(code).ok_or(EventError::UnknownType(code))?;
        if len > bytes.len() {
            return Err(EventError::Truncated {
                needed: len,
                available: bytes.len(),
            });
        }
        let large = info.flags.has(EventFlags::LARGE_PAYLOAD);
        let width: usize = if large { 4 } else { 2 };
        if len < HEADER_LEN || (nparams as usize).saturating_mul(width) > len - HEADER_LEN {
            return Err(EventError::BadLength(len as u32));
        }
        Ok(EventView {
            bytes: &bytes[..len],
            info,
            nparams,
            large,
        })
    }

    /// The event's bytes, header included.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Timestamp in nanoseconds since the epoch.
    pub fn ts(&self) -> u64 {
        u64_at(self.bytes, 0)
    }

    /// Thread id that generated the event.
    pub fn tid(&self) -> u64 {
        u64_at(self.bytes, 8)
    }

    /// Total length in bytes.
    pub fn len(&self) -> u32 {
        self.bytes.len() as u32
    }

    /// True when the event has no bytes (never for a parsed event).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Event code (`PPME_*`).
    pub fn code(&self) -> u16 {
        u16_at(self.bytes, 20)
    }

    /// Number of parameters actually present (old versions may have fewer
    /// than the table lists, newer writers more).
    pub fn nparams(&self) -> usize {
        self.nparams as usize
    }

    /// Table entry of the event code.
    pub fn info(&self) -> &'static EventInfo {
        self.info
    }

    /// Event name (`evt.type`).
    pub fn name(&self) -> &'static str {
        self.info.name
    }

    /// Enter or exit.
    pub fn direction(&self) -> Direction {
        Direction::of(self.code())
    }

    fn param_len(&self, i: usize) -> usize {
        if self.large {
            u32_at(self.bytes, HEADER_LEN + i * 4) as usize
        } else {
            u16_at(self.bytes, HEADER_LEN + i * 2) as usize
        }
    }

    /// Raw bytes of parameter `i`, or `None` when the event has fewer parameters.
    pub fn param(&self, i: usize) -> Option<&'a [u8]> {
        if i >= self.nparams as usize {
            return None;
        }
        let width = if self.large { 4 } else { 2 };
        let mut off = HEADER_LEN + self.nparams as usize * width;
        for j in 0..i {
            off += self.param_len(j);
        }
        Some(&self.bytes[off..off + self.param_len(i)])
    }

    /// Raw bytes of the parameter called `name` in the current table.
    pub fn param_by_name(&self, name: &str) -> Option<&'a [u8]> {
        self.param(self.info.param_index(name)?)
    }

    /// Iterator over `(index, bytes)` of the parameters present.
    pub fn params(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let this = *self;
        let width = if self.large { 4 } else { 2 };
        let mut off = HEADER_LEN + self.nparams as usize * width;
        (0..self.nparams as usize).map(move |i| {
            let len = this.param_len(i);
            let p = &this.bytes[off..off + len];
            off += len;
            p
        })
    }

    /// Parameter `i` read as a little-endian integer of its own width
    /// (1, 2, 4 or 8 bytes), sign-extended when `signed`.
    pub fn param_int(&self, i: usize, signed: bool) -> Option<i64> {
        read_int(self.param(i)?, signed)
    }

    /// Parameter `i` as a string (up to the first NUL), lossy UTF-8 free:
    /// returns the raw bytes without the terminator.
    pub fn param_str(&self, i: usize) -> Option<&'a [u8]> {
        let p = self.param(i)?;
        Some(match p.iter().position(|&b| b == 0) {
            Some(n) => &p[..n],
            None => p,
        })
    }
}

/// Reads a little-endian integer whose width is the slice length.
pub fn read_int(p: &[u8], signed: bool) -> Option<i64> {
    Some(match (p.len(), signed) {
        (1, false) => p[0] as i64,
        (1, true) => p[0] as i8 as i64,
        (2, false) => u16_at(p, 0) as i64,
        (2, true) => u16_at(p, 0) as i16 as i64,
        (4, false) => u32_at(p, 0) as i64,
        (4, true) => u32_at(p, 0) as i32 as i64,
        (8, _) => u64_at(p, 0) as i64,
        _ => return None,
    })
}

impl fmt::Debug for EventView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventView")
            .field("ts", &self.ts())
            .field("tid", &self.tid())
            .field("type", &self.name())
            .field("dir", &self.direction().symbol())
            .field("nparams", &self.nparams)
            .finish()
    }
}

/// Builds an event's bytes; for tests, synthetic events and writers.
#[derive(Debug)]
pub struct EventBuilder {
    code: u16,
    ts: u64,
    tid: u64,
    params: Vec<Vec<u8>>,
}

impl EventBuilder {
    /// Starts an event of type `code`.
    pub fn new(code: u16, ts: u64, tid: u64) -> Self {
        EventBuilder {
            code,
            ts,
            tid,
            params: Vec::new(),
        }
    }

    /// The bytes of a successful `open` exit event (`PPME_SYSCALL_OPEN_X`)
    /// of thread `tid` returning `fd` for `name` with scap open flags
    /// `flags` (mode, dev and ino 0): the event tests reach for first.
    pub fn open_exit(ts: u64, tid: u64, fd: i64, name: &str, flags: u32) -> Vec<u8> {
        EventBuilder::new(crate::generated::code::SYSCALL_OPEN_X, ts, tid)
            .u64(fd as u64)
            .str(name)
            .u32(flags)
            .u32(0)
            .u32(0)
            .u64(0)
            .build()
    }

    /// Appends a raw parameter.
    pub fn param(mut self, bytes: &[u8]) -> Self {
        self.params.push(bytes.to_vec());
        self
    }

    /// Appends a NUL-terminated string parameter.
    pub fn str(self, s: &str) -> Self {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.param(&v)
    }

    /// Appends a little-endian u64 / i64 / fd / pid parameter.
    pub fn u64(self, v: u64) -> Self {
        self.param(&v.to_le_bytes())
    }

    /// Appends a little-endian u32 parameter.
    pub fn u32(self, v: u32) -> Self {
        self.param(&v.to_le_bytes())
    }

    /// Appends a little-endian u16 parameter.
    pub fn u16(self, v: u16) -> Self {
        self.param(&v.to_le_bytes())
    }

    /// Serializes the event.
    pub fn build(self) -> Vec<u8> {
        let large = EVENTS
            .get(self.code as usize)
            .is_some_and(|e| e.flags.has(EventFlags::LARGE_PAYLOAD));
        let width = if large { 4 } else { 2 };
        let data: usize = self.params.iter().map(Vec::len).sum();
        let len = HEADER_LEN + self.params.len() * width + data;
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&self.ts.to_le_bytes());
        out.extend_from_slice(&self.tid.to_le_bytes());
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(&self.code.to_le_bytes());
        out.extend_from_slice(&(self.params.len() as u32).to_le_bytes());
        for p in &self.params {
            if large {
                out.extend_from_slice(&(p.len() as u32).to_le_bytes());
            } else {
                out.extend_from_slice(&(p.len() as u16).to_le_bytes());
            }
        }
        for p in &self.params {
            out.extend_from_slice(p);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_exit() -> Vec<u8> {
        EventBuilder::open_exit(1_000, 42, 3, "/etc/passwd", 1)
    }

    #[test]
    fn reads_header_and_params() {
        let bytes = open_exit();
        let ev = EventView::parse(&bytes).unwrap();
        assert_eq!(ev.ts(), 1_000);
        assert_eq!(ev.tid(), 42);
        assert_eq!(ev.name(), "open");
        assert_eq!(ev.direction(), Direction::Exit);
        assert_eq!(ev.nparams(), 6);
        assert_eq!(ev.param_int(0, true), Some(3));
        assert_eq!(ev.param_str(1), Some(&b"/etc/passwd"[..]));
        assert_eq!(ev.param_by_name("name"), Some(&b"/etc/passwd\0"[..]));
        assert_eq!(ev.param(6), None);
        assert_eq!(ev.params().count(), 6);
    }

    #[test]
    fn rejects_truncation_and_overflow_without_panicking() {
        let bytes = open_exit();
        for cut in 0..bytes.len() {
            assert!(EventView::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = bytes.clone();
        bad[HEADER_LEN] = 0xff; // first param length
        assert!(matches!(
            EventView::parse(&bad),
            Err(EventError::ParamsOverflow { .. })
        ));
        let mut bad = bytes.clone();
        bad[22..26].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(EventView::parse(&bad).is_err());
        let mut bad = bytes;
        bad[20..22].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(
            EventView::parse(&bad).unwrap_err(),
            EventError::UnknownType(u16::MAX)
        );
    }
}

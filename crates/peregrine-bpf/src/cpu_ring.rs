//! The consumer side of the probe's per-CPU rings, read through memory
//! maps of the two arrays that hold them (layout: `src/bpf/scap.h`).
//!
//! Each CPU has a ring with one producer (the probe's programs on that
//! CPU, which never run two at a time) and one consumer (a [`CpuRing`]).
//! Its control entry holds two byte positions that only grow, each on its
//! own cache line: `head`, written by the producer after an event's bytes,
//! and `tail`, written by the consumer once it is done with the bytes
//! before it. The producer reads `tail` on every event to check for room,
//! so the consumer publishes it only when it has caught up (before the
//! caller sleeps) or has read a quarter of the ring since the last
//! publication: the line then moves between CPUs once per batch, not per
//! event. Events are handed out in place, without a copy, and stay valid
//! until the next call to [`CpuRing::next_span`].
//!
//! A ring of `chunks` chunks occupies the data entries `cpu * chunks ..
//! (cpu + 1) * chunks`; position `p` is byte `p % CHUNK` of chunk `(p /
//! CHUNK) % chunks`. Each entry has [`SLACK`] bytes after its chunk, where
//! an event that starts near the chunk's end runs on, so every event is
//! contiguous.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// log2 of [`CHUNK`] (`RING_CHUNK_SHIFT` in scap.h).
pub(crate) const CHUNK_SHIFT: u32 = 20;
/// Bytes of a chunk (`RING_CHUNK`): the smallest ring.
pub(crate) const CHUNK: usize = 1 << CHUNK_SHIFT;
/// Bytes after each chunk (`RING_SLACK`: twice the largest event).
pub(crate) const SLACK: usize = 2 * MAX_EVENT;
/// Bytes of a data entry: a chunk and its slack.
pub(crate) const ENTRY: usize = CHUNK + SLACK;
/// Bytes of a control entry (`struct ring_ctl`): head, then tail, each on
/// its own 64-byte line.
pub(crate) const CONTROL: usize = 128;
/// The largest event the probe writes (`SCRATCH_HALF`).
const MAX_EVENT: usize = 64 * 1024;
/// Offset of the `len` field in an event header.
const LEN_AT: usize = 16;

/// A shared memory map, unmapped on drop.
pub(crate) struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is plain shared memory; the readers that point into
// it synchronise with the kernel through atomics.
unsafe impl Send for Mapping {}
// SAFETY: as above; `Mapping` itself offers no access to the memory.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of the map `fd` from its start.
    pub(crate) fn new(
        fd: BorrowedFd<'_>,
        len: usize,
        prot: libc::c_int,
    ) -> std::io::Result<Mapping> {
        // SAFETY: a new shared mapping of `len` bytes of the map's file; no
        // existing memory is touched, and the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Mapping { ptr, len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are the mapping made in `new`, unmapped once.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// The maps of every CPU's ring: the control array (read-write) and the
/// data array (read-only).
pub(crate) struct RingMaps {
    control: Mapping,
    data: Mapping,
    cpus: usize,
    chunks: usize,
}

impl RingMaps {
    /// Maps the control array `control` (an entry per CPU) and the data
    /// array `data` (`chunks` entries per CPU) of `cpus` CPUs.
    pub(crate) fn new(
        control: BorrowedFd<'_>,
        data: BorrowedFd<'_>,
        cpus: usize,
        chunks: usize,
    ) -> std::io::Result<Arc<RingMaps>> {
        let control = Mapping::new(control, cpus * CONTROL, libc::PROT_READ | libc::PROT_WRITE)?;
        let data = Mapping::new(data, cpus * chunks * ENTRY, libc::PROT_READ)?;
        Ok(Arc::new(RingMaps {
            control,
            data,
            cpus,
            chunks,
        }))
    }

    /// A reader of the ring of each CPU, in CPU order.
    pub(crate) fn readers(self: &Arc<RingMaps>) -> Vec<CpuRing> {
        (0..self.cpus)
            .map(|cpu| {
                // SAFETY: control entry `cpu` and data entries `cpu * chunks
                // ..` lie inside the mappings, which the readers keep alive
                // through the Arc.
                unsafe {
                    let control = (self.control.ptr as *const u8).add(cpu * CONTROL);
                    let data = (self.data.ptr as *const u8).add(cpu * self.chunks * ENTRY);
                    CpuRing::from_raw(control, data, self.chunks, Some(Arc::clone(self)))
                }
            })
            .collect()
    }
}

/// Where an event's bytes are in a ring's data entries.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    offset: usize,
    len: usize,
}

/// Reads the events of one CPU's ring in place (see the module doc).
pub(crate) struct CpuRing {
    /// The producer position (`head`, read-only).
    head: *const AtomicU64,
    /// The consumer position (`tail`, written by us).
    tail: *const AtomicU64,
    /// The ring's first data entry.
    data: *const u8,
    /// Chunks in the ring minus one (the count is a power of two).
    chunk_mask: u64,
    /// Bytes in the ring.
    size: u64,
    /// The position of the next event to read.
    pos: u64,
    /// Bytes of the event last handed out, consumed at the next call.
    held: u64,
    /// The position last published to the producer.
    published: u64,
    /// The producer position last read.
    head_seen: u64,
    /// The mappings the pointers point into (none in unit tests).
    _maps: Option<Arc<RingMaps>>,
}

// SAFETY: the reader only reads its ring's data and writes its own `tail`;
// the probe synchronises with it through the atomics.
unsafe impl Send for CpuRing {}

impl CpuRing {
    /// A reader of the ring whose control entry is at `control` and data
    /// entries (`chunks` of them) start at `data`.
    ///
    /// # Safety
    /// `control` points to a live, 8-aligned control entry ([`CONTROL`]
    /// bytes), `data` to `chunks * ENTRY` readable bytes, `chunks` is a
    /// power of two, and all of it outlives the reader (`maps` may own it).
    unsafe fn from_raw(
        control: *const u8,
        data: *const u8,
        chunks: usize,
        maps: Option<Arc<RingMaps>>,
    ) -> CpuRing {
        let mut ring = CpuRing {
            head: control as *const AtomicU64,
            // SAFETY: `tail` is 64 bytes into the control entry.
            tail: unsafe { control.add(64) } as *const AtomicU64,
            data,
            chunk_mask: chunks as u64 - 1,
            size: (chunks * CHUNK) as u64,
            pos: 0,
            held: 0,
            published: 0,
            head_seen: 0,
            _maps: maps,
        };
        ring.pos = ring.tail().load(Ordering::Acquire);
        ring.published = ring.pos;
        ring.head_seen = ring.load_head();
        ring
    }

    fn tail(&self) -> &AtomicU64 {
        // SAFETY: see `from_raw`.
        unsafe { &*self.tail }
    }

    fn load_head(&self) -> u64 {
        // SAFETY: see `from_raw`; the probe stores it after the event's
        // bytes (x86 keeps stores in order), paired with this acquire load.
        unsafe { &*self.head }.load(Ordering::Acquire)
    }

    /// Publishes the position read so far, freeing the space for the
    /// producer. Called when caught up, and every quarter of the ring.
    fn publish(&mut self) {
        if self.published != self.pos {
            self.tail().store(self.pos, Ordering::Release);
            self.published = self.pos;
        }
    }

    /// Where position `pos` is in the data entries.
    fn offset_of(&self, pos: u64) -> usize {
        let chunk = (pos >> CHUNK_SHIFT) & self.chunk_mask;
        chunk as usize * ENTRY + (pos as usize & (CHUNK - 1))
    }

    /// The bytes of an event [`CpuRing::next_span`] gave, valid until the
    /// next call to it.
    pub(crate) fn bytes(&self, span: Span) -> &[u8] {
        // SAFETY: `next_span` checked that the event lies inside one data
        // entry (it starts in the chunk and is at most MAX_EVENT long); the
        // producer leaves it untouched until the position past it is
        // published, which happens at the earliest on the next call to
        // `next_span`, which needs `&mut self`.
        unsafe { std::slice::from_raw_parts(self.data.add(span.offset), span.len) }
    }

    /// The next event, or `None` when the producer has published nothing
    /// more; then the position is published. Its bytes
    /// ([`CpuRing::bytes`]) stay valid until the next call. An event whose
    /// length is not one the probe writes means the ring cannot be trusted
    /// past it: everything published so far is skipped.
    pub(crate) fn next_span(&mut self) -> Option<Span> {
        self.pos += std::mem::take(&mut self.held);
        if self.pos - self.published > self.size / 4 {
            self.publish();
        }
        if self.pos == self.head_seen {
            self.head_seen = self.load_head();
            if self.pos == self.head_seen {
                self.publish();
                return None;
            }
        }
        let offset = self.offset_of(self.pos);
        let available = self.head_seen.wrapping_sub(self.pos);
        // SAFETY: the offset is inside a data entry and the 4 bytes at
        // LEN_AT are within its chunk and slack; the producer published
        // them before `head`.
        let len = u32::from_le_bytes(unsafe {
            std::ptr::read_unaligned(self.data.add(offset + LEN_AT) as *const [u8; 4])
        }) as u64;
        if available > self.size
            || len < peregrine_event::HEADER_LEN as u64
            || len > MAX_EVENT as u64
            || len > available
        {
            self.pos = self.head_seen;
            self.publish();
            return None;
        }
        self.held = len;
        Some(Span {
            offset,
            len: len as usize,
        })
    }
}

impl Drop for CpuRing {
    fn drop(&mut self) {
        self.pos += std::mem::take(&mut self.held);
        self.publish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHUNKS: usize = 2;

    /// A ring laid out as the probe's, in ordinary memory; `push` writes
    /// events as the probe does.
    struct FakeRing {
        /// Atomics only for their interior mutability: the test writes
        /// while the reader holds pointers, as the probe does.
        control: Box<[AtomicU64]>,
        data: Box<[AtomicU64]>,
    }

    impl FakeRing {
        fn new(start: u64) -> Box<FakeRing> {
            let ring = Box::new(FakeRing {
                control: (0..CONTROL / 8).map(|_| AtomicU64::new(0)).collect(),
                data: (0..CHUNKS * ENTRY / 8).map(|_| AtomicU64::new(0)).collect(),
            });
            ring.control[0].store(start, Ordering::Relaxed);
            ring.control[8].store(start, Ordering::Relaxed);
            ring
        }

        fn reader(&self) -> CpuRing {
            // SAFETY: the fake outlives the reader in every test (boxed,
            // dropped after it) and has the sizes `from_raw` needs.
            unsafe {
                CpuRing::from_raw(
                    self.control.as_ptr() as *const u8,
                    self.data.as_ptr() as *const u8,
                    CHUNKS,
                    None,
                )
            }
        }

        fn head(&self) -> u64 {
            self.control[0].load(Ordering::Acquire)
        }

        fn tail(&self) -> u64 {
            self.control[8].load(Ordering::Acquire)
        }

        /// Writes an event of `len` bytes (a header with that length, then
        /// `fill`) at the head, as the probe does, and publishes it.
        fn push(&self, len: usize, fill: u8) -> u64 {
            let head = self.head();
            let chunk = ((head >> CHUNK_SHIFT) as usize) & (CHUNKS - 1);
            let at = chunk * ENTRY + (head as usize & (CHUNK - 1));
            let mut bytes = vec![fill; len];
            bytes[LEN_AT..LEN_AT + 4].copy_from_slice(&(len as u32).to_le_bytes());
            let data = self.data.as_ptr() as *mut u8;
            // SAFETY: the event fits in its entry (chunk + slack).
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), data.add(at), len) };
            self.control[0].store(head + len as u64, Ordering::Release);
            head
        }
    }

    fn next(r: &mut CpuRing) -> Option<Vec<u8>> {
        let span = r.next_span()?;
        Some(r.bytes(span).to_vec())
    }

    /// The value of `#define NAME value` in the probe's scap.h.
    fn probe_define(name: &str) -> String {
        include_str!("bpf/scap.h")
            .lines()
            .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("{name} not defined in scap.h"))
            .trim()
            .to_string()
    }

    #[test]
    fn the_geometry_matches_the_probe() {
        assert_eq!(probe_define("RING_CHUNK_SHIFT"), CHUNK_SHIFT.to_string());
        assert_eq!(probe_define("SCRATCH_HALF"), "(64 * 1024)");
        assert_eq!(MAX_EVENT, 64 * 1024);
        assert_eq!(probe_define("RING_SLACK"), "(2 * SCRATCH_HALF)");
        assert_eq!(SLACK, 2 * MAX_EVENT);
    }

    #[test]
    fn events_come_out_in_order() {
        let ring = FakeRing::new(0);
        ring.push(40, 1);
        ring.push(100, 2);
        let mut r = ring.reader();
        assert_eq!(next(&mut r).map(|e| (e.len(), e[0])), Some((40, 1)));
        assert_eq!(next(&mut r).map(|e| (e.len(), e[99])), Some((100, 2)));
        assert_eq!(next(&mut r), None);
        // Events published later are found on the next call.
        ring.push(30, 3);
        assert_eq!(next(&mut r).map(|e| (e.len(), e[0])), Some((30, 3)));
        assert_eq!(next(&mut r), None);
    }

    #[test]
    fn the_position_is_published_once_caught_up_not_per_event() {
        let ring = FakeRing::new(0);
        for _ in 0..3 {
            ring.push(50, 0);
        }
        let mut r = ring.reader();
        for _ in 0..3 {
            assert!(next(&mut r).is_some());
        }
        assert_eq!(ring.tail(), 0, "nothing published while reading on");
        assert_eq!(next(&mut r), None);
        assert_eq!(ring.tail(), 150, "everything read is published");
    }

    #[test]
    fn the_position_is_published_every_quarter_of_the_ring() {
        let ring = FakeRing::new(0);
        let quarter = (CHUNKS * CHUNK / 4) as u64;
        let len = 32 * 1024;
        let mut r = ring.reader();
        let mut read = 0u64;
        while read <= quarter {
            ring.push(len, 0);
            assert!(next(&mut r).is_some());
            read += len as u64;
        }
        // The event handed out last is still held: published is what was
        // read before it, once past a quarter.
        assert_eq!(ring.tail(), 0, "published on the call after the quarter");
        ring.push(len, 0);
        assert!(next(&mut r).is_some());
        assert_eq!(ring.tail(), read, "published once past a quarter");
    }

    #[test]
    fn an_event_across_a_chunk_end_is_contiguous_and_the_next_starts_a_chunk() {
        // Start 10 bytes before the end of chunk 0: the event runs into
        // the slack; the next one is at the start of chunk 1.
        let start = CHUNK as u64 - 10;
        let ring = FakeRing::new(start);
        ring.push(60, 7);
        let second = ring.push(40, 8);
        assert_eq!(second, CHUNK as u64 + 50);
        let mut r = ring.reader();
        let first = next(&mut r).unwrap();
        assert_eq!((first.len(), first[0], first[59]), (60, 7, 7));
        let e = next(&mut r).unwrap();
        assert_eq!((e.len(), e[0]), (40, 8));
        assert_eq!(r.offset_of(second), ENTRY + 50);
    }

    #[test]
    fn positions_wrap_around_the_ring() {
        // The last chunk's end: the next event is in chunk 0 again.
        let start = (CHUNKS * CHUNK) as u64 * 3 - 20;
        let ring = FakeRing::new(start);
        ring.push(30, 5);
        let wrapped = ring.push(30, 6);
        let mut r = ring.reader();
        assert_eq!(r.offset_of(start), (CHUNKS - 1) * ENTRY + CHUNK - 20);
        assert_eq!(r.offset_of(wrapped), 10);
        assert_eq!(next(&mut r).map(|e| e[29]), Some(5));
        assert_eq!(next(&mut r).map(|e| e[0]), Some(6));
        assert_eq!(next(&mut r), None);
        assert_eq!(ring.tail(), start + 60);
    }

    #[test]
    fn a_length_the_probe_cannot_write_skips_to_the_head() {
        let ring = FakeRing::new(0);
        ring.push(40, 1);
        let bad = ring.push(40, 2);
        ring.push(40, 3);
        // Corrupt the second event's length.
        let data = ring.data.as_ptr() as *mut u8;
        // SAFETY: inside the first entry.
        unsafe { std::ptr::write_unaligned(data.add(bad as usize + LEN_AT) as *mut u32, 3) };
        let mut r = ring.reader();
        assert!(next(&mut r).is_some());
        assert_eq!(next(&mut r), None);
        assert_eq!(ring.tail(), 120, "skipped to the head and published");
        ring.push(40, 4);
        assert_eq!(next(&mut r).map(|e| e[0]), Some(4));
    }

    #[test]
    fn dropping_the_reader_publishes_what_it_read() {
        let ring = FakeRing::new(0);
        ring.push(40, 0);
        ring.push(40, 0);
        let mut r = ring.reader();
        assert!(next(&mut r).is_some());
        drop(r);
        assert_eq!(ring.tail(), 40, "the event handed out counts as read");
    }
}

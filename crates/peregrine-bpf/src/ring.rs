//! The consumer side of a BPF ring buffer, read through its memory map.
//!
//! The kernel's producer (`bpf_ringbuf_reserve`/`output`) reads the
//! consumer position on every record to check for room. A consumer that
//! publishes its position after each record, as general-purpose readers
//! do, makes that cache line move between CPUs once per event, which the
//! producing syscall pays for. [`RingReader`] keeps its position to itself
//! and publishes it only when it has caught up with the producer (before
//! the caller sleeps) or when it has read a quarter of the buffer since the
//! last publication, so the line moves once per batch. Records are handed
//! out in place, without a copy: a record stays valid until the next call
//! to [`RingReader::next_span`].
//!
//! Layout (kernel/bpf/ringbuf.c): page 0 holds the consumer position
//! (mapped read-write), page 1 the producer position, then the data pages,
//! mapped twice in a row so that a record that wraps around the end is
//! still contiguous (mapped read-only). Each record starts with an 8-byte
//! header: a 32-bit length with a busy bit (reserved, not yet committed)
//! and a discard bit, then the page offset; records are 8-byte aligned.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

const BUSY_BIT: u32 = 1 << 31;
const DISCARD_BIT: u32 = 1 << 30;
const HEADER_LEN: usize = 8;

/// A shared memory map, unmapped on drop.
struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    fn new(
        fd: BorrowedFd<'_>,
        len: usize,
        prot: libc::c_int,
        offset: usize,
    ) -> std::io::Result<Mapping> {
        // SAFETY: a new shared mapping of `len` bytes of the map's file at
        // `offset`; no existing memory is touched, and the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                offset as libc::off_t,
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

/// Where a record's bytes are in the data area.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    offset: usize,
    len: usize,
}

/// Reads the records of one BPF ring buffer in place (see the module doc).
pub(crate) struct RingReader {
    /// The consumer position (kernel's `consumer_pos`, written by us).
    consumer: *const AtomicUsize,
    /// The producer position (kernel's `producer_pos`, read-only).
    producer: *const AtomicUsize,
    /// The data area, mapped twice in a row.
    data: *const u8,
    /// Data size minus one (the size is a power of two).
    mask: usize,
    /// The position of the next record to read.
    pos: usize,
    /// Bytes of the record last handed out, consumed at the next call.
    held: usize,
    /// The position last published to the producer.
    published: usize,
    /// The producer position last read (records below it are committed or busy).
    producer_pos: usize,
    /// The mappings the pointers point into (none in unit tests).
    _maps: Option<(Mapping, Mapping)>,
}

// SAFETY: the memory is owned by the reader (its mappings) and only
// accessed through it; the kernel side synchronises through the atomics.
unsafe impl Send for RingReader {}

impl RingReader {
    /// Maps the ring buffer `fd` of `bytes` data bytes (a power of two
    /// multiple of the page size, as the kernel requires).
    pub(crate) fn new(fd: BorrowedFd<'_>, bytes: usize) -> std::io::Result<RingReader> {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let consumer = Mapping::new(fd, page, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        let producer = Mapping::new(fd, page + 2 * bytes, libc::PROT_READ, page)?;
        // SAFETY: the consumer page starts with `consumer_pos`, the producer
        // page with `producer_pos` (both page-aligned), and the data pages,
        // mapped twice, follow the producer page; the mappings move into
        // the reader, so they live as long as the pointers.
        unsafe {
            let data = (producer.ptr as *const u8).add(page);
            Ok(RingReader::from_raw(
                consumer.ptr as *const AtomicUsize,
                producer.ptr as *const AtomicUsize,
                data,
                bytes,
                Some((consumer, producer)),
            ))
        }
    }

    /// A reader of the ring laid out at these addresses.
    ///
    /// # Safety
    /// `consumer` and `producer` point to live, aligned positions, `data`
    /// to `2 * bytes` readable bytes (the data twice), `bytes` is a power
    /// of two, and all of it outlives the reader (`maps` may own it).
    unsafe fn from_raw(
        consumer: *const AtomicUsize,
        producer: *const AtomicUsize,
        data: *const u8,
        bytes: usize,
        maps: Option<(Mapping, Mapping)>,
    ) -> RingReader {
        let mut reader = RingReader {
            consumer,
            producer,
            data,
            mask: bytes - 1,
            pos: 0,
            held: 0,
            published: 0,
            producer_pos: 0,
            _maps: maps,
        };
        reader.pos = reader.consumer_pos().load(Ordering::Acquire);
        reader.published = reader.pos;
        reader.producer_pos = reader.load_producer_pos();
        reader
    }

    fn consumer_pos(&self) -> &AtomicUsize {
        // SAFETY: see `from_raw`.
        unsafe { &*self.consumer }
    }

    fn load_producer_pos(&self) -> usize {
        // SAFETY: see `from_raw`; the kernel writes it with release semantics.
        unsafe { &*self.producer }.load(Ordering::Acquire)
    }

    /// The address of data byte `offset` (below twice the data size).
    fn data(&self, offset: usize) -> *const u8 {
        // SAFETY: callers keep `offset` inside the doubled data area.
        unsafe { self.data.add(offset) }
    }

    /// Publishes the position read so far, freeing the space for the
    /// producer. Called when caught up, and every quarter of the buffer.
    fn publish(&mut self) {
        if self.published != self.pos {
            self.consumer_pos().store(self.pos, Ordering::Release);
            self.published = self.pos;
        }
    }

    /// The bytes of a record [`RingReader::next_span`] gave, valid until
    /// the next call to it.
    pub(crate) fn bytes(&self, span: Span) -> &[u8] {
        // SAFETY: `next_span` checked that the record lies in the doubled
        // data area (offset below the size, length at most the size); the
        // producer leaves it untouched until the position past it is
        // published, which happens at the earliest on the next call to
        // `next_span`, which needs `&mut self`.
        unsafe { std::slice::from_raw_parts(self.data(span.offset), span.len) }
    }

    /// The next committed record (its header excluded), or `None` when
    /// the producer has nothing more committed; then the position is
    /// published. Its bytes ([`RingReader::bytes`]) stay valid until the
    /// next call.
    pub(crate) fn next_span(&mut self) -> Option<Span> {
        self.pos += std::mem::take(&mut self.held);
        if self.pos - self.published > (self.mask + 1) / 4 {
            self.publish();
        }
        loop {
            if self.pos == self.producer_pos {
                self.producer_pos = self.load_producer_pos();
                if self.pos == self.producer_pos {
                    self.publish();
                    return None;
                }
            }
            let offset = self.pos & self.mask;
            // SAFETY: `offset` is below the data size and the header is 8
            // bytes, 8-aligned; the kernel commits it with an xchg, paired
            // with this acquire load.
            let header =
                unsafe { &*(self.data(offset) as *const AtomicU32) }.load(Ordering::Acquire);
            if header & BUSY_BIT != 0 {
                self.publish();
                return None;
            }
            let len = (header & !(BUSY_BIT | DISCARD_BIT)) as usize;
            let total = (HEADER_LEN + len).next_multiple_of(8);
            if len > self.mask + 1 - HEADER_LEN {
                // Not a record the kernel can write: skip to the producer.
                self.pos = self.producer_pos;
                continue;
            }
            if header & DISCARD_BIT != 0 {
                self.pos += total;
                continue;
            }
            self.held = total;
            return Some(Span {
                offset: offset + HEADER_LEN,
                len,
            });
        }
    }
}

impl Drop for RingReader {
    fn drop(&mut self) {
        self.pos += std::mem::take(&mut self.held);
        self.publish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: usize = 4096;

    /// A ring laid out as the kernel's, in ordinary memory; `commit`
    /// writes records as the kernel's producer does, into both copies of
    /// the data (which the kernel gets by mapping the pages twice).
    struct FakeRing {
        consumer: AtomicUsize,
        producer: AtomicUsize,
        /// Atomics only for their interior mutability: the test writes
        /// while the reader holds pointers, as the kernel does.
        data: Box<[std::sync::atomic::AtomicU64]>,
    }

    impl FakeRing {
        fn new(start: usize) -> Box<FakeRing> {
            Box::new(FakeRing {
                consumer: AtomicUsize::new(start),
                producer: AtomicUsize::new(start),
                data: (0..2 * SIZE / 8).map(|_| Default::default()).collect(),
            })
        }

        fn reader(&self) -> RingReader {
            // SAFETY: the fake outlives the reader in every test (boxed,
            // dropped after it), and `data` holds the data twice.
            unsafe {
                RingReader::from_raw(
                    &self.consumer,
                    &self.producer,
                    self.data.as_ptr() as *const u8,
                    SIZE,
                    None,
                )
            }
        }

        fn write(&self, pos: usize, bytes: &[u8]) {
            let data = self.data.as_ptr() as *mut u8;
            for (i, b) in bytes.iter().enumerate() {
                let at = (pos + i) & (SIZE - 1);
                // SAFETY: `at` and `at + SIZE` are inside `data`.
                unsafe {
                    *data.add(at) = *b;
                    *data.add(at + SIZE) = *b;
                }
            }
        }

        /// Appends a record with header flags `bits`; returns its position.
        fn push(&self, payload: &[u8], bits: u32) -> usize {
            let pos = self.producer.load(Ordering::Relaxed);
            let header = payload.len() as u32 | bits;
            self.write(pos, &header.to_le_bytes());
            self.write(pos + 4, &0u32.to_le_bytes());
            self.write(pos + HEADER_LEN, payload);
            let next = pos + (HEADER_LEN + payload.len()).next_multiple_of(8);
            self.producer.store(next, Ordering::Release);
            pos
        }

        fn commit(&self, payload: &[u8]) -> usize {
            self.push(payload, 0)
        }

        fn consumer(&self) -> usize {
            self.consumer.load(Ordering::Acquire)
        }
    }

    fn next(r: &mut RingReader) -> Option<Vec<u8>> {
        let span = r.next_span()?;
        Some(r.bytes(span).to_vec())
    }

    #[test]
    fn committed_records_come_out_in_order() {
        let ring = FakeRing::new(0);
        ring.commit(b"first");
        ring.commit(b"second record");
        let mut r = ring.reader();
        assert_eq!(next(&mut r).as_deref(), Some(&b"first"[..]));
        assert_eq!(next(&mut r).as_deref(), Some(&b"second record"[..]));
        assert_eq!(next(&mut r), None);
        // Records committed later are found on the next call.
        drop(r);
        ring.commit(b"third");
        let mut r = ring.reader();
        assert_eq!(next(&mut r).as_deref(), Some(&b"third"[..]));
        assert_eq!(next(&mut r), None);
    }

    #[test]
    fn a_busy_record_holds_back_the_ones_after_it() {
        let ring = FakeRing::new(0);
        ring.commit(b"a");
        let busy = ring.push(b"bb", BUSY_BIT);
        ring.commit(b"c");
        let mut r = ring.reader();
        assert_eq!(next(&mut r).as_deref(), Some(&b"a"[..]));
        assert_eq!(next(&mut r), None);
        assert_eq!(ring.consumer(), busy, "published up to the busy record");
        // The producer commits it.
        ring.write(busy, &2u32.to_le_bytes());
        assert_eq!(next(&mut r).as_deref(), Some(&b"bb"[..]));
        assert_eq!(next(&mut r).as_deref(), Some(&b"c"[..]));
        assert_eq!(next(&mut r), None);
    }

    #[test]
    fn discarded_records_are_skipped() {
        let ring = FakeRing::new(0);
        ring.push(b"dropped", DISCARD_BIT);
        ring.commit(b"kept");
        let mut r = ring.reader();
        assert_eq!(next(&mut r).as_deref(), Some(&b"kept"[..]));
        assert_eq!(next(&mut r), None);
    }

    #[test]
    fn the_position_is_published_once_caught_up_not_per_record() {
        let ring = FakeRing::new(0);
        for _ in 0..3 {
            ring.commit(b"0123456789");
        }
        let mut r = ring.reader();
        assert!(next(&mut r).is_some());
        assert!(next(&mut r).is_some());
        assert!(next(&mut r).is_some());
        assert_eq!(ring.consumer(), 0, "nothing published while reading on");
        assert_eq!(next(&mut r), None);
        assert_eq!(ring.consumer(), 3 * 24, "everything read is published");
    }

    #[test]
    fn the_position_is_published_every_quarter_of_the_buffer() {
        let ring = FakeRing::new(0);
        let payload = [7u8; 120]; // 128 bytes a record
        for _ in 0..12 {
            ring.commit(&payload);
        }
        let mut r = ring.reader();
        for _ in 0..9 {
            assert!(next(&mut r).is_some());
        }
        // 8 records (1,024 bytes, a quarter) were consumed by the 9th call.
        assert_eq!(ring.consumer(), 0, "not past a quarter yet");
        assert!(next(&mut r).is_some());
        assert_eq!(ring.consumer(), 9 * 128, "published once past a quarter");
    }

    #[test]
    fn a_record_across_the_end_is_contiguous() {
        // Start 16 bytes before the end of the data area.
        let ring = FakeRing::new(SIZE - 16);
        ring.commit(b"wraps around the end");
        let mut r = ring.reader();
        assert_eq!(next(&mut r).as_deref(), Some(&b"wraps around the end"[..]));
        assert_eq!(next(&mut r), None);
        assert_eq!(ring.consumer(), SIZE - 16 + 32);
    }

    #[test]
    fn dropping_the_reader_publishes_what_it_read() {
        let ring = FakeRing::new(0);
        ring.commit(b"x");
        ring.commit(b"y");
        let mut r = ring.reader();
        assert!(next(&mut r).is_some());
        drop(r);
        assert_eq!(ring.consumer(), 16, "the record handed out counts as read");
    }
}

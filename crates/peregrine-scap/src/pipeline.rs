//! Reading on a second thread.
//!
//! [`ThreadedReader`] runs a [`Reader`] on its own thread: that thread
//! reads (and decompresses) large chunks, frames and checks the blocks in
//! place, and hands each chunk over whole, with the positions of its
//! blocks, to the consuming thread through a bounded channel; used chunks
//! come back to be refilled, so the steady state neither copies blocks
//! nor allocates. Blocks come out in file order,
//! exactly as [`Reader::next_block`] returns them, errors included: every
//! block before the damage, then one error, then `Ok(None)`.

use crate::error::{ErrorKind, ScapError};
use crate::reader::{Block, Decoded, EventBlock, Reader, SectionHeader};
use std::io::{self, Read};
use std::ops::Range;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Filled batches waiting for the consumer.
const QUEUE: usize = 4;

/// How long the reading thread first sleeps when the queue is full; the
/// sleep doubles, up to [`FULL_QUEUE_SLEEP_MAX`], while it stays full. The
/// thread polls rather than blocks so that the consuming thread, usually
/// the slower one, never pays for waking it up (a futex wake-up, and an
/// interrupt to the other CPU, per batch). A batch takes the consumer
/// several hundred microseconds, so the longest sleep stays well below
/// the time it takes to empty the queue: a longer one (2 ms was tried)
/// lets the consumer run dry and costs about 10%.
const FULL_QUEUE_SLEEP: Duration = Duration::from_micros(50);

/// See [`FULL_QUEUE_SLEEP`].
const FULL_QUEUE_SLEEP_MAX: Duration = Duration::from_micros(200);

/// Where one block is in a batch: a small, flat record, since there is
/// one per event and the consuming thread reads each once.
#[derive(Clone, Copy)]
struct Item {
    /// The raw block in `Batch::data`.
    raw_start: usize,
    raw_len: u32,
    /// Its offset in the (decompressed) stream.
    offset: u64,
    /// For an event: where its bytes are, in `Batch::data` (in
    /// `Batch::converted` when converted from a version-1 block). For a
    /// metadata block: its index in `Batch::metas`.
    start: usize,
    len: u32,
    flags: u32,
    block_type: u32,
    cpu: u16,
    kind: Kind,
    has_flags: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Event,
    Converted,
    Meta,
}

/// Blocks read by the reading thread.
#[derive(Default)]
struct Batch {
    /// The reader's buffer, holding the raw blocks.
    data: Vec<u8>,
    /// Events converted from version-1 blocks.
    converted: Vec<u8>,
    items: Vec<Item>,
    metas: Vec<Option<Block<'static>>>,
    /// Set on the last batch: how the reading ended.
    end: Option<Result<(), ScapError>>,
}

impl Batch {
    fn clear(&mut self) {
        self.converted.clear();
        self.items.clear();
        self.metas.clear();
        self.end = None;
    }

    /// Notes where the block `reader` just decoded is in its buffer.
    fn push<R: Read>(&mut self, reader: &Reader<R>, d: Decoded) {
        let raw = reader.raw_range();
        let mut item = Item {
            raw_start: raw.start,
            raw_len: raw.len() as u32,
            offset: reader.block_offset(),
            start: 0,
            len: 0,
            flags: 0,
            block_type: 0,
            cpu: 0,
            kind: Kind::Meta,
            has_flags: false,
        };
        match d {
            Decoded::Event {
                cpu,
                flags,
                start,
                len,
                converted,
                block_type,
            } => {
                item.start = if converted {
                    let s = self.converted.len();
                    self.converted
                        .extend_from_slice(&reader.converted()[start..start + len]);
                    s
                } else {
                    start
                };
                item.len = len as u32;
                item.flags = flags.unwrap_or(0);
                item.has_flags = flags.is_some();
                item.block_type = block_type;
                item.cpu = cpu;
                item.kind = if converted {
                    Kind::Converted
                } else {
                    Kind::Event
                };
            }
            Decoded::Block(b) => {
                item.start = self.metas.len();
                self.metas.push(Some(b));
            }
        }
        self.items.push(item);
    }
}

/// What [`ThreadedReader::next`] returns: an event (nearly every block
/// of a capture) or, boxed, any other block, so that the common case
/// moves and drops a small value.
pub enum Next<'a> {
    /// An event block.
    Event(EventBlock<'a>),
    /// Any other block (never [`Block::Event`]).
    Other(Box<Block<'static>>),
}

/// A [`Reader`] running on its own thread; same blocks, same order, same
/// errors.
pub struct ThreadedReader {
    full: Option<Receiver<Batch>>,
    empty: Sender<Batch>,
    thread: Option<JoinHandle<()>>,
    cur: Batch,
    next: usize,
    raw: Range<usize>,
    block_offset: u64,
    header: SectionHeader,
    gzip: bool,
    done: bool,
}

impl ThreadedReader {
    /// Opens a capture file (gzip-compressed or not), reads its section
    /// header and starts the reading thread.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ScapError> {
        Self::new(Reader::open(path)?)
    }

    /// Moves `reader` to a new thread that reads ahead.
    pub fn new<R: Read + Send + 'static>(reader: Reader<R>) -> Result<Self, ScapError> {
        let header = reader.section_header().clone();
        let gzip = reader.is_gzip();
        let offset = reader.offset();
        let (full_tx, full_rx) = mpsc::sync_channel(QUEUE);
        let (empty_tx, empty_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("scap-reader".into())
            .spawn(move || produce(reader, full_tx, empty_rx))
            .map_err(|e| ScapError::new(offset, None, e.into()))?;
        Ok(ThreadedReader {
            full: Some(full_rx),
            empty: empty_tx,
            thread: Some(thread),
            cur: Batch::default(),
            next: 0,
            raw: 0..0,
            block_offset: offset,
            header,
            gzip,
            done: false,
        })
    }

    /// The first section header.
    pub fn section_header(&self) -> &SectionHeader {
        &self.header
    }

    /// Whether the source is gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Offset of the last block returned.
    pub fn block_offset(&self) -> u64 {
        self.block_offset
    }

    /// The bytes of the last block read, framing included (see
    /// [`Reader::raw_block`]).
    pub fn raw_block(&self) -> &[u8] {
        &self.cur.data[self.raw.clone()]
    }

    /// The next block; `Ok(None)` at the end of the file. After an error,
    /// every later call returns `Ok(None)`.
    pub fn next_block(&mut self) -> Result<Option<Block<'_>>, ScapError> {
        Ok(self.next()?.map(|n| match n {
            Next::Event(e) => Block::Event(e),
            Next::Other(b) => *b,
        }))
    }

    /// The next block as [`Next`] (cheaper than [`Self::next_block`] on
    /// events); `Ok(None)` at the end of the file. After an error, every
    /// later call returns `Ok(None)`.
    #[inline(always)]
    #[allow(clippy::should_implement_trait)] // an Iterator cannot lend its buffer
    pub fn next(&mut self) -> Result<Option<Next<'_>>, ScapError> {
        loop {
            if let Some(&it) = self.cur.items.get(self.next) {
                self.next += 1;
                self.raw = it.raw_start..it.raw_start + it.raw_len as usize;
                self.block_offset = it.offset;
                let src = match it.kind {
                    Kind::Event => &self.cur.data,
                    Kind::Converted => &self.cur.converted,
                    Kind::Meta => {
                        let meta = self.cur.metas[it.start].take().expect("each block once");
                        return Ok(Some(Next::Other(Box::new(meta))));
                    }
                };
                return Ok(Some(Next::Event(EventBlock::checked(
                    it.cpu,
                    it.has_flags.then_some(it.flags),
                    &src[it.start..it.start + it.len as usize],
                    it.block_type,
                ))));
            }
            if self.done {
                return Ok(None);
            }
            if let Some(end) = self.cur.end.take() {
                self.done = true;
                self.raw = 0..0;
                return end.map(|()| None);
            }
            self.refill()?;
        }
    }

    #[cold]
    fn refill(&mut self) -> Result<(), ScapError> {
        let got = self.full.as_ref().map(Receiver::recv);
        match got {
            Some(Ok(batch)) => {
                let used = std::mem::replace(&mut self.cur, batch);
                // The reading thread may have finished: then nobody needs it.
                let _ = self.empty.send(used);
                self.next = 0;
                Ok(())
            }
            _ => {
                // The reading thread ended without saying how: it panicked.
                self.done = true;
                self.raw = 0..0;
                Err(ScapError::new(
                    self.block_offset,
                    None,
                    ErrorKind::Io(io::Error::other("the reading thread failed")),
                ))
            }
        }
    }
}

impl Drop for ThreadedReader {
    fn drop(&mut self) {
        // Closing the channel stops the reading thread at its next batch.
        self.full = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The reading thread: fills batches until the end of the file, an
/// error, or the consumer going away. A batch is handed over when the
/// next block is not whole in the buffer: the buffer goes with it.
fn produce<R: Read>(mut reader: Reader<R>, full: SyncSender<Batch>, empty: Receiver<Batch>) {
    let mut spare = Vec::new();
    let mut batch = Batch::default();
    loop {
        let done = match reader.next_is_buffered() || batch.items.is_empty() {
            false => false,
            true => match reader.next_decoded() {
                Ok(Some(d)) => {
                    batch.push(&reader, d);
                    continue;
                }
                Ok(None) => {
                    batch.end = Some(Ok(()));
                    true
                }
                Err(e) => {
                    batch.end = Some(Err(e));
                    true
                }
            },
        };
        batch.data = reader.swap_buffer(std::mem::take(&mut spare));
        if !send_polling(&full, batch) || done {
            return;
        }
        batch = empty.try_recv().unwrap_or_default();
        spare = std::mem::take(&mut batch.data);
        batch.clear();
    }
}

/// Sends `batch`, sleeping while the queue is full; false once the
/// consumer is gone.
fn send_polling(full: &SyncSender<Batch>, mut batch: Batch) -> bool {
    let mut sleep = FULL_QUEUE_SLEEP;
    loop {
        match full.try_send(batch) {
            Ok(()) => return true,
            Err(TrySendError::Full(b)) => {
                batch = b;
                std::thread::sleep(sleep);
                sleep = (sleep * 2).min(FULL_QUEUE_SLEEP_MAX);
            }
            Err(TrySendError::Disconnected(_)) => return false,
        }
    }
}

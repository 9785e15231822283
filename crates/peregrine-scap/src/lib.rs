//! Read and write Falco/sysdig capture files (`.scap`).
//!
//! # The format, briefly
//!
//! A capture file is a sequence of blocks in the style of pcapng, usually
//! gzip-compressed as a whole. Every block is framed the same way, all
//! integers little-endian:
//!
//! ```text
//! u32 block_type | u32 block_total_length | body | padding to 4 | u32 block_total_length
//! ```
//!
//! The total length counts the whole block, framing included, and is
//! repeated at the end so that a reader can check it. The file starts with
//! a *section header* (type `0x0A0D0D0A`) holding a byte-order magic
//! (`0x1A2B3C4D`), a major/minor format version, a section length (always
//! `-1`) and optional pcapng options (comments). Then come *metadata*
//! blocks describing the machine at capture start (machine info, network
//! interfaces, users and groups, the process table, and one fd table per
//! process), then *event* blocks, one event each: the CPU number, for some
//! types a `u32` of flags, then the event itself in the kernel driver's
//! layout (a 26-byte header `ts, tid, len, type, nparams`, the parameter
//! lengths, the parameter bytes).
//!
//! Most block kinds exist in several versions (see [`block_type`]):
//! older ones have fewer fields; newer ones prefix every entry with its own
//! length so that fields can be appended without a new block type. The
//! oldest event blocks lack `nparams` in the event header; the
//! [`Reader`] converts those events to the current layout, so every
//! [`EventBlock::data`] can be given to `peregrine_event::EventView`.
//!
//! # Reading and writing
//!
//! [`Reader`] yields one [`Block`] at a time; event blocks borrow the
//! reader's buffer (no allocation per event), metadata blocks are decoded
//! into the owned [`records`]. [`Reader::raw_block`] returns the last
//! block's bytes so that [`Writer::write_raw_block`] can copy it verbatim.
//! [`ThreadedReader`] does the same reading on a second thread, ahead of
//! the consumer, for throughput.
//! [`Writer`] writes block versions that Debian's sysdig 0.29.3 (libs
//! from 2022) and current libscap both read.

pub mod block_type;
mod decode;
pub mod error;
pub mod pipeline;
pub mod reader;
pub mod records;
pub mod writer;
pub use pipeline::{Next, ThreadedReader};
pub use writer::{ProcListLayout, Writer, WriterOptions};

pub use error::{ErrorKind, ScapError};
pub use reader::{Block, BlockOption, EventBlock, MAX_BLOCK_LEN, Reader, SectionHeader};
pub use records::{
    FdAddress, FdKind, FdRecord, GroupRecord, InterfaceRecord, MachineInfo, ThreadRecord,
    UserRecord,
};

//! The error type: where in the file, in which block, and what was wrong.

use crate::block_type;
use std::fmt;

/// What went wrong, without the position (see [`ScapError`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The underlying reader or writer failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The data ends before a structure does.
    #[error("truncated{}: expected {expected} bytes, found {found}", in_what(.what))]
    Truncated {
        /// The structure being read (empty for the whole block).
        what: &'static str,
        /// Bytes needed.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The first block is not a section header.
    #[error(
        "not a scap capture: expected section header block type 0x0a0d0d0a, found 0x{found:08x}"
    )]
    NotScap {
        /// The block type found.
        found: u32,
    },
    /// The capture was written on a big-endian machine.
    #[error("big-endian capture files are not supported (byte-order magic 0x4d3c2b1a)")]
    BigEndian,
    /// The section header's byte-order magic is wrong.
    #[error("bad byte-order magic: expected 0x1a2b3c4d, found 0x{found:08x}")]
    BadMagic {
        /// The magic found.
        found: u32,
    },
    /// The section's major version is newer than this reader.
    #[error("unsupported format version {major}.{minor}: expected major version 1")]
    UnsupportedVersion {
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// A block's total length is out of range.
    #[error("bad block length: expected {min} to {max} bytes, found {found}")]
    BadBlockLength {
        /// Smallest length accepted.
        min: u32,
        /// Largest length accepted.
        max: u32,
        /// The length found.
        found: u32,
    },
    /// The length in the trailer differs from the one in the header.
    #[error("block trailer: expected length {header}, found {trailer}")]
    TrailerMismatch {
        /// Length from the block header.
        header: u32,
        /// Length from the block trailer.
        trailer: u32,
    },
    /// Some content is inconsistent.
    #[error("{what}: expected {expected}, found {found}")]
    Invalid {
        /// The structure or field.
        what: &'static str,
        /// What a valid file has there.
        expected: String,
        /// What this file has.
        found: String,
    },
    /// The writer was given something it cannot encode.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

fn in_what(what: &str) -> String {
    if what.is_empty() {
        String::new()
    } else {
        format!(" {what}")
    }
}

/// An error reading or writing a capture file: the byte offset of the
/// block (or of the field) where it happened, the block type when known,
/// and what was expected versus found.
///
/// Displays as e.g.
/// `offset 20480: event block (0x208): truncated: expected 52 bytes, found 10`.
#[derive(Debug)]
pub struct ScapError {
    /// Byte offset in the (decompressed) stream.
    pub offset: u64,
    /// Type code of the block involved, when known.
    pub block_type: Option<u32>,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl ScapError {
    /// Builds an error.
    pub fn new(offset: u64, block_type: Option<u32>, kind: ErrorKind) -> Self {
        ScapError {
            offset,
            block_type,
            kind,
        }
    }
}

impl fmt::Display for ScapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "offset {}: ", self.offset)?;
        if let Some(t) = self.block_type {
            write!(f, "{} (0x{t:x}): ", block_type::name(t))?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for ScapError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

//! Truncated and corrupted input: the blocks before the damage, then
//! exactly one error, never a panic.

mod common;

use common::*;
use peregrine_scap::*;
use std::io::Cursor;

/// Block boundaries (start offsets, then the end) of a decompressed trace.
fn boundaries(data: &[u8]) -> Vec<usize> {
    let mut v = vec![0];
    let mut off = 0;
    while off < data.len() {
        off += u32::from_le_bytes(data[off + 4..off + 8].try_into().unwrap()) as usize;
        v.push(off);
    }
    assert_eq!(off, data.len());
    v
}

/// Reads `data`; checks that the first `upto` blocks returned are those
/// of `full` (the blocks of the intact file, section header excluded).
/// Returns how many blocks came out, and the error that ended the reading
/// (`read_all` checks that nothing follows it).
fn check_prefix(data: &[u8], full: &[Vec<u8>], upto: usize) -> (usize, Option<ScapError>) {
    match Reader::new(Cursor::new(data)) {
        Err(e) => (0, Some(e)),
        Ok(r) => {
            let (_, raws, err) = read_all(r);
            for (i, raw) in raws.iter().enumerate().take(upto) {
                assert!(raw == &full[i], "block {i} differs");
            }
            (raws.len(), err)
        }
    }
}

fn sample_traces() -> Vec<Vec<u8>> {
    let s = shared();
    vec![
        decompressed(&s.join("traces/sample.scap")), // v2 blocks
        decompressed(&s.join("falco-regression/trace_files/syscall.scap")), // v1 blocks
    ]
}

#[test]
fn truncation_at_many_offsets() {
    for data in sample_traces() {
        let bounds = boundaries(&data);
        let (_, full, err) = read_all(Reader::new(Cursor::new(&data[..])).unwrap());
        assert!(err.is_none());
        // `full` lacks the section header (block 0).
        let mut cuts: Vec<usize> = (0..data.len()).step_by(331).collect();
        for &b in bounds.iter().take(12).chain(bounds.iter().step_by(23)) {
            cuts.extend([b.saturating_sub(1), b, b + 1, b + 4, b + 7, b + 8, b + 9]);
        }
        for cut in cuts.into_iter().filter(|&c| c < data.len()) {
            let (n, err) = check_prefix(&data[..cut], &full, usize::MAX);
            // Blocks entirely before the cut, header excluded.
            let complete = bounds
                .iter()
                .filter(|&&b| b <= cut)
                .count()
                .saturating_sub(2);
            if cut < bounds[1] {
                assert!(err.is_some(), "cut {cut} inside the section header");
                continue;
            }
            assert_eq!(n, complete, "cut at {cut}");
            if bounds.contains(&cut) {
                assert!(err.is_none(), "cut at block boundary {cut}: {err:?}");
            } else {
                let e = err.unwrap_or_else(|| panic!("cut at {cut}: no error"));
                assert!(
                    matches!(e.kind, ErrorKind::Truncated { .. }),
                    "cut at {cut}: {e}"
                );
                let start = bounds[complete + 1] as u64;
                assert!(
                    e.offset >= start && e.offset <= cut as u64,
                    "cut at {cut}: {e}"
                );
            }
        }
    }
}

#[test]
fn truncated_gzip_stream() {
    let raw = std::fs::read(shared().join("traces/curl_google.scap")).unwrap();
    let data = decompressed(&shared().join("traces/curl_google.scap"));
    let (_, full, _) = read_all(Reader::new(Cursor::new(&data[..])).unwrap());
    for cut in (40..raw.len()).step_by(raw.len() / 23) {
        let (n, err) = check_prefix(&raw[..cut], &full, usize::MAX);
        let e = err.unwrap_or_else(|| panic!("cut at {cut}: no error"));
        assert!(n < full.len());
        assert!(e.to_string().starts_with("offset "), "{e}");
    }
}

#[test]
fn message_format() {
    let data = decompressed(&shared().join("traces/sample.scap"));
    let bounds = boundaries(&data);
    // Cut the last block short by 10 bytes.
    let last = bounds[bounds.len() - 2];
    let len = data.len() - last;
    let r = Reader::new(Cursor::new(&data[..data.len() - 10])).unwrap();
    let (_, _, err) = read_all(r);
    assert_eq!(
        err.unwrap().to_string(),
        format!(
            "offset {last}: event block v2 (0x216): truncated: expected {len} bytes, found {}",
            len - 10
        )
    );
}

/// Overwrites the total length in the header of block `i` with `v`.
fn with_len(data: &[u8], bounds: &[usize], i: usize, v: u32) -> Vec<u8> {
    let mut d = data.to_vec();
    d[bounds[i] + 4..bounds[i] + 8].copy_from_slice(&v.to_le_bytes());
    d
}

#[test]
fn corrupted_block_lengths() {
    for data in sample_traces() {
        let bounds = boundaries(&data);
        let (_, full, _) = read_all(Reader::new(Cursor::new(&data[..])).unwrap());
        let nblocks = bounds.len() - 1;
        let picks: Vec<usize> = (1..nblocks)
            .filter(|i| *i < 12 || i % 37 == 0 || *i == nblocks - 1)
            .collect();
        for i in picks {
            let len = (bounds[i + 1] - bounds[i]) as u32;
            for v in [
                0,
                4,
                11,
                12,
                16,
                len - 4,
                len + 4,
                len + 1,
                len * 2,
                300 << 20,
                u32::MAX,
            ] {
                if v == len {
                    continue;
                }
                let d = with_len(&data, &bounds, i, v);
                let (n, err) = check_prefix(&d, &full, usize::MAX);
                assert_eq!(n, i - 1, "block {i} length {v}: blocks before it");
                let e = err.unwrap_or_else(|| panic!("block {i} length {v}: no error"));
                assert!(e.offset >= bounds[i] as u64, "block {i} length {v}: {e}");
            }
            // Trailer damage.
            let mut d = data.clone();
            d[bounds[i + 1] - 1] ^= 0x40;
            let (n, err) = check_prefix(&d, &full, usize::MAX);
            assert_eq!(n, i - 1);
            assert!(matches!(
                err.unwrap().kind,
                ErrorKind::TrailerMismatch { .. }
            ));
        }
    }
}

/// Flipping bytes inside blocks (entry lengths, string lengths, event
/// lengths...) may or may not be detected, but never panics, and the
/// blocks before the damaged one still come out identical.
#[test]
fn corrupted_contents_never_panic() {
    for data in sample_traces() {
        let bounds = boundaries(&data);
        let (_, full, _) = read_all(Reader::new(Cursor::new(&data[..])).unwrap());
        let mut seed = 0x2545F4914F6CDD1Du64;
        for round in 0..800 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // Bias toward the metadata blocks, which have the most structure.
            let limit = if round % 2 == 0 {
                bounds[bounds.len().min(12) - 1]
            } else {
                data.len()
            };
            let pos = 28 + (seed as usize % (limit - 28));
            let block = bounds.iter().rposition(|&b| b <= pos).unwrap();
            // Keep a few blocks after the damaged one: enough to see the
            // reader resynchronise or stop.
            let mut d = data[..bounds[(block + 4).min(bounds.len() - 1)]].to_vec();
            d[pos] = (seed >> 32) as u8;
            let (n, _) = check_prefix(&d, &full, block - 1);
            assert!(
                n >= block - 1,
                "flip at {pos}: only {n} blocks before block {block}"
            );
        }
    }
}

#[test]
fn not_a_capture() {
    for (bytes, want) in [
        (&b""[..], "truncated"),
        (&b"\x0a\x0d"[..], "truncated"),
        (
            &b"hello world, this is not a capture"[..],
            "not a scap capture",
        ),
        (&b"\x1f\x8b\x08\x00garbage"[..], "I/O error"),
    ] {
        let e = Reader::new(Cursor::new(bytes))
            .err()
            .unwrap_or_else(|| panic!("{bytes:?} accepted"));
        assert!(e.to_string().contains(want), "{e}");
    }
}

#[test]
fn big_endian_is_rejected() {
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x0A0D0D0Au32.to_be_bytes());
    shb.extend_from_slice(&28u32.to_be_bytes());
    shb.extend_from_slice(&0x1A2B3C4Du32.to_be_bytes());
    shb.extend_from_slice(&[0, 1, 0, 2]);
    shb.extend_from_slice(&[0xff; 8]);
    shb.extend_from_slice(&28u32.to_be_bytes());
    let e = Reader::new(Cursor::new(shb)).err().unwrap();
    assert!(matches!(e.kind, ErrorKind::BigEndian), "{e}");
    assert_eq!(
        e.to_string(),
        "offset 8: section header block (0xa0d0d0a): big-endian capture files are not supported (byte-order magic 0x4d3c2b1a)"
    );
}

#[test]
fn newer_major_version_is_rejected() {
    let mut w = Writer::new(Vec::new()).unwrap().finish().unwrap();
    w[12] = 2;
    let e = Reader::new(Cursor::new(w)).err().unwrap();
    assert!(
        matches!(e.kind, ErrorKind::UnsupportedVersion { major: 2, .. }),
        "{e}"
    );
}

#[test]
fn unknown_blocks_are_reported_and_skipped() {
    let mut w = Writer::new(Vec::new()).unwrap();
    let mut blk = Vec::new();
    blk.extend_from_slice(&0x7777u32.to_le_bytes());
    blk.extend_from_slice(&16u32.to_le_bytes());
    blk.extend_from_slice(b"abcd");
    blk.extend_from_slice(&16u32.to_le_bytes());
    w.write_raw_block(&blk).unwrap();
    w.write_machine_info(&MachineInfo {
        num_cpus: 2,
        hostname: "h".into(),
        ..Default::default()
    })
    .unwrap();
    let bytes = w.finish().unwrap();
    let mut r = Reader::new(&bytes[..]).unwrap();
    assert_eq!(
        r.next_block().unwrap(),
        Some(Block::Unknown {
            block_type: 0x7777,
            offset: 28,
            len: 16
        })
    );
    assert_eq!(r.raw_block(), &blk[..]);
    assert!(matches!(r.next_block().unwrap(), Some(Block::MachineInfo(m)) if m.num_cpus == 2));
    assert_eq!(r.next_block().unwrap(), None);
    // A bad raw block is refused by the writer.
    let mut w = Writer::new(Vec::new()).unwrap();
    assert!(w.write_raw_block(&blk[..12]).is_err());
}

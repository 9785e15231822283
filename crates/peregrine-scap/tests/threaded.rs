//! The threaded reader returns exactly what the plain reader returns:
//! the same blocks, raw bytes, offsets and error, on intact, truncated,
//! corrupted and gzip-compressed input.

mod common;

use common::*;
use peregrine_scap::*;
use std::io::Cursor;

/// Everything a reader returns: (block, raw bytes, offset) per block,
/// then the error text, if any.
type Outcome = (Vec<(Owned, Vec<u8>, u64)>, Option<String>);

fn owned(b: Block<'_>) -> Owned {
    match b {
        Block::Event(e) => {
            // The view the reader hands out agrees with a full check.
            if let Ok(v) = e.view() {
                let full = peregrine_event::EventView::parse(e.data).unwrap();
                assert_eq!(v.bytes(), full.bytes());
                assert_eq!(v.nparams(), full.nparams());
            }
            Owned::Event {
                cpu: e.cpu,
                flags: e.flags,
                data: e.data.to_vec(),
            }
        }
        other => Owned::Meta(format!("{other:?}")),
    }
}

fn plain(data: &[u8]) -> Option<Outcome> {
    let mut r = Reader::new(Cursor::new(data.to_vec())).ok()?;
    let mut v = Vec::new();
    loop {
        match r.next_block() {
            Ok(Some(b)) => {
                let b = owned(b);
                v.push((b, r.raw_block().to_vec(), r.block_offset()));
            }
            Ok(None) => return Some((v, None)),
            Err(e) => return Some((v, Some(e.to_string()))),
        }
    }
}

fn threaded(data: &[u8]) -> Option<Outcome> {
    let mut r = ThreadedReader::new(Reader::new(Cursor::new(data.to_vec())).ok()?).unwrap();
    let mut v = Vec::new();
    loop {
        match r.next_block() {
            Ok(Some(b)) => {
                let b = owned(b);
                v.push((b, r.raw_block().to_vec(), r.block_offset()));
            }
            Ok(None) => break Some((v, None)),
            Err(e) => {
                for _ in 0..3 {
                    assert!(matches!(r.next_block(), Ok(None)));
                }
                break Some((v, Some(e.to_string())));
            }
        }
    }
}

fn same(data: &[u8], what: &str) {
    let a = plain(data);
    let b = threaded(data);
    match (&a, &b) {
        (Some((ba, ea)), Some((bb, eb))) => {
            assert_eq!(ba.len(), bb.len(), "{what}: block count");
            for (i, (x, y)) in ba.iter().zip(bb).enumerate() {
                assert!(x == y, "{what}: block {i} differs");
            }
            assert_eq!(ea, eb, "{what}: error");
        }
        (None, None) => {}
        _ => panic!("{what}: one reader failed to open"),
    }
}

#[test]
fn every_trace_reads_the_same() {
    for (path, _) in traces() {
        let raw = std::fs::read(&path).unwrap();
        same(&raw, &path.display().to_string());
        let data = decompressed(&path);
        same(&data, &path.display().to_string());
    }
}

#[test]
fn truncated_and_corrupted_read_the_same() {
    for name in [
        "traces/sample.scap",
        "falco-regression/trace_files/syscall.scap",
    ] {
        let data = decompressed(&shared().join(name));
        for cut in (0..data.len()).step_by(997) {
            same(&data[..cut], &format!("{name} cut at {cut}"));
        }
        for at in (0..data.len()).step_by(1499) {
            let mut d = data.clone();
            d[at] ^= 0xa5;
            same(&d, &format!("{name} byte {at} flipped"));
        }
    }
    let gz = std::fs::read(shared().join("traces/curl_google.scap")).unwrap();
    for cut in (40..gz.len()).step_by(gz.len() / 17) {
        same(&gz[..cut], &format!("gzip cut at {cut}"));
    }
}

#[test]
fn large_capture_in_many_batches() {
    // Enough blocks for many batches, with metadata blocks in between.
    let data = decompressed(&shared().join("traces/sample.scap"));
    let mut big = data.clone();
    let first = u32::from_le_bytes(data[4..8].try_into().unwrap()) as usize;
    for _ in 0..40 {
        big.extend_from_slice(&data[first..]);
    }
    same(&big, "sample x41");
}

#[test]
fn dropping_early_stops_the_thread() {
    let data = decompressed(&shared().join("traces/sample.scap"));
    let mut big = data.clone();
    let first = u32::from_le_bytes(data[4..8].try_into().unwrap()) as usize;
    for _ in 0..40 {
        big.extend_from_slice(&data[first..]);
    }
    let mut r = ThreadedReader::new(Reader::new(Cursor::new(big)).unwrap()).unwrap();
    assert!(r.next_block().unwrap().is_some());
    drop(r);
}

//! Decoding benchmarks: event views, and the readers over an in-memory
//! capture (the shared `curl_google` trace, decompressed, repeated).
//!
//!     cargo bench -p peregrine-scap --bench decode

// criterion_group! makes an undocumented public function
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use peregrine_event::EventView;
use peregrine_scap::{Block, Reader, ThreadedReader};
use std::hint::black_box;
use std::io::{Cursor, Read};
use std::path::PathBuf;

fn shared() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"))
}

/// The decompressed trace, its event blocks repeated `times` times.
fn capture(times: usize) -> Vec<u8> {
    let raw = std::fs::read(shared().join("traces/curl_google.scap")).expect("shared trace");
    let mut data = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut data)
        .expect("gzip");
    // Everything after the metadata blocks is events: repeat those.
    let mut first_event = 0;
    let mut off = 0;
    while off < data.len() {
        let t = u32::from_le_bytes(data[off..off + 4].try_into().unwrap());
        if peregrine_scap::block_type::is_event(t) {
            first_event = off;
            break;
        }
        off += u32::from_le_bytes(data[off + 4..off + 8].try_into().unwrap()) as usize;
    }
    let events = data[first_event..].to_vec();
    for _ in 1..times {
        data.extend_from_slice(&events);
    }
    data
}

fn events(data: &[u8]) -> Vec<Vec<u8>> {
    let mut r = Reader::new(Cursor::new(data)).unwrap();
    let mut out = Vec::new();
    while let Some(b) = r.next_block().unwrap() {
        if let Block::Event(e) = b {
            out.push(e.data.to_vec());
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let data = capture(10);
    let evs = events(&data);
    let mut g = c.benchmark_group("event_view");
    g.throughput(Throughput::Elements(evs.len() as u64));
    g.bench_function("parse", |b| {
        b.iter(|| {
            for e in &evs {
                black_box(EventView::parse(black_box(e)).ok());
            }
        })
    });
    g.bench_function("parse_prechecked", |b| {
        b.iter(|| {
            for e in &evs {
                black_box(EventView::parse_prechecked(black_box(e)).ok());
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("reader_in_memory");
    g.throughput(Throughput::Elements(evs.len() as u64));
    g.bench_function("reader", |b| {
        b.iter(|| {
            let mut r = Reader::new(Cursor::new(&data[..])).unwrap();
            let mut n = 0u64;
            while let Some(b) = r.next_block().unwrap() {
                if let Block::Event(e) = b {
                    n += e.view().map_or(0, |v| v.tid());
                }
            }
            black_box(n)
        })
    });
    g.bench_function("threaded_reader", |b| {
        b.iter(|| {
            let r = Reader::new(Cursor::new(data.clone())).unwrap();
            let mut r = ThreadedReader::new(r).unwrap();
            let mut n = 0u64;
            while let Some(b) = r.next_block().unwrap() {
                if let Block::Event(e) = b {
                    n += e.view().map_or(0, |v| v.tid());
                }
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

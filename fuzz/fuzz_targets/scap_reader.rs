//! Feeds arbitrary bytes to the capture-file reader and walks every block.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peregrine_scap::{Block, Reader};
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = Reader::new(Cursor::new(data)) else {
        return;
    };
    let _ = r.section_header();
    let mut n = 0usize;
    loop {
        match r.next_block() {
            Ok(Some(Block::Event(e))) => {
                // Events handed out are always well-framed current-layout events.
                assert!(e.data.len() >= 26);
                let len = u32::from_le_bytes(e.data[16..20].try_into().unwrap()) as usize;
                assert_eq!(len, e.data.len());
                if let Ok(v) = peregrine_event::EventView::parse(e.data) {
                    for p in v.params() {
                        std::hint::black_box(p);
                    }
                }
            }
            Ok(Some(b)) => {
                std::hint::black_box(&b);
            }
            Ok(None) => break,
            Err(e) => {
                let _ = e.to_string();
                // After an error the reader stops.
                assert!(matches!(r.next_block(), Ok(None)));
                break;
            }
        }
        let raw = r.raw_block();
        assert!(raw.len() >= 12);
        assert!(r.offset() <= data.len() as u64 || r.is_gzip());
        n += 1;
    }
    std::hint::black_box(n);
});

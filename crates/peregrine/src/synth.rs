//! `peregrine synth`: a large capture for benchmarks, made of the events
//! of real captures repeated with fresh, increasing timestamps.

use crate::cli::SynthArgs;
use peregrine_event::EventView;
use peregrine_scap::{Block, Reader, Writer};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

/// One event kept in memory: CPU, flags and bytes.
struct Sample {
    cpu: u16,
    flags: Option<u32>,
    bytes: Vec<u8>,
}

/// Runs the command; returns the process exit code.
pub fn run(args: &SynthArgs) -> ExitCode {
    match synth(args) {
        Ok(n) => {
            eprintln!("peregrine: wrote {n} events to {}", args.output.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("peregrine: {e}");
            ExitCode::FAILURE
        }
    }
}

fn synth(args: &SynthArgs) -> Result<u64, String> {
    let out = File::create(&args.output).map_err(|e| format!("{}: {e}", args.output.display()))?;
    let mut writer = Writer::new(BufWriter::new(out)).map_err(|e| e.to_string())?;
    let mut samples = Vec::new();
    for (i, trace) in args.traces.iter().enumerate() {
        let path = trace.display();
        let mut reader = Reader::open(trace).map_err(|e| format!("{path}: {e}"))?;
        loop {
            let block = match reader.next_block() {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(e) => return Err(format!("{path}: {e}")),
            };
            let is_meta = match block {
                Block::Event(eb) => {
                    if EventView::parse(eb.data).is_ok() {
                        samples.push(Sample {
                            cpu: eb.cpu,
                            flags: eb.flags,
                            bytes: eb.data.to_vec(),
                        });
                    }
                    false
                }
                Block::SectionHeader(_) | Block::Unknown { .. } => false,
                _ => true,
            };
            if is_meta && i == 0 {
                writer
                    .write_raw_block(reader.raw_block())
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    if samples.is_empty() {
        return Err("the input captures hold no event".into());
    }
    let start = u64::from_le_bytes(samples[0].bytes[..8].try_into().unwrap_or_default());
    let mut written = 0u64;
    let mut ts = start;
    while written < args.events {
        for s in &mut samples {
            ts += 1_000;
            s.bytes[..8].copy_from_slice(&ts.to_le_bytes());
            writer
                .write_event(s.cpu, s.flags, &s.bytes)
                .map_err(|e| e.to_string())?;
            written += 1;
        }
    }
    let mut out = writer.finish().map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    Ok(written)
}

//! State engine benchmark: every event of real traces through
//! `State::process` (and `State::context`, as the dump does), on a state
//! seeded from the trace's own metadata blocks.
//!
//!     cargo bench -p peregrine-state --bench process

// criterion_group! makes an undocumented public function
#![allow(missing_docs)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use peregrine_event::EventView;
use peregrine_scap::{Block, Reader};
use peregrine_state::State;
use std::hint::black_box;
use std::path::PathBuf;

fn shared() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"))
}

/// A trace's metadata blocks and event bytes.
fn load(rel: &str) -> (Vec<Block<'static>>, Vec<Vec<u8>>) {
    let mut r = Reader::open(shared().join(rel)).expect("shared trace");
    let (mut meta, mut events) = (Vec::new(), Vec::new());
    while let Some(b) = r.next_block().unwrap() {
        match b {
            Block::Event(e) => events.push(e.data.to_vec()),
            Block::MachineInfo(m) => meta.push(Block::MachineInfo(m)),
            Block::ProcessList(l) => meta.push(Block::ProcessList(l)),
            Block::FdList { pid, fds } => meta.push(Block::FdList { pid, fds }),
            Block::InterfaceList(l) => meta.push(Block::InterfaceList(l)),
            Block::UserList { users, groups } => meta.push(Block::UserList { users, groups }),
            _ => {}
        }
    }
    (meta, events)
}

fn seeded(meta: &[Block<'static>]) -> State {
    let mut st = State::new();
    for b in meta.iter().cloned() {
        match b {
            Block::MachineInfo(m) => st.set_machine_info(m),
            Block::ProcessList(l) => l.into_iter().for_each(|t| st.load_thread(t)),
            Block::FdList { pid, fds } => fds.into_iter().for_each(|f| st.load_fd(pid as i64, f)),
            Block::InterfaceList(l) => st.load_interfaces(l),
            Block::UserList { users, groups } => {
                users.into_iter().for_each(|u| st.load_user(u));
                groups.into_iter().for_each(|g| st.load_group(g));
            }
            _ => {}
        }
    }
    st
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("state_process");
    for rel in [
        "traces/curl_google.scap",
        "falco-regression/trace_files/cat_write.scap",
        "traces/test_ipv6_client.scap",
    ] {
        let (meta, events) = load(rel);
        let name = rel.rsplit('/').next().unwrap();
        g.throughput(Throughput::Elements(events.len() as u64));
        g.bench_function(name, |b| {
            b.iter_batched(
                || seeded(&meta),
                |mut st| {
                    for e in &events {
                        let Ok(ev) = EventView::parse(e) else {
                            continue;
                        };
                        st.process(&ev);
                        black_box(st.context().thread.is_some());
                    }
                    st
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

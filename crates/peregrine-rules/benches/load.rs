//! Load time of the three upstream Falco rules files, loaded in order into
//! one loader as `falco -r a -r b -r c` does (each load merges and compiles
//! everything read so far).
// `criterion_group!` defines an undocumented function.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use peregrine_rules::{Config, Loader};
use std::hint::black_box;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/falco-rules/upstream"
);
const FILES: [&str; 3] = [
    "falco_rules.yaml",
    "falco-incubating_rules.yaml",
    "falco-sandbox_rules.yaml",
];

fn upstream(c: &mut Criterion) {
    let contents: Vec<(String, String)> = FILES
        .iter()
        .filter_map(|f| {
            let path = format!("{DIR}/{f}");
            std::fs::read_to_string(&path).ok().map(|t| (path, t))
        })
        .collect();
    if contents.len() != FILES.len() {
        eprintln!("upstream rules not found under {DIR}; skipping");
        return;
    }
    c.bench_function("load_upstream_3_files", |b| {
        b.iter(|| {
            let mut loader = Loader::new(Config::new());
            for (name, text) in &contents {
                let r = loader.load(name, text);
                assert!(r.successful);
            }
            black_box(loader.rules().len())
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = upstream
}
criterion_main!(benches);

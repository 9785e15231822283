//! Per-event evaluation with the three upstream rules files loaded: a
//! capture replayed through the state engine alone, and through the state
//! engine and the rules engine; the difference is the rules' cost.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use peregrine_engine::{Engine, EngineOptions, Replay, ReplayEnd, ReplayEvent, ReplayHandler};
use peregrine_event::RenderOptions;
use std::convert::Infallible;
use std::hint::black_box;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn engine() -> Engine {
    let up = shared().join("falco-rules/upstream");
    let mut loader = peregrine_rules::Loader::new(peregrine_rules::Config::new());
    for f in [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ] {
        let r = loader.load_file(&up.join(f).to_string_lossy());
        assert!(r.successful, "{f} does not load");
    }
    let (engine, errors) = Engine::new(loader.rules(), &EngineOptions::default());
    assert!(errors.is_empty(), "{errors:?}");
    engine
}

/// Runs the rules (or not) on every shown event.
struct Run<'e> {
    engine: Option<&'e mut Engine>,
    events: u64,
    matched: u64,
}

impl ReplayHandler for Run<'_> {
    type Error = Infallible;

    fn event(&mut self, event: &ReplayEvent<'_>) -> Result<ControlFlow<()>, Infallible> {
        if event.hidden {
            return Ok(ControlFlow::Continue(()));
        }
        self.events += 1;
        if let Some(e) = self.engine.as_deref_mut() {
            let cx = event.ctx();
            if e.process(&cx).is_some() {
                self.matched += 1;
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

fn replay(path: &Path, engine: Option<&mut Engine>) -> (u64, u64) {
    let mut replay = Replay::open(path, RenderOptions::FALCO, "host".into()).expect("capture");
    let mut run = Run {
        engine,
        events: 0,
        matched: 0,
    };
    assert!(matches!(replay.run(&mut run), ReplayEnd::Done));
    (run.events, run.matched)
}

fn bench(c: &mut Criterion) {
    let mut engine = engine();
    let traces = shared().join("traces");
    let regression = shared().join("falco-regression/trace_files");
    let captures = [
        ("curl_google", traces.join("curl_google.scap")),
        ("cat_write", regression.join("cat_write.scap")),
        ("test_ipv6_client", traces.join("test_ipv6_client.scap")),
    ];
    let mut g = c.benchmark_group("upstream_rules");
    g.sample_size(20);
    for (name, path) in &captures {
        let (events, _) = replay(path, None);
        g.throughput(Throughput::Elements(events));
        g.bench_function(format!("{name}/state_only"), |b| {
            b.iter(|| black_box(replay(path, None)))
        });
        g.bench_function(format!("{name}/state_and_rules"), |b| {
            b.iter(|| black_box(replay(path, Some(&mut engine))))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

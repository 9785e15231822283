//! The engine specializes every rule per event code (folding `evt.type`
//! and the checks the code alone decides) and joins the rules of a code
//! into one program. Both are pure optimizations: on every event of real
//! captures, each specialized rule must agree with the rule evaluated as
//! written, and the engine's first match must be the first rule, in load
//! order, whose condition holds.

use peregrine_engine::replay::{Replay, ReplayEnd, ReplayEvent, ReplayHandler};
use peregrine_engine::{Engine, EngineOptions};
use peregrine_event::RenderOptions;
use peregrine_filter::compile::{FieldCache, FieldInterner, Filter, compile_with};
use peregrine_rules::{Config, Loader};
use std::convert::Infallible;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// Rules whose checks the code alone decides (direction, open flags
/// outside opens, fd fields on events without an fd), mixed with checks
/// that depend on the event, so that they match on the test captures.
const CODE_DECIDED: &str = r#"
- rule: exit of a call without fd, by a known process
  desc: d
  condition: evt.dir = < and fd.name exists and proc.name != ""
  output: o
  priority: WARNING
- rule: no fd name outside fd calls
  desc: d
  condition: not fd.name exists and evt.is_open_read = false and evt.dir = >
  output: o
  priority: WARNING
- rule: io or open
  desc: d
  condition: (evt.is_io = true and evt.dir = <) or evt.is_open_read = true or fd.typechar = f
  output: o
  priority: WARNING
- rule: either end
  desc: d
  condition: fd.sport exists or fd.ip != 127.0.0.1 or fd.net in (10.0.0.0/8)
  output: o
  priority: WARNING
- rule: anything
  desc: d
  condition: evt.num > 10
  output: o
  priority: WARNING
"#;

struct Check {
    engine: Engine,
    /// The engine's rules, each compiled again, evaluated unspecialized.
    reference: Vec<Filter>,
    cache: FieldCache<'static>,
    /// (rule, event) pairs compared, and those where the rule holds.
    pairs: u64,
    holds: u64,
    /// Per rule: events where it holds.
    per_rule: Vec<u64>,
    first_matches: u64,
    disagreements: Vec<String>,
}

impl ReplayHandler for Check {
    type Error = Infallible;

    fn event(&mut self, event: &ReplayEvent<'_>) -> Result<ControlFlow<()>, Infallible> {
        if event.hidden {
            return Ok(ControlFlow::Continue(()));
        }
        let cx = event.ctx();
        let code = event.ev.code();
        let mut cache = std::mem::take(&mut self.cache).recycle();
        let mut first = None;
        for (i, f) in self.reference.iter_mut().enumerate() {
            cache.reset();
            let written = f.matches(&cx, &mut cache);
            cache.reset();
            let plan = f.plan_for(code);
            let specialized = f.matches_plan(plan, &cx, &mut cache);
            self.pairs += 1;
            self.holds += written as u64;
            self.per_rule[i] += written as u64;
            if written != specialized {
                self.disagreements.push(format!(
                    "event {} (code {code}): rule {:?} is {written} as written, {specialized} specialized",
                    event.num,
                    self.engine.rules()[i].name
                ));
            }
            if written && first.is_none() && self.engine.rules()[i].enabled {
                first = Some(i);
            }
        }
        self.cache = cache.recycle();
        let got = self.engine.process(&cx);
        self.first_matches += got.is_some() as u64;
        if got != first {
            let name = |r: Option<usize>| r.map(|i| self.engine.rules()[i].name.clone());
            self.disagreements.push(format!(
                "event {} (code {code}): engine matched {:?}, first rule that holds is {:?}",
                event.num,
                name(got),
                name(first)
            ));
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// Loads `files` (paths or inline YAML as `("name", text)`) and checks
/// every event of every readable test capture.
fn check(files: &[&Path], inline: Option<&str>) -> Outcome {
    let mut loader = Loader::new(Config::new());
    for f in files {
        assert!(f.exists(), "missing test data {}", f.display());
        let r = loader.load_file(f.to_str().expect("utf-8 path"));
        assert!(r.successful, "{}: {:?}", f.display(), r.errors);
    }
    if let Some(text) = inline {
        let r = loader.load("inline.yaml", text);
        assert!(r.successful, "{:?}", r.errors);
    }
    let (engine, errors) = Engine::new(loader.rules(), &EngineOptions::default());
    assert!(
        errors.is_empty(),
        "{:?}",
        errors.iter().map(|e| &e.message).collect::<Vec<_>>()
    );
    let mut interner = FieldInterner::new();
    let reference: Vec<Filter> = loader
        .rules()
        .iter()
        .filter(|r| r.source == "syscall")
        .map(|r| compile_with(&r.condition, &r.condition_text, &mut interner).expect("compiles"))
        .collect();
    assert_eq!(reference.len(), engine.rules().len());
    let n = reference.len();
    let mut c = Check {
        engine,
        reference,
        cache: FieldCache::new(&interner),
        pairs: 0,
        holds: 0,
        per_rule: vec![0; n],
        first_matches: 0,
        disagreements: Vec::new(),
    };
    let traces = [
        "traces/curl_google.scap",
        "traces/sample.scap",
        "traces/single_ipv6_conn.scap",
        "traces/test_ipv6_client.scap",
        "traces/privileged.scap",
        "falco-regression/trace_files/cat_write.scap",
        "falco-regression/trace_files/connect_localhost.scap",
        "falco-regression/trace_files/open-multiple-files.scap",
        "falco-regression/trace_files/ping_sendto.scap",
        "falco-regression/trace_files/syscall.scap",
    ];
    for t in traces {
        let path = shared().join(t);
        let mut replay = Replay::open(&path, RenderOptions::default(), "host".into())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        match replay.run(&mut c) {
            ReplayEnd::Done => {}
            ReplayEnd::Damaged(e) => panic!("{t}: {e}"),
            ReplayEnd::Handler(e) => match e {},
            ReplayEnd::Source(e) => panic!("{t}: {e}"),
        }
    }
    let shown: Vec<&String> = c.disagreements.iter().take(20).collect();
    assert!(
        c.disagreements.is_empty(),
        "{} disagreements, the first ones:\n{shown:#?}",
        c.disagreements.len()
    );
    Outcome {
        pairs: c.pairs,
        holds: c.holds,
        per_rule: c.per_rule,
        first_matches: c.first_matches,
    }
}

/// What [`check`] compared.
struct Outcome {
    pairs: u64,
    holds: u64,
    per_rule: Vec<u64>,
    first_matches: u64,
}

#[test]
fn upstream_rules_agree_with_their_specializations() {
    let up = shared().join("falco-rules/upstream");
    let o = check(
        &[
            &up.join("falco_rules.yaml"),
            &up.join("falco-incubating_rules.yaml"),
            &up.join("falco-sandbox_rules.yaml"),
        ],
        None,
    );
    eprintln!("{} (rule, event) pairs, {} hold", o.pairs, o.holds);
    assert!(o.pairs > 100_000, "{}", o.pairs);
    assert!(o.holds > 0, "no upstream rule holds on any event");
}

#[test]
fn code_decided_checks_agree_with_their_specializations() {
    let o = check(&[], Some(CODE_DECIDED));
    eprintln!(
        "{} (rule, event) pairs, {} hold, {} events matched, per rule {:?}",
        o.pairs, o.holds, o.first_matches, o.per_rule
    );
    // Every rule must hold on some events and fail on others for the
    // comparison to mean something.
    let events = o.pairs / o.per_rule.len() as u64;
    for (i, n) in o.per_rule.iter().enumerate() {
        assert!(
            *n > 0 && *n < events,
            "rule {i} holds on {n} of {events} events"
        );
    }
    assert!(o.first_matches > 1000, "{}", o.first_matches);
}

//! Compiler and evaluator benchmarks: one typical rule on an `open` event,
//! every upstream rule on that event, and compiling all upstream rules.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use peregrine_event::{EventBuilder, EventView};
use peregrine_filter::compile::{FieldCache, FieldInterner, Filter, compile_with};
use peregrine_filter::condition::{Expr, expand_lists, expand_macros, parse};
use peregrine_filter::extract::{Ctx, StreamInfo};
use peregrine_scap::records::ThreadRecord;
use peregrine_state::State;
use std::collections::HashMap;

const TYPICAL: &str = "evt.type in (open, openat, openat2) and evt.is_open_read = true \
    and fd.typechar = 'f' and fd.num >= 0 \
    and fd.name pmatch (/etc/shadow, /etc/sudoers, /etc/pam.conf, /etc/security) \
    and not proc.name in (sshd, sudo, su, login, passwd, shadowconfig, chage, vipw) \
    and not proc.pname startswith runc";

fn upstream() -> Vec<(Expr, String)> {
    let files = [
        "/work/shared/falco-rules/upstream/falco_rules.yaml",
        "/work/shared/falco-rules/upstream/falco-incubating_rules.yaml",
        "/work/shared/falco-rules/upstream/falco-sandbox_rules.yaml",
    ];
    let mut loader = peregrine_rules::Loader::new(peregrine_rules::Config::permissive());
    for f in files {
        loader.load_file(f);
    }
    let col = loader.collector();
    let mut lists: HashMap<String, Vec<String>> = HashMap::new();
    for l in col.lists.iter() {
        let mut items = Vec::new();
        for it in &l.items {
            match lists.get(it) {
                Some(inner) => items.extend(inner.iter().cloned()),
                None => items.push(it.clone()),
            }
        }
        lists.insert(l.name.clone(), items);
    }
    let ll = |n: &str| lists.get(n).map(|v| v.as_slice());
    let macros: HashMap<String, Expr> = col
        .macros
        .iter()
        .filter_map(|m| Some((m.name.clone(), expand_lists(&parse(&m.cond).ok()?, &ll))))
        .collect();
    let ml = |n: &str| macros.get(n);
    loader
        .rules()
        .iter()
        .filter_map(|r| {
            let e = parse(&r.condition_text).ok()?;
            Some((expand_macros(&e, &ml).ok()?, r.condition_text.clone()))
        })
        .collect()
}

fn state() -> (State, Vec<u8>) {
    let mut st = State::new();
    for (tid, ptid, comm) in [
        (1, 0, "systemd"),
        (50, 1, "sshd"),
        (100, 50, "bash"),
        (200, 100, "cat"),
    ] {
        st.load_thread(ThreadRecord {
            tid,
            pid: tid,
            ptid,
            comm: comm.into(),
            exe: comm.into(),
            exepath: format!("/usr/bin/{comm}"),
            cwd: "/root".into(),
            args: vec!["/etc/shadow".into()],
            ..Default::default()
        });
    }
    let ev = EventBuilder::open_exit(10, 200, 3, "/etc/shadow", 1);
    st.process(&EventView::parse(&ev).unwrap());
    (st, ev)
}

fn bench(c: &mut Criterion) {
    let (st, ev) = state();
    let stream = StreamInfo::default();
    let mut fields = FieldInterner::new();
    let typical = compile_with(&parse(TYPICAL).unwrap(), TYPICAL, &mut fields).unwrap();
    let rules = upstream();
    let compiled: Vec<Filter> = rules
        .iter()
        .filter_map(|(e, t)| compile_with(e, t, &mut fields).ok())
        .collect();
    let code = EventView::parse(&ev).unwrap().code();
    let for_open: Vec<&Filter> = compiled
        .iter()
        .filter(|f| f.event_codes().is_none_or(|c| c.contains(&code)))
        .collect();
    eprintln!(
        "{} upstream rules compiled, {} apply to open events",
        compiled.len(),
        for_open.len()
    );
    let mut cache = Some(FieldCache::new(&fields));
    c.bench_function("eval typical rule (open event)", |b| {
        b.iter(|| {
            let cx = Ctx {
                ev: EventView::parse(&ev).unwrap(),
                num: 1,
                cpu: 0,
                st: st.context(),
                stream: &stream,
            };
            let mut cc = cache.take().unwrap().recycle();
            let r = typical.matches(&cx, &mut cc);
            cache = Some(cc.recycle());
            black_box(r)
        })
    });
    c.bench_function("eval upstream rules for open (shared cache)", |b| {
        b.iter(|| {
            let cx = Ctx {
                ev: EventView::parse(&ev).unwrap(),
                num: 1,
                cpu: 0,
                st: st.context(),
                stream: &stream,
            };
            let mut cc = cache.take().unwrap().recycle();
            let n = for_open.iter().filter(|f| f.matches(&cx, &mut cc)).count();
            cache = Some(cc.recycle());
            black_box(n)
        })
    });
    c.bench_function("compile all upstream rules", |b| {
        b.iter(|| {
            let mut fields = FieldInterner::new();
            let n = rules
                .iter()
                .filter(|(e, t)| compile_with(e, t, &mut fields).is_ok())
                .count();
            black_box(n)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

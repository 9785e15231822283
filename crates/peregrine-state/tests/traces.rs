//! Feeds the shared capture files through the state engine and checks,
//! event by event, what it knows against Debian's sysdig (the reference
//! implementation of the same state tracking).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use peregrine_event::EventView;
use peregrine_scap::{Block, Reader};
use peregrine_state::State;

const FIELDS: &[&str] = &[
    "evt.num",
    "evt.type",
    "thread.tid",
    "proc.pid",
    "proc.ppid",
    "proc.name",
    "proc.exe",
    "proc.args",
    "proc.cwd",
    "proc.pname",
    "fd.num",
    "fd.typechar",
    "fd.name",
    "user.uid",
    "user.name",
    "container.id",
    "evt.rawtime",
];

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// sysdig's values of FIELDS for every event, by event number.
fn sysdig(trace: &Path) -> BTreeMap<(u64, String), Vec<String>> {
    let fmt = format!(
        "*{}",
        FIELDS
            .iter()
            .map(|f| format!("%{f}"))
            .collect::<Vec<_>>()
            .join("\t")
    );
    let out = match Command::new("sysdig")
        .env("TZ", "UTC")
        .arg("-r")
        .arg(trace)
        .arg("-p")
        .arg(&fmt)
        .output()
    {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("sysdig not found: apt-get install -y --no-install-recommends sysdig")
        }
        Err(e) => panic!("running sysdig: {e}"),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let cols: Vec<String> = line.split('\t').map(str::to_string).collect();
        if cols.len() != FIELDS.len() {
            continue;
        }
        // keyed by (timestamp, tid): event numbers differ where sysdig
        // counts events our reader does not yield
        if let Ok(ts) = cols[FIELDS.len() - 1].parse::<u64>() {
            m.entry((ts, cols[2].clone())).or_insert(cols);
        }
    }
    m
}

fn na(s: &str) -> String {
    if s.is_empty() {
        "<NA>".to_string()
    } else {
        s.to_string()
    }
}

/// Our values of FIELDS, rendered as sysdig prints them.
fn ours(state: &State, ev: &EventView<'_>, num: u64) -> Vec<String> {
    let _ = num;
    let ctx = state.context();
    let t = ctx.thread;
    let mut v = vec![num.to_string(), ev.name().to_string(), ev.tid().to_string()];
    match t {
        Some(t) => {
            v.push(t.pid.to_string());
            v.push(state.main_thread(t).unwrap_or(t).ptid.to_string());
            v.push(na(&t.info.comm));
            v.push(na(&t.info.exe));
            v.push(t.info.args.join(" "));
            v.push(state.cwd(t).to_string());
            v.push(ctx.parent().map_or("<NA>".into(), |p| na(&p.info.comm)));
        }
        None => v.extend(["<NA>"; 7].iter().map(|s| s.to_string())),
    }
    v.push(ctx.fd_num.map_or("<NA>".into(), |n| n.to_string()));
    v.push(ctx.fd.map_or("<NA>".into(), |f| f.type_char().to_string()));
    v.push(ctx.fd.map_or("<NA>".into(), |f| f.name.clone()));
    v.push(t.map_or("<NA>".into(), |t| t.info.uid.to_string()));
    v.push(ctx.user().map_or("<NA>".into(), |u| u.name.clone()));
    v.push(ctx.container_id().unwrap_or("<NA>").to_string());
    v.push(ev.ts().to_string());
    v
}

/// Fields compared (others are printed for context only).
const COMPARED: &[&str] = &[
    "thread.tid",
    "proc.pid",
    "proc.ppid",
    "proc.name",
    "proc.exe",
    "proc.args",
    "proc.cwd",
    "proc.pname",
    "fd.num",
    "fd.name",
    "user.uid",
    "user.name",
    "container.id",
];

fn check(trace: &Path) -> (usize, Vec<String>) {
    let want = sysdig(trace);
    let mut reader = Reader::open(trace).expect("open trace");
    let mut state = State::new();
    let mut num = 0u64;
    let mut compared = 0;
    let mut unaligned = 0;
    let mut diffs = Vec::new();
    while let Some(block) = reader.next_block().expect("read block") {
        match block {
            Block::ProcessList(list) => list.into_iter().for_each(|r| state.load_thread(r)),
            Block::FdList { pid, fds } => {
                fds.into_iter().for_each(|r| state.load_fd(pid as i64, r))
            }
            Block::UserList { users, groups } => {
                users.into_iter().for_each(|u| state.load_user(u));
                groups.into_iter().for_each(|g| state.load_group(g));
            }
            Block::InterfaceList(l) => state.load_interfaces(l),
            Block::MachineInfo(mi) => state.set_machine_info(mi),
            Block::Event(eb) => {
                num += 1;
                let Ok(ev) = EventView::parse(eb.data) else {
                    continue;
                };
                state.process(&ev);
                let Some(w) = want.get(&(ev.ts(), ev.tid().to_string())) else {
                    unaligned += 1;
                    continue;
                };
                // tid -1 (some scheduler events) is resolved by the reader
                // from the CPU's current thread, not by the state engine
                if ev.tid() == u64::MAX {
                    continue;
                }
                let got = ours(&state, &ev, num);
                compared += 1;
                for f in COMPARED {
                    let i = FIELDS.iter().position(|x| x == f).unwrap();
                    // fd.name only when sysdig has an fd
                    if *f == "fd.name" && w[i] == "<NA>" {
                        continue;
                    }
                    // sysdig 0.29 gives a thread its creator as parent; sinsp
                    // since 0.30 (and Falco) the process's parent, as we do
                    if *f == "proc.pname"
                        && state.context().thread.is_some_and(|t| !t.is_main_thread())
                    {
                        continue;
                    }
                    // sysdig 0.29 shows an fd it never saw as an unnamed
                    // fd on exit events; we show no fd
                    if *f == "fd.name" && w[i].is_empty() && got[i] == "<NA>" {
                        continue;
                    }
                    // newer event tables flag more events (mmap...) as using an fd
                    if *f == "fd.num" && w[i] == "<NA>" {
                        continue;
                    }
                    if w[i] != got[i] && !known(trace, &w[0], f) {
                        diffs.push(format!(
                            "{} #{} {} {}: sysdig {:?} ours {:?}",
                            trace.file_name().unwrap().to_string_lossy(),
                            w[0],
                            w[1],
                            f,
                            w[i],
                            got[i]
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    if unaligned > 0 {
        eprintln!(
            "{}: {unaligned} events sysdig does not print",
            trace.display()
        );
    }
    (compared, diffs)
}

/// Differences understood and accepted, with the reason.
fn known(trace: &Path, num: &str, field: &str) -> bool {
    let name = trace.file_name().unwrap().to_string_lossy();
    match (&*name, num, field) {
        // a failed open has no fd; sysdig's fd.name extractor falls back to
        // the event's path argument (the extractor's job, not state's)
        ("curl_google.scap", "980", "fd.name") => true,
        // sysdig 0.29 loses the name of a unix socket whose connect failed
        // (ENOENT) once it is closed; newer sinsp keeps it, as we do
        ("curl_google.scap", "1058" | "1059" | "1064" | "1065", "fd.name") => true,
        _ => false,
    }
}

fn run(names: &[&str]) {
    let mut all = Vec::new();
    for n in names {
        let p = shared().join(n);
        let (compared, diffs) = check(&p);
        eprintln!(
            "{n}: {compared} events compared, {} differences",
            diffs.len()
        );
        assert!(
            compared > 0 || n.ends_with("empty.scap"),
            "{n}: nothing compared"
        );
        all.extend(diffs);
    }
    for d in all.iter().take(200) {
        eprintln!("{d}");
    }
    assert!(all.is_empty(), "{} differences with sysdig", all.len());
}

#[test]
fn traces_agree_with_sysdig() {
    run(&[
        "traces/single_ipv6_conn.scap",
        "traces/test_ipv6_client.scap",
        "traces/curl_google.scap",
        "traces/sample.scap",
        // privileged.scap: sysdig 0.29 reads only its first (container) event
    ]);
}

#[test]
fn regression_traces_agree_with_sysdig() {
    run(&[
        "falco-regression/trace_files/cat_write.scap",
        "falco-regression/trace_files/connect_localhost.scap",
        "falco-regression/trace_files/open-multiple-files.scap",
        "falco-regression/trace_files/ping_sendto.scap",
        "falco-regression/trace_files/syscall.scap",
    ]);
}

//! Read every trace, write it back (raw block copy, and typed writers),
//! and check that sysdig prints the same thing for the original and the
//! copies.

mod common;

use common::*;
use peregrine_scap::*;
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scap-roundtrip");
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Copies `src` block by block with `write_raw_block`.
fn raw_copy(src: &Path, dst: &Path) {
    let mut r = Reader::open(src).unwrap();
    let mut w = Writer::create(dst).unwrap();
    while r.next_block().unwrap().is_some() {
        w.write_raw_block(r.raw_block()).unwrap();
    }
    w.finish().unwrap();
}

/// Copies `src` through the typed API: metadata decoded and re-encoded,
/// events through `write_event` (version-1 events come out converted).
fn typed_copy(src: &Path, dst: &Path, options: WriterOptions) {
    let mut r = Reader::open(src).unwrap();
    let mut w = Writer::with_options(
        std::io::BufWriter::new(std::fs::File::create(dst).unwrap()),
        options,
    )
    .unwrap();
    loop {
        let unknown = match r.next_block().unwrap() {
            None => break,
            Some(Block::Event(e)) => {
                w.write_event(e.cpu, e.flags, e.data).unwrap();
                false
            }
            Some(Block::MachineInfo(mi)) => {
                w.write_machine_info(&mi).unwrap();
                false
            }
            Some(Block::ProcessList(t)) => {
                w.write_process_list(&t).unwrap();
                false
            }
            Some(Block::FdList { pid, fds }) => {
                w.write_fd_list(pid, &fds).unwrap();
                false
            }
            Some(Block::InterfaceList(i)) => {
                w.write_interface_list(&i).unwrap();
                false
            }
            Some(Block::UserList { users, groups }) => {
                w.write_user_list(&users, &groups).unwrap();
                false
            }
            Some(Block::SectionHeader(_) | Block::Unknown { .. }) => true,
        };
        if unknown {
            w.write_raw_block(r.raw_block()).unwrap();
        }
    }
    w.finish().unwrap();
}

const FORMAT: &str = "*%evt.num %evt.type %evt.args %proc.name %proc.cmdline %fd.name %user.name";

fn same_sysdig_output(orig: &Path, copy: &Path) {
    for args in [&[][..], &["-p", FORMAT][..], &["-D", "-p", FORMAT][..]] {
        let a = run_sysdig(orig, args);
        let b = run_sysdig(copy, args);
        assert!(
            !a.is_empty() || orig.ends_with("empty.scap"),
            "no output for {}",
            orig.display()
        );
        if a != b {
            let line = a.lines().zip(b.lines()).position(|(x, y)| x != y);
            panic!(
                "sysdig {args:?} differs between {} and {} (first differing line {:?}):\n{:?}\n{:?}",
                orig.display(),
                copy.display(),
                line,
                line.and_then(|l| a.lines().nth(l)),
                line.and_then(|l| b.lines().nth(l)),
            );
        }
    }
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

#[test]
fn raw_copy_gives_same_sysdig_output() {
    for (path, readable) in traces() {
        if !readable {
            continue;
        }
        let copy = tmp(&format!("{}-raw.scap", stem(&path)));
        raw_copy(&path, &copy);
        same_sysdig_output(&path, &copy);
    }
}

#[test]
fn typed_copy_gives_same_sysdig_output() {
    for (path, readable) in traces() {
        if !readable {
            continue;
        }
        let copy = tmp(&format!("{}-typed.scap", stem(&path)));
        typed_copy(&path, &copy, WriterOptions::default());
        same_sysdig_output(&path, &copy);
    }
}

/// sysdig cannot read `curl_google_comments.scap` (its section header has
/// pcapng options); it holds the blocks of `curl_google.scap`. Our copy
/// (a plain section header) is readable, and prints like the original.
#[test]
fn comments_trace_copy_reads_like_its_twin() {
    let s = shared().join("traces");
    let copy = tmp("curl_google_comments-raw.scap");
    raw_copy(&s.join("curl_google_comments.scap"), &copy);
    same_sysdig_output(&s.join("curl_google.scap"), &copy);
}

/// Our own reader gives back exactly what the typed writer was given,
/// with the full process-list layout; with the compatible layout, only
/// the fields it leaves out differ.
#[test]
fn typed_copy_reads_back_identically() {
    for (path, _) in traces() {
        let (orig, _, err) = read_all(Reader::open(&path).unwrap());
        assert!(err.is_none());
        let copy = tmp(&format!("{}-full.scap", stem(&path)));
        typed_copy(
            &path,
            &copy,
            WriterOptions {
                proc_list_layout: ProcListLayout::Full,
            },
        );
        let (back, _, err) = read_all(Reader::open(&copy).unwrap());
        assert!(err.is_none());
        assert_eq!(orig.len(), back.len());
        for (i, (a, b)) in orig.iter().zip(&back).enumerate() {
            assert_eq!(a, b, "{}: block {i}", path.display());
        }
    }
}

#[test]
fn compat_layout_keeps_what_old_readers_know() {
    let path = shared().join("traces/sample.scap");
    let mut threads = Vec::new();
    let mut r = Reader::open(&path).unwrap();
    while let Some(b) = r.next_block().unwrap() {
        if let Block::ProcessList(t) = b {
            threads = t;
        }
    }
    assert!(!threads.is_empty());
    // Give every field a value, then check what each layout keeps.
    for t in &mut threads {
        t.pidns_init_start_ts = 7;
        t.tty = 34816;
        t.exe_ino = 99;
        t.exe_upper_layer = true;
        t.pgid = 5;
        t.cap_effective = 0x1ff;
        t.loginuid = 1000;
    }
    for layout in [ProcListLayout::Compat, ProcListLayout::Full] {
        let mut w = Writer::with_options(
            Vec::new(),
            WriterOptions {
                proc_list_layout: layout,
            },
        )
        .unwrap();
        w.write_process_list(&threads).unwrap();
        let bytes = w.finish().unwrap();
        let mut r = Reader::new(&bytes[..]).unwrap();
        let Some(Block::ProcessList(back)) = r.next_block().unwrap() else {
            panic!("no process list")
        };
        for (a, b) in threads.iter().zip(&back) {
            if layout == ProcListLayout::Full {
                assert_eq!(a, b);
            } else {
                let mut expect = a.clone();
                expect.pidns_init_start_ts = 0;
                expect.tty = 0;
                expect.exe_ino = 0;
                expect.exe_ino_ctime = 0;
                expect.exe_ino_mtime = 0;
                expect.exe_upper_layer = false;
                expect.exe_lower_layer = false;
                expect.exe_from_memfd = false;
                expect.pgid = u64::MAX;
                assert_eq!(&expect, b);
            }
        }
    }
}

/// libscap rejects a whole capture whose process list holds a string
/// longer than its limits (1024 bytes for paths, 4096 for the args, env
/// and cgroups lists): what the writer writes stays within them, whole
/// list items first, and readers written to those limits take it.
#[test]
fn process_list_strings_stay_within_libscap_limits() {
    let env: Vec<String> = (0..200)
        .map(|i| format!("VAR{i:03}={}", "x".repeat(40)))
        .collect();
    let long_arg = "a".repeat(5000);
    let exe = format!("/{}", "é".repeat(700)); // 1401 bytes, two per 'é'
    let t = ThreadRecord {
        tid: 42,
        pid: 42,
        comm: "long".into(),
        exe: exe.clone(),
        exepath: exe.clone(),
        args: vec![long_arg.clone(), "second".into()],
        env: env.clone(),
        cwd: "/tmp".into(),
        ..Default::default()
    };
    let mut w = Writer::new(Vec::new()).unwrap();
    w.write_process_list(std::slice::from_ref(&t)).unwrap();
    let bytes = w.finish().unwrap();
    let mut r = Reader::new(&bytes[..]).unwrap();
    let Some(Block::ProcessList(back)) = r.next_block().unwrap() else {
        panic!("no process list")
    };
    let b = &back[0];
    let list_len = |l: &[String]| l.iter().map(|s| s.len() + 1).sum::<usize>();
    // env: the whole items that fit, in order.
    assert!(list_len(&b.env) <= 4096, "{}", list_len(&b.env));
    assert!(list_len(&b.env) > 4096 - 50, "{}", list_len(&b.env));
    assert_eq!(b.env[..], env[..b.env.len()]);
    // args: a first item over the limit is cut, the rest dropped.
    assert_eq!(b.args.len(), 1);
    assert_eq!(b.args[0], long_arg[..4095]);
    // paths: at most 1024 bytes, cut between characters.
    assert!(
        b.exe.len() <= 1024 && b.exe.len() >= 1022,
        "{}",
        b.exe.len()
    );
    assert!(exe.starts_with(&b.exe));
    assert_eq!(b.exepath, b.exe);
    assert_eq!(b.cwd, "/tmp");
}

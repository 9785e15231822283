//! `peregrine dump -w`: every trace sysdig reads, written back by us, is
//! read by sysdig with identical output.

mod common;

use common::{all_traces, peregrine, run, sysdig, sysdig_reads, tempdir};
use std::path::Path;

const FORMAT: &str = "*%evt.num %evt.time %evt.cpu %evt.type %evt.dir %evt.args %proc.name \
                      %proc.cmdline %proc.pname %thread.tid %fd.name %fd.type %user.name %container.id";

fn sysdig_output(trace: &Path, format: Option<&str>) -> Vec<u8> {
    let mut cmd = sysdig();
    cmd.arg("-r").arg(trace);
    if let Some(f) = format {
        cmd.arg("-p").arg(f);
    }
    run(&mut cmd, true).stdout
}

#[test]
fn written_captures_read_back_identically_in_sysdig() {
    let dir = tempdir("write");
    let mut checked = 0;
    for trace in all_traces() {
        if !sysdig_reads(&trace) {
            continue;
        }
        let name = trace.file_name().unwrap().to_string_lossy().into_owned();
        let copy = dir.path().join(&name);
        run(
            peregrine()
                .args(["dump", "-e"])
                .arg(&trace)
                .arg("-w")
                .arg(&copy),
            false,
        );
        for format in [None, Some(FORMAT)] {
            let original = sysdig_output(&trace, format);
            let ours = sysdig_output(&copy, format);
            assert!(
                original == ours,
                "{name} ({format:?}): sysdig prints the copy differently:\n--- original\n{}\n--- copy\n{}",
                head(&original),
                head(&ours)
            );
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} traces checked");
}

#[test]
fn a_filter_keeps_only_matching_events_in_the_written_capture() {
    let dir = tempdir("write");
    let trace = common::shared().join("falco-regression/trace_files/cat_write.scap");
    let copy = dir.path().join("open-only.scap");
    run(
        peregrine()
            .args(["dump", "-e"])
            .arg(&trace)
            .arg("-w")
            .arg(&copy)
            .arg("evt.type=open"),
        false,
    );
    let out = run(
        peregrine()
            .args(["dump", "-e"])
            .arg(&copy)
            .args(["-p", "%evt.type"]),
        false,
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().count() > 2, "too few events: {text}");
    assert!(
        text.lines().all(|l| l == "open"),
        "unexpected events:\n{text}"
    );
}

fn head(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .take(5)
        .collect::<Vec<_>>()
        .join("\n")
}

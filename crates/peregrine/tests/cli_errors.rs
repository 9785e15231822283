//! Bad input to `peregrine dump`: clear errors, no panics, everything valid
//! before the damage still processed.

mod common;

use common::{peregrine, run};

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn missing_capture_file_is_a_clear_error() {
    let out = run(
        peregrine().args(["dump", "-e", "/nonexistent/x.scap"]),
        true,
    );
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(err.contains("/nonexistent/x.scap"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn truncated_capture_prints_events_before_the_damage_then_fails() {
    let trace = common::shared().join("falco-regression/trace_files/cat_write.scap");
    let full = run(
        peregrine()
            .args(["dump", "-e"])
            .arg(&trace)
            .args(["-p", "%evt.num"]),
        false,
    );
    let all: Vec<String> = String::from_utf8(full.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();

    let bytes = std::fs::read(&trace).unwrap();
    let plain = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut d = flate2::read::MultiGzDecoder::new(&bytes[..]);
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut d, &mut v).unwrap();
        v
    } else {
        bytes
    };
    let cut = tempfile::Builder::new()
        .prefix("peregrine-cut-")
        .suffix(".scap")
        .tempfile()
        .unwrap();
    // The events are at the end of the file, after the process and fd lists.
    std::fs::write(cut.path(), &plain[..plain.len() - 2000]).unwrap();

    let out = run(
        peregrine()
            .args(["dump", "-e"])
            .arg(cut.path())
            .args(["-p", "%evt.num"]),
        true,
    );
    let err = stderr_of(&out);
    assert!(!out.status.success(), "a truncated file must fail");
    assert!(
        err.contains("offset") && err.contains("truncated"),
        "unclear error: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let got: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert!(!got.is_empty(), "no event printed before the damage");
    assert_eq!(got[..], all[..got.len()], "events before the damage differ");
}

#[test]
fn bad_filter_and_format_report_the_offset() {
    let trace = common::shared().join("traces/sample.scap");
    let out = run(
        peregrine()
            .args(["dump", "-e"])
            .arg(&trace)
            .arg("proc.name = "),
        true,
    );
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("offset 12"), "{}", stderr_of(&out));
    let out = run(
        peregrine()
            .args(["dump", "-e"])
            .arg(&trace)
            .args(["-p", "%proc.nope"]),
        true,
    );
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains("offset 1") && err.contains("proc.nope"),
        "{err}"
    );
}

#[test]
fn not_a_capture_file_is_rejected() {
    let out = run(peregrine().args(["dump", "-e", "/etc/hostname"]), true);
    assert!(!out.status.success());
    assert!(!stderr_of(&out).contains("panicked"));
}

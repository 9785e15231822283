//! Helpers shared by the integration tests.
#![allow(dead_code)]

use peregrine_scap::{Block, Reader, ScapError};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared folder beside the repository.
pub fn shared() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"))
}

/// Every trace: (path, whether sysdig 0.29.3 can read it).
pub fn traces() -> Vec<(PathBuf, bool)> {
    let s = shared();
    let mut v = Vec::new();
    for name in [
        "sample.scap",
        "curl_google.scap",
        "curl_google_comments.scap",
        "single_ipv6_conn.scap",
        "test_ipv6_client.scap",
        "privileged.scap",
    ] {
        v.push((
            s.join("traces").join(name),
            name != "curl_google_comments.scap",
        ));
    }
    for name in [
        "cat_write.scap",
        "connect_localhost.scap",
        "empty.scap",
        "open-multiple-files.scap",
        "ping_sendto.scap",
        "syscall.scap",
    ] {
        v.push((s.join("falco-regression/trace_files").join(name), true));
    }
    v
}

/// The sysdig binary; fails the test when it is missing.
pub fn sysdig() -> PathBuf {
    for p in ["/usr/bin/sysdig", "/usr/local/bin/sysdig"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    if let Ok(out) = Command::new("sh")
        .args(["-c", "command -v sysdig"])
        .output()
    {
        let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !s.is_empty() {
            return PathBuf::from(s);
        }
    }
    panic!("sysdig not found: apt-get install -y --no-install-recommends sysdig");
}

/// Runs `sysdig -r file args...` with TZ=UTC; returns stdout, panics on failure.
pub fn run_sysdig(file: &Path, args: &[&str]) -> String {
    let out = Command::new(sysdig())
        .env("TZ", "UTC")
        .arg("-r")
        .arg(file)
        .args(args)
        .output()
        .expect("run sysdig");
    assert!(
        out.status.success(),
        "sysdig -r {} {:?} failed: {}",
        file.display(),
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An owned copy of a block, for comparisons.
#[derive(Debug, PartialEq)]
pub enum Owned {
    Event {
        cpu: u16,
        flags: Option<u32>,
        data: Vec<u8>,
    },
    Meta(String),
}

/// Reads every block of a source: the blocks, their raw bytes and the
/// error that ended the reading, if any. Checks that after an error the
/// reader only returns `Ok(None)`.
pub fn read_all<R: std::io::Read>(
    mut r: Reader<R>,
) -> (Vec<Owned>, Vec<Vec<u8>>, Option<ScapError>) {
    let mut blocks = Vec::new();
    let mut raws = Vec::new();
    loop {
        match r.next_block() {
            Ok(Some(b)) => {
                blocks.push(match b {
                    Block::Event(e) => Owned::Event {
                        cpu: e.cpu,
                        flags: e.flags,
                        data: e.data.to_vec(),
                    },
                    other => Owned::Meta(format!("{other:?}")),
                });
                raws.push(r.raw_block().to_vec());
            }
            Ok(None) => return (blocks, raws, None),
            Err(e) => {
                for _ in 0..3 {
                    assert!(
                        matches!(r.next_block(), Ok(None)),
                        "reader must stop after an error"
                    );
                }
                return (blocks, raws, Some(e));
            }
        }
    }
}

/// The whole decompressed content of a trace.
pub fn decompressed(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let raw = std::fs::read(path).unwrap();
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw
    }
}

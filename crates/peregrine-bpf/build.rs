//! Compiles the CO-RE probe (`src/bpf/probe.bpf.c`) with clang against a
//! `vmlinux.h` generated from the running kernel's BTF by bpftool.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, exit};

const BTF: &str = "/sys/kernel/btf/vmlinux";

fn fail(msg: &str) -> ! {
    eprintln!("peregrine-bpf build: {msg}");
    println!("cargo::error={msg}");
    exit(1)
}

fn tool(name: &str, env_var: &str) -> String {
    let candidates = match env::var(env_var) {
        Ok(t) => vec![t],
        // bpftool lives in /usr/sbin, which is not on every PATH.
        Err(_) => vec![name.to_string(), format!("/usr/sbin/{name}")],
    };
    for t in &candidates {
        if matches!(Command::new(t).arg("--version").output(), Ok(o) if o.status.success()) {
            return t.clone();
        }
    }
    fail(&format!(
        "`{name}` not found: install clang, llvm, bpftool and libbpf-dev \
         (scripts/install-deps.sh does it), or set {env_var}"
    ))
}

fn main() {
    let src = Path::new("src/bpf");
    for f in ["probe.bpf.c", "scap.h", "extract.h", "flags.h"] {
        println!("cargo::rerun-if-changed={}", src.join(f).display());
    }
    println!("cargo::rerun-if-env-changed=PEREGRINE_VMLINUX_H");
    println!("cargo::rerun-if-env-changed=CLANG");
    println!("cargo::rerun-if-env-changed=BPFTOOL");
    println!("cargo::rerun-if-env-changed=PEREGRINE_BPF_CFLAGS");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    // vmlinux.h: from PEREGRINE_VMLINUX_H if given, else dumped from BTF.
    let vmlinux = out.join("vmlinux.h");
    if let Ok(given) = env::var("PEREGRINE_VMLINUX_H") {
        if let Err(e) = std::fs::copy(&given, &vmlinux) {
            fail(&format!("cannot copy PEREGRINE_VMLINUX_H={given}: {e}"));
        }
    } else {
        if !Path::new(BTF).exists() {
            fail(&format!(
                "{BTF} is missing: the kernel has no BTF (CONFIG_DEBUG_INFO_BTF); \
                 set PEREGRINE_VMLINUX_H to a vmlinux.h generated elsewhere"
            ));
        }
        let bpftool = tool("bpftool", "BPFTOOL");
        let dump = Command::new(&bpftool)
            .args(["btf", "dump", "file", BTF, "format", "c"])
            .output()
            .unwrap_or_else(|e| fail(&format!("running bpftool: {e}")));
        if !dump.status.success() {
            fail(&format!(
                "bpftool btf dump failed: {}",
                String::from_utf8_lossy(&dump.stderr)
            ));
        }
        if let Err(e) = std::fs::write(&vmlinux, &dump.stdout) {
            fail(&format!("writing {}: {e}", vmlinux.display()));
        }
    }
    if !Path::new("/usr/include/bpf/bpf_helpers.h").exists() {
        fail("libbpf headers (/usr/include/bpf/bpf_helpers.h) missing: install libbpf-dev");
    }

    let clang = tool("clang", "CLANG");
    let obj = out.join("probe.bpf.o");
    // Extra clang flags (experiments, e.g. `-DPEREGRINE_X=1`).
    let extra: Vec<String> = env::var("PEREGRINE_BPF_CFLAGS")
        .map(|v| v.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let status = Command::new(&clang)
        .args(&extra)
        .args([
            "-target",
            "bpf",
            "-O2",
            "-g",
            "-Wall",
            "-Werror",
            "-D__TARGET_ARCH_x86",
        ])
        .arg("-I")
        .arg(&out)
        .arg("-c")
        .arg(src.join("probe.bpf.c"))
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap_or_else(|e| fail(&format!("running clang: {e}")));
    if !status.success() {
        fail("clang failed to compile src/bpf/probe.bpf.c (see the messages above)");
    }
}

#!/usr/bin/env bash
# Installs what peregrine's build and tests need on a fresh Debian machine.
# Idempotent: packages already present are left alone.
set -euo pipefail

need=()
command -v sysdig >/dev/null 2>&1 || need+=(sysdig)      # reference decoder for differential tests
command -v cc >/dev/null 2>&1 || need+=(gcc)
[[ -x /usr/bin/time ]] || need+=(time)                # peak memory in bench/
# peregrine-bpf's build: clang compiles the probe, bpftool dumps the kernel's BTF
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v llvm-strip >/dev/null 2>&1 || need+=(llvm)
command -v bpftool >/dev/null 2>&1 || need+=(bpftool)
[[ -f /usr/include/bpf/bpf_helpers.h ]] || need+=(libbpf-dev)

if ((${#need[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "install-deps: need root to apt-get install ${need[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

rustup component add rustfmt clippy >/dev/null 2>&1 || true

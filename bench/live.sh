#!/usr/bin/env bash
# Overhead of the live probe on syscall-heavy loops (run as root).
#
#   bench/live.sh [RUNS]          default 5 runs per loop
#
# Builds bench/live/loop.c (getppid loop, open/read/close loop, fork/exec
# loop) and the probe's capture example, then for each loop alternates RUNS
# times: the loop alone, and the loop while `capture -q` has the probe
# attached for the syscalls the upstream stable rules and the state engine
# use (those the probe supports; getppid and read are selected by none).
# Prints per loop the median ns/iteration without and with the probe, the
# median of the paired differences (added ns per iteration), the events/s
# delivered to user space during the loop and the events lost (drops).
#
# Environment: CARGO_TARGET_DIR (default target), CAPTURE (a prebuilt
# capture binary: skips the build), N_GETPPID, N_ORC, N_FORKEXEC,
# SYSCALLS (override the attached set).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
N_GETPPID=${N_GETPPID:-2000000}
N_ORC=${N_ORC:-200000}
N_FORKEXEC=${N_FORKEXEC:-1000}
TARGET=${CARGO_TARGET_DIR:-target}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

[ "$(id -u)" = 0 ] || { echo "bench/live.sh: must run as root (BPF)" >&2; exit 1; }
cc -O2 -o "$WORK/loop" bench/live/loop.c
if [ -z "${CAPTURE:-}" ]; then
    cargo build -q --release -p peregrine-bpf --example capture
    CAPTURE=$TARGET/release/examples/capture
fi

# Event types of the upstream stable rules (falco_rules.yaml) ...
RULES="open openat openat2 execve execveat connect socket sendto sendmsg dup dup2 dup3
       link linkat symlink symlinkat init_module finit_module ptrace"
# ... and what the state engine needs (Falco's state set).
STATE="clone clone3 fork vfork execve execveat close open openat openat2 creat socket bind
       connect accept accept4 listen dup dup2 dup3 fcntl pipe pipe2 socketpair chdir fchdir
       setuid setgid setresuid setresgid capset chroot prctl userfaultfd memfd_create"
if [ -z "${SYSCALLS:-}" ]; then
    supported=" $("$CAPTURE" -l) "
    SYSCALLS=""
    for s in $(echo $RULES $STATE | tr ' ' '\n' | sort -u); do
        case "$supported" in *" $s "*) SYSCALLS="$SYSCALLS $s" ;; esac
    done
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)   runs: $RUNS"
echo "attached syscalls:$SYSCALLS"

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }

run_one() { # loop N -> "base_ns with_ns events lost secs"
    local base with pid log=$WORK/cap.log
    base=$("$WORK/loop" "$1" "$2" | cut -d' ' -f1)
    "$CAPTURE" -q -s 3600 $SYSCALLS 2>"$log" &
    pid=$!
    for _ in $(seq 200); do grep -q '^attached:' "$log" && break; sleep 0.05; done
    grep -q '^attached:' "$log" || { cat "$log" >&2; kill "$pid"; exit 1; }
    local out
    out=$("$WORK/loop" "$1" "$2")
    kill -INT "$pid"
    wait "$pid"
    with=${out% *}
    local total_ns=${out#* }
    local line
    line=$(grep '^events=' "$log")
    local ev lost
    ev=$(sed -E 's/.*events=([0-9]+).*/\1/' <<<"$line")
    lost=$(sed -E 's/.*lost=([0-9]+).*/\1/' <<<"$line")
    echo "$base $with $ev $lost $total_ns"
}

printf '%-10s %10s %10s %10s %9s %12s %8s\n' loop base_ns with_ns added_ns added_% events/s lost
for spec in "getppid $N_GETPPID" "orc $N_ORC" "forkexec $N_FORKEXEC"; do
    set -- $spec
    : >"$WORK/r"
    for _ in $(seq "$RUNS"); do run_one "$1" "$2" >>"$WORK/r"; done
    b=$(cut -d' ' -f1 "$WORK/r" | median)
    w=$(cut -d' ' -f2 "$WORK/r" | median)
    d=$(awk '{print $2-$1}' "$WORK/r" | median)
    eps=$(awk '{printf "%d\n", $3 / ($5 / 1e9)}' "$WORK/r" | median)
    lost=$(awk '{s+=$4} END {print s}' "$WORK/r")
    pct=$(awk -v d="$d" -v b="$b" 'BEGIN {printf "%.1f", 100*d/b}')
    printf '%-10s %10s %10s %10s %9s %12s %8s\n' "$1" "$b" "$w" "$d" "$pct" "$eps" "$lost"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

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
# Prints per loop the medians of: ns per iteration without and with the
# probe (wall clock), the paired differences in wall time (added_ns) and in
# CPU time of the loop (added_cpu: user + system time of the loop and its
# children, which the probe's programs run in; unlike wall time it does not
# grow when other work on a shared machine takes the CPU away), the events
# per second delivered to user space during the loop and their volume; then
# the events lost over all runs (ring buffer full + no scratch buffer) and
# the parameters the probe could not read.
#
# Environment: CARGO_TARGET_DIR (default target), CAPTURE (a prebuilt
# capture binary: skips the build), N_GETPPID, N_ORC, N_FORKEXEC,
# SYSCALLS (override the attached set), CAPTURE_ARGS (extra capture
# options, e.g. "-b 1048576" for 1 MiB buffers, "-c 1" for one buffer per
# CPU), PROG_STATS=1 (also print each program's runs and ns per run, from
# kernel.bpf_stats_enabled and bpftool: steadier than the loop times on a
# busy machine, but the statistics add two clock reads to every run, so
# the with/added figures of that invocation include them).
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

# Another tracer's programs would be in the baseline too.
if command -v bpftool >/dev/null 2>&1 || [ -x /usr/sbin/bpftool ]; then
    others=$(PATH=$PATH:/usr/sbin bpftool prog show 2>/dev/null | grep -cE '^[0-9]+: (tracepoint|raw_tracepoint|tracing|kprobe)' || true)
    [ "$others" = 0 ] || echo "warning: $others tracing BPF programs already loaded: the baseline includes their cost" >&2
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)   runs: $RUNS"
echo "attached syscalls:$SYSCALLS"

BPFTOOL=$(PATH=$PATH:/usr/sbin command -v bpftool || true)
if [ "${PROG_STATS:-0}" = 1 ] && [ -z "$BPFTOOL" ]; then
    echo "PROG_STATS=1 needs bpftool" >&2
    exit 1
fi
# "id name run_time_ns run_cnt" of the loaded programs with an id above $1.
prog_stats() {
    "$BPFTOOL" prog show | awk -v min="$1" '
        /^[0-9]+:/ { id = $1 + 0; name = ""; for (i = 1; i < NF; i++) if ($i == "name") name = $(i + 1)
                     t = 0; c = 0
                     for (i = 1; i < NF; i++) { if ($i == "run_time_ns") t = $(i + 1); if ($i == "run_cnt") c = $(i + 1) }
                     if (id > min && c > 0) print id, name, t, c }'
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }
field() { # NAME LINE -> the value of NAME=value in LINE, 0 when absent
    local v
    v=$(sed -nE "s/.* $1=([0-9]+).*/\1/p" <<<" $2")
    echo "${v:-0}"
}

run_one() { # loop N -> "base_wall with_wall base_cpu with_cpu events bytes lost read_fail total_ns"
    local log=$WORK/cap.log pid out base
    base=$("$WORK/loop" "$1" "$2")
    local maxid=0
    if [ "${PROG_STATS:-0}" = 1 ]; then
        maxid=$("$BPFTOOL" prog show | sed -nE 's/^([0-9]+):.*/\1/p' | sort -n | tail -1)
    fi
    rm -f "$log" # a stale log would show "attached:" before this capture is
    "$CAPTURE" -q -s 3600 ${CAPTURE_ARGS:-} $SYSCALLS 2>"$log" &
    pid=$!
    for _ in $(seq 1200); do grep -qs '^attached:' "$log" && break; sleep 0.05; done
    grep -qs '^attached:' "$log" || { cat "$log" >&2; kill -9 "$pid"; exit 1; }
    [ "${PROG_STATS:-0}" = 1 ] && sysctl -q kernel.bpf_stats_enabled=1
    out=$("$WORK/loop" "$1" "$2")
    if [ "${PROG_STATS:-0}" = 1 ]; then
        sysctl -q kernel.bpf_stats_enabled=0
        prog_stats "${maxid:-0}" >>"$WORK/progs.$1"
    fi
    kill -INT "$pid"
    # Detaching takes a few seconds (one RCU grace period per tracepoint).
    for _ in $(seq 1200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "capture did not stop on SIGINT" >&2
        kill -9 "$pid"
        exit 1
    fi
    wait "$pid"
    local line
    line=$(grep '^events=' "$log")
    set -- $base $out
    # $1 base wall/iter, $3 base cpu/iter, $4 with wall/iter, $5 total ns, $6 with cpu/iter
    echo "$1 $4 $3 $6 $(field events "$line") $(field bytes "$line") $(field lost "$line") $(field read_fail "$line") $5"
}

printf '%-9s %9s %9s %9s %9s %8s %11s %8s %7s %9s\n' \
    loop base_ns with_ns added_ns added_cpu cpu_% events/s MB/s lost read_fail
for spec in "getppid $N_GETPPID" "orc $N_ORC" "forkexec $N_FORKEXEC"; do
    set -- $spec
    : >"$WORK/r"
    for _ in $(seq "$RUNS"); do run_one "$1" "$2" >>"$WORK/r"; done
    b=$(cut -d' ' -f1 "$WORK/r" | median)
    w=$(cut -d' ' -f2 "$WORK/r" | median)
    d=$(awk '{print $2-$1}' "$WORK/r" | median)
    bc=$(cut -d' ' -f3 "$WORK/r" | median)
    dc=$(awk '{print $4-$3}' "$WORK/r" | median)
    eps=$(awk '{printf "%d\n", $5 / ($9 / 1e9)}' "$WORK/r" | median)
    mbs=$(awk '{printf "%.1f\n", $6 / ($9 / 1e9) / 1e6}' "$WORK/r" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    lost=$(awk '{s+=$7} END {print s}' "$WORK/r")
    rf=$(awk '{s+=$8} END {print s}' "$WORK/r")
    pct=$(awk -v d="$dc" -v b="$bc" 'BEGIN {printf "%.1f", 100*d/b}')
    printf '%-9s %9s %9s %9s %9s %8s %11s %8s %7s %9s\n' "$1" "$b" "$w" "$d" "$dc" "$pct" "$eps" "$mbs" "$lost" "$rf"
done
if [ "${PROG_STATS:-0}" = 1 ]; then
    echo "programs (all runs of a loop; ns/run includes the statistics' clock reads):"
    for l in getppid orc forkexec; do
        [ -s "$WORK/progs.$l" ] || continue
        awk -v loop="$l" '{t[$2] += $3; c[$2] += $4}
            END {for (n in t) if (c[n] >= 100) printf "  %-9s %-14s %10d runs %8.0f ns/run\n", loop, n, c[n], t[n] / c[n]}' \
            "$WORK/progs.$l" | sort -k4,4nr
    done
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

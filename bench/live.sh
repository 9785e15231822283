#!/usr/bin/env bash
# Overhead of live monitoring on syscall-heavy loops (run as root).
#
#   bench/live.sh [RUNS]          default 5 runs per loop
#
# Builds bench/live/loop.c and the monitor, then for each loop alternates
# RUNS times: the loop alone, and the loop while the monitor has the probe
# attached. The loops:
#   getppid   N getppid() calls (a syscall no rule selects: no program runs)
#   orc       N x (openat /etc/hostname, read 64 bytes, close)
#   forkexec  N x (fork, execve /bin/true, waitpid)
#   dupclose  N x (dup of an fd open on /dev/null, close of the copy): two
#             cheap, successful syscalls of the state set per iteration, so
#             two events; monitored by peregrine on this 2-core machine it
#             makes 1.1 to 1.8 M events/s, for the "zero drops at 1 M
#             events/s" target. It is one process on one CPU, the monitor
#             having the other; every event goes the whole way (ring
#             buffer, state engine, rules).
#
# The monitor (MONITOR):
#   peregrine (default)  the real engine, live (no -e), with the upstream
#             stable rules: `peregrine -c /dev/null -o
#             syslog_output.enabled=false -r
#             ../shared/falco-rules/upstream/falco_rules.yaml`, alerts (its
#             stdout) to /dev/null. It attaches what the rules and its state
#             engine select (its log line "live capture: ..." is printed
#             once). Ready once it logged "live capture:" and its `-s` stats
#             file (one line every 100 ms of processing) has a first line:
#             the event loop is running. The events and drops are those of
#             that stats file (the probe's counters): from its last line
#             before the loop to the final line written at exit.
#   capture   the probe crate's example (`capture -q`), which only counts
#             events, attached to SYSCALLS: by default the syscalls the
#             upstream stable rules and the state engine use (those the probe
#             supports; getppid and read are selected by none).
#
# Prints per loop the medians of: ns per iteration without and with the
# monitor (wall clock), the paired differences in wall time (added_ns) and
# in CPU time of the loop (added_cpu: user + system time of the loop and its
# children, which the probe's programs run in; unlike wall time it does not
# grow when other work on a shared machine takes the CPU away), the events
# per second delivered to user space during the loop (written to the ring
# buffers the monitor reads, lost events excluded) and, with capture, their
# volume; then the events lost during the loops over all runs (ring buffer
# full + no scratch buffer) and the parameters the probe could not read.
#
# Environment: CARGO_TARGET_DIR (default target), MONITOR (peregrine or
# capture), PEREGRINE (a prebuilt peregrine binary: skips the build),
# PEREGRINE_ARGS (extra peregrine options, e.g.
# "-o engine.modern_ebpf.buf_size_preset=1" for 1 MiB buffers), RULES (the
# rules file, default ../shared/falco-rules/upstream/falco_rules.yaml),
# CAPTURE (a prebuilt capture binary: skips the build), SYSCALLS (capture
# only: override the attached set), CAPTURE_ARGS (extra capture options,
# e.g. "-b 1048576" for 1 MiB buffers, "-c 1" for one buffer per CPU),
# N_GETPPID, N_ORC, N_FORKEXEC, N_DUPCLOSE (iterations), LOOPS (the loops
# to run, default "getppid orc forkexec dupclose"), PROG_STATS=1 (also print
# each program's runs and ns per run, from kernel.bpf_stats_enabled and
# bpftool: steadier than the loop times on a busy machine, but the
# statistics add two clock reads to every run, so the with/added figures of
# that invocation include them).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
MONITOR=${MONITOR:-peregrine}
N_GETPPID=${N_GETPPID:-2000000}
N_ORC=${N_ORC:-200000}
N_FORKEXEC=${N_FORKEXEC:-1000}
N_DUPCLOSE=${N_DUPCLOSE:-2000000}
LOOPS=${LOOPS:-getppid orc forkexec dupclose}
RULES=${RULES:-../shared/falco-rules/upstream/falco_rules.yaml}
TARGET=${CARGO_TARGET_DIR:-target}
WORK=$(mktemp -d)
MON_PID=
cleanup() {
    if [ -n "$MON_PID" ] && kill -0 "$MON_PID" 2>/dev/null; then kill -9 "$MON_PID"; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "bench/live.sh: must run as root (BPF)" >&2; exit 1; }
case "$MONITOR" in
peregrine | capture) ;;
*) echo "MONITOR must be peregrine or capture" >&2; exit 2 ;;
esac
cc -O2 -o "$WORK/loop" bench/live/loop.c
if [ "$MONITOR" = peregrine ]; then
    [ -r "$RULES" ] || { echo "rules file $RULES not found (../shared beside the repo)" >&2; exit 1; }
    if [ -z "${PEREGRINE:-}" ]; then
        cargo build -q --release -p peregrine
        PEREGRINE=$TARGET/release/peregrine
    fi
elif [ -z "${CAPTURE:-}" ]; then
    cargo build -q --release -p peregrine-bpf --example capture
    CAPTURE=$TARGET/release/examples/capture
fi

if [ "$MONITOR" = capture ]; then
    # Event types of the upstream stable rules (falco_rules.yaml) ...
    RULE_TYPES="open openat openat2 execve execveat connect socket sendto sendmsg dup dup2 dup3
           link linkat symlink symlinkat init_module finit_module ptrace"
    # ... and what the state engine needs (Falco's state set).
    STATE="clone clone3 fork vfork execve execveat close open openat openat2 creat socket bind
           connect accept accept4 listen dup dup2 dup3 fcntl pipe pipe2 socketpair chdir fchdir
           setuid setgid setresuid setresgid capset chroot prctl userfaultfd memfd_create"
    if [ -z "${SYSCALLS:-}" ]; then
        supported=" $("$CAPTURE" -l) "
        SYSCALLS=""
        for s in $(echo $RULE_TYPES $STATE | tr ' ' '\n' | sort -u); do
            case "$supported" in *" $s "*) SYSCALLS="$SYSCALLS $s" ;; esac
        done
    fi
fi

# Another tracer's programs would be in the baseline too.
if command -v bpftool >/dev/null 2>&1 || [ -x /usr/sbin/bpftool ]; then
    others=$(PATH=$PATH:/usr/sbin bpftool prog show 2>/dev/null | grep -cE '^[0-9]+: (tracepoint|raw_tracepoint|tracing|kprobe)' || true)
    [ "$others" = 0 ] || echo "warning: $others tracing BPF programs already loaded: the baseline includes their cost" >&2
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)   runs: $RUNS   monitor: $MONITOR"
if [ "$MONITOR" = capture ]; then
    echo "attached syscalls:$SYSCALLS"
else
    echo "rules: $RULES ${PEREGRINE_ARGS:-}"
fi

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
stat_field() { # NAME LINE -> the value of "NAME":N in the "cur" part of a -s line, 0 when absent
    local v
    v=$(sed -nE "s/.*\"cur\": \{[^}]*\"$1\":([0-9]+).*/\1/p" <<<"$2")
    echo "${v:-0}"
}

# Starts the monitor in the background (MON_PID) and waits until it
# delivers events; writes the counters at that point to $WORK/before
# ("events drops read_fail" of peregrine's last -s line; zeros for
# capture). Runs in the main shell (not in $(...)), which must wait for it.
monitor_start() {
    local log=$WORK/mon.log stats=$WORK/stats.jsonl
    rm -f "$log" "$stats" # stale files would show readiness before this monitor's
    if [ "$MONITOR" = capture ]; then
        "$CAPTURE" -q -s 3600 ${CAPTURE_ARGS:-} $SYSCALLS 2>"$log" &
        MON_PID=$!
        for _ in $(seq 1200); do grep -qs '^attached:' "$log" && break; sleep 0.05; done
        grep -qs '^attached:' "$log" || { cat "$log" >&2; exit 1; }
        echo "0 0 0" >"$WORK/before"
        return
    fi
    "$PEREGRINE" -c /dev/null -o syslog_output.enabled=false -r "$RULES" ${PEREGRINE_ARGS:-} \
        -s "$stats" --stats-interval 100 >/dev/null 2>"$log" &
    MON_PID=$!
    for _ in $(seq 1200); do
        grep -qs 'live capture:' "$log" && break
        kill -0 "$MON_PID" 2>/dev/null || break
        sleep 0.05
    done
    grep -qs 'live capture:' "$log" || { cat "$log" >&2; exit 1; }
    # A -s line is written once 100 ms passed and events flow: make some.
    for _ in $(seq 600); do
        [ -s "$stats" ] && break
        kill -0 "$MON_PID" 2>/dev/null || { cat "$log" >&2; exit 1; }
        "$WORK/loop" dupclose 200 >/dev/null
        sleep 0.05
    done
    [ -s "$stats" ] || { echo "peregrine wrote no stats line" >&2; cat "$log" >&2; exit 1; }
    if [ -z "${ATTACH_SHOWN:-}" ]; then
        grep -o 'live capture:.*' "$log" >&2
        ATTACH_SHOWN=1
    fi
    local line
    line=$(tail -1 "$stats")
    echo "$(stat_field events "$line") $(stat_field drops "$line") $(stat_field read_failures "$line")" >"$WORK/before"
    # Not in the table, which counts the loop's: lost while it started.
    [ "$(stat_field drops "$line")" = 0 ] || echo "note: $(stat_field drops "$line") events lost before the loop" >&2
}

# Stops the monitor with SIGINT and waits for it; writes "events bytes lost
# read_fail" (totals since the monitor started) to $WORK/after.
monitor_stop() {
    local log=$WORK/mon.log
    kill -INT "$MON_PID"
    # Detaching takes a few seconds (one RCU grace period per tracepoint).
    for _ in $(seq 1200); do kill -0 "$MON_PID" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$MON_PID" 2>/dev/null; then
        echo "$MONITOR did not stop on SIGINT" >&2
        kill -9 "$MON_PID"
        exit 1
    fi
    local rc=0
    wait "$MON_PID" || rc=$?
    MON_PID=
    [ "$rc" = 0 ] || { echo "$MONITOR exited with status $rc" >&2; cat "$log" >&2; exit 1; }
    local line
    if [ "$MONITOR" = capture ]; then
        line=$(grep '^events=' "$log")
        echo "$(field events "$line") $(field bytes "$line") $(field lost "$line") $(field read_fail "$line")" >"$WORK/after"
    else
        line=$(tail -1 "$WORK/stats.jsonl")
        local ev dr
        ev=$(stat_field events "$line")
        dr=$(stat_field drops "$line")
        # The -s "events" count lost events too.
        echo "$((ev - dr)) 0 $dr $(stat_field read_failures "$line")" >"$WORK/after"
    fi
}

run_one() { # loop N -> "base_wall with_wall base_cpu with_cpu events bytes lost read_fail total_ns"
    local out base
    base=$("$WORK/loop" "$1" "$2")
    local maxid=0
    if [ "${PROG_STATS:-0}" = 1 ]; then
        maxid=$("$BPFTOOL" prog show | sed -nE 's/^([0-9]+):.*/\1/p' | sort -n | tail -1)
    fi
    monitor_start
    [ "${PROG_STATS:-0}" = 1 ] && sysctl -q kernel.bpf_stats_enabled=1
    out=$("$WORK/loop" "$1" "$2")
    if [ "${PROG_STATS:-0}" = 1 ]; then
        sysctl -q kernel.bpf_stats_enabled=0
        prog_stats "${maxid:-0}" >>"$WORK/progs.$1"
    fi
    monitor_stop
    set -- $base $out $(cat "$WORK/after") $(cat "$WORK/before")
    # $1 base wall/iter, $3 base cpu/iter, $4 with wall/iter, $5 total ns,
    # $6 with cpu/iter, $7..$10 events bytes lost read_fail at the end,
    # $11..$13 events (lost ones included) lost read_fail before the loop
    echo "$1 $4 $3 $6 $(($7 - ${11} + ${12})) $8 $(($9 - ${12})) $((${10} - ${13})) $5"
}

printf '%-9s %9s %9s %9s %9s %8s %11s %8s %7s %9s\n' \
    loop base_ns with_ns added_ns added_cpu cpu_% events/s MB/s lost read_fail
for l in $LOOPS; do
    case "$l" in
    getppid) n=$N_GETPPID ;;
    orc) n=$N_ORC ;;
    forkexec) n=$N_FORKEXEC ;;
    dupclose) n=$N_DUPCLOSE ;;
    *) echo "unknown loop $l" >&2; exit 2 ;;
    esac
    : >"$WORK/r"
    for _ in $(seq "$RUNS"); do run_one "$l" "$n" >>"$WORK/r"; done
    b=$(cut -d' ' -f1 "$WORK/r" | median)
    w=$(cut -d' ' -f2 "$WORK/r" | median)
    d=$(awk '{print $2-$1}' "$WORK/r" | median)
    bc=$(cut -d' ' -f3 "$WORK/r" | median)
    dc=$(awk '{print $4-$3}' "$WORK/r" | median)
    eps=$(awk '{printf "%d\n", $5 / ($9 / 1e9)}' "$WORK/r" | median)
    if [ "$MONITOR" = capture ]; then
        mbs=$(awk '{printf "%.1f\n", $6 / ($9 / 1e9) / 1e6}' "$WORK/r" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    else
        mbs=-
    fi
    lost=$(awk '{s+=$7} END {print s}' "$WORK/r")
    rf=$(awk '{s+=$8} END {print s}' "$WORK/r")
    pct=$(awk -v d="$dc" -v b="$bc" 'BEGIN {printf "%.1f", 100*d/b}')
    printf '%-9s %9s %9s %9s %9s %8s %11s %8s %7s %9s\n' "$l" "$b" "$w" "$d" "$dc" "$pct" "$eps" "$mbs" "$lost" "$rf"
done
if [ "${PROG_STATS:-0}" = 1 ]; then
    echo "programs (all runs of a loop; ns/run includes the statistics' clock reads):"
    for l in $LOOPS; do
        [ -s "$WORK/progs.$l" ] || continue
        awk -v loop="$l" '{t[$2] += $3; c[$2] += $4}
            END {for (n in t) if (c[n] >= 100) printf "  %-9s %-14s %10d runs %8.0f ns/run\n", loop, n, c[n], t[n] / c[n]}' \
            "$WORK/progs.$l" | sort -k4,4nr
    done
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

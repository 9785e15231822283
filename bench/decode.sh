#!/usr/bin/env bash
# Decode + state throughput: peregrine vs sysdig on the same large capture.
#
#   bench/decode.sh [EVENTS] [RUNS]
#   BENCH_GZIP=1 bench/decode.sh ...     # the same, on a gzip-compressed copy
#
# Builds a capture of at least EVENTS events (default 2,000,000) by
# re-stamping the events of the shared traces, then times, in the same
# run, `sysdig -r FILE evt.num=0` and `peregrine dump -e FILE evt.num=0`
# (both decode every event, update their state and evaluate a trivial
# filter) RUNS times each (default 5), alternating. Prints the median
# wall time, events/s and peak RSS of each, and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

events=${1:-2000000}
runs=${2:-5}
work=${BENCH_DIR:-target/bench}
mkdir -p "$work"
big="$work/big-$events.scap"

cargo build --release -p peregrine >/dev/null
bin=${CARGO_TARGET_DIR:-target}/release/peregrine
command -v sysdig >/dev/null || { echo "sysdig not found: apt-get install -y --no-install-recommends sysdig" >&2; exit 1; }

if [[ ! -s $big ]]; then
    "$bin" synth -o "$big" --events "$events" ../shared/traces/curl_google.scap \
        ../shared/falco-regression/trace_files/cat_write.scap \
        ../shared/traces/test_ipv6_client.scap
fi
if [[ ${BENCH_GZIP:-0} == 1 ]]; then
    [[ -s $big.gz && $big.gz -nt $big ]] || gzip -k -f "$big"
    big="$big.gz"
fi
count=$("$bin" dump -e "$big" -p '%evt.num' | tail -1)
echo "capture: $big ($count events, $(du -h "$big" | cut -f1))"

measure() { # name, command...: prints "seconds maxrss_kb"
    local name=$1; shift
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$work/$name.time" "$@" >/dev/null 2>"$work/$name.err" || {
        echo "$name failed:" >&2; cat "$work/$name.err" >&2; exit 1; }
    t1=$(date +%s%N)
    # wall time in ms resolution (/usr/bin/time's %e has 10 ms steps)
    echo "$(( (t1 - t0) / 1000000 )) $(cat "$work/$name.time")" |
        awk '{printf "%.3f %s\n", $1 / 1000, $2}'
}

declare -a ts tr ps pr
for ((i = 0; i < runs; i++)); do
    read -r t r < <(measure sysdig sysdig -r "$big" evt.num=0)
    ts+=("$t"); tr+=("$r")
    read -r t r < <(measure peregrine "$bin" dump -e "$big" evt.num=0)
    ps+=("$t"); pr+=("$r")
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
st=$(median "${ts[@]}"); sr=$(median "${tr[@]}")
pt=$(median "${ps[@]}"); prr=$(median "${pr[@]}")
awk -v n="$count" -v st="$st" -v sr="$sr" -v pt="$pt" -v pr="$prr" 'BEGIN {
    printf "sysdig:    %.3f s  %.0f events/s  peak RSS %d KiB\n", st, n / st, sr
    printf "peregrine: %.3f s  %.0f events/s  peak RSS %d KiB\n", pt, n / pt, pr
    printf "throughput ratio (peregrine/sysdig): %.2fx\n", st / pt
    printf "peak memory ratio (peregrine/sysdig): %.2f\n", pr / sr
}'

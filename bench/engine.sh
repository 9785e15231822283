#!/usr/bin/env bash
# Full engine throughput and rules load time, against sysdig in the same run.
#
#   bench/engine.sh [EVENTS] [RUNS]
#
# On the large capture of bench/decode.sh (built if missing), times RUNS
# times each (default 5), alternating:
#   sysdig -r FILE evt.num=0                        (decode + state + trivial filter)
#   peregrine -r <stable upstream rules> -e FILE
#   peregrine -r <all three upstream files> -e FILE
#   peregrine -r <all three upstream files> --dry-run   (load time only)
# and prints medians, events/s and the ratios to sysdig.
set -euo pipefail
cd "$(dirname "$0")/.."

events=${1:-2000000}
runs=${2:-5}
work=${BENCH_DIR:-target/bench}
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$work"
big="$work/big-$events.scap"
up=../shared/falco-rules/upstream

cargo build --release -p peregrine >/dev/null
bin=$target/release/peregrine
command -v sysdig >/dev/null || { echo "sysdig not found: apt-get install -y --no-install-recommends sysdig" >&2; exit 1; }
[[ -s $big ]] || "$bin" synth -o "$big" --events "$events" ../shared/traces/curl_google.scap \
    ../shared/falco-regression/trace_files/cat_write.scap ../shared/traces/test_ipv6_client.scap
count=$("$bin" dump -e "$big" -p '%evt.num' | tail -1)
echo "capture: $big ($count events)"

# Alerts go to stdout only: syslog (on in Falco's default configuration)
# would measure the socket, and sysdig writes nothing either.
quiet=(-c /dev/null -o syslog_output.enabled=false)
stable=(-r "$up/falco_rules.yaml")
all=(-r "$up/falco_rules.yaml" -r "$up/falco-incubating_rules.yaml" -r "$up/falco-sandbox_rules.yaml")

seconds() { # command...: wall seconds
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>"$work/engine.err" || { cat "$work/engine.err" >&2; exit 1; }
    end=$(date +%s%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -a s p a l
for ((i = 0; i < runs; i++)); do
    s+=("$(seconds sysdig -r "$big" evt.num=0)")
    p+=("$(seconds "$bin" "${quiet[@]}" "${stable[@]}" -e "$big")")
    a+=("$(seconds "$bin" "${quiet[@]}" "${all[@]}" -e "$big")")
    l+=("$(seconds "$bin" "${quiet[@]}" "${all[@]}" --dry-run)")
done
awk -v n="$count" -v s="$(median "${s[@]}")" -v p="$(median "${p[@]}")" \
    -v a="$(median "${a[@]}")" -v l="$(median "${l[@]}")" 'BEGIN {
    printf "sysdig evt.num=0:            %.3f s  %.2f M events/s\n", s, n / s / 1e6
    printf "peregrine, stable rules:     %.3f s  %.2f M events/s  (%.2fx sysdig)\n", p, n / p / 1e6, s / p
    printf "peregrine, all three files:  %.3f s  %.2f M events/s  (%.2fx sysdig)\n", a, n / a / 1e6, s / a
    printf "load + compile three files (whole process, --dry-run): %.1f ms\n", l * 1000
}'

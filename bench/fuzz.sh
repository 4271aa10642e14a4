#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer,
# in build-fuzz/) and runs each for RUNS executions (default 100000) from its seed
# corpus in tests/fuzz/corpus/<target>/, with leak detection on. Prints one
# Markdown row per target: executions, seconds, crashes, timeouts, leaks,
# out-of-memory, corpus growth. With --write, the table replaces the text
# between the fuzz markers in bench/RESULTS.md.
#   bench/fuzz.sh            # run and print
#   RUNS=1000000 bench/fuzz.sh --write
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-100000}
write=${1:-}
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DTRAINFLEET_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build-fuzz -j "$(nproc)" >/dev/null

table="| target | executions | seconds | exec/s | crashes | timeouts | leaks | out of memory | seeds -> corpus |
|---|---|---|---|---|---|---|---|---|"
status=0
for bin in build-fuzz/tests/fuzz/fuzz_*; do
  [ -x "$bin" ] && [ -f "$bin" ] || continue
  t=$(basename "$bin")
  work=$(mktemp -d) art=$(mktemp -d) log=$(mktemp)
  seeds=$(find "tests/fuzz/corpus/$t" -type f 2>/dev/null | wc -l)
  start=$(date +%s.%N)
  set +e
  ASAN_OPTIONS=detect_leaks=1 "$bin" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$art/" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  count() { find "$art" -name "$1-*" | wc -l; }
  crashes=$(count crash) timeouts=$(count timeout) leaks=$(count leak) ooms=$(count oom)
  corpus=$(( $(find "$work" -type f | wc -l) + seeds ))
  rate=$(awk -v n="${execs:-0}" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  table+=$'\n'"| \`$t\` | ${execs:-?} | $(printf %.0f "$secs") | $rate | $crashes | $timeouts | $leaks | $ooms | $seeds -> $corpus |"
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "$t exited with $rc; log: $log, artifacts: $art" >&2
    tail -40 "$log" >&2
  else
    rm -rf "$work" "$art" "$log"
  fi
done
echo "$table"
if [ "$write" = --write ]; then
  python3 - "$table" <<'PY'
import sys, re
table = sys.argv[1]
p = "bench/RESULTS.md"
s = open(p).read()
begin, end = "<!-- fuzz:begin -->", "<!-- fuzz:end -->"
s = s[: s.index(begin) + len(begin)] + "\n" + table + "\n" + s[s.index(end):]
open(p, "w").write(s)
PY
fi
exit $status

#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer,
# in build-fuzz/) and runs each for RUNS executions (default 100000) from its seed
# corpus in tests/fuzz/corpus/<target>/, with leak detection on; MAX_SECONDS
# (unset: no limit) stops a target earlier, and the table then shows how many
# executions it reached. Prints one Markdown row per target: RUNS, executions,
# seconds, edges covered (libFuzzer's cov), crashes, timeouts, leaks,
# out-of-memory, corpus growth, and whether it reached RUNS. With --write, the
# table replaces the one between the fuzz markers in bench/RESULTS.md; with
# TARGETS (names, space-separated; an unknown name is refused) only those
# targets run, and --write replaces only their rows.
#   bench/fuzz.sh            # run and print
#   TARGETS=fuzz_h5 bench/fuzz.sh --write
#   RUNS=1000000 bench/fuzz.sh --write
#   MAX_SECONDS=600 PARALLEL=1 bench/fuzz.sh --write
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-100000}
limit=()
[ -n "${MAX_SECONDS:-}" ] && limit=(-max_total_time="$MAX_SECONDS")
write=${1:-}
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DTRAINFLEET_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build-fuzz -j "$(nproc)" >/dev/null
for t in ${TARGETS:-}; do
  [ -f "build-fuzz/tests/fuzz/$t" ] && [ -x "build-fuzz/tests/fuzz/$t" ] || { echo "TARGETS: no fuzz target $t (there are: $(cd build-fuzz/tests/fuzz && ls -d fuzz_* | grep -v '\.' | tr '\n' ' '))" >&2; exit 2; }
done

table="| target | runs asked | executions | seconds | exec/s | edges covered | crashes | timeouts | leaks | out of memory | seeds -> corpus | reached |
|---|---|---|---|---|---|---|---|---|---|---|---|"
# run_target BIN ROWFILE: runs one target, writes its table row to ROWFILE;
# returns libFuzzer's exit code (the log and artifacts are kept when it is not 0).
run_target() {
  local bin=$1 out=$2 t work art log seeds start rc secs execs cov corpus rate reached
  t=$(basename "$bin")
  work=$(mktemp -d) art=$(mktemp -d) log=$(mktemp)
  seeds=$(find "tests/fuzz/corpus/$t" -type f 2>/dev/null | wc -l)
  start=$(date +%s.%N)
  set +e
  ASAN_OPTIONS=detect_leaks=1 "$bin" -runs="$runs" ${limit[@]+"${limit[@]}"} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$art/" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  cov=$(grep -o ' cov: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  count() { find "$art" -name "$1-*" | wc -l; }
  corpus=$(( $(find "$work" -type f | wc -l) + seeds ))
  rate=$(awk -v n="${execs:-0}" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  reached=no; [ "${execs:-0}" -ge "$runs" ] && reached=yes
  echo "| \`$t\` | $runs | ${execs:-?} | $(printf %.0f "$secs") | $rate | ${cov:-?} | $(count crash) | $(count timeout) | $(count leak) | $(count oom) | $seeds -> $corpus | $reached |" >"$out"
  if [ "$rc" -ne 0 ]; then
    echo "$t exited with $rc; log: $log, artifacts: $art" >&2
    tail -40 "$log" >&2
  else
    rm -rf "$work" "$art" "$log"
  fi
  return "$rc"
}

# PARALLEL=1 runs the targets at the same time (one process each).
rows=$(mktemp -d)
status=0
pids=()
for bin in build-fuzz/tests/fuzz/fuzz_*; do
  [ -x "$bin" ] && [ -f "$bin" ] || continue
  if [ -n "${TARGETS:-}" ] && [[ " $TARGETS " != *" $(basename "$bin") "* ]]; then continue; fi
  if [ "${PARALLEL:-0}" = 1 ]; then
    run_target "$bin" "$rows/$(basename "$bin")" & pids+=($!)
  else
    run_target "$bin" "$rows/$(basename "$bin")" || status=1
  fi
done
for p in ${pids[@]+"${pids[@]}"}; do wait "$p" || status=1; done
for r in "$rows"/*; do table+=$'\n'"$(cat "$r")"; done
rm -rf "$rows"
echo "$table"
if [ "$write" = --write ]; then
  python3 - "$table" <<'PY'
import os, sys
table = sys.argv[1]
p = "bench/RESULTS.md"
s = open(p).read()
begin, end = "<!-- fuzz:begin -->", "<!-- fuzz:end -->"
i, j = s.index(begin) + len(begin), s.index(end)
old = [l for l in s[i:j].strip("\n").split("\n") if l.startswith("| `")]
new = [l for l in table.split("\n") if l.startswith("| `")]
ran = {l.split("|")[1] for l in new}
kept = [l for l in old if l.split("|")[1] not in ran] if os.environ.get("TARGETS") else []
rows = sorted(kept + new)
head = table.split("\n")[:2]
s = s[:i] + "\n" + "\n".join(head + rows) + "\n" + s[j:]
open(p, "w").write(s)
PY
fi
exit $status

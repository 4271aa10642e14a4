#!/usr/bin/env bash
# trainfleet's checks against the real Slurm cluster that cluster.sh started.
# Every job goes through `sbatch` with the templates in slurm/.
#   checks.sh NAME...  NAME: mpi_cv | array_cv | usr1_requeue | preemption | bad_config | rank_failure | chain
#                            | placement | multinode | node_failure
# Several names run at once (their jobs share the cluster; each check's jobs
# run in its own folder), and the command fails when any of them fails.
# Needs TF_SLURM_BASE (the cluster), TF_SOURCE_DIR (the project) and TF_BINARY.
set -euo pipefail
BASE=${TF_SLURM_BASE:?}
SRC=${TF_SOURCE_DIR:?}
BIN=${TF_BINARY:?}
name=${1:?usage: checks.sh NAME...}
if [ $# -gt 1 ]; then
  mkdir -p "$BASE/work"
  pids=()
  for n in "$@"; do "$0" "$n" > "$BASE/work/$n.log" 2>&1 & pids+=($!); done
  rc=0 i=0
  for n in "$@"; do
    wait "${pids[$i]}" || rc=1
    i=$((i + 1))
    echo "=== $n"; cat "$BASE/work/$n.log"
  done
  exit $rc
fi
[ -f "$BASE/env.sh" ] || { echo "no cluster in $BASE (cluster.sh up failed?)"; exit 1; }
# shellcheck disable=SC1091
source "$BASE/env.sh"
export TRAINFLEET_HOME=$SRC TRAINFLEET_BIN=$BIN
PY=/usr/bin/python3

W=$BASE/work/$name
rm -rf "$W"
mkdir -p "$W"
cd "$W"   # jobs run in the folder they are submitted from
T0=$(date +%s.%N)
log() { echo "[$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%6.1f", b-a}')s] $*"; }
fail() {
  echo "FAIL ($name): $*"
  for f in "$W"/*.out; do [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }; done
  squeue 2>/dev/null || true
  # Only this check's jobs (submitted from its folder): other checks may be running.
  squeue -h -o '%i %Z' 2>/dev/null | awk -v w="$W" '$2 == w {print $1}' | xargs -r scancel --quiet 2>/dev/null || true
  exit 1
}

TERMINAL='COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE|OUT_OF_MEMORY'
field() { scontrol -o show job "$1" | grep -o " $2=[^ ]*" | head -n1 | cut -d= -f2; }
wait_job() {  # wait_job ID [TIMEOUT]: until every record of ID is in a final state (not sbatch --wait: it polls slowly)
  local end=$(( $(date +%s) + ${2:-120} )) st
  while :; do
    st=$(scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 || true)
    if [ -n "$st" ] && ! grep -qvE "^($TERMINAL)\$" <<<"$st"; then return 0; fi
    [ "$(date +%s)" -lt "$end" ] || fail "job $1 not finished after ${2:-120}s (state: $(echo $st))"
    sleep 1   # each scontrol call costs the 2-core machine: several checks poll at once
  done
}
wait_for() {  # wait_for TIMEOUT DESCRIPTION COMMAND...: until COMMAND succeeds
  local end=$(( $(date +%s) + $1 )) what=$2
  shift 2
  until "$@"; do [ "$(date +%s)" -lt "$end" ] || fail "timed out waiting for $what"; sleep 0.5; done
}
expect_state() { [ "$(field "$1" JobState)" = "$2" ] || fail "job $1 is $(field "$1" JobState), expected $2"; }

# Small data and configs.
"$BIN" make-data --out tune.h5 --samples 400 --steps 128 --seed 2 >/dev/null 2>&1  # trials of a second or more (a few more with slow:30)
source "$SRC/tests/small_cv.sh"
small_cv "$W" 6
echo "runtime: {resume_min_interval_s: 0.5}" >> cv.yaml
cat > tune.yaml <<YAML
experiment: {name: tune, seed: 3, output_dir: $W/runs}
data: {path: $W/tune.h5, validation_split: 0.25, test_split: 0.0}
model: {name: mlp, mlp: {hidden_units: [64], dropout: 0.1}}
training: {epochs: 150, batch_size: 16, optimizer: sgd, callbacks: {early_stopping: false, model_checkpoint: false}}
tuning:
  sampler: grid
  space:
    training.learning_rate: {type: float, low: 1.0e-3, high: 1.0e-1, log: true, values: [0.003, 0.03]}
    training.batch_size: {type: int, low: 16, high: 32, step: 16}
runtime: {resume_min_interval_s: 0.5}
YAML

same_cv() {  # same_cv A B: the two cv_results.json agree on every fold score and the pooled scores
  $PY - "$1" "$2" <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
drop = ("group", "seconds")  # where and how fast a fold ran
fa, fb = ([{k: v for k, v in f.items() if k not in drop} for f in r["folds"]] for r in (a, b))
if fa != fb:
    sys.exit(f"fold scores differ:\n{fa}\n{fb}")
for k in ("summary", "pooled_oof"):
    if a[k] != b[k]:
        sys.exit(f"{k} differs:\n{a[k]}\n{b[k]}")
PYEOF
}
trials() {  # the trials table without timing and group columns
  $PY - "$1" <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for r in rows:
    print({k: v for k, v in r.items() if k not in ("duration_s", "group")})
PYEOF
}
# The uninterrupted study of tune.yaml, run once per cluster (under a lock)
# and shared by the checks that compare with it; its data file has the same
# rows as each check's (same seed).
reference_tune() {
  local ref=$BASE/work/reference-tune
  (
    flock 9
    [ -f "$ref/done" ] && exit 0
    rm -rf "$ref" && mkdir -p "$ref"
    sed "s|$W/|$ref/|g" "$W/tune.yaml" > "$ref/tune.yaml"
    cp "$W/tune.h5" "$ref/tune.h5"
    "$BIN" tune "$ref/tune.yaml" --threads 1 --set experiment.output_dir="$ref/direct" > "$ref/direct.log" 2>&1
    touch "$ref/done"
  ) 9> "$BASE/work/reference-tune.lock"
}
# Every trial finished exactly once, none is left running.
one_finish_per_trial() {
  $PY - "$1" <<'PYEOF'
import json, sys, collections
starts, finishes = collections.Counter(), collections.Counter()
for line in open(sys.argv[1]):
    rec = json.loads(line.rsplit("\t", 1)[0])
    if rec.get("op") == "start": starts[rec["trial"]] += 1
    if rec.get("op") == "finish": finishes[rec["trial"]] += 1
bad = {t: n for t, n in finishes.items() if n != 1}
if bad or set(starts) != set(finishes):
    sys.exit(f"finish records per trial: {dict(finishes)}; started: {dict(starts)}")
PYEOF
}

# placement FILE: the "rank R on HOST: local rank L of N, group G, T thread(s),
# CUDA_VISIBLE_DEVICES=D" lines that rank 0 logs, as "R HOST L N G T D", by rank.
placement() {
  sed -n 's/.*\] info rank \([0-9]*\) on \([^:]*\): local rank \([0-9]*\) of \([0-9]*\), group \([0-9]*\), \([0-9]*\) thread(s), CUDA_VISIBLE_DEVICES=\(.*\)$/\1 \2 \3 \4 \5 \6 \7/p' "$1" |
    sort -n -k1,1 -u
}
# uneven_placement FILE: the placement expected for one group per rank on the
# hosts the ranks report (Slurm chooses which node gets 2 ranks and which 1):
# local ranks in rank order, threads = cores / ranks on the host, GPU = the
# local rank's entry of the node's list "0,1".
uneven_placement() {
  [ "$(placement "$1" | cut -d' ' -f2 | sort | uniq -c | awk '{print $1}' | sort | tr '\n' ' ')" = "1 2 " ] ||
    fail "$1: the 3 ranks are not 2 + 1 on two nodes"
  placement "$1" | awk -v cores="$(nproc)" '{ r[NR] = $1; h[NR] = $2; n[$2]++ }
    END { for (i = 1; i <= NR; i++) { l = seen[h[i]]++; t = int(cores / n[h[i]]); if (t < 1) t = 1
                                      print r[i], h[i], l, n[h[i]], r[i], t, l % 2 } }'
}
expect_placement() {  # expect_placement FILE WHAT EXPECTED (lines "R HOST L N G T D")
  local got
  got=$(placement "$1")
  [ "$got" = "$3" ] || fail "$2: rank placement
$got
expected
$3"
}

case "$name" in
mpi_cv)  # (1) a 2-rank CV job via srun --mpi=pmix and via mpirun ends as the direct run
  "$BIN" cv cv.yaml --threads 1 --set experiment.output_dir="$W/direct" > direct.log 2>&1 || fail "direct run"
  a=$(sbatch --parsable -n 2 -c 1 -o srun-%j.out "$SRC/slurm/cpu.sbatch" cv cv.yaml --ranks-per-run 1 \
      --set experiment.output_dir="$W/srun")
  b=$(sbatch --parsable -n 2 -c 1 -o mpirun-%j.out --export=ALL,TRAINFLEET_LAUNCH=mpirun \
      "$SRC/slurm/cpu.sbatch" cv cv.yaml --ranks-per-run 1 --set experiment.output_dir="$W/mpirun")
  wait_job "$a"; wait_job "$b"
  expect_state "$a" COMPLETED; expect_state "$b" COMPLETED
  grep -q "2 rank(s) as 2 group(s)" "srun-$a.out" || fail "srun job did not run 2 ranks"
  grep -q "2 rank(s) as 2 group(s)" "mpirun-$b.out" || fail "mpirun job did not run 2 ranks"
  d=$(ls "$W"/direct/cv/*/cv_results.json)
  same_cv "$d" "$(ls "$W"/srun/cv/*/cv_results.json)" || fail "srun results differ from the direct run"
  same_cv "$d" "$(ls "$W"/mpirun/cv/*/cv_results.json)" || fail "mpirun results differ from the direct run"
  log "srun --mpi=pmix and mpirun jobs: the same fold scores as the direct run"
  ;;

array_cv)  # (2) a job array of 4 tasks runs the 4 folds; a dependent job aggregates them
  "$BIN" cv cv.yaml --threads 1 --set experiment.output_dir="$W/direct" > direct.log 2>&1 || fail "direct run"
  a=$(sbatch --parsable --array=0-3 -n 1 -c 1 -o "array-%A_%a.out" "$SRC/slurm/cv-array.sbatch" cv.yaml)
  g=$(sbatch --parsable --dependency=afterok:"$a" -o "aggregate-%j.out" "$SRC/slurm/cv-aggregate.sbatch" cv.yaml)
  [ "$(field "$g" JobState)" = PENDING ] || fail "the aggregating job did not wait for the array"
  wait_job "$a"; wait_job "$g"
  n=$(scontrol -o show job "$a" | grep -c 'JobState=COMPLETED')
  [ "$n" = 4 ] || fail "$n of 4 array tasks completed"
  expect_state "$g" COMPLETED
  for k in 0 1 2 3; do
    grep -q "starts fold_0$k" "array-${a}_$k.out" || fail "array task $k did not train fold $k"
    [ "$(grep -c 'starts fold_' "array-${a}_$k.out")" = 1 ] || fail "array task $k trained more than its fold"
  done
  grep -q "resuming: 4 done already" "aggregate-$g.out" || fail "the aggregating job did not find the 4 folds"
  grep -q "starts fold_" "aggregate-$g.out" && fail "the aggregating job trained a fold"
  same_cv "$(ls "$W"/direct/cv/*/cv_results.json)" "$(ls "$W"/runs/cv/*/cv_results.json)" ||
    fail "array results differ from the direct run"
  log "array of 4 folds + afterok aggregation: the direct run's results"
  ;;

usr1_requeue|preemption)  # (3) SIGUSR1 mid-trial, (4) preemption by a high-priority partition's job
  # The uninterrupted reference runs meanwhile (its results do not depend on the load).
  reference_tune &
  direct=$!
  study=$("$BIN" config --print-run-dir tune tune.yaml)
  # A trial on each rank. SIGUSR1: two ranks on one node. Preemption: a
  # 2-node job of 4 ranks that fills both nodes, so a high-priority job must preempt it.
  shape=(-n 2); [ "$name" = preemption ] && shape=(-N 2 --ntasks-per-node=2)
  # Each epoch sleeps 30 ms (jobs/fault.h): trials last seconds however fast the machine, so they are mid-run when signalled.
  j=$(TRAINFLEET_FAULT_INJECT=slow:30 sbatch --parsable -p debug "${shape[@]}" -c 1 -o "tune-%j.out" \
      "$SRC/slurm/tune.sbatch" tune.yaml --ranks-per-run 1)
  # Wait until the running trials have written resume checkpoints (trials last a few seconds).
  has_checkpoint() {
    grep -qE "^($TERMINAL)\$" <<<"$(field "$j" JobState)" && fail "job $j ended early"
    [ "$(ls "$study"/trials/trial_000[0-9]/resume/state.json 2>/dev/null | wc -l)" -ge 2 ]
  }
  wait_for 90 "checkpoints of the running trials" has_checkpoint
  if [ "$name" = usr1_requeue ]; then
    scancel --signal=USR1 --batch "$j"
    log "sent SIGUSR1 to the batch shell of job $j"
  else
    h=$(sbatch --parsable -p high -n 1 -c 1 -o "high-%j.out" --wrap 'echo HIGH_PRIORITY_RAN')
    log "submitted high-priority job $h"
    wait_job "$h" 120
    grep -q HIGH_PRIORITY_RAN "high-$h.out" || fail "the high-priority job did not run"
    # Preemption (PreemptMode=REQUEUE, GraceTime) reaches the ranks as SIGTERM.
    grep -q "stopped by SIGTERM" "tune-$j.out" || fail "job $j was not preempted"
  fi
  wait_for 60 "the requeue of job $j" bash -c "[ \"\$(scontrol -o show job $j | grep -o ' Restarts=[0-9]*' | cut -d= -f2)\" -ge 1 ]"
  wait_job "$j" 180
  expect_state "$j" COMPLETED
  out=tune-$j.out
  grep -q "checkpoints written (exit 75)" "$out" || fail "trainfleet did not stop with its checkpoints"
  grep -q "restart 1" "$out" || fail "the requeued run is not in the (appended) output"
  grep -qE "resuming .*/trials/trial_[0-9]+ at epoch ([2-9]|[1-9][0-9])" "$out" ||
    fail "the interrupted trial did not continue from its checkpoint"
  one_finish_per_trial "$study/study.jsonl" || fail "a trial was lost or run twice"
  wait "$direct" || fail "the direct run failed: $(tail -n 5 "$BASE/work/reference-tune/direct.log")"
  [ "$(trials "$study/trials.csv")" = "$(trials "$(ls "$BASE"/work/reference-tune/direct/tune/*/trials.csv)")" ] ||
    fail "the trials differ from the uninterrupted run"
  log "$name: checkpointed, requeued, resumed; trials equal to the uninterrupted run"
  ;;

bad_config)  # (5) an invalid config fails at once with exit code 2 and the message in the output
  sed 's/epochs: 6/epochs: -3/' cv.yaml > bad.yaml
  j=$(sbatch --parsable -n 1 -c 1 -o "bad-%j.out" "$SRC/slurm/cpu.sbatch" train bad.yaml)
  wait_job "$j" 60
  expect_state "$j" FAILED
  [ "$(field "$j" ExitCode)" = "2:0" ] || fail "exit code $(field "$j" ExitCode), expected 2:0"
  grep -q "training.epochs" "bad-$j.out" || fail "the output does not name the bad key"
  secs=$(field "$j" RunTime | awk -F: '{print $(NF-2)*3600 + $(NF-1)*60 + $NF}')
  [ "$secs" -le 15 ] || fail "the job ran ${secs}s before failing"
  [ -d "$W/runs" ] && fail "a run folder was created for an invalid config"
  log "invalid config: FAILED with 2:0 in ${secs}s; the output names the key"
  ;;

rank_failure)  # a rank killed with SIGKILL mid-run: the job fails in bounded time, a requeue resumes it
  sed 's/epochs: 6/epochs: 120/' cv.yaml > long.yaml
  j=$(TRAINFLEET_FAULT_INJECT=slow:50 sbatch --parsable -n 2 -c 1 -o "train-%j.out" "$SRC/slurm/cpu.sbatch" train \
      long.yaml --set runtime.collective_timeout_s=20)  # 50 ms an epoch (jobs/fault.h): still running when killed
  run=$W/runs/cv/job-$j
  wait_for 90 "a resume checkpoint of the run" test -f "$run/resume/state.json"
  victim=""
  find_rank1() {
    for p in $(pgrep -x trainfleet); do
      tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "SLURM_PROCID=1" &&
        tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "SLURM_JOB_ID=$j" && victim=$p
    done
    [ -n "$victim" ]
  }
  # Seen failing once at the first look while both ranks were training: look again for 10 s, and show what
  # runs when it still fails.
  wait_for 10 "rank 1 of job $j (processes: $(ps -eo pid,comm,args | grep -c '[t]rainfleet'))" find_rank1
  t=$(date +%s)
  kill -9 "$victim"
  log "killed rank 1 (pid $victim) of job $j"
  wait_job "$j" 60
  took=$(( $(date +%s) - t ))
  expect_state "$j" FAILED
  [ "$took" -lt 20 ] || fail "the job took ${took}s to end (collective timeout 20 s)"
  log "job $j FAILED ${took}s after the kill"
  scontrol requeue "$j"
  wait_for 60 "the requeue of job $j" bash -c "[ \"\$(scontrol -o show job $j | grep -o ' Restarts=[0-9]*' | cut -d= -f2)\" -ge 1 ]"
  wait_job "$j" 240
  expect_state "$j" COMPLETED
  grep -qE "resuming .*job-$j at epoch ([2-9]|[1-9][0-9])" "train-$j.out" || fail "the requeued job did not resume"
  [ -f "$run/summary.json" ] || fail "no summary.json after the resumed run"
  log "requeued job resumed from its checkpoint and completed"
  ;;

chain)  # slurm/chain.sh: tune -> retrain the best -> evaluate, chained with afterok; configs-array.sbatch
  sed -e 's/epochs: 150/epochs: 3/' tune.yaml > chain.yaml
  cp cv.yaml a.yaml; sed 's/seed: 3/seed: 4/' cv.yaml > b.yaml
  out=$(TRAINFLEET_SBATCH_ARGS="-n 1 -c 1" "$SRC/slurm/chain.sh" chain.yaml "$W/tune.h5")
  log "$out"
  ids=$(grep -o '[0-9]\+' <<<"${out%%(*}" | head -n 3)
  [ "$(wc -w <<<"$ids")" = 3 ] || fail "chain.sh did not submit three jobs: $out"
  arr=$(sbatch --parsable --array=0-1 -n 1 -c 1 -o "configs-%A_%a.out" "$SRC/slurm/configs-array.sbatch" a.yaml b.yaml)
  for j in $ids; do wait_job "$j" 180; expect_state "$j" COMPLETED; done
  wait_job "$arr" 120
  [ "$(scontrol -o show job "$arr" | grep -c 'JobState=COMPLETED')" = 2 ] || fail "configs array: not both tasks completed"
  ev=$(set -- $ids; echo "$3")
  grep -q "f1_macro" trainfleet-evaluate-"$ev".out || fail "the evaluate job printed no metrics"
  study=$("$BIN" config --print-run-dir tune chain.yaml)
  ls -d "$study"/retrain/*/ >/dev/null 2>&1 || fail "no retrained run in $study/retrain"
  for k in 0 1; do [ -f "$W/runs/cv/job-${arr}_$k/summary.json" ] || fail "configs array task $k: no run job-${arr}_$k"; done
  log "chain: tune -> retrain -> evaluate completed in order; configs array trained both configs"
  ;;

placement)  # threads and GPUs per rank on two nodes with 2 and 1 ranks, as each rank reports them
  # No --cpus-per-task: threads come from the node's cores and its ranks (2 cores: 1 and 2 threads).
  # Slurm gives each node's tasks CUDA_VISIBLE_DEVICES=0,1 (fake GPUs); each rank keeps one.
  cmd="$SRC/launcher/trainfleet-slurm --launch \$L cv cv.yaml --ranks-per-run 1 --set training.epochs=1 --set experiment.output_dir=$W/\$L"
  a=$(sbatch --parsable -N 2 -n 3 --gpus-per-node=2 -o srun-%j.out --export=ALL,L=srun --wrap "$cmd")
  b=$(sbatch --parsable -N 2 -n 3 --gpus-per-node=2 -o mpirun-%j.out --export=ALL,L=mpirun --wrap "$cmd")
  wait_job "$a"; wait_job "$b"
  expect_state "$a" COMPLETED; expect_state "$b" COMPLETED
  expect_placement "srun-$a.out" "srun" "$(uneven_placement "srun-$a.out")"
  expect_placement "mpirun-$b.out" "mpirun" "$(uneven_placement "mpirun-$b.out")"
  log "srun and mpirun on 2+1 ranks: local ranks, threads (1, 1 | 2) and GPUs (0, 1 | 0) as expected"
  placement "srun-$a.out"
  ;;

multinode)  # slurm/multi-node.sbatch on sbatch -N 2: one run per node (--ranks-per-run = ranks per node)
  # The same layout on one machine without Slurm (4 ranks, 2 per run) is the reference.
  TRAINFLEET_NO_GPU_BINDING=1 "$SRC/launcher/trainfleet-run" -n 4 cv cv.yaml --ranks-per-run 2 \
    --set experiment.output_dir="$W/single" > single.log 2>&1 &
  single=$!
  args=(-N 2 --ntasks-per-node=2 --gpus-per-node=2 -c 1)
  a=$(sbatch --parsable "${args[@]}" -o srun-%j.out "$SRC/slurm/multi-node.sbatch" cv cv.yaml --ranks-per-run 2 \
      --set runtime.device=cpu --set experiment.output_dir="$W/srun")
  b=$(sbatch --parsable "${args[@]}" -o mpirun-%j.out --export=ALL,TRAINFLEET_LAUNCH=mpirun \
      "$SRC/slurm/multi-node.sbatch" cv cv.yaml --ranks-per-run 2 --set runtime.device=cpu \
      --set experiment.output_dir="$W/mpirun")
  wait "$single" || fail "the single-machine run failed: $(tail -n 5 single.log)"
  wait_job "$a"; wait_job "$b"
  expect_state "$a" COMPLETED; expect_state "$b" COMPLETED
  want="0 n1 0 2 0 1 0
1 n1 1 2 0 1 1
2 n2 0 2 1 1 0
3 n2 1 2 1 1 1"
  for f in "srun-$a.out" "mpirun-$b.out"; do
    grep -q "4 rank(s) as 2 group(s) of 2" "$f" || fail "$f: not 4 ranks in 2 groups"
    expect_placement "$f" "${f%%-*}" "$want"
  done
  d=$(ls "$W"/single/cv/*/cv_results.json)
  same_cv "$d" "$(ls "$W"/srun/cv/*/cv_results.json)" || fail "srun results differ from the single-machine run"
  same_cv "$d" "$(ls "$W"/mpirun/cv/*/cv_results.json)" || fail "mpirun results differ from the single-machine run"
  log "2 nodes x 2 ranks, one group per node, via srun and mpirun: the single-machine results"
  ;;

node_failure)  # every rank on one node killed mid-training: the job ends in bounded time, naming the node
  sed 's/epochs: 6/epochs: 400/' cv.yaml > long.yaml
  j=$(sbatch --parsable -N 2 --ntasks-per-node=2 -c 1 -o "train-%j.out" "$SRC/slurm/cpu.sbatch" train long.yaml \
      --set runtime.collective_timeout_s=20)
  wait_for 90 "a resume checkpoint of the run" test -f "$W/runs/cv/job-$j/resume/state.json"
  victims=""
  for p in $(pgrep -x trainfleet); do
    env=$(tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null) || continue
    grep -qx "SLURM_JOB_ID=$j" <<<"$env" && grep -qx "SLURMD_NODENAME=n2" <<<"$env" && victims+=" $p"
  done
  [ "$(wc -w <<<"$victims")" = 2 ] || fail "expected the 2 ranks of job $j on n2, found:$victims"
  t=$(date +%s)
  kill -9 $victims
  log "killed the ranks on n2 (pids$victims) of job $j"
  wait_job "$j" 60
  took=$(( $(date +%s) - t ))
  expect_state "$j" FAILED
  [ "$took" -lt 20 ] || fail "the job took ${took}s to end (collective timeout 20 s)"
  grep -E "n2" "train-$j.out" | grep -qiE "kill|fail|exit|abort" || fail "the output does not name node n2"
  log "job $j FAILED ${took}s after the kill; the output names n2: $(grep -E 'n2' "train-$j.out" | grep -iE 'kill|fail|exit|abort' | head -n 1)"
  ;;

*) echo "unknown check $name"; exit 2 ;;
esac
echo "PASS ($name)"

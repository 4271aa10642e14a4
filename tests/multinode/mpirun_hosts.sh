#!/usr/bin/env bash
# Multi-node without Slurm, on one machine: mpirun with a hostfile of two fake
# hosts (nodea, nodeb; 2 slots each) and fake-ssh as its rsh agent, which runs
# each host's Open MPI daemon here under that host's name. The launcher sees
# two GPUs per host (the nvidia-smi stand-in). Checks, from what each rank
# reports: the ranks per host, their node-local ranks, threads and GPUs; that
# --ranks-per-run 2 gives one run per host; and that the results equal those
# of the same 4 ranks on one host.
# Needs TF_SOURCE_DIR and TF_BINARY; exit 77 (skipped) without mpirun or unshare,
# or when not root (unshare --uts).
set -euo pipefail
SRC=${TF_SOURCE_DIR:?}
BIN=${TF_BINARY:?}
here=$(cd "$(dirname "$0")" && pwd)
for b in mpirun unshare; do command -v "$b" >/dev/null || { echo "mpirun_hosts.sh: no $b"; exit 77; }; done
[ "$(id -u)" = 0 ] || { echo "mpirun_hosts.sh: unshare --uts needs root"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 TRAINFLEET_BIN=$BIN
# Open MPI's UCX one-sided component fails between two fake hosts of one
# machine (MPI_Win_allocate: MPI_ERR_WIN); the point-to-point one works.
export OMPI_MCA_osc=pt2pt
W=$(mktemp -d "${TMPDIR:-/tmp}/trainfleet-hosts.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"
fail() { echo "FAIL: $*"; for f in "$W"/*.log; do echo "== $f"; tail -n 30 "$f"; done; exit 1; }

source "$SRC/tests/small_cv.sh"
small_cv "$W" 3
printf 'nodea slots=2\nnodeb slots=2\n' > hostfile

# The fake hosts; the ranks fill nodea's slots first (ranks 0, 1), then nodeb's.
PATH="$here:$PATH" mpirun -np 4 --hostfile hostfile --mca plm_rsh_agent "$here/fake-ssh" --bind-to none \
  -x PATH -x TRAINFLEET_BIN "$SRC/launcher/trainfleet-run" cv cv.yaml --ranks-per-run 2 \
  --set experiment.output_dir="$W/hosts" > hosts.log 2>&1 || fail "the run on the fake hosts failed"
# The reference: the same 4 ranks on this host.
TRAINFLEET_NO_GPU_BINDING=1 "$SRC/launcher/trainfleet-run" -n 4 cv cv.yaml --ranks-per-run 2 \
  --set experiment.output_dir="$W/single" > single.log 2>&1 || fail "the run on one host failed"

got=$(sed -n 's/.*\] info rank \([0-9]*\) on \([^:]*\): local rank \([0-9]*\) of \([0-9]*\), group \([0-9]*\), \([0-9]*\) thread(s), CUDA_VISIBLE_DEVICES=\(.*\)$/\1 \2 \3 \4 \5 \6 \7/p' hosts.log | sort -n -u)
threads=$(( $(nproc) / 2 )); [ "$threads" -ge 1 ] || threads=1
want="0 nodea 0 2 0 $threads 0
1 nodea 1 2 0 $threads 1
2 nodeb 0 2 1 $threads 0
3 nodeb 1 2 1 $threads 1"
[ "$got" = "$want" ] || fail "rank placement (rank host local-rank of group threads GPU):
$got
expected
$want"
grep -q "4 rank(s) as 2 group(s) of 2" hosts.log || fail "not 4 ranks in 2 groups"
/usr/bin/python3 - "$(ls "$W"/hosts/cv/*/cv_results.json)" "$(ls "$W"/single/cv/*/cv_results.json)" <<'PYEOF' || fail "the results differ from the run on one host"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
drop = ("group", "seconds")
fa, fb = ([{k: v for k, v in f.items() if k not in drop} for f in r["folds"]] for r in (a, b))
if fa != fb or a["summary"] != b["summary"] or a["pooled_oof"] != b["pooled_oof"]:
    sys.exit(f"fold scores differ:\n{fa}\n{fb}")
PYEOF
echo "PASS: 2 fake hosts x 2 ranks, one run per host, GPUs 0/1 per host; the results of one host"

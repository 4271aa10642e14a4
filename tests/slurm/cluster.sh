#!/usr/bin/env bash
# A throw-away Slurm cluster of two nodes on this one machine for the tests:
# munged, slurmctld and one slurmd per node (n1, n2), as root, without systemd
# or cgroups, all state under $TF_SLURM_BASE. Each slurmd runs in its own UTS
# namespace whose hostname is the node's name, so every process of a job sees
# the node it runs on (Open MPI's shared-memory transport names its files after
# the host: two "nodes" with one hostname would collide). Each node offers the
# machine's cores. TF_SLURM_PORT (default 16817) is the first port tried.
#   cluster.sh up     start it (after stopping whatever an earlier run left)
#   cluster.sh down   cancel every job and stop the daemons
# `up` writes $TF_SLURM_BASE/env.sh, which the checks source (SLURM_CONF, ...).
# Exit 77 (ctest: skipped) when Slurm or munge is not installed.
set -euo pipefail
BASE=${TF_SLURM_BASE:?set TF_SLURM_BASE}
action=${1:?usage: cluster.sh up|down}

for b in slurmctld slurmd munged mungekey sbatch scontrol unshare; do
  command -v "$b" >/dev/null || { echo "cluster.sh: $b not installed (apt-get install slurm-wlm munge)"; exit 77; }
done

stop_pid() {  # stop_pid PIDFILE COMM: only if the pid still runs that program
  local f=$1 comm=$2 p
  p=$(cat "$f" 2>/dev/null) || return 0   # gone: the daemon stopped and removed it
  [ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$comm" ] || return 0
  kill "$p" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
}

down() {
  if [ -f "$BASE/env.sh" ]; then
    # shellcheck disable=SC1091
    source "$BASE/env.sh"
    if [ -s "$BASE/run/slurmctld.pid" ]; then
      scancel --quiet --user="$(id -un)" 2>/dev/null || true   # slurmstepd outlives slurmd: jobs first
      for _ in $(seq 100); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.2; done
      scontrol shutdown >/dev/null 2>&1 || true
    fi
  fi
  for f in "$BASE"/run/slurmd-*.pid; do stop_pid "$f" slurmd; done
  stop_pid "$BASE/run/slurmctld.pid" slurmctld
  stop_pid "$BASE/run/munged.pid" munged
  pkill -9 -f "$BASE/" 2>/dev/null || true   # anything a job left behind
}

if [ "$action" = down ]; then
  down
  echo "cluster.sh: down"
  exit 0
fi
[ "$action" = up ] || { echo "usage: cluster.sh up|down" >&2; exit 2; }

down
rm -rf "$BASE"
NODES=(n1 n2)
mkdir -p "$BASE"/{etc,munge,msock,spool/ctld,log,run,work}
for n in "${NODES[@]}"; do mkdir -p "$BASE/spool/d-$n" "$BASE/tmp-$n"; done
# Two fake GPUs per node: Slurm only needs character devices to stand for them
# (links to /dev/null and /dev/zero), and sets CUDA_VISIBLE_DEVICES from their
# numbers for the tasks of jobs that ask for GPUs (--gpus-per-node).
mkdir -p "$BASE/dev"
ln -s /dev/null "$BASE/dev/nvidia0"; ln -s /dev/zero "$BASE/dev/nvidia1"
chmod 700 "$BASE/munge"
chmod 755 "$BASE/msock"   # munged requires its socket folder to be world-executable
trap 'rc=$?; if [ $rc != 0 ]; then for f in "$BASE"/log/*.log; do echo "== $f"; tail -n 20 "$f"; done; down; fi' EXIT

free_port() {  # first free TCP port from $1
  local p=$1
  while ss -Hltn "sport = :$p" | grep -q .; do p=$((p + 1)); done
  echo "$p"
}
host=$(hostname -s)
hw=$(slurmd -C | head -n1 | sed 's/^NodeName=[^ ]* //')   # the machine as slurmd sees it (more RealMemory drains it)
ctld_port=$(free_port "${TF_SLURM_PORT:-16817}")
node_lines=""
p=$ctld_port
for n in "${NODES[@]}"; do
  p=$(free_port $((p + 1)))
  node_lines+="NodeName=$n NodeHostname=$n NodeAddr=127.0.0.1 Port=$p $hw Gres=gpu:2 State=UNKNOWN"$'\n'
done
sock=$BASE/msock/munge.socket

mungekey --create --keyfile="$BASE/munge/munge.key"
munged --key-file="$BASE/munge/munge.key" --socket="$sock" --pid-file="$BASE/run/munged.pid" \
       --log-file="$BASE/log/munged.log" --seed-file="$BASE/munge/munged.seed"
munge -S "$sock" -n | unmunge -S "$sock" >/dev/null

cat > "$BASE/etc/slurm.conf" <<CONF
ClusterName=trainfleet-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: also how long a requeued job waits before it may run again
AuthInfo=socket=$sock,cred_expire=10
StateSaveLocation=$BASE/spool/ctld
# %n: the node's name; one spool folder, pid file and log per slurmd
SlurmdSpoolDir=$BASE/spool/d-%n
SlurmdPidFile=$BASE/run/slurmd-%n.pid
SlurmdLogFile=$BASE/log/slurmd-%n.log
# mpi/pmix keeps its per-step folder under TmpFS: it must differ per node
TmpFS=$BASE/tmp-%n
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=pmix
GresTypes=gpu
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,bf_interval=1,sched_interval=1
DependencyParameters=kill_invalid_depend
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
KillWait=10
MinJobAge=600
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
${node_lines}PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=REQUEUE GraceTime=30
PartitionName=high Nodes=ALL Default=NO MaxTime=INFINITE State=UP PriorityTier=10 PreemptMode=OFF
CONF

echo "NodeName=$(IFS=,; echo "${NODES[*]}") Name=gpu File=$BASE/dev/nvidia[0-1]" > "$BASE/etc/gres.conf"

cat > "$BASE/env.sh" <<ENV
export SLURM_CONF=$BASE/etc/slurm.conf
export TF_SLURM_NODES="${NODES[*]}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Open MPI's UCX one-sided component fails between two fake nodes of one
# machine (MPI_Win_allocate: MPI_ERR_WIN); the point-to-point one works.
export OMPI_MCA_osc=pt2pt
ENV
# shellcheck disable=SC1091
source "$BASE/env.sh"
slurmctld -f "$SLURM_CONF"
for n in "${NODES[@]}"; do
  unshare --uts -- sh -c 'hostname "$0" && exec slurmd -f "$1" -N "$0"' "$n" "$SLURM_CONF"
done
for _ in $(seq 300); do
  states=$(sinfo -h -N -o '%N=%T' 2>/dev/null | sort -u | tr '\n' ' ')
  [ "$states" = "n1=idle n2=idle " ] && break
  sleep 0.1
done
[ "$states" = "n1=idle n2=idle " ] || { echo "cluster.sh: nodes are '$states', not both idle, after 30 s"; exit 1; }
trap - EXIT
echo "cluster.sh: up (nodes ${NODES[*]}, each $hw; slurmctld port $ctld_port)"

#!/usr/bin/env bash
# A throw-away single-node Slurm cluster for the tests: munged, slurmctld and
# slurmd on localhost, as root, without systemd or cgroups, all state under
# $TF_SLURM_BASE.
#   cluster.sh up     start it (after stopping whatever an earlier run left)
#   cluster.sh down   cancel every job and stop the daemons
# `up` writes $TF_SLURM_BASE/env.sh, which the checks source (SLURM_CONF, ...).
# Exit 77 (ctest: skipped) when Slurm or munge is not installed.
set -euo pipefail
BASE=${TF_SLURM_BASE:?set TF_SLURM_BASE}
action=${1:?usage: cluster.sh up|down}

for b in slurmctld slurmd munged mungekey sbatch scontrol; do
  command -v "$b" >/dev/null || { echo "cluster.sh: $b not installed (apt-get install slurm-wlm munge)"; exit 77; }
done

stop_pid() {  # stop_pid PIDFILE COMM: only if the pid still runs that program
  local f=$1 comm=$2 p
  [ -s "$f" ] || return 0
  p=$(cat "$f")
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
  stop_pid "$BASE/run/slurmd.pid" slurmd
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
mkdir -p "$BASE"/{etc,munge,msock,spool/ctld,spool/d,log,run,work}
chmod 700 "$BASE/munge"
chmod 755 "$BASE/msock"   # munged requires its socket folder to be world-executable
trap 'rc=$?; if [ $rc != 0 ]; then for f in "$BASE"/log/*.log; do echo "== $f"; tail -n 20 "$f"; done; down; fi' EXIT

free_port() {  # first free TCP port from $1
  local p=$1
  while ss -Hltn "sport = :$p" | grep -q .; do p=$((p + 1)); done
  echo "$p"
}
ctld_port=$(free_port 16817)
slurmd_port=$(free_port $((ctld_port + 1)))
sock=$BASE/msock/munge.socket

mungekey --create --keyfile="$BASE/munge/munge.key"
munged --key-file="$BASE/munge/munge.key" --socket="$sock" --pid-file="$BASE/run/munged.pid" \
       --log-file="$BASE/log/munged.log" --seed-file="$BASE/munge/munged.seed"
munge -S "$sock" -n | unmunge -S "$sock" >/dev/null

host=$(hostname -s)
hw=$(slurmd -C | head -n1 | sed 's/^NodeName=[^ ]* //')   # the node as slurmd sees it (more RealMemory drains it)
cat > "$BASE/etc/slurm.conf" <<CONF
ClusterName=trainfleet-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: also how long a requeued job waits before it may run again
AuthInfo=socket=$sock,cred_expire=10
StateSaveLocation=$BASE/spool/ctld
SlurmdSpoolDir=$BASE/spool/d
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=pmix
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
NodeName=$host NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=REQUEUE GraceTime=30
PartitionName=high Nodes=ALL Default=NO MaxTime=INFINITE State=UP PriorityTier=10 PreemptMode=OFF
CONF

cat > "$BASE/env.sh" <<ENV
export SLURM_CONF=$BASE/etc/slurm.conf
export TF_SLURM_HOST=$host
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ENV
# shellcheck disable=SC1091
source "$BASE/env.sh"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 300); do
  state=$(scontrol -o show node "$host" 2>/dev/null | sed -n 's/.* State=\([^ ]*\).*/\1/p')
  [ "$state" = IDLE ] && break
  sleep 0.1
done
[ "$state" = IDLE ] || { echo "cluster.sh: node $host is $state, not IDLE, after 30 s"; exit 1; }
trap - EXIT
echo "cluster.sh: up ($host: $hw; slurmctld port $ctld_port)"

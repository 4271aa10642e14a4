#!/bin/bash
# Submits a dependency chain: tune, then retrain the best trial on all the
# training data, then evaluate the retrained model on a held-out file.
#   slurm/chain.sh TUNE_CONFIG TEST_DATA.h5
# Run it from the folder the config's paths are relative to. Each job starts
# only when the one before it succeeded (afterok); when one fails, the jobs
# after it are cancelled (DependencyParameters=kill_invalid_depend) or stay
# pending with reason DependencyNeverSatisfied. TRAINFLEET_SBATCH_ARGS adds
# options to all three sbatch calls (e.g. "-p gpu -t 2:00:00", or "-n 1 -c 1").
set -euo pipefail
read -r -a extra <<< "${TRAINFLEET_SBATCH_ARGS:-}"
config=${1:?usage: slurm/chain.sh TUNE_CONFIG TEST_DATA.h5}
test_data=${2:?usage: slurm/chain.sh TUNE_CONFIG TEST_DATA.h5}
export TRAINFLEET_HOME=${TRAINFLEET_HOME:-$(cd "$(dirname "$0")/.." && pwd)}
tf=$TRAINFLEET_HOME
study=$("${TRAINFLEET_BIN:-$tf/build/trainfleet}" config --print-run-dir tune "$config")
tune=$(sbatch --parsable "${extra[@]}" "$tf/slurm/tune.sbatch" "$config")
retrain=$(sbatch --parsable --dependency=afterok:"$tune" --job-name=trainfleet-retrain --ntasks=1 \
          --cpus-per-task=8 --output=trainfleet-retrain-%j.out "${extra[@]}" \
          --wrap "'$tf/launcher/trainfleet-slurm' tune '$config' --retrain-best")
# --retrain-best writes STUDY/retrain/<timestamp>/; evaluate the newest.
evaluate=$(sbatch --parsable --dependency=afterok:"$retrain" --job-name=trainfleet-evaluate --ntasks=1 \
           --cpus-per-task=8 --output=trainfleet-evaluate-%j.out "${extra[@]}" \
           --wrap "'$tf/launcher/trainfleet-slurm' --launch none evaluate \"\$(ls -d '$study'/retrain/*/ | tail -n 1)\" --data '$test_data'")
echo "submitted: tune $tune -> retrain $retrain -> evaluate $evaluate (study folder $study)"

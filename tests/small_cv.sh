# Sourced by the shell tests (multinode/mpirun_hosts.sh, slurm/checks.sh):
# small_cv DIR EPOCHS writes DIR/data.h5 (160 windows of 64 steps) and
# DIR/cv.yaml, a 4-fold CV of a small cnn1d on it writing under DIR/runs.
small_cv() {
  "$BIN" make-data --out "$1/data.h5" --samples 160 --steps 64 --seed 2 >/dev/null 2>&1
  cat > "$1/cv.yaml" <<YAML
experiment: {name: cv, seed: 3, output_dir: $1/runs}
data: {path: $1/data.h5, validation_split: 0.2}
model: {name: cnn1d, cnn1d: {channels: [8, 8], kernel_sizes: [5, 3], pool_size: 2}}
training: {epochs: $2, batch_size: 16, callbacks: {early_stopping: false}}
cv: {method: stratified_kfold, n_splits: 4}
YAML
}

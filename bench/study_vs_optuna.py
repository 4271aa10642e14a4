#!/usr/bin/env python3
"""A whole study and a whole CV, end to end: trainfleet against the Python stack
a user would otherwise run, on the same cores with the same thread budget.

study  the same TPE study: cnn1d learning rate (log), dropout and channel width,
       each trial a stratified 3-fold CV of E epochs scored by macro F1 on the
       fold's test rows (averaged);
         trainfleet  `mpirun -np 2 trainfleet tune --ranks-per-run 1 --threads 1`
                     (2 rank groups, tuning.cv: true);
         Python      Optuna 3.1's TPESampler (defaults, 10 start-up trials) and
                     python3-torch, two worker processes of 1 thread sharing one
                     SQLite storage, each running half the trials.
cv     a stratified 5-fold CV of the quickstart cnn1d:
         trainfleet  `mpirun -np 2 trainfleet cv --ranks-per-run 1 --threads 1`;
         Python      scikit-learn's StratifiedKFold, folds run by joblib with 2
                     worker processes of 1 thread.
The Python side uses the faster of the two Python set-ups of bench/train_speed.py
(trainfleet's layer order, channels-first data, zero_grad(set_to_none=True), the
same glibc allocator settings in its environment). Both sides: Adam, batch 64,
cross-entropy, per-channel normalisation fitted on each fold's training rows,
no validation split, unshuffled folds. Wall time includes process start-up on
both sides. For trainfleet, the journal and the trial folders give where a
trial's time goes: the epochs (training and the per-epoch evaluation) against
the rest (data and model set-up, the test evaluation, per-trial files).

usage: /usr/bin/python3 bench/study_vs_optuna.py [--data data/airleak.h5] [--trials 20] [--epochs 3]
       [--skip-study] [--skip-cv] [--quick] [--json out.json]
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from harness import run_trainfleet

HERE = os.path.dirname(os.path.abspath(__file__))
WIDTHS = {"narrow": [16, 32, 32], "default": [32, 64, 64], "wide": [48, 96, 96]}


def tf_config(data, out, epochs, folds, trials, space=True):
    text = f"""experiment: {{name: s, seed: 1, output_dir: {out}, run_id: r}}
data: {{path: {data}, validation_split: 0.0, test_split: 0.0}}
model: {{name: cnn1d, cnn1d: {{channels: [32, 64, 64], kernel_sizes: [7, 5, 3], pool_size: 4, dropout: 0.3}}}}
training: {{epochs: {epochs}, batch_size: 64, learning_rate: 0.001, lr_schedule: constant, metrics: [f1_macro],
           callbacks: {{early_stopping: false, model_checkpoint: false}}}}
cv: {{method: stratified_kfold, n_splits: {folds}, scoring: [f1_macro]}}
"""
    if space:
        text += f"""tuning:
  sampler: tpe
  seed: 1
  n_trials: {trials}
  cv: true
  objective: val_f1_macro
  space:
    training.learning_rate: {{type: float, low: 1.0e-4, high: 1.0e-2, log: true}}
    model.cnn1d.dropout: {{type: float, low: 0.0, high: 0.5}}
    model.cnn1d.channels: {{type: categorical, choices: {json.dumps(list(WIDTHS.values()))}}}
"""
    return text


def journal_records(study_dir):
    path = glob.glob(f"{study_dir}/**/study.jsonl", recursive=True)[0]
    return [json.loads(line.rsplit("\t", 1)[0]) for line in open(path) if "\t" in line]


def trainfleet_study(a, tmp):
    cfg = f"{tmp}/study.yaml"
    open(cfg, "w").write(tf_config(a.data, f"{tmp}/tf_study", a.epochs, 3, a.trials))
    wall = run_trainfleet([a.binary, "tune", cfg, "--threads", "1", "--ranks-per-run", "1"], ranks=2)
    recs = journal_records(f"{tmp}/tf_study")
    fin = {r["trial"]: r for r in recs if r.get("op") == "finish"}
    start = {r["trial"]: r["time"] for r in recs if r.get("op") == "start"}
    done = [f for f in fin.values() if f["state"] == "complete"]
    durations = [f["duration"] for f in fin.values()]
    span = max(start[t] + fin[t]["duration"] for t in fin) - min(start.values())
    return {"wall_s": round(wall, 2), "best": max(f["value"] for f in done), "trials": len(fin),
            "complete": len(done), "pruned": sum(f["state"] == "pruned" for f in fin.values()),
            "study_span_s": round(span, 2), "startup_and_report_s": round(wall - span, 2),
            "trial_s_mean": round(statistics.mean(durations), 2),
            "per_trial_mean_s": trial_phases(f"{tmp}/tf_study", start, fin)}


def trial_phases(study_dir, start, fin):
    """Where a trial's time goes, from its journal times and its fold folders' file
    times: per fold, data set-up (until the fold's run folder gets config.yaml),
    training (until the last metrics.jsonl line: the epochs), test evaluation and
    saving (until summary.json); then the trial's finish record. Means over trials."""
    phases = {"setup": [], "epochs": [], "test_eval_and_files": [], "finish": []}
    for t in fin:
        folds = sorted(glob.glob(f"{study_dir}/**/trials/trial_{t:04d}/fold_*/summary.json", recursive=True))
        prev, acc = start[t], {k: 0.0 for k in phases}
        for summary in folds:
            d = os.path.dirname(summary)
            c, m, e = (os.stat(os.path.join(d, f)).st_mtime for f in ("config.yaml", "metrics.jsonl", "summary.json"))
            acc["setup"] += c - prev
            acc["epochs"] += m - c
            acc["test_eval_and_files"] += e - m
            prev = e
        acc["finish"] = start[t] + fin[t]["duration"] - prev
        for k in phases:
            phases[k].append(acc[k])
    return {k: round(statistics.mean(v), 3) for k, v in phases.items()}


def optuna_worker(a):
    """One of the two Optuna processes sharing the SQLite storage."""
    import optuna
    import torch
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = load(a.data)
    study = optuna.load_study(study_name="s", storage=a.storage,
                              sampler=optuna.samplers.TPESampler(seed=a.worker_seed))

    def objective(trial):
        lr = trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
        dropout = trial.suggest_float("dropout", 0.0, 0.5)
        width = trial.suggest_categorical("channels", list(WIDTHS))
        return cv_score(X, y, 3, a.epochs, lr, dropout, WIDTHS[width])
    study.optimize(objective, n_trials=a.worker_trials)


def python_study(a, tmp):
    import optuna
    storage = f"sqlite:///{tmp}/optuna.db"
    optuna.create_study(study_name="s", storage=storage, direction="maximize")
    env = dict(os.environ, **MALLOC_ENV)
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, __file__, "--optuna-worker", "--storage", storage, "--data", a.data,
                               "--epochs", str(a.epochs), "--worker-seed", str(i),
                               "--worker-trials", str(a.trials // 2 + (i < a.trials % 2))], env=env)
             for i in range(2)]
    for p in procs:
        if p.wait() != 0:
            raise SystemExit("an Optuna worker failed")
    wall = time.perf_counter() - t0
    study = optuna.load_study(study_name="s", storage=storage)
    return {"wall_s": round(wall, 2), "best": study.best_value, "trials": len(study.trials)}


def trainfleet_cv(a, tmp):
    cfg = f"{tmp}/cv.yaml"
    open(cfg, "w").write(tf_config(a.data, f"{tmp}/tf_cv", a.epochs, 5, 0, space=False))
    wall = run_trainfleet([a.binary, "cv", cfg, "--threads", "1", "--ranks-per-run", "1"], ranks=2)
    res = json.load(open(glob.glob(f"{tmp}/tf_cv/**/cv_results.json", recursive=True)[0]))
    scores = [f["f1_macro"] for f in res["folds"]]
    return {"wall_s": round(wall, 2), "f1_macro_mean": statistics.mean(scores)}


def python_cv(a):
    env = dict(os.environ, **MALLOC_ENV)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--cv-worker", "--data", a.data, "--epochs", str(a.epochs)],
                         env=env, check=True, capture_output=True, text=True).stdout
    return {"wall_s": round(time.perf_counter() - t0, 2), "f1_macro_mean": json.loads(out)["f1_macro_mean"]}


def cv_worker(a):
    """sklearn-style 5 folds, run by joblib with 2 worker processes of 1 thread each."""
    from joblib import Parallel, delayed
    X, y = load(a.data)
    scores = Parallel(n_jobs=2)(delayed(fold_score)(X, y, 5, k, a.epochs, 1e-3, 0.3, WIDTHS["default"])
                                for k in range(5))
    print(json.dumps({"f1_macro_mean": statistics.mean(scores)}))


# ---------------------------------------------------------------- the Python training side
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 * 1024 * 1024), "MALLOC_TRIM_THRESHOLD_": str(1024 ** 3),
              "MALLOC_TOP_PAD_": str(64 * 1024 * 1024)}


def load(path):
    import h5py
    import numpy as np
    with h5py.File(path, "r") as f:
        return f["X"][...].astype(np.float32), f["y"][...].astype(np.int64)


def cv_score(X, y, folds, epochs, lr, dropout, channels):
    return statistics.mean(fold_score(X, y, folds, k, epochs, lr, dropout, channels) for k in range(folds))


def fold_score(X, y, folds, k, epochs, lr, dropout, channels):
    import numpy as np
    import torch
    import torch.nn as nn
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold
    torch.set_num_threads(1)
    torch.manual_seed(k)
    train, test = list(StratifiedKFold(folds).split(X, y))[k]
    mean, std = X[train].mean(axis=(0, 1)), X[train].std(axis=(0, 1))
    std[std == 0] = 1
    # held channels-first once: [N, C, T]
    Xtr = torch.from_numpy(np.ascontiguousarray(((X[train] - mean) / std).transpose(0, 2, 1)))
    Xte = torch.from_numpy(np.ascontiguousarray(((X[test] - mean) / std).transpose(0, 2, 1)))
    ytr = torch.from_numpy(y[train])
    sys.path.insert(0, HERE)
    from train_speed import Cnn1d
    import train_speed
    train_speed.CHANNELS = tuple(channels)
    model = Cnn1d(c_in=X.shape[2], classes=int(y.max()) + 1, dropout=dropout, tuned=True)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(ytr))
        for b in range(0, len(ytr), 64):
            idx = perm[b:b + 64]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(Xtr.index_select(0, idx)), ytr[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(Xte[b:b + 256]).argmax(1) for b in range(0, len(Xte), 256)]).numpy()
    return float(f1_score(y[test], pred, average="macro"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/airleak.h5")
    ap.add_argument("--binary", default="build/trainfleet")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--skip-study", action="store_true")
    ap.add_argument("--skip-cv", action="store_true")
    ap.add_argument("--quick", action="store_true", help="4 trials of 1 epoch on a small data file it makes")
    ap.add_argument("--json", default="")
    for hidden in ("--storage", "--worker-seed", "--worker-trials"):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    ap.add_argument("--optuna-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--cv-worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.optuna_worker:
        a.worker_seed, a.worker_trials = int(a.worker_seed), int(a.worker_trials)
        return optuna_worker(a)
    if a.cv_worker:
        return cv_worker(a)
    a.data = os.path.abspath(a.data)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if a.quick:
            a.trials, a.epochs, a.data = 4, 1, f"{tmp}/small.h5"
            subprocess.run([a.binary, "make-data", "--out", a.data, "--samples", "600", "--steps", "256"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not a.skip_study:
            load0 = os.getloadavg()
            tf = trainfleet_study(a, tmp)
            py = python_study(a, tmp)
            results["study"] = {"trials": a.trials, "epochs": a.epochs, "folds": 3, "trainfleet": tf, "python": py,
                                "speedup": round(py["wall_s"] / tf["wall_s"], 3),
                                "best_at_least_as_good": tf["best"] >= py["best"],
                                "load_avg_1min_before_after": [round(load0[0], 2), round(os.getloadavg()[0], 2)]}
            print(json.dumps(results["study"]), flush=True)
        if not a.skip_cv:
            load0 = os.getloadavg()
            tf = trainfleet_cv(a, tmp)
            py = python_cv(a)
            results["cv"] = {"folds": 5, "epochs": a.epochs, "trainfleet": tf, "python": py,
                             "speedup": round(py["wall_s"] / tf["wall_s"], 3),
                             "load_avg_1min_before_after": [round(load0[0], 2), round(os.getloadavg()[0], 2)]}
            print(json.dumps(results["cv"]), flush=True)
    if a.json:
        json.dump(results, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()

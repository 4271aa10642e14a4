#!/usr/bin/env python3
"""CV speed-up over rank groups: a 4-fold CV with 2 groups of 1 rank against
1 rank (1 thread per rank in both, so 2 groups use the machine's 2 cores),
side by side, interleaved rounds. Also the scheduler's per-fold overhead:
wall time of the whole CV minus the sum of the folds' own training time,
divided by the number of folds.

usage: /usr/bin/python3 bench/cv_speed.py [--data data/airleak.h5] [--rounds 2] [--epochs 3]
"""
import argparse
import glob
import json
import statistics
import tempfile
import time

from harness import run_trainfleet


def run(binary, data, tmp, ranks, epochs, tag):
    out = f"{tmp}/{tag}-{time.time_ns()}"
    cmd = [binary, "cv", "configs/quickstart.yaml", "--threads", "1", "--ranks-per-run", "1",
           "--set", f"data.path={data}", "--set", "cv.method=stratified_kfold", "--set", "cv.n_splits=4",
           "--set", f"training.epochs={epochs}", "--set", "training.callbacks.early_stopping=false",
           "--set", f"experiment.output_dir={out}"]
    wall = run_trainfleet(cmd, ranks)
    res = json.load(open(glob.glob(f"{out}/quickstart/*/cv_results.json")[0]))
    fold_time = sum(f["seconds"] for f in res["folds"])
    return wall, fold_time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/airleak.h5")
    ap.add_argument("--binary", default="build/trainfleet")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args()
    one, two = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(a.rounds):
            one.append(run(a.binary, a.data, tmp, 1, a.epochs, "one"))
            two.append(run(a.binary, a.data, tmp, 2, a.epochs, "two"))
    out = {
        "folds": 4, "epochs": a.epochs, "rounds": a.rounds,
        "wall_s_1_group": [round(w, 2) for w, _ in one],
        "wall_s_2_groups": [round(w, 2) for w, _ in two],
        "speedup_2_groups": round(statistics.median(o[0] / t[0] for o, t in zip(one, two)), 3),
        "scheduler_overhead_s_per_fold_1_group": round(statistics.median((w - f) / 4 for w, f in one), 3),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

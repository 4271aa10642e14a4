#!/usr/bin/env python3
"""LIBSVM and XGBoost random forest (trainfleet) against scikit-learn's SVC and
RandomForestClassifier on the same features and the same folds.

trainfleet's classical_bench computes the window features and its own fold
accuracies; this script standardises the same features on each fold's training
rows (StandardScaler) and fits scikit-learn's models with the same settings.
SVC wraps LIBSVM, so its accuracy should match within 0.5 points; the random
forests differ in algorithm details (XGBoost's RF mode: histogram splits,
subsampling without replacement), so within 2 points is the goal.

usage: /usr/bin/python3 bench/classical_vs_sklearn.py [--data data/airleak.h5] [--folds 5]
       [--binary build/bench/classical_bench] [--features stats|flatten] [--C 1] [--trees 200]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/airleak.h5")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--binary", default="build/bench/classical_bench")
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--trees", type=int, default=200)
    ap.add_argument("--features", default="stats", help="model.features.kind: stats or flatten")
    a = ap.parse_args()
    # Labels for the folds: ask the binary with no folds first.
    with tempfile.TemporaryDirectory() as tmp:
        spec = {"folds": [], "svm": {"C": a.C, "gamma": "scale"}, "rf": {"n_estimators": a.trees},
                "features": {"kind": a.features}}
        json.dump(spec, open(f"{tmp}/f.json", "w"))
        subprocess.run([a.binary, a.data, f"{tmp}/f.json", f"{tmp}/o.json"], check=True)
        y = np.array(json.load(open(f"{tmp}/o.json"))["y"])
        skf = StratifiedKFold(n_splits=a.folds, shuffle=True, random_state=0)
        folds = [test.tolist() for _, test in skf.split(np.zeros(len(y)), y)]
        spec["folds"] = folds
        json.dump(spec, open(f"{tmp}/f.json", "w"))
        subprocess.run([a.binary, a.data, f"{tmp}/f.json", f"{tmp}/o.json"], check=True)
        ours = json.load(open(f"{tmp}/o.json"))
    if a.features == "flatten":  # the raw windows, as trainfleet flattens them ([T, C] row-major)
        import h5py
        with h5py.File(a.data, "r") as f:
            X = np.asarray(f["X"], dtype=np.float64).reshape(len(y), -1)
    else:
        X = np.array(ours["features"])
    rows = []
    for k, test in enumerate(folds):
        mask = np.zeros(len(y), bool)
        mask[test] = True
        sc = StandardScaler().fit(X[~mask])
        xtr, xte = sc.transform(X[~mask]), sc.transform(X[mask])
        svc = SVC(C=a.C, gamma="scale").fit(xtr, y[~mask])
        rf = RandomForestClassifier(n_estimators=a.trees, random_state=0, n_jobs=2).fit(xtr, y[~mask])
        row = {"fold": k, "libsvm": ours["folds"][k]["svm"], "sklearn_svc": float((svc.predict(xte) == y[mask]).mean()),
               "xgboost_rf": ours["folds"][k]["random_forest"],
               "sklearn_rf": float((rf.predict(xte) == y[mask]).mean())}
        rows.append(row)
        print(json.dumps(row), flush=True)
    mean = {k: statistics.mean(r[k] for r in rows) for k in ("libsvm", "sklearn_svc", "xgboost_rf", "sklearn_rf")}
    print(json.dumps({"mean_accuracy": {k: round(v, 4) for k, v in mean.items()},
                      "svm_gap_points": round(100 * (mean["libsvm"] - mean["sklearn_svc"]), 2),
                      "rf_gap_points": round(100 * (mean["xgboost_rf"] - mean["sklearn_rf"]), 2)}))


if __name__ == "__main__":
    main()

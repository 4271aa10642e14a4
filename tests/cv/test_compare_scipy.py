#!/usr/bin/env python3
"""`trainfleet compare` against a reference computation in scipy/numpy/sklearn.

Runs a small compare (classical entries and a weighted ensemble) and checks,
from the files it wrote:
  - each entry's mean and std (ddof 1) of the metric per fold;
  - every pairwise corrected resampled t-test (Nadeau & Bengio): t and the
    two-sided p from scipy.stats.t with k-1 degrees of freedom;
  - the ensemble's per-fold scores, recomputed by soft voting from the
    members' fold probabilities with sklearn's f1_score.

usage: test_compare_scipy.py TRAINFLEET   (exit 77: scipy/sklearn missing)
"""
import glob
import json
import math
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from scipy import stats
    from sklearn.metrics import f1_score
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

CONFIG = """experiment: {name: cmp, seed: 11}
data: {path: data.h5, validation_split: 0.0}
cv: {method: stratified_kfold, n_splits: 5}
compare:
  metric: f1_macro
  entries:
    rf: {model: random_forest, set: {model.random_forest.n_estimators: 30}}
    gb: {model: gradient_boosting, set: {model.gradient_boosting.n_estimators: 20}}
    svm: {model: svm, set: {model.svm.C: 0.5}}
    lin: {model: svm, set: {model.svm.kernel: linear, model.svm.C: 0.05}}
    vote: {ensemble: [rf, svm, lin], weights: [1, 2, 0.5]}
"""


def main():
    binary = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([binary, "make-data", "--out", "data.h5", "--samples", "300", "--steps", "64", "--seed", "9"],
                       cwd=tmp, check=True, capture_output=True)
        open(f"{tmp}/c.yaml", "w").write(CONFIG)
        r = subprocess.run([binary, "compare", "c.yaml", "--threads", "1"], cwd=tmp, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"compare failed:\n{r.stdout}{r.stderr}")
        root = glob.glob(f"{tmp}/runs/cmp/compare-*")[0]
        res = json.load(open(f"{root}/compare.json"))
        scores = {e["entry"]: np.array(e["per_fold"]) for e in res["ranking"]}
        for e in res["ranking"]:
            s = scores[e["entry"]]
            assert math.isclose(e["mean"], s.mean(), rel_tol=1e-12, abs_tol=1e-12), e
            assert math.isclose(e["std"], s.std(ddof=1), rel_tol=1e-9, abs_tol=1e-12), e
        means = [e["mean"] for e in res["ranking"]]
        assert means == sorted(means, reverse=True), means
        k = len(next(iter(scores.values())))
        ratio = res["n_test"] / res["n_train"]
        checked = 0
        for p in res["pairs"]:
            d = scores[p["a"]] - scores[p["b"]]
            var = d.var(ddof=1)
            assert math.isclose(p["mean_diff"], d.mean(), abs_tol=1e-12)
            if var == 0:
                continue
            t = d.mean() / math.sqrt((1 / k + ratio) * var)
            pv = 2 * stats.t.sf(abs(t), k - 1)
            assert math.isclose(p["t"], t, rel_tol=1e-9), (p, t)
            assert math.isclose(p["p"], pv, rel_tol=1e-7, abs_tol=1e-12), (p, pv)
            assert p["significant"] == (pv < res["alpha"])
            checked += 1
        assert checked >= 5, checked
        # Ensemble folds: soft voting of the members' probabilities.
        weights = {"rf": 1.0, "svm": 2.0, "lin": 0.5}
        for f in range(k):
            name = f"fold_{f:02d}.json"
            members = {m: json.load(open(f"{root}/entries/{m}/folds/{name}")) for m in weights}
            y = np.array(members["rf"]["y_true"])
            ncls = len(members["rf"]["proba"]) // len(y)
            p = sum(w * np.array(members[m]["proba"], dtype=float).reshape(-1, ncls) for m, w in weights.items())
            f1 = f1_score(y, p.argmax(1), average="macro", labels=list(range(ncls)), zero_division=0)
            assert math.isclose(scores["vote"][f], f1, abs_tol=1e-6), (f, scores["vote"][f], f1)
        print(f"compare: {len(res['pairs'])} pairs ({checked} with variance) match scipy; ensemble folds match sklearn")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""`trainfleet cv` of a classical model against scikit-learn's cross_val_score.

Writes a small data set with `trainfleet make-data`, runs `trainfleet cv` of
svm on the raw windows (model.features.kind: flatten, data.validation_split
left at its default), and checks, fold for fold, that:
  - every training row of the fold trained the model (no validation share
    held back: classical models never look at validation rows);
  - the fold's accuracy equals
    cross_val_score(make_pipeline(StandardScaler(), SVC()), X, y, cv=StratifiedKFold(5)).

usage: test_cv_sklearn_svm.py TRAINFLEET   (exit 77: h5py/sklearn missing)
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

try:
    import h5py
    import numpy as np
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

CONFIG = """experiment: {name: svmcv, seed: 3}
data: {path: data.h5}
model: {name: svm, features: {kind: flatten}, svm: {probability: false}}
cv: {method: stratified_kfold, n_splits: 5, scoring: accuracy}
"""


def main():
    binary = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([binary, "make-data", "--out", "data.h5", "--samples", "250", "--steps", "64", "--seed", "5"],
                       cwd=tmp, check=True, capture_output=True)
        open(f"{tmp}/c.yaml", "w").write(CONFIG)
        r = subprocess.run([binary, "cv", "c.yaml", "--threads", "1"], cwd=tmp, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"cv failed:\n{r.stdout}{r.stderr}")
        res = json.load(open(glob.glob(f"{tmp}/runs/svmcv/cv-*/cv_results.json")[0]))
        with h5py.File(f"{tmp}/data.h5", "r") as f:
            X = np.asarray(f["X"], dtype=np.float64).reshape(len(f["y"]), -1)
            y = np.asarray(f["y"])
        cv = StratifiedKFold(5)
        want = cross_val_score(make_pipeline(StandardScaler(), SVC()), X, y, cv=cv)
        train_sizes = [len(train) for train, _ in cv.split(X, y)]
        got = [f["accuracy"] for f in res["folds"]]
        print("trainfleet:", got)
        print("sklearn:   ", want.tolist())
        for k, f in enumerate(res["folds"]):
            assert f["train_rows"] == train_sizes[k], f"fold {k}: trained on {f['train_rows']} of {train_sizes[k]} rows"
            assert abs(f["accuracy"] - want[k]) < 1e-12, f"fold {k}: accuracy {f['accuracy']} != sklearn {want[k]}"
        print(f"ok: {len(got)} folds equal")


if __name__ == "__main__":
    main()

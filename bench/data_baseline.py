#!/usr/bin/env python3
"""How hard is the default data? A scikit-learn logistic regression on
per-channel mean and std (18 features), trained and scored on the same split
as a trainfleet run (its splits.json), or on a seeded stratified split.

usage: /usr/bin/python3 bench/data_baseline.py DATA.h5 [RUN_DIR]
"""
import json
import sys

import h5py
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main():
    path = sys.argv[1]
    with h5py.File(path, "r") as f:
        X = f["X"][...]
        y = f["y"][...]
    feats = np.concatenate([X.mean(axis=1), X.std(axis=1)], axis=1)
    if len(sys.argv) > 2:
        splits = json.load(open(sys.argv[2] + "/splits.json"))
        train = np.array(splits["train"] + splits["val"])
        test = np.array(splits["test"])
        source = "trainfleet run " + sys.argv[2]
    else:
        idx = np.arange(len(y))
        train, test = train_test_split(idx, test_size=0.2, stratify=y, random_state=0)
        source = "stratified 80/20 split, random_state=0"
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    clf.fit(feats[train], y[train])
    pred = clf.predict(feats[test])
    print(json.dumps({"split": source, "test_rows": int(len(test)),
                      "logreg_mean_std_f1_macro": round(float(f1_score(y[test], pred, average="macro")), 4)}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Every splitter (without shuffling) against scikit-learn 1.2 on random inputs:
generates the inputs, runs sklearn.model_selection and trainfleet's splitters
(through the split_oracle program), and compares train and test indices fold
by fold. Inputs sklearn rejects must be rejected too.

usage: /usr/bin/python3 tests/cv/test_splitters_sklearn.py path/to/split_oracle [cases_per_splitter]
"""
import json
import subprocess
import sys
import warnings

import numpy as np
from sklearn.model_selection import (GroupKFold, KFold, LeaveOneGroupOut, LeaveOneOut, LeavePGroupsOut,
                                     StratifiedGroupKFold, StratifiedKFold, TimeSeriesSplit)

oracle = sys.argv[1]
cases_per = int(sys.argv[2]) if len(sys.argv) > 2 else 200
rng = np.random.default_rng(20261126)


def make_case(method, i):
    n = int(rng.integers(2, 60 if method not in ("leave_one_out",) else 30))
    k = int(rng.integers(2, 7))
    n_classes = int(rng.integers(2, 5))
    # skewed class frequencies and group sizes, ties included
    p = rng.dirichlet(np.ones(n_classes) * (0.5 if i % 3 else 3))
    y = rng.choice(n_classes, size=n, p=p) * (1 if i % 4 else 7)  # sometimes non-contiguous labels
    n_groups = int(rng.integers(1, max(2, n // 2) + 1))
    groups = rng.integers(0, n_groups, size=n) * (3 if i % 5 == 0 else 1) - (2 if i % 7 == 0 else 0)
    req = {"method": method, "n": n, "n_splits": k, "y": y.tolist(), "groups": groups.tolist()}
    if method == "leave_p_groups_out":
        req["p_groups"] = int(rng.integers(1, 4))
    if method == "time_series_split":
        req["gap"] = int(rng.integers(0, 4)) if i % 2 else 0
        req["test_size"] = int(rng.integers(1, 6)) if i % 3 == 0 else 0
        req["max_train_size"] = int(rng.integers(1, 20)) if i % 4 == 0 else 0
    return req


def sklearn_folds(req):
    n, k = req["n"], req["n_splits"]
    X = np.zeros((n, 1))
    y, g = np.array(req["y"]), np.array(req["groups"])
    m = req["method"]
    if m == "kfold":
        sp, args = KFold(k), (X,)
    elif m == "stratified_kfold":
        sp, args = StratifiedKFold(k), (X, y)
    elif m == "group_kfold":
        sp, args = GroupKFold(k), (X, y, g)
    elif m == "stratified_group_kfold":
        sp, args = StratifiedGroupKFold(k), (X, y, g)
    elif m == "leave_one_out":
        sp, args = LeaveOneOut(), (X,)
    elif m == "leave_one_group_out":
        sp, args = LeaveOneGroupOut(), (X, y, g)
    elif m == "leave_p_groups_out":
        sp, args = LeavePGroupsOut(req["p_groups"]), (X, y, g)
    else:
        sp = TimeSeriesSplit(k, gap=req.get("gap", 0), test_size=req.get("test_size") or None,
                             max_train_size=req.get("max_train_size") or None)
        args = (X,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            folds = list(sp.split(*args))
        except ValueError as e:
            return None, str(e)
    return [(tr.tolist(), te.tolist()) for tr, te in folds], None


methods = ["kfold", "stratified_kfold", "group_kfold", "stratified_group_kfold", "leave_one_out",
           "leave_one_group_out", "leave_p_groups_out", "time_series_split"]
reqs = [make_case(m, i) for m in methods for i in range(cases_per)]
out = subprocess.run([oracle], input="\n".join(json.dumps(r) for r in reqs) + "\n", capture_output=True, text=True,
                     check=True).stdout.splitlines()
assert len(out) == len(reqs), (len(out), len(reqs))
compared = {m: 0 for m in methods}
rejected = {m: 0 for m in methods}
failures = []
for req, line in zip(reqs, out):
    ours = json.loads(line)
    want, err = sklearn_folds(req)
    m = req["method"]
    if err is not None:
        if "error" not in ours:
            failures.append((req, "sklearn rejects (%s) but trainfleet accepted" % err))
        else:
            rejected[m] += 1
        continue
    if "error" in ours:
        failures.append((req, "trainfleet rejects: %s" % ours["error"]))
        continue
    got = list(zip(ours["train"], ours["test"]))
    if [tuple(f) for f in got] != [tuple(f) for f in want]:
        failures.append((req, "folds differ:\n  sklearn    %s\n  trainfleet %s" % (want, got)))
        continue
    compared[m] += 1
for req, why in failures[:5]:
    print("FAIL", json.dumps(req), "\n ", why)
print("compared:", json.dumps(compared), "both rejected:", json.dumps(rejected))
short = {m: c for m, c in compared.items() if c < cases_per * 0.5}
if short:
    print("too few accepted cases compared:", short)
n_ok = sum(compared.values()) + sum(rejected.values())
print(f"{n_ok} passed, {len(failures)} failed")
sys.exit(1 if failures or short else 0)

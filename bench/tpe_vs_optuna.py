#!/usr/bin/env python3
"""TPE quality and sampler speed: trainfleet's TPE (bench/tpe_bench) against
python3-optuna's TPESampler with default settings, side by side in one run.

Quality: Branin (2-D, optimum 0.397887) and Hartmann-6 (6-D, optimum
-3.32237), seeds 0-4, 50 and 100 trials; regret = best found - optimum;
mean and std over the seeds.
Speed: milliseconds to suggest one trial with 100 and 1000 finished trials
(Hartmann-6 space), Optuna's study.ask() + suggest_float against sample().

usage: /usr/bin/python3 bench/tpe_vs_optuna.py [--binary build/bench/tpe_bench] [--seeds 5]
       [--multivariate] [--quality-only] [--fixed-optuna]
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import time

import numpy as np
import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def fix_optuna_truncnorm():
    """Optuna 3.1.0's vendored _truncnorm.logpdf subtracts log(scale) twice (every
    kernel's density is divided by sigma once more); use scipy's truncnorm.logpdf."""
    import optuna.samplers._tpe.parzen_estimator as pe
    from scipy.stats import truncnorm

    class Fixed:
        rvs = staticmethod(pe.truncnorm.rvs)
        logpdf = staticmethod(truncnorm.logpdf)
        _log_gauss_mass = staticmethod(pe.truncnorm._log_gauss_mass)

    pe.truncnorm = Fixed
OPT = {"branin": 0.397887, "hartmann6": -3.32237}


def branin(x):
    a, b, c, r, s, t = 1, 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)
    return a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * math.cos(x[0]) + s


ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                     [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])


def hartmann6(x):
    x = np.asarray(x)
    return float(-np.sum(ALPHA * np.exp(-np.sum(A * (x - P) ** 2, axis=1))))


def optuna_best(func, trials, seed, multivariate=False):
    def objective(trial):
        if func == "branin":
            return branin([trial.suggest_float("x0", -5, 10), trial.suggest_float("x1", 0, 15)])
        return hartmann6([trial.suggest_float(f"x{i}", 0, 1) for i in range(6)])
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=multivariate)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=trials)
    return study.best_value


def ours_best(binary, func, trials, seed, multivariate=False):
    env = dict(os.environ, TPE_MULTIVARIATE="1" if multivariate else "0")
    out = subprocess.run([binary, "quality", func, str(trials), str(seed)], capture_output=True, text=True,
                         check=True, env=env)
    return json.loads(out.stdout)["best"]


def optuna_speed(history):
    rng = np.random.default_rng(1)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    dists = {f"x{i}": optuna.distributions.FloatDistribution(0, 1) for i in range(6)}
    trials = []
    for _ in range(history):
        params = {k: float(rng.random()) for k in dists}
        trials.append(optuna.trial.create_trial(params=params, distributions=dists,
                                                value=hartmann6([params[f"x{i}"] for i in range(6)])))
    study.add_trials(trials)
    reps = 10
    t0 = time.perf_counter()
    for _ in range(reps):
        t = study.ask()
        for i in range(6):
            t.suggest_float(f"x{i}", 0, 1)
        study.tell(t, state=optuna.trial.TrialState.FAIL)
    return (time.perf_counter() - t0) / reps * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/bench/tpe_bench")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--multivariate", action="store_true", help="both samplers in multivariate mode")
    ap.add_argument("--quality-only", action="store_true")
    ap.add_argument("--fixed-optuna", action="store_true",
                    help="Optuna with its truncated-normal log-pdf corrected (see fix_optuna_truncnorm)")
    a = ap.parse_args()
    if a.fixed_optuna:
        fix_optuna_truncnorm()
    rows = []
    for func in ("branin", "hartmann6"):
        for trials in (50, 100):
            ours = [ours_best(a.binary, func, trials, s, a.multivariate) - OPT[func] for s in range(a.seeds)]
            theirs = [optuna_best(func, trials, s, a.multivariate) - OPT[func] for s in range(a.seeds)]
            row = {"function": func, "trials": trials, "multivariate": a.multivariate, "optuna_fixed": a.fixed_optuna,
                   "trainfleet_regret_mean": statistics.mean(ours), "trainfleet_regret_std": statistics.pstdev(ours),
                   "optuna_regret_mean": statistics.mean(theirs), "optuna_regret_std": statistics.pstdev(theirs)}
            rows.append(row)
            print(json.dumps({k: (round(v, 5) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
    if a.quality_only:
        return
    for history in (100, 1000):
        out = subprocess.run([a.binary, "speed", str(history)], capture_output=True, text=True, check=True)
        ours = json.loads(out.stdout)["ms_per_trial"]
        theirs = optuna_speed(history)
        print(json.dumps({"history": history, "trainfleet_ms_per_trial": round(ours, 3),
                          "optuna_ms_per_trial": round(theirs, 3), "speedup": round(theirs / ours, 1)}), flush=True)


if __name__ == "__main__":
    main()

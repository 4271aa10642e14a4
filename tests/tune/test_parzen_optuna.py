#!/usr/bin/env python3
"""The TPE estimator against Optuna 3.1's _ParzenEstimator, case by case.

Random search spaces (float, log float, int with step, log int,
categorical), random below/above observations and query points, univariate
and multivariate: the log densities of both estimators must agree to 1e-6.

Optuna 3.1.0's vendored truncated normal (`_truncnorm.logpdf`) standardises x
but never subtracts log(scale): every continuous kernel's density is multiplied
by its bandwidth sigma, so it integrates to sigma instead of 1 and wide kernels
(the prior among them) weigh more (upstream issue #5109). The comparison
therefore swaps in scipy's truncnorm.logpdf, the normalised density.

usage: test_parzen_optuna.py PARZEN_ORACLE [CASES]   (exit 77: optuna or scipy missing)
"""
import json
import subprocess
import sys

try:
    import numpy as np
    from scipy.stats import truncnorm as scipy_truncnorm
    import optuna.samplers._tpe.parzen_estimator as pe
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.samplers._tpe.sampler import default_weights
except ImportError as e:  # python3-optuna / python3-scipy not installed
    print(f"skipped: {e}")
    sys.exit(77)


class FixedTruncnorm:
    rvs = staticmethod(pe.truncnorm.rvs)
    logpdf = staticmethod(scipy_truncnorm.logpdf)
    _log_gauss_mass = staticmethod(pe.truncnorm._log_gauss_mass)


pe.truncnorm = FixedTruncnorm

# Config keys of the right types to carry the parameters.
FLOAT_KEYS = ["training.learning_rate", "model.cnn1d.dropout", "model.mlp.dropout", "training.loss_config.gamma"]
INT_KEYS = ["training.batch_size", "training.epochs", "model.lstm.hidden_size"]
CAT_KEYS = ["training.optimizer", "model.name"]
CAT_CHOICES = {"training.optimizer": ["adam", "adamw", "sgd", "rmsprop"], "model.name": ["mlp", "cnn1d", "lstm"]}


def random_case(rng, multivariate):
    space, dists = {}, {}
    kinds = rng.choice(["float", "logfloat", "int", "logint", "cat"], size=rng.integers(1, 5) if multivariate else 1)
    floats, ints, cats = list(FLOAT_KEYS), list(INT_KEYS), list(CAT_KEYS)
    for kind in kinds:
        if kind in ("float", "logfloat") and floats:
            key = floats.pop(0)
            lo = float(rng.uniform(0.01, 0.2)); hi = float(lo + rng.uniform(0.1, 0.7))
            log = kind == "logfloat"
            space[key] = {"type": "float", "low": lo, "high": hi, "log": log}
            dists[key] = FloatDistribution(lo, hi, log=log)
        elif kind in ("int", "logint") and ints:
            key = ints.pop(0)
            lo = int(rng.integers(1, 10)); log = kind == "logint"
            step = 1 if log else int(rng.integers(1, 4))
            hi = lo + step * int(rng.integers(40, 80))
            space[key] = {"type": "int", "low": lo, "high": hi, "step": step, "log": log}
            dists[key] = IntDistribution(lo, hi, log=log, step=step)
        elif kind == "cat" and cats:
            key = cats.pop(0)
            space[key] = {"type": "categorical", "choices": CAT_CHOICES[key]}
            dists[key] = CategoricalDistribution(CAT_CHOICES[key])
    if not space:
        return random_case(rng, multivariate)

    def draw(n, distinct=True):
        rows = []
        # Int observations of one estimator are distinct and avoid the prior's
        # centre: tied values get their bandwidths in sort order, and numpy's
        # argsort does not keep ties in order (ours does).
        grids = {}
        for k, d in dists.items():
            if isinstance(d, IntDistribution):
                g = [d.low + d.step * i for i in range((d.high - d.low) // d.step + 1)]
                centre = (d.low + d.high) / 2
                grids[k] = list(rng.permutation([v for v in g if v != centre]))
        for _ in range(n):
            r = {}
            for k, d in dists.items():
                if isinstance(d, CategoricalDistribution):
                    r[k] = d.choices[int(rng.integers(len(d.choices)))]
                elif isinstance(d, IntDistribution):
                    r[k] = int(grids[k].pop()) if distinct else int(d.low + d.step * rng.integers(0, (d.high - d.low) // d.step + 1))
                else:
                    r[k] = float(np.exp(rng.uniform(np.log(d.low), np.log(d.high))) if d.log else rng.uniform(d.low, d.high))
            rows.append(r)
        return rows

    return space, dists, draw(int(rng.integers(1, 12))), draw(int(rng.integers(5, 40))), draw(8, distinct=False)


def optuna_log_pdf(rows, dists, points, multivariate):
    params = pe._ParzenEstimatorParameters(True, 1.0, True, False, default_weights, multivariate)

    def internal(rs):
        out = {}
        for k, d in dists.items():
            if isinstance(d, CategoricalDistribution):
                out[k] = np.array([d.choices.index(r[k]) for r in rs])
            else:
                out[k] = np.array([float(r[k]) for r in rs])
        return out

    est = pe._ParzenEstimator(internal(rows), dists, params)
    return est.log_pdf(internal(points))


def main():
    oracle = sys.argv[1]
    cases = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    rng = np.random.default_rng(20261126)
    worst = 0.0
    for i in range(cases):
        mv = bool(i % 2)
        space, dists, below, above, points = random_case(rng, mv)
        if not mv and len(dists) > 1:
            continue
        req = {"space": space, "below": below, "above": above, "points": points, "multivariate": mv}
        out = json.loads(subprocess.run([oracle], input=json.dumps(req), capture_output=True, text=True,
                                        check=True).stdout)
        ours_l = np.array([o[0] for o in out]); ours_g = np.array([o[1] for o in out])
        ref_l = optuna_log_pdf(below, dists, points, mv); ref_g = optuna_log_pdf(above, dists, points, mv)
        diff = max(np.max(np.abs(ours_l - ref_l)), np.max(np.abs(ours_g - ref_g)))
        worst = max(worst, diff)
        if diff > 1e-6:
            print(f"case {i} differs by {diff:.3g}:\n{json.dumps(req)}\nours l {ours_l}\nref  l {ref_l}\n"
                  f"ours g {ours_g}\nref  g {ref_g}")
            sys.exit(1)
    print(f"{cases} cases: log densities agree with Optuna's to {worst:.2g}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Outside references for the unit tests, from python3-torch (1.13),
python3-sklearn (1.2) and python3-h5py. The C++ tests read the JSON and the
HDF5 file this writes; they never run Python themselves.

Regenerate (Debian's python3 with those packages):
    /usr/bin/python3 tests/reference/make_references.py tests/reference
"""
import json
import math
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix,
                             precision_recall_fscore_support, recall_score)
from sklearn.utils.class_weight import compute_class_weight

torch.set_default_dtype(torch.float32)
out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
rng = np.random.default_rng(1234)
ref = {}

# ----------------------------------------------------------------- losses
B, K = 12, 4
logits0 = torch.tensor(rng.normal(size=(B, K)) * 2, dtype=torch.float32)
target = torch.tensor(rng.integers(0, K, size=B), dtype=torch.int64)
target[0], target[1], target[2], target[3] = 0, 1, 2, 3


def grad_of(fn):
    x = logits0.clone().requires_grad_(True)
    v = fn(x)
    v.backward()
    return float(v.item()), x.grad.flatten().tolist()


def focal(x, alpha, gamma):
    logp = torch.log_softmax(x, 1).gather(1, target[:, None]).squeeze(1)
    a = torch.tensor(alpha)[target]
    return (-a * (1 - logp.exp()) ** gamma * logp).mean()


def leak_aware(x, leak, non_leak, no_leak=0):
    ce = F.cross_entropy(x, target, reduction="none")
    w = torch.where(target == no_leak, torch.full_like(ce, non_leak), torch.full_like(ce, leak))
    return (w * ce).mean()


counts = np.bincount(target.numpy(), minlength=K)
y_for_weights = target.numpy()
balanced = compute_class_weight("balanced", classes=np.arange(K), y=y_for_weights).tolist()
cases = []
def add(name, cfg, fn):
    v, g = grad_of(fn)
    cases.append({"name": name, "config": cfg, "value": v, "grad": g})

add("ce", {"training": {"loss": "categorical_crossentropy"}}, lambda x: F.cross_entropy(x, target))
add("ce_smooth", {"training": {"loss": "categorical_crossentropy", "loss_config": {"label_smoothing": 0.1}}},
    lambda x: F.cross_entropy(x, target, label_smoothing=0.1))
add("wce_map", {"training": {"loss": "weighted_categorical_crossentropy"}, "class_weights": {"0": 0.5, "1": 2.0, "2": 1.0, "3": 3.0}},
    lambda x: F.cross_entropy(x, target, weight=torch.tensor([0.5, 2.0, 1.0, 3.0])))
add("wce_balanced", {"training": {"loss": "weighted_categorical_crossentropy"}, "class_weights": "balanced"},
    lambda x: F.cross_entropy(x, target, weight=torch.tensor(balanced, dtype=torch.float32)))
add("focal", {"training": {"loss": "focal_loss", "loss_config": {"gamma": 2.0, "alpha": 0.25}}},
    lambda x: focal(x, [0.25] * K, 2.0))
add("focal_alpha_list", {"training": {"loss": "focal_loss", "loss_config": {"gamma": 1.5, "alpha": [0.1, 0.3, 0.3, 0.3]}}},
    lambda x: focal(x, [0.1, 0.3, 0.3, 0.3], 1.5))
add("focal_gamma0_is_ce", {"training": {"loss": "focal_loss", "loss_config": {"gamma": 0.0, "alpha": 1.0}}},
    lambda x: F.cross_entropy(x, target))
add("leak_aware", {"training": {"loss": "leak_aware_loss", "loss_config": {"leak_penalty": 5.0, "non_leak_penalty": 1.0}}},
    lambda x: leak_aware(x, 5.0, 1.0))
add("leak_aware_2", {"training": {"loss": "leak_aware_loss", "loss_config": {"leak_penalty": 2.5, "non_leak_penalty": 0.5}}, "data": {"no_leak_class": 2}},
    lambda x: leak_aware(x, 2.5, 0.5, 2))
# class_weights weight every loss per sample as Keras's class_weight: mean_i c[y_i] l_i
# (the sum divided by the batch size, not by the weights); focal: c times alpha.
def class_weighted(per_sample, c):
    return lambda x: (torch.tensor(c, dtype=torch.float32)[target] * per_sample(x)).mean()


def focal_each(alpha, gamma):
    def f(x):
        logp = torch.log_softmax(x, 1).gather(1, target[:, None]).squeeze(1)
        return -torch.tensor(alpha)[target] * (1 - logp.exp()) ** gamma * logp
    return f


def leak_each(leak, non_leak, no_leak=0):
    def f(x):
        ce = F.cross_entropy(x, target, reduction="none")
        return torch.where(target == no_leak, torch.full_like(ce, non_leak), torch.full_like(ce, leak)) * ce
    return f


seed_weights = {"0": 1.0, "1": 1.5, "2": 1.5, "3": 1.5}
add("ce_class_weights", {"training": {"loss": "categorical_crossentropy"}, "class_weights": {"0": 1.0, "1": 9.0, "2": 9.0, "3": 9.0}},
    class_weighted(lambda x: F.cross_entropy(x, target, reduction="none"), [1.0, 9.0, 9.0, 9.0]))
add("ce_smooth_balanced", {"training": {"loss": "categorical_crossentropy", "loss_config": {"label_smoothing": 0.1}}, "class_weights": "balanced"},
    class_weighted(lambda x: F.cross_entropy(x, target, reduction="none", label_smoothing=0.1), balanced))
add("focal_seed_class_weights", {"training": {"loss": "focal_loss", "loss_config": {"alpha": 0.25, "gamma": 2.0}}, "class_weights": seed_weights},
    class_weighted(focal_each([0.25] * K, 2.0), [1.0, 1.5, 1.5, 1.5]))
add("focal_1_9", {"training": {"loss": "focal_loss", "loss_config": {"alpha": [0.1, 0.3, 0.3, 0.3], "gamma": 1.5}}, "class_weights": {"0": 1.0, "1": 9.0, "2": 9.0, "3": 9.0}},
    class_weighted(focal_each([0.1, 0.3, 0.3, 0.3], 1.5), [1.0, 9.0, 9.0, 9.0]))
add("leak_aware_class_weights", {"training": {"loss": "leak_aware_loss", "loss_config": {"leak_penalty": 5.0, "non_leak_penalty": 1.0}}, "class_weights": {"0": 2.0, "3": 0.5}},
    class_weighted(leak_each(5.0, 1.0), [2.0, 1.0, 1.0, 0.5]))
ref["losses"] = {"logits": logits0.flatten().tolist(), "target": target.tolist(), "classes": K,
                 "class_counts": counts.tolist(), "balanced_weights": balanced, "cases": cases}

# ----------------------------------------------------------------- optimizers
w0 = rng.normal(size=6).tolist()
A = torch.tensor(rng.normal(size=(8, 6)), dtype=torch.float32)
b = torch.tensor(rng.normal(size=8), dtype=torch.float32)


def run_opt(make, clip=0.0, steps=7):
    w = torch.tensor(w0, dtype=torch.float32, requires_grad=True)
    opt = make([w])
    for _ in range(steps):
        opt.zero_grad()
        loss = ((A @ w - b) ** 2).mean() * 3.0
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_([w], clip)
        opt.step()
    return w.detach().tolist()


O = torch.optim
opt_cases = [
    ("adam", {"optimizer": "adam", "learning_rate": 0.05}, lambda p: O.Adam(p, lr=0.05)),
    ("adam_cfg", {"optimizer": "adam", "learning_rate": 0.02, "optimizer_config": {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6, "weight_decay": 0.01, "amsgrad": True}},
     lambda p: O.Adam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01, amsgrad=True)),
    ("adamw", {"optimizer": "adamw", "learning_rate": 0.05, "optimizer_config": {"weight_decay": 0.1}},
     lambda p: O.AdamW(p, lr=0.05, weight_decay=0.1)),
    ("sgd", {"optimizer": "sgd", "learning_rate": 0.05}, lambda p: O.SGD(p, lr=0.05)),
    ("sgd_nesterov", {"optimizer": "sgd", "learning_rate": 0.05, "optimizer_config": {"momentum": 0.9, "nesterov": True, "weight_decay": 0.001}},
     lambda p: O.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.001)),
    ("rmsprop", {"optimizer": "rmsprop", "learning_rate": 0.01}, lambda p: O.RMSprop(p, lr=0.01, alpha=0.9)),
    ("rmsprop_cfg", {"optimizer": "rmsprop", "learning_rate": 0.01, "optimizer_config": {"rho": 0.95, "momentum": 0.5, "centered": True, "epsilon": 1e-7}},
     lambda p: O.RMSprop(p, lr=0.01, alpha=0.95, momentum=0.5, centered=True, eps=1e-7)),
]
ref["optimizers"] = {"w0": w0, "A": A.flatten().tolist(), "b": b.tolist(), "steps": 7, "cases": []}
for name, cfg, make in opt_cases:
    ref["optimizers"]["cases"].append({"name": name, "training": cfg, "clipnorm": 0.0, "w": run_opt(make)})
ref["optimizers"]["cases"].append({"name": "sgd_clip", "training": {"optimizer": "sgd", "learning_rate": 0.05, "optimizer_config": {"clipnorm": 0.5}},
                                   "clipnorm": 0.5, "w": run_opt(lambda p: O.SGD(p, lr=0.05), clip=0.5)})

# ----------------------------------------------------------------- schedules
S = O.lr_scheduler


def torch_lrs(make_sched, base, steps):
    w = torch.zeros(1, requires_grad=True)
    opt = O.SGD([w], lr=base)
    sch = make_sched(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    return out


N = 60
sched = []
def add_s(name, cfg, lrs, source):
    sched.append({"name": name, "lr_schedule": cfg[0], "learning_rate": cfg[1], "config": cfg[2], "lrs": lrs, "source": source})

# Every reference comes from PyTorch's own scheduler code where PyTorch has the
# schedule (Keras is not installed here: Debian packages no Keras). The one
# closed form left is Keras's PolynomialDecay with an end learning rate, which
# PyTorch's PolynomialLR cannot express; its formula is written out below.
add_s("constant", ("constant", 0.01, {}),
      torch_lrs(lambda o: S.ConstantLR(o, factor=1.0, total_iters=0), 0.01, N), "torch ConstantLR(factor=1)")
add_s("step", ("step", 0.1, {"decay_steps": 7, "decay_rate": 0.5}),
      torch_lrs(lambda o: S.StepLR(o, step_size=7, gamma=0.5), 0.1, N), "torch StepLR")
add_s("exponential_per_step", ("exponential", 0.1, {"decay_steps": 1, "decay_rate": 0.95}),
      torch_lrs(lambda o: S.ExponentialLR(o, gamma=0.95), 0.1, N), "torch ExponentialLR")
# Keras's ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9) is 0.1 * 0.9^(t/10):
# PyTorch's ExponentialLR with gamma = 0.9^(1/10) per step; staircase: StepLR(10, 0.9).
add_s("exponential_keras", ("exponential", 0.1, {"decay_steps": 10, "decay_rate": 0.9}),
      torch_lrs(lambda o: S.ExponentialLR(o, gamma=0.9 ** (1 / 10)), 0.1, N),
      "torch ExponentialLR(gamma=0.9**(1/10)), = Keras ExponentialDecay")
add_s("exponential_staircase", ("exponential", 0.1, {"decay_steps": 10, "decay_rate": 0.9, "staircase": True}),
      torch_lrs(lambda o: S.StepLR(o, step_size=10, gamma=0.9), 0.1, N),
      "torch StepLR(10, 0.9), = Keras ExponentialDecay(staircase=True)")
add_s("polynomial_torch", ("polynomial", 0.1, {"decay_steps": 40, "power": 2.0}),
      torch_lrs(lambda o: S.PolynomialLR(o, total_iters=40, power=2.0), 0.1, N), "torch PolynomialLR")
add_s("polynomial_keras", ("polynomial", 0.1, {"decay_steps": 40, "power": 0.5, "end_lr": 0.001}),
      [(0.1 - 0.001) * (1 - min(t, 40) / 40) ** 0.5 + 0.001 for t in range(N)],
      "closed form of Keras PolynomialDecay(cycle=False): (lr - end_lr) * (1 - min(t, T) / T)^power + end_lr")
add_s("cosine_torch", ("cosine", 0.1, {"total_steps": 50, "min_lr": 0.001}),
      torch_lrs(lambda o: S.CosineAnnealingLR(o, T_max=50, eta_min=0.001), 0.1, 51) + [0.001] * (N - 51),
      "torch CosineAnnealingLR (held at min_lr after T_max)")
add_s("warmup_linear_torch", ("warmup", 0.1, {"warmup_steps": 20, "initial_lr": 0.01, "decay_rate": 1.0, "decay_steps": 1}),
      torch_lrs(lambda o: S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=20), 0.1, N), "torch LinearLR")
# Warm-up then decay: PyTorch's SequentialLR of LinearLR (0.01 -> 0.1 over 10 steps;
# its start factor must be above 0) and the decay, which starts again at 0.1.
add_s("warmup_then_decay", ("warmup", 0.1, {"warmup_steps": 10, "initial_lr": 0.01, "decay_rate": 0.5, "decay_steps": 20}),
      torch_lrs(lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10),
                                             S.ExponentialLR(o, gamma=0.5 ** (1 / 20))], milestones=[10]), 0.1, N),
      "torch SequentialLR(LinearLR, ExponentialLR(gamma=0.5**(1/20)))")
add_s("cosine_warmup", ("cosine", 0.1, {"warmup_steps": 10, "initial_lr": 0.01, "total_steps": 50, "min_lr": 0.0}),
      torch_lrs(lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10),
                                             S.CosineAnnealingLR(o, T_max=40, eta_min=0.0)], milestones=[10]), 0.1, 51)
      + [0.0] * (N - 51),
      "torch SequentialLR(LinearLR, CosineAnnealingLR(T_max=40)) (held at min_lr after the end)")
ref["schedules"] = sched

# ----------------------------------------------------------------- metrics
metric_cases = []
for i in range(25):
    n = int(rng.integers(5, 80))
    if i % 5 == 0:   # some classes missing from truth and/or prediction
        yt = rng.integers(0, 3, size=n)
        yp = rng.integers(1, 4, size=n)
    else:
        yt = rng.choice(4, size=n, p=[0.7, 0.1, 0.1, 0.1])
        yp = np.where(rng.random(n) < 0.7, yt, rng.integers(0, 4, size=n))
    labels = np.unique(np.concatenate([yt, yp]))
    m = {"y_true": yt.tolist(), "y_pred": yp.tolist(), "accuracy": accuracy_score(yt, yp)}
    for avg in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(yt, yp, average=avg, zero_division=0)
        m["precision_" + avg], m["recall_" + avg], m["f1_" + avg] = p, r, f
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m["balanced_accuracy"] = balanced_accuracy_score(yt, yp)
    m["leak_recall"] = recall_score(yt != 0, yp != 0, zero_division=0)
    p, r, f, s = precision_recall_fscore_support(yt, yp, labels=list(range(4)), zero_division=0)
    m["per_class"] = {"precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(), "support": s.tolist()}
    m["confusion_matrix"] = confusion_matrix(yt, yp, labels=list(range(4))).tolist()
    metric_cases.append({k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in m.items()})
ref["metrics"] = metric_cases

with open(f"{out_dir}/references.json", "w") as f:
    json.dump(ref, f, indent=1)

# ----------------------------------------------------------------- an h5py-written data file
X = rng.normal(size=(6, 16, 3)).astype(np.float32)
y = np.array([0, 1, 2, 0, 1, 2], dtype=np.int32)
with h5py.File(f"{out_dir}/h5py_small.h5", "w") as f:
    f.create_dataset("X", data=X)
    f.create_dataset("y", data=y)
    f.create_dataset("groups", data=np.array([5, 5, 6, 6, 7, 7], dtype=np.int16))
    f.create_dataset("time", data=np.linspace(0, 1, 6))
    f.attrs["class_names"] = ["quiet", "hiss", "roar"]
with open(f"{out_dir}/h5py_small.json", "w") as f:
    json.dump({"X": X.flatten().tolist(), "y": y.tolist(), "groups": [5, 5, 6, 6, 7, 7],
               "time": np.linspace(0, 1, 6).tolist(), "class_names": ["quiet", "hiss", "roar"]}, f)
print("wrote", out_dir)

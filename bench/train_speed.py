#!/usr/bin/env python3
"""Training speed: the C++ trainer against the same cnn1d in python3-torch.

Both train the quickstart cnn1d (channels 32/64/64, kernels 7/5/3, pool 4,
batch norm, dropout 0.3, Adam) on the same rows of the default data, with the
same thread count, one after the other in one run, for each batch size.
Samples/s is the median over epochs 2..E of training throughput (validation
excluded). Four variants run interleaved for several rounds, each in its own
process, and the reported figures are medians over rounds, because this
machine is noisy:
  python        the script a user writes without tuning anything: textbook
                layer order (conv, BN, ReLU, MaxPool1d), data [N, T, C] permuted
                every batch, zero_grad() (PyTorch 1.13's default: zero-filled);
  python tuned  what trainfleet does, in Python: the same glibc allocator
                settings in the environment (MALLOC_MMAP_THRESHOLD_,
                MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_), the layer order conv,
                BN, window max, ReLU, data held channels-first, and
                zero_grad(set_to_none=True);
  trainfleet    as shipped, and with its allocator tuning switched off
                (TRAINFLEET_NO_MALLOC_TUNING=1).
GFLOP/s: the model's multiply-adds per training sample (convolutions and the
head: forward, weight gradients, input gradients except the first layer's) x 2
x samples/s, against the cores' FP32 peak = cores x GHz x FLOP per cycle (FMA
pipes x SIMD lanes x 2), from lscpu / /proc/cpuinfo.

usage: /usr/bin/python3 bench/train_speed.py [--data data/airleak.h5] [--threads 2]
           [--epochs 4] [--batches 16,64] [--binary build/trainfleet] [--json out.json] [--quick]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import sys
import time

try:
    import h5py
except ImportError:  # bench/gpu/speed.py imports the model alone, also where h5py is missing
    h5py = None
import numpy as np
import torch
import torch.nn as nn


CHANNELS, KERNELS, POOL = (32, 64, 64), (7, 5, 3), 4
# trainfleet's allocator settings (src/core/alloc.cc), as glibc reads them from the environment
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 * 1024 * 1024), "MALLOC_TRIM_THRESHOLD_": str(1024 ** 3),
              "MALLOC_TOP_PAD_": str(64 * 1024 * 1024)}


class WindowMax(nn.Module):
    """Max over non-overlapping windows as a plain reduction, as trainfleet's cnn1d
    computes it (src/models/models.cc): no index tracking, unlike MaxPool1d."""

    def __init__(self, pool):
        super().__init__()
        self.pool = pool

    def forward(self, h):
        n = h.size(2) // self.pool
        return h.narrow(2, 0, n * self.pool).reshape(h.size(0), h.size(1), n, self.pool).amax(3)


class Cnn1d(nn.Module):
    """tuned=False: textbook order conv, BN, ReLU, MaxPool1d on [B, T, C] input;
    tuned=True: conv, BN, window max, ReLU on channels-first [B, C, T] input."""

    def __init__(self, c_in=9, classes=4, dropout=0.3, tuned=False):
        super().__init__()
        layers = []
        for ch, k in zip(CHANNELS, KERNELS):
            act = [WindowMax(POOL), nn.ReLU()] if tuned else [nn.ReLU(), nn.MaxPool1d(POOL)]
            layers += [nn.Conv1d(c_in, ch, k, padding=k // 2, bias=False), nn.BatchNorm1d(ch)] + act
            c_in = ch
        self.tuned = tuned
        self.body = nn.Sequential(*layers)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(c_in, classes)

    def forward(self, x):
        h = self.body(x if self.tuned else x.permute(0, 2, 1)).mean(2)
        return self.head(self.drop(h))


def flops_per_sample(steps, c_in=9, classes=4):
    """Training FLOPs of one sample: 2 x multiply-adds of the convolutions and the
    head, forward + weight gradient + input gradient (none for the first layer)."""
    total, t = 0, steps
    for i, (ch, k) in enumerate(zip(CHANNELS, KERNELS)):
        macs = c_in * ch * k * t
        total += macs * (2 if i == 0 else 3)
        c_in, t = ch, t // POOL
    total += 3 * c_in * classes
    return 2 * total


def fp32_peak_gflops(cores):
    """cores x GHz x FLOP/cycle: 2 FMA pipes x SIMD lanes (16 with avx512f, 8 with
    avx2) x 2 FLOP per FMA; GHz from /proc/cpuinfo (a VM shows no boost clock)."""
    flags = open("/proc/cpuinfo").read()
    ghz = max(float(l.split(":")[1]) for l in flags.splitlines() if l.startswith("cpu MHz")) / 1000
    lanes = 16 if " avx512f" in flags else 8 if " avx2" in flags else 4
    return cores * ghz * 2 * lanes * 2, {"cores": cores, "ghz": round(ghz, 3), "fp32_lanes": lanes, "fma_pipes": 2}


def python_speed(X, y, batch, epochs, threads, tuned):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Cnn1d(tuned=tuned)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    if tuned:
        Xt = Xt.permute(0, 2, 1).contiguous()  # held channels-first once
    n = len(yt)
    rates = []
    for _ in range(epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for b in range(0, n, batch):
            idx = perm[b:b + batch]
            opt.zero_grad(set_to_none=tuned)
            loss = loss_fn(model(Xt.index_select(0, idx) if tuned else Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates[1:]), rates


def python_worker(a):
    """One Python measurement in this process (started by python_run)."""
    X, y = load(a.data)
    rate, rates = python_speed(X, y, a.batch, a.epochs, a.threads, a.tuned)
    print(json.dumps({"rate": rate, "rates": rates}))


def python_run(a, batch, tuned):
    env = dict(os.environ, **(MALLOC_ENV if tuned else {}))
    cmd = [sys.executable, __file__, "--worker", "--data", a.data, "--batch", str(batch), "--epochs", str(a.epochs),
           "--threads", str(a.threads)] + (["--tuned"] if tuned else [])
    return json.loads(subprocess.run(cmd, check=True, env=env, capture_output=True, text=True).stdout)["rate"]


def load(path):
    with h5py.File(path, "r") as f:
        X = f["X"][...].astype(np.float32)
        y = f["y"][...].astype(np.int64)
    # the same number of training rows as the C++ run (test_split 0.2, no validation)
    n_train = len(y) - int(round(0.2 * len(y)))
    X = (X - X.mean(axis=(0, 1))) / X.std(axis=(0, 1))
    return np.ascontiguousarray(X[:n_train]), y[:n_train]


def cpp_speed(binary, data, batch, epochs, threads, tmp, tuned=True):
    env = dict(os.environ)
    if not tuned:
        env["TRAINFLEET_NO_MALLOC_TUNING"] = "1"
    run_id = f"b{batch}-{'t' if tuned else 'u'}-{time.time_ns()}"
    args = [binary, "train", "configs/quickstart.yaml", "--threads", str(threads),
            "--set", f"data.path={data}", "--set", "data.validation_split=0", "--set", "data.test_split=0.2",
            "--set", f"training.epochs={epochs}", "--set", f"training.batch_size={batch}",
            "--set", "training.lr_schedule=constant", "--set", "training.learning_rate=0.001",
            "--set", "training.callbacks.early_stopping=false", "--set", "training.callbacks.model_checkpoint=false",
            "--set", f"experiment.output_dir={tmp}", "--set", f"experiment.run_id={run_id}"]
    subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rates = [json.loads(l)["samples_per_s"] for l in open(f"{tmp}/quickstart/{run_id}/metrics.jsonl")]
    return statistics.median(rates[1:]), rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/airleak.h5")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batches", default="16,64")
    ap.add_argument("--binary", default="build/trainfleet")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", default="")
    ap.add_argument("--quick", action="store_true", help="1 round of 3 epochs")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tuned", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=16, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return python_worker(a)
    if a.quick:
        a.rounds, a.epochs = 1, 3
    with h5py.File(a.data, "r") as f:
        n_rows, steps = f["X"].shape[0], f["X"].shape[1]
    n_train = n_rows - int(round(0.2 * n_rows))
    flops = flops_per_sample(steps)
    peak, how = fp32_peak_gflops(a.threads)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for batch in [int(b) for b in a.batches.split(",")]:
            rounds, load0 = [], os.getloadavg()[0]
            for _ in range(a.rounds):
                py = python_run(a, batch, tuned=False)
                py_t = python_run(a, batch, tuned=True)
                cpp, _ = cpp_speed(a.binary, a.data, batch, a.epochs, a.threads, tmp)
                cpp_u, _ = cpp_speed(a.binary, a.data, batch, a.epochs, a.threads, tmp, tuned=False)
                rounds.append((py, py_t, cpp, cpp_u))
            med = lambda i: statistics.median(r[i] for r in rounds)
            gf = lambda rate: round(rate * flops / 1e9, 1)
            r = {"batch": batch, "threads": a.threads, "rows": int(n_train), "rounds": a.rounds,
                 "python_samples_per_s": round(med(0), 1), "python_tuned_samples_per_s": round(med(1), 1),
                 "cpp_samples_per_s": round(med(2), 1), "cpp_untuned_malloc_samples_per_s": round(med(3), 1),
                 "speedup_cpp_vs_python": round(statistics.median(r[2] / r[0] for r in rounds), 3),
                 "speedup_cpp_vs_python_tuned": round(statistics.median(r[2] / r[1] for r in rounds), 3),
                 "speedup_untuned_cpp_vs_python": round(statistics.median(r[3] / r[0] for r in rounds), 3),
                 "mflop_per_sample": round(flops / 1e6, 2), "fp32_peak_gflops": round(peak, 1), "peak_from": how,
                 "gflops": {"python": gf(med(0)), "python_tuned": gf(med(1)), "cpp": gf(med(2))},
                 "cpp_fraction_of_peak": round(med(2) * flops / 1e9 / peak, 3),
                 "per_round": [[round(v, 1) for v in r] for r in rounds],
                 "load_avg_1min_before_after": [round(load0, 2), round(os.getloadavg()[0], 2)]}
            results.append(r)
            print(json.dumps(r), flush=True)
    if a.json:
        json.dump(results, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()

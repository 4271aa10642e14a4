#!/usr/bin/env python3
"""Training speed: the C++ trainer against the same cnn1d in python3-torch.

Both train the quickstart cnn1d (channels 32/64/64, kernels 7/5/3, pool 4,
batch norm, dropout 0.3, Adam) on the same rows of the default data, with the
same thread count, one after the other in one run, for each batch size.
Samples/s is the median over epochs 2..E of training throughput (validation
excluded). The three variants run interleaved for several rounds and the
reported figures are medians over rounds, because this machine is noisy. C++ runs twice: as shipped, and with its allocator tuning switched
off (TRAINFLEET_NO_MALLOC_TUNING=1), to show what that tuning is worth.

usage: /usr/bin/python3 bench/train_speed.py [--data data/airleak.h5] [--threads 2]
           [--epochs 4] [--batches 16,64] [--binary build/trainfleet] [--json out.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import h5py
import numpy as np
import torch
import torch.nn as nn


class Cnn1d(nn.Module):
    def __init__(self, c_in=9, classes=4, channels=(32, 64, 64), kernels=(7, 5, 3), pool=4, dropout=0.3):
        super().__init__()
        layers = []
        for ch, k in zip(channels, kernels):
            layers += [nn.Conv1d(c_in, ch, k, padding=k // 2, bias=False), nn.BatchNorm1d(ch), nn.ReLU(),
                       nn.MaxPool1d(pool)]
            c_in = ch
        self.body = nn.Sequential(*layers)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(c_in, classes)

    def forward(self, x):  # x: [B, T, C]
        h = self.body(x.permute(0, 2, 1)).mean(2)
        return self.head(self.drop(h))


def python_speed(X, y, batch, epochs, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Cnn1d()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    n = len(yt)
    rates = []
    for _ in range(epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for b in range(0, n, batch):
            idx = perm[b:b + batch]
            opt.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates[1:]), rates


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
    a = ap.parse_args()
    with h5py.File(a.data, "r") as f:
        X = f["X"][...].astype(np.float32)
        y = f["y"][...].astype(np.int64)
    # the same number of training rows as the C++ run (test_split 0.2, no validation)
    n_train = len(y) - int(round(0.2 * len(y)))
    X = (X - X.mean(axis=(0, 1))) / X.std(axis=(0, 1))
    X, y = np.ascontiguousarray(X[:n_train]), y[:n_train]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for batch in [int(b) for b in a.batches.split(",")]:
            rounds = []
            for _ in range(a.rounds):
                py, _ = python_speed(X, y, batch, a.epochs, a.threads)
                cpp, _ = cpp_speed(a.binary, a.data, batch, a.epochs, a.threads, tmp)
                cpp_u, _ = cpp_speed(a.binary, a.data, batch, a.epochs, a.threads, tmp, tuned=False)
                rounds.append((py, cpp, cpp_u))
            med = lambda i: statistics.median(r[i] for r in rounds)
            r = {"batch": batch, "threads": a.threads, "rows": int(n_train), "rounds": a.rounds,
                 "python_samples_per_s": round(med(0), 1), "cpp_samples_per_s": round(med(1), 1),
                 "cpp_untuned_malloc_samples_per_s": round(med(2), 1),
                 "speedup_cpp_vs_python": round(statistics.median(r[1] / r[0] for r in rounds), 3),
                 "speedup_untuned_cpp_vs_python": round(statistics.median(r[2] / r[0] for r in rounds), 3),
                 "per_round": [[round(v, 1) for v in r] for r in rounds]}
            results.append(r)
            print(json.dumps(r), flush=True)
    if a.json:
        json.dump(results, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""cnn1d training speed on one device: trainfleet against the same model in
this machine's Python PyTorch (bench/train_speed.py's Cnn1d, the quickstart
cnn1d), for each batch size, fp32 and, where the side supports it, autocast.

Samples/s = median over epochs 2..E of training throughput (rows / epoch time,
the epoch ended by a device synchronisation on the Python side; trainfleet's
own per-epoch samples_per_s from metrics.jsonl). trainfleet has no autocast,
so its autocast entries say "not supported".

usage: python3 bench/gpu/speed.py --binary build/trainfleet --data D.h5 --device cuda
           [--batches 64,256] [--epochs 4] [--amp] [--json out.json] [--shape ROWS,STEPS,CHANNELS]
Without h5py the Python side trains on random rows of --shape (D.h5's shape).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

try:
    import h5py
except ImportError:  # the GPU machine's Python may lack it: --shape then stands in
    h5py = None
import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from train_speed import Cnn1d  # noqa: E402  (one definition of the replica)


def python_speed(X, y, batch, epochs, device, amp):
    torch.manual_seed(0)
    c_in, classes = X.shape[2], int(y.max()) + 1
    model = Cnn1d(c_in=c_in, classes=classes).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)
    n = len(yt)
    dtype = torch.bfloat16 if device == "cpu" else torch.float16
    scaler = None
    if amp and device == "cuda":  # torch.amp.GradScaler since 2.3; torch.cuda.amp's before
        scaler = torch.amp.GradScaler("cuda") if hasattr(torch.amp, "GradScaler") else torch.cuda.amp.GradScaler()
    rates = []
    for _ in range(epochs):
        model.train()
        sync(device)
        t0 = time.perf_counter()
        perm = torch.randperm(n, device=device)
        for b in range(0, n, batch):
            idx = perm[b:b + batch]
            opt.zero_grad()
            with torch.autocast(device_type=device, dtype=dtype, enabled=amp):
                loss = loss_fn(model(Xt[idx]), yt[idx])
            if scaler:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
        sync(device)
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates[1:]), rates


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def cpp_speed(binary, data, batch, epochs, device, tmp, env):
    run_id = f"b{batch}-{device}-{time.time_ns()}"
    args = [binary, "train", "configs/quickstart.yaml",
            "--set", f"runtime.device={device}",
            "--set", f"data.path={data}", "--set", "data.validation_split=0", "--set", "data.test_split=0.2",
            "--set", f"training.epochs={epochs}", "--set", f"training.batch_size={batch}",
            "--set", "training.lr_schedule=constant", "--set", "training.learning_rate=0.001",
            "--set", "training.callbacks.early_stopping=false", "--set", "training.callbacks.model_checkpoint=false",
            "--set", f"experiment.output_dir={tmp}", "--set", f"experiment.run_id={run_id}"]
    subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL)
    rates = [json.loads(line)["samples_per_s"] for line in open(f"{tmp}/quickstart/{run_id}/metrics.jsonl")]
    return statistics.median(rates[1:]), rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batches", default="64,256")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--amp", action="store_true", help="also time Python with autocast")
    ap.add_argument("--binary-libs", default="", help="LD_LIBRARY_PATH for the trainfleet binary alone")
    ap.add_argument("--json", default="")
    ap.add_argument("--shape", default="6000,1024,9",
                    help="rows,steps,channels of --data, for the Python side when h5py is missing")
    a = ap.parse_args()
    if h5py is not None:
        with h5py.File(a.data, "r") as f:
            X = f["X"][...].astype(np.float32)
            y = f["y"][...].astype(np.int64)
        source = a.data
    else:
        # Throughput does not depend on the values: random rows of the file's shape.
        n, steps, channels = (int(v) for v in a.shape.split(","))
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n, steps, channels), dtype=np.float32)
        y = rng.integers(0, 4, n).astype(np.int64)
        source = f"random rows of shape {a.shape} (no h5py to read {a.data})"
        print(f"speed.py: {source}", file=sys.stderr)
    n_train = len(y) - int(round(0.2 * len(y)))  # as the C++ run: test_split 0.2, no validation
    X = (X - X.mean(axis=(0, 1))) / X.std(axis=(0, 1))
    X, y = np.ascontiguousarray(X[:n_train]), y[:n_train]
    env = dict(os.environ)
    if a.binary_libs:
        env["LD_LIBRARY_PATH"] = a.binary_libs + ":" + env.get("LD_LIBRARY_PATH", "")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for batch in [int(b) for b in a.batches.split(",")]:
            py, py_all = python_speed(X, y, batch, a.epochs, a.device, False)
            cpp, cpp_all = cpp_speed(a.binary, a.data, batch, a.epochs, a.device, tmp, env)
            r = {"batch": batch, "device": a.device, "rows": int(n_train), "epochs": a.epochs, "python_data": source,
                 "torch": torch.__version__,
                 "python_fp32_samples_per_s": round(py, 1), "trainfleet_fp32_samples_per_s": round(cpp, 1),
                 "speedup_trainfleet_vs_python_fp32": round(cpp / py, 3),
                 "python_fp32_per_epoch": [round(v, 1) for v in py_all],
                 "trainfleet_fp32_per_epoch": [round(v, 1) for v in cpp_all],
                 "trainfleet_autocast": "not supported (no mixed precision in trainfleet)"}
            if a.amp:
                amp, amp_all = python_speed(X, y, batch, a.epochs, a.device, True)
                r["python_autocast_samples_per_s"] = round(amp, 1)
                r["python_autocast_per_epoch"] = [round(v, 1) for v in amp_all]
            results.append(r)
            print(json.dumps(r), flush=True)
    if a.json:
        json.dump(results, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()

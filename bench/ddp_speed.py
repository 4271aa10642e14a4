#!/usr/bin/env python3
"""Data-parallel speed-up: 2 ranks against 1 rank on the same global batch and
data, with the same total cores (1 rank x 2 threads vs 2 ranks x 1 thread),
plus 1 rank x 1 thread for reference. Interleaved rounds; figures are medians
of the median epoch throughput (epochs 2..E) per run.

usage: /usr/bin/python3 bench/ddp_speed.py [--data data/airleak.h5] [--epochs 4] [--rounds 3] [--batch 64]
"""
import argparse
import json
import statistics
import tempfile
import time

from harness import run_trainfleet


def run(binary, data, tmp, ranks, threads, epochs, batch):
    run_id = f"r{ranks}t{threads}-{time.time_ns()}"
    cmd = [binary, "train", "configs/quickstart.yaml", "--threads", str(threads),
           "--set", f"data.path={data}", "--set", "data.validation_split=0",
           "--set", f"training.epochs={epochs}", "--set", f"training.batch_size={batch}",
           "--set", "training.callbacks.early_stopping=false", "--set", "training.callbacks.model_checkpoint=false",
           "--set", f"experiment.output_dir={tmp}", "--set", f"experiment.run_id={run_id}"]
    run_trainfleet(cmd, ranks)
    rates = [json.loads(l)["samples_per_s"] for l in open(f"{tmp}/quickstart/{run_id}/metrics.jsonl")]
    return statistics.median(rates[1:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/airleak.h5")
    ap.add_argument("--binary", default="build/trainfleet")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args()
    variants = [("1 rank x 2 threads", 1, 2), ("2 ranks x 1 thread", 2, 1), ("1 rank x 1 thread", 1, 1)]
    rows = {v[0]: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(a.rounds):
            for name, ranks, threads in variants:
                rows[name].append(run(a.binary, a.data, tmp, ranks, threads, a.epochs, a.batch))
    med = {k: statistics.median(v) for k, v in rows.items()}
    out = {"batch": a.batch, "rounds": a.rounds, "samples_per_s": {k: round(v, 1) for k, v in med.items()},
           "per_round": {k: [round(x, 1) for x in v] for k, v in rows.items()},
           "speedup_2ranks_vs_1rank_2threads": round(statistics.median(
               r2 / r1 for r1, r2 in zip(rows["1 rank x 2 threads"], rows["2 ranks x 1 thread"])), 3),
           "speedup_2ranks_vs_1rank_1thread": round(statistics.median(
               r2 / r1 for r1, r2 in zip(rows["1 rank x 1 thread"], rows["2 ranks x 1 thread"])), 3)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

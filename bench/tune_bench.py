#!/usr/bin/env python3
"""Tuning benchmarks, side by side in one run:

asha        ASHA against no pruning on cnn1d and the default data: the same
            random-sampler trials (values depend only on seed and trial number),
            epochs spent until the study's best value was reached.
throughput  200 short trials on 2 groups of 1 rank against 1 group (1 thread
            per rank): ratios of the wall time and of the trials' span.

usage: /usr/bin/python3 bench/tune_bench.py [--data data/airleak.h5] [--trials 12] [--epochs 9]
"""
import argparse
import glob
import json
import os
import subprocess
import tempfile

from harness import run_trainfleet


def tune(binary, cfg_text, tmp, tag, ranks=1):
    path = f"{tmp}/{tag}.yaml"
    open(path, "w").write(cfg_text.replace("OUTDIR", f"{tmp}/{tag}"))
    cmd = [binary, "tune", path, "--threads", "1", "--ranks-per-run", "1"]
    wall = run_trainfleet(cmd, ranks)
    journal = glob.glob(f"{tmp}/{tag}/*/*/study.jsonl")[0]
    records = [json.loads(line.rsplit("\t", 1)[0]) for line in open(journal) if "\t" in line]
    return wall, records


def epochs_to_best(records, maximize=True):
    epochs, finish = {}, {}
    for r in records:
        if r.get("op") == "report":
            epochs[r["trial"]] = max(epochs.get(r["trial"], 0), r["step"])
        if r.get("op") == "finish":
            finish[r["trial"]] = r
    done = [f for f in finish.values() if f["state"] == "complete"]
    best = max(done, key=lambda f: f["value"]) if maximize else min(done, key=lambda f: f["value"])
    spent = sum(epochs.get(t, 0) for t in sorted(epochs) if t <= best["trial"])
    return spent, best["trial"], best["value"], sum(epochs.values())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/airleak.h5")
    ap.add_argument("--binary", default="build/trainfleet")
    ap.add_argument("--trials", type=int, default=12)
    ap.add_argument("--epochs", type=int, default=9)
    ap.add_argument("--skip-asha", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--asha-seeds", default="5", help="comma-separated sampler seeds for the ASHA comparison")
    ap.add_argument("--resume-every", type=int, default=1,
                    help="runtime.resume_every_epochs of the throughput trials (0: checkpoints only on signals)")
    ap.add_argument("--pruner", default="asha", help="pruner compared with no pruning: asha or hyperband")
    ap.add_argument("--min-resource", type=int, default=1, help="tuning.pruner_min_resource (epochs of the first rung)")
    a = ap.parse_args()
    data = os.path.abspath(a.data)
    with tempfile.TemporaryDirectory() as tmp:
        base = f"""experiment: {{name: b, seed: 1, output_dir: OUTDIR}}
data: {{path: {data}, validation_split: 0.2, test_split: 0.2}}
model: {{name: cnn1d, cnn1d: {{channels: [16, 32, 32], kernel_sizes: [7, 5, 3]}}}}
training: {{epochs: {a.epochs}, batch_size: 64, metrics: [f1_macro], callbacks: {{early_stopping: false, model_checkpoint: false}}}}
tuning:
  sampler: random
  seed: 5
  n_trials: {a.trials}
  objective: val_f1_macro
  space:
    training.learning_rate: {{type: float, low: 1.0e-4, high: 3.0e-2, log: true}}
    model.cnn1d.dropout: {{type: float, low: 0.0, high: 0.6}}
"""
        for seed in ([] if a.skip_asha else a.asha_seeds.split(",")):
            cfg = base.replace("  seed: 5\n", f"  seed: {seed}\n")
            _, plain = tune(a.binary, cfg + "  pruner: none\n", tmp, f"none{seed}")
            _, asha = tune(a.binary, cfg + f"  pruner: {a.pruner}\n  pruner_min_resource: {a.min_resource}\n"
                           "  pruner_reduction_factor: 3\n", tmp, f"asha{seed}")
            report_asha(a, plain, asha, seed)
        if not a.skip_throughput:
            throughput(a, tmp)


def report_asha(a, plain, asha, seed):
    if True:
        p = epochs_to_best(plain)
        q = epochs_to_best(asha)
        print(json.dumps({"benchmark": a.pruner, "min_resource": a.min_resource, "sampler_seed": int(seed), "trials": a.trials, "epochs_per_trial": a.epochs,
                          "no_pruning": {"epochs_until_best": p[0], "best_trial": p[1], "best": round(p[2], 4),
                                         "epochs_total": p[3]},
                          "asha": {"epochs_until_best": q[0], "best_trial": q[1], "best": round(q[2], 4),
                                   "epochs_total": q[3]},
                          "ratio_until_best": round(q[0] / p[0], 3), "ratio_total": round(q[3] / p[3], 3)}),
              flush=True)


def throughput(a, tmp):
    if True:
        tiny = f"""experiment: {{name: t, seed: 1, output_dir: OUTDIR}}
data: {{path: {tmp}/tiny.h5, validation_split: 0.25, test_split: 0.0}}
model: {{name: mlp, mlp: {{hidden_units: [64], dropout: 0.0}}}}
training: {{epochs: 4, batch_size: 16, callbacks: {{early_stopping: false, model_checkpoint: false}}}}
runtime: {{resume_every_epochs: {a.resume_every}}}
tuning:
  sampler: random
  n_trials: 200
  space:
    training.learning_rate: {{type: float, low: 1.0e-4, high: 1.0e-1, log: true}}
"""
        subprocess.run([a.binary, "make-data", "--out", f"{tmp}/tiny.h5", "--samples", "240", "--steps", "64"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        w1, r1 = tune(a.binary, tiny, tmp, "one")
        w2, r2 = tune(a.binary, tiny, tmp, "two", ranks=2)
        groups = sorted({r["group"] for r in r2 if r.get("op") == "finish"})
        s1, s2 = span(r1), span(r2)
        print(json.dumps({"benchmark": "throughput", "trials": 200, "resume_every_epochs": a.resume_every, "wall_s_1_group": round(w1, 2),
                          "wall_s_2_groups": round(w2, 2), "speedup": round(w1 / w2, 3),
                          "trials_span_s_1_group": round(s1, 2), "trials_span_s_2_groups": round(s2, 2),
                          "speedup_trials_span": round(s1 / s2, 3), "groups_used": groups}),
              flush=True)


def span(records):
    """Seconds from the first trial's start to the last trial's end (the journal's
    clock): the study's own time, without process and MPI start-up."""
    start = {r["trial"]: r["time"] for r in records if r.get("op") == "start"}
    ends = [start[r["trial"]] + r["duration"] for r in records if r.get("op") == "finish"]
    return max(ends) - min(start.values())


if __name__ == "__main__":
    main()

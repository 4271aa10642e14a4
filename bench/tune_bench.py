#!/usr/bin/env python3
"""Tuning benchmarks, side by side in one run:

asha        ASHA against no pruning on cnn1d and the default data: the same
            random-sampler trials (values depend only on seed and trial number);
            each arm's best value, and the epochs each arm spends until a trial
            reaches the same target (the unpruned run's best minus 0.005).
throughput  200 short trials on 2 groups of 1 rank against 1 group (1 thread
            per rank): ratios of the wall time and of the trials' span.

usage: /usr/bin/python3 bench/tune_bench.py [--data data/airleak.h5] [--trials 12] [--epochs 9]
       [--asha-seeds 5,6,7] [--min-resource 1,3] [--quick]
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


def trial_table(records):
    """{trial: (epochs run, state, value)} from a study journal."""
    epochs, finish = {}, {}
    for r in records:
        if r.get("op") == "report":
            epochs[r["trial"]] = max(epochs.get(r["trial"], 0), r["step"])
        if r.get("op") == "finish":
            finish[r["trial"]] = r
    return {t: (epochs.get(t, 0), f["state"], f.get("value")) for t, f in finish.items()}


def best_of(table):
    done = {t: v for t, (_, state, v) in table.items() if state == "complete"}
    trial = max(done, key=lambda t: done[t])
    return trial, done[trial]


def epochs_to_target(table, target):
    """Epochs of all trials, in trial order (one group runs them in that order), up to
    and including the first completed trial whose value reaches `target`; None if none does."""
    spent = 0
    for t in sorted(table):
        spent += table[t][0]
        if table[t][1] == "complete" and table[t][2] >= target:
            return spent
    return None


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
    ap.add_argument("--min-resource", default="1,3",
                    help="comma-separated tuning.pruner_min_resource values (epochs of the first rung), one pruned arm each")
    ap.add_argument("--target-margin", type=float, default=0.005,
                    help="epochs are counted until a trial reaches the unpruned run's best minus this")
    ap.add_argument("--quick", action="store_true", help="short run: 8 trials of 4 epochs, seed 5, min resource 1")
    a = ap.parse_args()
    if a.quick:
        a.trials, a.epochs, a.asha_seeds, a.min_resource = 8, 4, "5", "1"
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
        rows = []
        for seed in ([] if a.skip_asha else a.asha_seeds.split(",")):
            cfg = base.replace("  seed: 5\n", f"  seed: {seed}\n")
            _, plain = tune(a.binary, cfg + "  pruner: none\n", tmp, f"none{seed}")
            for mr in a.min_resource.split(","):
                _, asha = tune(a.binary, cfg + f"  pruner: {a.pruner}\n  pruner_min_resource: {mr}\n"
                               "  pruner_reduction_factor: 3\n", tmp, f"asha{seed}_{mr}")
                rows.append(report_asha(a, trial_table(plain), trial_table(asha), seed, int(mr)))
        if rows:
            asha_table(rows)
        if not a.skip_throughput:
            throughput(a, tmp)


def report_asha(a, plain, asha, seed, min_resource):
    """Each arm's best value, and the epochs each arm spends until a trial reaches the
    same target (the unpruned run's best minus --target-margin)."""
    p_trial, p_best = best_of(plain)
    q_trial, q_best = best_of(asha)
    target = p_best - a.target_margin
    p_epochs, q_epochs = epochs_to_target(plain, target), epochs_to_target(asha, target)
    ratio = round(q_epochs / p_epochs, 3) if q_epochs is not None else None
    row = {"benchmark": a.pruner, "min_resource": min_resource, "sampler_seed": int(seed),
                      "trials": a.trials, "epochs_per_trial": a.epochs, "target": round(target, 4),
                      "no_pruning": {"best": round(p_best, 4), "best_trial": p_trial,
                                     "epochs_to_target": p_epochs, "epochs_total": sum(v[0] for v in plain.values())},
                      "pruned": {"best": round(q_best, 4), "best_trial": q_trial, "epochs_to_target": q_epochs,
                                 "epochs_total": sum(v[0] for v in asha.values()),
                                 "per_trial_epochs": [asha[t][0] for t in sorted(asha)]},
                      "ratio_to_target": ratio, "meets_one_third": ratio is not None and ratio <= 1 / 3}
    print(json.dumps(row), flush=True)
    return row


def asha_table(rows):
    """The JSON lines above as the markdown table of bench/RESULTS.md."""
    print(f"\n| seed | min resource | best, no pruning | best, {rows[0]['benchmark']} | target | epochs to target, "
          "no pruning | epochs to target, pruned | ratio | 1/3 goal |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p, q = r["no_pruning"], r["pruned"]
        reach = "not reached" if q["epochs_to_target"] is None else q["epochs_to_target"]
        ratio = "-" if r["ratio_to_target"] is None else f"{r['ratio_to_target']:.3f}"
        print(f"| {r['sampler_seed']} | {r['min_resource']} | {p['best']:.4f} (trial {p['best_trial']}) "
              f"| {q['best']:.4f} (trial {q['best_trial']}) | {r['target']:.4f} | {p['epochs_to_target']} of "
              f"{p['epochs_total']} | {reach} of {q['epochs_total']} | {ratio} | "
              f"{'met' if r['meets_one_third'] else 'not met'} |")


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

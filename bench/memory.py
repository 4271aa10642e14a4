#!/usr/bin/env python3
"""Peak memory per rank and training speed, streamed vs in memory.

Makes the data files (make-data streams them to disk: --samples 28000 is
1.03 GB, 4x that is 4.1 GB), then trains a small mlp (16 hidden units) for
one epoch, so that reading, not the model, dominates:

- memory: on 1 and 2 ranks for every file size, streamed (data.cache_mb=0)
  and in memory (data.cache_mb=--cached-mb, 100000 by default); peak RSS of
  every rank from GNU time (`/usr/bin/time -f %M`, apt package `time`), and
  of make-data itself;
- layouts: the same 7000 windows written contiguous (--chunk-rows 0), in
  one-window chunks (the default), in 16-window chunks and gzip-compressed
  (--chunk-rows 1 --gzip 4); size on disk and streamed training samples/s and
  wall time of each (one epoch), interleaved over --rounds rounds;
- speed: training samples/s (metrics.jsonl, the epoch's training throughput,
  validation excluded) streamed (cache_mb=0) against in memory
  (cache_mb=100000) on the smallest file, 1 rank, with the mlp or (--speed-model
  cnn1d) the quickstart cnn1d, interleaved for --rounds rounds because the
  machine is noisy; every round is printed.

usage: /usr/bin/python3 bench/memory.py [--sizes 1,4] [--ranks 1,2] [--rounds 3]
           [--skip memory,cached,layouts,speed] [--chunk-rows 1] [--cached-mb 100000]
           [--threads N] [--speed-model mlp|cnn1d]
           [--dir /tmp/tf-memory] [--binary build/trainfleet] [--json out.json] [--delete]
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import time

CONFIG = """
experiment: {name: mem, output_dir: %(out)s, seed: 1}
data: {path: %(data)s}
model: %(model)s
training: {epochs: %(epochs)d, batch_size: 32, learning_rate: 0.001}
"""


MODELS = {"mlp": "{name: mlp, mlp: {hidden_units: [16], dropout: 0.1}}",
          "cnn1d": "{name: cnn1d, cnn1d: {channels: [32, 64, 64], kernel_sizes: [7, 5, 3], pool_size: 4}}"}

LAYOUTS = {"contiguous": ["--chunk-rows", "0"], "chunks1": ["--chunk-rows", "1"],
           "chunks16": ["--chunk-rows", "16"], "gzip4": ["--chunk-rows", "1", "--gzip", "4"]}


def make_data(binary, path, samples, extra=()):
    """Writes the file unless it exists; returns its size, make-data's seconds and
    peak RSS (also for a file an earlier run made, from the .rss/.seconds files kept beside it)."""
    rss, secs = path + ".rss", path + ".seconds"
    if not os.path.exists(path):
        t0 = time.time()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss, binary, "make-data", "--out", path,
                        "--samples", str(samples)] + list(extra), check=True, stdout=subprocess.DEVNULL)
        open(secs, "w").write("%.1f\n" % (time.time() - t0))
    made = {"file": path, "bytes": os.path.getsize(path), "samples": samples, "args": list(extra)}
    if os.path.exists(rss) and os.path.exists(secs):
        made.update(seconds=float(open(secs).read()), peak_rss_mb=int(open(rss).read().split()[-1]) / 1024)
    return made


def train(binary, data, work, ranks, cache_mb, epochs, tag, threads=0, model="mlp"):
    """One training run under GNU time on every rank; peak RSS per rank, samples/s, wall time."""
    out = os.path.join(work, tag)
    cfg = os.path.join(work, tag + ".yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG % {"out": out, "data": data, "epochs": epochs, "model": MODELS[model]})
    rss = os.path.join(work, tag + ".rss")
    inner = ["/usr/bin/time", "-f", "%M", "-o", rss + ".${OMPI_COMM_WORLD_RANK:-0}", binary, "train", cfg,
             "--set", "data.cache_mb=%d" % cache_mb] + (["--threads", str(threads)] if threads else [])
    cmd = ["sh", "-c", " ".join(inner)]
    if ranks > 1:
        cmd = ["mpirun", "-np", str(ranks), "--oversubscribe", "--bind-to", "none"] + cmd
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               TRAINFLEET_NO_PROGRESS_BAR="1")
    t0 = time.time()
    with open(os.path.join(work, tag + ".log"), "w") as log:
        subprocess.run(cmd, check=True, env=env, stdout=log, stderr=subprocess.STDOUT)
    wall = time.time() - t0
    peaks = [int(open(rss + ".%d" % r).read().split()[-1]) / 1024 for r in range(ranks)]
    run_dir = glob.glob(os.path.join(out, "mem", "*", "summary.json"))[0].rsplit("/", 1)[0]
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    metrics = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]
    shutil.rmtree(out, ignore_errors=True)
    return {"tag": tag, "ranks": ranks, "threads": threads, "cache_mb": cache_mb,
            "streamed": summary["data"]["streamed"],
            "rank_mb": round(summary["data"]["rank_mb"], 1), "peak_rss_mb": [round(p, 1) for p in peaks],
            "samples_per_s": [m["samples_per_s"] for m in metrics], "wall_s": round(wall, 2)}


def layouts(binary, a, res):
    paths = {}
    for name, extra in LAYOUTS.items():
        paths[name] = os.path.join(a.dir, "layout-%s.h5" % name)
        made = make_data(binary, paths[name], 7000, extra)
        if made:
            res["make_data"].append(made)
    for k in range(a.rounds):
        for name in LAYOUTS:
            run = train(binary, paths[name], a.dir, 1, 0, 1, "l%d-%s" % (k, name))
            run["layout"] = name
            run["file_bytes"] = os.path.getsize(paths[name])
            res["layouts"].append(run)
            print("layout", k, name, run["file_bytes"], run["samples_per_s"], "%.1fs" % run["wall_s"], flush=True)


def memory_table(res):
    """The memory runs as a markdown table."""
    lines = ["| file | ranks | threads per rank | data.cache_mb | kept in memory | peak RSS per rank (MB) | wall (s) |",
             "|---|---|---|---|---|---|---|"]
    for run in res["memory"]:
        lines.append("| %.2f GB | %d | %s | %d | %s | %s | %.1f |" % (
            run["file_bytes"] / 1e9, run["ranks"], run["threads"] or "default", run["cache_mb"],
            "no" if run["streamed"] else "yes",
            ", ".join("%.0f" % p for p in run["peak_rss_mb"]), run["wall_s"]))
    for m in res["make_data"]:
        if "peak_rss_mb" in m:
            lines.append("| make-data --samples %d (%.2f GB) | 1 | | | | %.0f | %.1f |" % (
                m["samples"], m["bytes"] / 1e9, m["peak_rss_mb"], m["seconds"]))
    return "\n".join(lines)


def speed(binary, small, a, res):
    """Training samples/s streamed against in memory, interleaved, 1 rank, one epoch each."""
    res["speed_load_avg_1min_before"] = round(os.getloadavg()[0], 2)
    for k in range(a.rounds):
        for cache in (0, a.cached_mb):
            run = train(binary, small, a.dir, 1, cache, 1, "s%d-%d" % (k, cache), a.threads, a.speed_model)
            run["model"] = a.speed_model
            res["speed"].append(run)
            print("speed round", k, "cache_mb", cache, run["samples_per_s"], flush=True)
    ratios = [res["speed"][2 * k]["samples_per_s"][0] / res["speed"][2 * k + 1]["samples_per_s"][0]
              for k in range(a.rounds)]
    res["streamed_over_cached"] = ratios
    res["speed_load_avg_1min_after"] = round(os.getloadavg()[0], 2)
    if ratios:
        print("streamed / in-memory samples/s per round:", ["%.3f" % x for x in ratios],
              "median %.3f" % statistics.median(ratios), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,4", help="file sizes, in units of 28000 windows (1.03 GB)")
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cached-mb", type=int, default=100000, help="data.cache_mb of the in-memory runs")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads per rank (0: runtime.threads' default, cores / local ranks)")
    ap.add_argument("--speed-model", default="mlp", choices=sorted(MODELS),
                    help="model of the speed part: mlp (16 hidden units: reading dominates) or the quickstart cnn1d")
    ap.add_argument("--chunk-rows", default="1", help="make-data --chunk-rows of the files")
    ap.add_argument("--dir", default="/tmp/tf-memory")
    ap.add_argument("--binary", default="build/trainfleet")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: memory,cached,layouts,speed")
    ap.add_argument("--delete", action="store_true", help="delete the data files at the end")
    ap.add_argument("--json")
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    os.makedirs(a.dir, exist_ok=True)
    sizes = [int(s) for s in a.sizes.split(",")]
    ranks = [int(r) for r in a.ranks.split(",")]
    skip = set(a.skip.split(","))
    res = {"make_data": [], "memory": [], "layouts": [], "speed": []}
    files = {}
    for s in sizes:
        files[s] = os.path.join(a.dir, "data%dx.h5" % s)
        res["make_data"].append(make_data(binary, files[s], 28000 * s, ["--chunk-rows", a.chunk_rows]))
        print("make-data", res["make_data"][-1], flush=True)
    caches = [0] + ([a.cached_mb] if "cached" not in skip else [])
    for s in sizes if "memory" not in skip else []:
        for r in ranks:
            for cache in caches:
                run = train(binary, files[s], a.dir, r, cache, 1, "m%dx-%d-%d" % (s, r, cache), a.threads)
                run["file_bytes"] = os.path.getsize(files[s])
                res["memory"].append(run)
                print("memory", s, r, cache, run, flush=True)
    if "layouts" not in skip:
        layouts(binary, a, res)
    if "speed" not in skip:
        speed(binary, files[sizes[0]], a, res)
    if res["memory"]:
        print(memory_table(res))
    if a.json:
        json.dump(res, open(a.json, "w"), indent=1)
    if a.delete:
        for path in list(files.values()) + glob.glob(os.path.join(a.dir, "layout-*.h5")):
            os.remove(path)


if __name__ == "__main__":
    main()

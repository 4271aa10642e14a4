#!/usr/bin/env python3
"""Peak memory per rank and training speed, streamed vs in memory.

Makes the data files (make-data streams them to disk: --samples 28000 is
1.03 GB, 4x that is 4.1 GB), then trains a small mlp (16 hidden units) for
one epoch, so that reading, not the model, dominates:

- memory: with data.cache_mb=0 (always streamed) on 1 and 2 ranks for every
  file size; peak RSS of every rank from GNU time (`/usr/bin/time -f %M`, apt
  package `time`), and of make-data itself; plus one in-memory run on 1 rank
  of the smallest file for contrast;
- layouts: the same 7000 windows written contiguous (--chunk-rows 0), in
  one-window chunks (the default), in 16-window chunks and gzip-compressed
  (--chunk-rows 1 --gzip 4); size on disk and streamed training samples/s and
  wall time of each (one epoch), interleaved over --rounds rounds;
- speed: training samples/s (metrics.jsonl, the epoch's training throughput,
  validation excluded) streamed (cache_mb=0) against in memory
  (cache_mb=100000) on the smallest file, 1 rank, interleaved for --rounds
  rounds because the machine is noisy; every round is printed.

usage: /usr/bin/python3 bench/memory.py [--sizes 1,4] [--ranks 1,2] [--rounds 3]
           [--dir /tmp/tf-memory] [--binary build/trainfleet] [--json out.json]
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import time

CONFIG = """
experiment: {name: mem, output_dir: %(out)s, seed: 1}
data: {path: %(data)s}
model: {name: mlp, mlp: {hidden_units: [16], dropout: 0.1}}
training: {epochs: %(epochs)d, batch_size: 32, learning_rate: 0.001}
"""


LAYOUTS = {"contiguous": ["--chunk-rows", "0"], "chunks1": ["--chunk-rows", "1"],
           "chunks16": ["--chunk-rows", "16"], "gzip4": ["--chunk-rows", "1", "--gzip", "4"]}


def make_data(binary, path, samples, extra=()):
    if os.path.exists(path):
        return None
    t0 = time.time()
    rss = path + ".rss"
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss, binary, "make-data", "--out", path,
                    "--samples", str(samples)] + list(extra), check=True, stdout=subprocess.DEVNULL)
    return {"file": path, "bytes": os.path.getsize(path), "seconds": time.time() - t0,
            "peak_rss_mb": int(open(rss).read().split()[-1]) / 1024}


def train(binary, data, work, ranks, cache_mb, epochs, tag):
    out = os.path.join(work, tag)
    cfg = os.path.join(work, tag + ".yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG % {"out": out, "data": data, "epochs": epochs})
    rss = os.path.join(work, tag + ".rss")
    inner = ["/usr/bin/time", "-f", "%M", "-o", rss + ".${OMPI_COMM_WORLD_RANK:-0}", binary, "train", cfg,
             "--set", "data.cache_mb=%d" % cache_mb]
    cmd = ["sh", "-c", " ".join(inner)]
    if ranks > 1:
        cmd = ["mpirun", "-np", str(ranks), "--oversubscribe", "--bind-to", "none"] + cmd
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               TRAINFLEET_NO_PROGRESS_BAR="1")
    t0 = time.time()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.time() - t0
    peaks = [int(open(rss + ".%d" % r).read().split()[-1]) / 1024 for r in range(ranks)]
    summary = json.load(open(glob.glob(os.path.join(out, "mem", "*", "summary.json"))[0]))
    metrics = [json.loads(l) for l in open(glob.glob(os.path.join(out, "mem", "*", "metrics.jsonl"))[0])]
    return {"tag": tag, "ranks": ranks, "cache_mb": cache_mb, "streamed": summary["data"]["streamed"],
            "peak_rss_mb": peaks, "samples_per_s": [m["samples_per_s"] for m in metrics], "wall_s": wall}


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,4", help="file sizes, in units of 28000 windows (1.03 GB)")
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/tf-memory")
    ap.add_argument("--binary", default="build/trainfleet")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: memory,layouts,speed")
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
        made = make_data(binary, files[s], 28000 * s)
        if made:
            res["make_data"].append(made)
            print("make-data", made, flush=True)
    n = 0
    for s in sizes if "memory" not in skip else []:
        for r in ranks:
            n += 1
            run = train(binary, files[s], a.dir, r, 0, 1, "m%d" % n)
            run["file_bytes"] = os.path.getsize(files[s])
            res["memory"].append(run)
            print("memory", s, r, run, flush=True)
    if "layouts" not in skip:
        layouts(binary, a, res)
    small = files[sizes[0]]
    if "speed" in skip:
        a.rounds = 0
    if "memory" not in skip:
        run = train(binary, small, a.dir, 1, 100000, 1, "m-cached")
        run["file_bytes"] = os.path.getsize(small)
        res["memory"].append(run)
        print("memory cached", run, flush=True)
    for k in range(a.rounds):
        for cache in (0, 100000):
            run = train(binary, small, a.dir, 1, cache, 1, "s%d-%d" % (k, cache))
            res["speed"].append(run)
            print("speed round", k, "cache_mb", cache, run["samples_per_s"], flush=True)
    ratios = []
    for k in range(a.rounds):
        st = res["speed"][2 * k]["samples_per_s"][0]
        ca = res["speed"][2 * k + 1]["samples_per_s"][0]
        ratios.append(st / ca)
    res["streamed_over_cached"] = ratios
    if ratios:
        print("streamed / in-memory samples/s per round:", ["%.3f" % x for x in ratios],
              "median %.3f" % statistics.median(ratios))
    if a.json:
        json.dump(res, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()

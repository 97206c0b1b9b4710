#!/usr/bin/python3
"""Generate benchmark: rgflow generate on 1 and 2 ranks against the numpy/h5py reference
(bench/reference/generate.py) and dd writing the same number of bytes, interleaved in one
session so that the machine's drift hits every contender alike.

Canonical workload (issue 2): d = 2, L = 1024, b = 2, K = 5, S = 256, uniform, float32.
Before every timed run the previous output is removed and the page cache flushed (sync), as the
reference does between its repeats. Reports medians over --repeats rounds.

    /usr/bin/python3 bench/generate_bench.py --repeats 5 [--json bench/out/generate.json]

--mode large: rgflow alone on a lattice larger than the memory budget (issue 12), on each rank
count of --ranks, with ranks over samples (the automatic choice) and, on more than one rank, with
every rank sharing each lattice (-lattice_ranks P); reports seconds, rates, peak RSS per rank and
the tiles per sample. For example (d = 2, 2 samples of 16384^2 sites, 2.9 GB written):

    /usr/bin/python3 bench/generate_bench.py --mode large --L 16384 --samples 2 --levels 6 \
        --memory-mb 256 --ranks 1,2 --repeats 1
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(ROOT, "bench", "reference", "generate.py")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
SUMMARY = re.compile(r"in ([0-9.]+) s: ([0-9.e+]+) sites/s, ([0-9.]+) MB/s, peak RSS ([0-9.]+) "
                     r"MiB/rank \[rank 0: open ([0-9.]+) s, random ([0-9.]+) s, coarse ([0-9.]+) "
                     r"s, write ([0-9.]+) s, close ([0-9.]+) s\]")


def settle(path):
    if os.path.exists(path):
        os.remove(path)
    subprocess.run(["sync"], check=True)
    time.sleep(1.0)


TILES = re.compile(r"([0-9]+) sample\(s\) per chunk, ([0-9]+) tile\(s\) per sample")


def run_rgflow(exe, ranks, out, args, extra=()):
    settle(out)
    command = ["mpiexec", "--oversubscribe", "-n", str(ranks), exe, "generate", "-o", out,
               "-d", "2", "-L", str(args.L), "-b", "2", "-levels", str(args.levels),
               "-samples", str(args.samples), "-distribution", "uniform", "-dtype", "float32",
               "-seed", "7"] + list(extra)
    start = time.perf_counter()
    done = subprocess.run(command, env=ENV, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit("rgflow failed: " + done.stderr)
    match = SUMMARY.search(done.stdout)
    if not match:
        sys.exit("no summary line in: " + done.stdout)
    keys = ["seconds", "sites_per_s", "MB_per_s", "peak_rss_MiB", "t_open", "t_random",
            "t_coarse", "t_write", "t_close"]
    result = {k: float(v) for k, v in zip(keys, match.groups())}
    tiles = TILES.search(done.stdout)
    if tiles:
        result["samples_per_chunk"] = int(tiles.group(1))
        result["tiles_per_sample"] = int(tiles.group(2))
    result["process_wall"] = wall
    result["bytes"] = os.path.getsize(out)
    return result


def run_reference(out, args):
    settle(out)
    json_path = out + ".json"
    command = ["/usr/bin/python3", REFERENCE, "--L", str(args.L), "--samples", str(args.samples),
               "--levels", str(args.levels), "--out", out, "--repeats", "1", "--json", json_path]
    subprocess.run(command, check=True, capture_output=True)
    with open(json_path) as handle:
        run = json.load(handle)["repeats"][0]
    os.remove(json_path)
    sites = args.samples * args.L * args.L
    return {"seconds": run["seconds"], "sites_per_s": sites / run["seconds"],
            "MB_per_s": run["bytes_written"] / run["seconds"] / 1e6}


def run_dd(out, nbytes):
    settle(out)
    block = 4 << 20
    count = (nbytes + block - 1) // block
    start = time.perf_counter()
    subprocess.run(["dd", "if=/dev/zero", "of=" + out, "bs=%d" % block, "count=%d" % count],
                   check=True, capture_output=True)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "MB_per_s": count * block / seconds / 1e6}


def large(args, out):
    """Ranks over samples and ranks sharing each lattice, each rank count, --repeats rounds."""
    ranks_list = [int(r) for r in args.ranks.split(",")]
    budget = ["-memory_mb", str(args.memory_mb)]
    configs = []
    for ranks in ranks_list:
        configs.append(("%d rank(s), ranks over samples" % ranks, ranks, budget))
        if ranks > 1:
            configs.append(("%d ranks sharing each lattice" % ranks, ranks,
                            budget + ["-lattice_ranks", str(ranks)]))
    runs = {label: [] for label, _, _ in configs}
    runs["dd"] = []
    for r in range(args.repeats):
        for label, ranks, extra in configs:
            runs[label].append(run_rgflow(args.exe, ranks, out, args, extra))
            print("round %d: %s: %.1f s, peak RSS %.0f MiB/rank" %
                  (r, label, runs[label][-1]["seconds"], runs[label][-1]["peak_rss_MiB"]),
                  flush=True)
        runs["dd"].append(run_dd(out, runs[configs[0][0]][-1]["bytes"]))
    settle(out)
    print("\nmedians over %d round(s) (d=2, L=%d, S=%d, K=%d, b=2, uniform, float32, "
          "-memory_mb %d; %.2f GB written)" %
          (args.repeats, args.L, args.samples, args.levels, args.memory_mb,
           runs[configs[0][0]][0]["bytes"] / 1e9))
    print("| run | seconds | sites/s | MB/s | peak RSS/rank | tiles/sample | random | coarse | "
          "write |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, _, _ in configs:
        def med(key):
            return statistics.median(run[key] for run in runs[label])
        print("| %s | %.1f | %.3g | %.0f | %.0f MiB | %d | %.1f s | %.1f s | %.1f s |" %
              (label, med("seconds"), med("sites_per_s"), med("MB_per_s"), med("peak_rss_MiB"),
               runs[label][0].get("tiles_per_sample", 0), med("t_random"), med("t_coarse"),
               med("t_write")))
    print("| dd, same bytes, bs=4M | %.1f | | %.0f | | | | | |" %
          (statistics.median(run["seconds"] for run in runs["dd"]),
           statistics.median(run["MB_per_s"] for run in runs["dd"])))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"args": vars(args), "runs": runs}, handle, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exe", default=os.path.join(ROOT, "build", "rgflow"))
    parser.add_argument("--dir", default=os.path.join(ROOT, "bench", "out"))
    parser.add_argument("--L", type=int, default=1024)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--levels", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None)
    parser.add_argument("--mode", choices=["compare", "large"], default="compare")
    parser.add_argument("--memory-mb", dest="memory_mb", type=int, default=256)
    parser.add_argument("--ranks", default="1,2")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    out = os.path.join(args.dir, "generate_bench.h5")
    if args.mode == "large":
        large(args, out)
        return
    runs = {"rgflow_1": [], "rgflow_2": [], "reference": [], "dd": []}
    # One untimed warm-up of each, then interleaved rounds.
    run_rgflow(args.exe, 2, out, args)
    for r in range(args.repeats):
        runs["rgflow_1"].append(run_rgflow(args.exe, 1, out, args))
        runs["rgflow_2"].append(run_rgflow(args.exe, 2, out, args))
        nbytes = runs["rgflow_2"][-1]["bytes"]
        runs["reference"].append(run_reference(out, args))
        runs["dd"].append(run_dd(out, nbytes))
        print("round %d: rgflow 1 rank %.2f s, 2 ranks %.2f s, reference %.2f s, dd %.2f s" %
              (r, runs["rgflow_1"][-1]["seconds"], runs["rgflow_2"][-1]["seconds"],
               runs["reference"][-1]["seconds"], runs["dd"][-1]["seconds"]), flush=True)
    settle(out)

    def med(name, key):
        return statistics.median(run[key] for run in runs[name])

    dd_mbps = med("dd", "MB_per_s")
    reference_rate = med("reference", "sites_per_s")
    print("\nmedians over %d rounds (L=%d, S=%d, K=%d, d=2, b=2, uniform, float32)" %
          (args.repeats, args.L, args.samples, args.levels))
    print("| run | seconds | sites/s | MB/s | vs reference | vs dd | peak RSS/rank | random | "
          "coarse | write |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, label in (("rgflow_1", "rgflow, 1 rank"), ("rgflow_2", "rgflow, 2 ranks")):
        print("| %s | %.2f | %.3g | %.0f | %.2fx | %.0f%% | %.0f MiB | %.2f s | %.2f s | %.2f s |" %
              (label, med(name, "seconds"), med(name, "sites_per_s"), med(name, "MB_per_s"),
               med(name, "sites_per_s") / reference_rate, 100 * med(name, "MB_per_s") / dd_mbps,
               med(name, "peak_rss_MiB"), med(name, "t_random"), med(name, "t_coarse"),
               med(name, "t_write")))
    print("| numpy + h5py reference | %.2f | %.3g | %.0f | 1.00x | %.0f%% | | | | |" %
          (med("reference", "seconds"), reference_rate, med("reference", "MB_per_s"),
           100 * med("reference", "MB_per_s") / dd_mbps))
    print("| dd, same bytes | %.2f | | %.0f | | 100%% | | | | |" % (med("dd", "seconds"), dd_mbps))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"args": vars(args), "runs": runs}, handle, indent=1)


if __name__ == "__main__":
    main()

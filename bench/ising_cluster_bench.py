#!/usr/bin/python3
"""Ising Swendsen-Wang benchmark: rgflow's sweep against the numba reference
(bench/reference/ising_cluster.py), rounds interleaved so that the shared machine's drift hits both
alike.

Each round runs, in alternating order, the numba reference on every workload (one repeat of
--sweeps sweeps after --warmup, which also compiles) and build/bench/rgflow_bench_kernels'
IsingSwendsenWangSweep on the same lattices (3 repetitions, their median). Both at beta_c of the
dimension, from a hot start brought to the cluster sizes of beta_c; both in CPU time of the
process. Reports per-round and median ns per site per sweep and the ratio numba / rgflow (the
median of the per-round ratios), with the load average at the start and end.

    /usr/bin/python3 bench/ising_cluster_bench.py --repeats 7 [--build build] [--json out.json]
"""
import argparse
import json
import os
import pathlib
import statistics
import tempfile

from ising_bench import checked_executable, run  # the same script directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(ROOT, "bench", "reference", "ising_cluster.py")
# (dim, side, numba sweeps per repeat)
WORKLOADS = [(2, 256, 40), (2, 1024, 10), (3, 64, 10)]


def numba_ns(dim, side, sweeps, warmup):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        run(["/usr/bin/python3", REFERENCE, "--dim", str(dim), "--L", str(side), "--sweeps",
             str(sweeps), "--repeats", "1", "--warmup", str(warmup), "--json", out.name])
        with open(out.name) as f:
            return json.load(f)["median"]


def rgflow_ns(exe):
    names = "|".join("%d/%d" % (d, L) for d, L, _ in WORKLOADS)
    out = json.loads(run([exe, "--benchmark_filter=IsingSwendsenWangSweep/(%s)$" % names,
                          "--benchmark_repetitions=3", "--benchmark_format=json"]))
    result = {}
    for d, L, _ in WORKLOADS:
        times = [b["cpu_time"] for b in out["benchmarks"]
                 if b.get("run_type") == "iteration" and
                 b["run_name"] == "IsingSwendsenWangSweep/%d/%d" % (d, L)]
        assert all(b == "ms" for b in [x["time_unit"] for x in out["benchmarks"]])
        result[(d, L)] = statistics.median(times) * 1e6 / L**d
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--json")
    args = parser.parse_args()
    exe = checked_executable(args, "rgflow_bench_kernels", "ising_cluster_bench.py")
    load_start = os.getloadavg()
    rounds = []
    for r in range(args.repeats):
        result = {}

        def ours():
            for key, ns in rgflow_ns(exe).items():
                result["rgflow_%dd_%d" % key] = ns

        def theirs():
            for d, L, sweeps in WORKLOADS:
                result["numba_%dd_%d" % (d, L)] = numba_ns(d, L, sweeps, args.warmup)

        for step in ((ours, theirs) if r % 2 == 0 else (theirs, ours)):
            step()
        rounds.append(result)
        print("round %d: %s" % (r + 1, json.dumps(result)), flush=True)
    load_end = os.getloadavg()

    keys = ["%dd_%d" % (d, L) for d, L, _ in WORKLOADS]
    header = "| round | " + " | ".join("numba %s | rgflow %s | ratio" % (k, k) for k in keys) + " |"
    print("\n" + header)
    print("|---" * (1 + 3 * len(keys)) + "|")
    for i, r in enumerate(rounds):
        cells = ["%.2f | %.2f | %.1f" % (r["numba_" + k], r["rgflow_" + k],
                                         r["numba_" + k] / r["rgflow_" + k]) for k in keys]
        print("| %d | %s |" % (i + 1, " | ".join(cells)))
    summary = {}
    cells = []
    for k in keys:
        numba = statistics.median(r["numba_" + k] for r in rounds)
        ours = statistics.median(r["rgflow_" + k] for r in rounds)
        ratio = statistics.median(r["numba_" + k] / r["rgflow_" + k] for r in rounds)
        summary[k] = {"numba": numba, "rgflow": ours, "ratio": ratio}
        cells.append("%.2f | %.2f | %.1f" % (numba, ours, ratio))
    print("| median | %s |" % " | ".join(cells))
    print("\nns per site per sweep (CPU time); ratio: median of the per-round ratios; load average "
          "%.1f at the start, %.1f at the end" % (load_start[0], load_end[0]))
    if args.json:
        figures = {"rounds": rounds, "summary": summary, "load_start": load_start,
                   "load_end": load_end}
        pathlib.Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Ising checkerboard heat-bath benchmark: rgflow's kernels against the numba reference
(bench/reference/ising.py), rounds interleaved so that the shared machine's drift hits both alike.

Each round runs, in alternating order, the numba reference on the 2D and 3D workloads (one repeat
of --sweeps sweeps each) and build/bench/rgflow_bench_ising on the same workloads plus a 2D lattice
beyond the last-level cache, which also measures the memory bandwidth (STREAM-like read sum and
memcpy). All times are CPU seconds per process. Reports per-round and median ns per spin update,
the ratio numba / rgflow (the median of the per-round ratios), and the fraction of the memory
bandwidth the kernel uses: 4 bytes per spin update (each colour pass reads and writes every
spin once).

    /usr/bin/python3 bench/ising_bench.py --repeats 5 [--build build] [--json out.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(ROOT, "bench", "reference", "ising.py")
BYTES_PER_UPDATE = 4


def run(command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(command), done.stderr))
    return done.stdout


def numba_ns(dim, side, sweeps):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        run(["/usr/bin/python3", REFERENCE, "--dim", str(dim), "--L", str(side), "--sweeps",
             str(sweeps), "--repeats", "1", "--json", out.name])
        with open(out.name) as f:
            return json.load(f)["median"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--L2", type=int, default=1024, help="2D side (numba and rgflow)")
    parser.add_argument("--L3", type=int, default=128, help="3D side (numba and rgflow)")
    parser.add_argument("--L-large", type=int, default=8192, help="2D side beyond the cache")
    parser.add_argument("--sweeps", type=int, default=10)
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.repeats < 1:
        sys.exit("ising_bench.py: --repeats must be at least 1")
    exe = os.path.join(args.build, "bench", "rgflow_bench_ising")
    if not os.path.exists(exe):
        sys.exit("ising_bench.py: %s not found (build the benchmarks first)" % exe)
    workloads = ["2:%d:%d" % (args.L2, 2 * args.sweeps), "3:%d:%d" % (args.L3, args.sweeps),
                 "2:%d:2" % args.L_large]
    rounds = []
    for r in range(args.repeats):
        result = {}

        def ours():
            out = json.loads(run([exe] + workloads))
            result["read_GBps"] = out["stream_read_GBps"]
            result["copy_GBps"] = out["copy_GBps"]
            for entry in out["runs"]:
                result["%s_%dd_%d" % (entry["kernel"], entry["dim"], entry["L"])] = \
                    entry["ns_per_update"]

        def theirs():
            result["numba_2d"] = numba_ns(2, args.L2, args.sweeps)
            result["numba_3d"] = numba_ns(3, args.L3, max(1, args.sweeps // 2))

        for step in ((ours, theirs) if r % 2 == 0 else (theirs, ours)):
            step()
        rounds.append(result)
        print("round %d: %s" % (r + 1, json.dumps(result)), flush=True)

    def med(key):
        return statistics.median(r[key] for r in rounds)

    fast2, fast3 = "avx2_2d_%d" % args.L2, "avx2_3d_%d" % args.L3
    large = "avx2_2d_%d" % args.L_large
    print("\n| round | numba 2D | rgflow 2D | ratio | numba 3D | rgflow 3D | ratio |")
    print("|---|---|---|---|---|---|---|")
    for i, r in enumerate(rounds):
        print("| %d | %.2f | %.3f | %.1f | %.2f | %.3f | %.1f |" % (
            i + 1, r["numba_2d"], r[fast2], r["numba_2d"] / r[fast2], r["numba_3d"], r[fast3],
            r["numba_3d"] / r[fast3]))
    ratio2 = statistics.median(r["numba_2d"] / r[fast2] for r in rounds)
    ratio3 = statistics.median(r["numba_3d"] / r[fast3] for r in rounds)
    print("| median | %.2f | %.3f | %.1f | %.2f | %.3f | %.1f |" % (
        med("numba_2d"), med(fast2), ratio2, med("numba_3d"), med(fast3), ratio3))
    print("\nns per spin update (medians); bandwidth: %.1f GB/s read (STREAM-like sum), %.1f GB/s "
          "copy (memcpy, read + write)" % (med("read_GBps"), med("copy_GBps")))
    print("| lattice | kernel | ns/update | GB/s at 4 B/update | of read bandwidth | of copy "
          "bandwidth |\n|---|---|---|---|---|---|")
    for key in sorted(rounds[0]):
        if not (key.startswith("avx2") or key.startswith("portable")):
            continue
        kernel, dims, side = key.split("_")
        ns = med(key)
        gbps = BYTES_PER_UPDATE / ns
        print("| %s^%s | %s | %.3f | %.2f | %.0f%% | %.0f%% |" % (
            side, dims[0], kernel, ns, gbps, 100 * gbps / med("read_GBps"),
            100 * gbps / med("copy_GBps")))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"rounds": rounds, "ratio_2d": ratio2, "ratio_3d": ratio3,
                       "large": large}, out, indent=1)


if __name__ == "__main__":
    main()

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

With --chain it runs instead the distributed heat bath (build/bench/rgflow_bench_ising_chain: one
2D lattice of side --L-chain split into slabs) on 1 rank and on 2 ranks, the order alternating
round by round; each run alternates blocks of sweeps with and without the halo exchange overlapped
with the interior layers. Reports per round and as medians the wall time per sweep, each rank's
CPU time per sweep, the fastest single sweep, each rank's CPU time for its colour updates alone
(the work), the parallel efficiency T1 / (2 T2) from each, and the load average:

    /usr/bin/python3 bench/ising_bench.py --chain --repeats 7 [--L-chain 4096]
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


def checked_executable(args, name, script):
    """The benchmark executable `name` of args.build, after checking args.repeats; one line and
    exit 1 (through sys.exit) otherwise."""
    if args.repeats < 1:
        sys.exit("%s: --repeats must be at least 1" % script)
    exe = os.path.join(args.build, "bench", name)
    if not os.path.exists(exe):
        sys.exit("%s: %s not found (build the benchmarks first)" % (script, exe))
    return exe


def numba_ns(dim, side, sweeps):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        run(["/usr/bin/python3", REFERENCE, "--dim", str(dim), "--L", str(side), "--sweeps",
             str(sweeps), "--repeats", "1", "--json", out.name])
        with open(out.name) as f:
            return json.load(f)["median"]


def chain_rounds(args):
    exe = os.path.join(args.build, "bench", "rgflow_bench_ising_chain")
    if not os.path.exists(exe):
        sys.exit("ising_bench.py: %s not found (build the benchmarks first)" % exe)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    workload = [exe, str(args.L_chain), str(args.chain_sweeps), str(args.chain_blocks)]

    def chain_run(ranks):
        done = subprocess.run(["mpiexec", "-n", str(ranks)] + workload, capture_output=True,
                              text=True, env=env)
        if done.returncode != 0:
            sys.exit("failed: %d ranks\n%s" % (ranks, done.stderr))
        return json.loads(done.stdout)

    rounds = []
    for r in range(args.repeats):
        load = os.getloadavg()[0]
        runs = {}
        for ranks in ((1, 2) if r % 2 == 0 else (2, 1)):
            runs[ranks] = chain_run(ranks)
        one, two = runs[1], runs[2]
        result = {"load": load, "energy_equal": one["energy"] == two["energy"]}
        for mode in ("blocking", "overlap"):
            result["wall1_" + mode] = one["wall_ms"][mode]
            result["wall2_" + mode] = two["wall_ms"][mode]
            result["cpu1_" + mode] = one["cpu_ms_by_rank"][mode][0]
            result["cpu2_" + mode] = max(two["cpu_ms_by_rank"][mode])
            result["fast1_" + mode] = one["fastest_ms"][mode]
            result["fast2_" + mode] = two["fastest_ms"][mode]
        result["work1"] = one["compute_cpu_ms_by_rank"][0]
        result["work2"] = max(two["compute_cpu_ms_by_rank"])
        # One rank has no neighbour to wait for: its modes differ only in the order of the
        # layers, so their mean is its time.
        for kind in ("wall", "cpu", "fast"):
            t1 = 0.5 * (result[kind + "1_blocking"] + result[kind + "1_overlap"])
            result[kind + "1"] = t1
            for mode in ("blocking", "overlap"):
                result["eff_%s_%s" % (kind, mode)] = t1 / (2 * result["%s2_%s" % (kind, mode)])
        rounds.append(result)
        print("round %d: %s" % (r + 1, json.dumps(result)), flush=True)

    def med(key):
        return statistics.median(r[key] for r in rounds)

    print("\nms per sweep of L = %d; T2: the slower rank (CPU) or the lattice (wall)" % args.L_chain)
    print("| round | load | T1 wall | T2 wall blocking | T2 wall overlap | E wall b/o | T1 CPU | "
          "T2 CPU blocking | T2 CPU overlap | E CPU b/o |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = [(str(i + 1), r) for i, r in enumerate(rounds)]
    rows.append(("median", {key: med(key) for key in rounds[0] if key != "energy_equal"}))
    for name, r in rows:
        print("| %s | %.1f | %.2f | %.2f | %.2f | %.0f%% / %.0f%% | %.2f | %.2f | %.2f | "
              "%.0f%% / %.0f%% |" % (
                  name, r["load"], r["wall1"], r["wall2_blocking"], r["wall2_overlap"],
                  100 * r["eff_wall_blocking"], 100 * r["eff_wall_overlap"], r["cpu1"],
                  r["cpu2_blocking"], r["cpu2_overlap"], 100 * r["eff_cpu_blocking"],
                  100 * r["eff_cpu_overlap"]))
    print("\nfastest single sweep (ms): | round | T1 | T2 blocking | T2 overlap | E b/o | work "
          "1 rank | work 2 ranks (slower) | E of the work |")
    for name, r in rows:
        print("| %s | %.2f | %.2f | %.2f | %.0f%% / %.0f%% | %.2f | %.2f | %.0f%% |" % (
            name, r["fast1"], r["fast2_blocking"], r["fast2_overlap"],
            100 * r["eff_fast_blocking"], 100 * r["eff_fast_overlap"], r["work1"], r["work2"],
            100 * r["work1"] / (2 * r["work2"])))
    print("\nsame final energy on 1 and 2 ranks in every round: %s" %
          all(r["energy_equal"] for r in rounds))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"rounds": rounds}, out, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--L2", type=int, default=1024, help="2D side (numba and rgflow)")
    parser.add_argument("--L3", type=int, default=128, help="3D side (numba and rgflow)")
    parser.add_argument("--L-large", type=int, default=8192, help="2D side beyond the cache")
    parser.add_argument("--sweeps", type=int, default=10)
    parser.add_argument("--json")
    parser.add_argument("--chain", action="store_true",
                        help="the distributed heat bath on 1 and 2 ranks instead")
    parser.add_argument("--L-chain", type=int, default=4096, help="2D side of --chain")
    parser.add_argument("--chain-sweeps", type=int, default=10, help="sweeps per block")
    parser.add_argument("--chain-blocks", type=int, default=6, help="blocks per mode and run")
    args = parser.parse_args()
    if args.repeats < 1:
        sys.exit("ising_bench.py: --repeats must be at least 1")
    if args.chain:
        chain_rounds(args)
        return
    exe = checked_executable(args, "rgflow_bench_ising", "ising_bench.py")
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

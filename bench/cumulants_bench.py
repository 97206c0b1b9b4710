#!/usr/bin/python3
"""Analysis benchmark: cumulants to order 8 of the generate benchmark's field (d = 2, L = 1024,
b = 2, K = 5, S = 256, uniform, float32: 268M values, 1 GiB at level 0), in one session, rounds
interleaved so that the shared machine's drift hits every contender alike:

  * rgflow analyze -order 8 on 1 and 2 ranks (process wall time; analyze reduces every level,
    levels 1-5 add a third to level 0's values), and the same command on a tiny dataset, whose
    time is the fixed cost of starting MPI and PETSc, opening and writing files;
  * the numpy + h5py reference bench/reference/cumulants.py on level 0 (its warm, end-to-end
    pass: read + central power sums, page cache warm);
  * build/bench/rgflow_bench_cumulants on level 0: the memory read bandwidth (a STREAM-like sum
    over the 1 GiB array in memory), the moment kernel on that array on 1 and 2 threads, and
    level 0 read from the file and reduced, split into reading and computing, both the way
    analyze reads (one sample per read, converted to double by HDF5) and as float32 batches.

The dataset is generated once (untimed) if absent; an untimed analyze run warms the page cache.
Reports medians over --repeats rounds.

    /usr/bin/python3 bench/cumulants_bench.py --repeats 3 [--build build] [--baseline DIR]
                                              [--json out.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(ROOT, "bench", "reference", "cumulants.py")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
LEVEL0 = 256 * 1024 * 1024
ALL_LEVELS = sum(256 * (1024 >> k) ** 2 for k in range(6))


def timed(command):
    """Runs `command`; returns (wall seconds, stdout). The wall time includes starting mpiexec
    and the ranks, which rgflow does not report for analyze."""
    start = time.perf_counter()
    done = subprocess.run(command, env=ENV, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(command), done.stderr))
    return wall, done.stdout


def rss_of(command):
    """Peak RSS (MiB) of the largest process of `command`, measured by GNU time per rank."""
    out = subprocess.run(command, env=ENV, capture_output=True, text=True, check=True)
    values = [int(line.split("=")[1]) for line in out.stderr.splitlines()
              if line.startswith("peak_rss_kib=")]
    return max(values) / 1024 if values else float("nan")


def generate(exe, path, L, samples, levels):
    subprocess.run(["mpiexec", "--oversubscribe", "-n", "2", exe, "generate", "-quiet", "-o", path,
                    "-d", "2", "-L", str(L), "-b", "2", "-levels", str(levels), "-samples",
                    str(samples), "-distribution", "uniform", "-dtype", "float32", "-seed", "7"],
                   env=ENV, check=True)


def analyze_command(exe, ranks, data, out, wrap=()):
    return (["mpiexec", "--oversubscribe", "-n", str(ranks)] + list(wrap) +
            [exe, "analyze", "-quiet", "-data", data, "-order", "8", "-o", out, "-force"])


def run_reference(data, json_path):
    subprocess.run(["/usr/bin/python3", REFERENCE, "--file", data, "--dset", "level_0/field",
                    "--repeats", "1", "--no-levels", "--json", json_path],
                   env=ENV, check=True, capture_output=True)
    return read_reference_json(json_path)


def read_reference_json(json_path):
    """The figures this driver uses from bench/reference/cumulants.py --json (then removed)."""
    with open(json_path) as handle:
        result = json.load(handle)
    os.remove(json_path)
    median = result["median"]
    return {"seconds": median["seconds"], "values_per_s": median["values_per_s"],
            "compute_values_per_s": median["compute_values_per_s"],
            "read_s": median["read_seconds"], "compute_s": median["compute_seconds"],
            "numpy_sum_f32_GBps": result["numpy_sum"]["float32_GB_per_s"]}


def run_kernel_bench(exe, data, json_path):
    subprocess.run([exe, "-file", data, "-repeats", "1", "-json", json_path], check=True,
                   capture_output=True)
    with open(json_path) as handle:
        result = json.load(handle)
    os.remove(json_path)
    return {k: v[0] for k, v in result["seconds"].items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--dir", default=os.path.join(ROOT, "bench", "out"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", default=None,
                        help="another build directory (e.g. of an earlier commit) whose analyze "
                             "and kernel benchmark run in the same rounds, for before/after")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    exe = os.path.join(args.build, "rgflow")
    kernel_exe = os.path.join(args.build, "bench", "rgflow_bench_cumulants")
    os.makedirs(args.dir, exist_ok=True)
    data = os.path.join(args.dir, "cumulants_bench.h5")
    tiny = os.path.join(args.dir, "cumulants_bench_tiny.h5")
    out = os.path.join(args.dir, "cumulants_bench_results.h5")
    if not os.path.exists(data):
        generate(exe, data, 1024, 256, 5)
    if not os.path.exists(tiny):
        generate(exe, tiny, 64, 16, 5)

    # Untimed: warm the page cache with the whole file; peak RSS per rank with GNU time.
    timed(analyze_command(exe, 2, data, out))
    rss = {}
    for ranks in (1, 2):
        rss[ranks] = rss_of(analyze_command(exe, ranks, data, out,
                                            ["/usr/bin/time", "-f", "peak_rss_kib=%M"]))
    runs = {}
    for r in range(args.repeats):
        for ranks in (1, 2):
            runs.setdefault("analyze_%d" % ranks, []).append(
                timed(analyze_command(exe, ranks, data, out))[0])
            runs.setdefault("startup_%d" % ranks, []).append(
                timed(analyze_command(exe, ranks, tiny, out))[0])
        runs.setdefault("reference", []).append(
            run_reference(data, os.path.join(args.dir, "reference.json")))
        runs.setdefault("kernel", []).append(
            run_kernel_bench(kernel_exe, data, os.path.join(args.dir, "kernel.json")))
        if args.baseline:
            base_exe = os.path.join(args.baseline, "rgflow")
            for ranks in (1, 2):
                runs.setdefault("baseline_analyze_%d" % ranks, []).append(
                    timed(analyze_command(base_exe, ranks, data, out))[0])
            runs.setdefault("baseline_kernel", []).append(
                run_kernel_bench(os.path.join(args.baseline, "bench", "rgflow_bench_cumulants"),
                                 data, os.path.join(args.dir, "kernel.json")))
        print("round %d: analyze %.2f s (1 rank), %.2f s (2 ranks); tiny dataset %.2f s, %.2f s; "
              "reference %.2f s; kernel %.3f s, stream %.3f s" %
              (r, runs["analyze_1"][-1], runs["analyze_2"][-1], runs["startup_1"][-1],
               runs["startup_2"][-1], runs["reference"][-1]["seconds"],
               runs["kernel"][-1]["kernel_1"], runs["kernel"][-1]["stream_1"]), flush=True)

    med = statistics.median

    def ref_med(key):
        return med(p[key] for p in runs["reference"])

    def kernel_med(key):
        return med(k[key] for k in runs["kernel"])

    ref_rate = ref_med("values_per_s")
    gbytes = 4 * LEVEL0 / 1e9
    print("\nmedians over %d rounds; level 0: %d values (%.2f GB), all levels: %d values" %
          (args.repeats, LEVEL0, gbytes, ALL_LEVELS))
    print("\n| run | seconds | level-0 values/s | all-level values/s | vs reference | "
          "peak RSS/rank |")
    print("|---|---|---|---|---|---|")
    for ranks in (1, 2):
        wall = med(runs["analyze_%d" % ranks])
        net = med(a - s for a, s in zip(runs["analyze_%d" % ranks], runs["startup_%d" % ranks]))
        print("| rgflow analyze, %d rank%s | %.2f | %.3g | %.3g | %.2fx | %.0f MiB |" %
              (ranks, "s" if ranks > 1 else "", wall, LEVEL0 / wall, ALL_LEVELS / wall,
               LEVEL0 / wall / ref_rate, rss[ranks]))
        print("| same, minus the tiny dataset's %.2f s | %.2f | %.3g | %.3g | %.2fx | |" %
              (med(runs["startup_%d" % ranks]), net, LEVEL0 / net, ALL_LEVELS / net,
               LEVEL0 / net / ref_rate))
    if args.baseline:
        for ranks in (1, 2):
            wall = med(runs["baseline_analyze_%d" % ranks])
            print("| baseline analyze, %d rank%s | %.2f | %.3g | %.3g | %.2fx | |" %
                  (ranks, "s" if ranks > 1 else "", wall, LEVEL0 / wall, ALL_LEVELS / wall,
                   LEVEL0 / wall / ref_rate))
    print("| numpy + h5py reference (level 0) | %.2f (read %.2f + compute %.2f) | %.3g | | 1.00x "
          "| |" % (ref_med("seconds"), ref_med("read_s"), ref_med("compute_s"), ref_rate))

    stream_1 = 4 * LEVEL0 / kernel_med("stream_1")
    stream_2 = 4 * LEVEL0 / kernel_med("stream_2")
    print("\n| in memory, 1 GiB float32 | seconds | values/s | GB/s | of read bandwidth | "
          "vs reference |")
    print("|---|---|---|---|---|---|")
    for name, label, bandwidth in (("stream_1", "STREAM-like sum, 1 thread", stream_1),
                                   ("stream_2", "STREAM-like sum, 2 threads", stream_2),
                                   ("kernel_1", "moments to order 8, 1 thread", stream_1),
                                   ("kernel_2", "moments to order 8, 2 threads", stream_2)):
        seconds = kernel_med(name)
        print("| %s | %.3f | %.3g | %.2f | %.0f%% | %s |" %
              (label, seconds, LEVEL0 / seconds, gbytes / seconds,
               100 * 4 * LEVEL0 / seconds / bandwidth,
               "" if name.startswith("stream") else "%.1fx" % (LEVEL0 / seconds / ref_rate)))
    if args.baseline:
        for name, label in (("kernel_1", "baseline moments, 1 thread"),
                            ("kernel_2", "baseline moments, 2 threads")):
            seconds = med(k[name] for k in runs["baseline_kernel"])
            bandwidth = stream_1 if name == "kernel_1" else stream_2
            print("| %s | %.3f | %.3g | %.2f | %.0f%% | %.1fx |" %
                  (label, seconds, LEVEL0 / seconds, gbytes / seconds,
                   100 * 4 * LEVEL0 / seconds / bandwidth, LEVEL0 / seconds / ref_rate))
    print("| numpy reference: compute only (in memory) | %.3f | %.3g | %.2f | %.0f%% | |" %
          (LEVEL0 / ref_med("compute_values_per_s"), ref_med("compute_values_per_s"),
           4 * ref_med("compute_values_per_s") / 1e9,
           100 * 4 * ref_med("compute_values_per_s") / stream_1))
    print("| numpy reference: x.sum() float32 | | | %.2f | %.0f%% | |" %
          (ref_med("numpy_sum_f32_GBps"), 1e11 * ref_med("numpy_sum_f32_GBps") / stream_1))
    print("\n| level 0 from the file, 1 process | seconds | read | kernel | values/s | "
          "vs reference |")
    print("|---|---|---|---|---|---|")
    for name, label in (("reader_double", "as analyze: one sample per read, as double"),
                        ("float_sample", "float32, one sample per read, reused buffer"),
                        ("float_batch", "float32, 8 samples per read, reused buffer")):
        read, compute = kernel_med(name + "_read"), kernel_med(name + "_compute")
        print("| %s | %.3f | %.3f | %.3f | %.3g | %.1fx |" %
              (label, read + compute, read, compute, LEVEL0 / (read + compute),
               LEVEL0 / (read + compute) / ref_rate))
    if args.baseline:
        read = med(k["reader_double_read"] for k in runs["baseline_kernel"])
        compute = med(k["reader_double_compute"] for k in runs["baseline_kernel"])
        print("| baseline, as analyze | %.3f | %.3f | %.3f | %.3g | %.1fx |" %
              (read + compute, read, compute, LEVEL0 / (read + compute),
               LEVEL0 / (read + compute) / ref_rate))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"args": vars(args), "rss_MiB": rss, "runs": runs}, handle, indent=1)


if __name__ == "__main__":
    main()

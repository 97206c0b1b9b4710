#!/usr/bin/python3
"""Train benchmark of issue 4: rgflow train on 1 and 2 ranks at global batch 256 and 1024 against
the PyTorch reference's data-parallel mode (bench/reference/train.py --ddp), medians over
--repeats rounds, interleaved.

Workload: d = 2, L = 1024, b = 2, S = 16, level 0 -> 1 (4,194,304 training pairs, no validation
split), MLP 4-64-64-1 tanh, Adam, one epoch, float32. The dataset is generated once (untimed).
The reference trains on 1,048,576 pairs of the same map held in memory; rates are per sample.

    /usr/bin/python3 bench/train_bench.py --repeats 3
"""
import argparse
import json
import os
import re
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(ROOT, "bench", "reference", "train.py")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
SUMMARY = re.compile(r"steps in ([0-9.]+) s \(([0-9.e+]+) samples/s; all-reduce ([0-9.]+) s, "
                     r"load ([0-9.]+) s, peak RSS ([0-9.]+) MiB/rank\)")


def rgflow(exe, data, ranks, batch, out):
    command = ["mpiexec", "--oversubscribe", "-n", str(ranks), exe, "train", "-data", data,
               "-val_fraction", "0", "-epochs", "1", "-batch", str(batch), "-hidden", "64,64",
               "-activation", "tanh", "-o", out, "-force"]
    done = subprocess.run(command, env=ENV, capture_output=True, text=True, check=True)
    seconds, rate, reduce, load, rss = map(float, SUMMARY.search(done.stdout).groups())
    return dict(seconds=seconds, rate=rate, reduce=reduce, load=load, rss=rss)


def reference(ranks, json_path):
    """samples/s of the PyTorch reference's MLP: one thread, or data parallel on `ranks`."""
    command = ["/usr/bin/python3", REFERENCE, "--model", "mlp", "--threads", "1", "--repeats", "1",
               "--json", json_path]
    if ranks > 1:
        command = ["mpiexec", "--oversubscribe", "-n", str(ranks)] + command + ["--ddp"]
    subprocess.run(command, env=ENV, capture_output=True, text=True, check=True)
    return reference_rate(json_path)


def reference_rate(json_path):
    """The MLP's samples/s from bench/reference/train.py --json (the file is then removed)."""
    with open(json_path) as handle:
        rate = json.load(handle)["models"]["mlp"]["median_samples_per_s"]
    os.remove(json_path)
    return rate


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exe", default=os.path.join(ROOT, "build", "rgflow"))
    parser.add_argument("--dir", default=os.path.join(ROOT, "bench", "out"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    data = os.path.join(args.dir, "train_bench_data.h5")
    out = os.path.join(args.dir, "train_bench_model.h5")
    subprocess.run(["mpiexec", "--oversubscribe", "-n", "2", args.exe, "generate", "-quiet", "-d",
                    "2", "-L", "1024", "-b", "2", "-levels", "1", "-samples", "16", "-seed", "7",
                    "-o", data, "-force"], env=ENV, check=True)
    runs = {}
    for r in range(args.repeats):
        for ranks in (1, 2):
            for batch in (256, 1024):
                runs.setdefault((ranks, batch), []).append(rgflow(args.exe, data, ranks, batch, out))
            runs.setdefault(("reference", ranks), []).append(
                reference(ranks, os.path.join(args.dir, "train_bench_reference.json")))
        print("round %d done" % r, flush=True)
    med = statistics.median
    print("\nmedians over %d rounds" % args.repeats)
    print("| run | samples/s | parallel efficiency | all-reduce | load (I/O) | peak RSS/rank |")
    print("|---|---|---|---|---|---|")
    for batch in (256, 1024):
        one = med(x["rate"] for x in runs[(1, batch)])
        for ranks in (1, 2):
            group = runs[(ranks, batch)]
            rate = med(x["rate"] for x in group)
            seconds = med(x["seconds"] for x in group)
            print("| rgflow, batch %d, %d rank(s) | %.3g | %.0f%% | %.2f s (%.0f%%) | %.2f s | %.0f MiB |" %
                  (batch, ranks, rate, 100 * rate / (ranks * one), med(x["reduce"] for x in group),
                   100 * med(x["reduce"] for x in group) / seconds, med(x["load"] for x in group),
                   med(x["rss"] for x in group)))
    for ranks in (1, 2):
        print("| PyTorch reference, batch 256, %d rank(s)%s | %.3g | | | | |" %
              (ranks, " (--ddp)" if ranks == 2 else "", med(runs[("reference", ranks)])))
    ratio = med(x["rate"] for x in runs[(2, 256)]) / med(runs[("reference", 2)])
    print("\nrgflow / PyTorch data parallel, 2 ranks, batch 256: %.2fx" % ratio)
    os.remove(data)
    os.remove(out)


if __name__ == "__main__":
    main()

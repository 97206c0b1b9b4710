#!/usr/bin/python3
"""Network benchmark of issue 3: one training step (forward, backward, Adam) per batch of 256,
single thread, float32, in samples/s, against PyTorch on the same models, interleaved in one
session. (a) MLP 4-64-64-1 tanh; (b) graph network on the 2x2 block, 3 layers of width 32, tanh,
sum pooling; (c) MLP 16-128-128-1 tanh on 4x4 blocks.

rgflow: build/bench/rgflow_bench_nn (Google Benchmark). PyTorch: bench/reference/train.py
(--model mlp,gnn for (a) and (b), --model mlp-wide --samples 262144 for (c)); one thread each.

    /usr/bin/python3 bench/nn_bench.py --repeats 5
"""
import argparse
import json
import os
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(ROOT, "bench", "reference", "train.py")


def rgflow_rates(exe):
    out = subprocess.run([exe, "--benchmark_format=json"], check=True, capture_output=True,
                         text=True).stdout
    result = {}
    for entry in json.loads(out)["benchmarks"]:
        result[entry["name"]] = (entry.get("items_per_second"), entry.get("GFLOPs"))
    return result


def reference_rates(json_path):
    """samples/s of PyTorch on (a), (b), (c): bench/reference/train.py, one thread."""
    rates = {}
    for arguments in (["--model", "mlp,gnn"], ["--model", "mlp-wide", "--samples", "262144"]):
        subprocess.run(["/usr/bin/python3", REFERENCE, "--threads", "1", "--repeats", "1",
                        "--json", json_path] + arguments, check=True, capture_output=True)
        rates.update(read_reference_rates(json_path))
    return {"a": rates["mlp"], "b": rates["gnn"], "c": rates["mlp-wide"]}


def read_reference_rates(json_path):
    """{model: median samples/s} from bench/reference/train.py --json (the file is removed)."""
    with open(json_path) as handle:
        models = json.load(handle)["models"]
    os.remove(json_path)
    return {name: result["median_samples_per_s"] for name, result in models.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exe", default=os.path.join(ROOT, "build", "bench", "rgflow_bench_nn"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", default=os.path.join(ROOT, "bench", "out"))
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    names = {"a": "MlpSmall", "b": "GnnBlock", "c": "MlpWide"}
    ours = {k: [] for k in names}
    flops = {k: [] for k in names}
    peak = []
    theirs = {k: [] for k in names}
    for r in range(args.repeats):
        rates = rgflow_rates(args.exe)
        for key, name in names.items():
            ours[key].append(rates[name][0])
            flops[key].append(rates[name][1])
        peak.append(rates["FmaPeak"][1])
        for key, rate in reference_rates(os.path.join(args.dir, "nn_reference.json")).items():
            theirs[key].append(rate)
        print("round %d: " % r + ", ".join("%s %.3g vs %.3g" % (k, ours[k][-1], theirs[k][-1])
                                           for k in names), flush=True)
    med = statistics.median
    print("\nmedians over %d rounds; FMA peak of one core %.0f GFLOP/s (float32)" %
          (args.repeats, med(peak)))
    print("| model | rgflow samples/s | GFLOP/s | PyTorch samples/s | ratio |")
    print("|---|---|---|---|---|")
    labels = {"a": "(a) MLP 4-64-64-1 tanh", "b": "(b) graph network 2x2, 3x32 tanh",
              "c": "(c) MLP 16-128-128-1 tanh"}
    for key in names:
        print("| %s | %.3g | %.0f | %.3g | %.2fx |" % (labels[key], med(ours[key]), med(flops[key]),
                                                      med(theirs[key]),
                                                      med(ours[key]) / med(theirs[key])))


if __name__ == "__main__":
    main()

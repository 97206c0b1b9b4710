#!/usr/bin/python3
"""Reference for `rgflow generate`, written as a researcher would with numpy and h5py.

Draws S independent fields of L x L sites, uniform on the open interval (-sqrt 3, sqrt 3) (mean
0, variance 1), from numpy's Philox bit generator, applies the 2x2 CLT block map
y = (sum of the block's 4 sites) / 2 to get levels 1..K, and writes every level to one HDF5 file
as /level_k/field, shape (S, L/2^k, L/2^k), float32, one sample per HDF5 chunk. Samples are made
and written --chunk at a time, so memory stays near 2 x chunk x L^2 x 4 bytes whatever S is.

Timed: from creating the file to closing it (and fsync with --fsync), split into drawing the
random numbers, coarse-graining and writing. Between repeats the previous file is removed and
dirty pages are flushed, untimed.

    /usr/bin/python3 bench/reference/generate.py --L 1024 --samples 256 --levels 5 \\
        --out ref.h5 --repeats 3 [--json ref.json]

--json writes {"workload": ..., "repeats": [{"seconds", "bytes_written", "file_bytes",
"sites_per_s", "MB_per_s", "phase_seconds": {...}}, ...], "median": {...}, "peak_rss_MiB"}.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import h5py
import numpy as np

SQRT3 = np.float32(np.sqrt(3.0))
# numpy's float32 uniforms are k / 2^24 for k = 0 .. 2^24 - 1. Doubling and subtracting
# 1 - 2^-24 (both exact in float32) gives (2k + 1 - 2^24) / 2^24: 2^24 values placed
# symmetrically about 0, strictly inside (-1, 1). One rounding remains, the product by sqrt 3.
OFFSET = np.float32(1.0 - 2.0**-24)


def draw_uniform(rng, out):
    """Fills the float32 array `out` with unit-variance uniforms on (-sqrt 3, sqrt 3)."""
    rng.random(dtype=np.float32, out=out)
    out *= np.float32(2.0)
    out -= OFFSET
    out *= SQRT3


def coarse_grain(field):
    """One level of the 2x2 CLT map on a stack of square fields, shape (n, M, M) -> (n, M/2, M/2).

    Rows are paired first (adding contiguous rows is the fast direction for numpy), then
    columns; the factor 1/2 = 4^(-1/2) is exact in float32."""
    rows = field[:, 0::2, :] + field[:, 1::2, :]
    blocks = rows[:, :, 0::2] + rows[:, :, 1::2]
    blocks *= np.float32(0.5)
    return blocks


def create_levels(handle, args):
    """Creates /level_k/field for k = 0..K with the provenance a reader needs."""
    handle.attrs["format"] = "rgflow reference dataset"
    handle.attrs["seed"] = args.seed
    handle.attrs["d"] = 2
    handle.attrs["L"] = args.L
    handle.attrs["b"] = 2
    handle.attrs["levels"] = args.levels
    handle.attrs["n_samples"] = args.samples
    handle.attrs["distribution"] = "uniform"
    handle.attrs["scaling_dimension"] = 1.0
    handle.attrs["rng"] = "numpy Generator(Philox(seed)).random(float32), one stream, row-major"
    datasets = []
    for level in range(args.levels + 1):
        side = args.L >> level
        group = handle.create_group("level_%d" % level)
        group.attrs["level"] = level
        group.attrs["L_k"] = side
        datasets.append(group.create_dataset("field", shape=(args.samples, side, side),
                                             dtype=np.float32, chunks=(1, side, side)))
    return datasets


def generate_once(args):
    """Writes the whole file once; returns its timings and sizes."""
    if os.path.exists(args.out):
        os.remove(args.out)
    rng = np.random.Generator(np.random.Philox(args.seed))
    fine = np.empty((args.chunk, args.L, args.L), dtype=np.float32)
    phases = dict(random=0.0, coarse=0.0, write=0.0, close=0.0, fsync=0.0)
    written = 0
    start = time.perf_counter()
    handle = h5py.File(args.out, "w")
    datasets = create_levels(handle, args)
    for first in range(0, args.samples, args.chunk):
        mark = time.perf_counter()
        draw_uniform(rng, fine)
        phases["random"] += time.perf_counter() - mark
        level_field = fine
        for level, dataset in enumerate(datasets):
            if level > 0:
                mark = time.perf_counter()
                level_field = coarse_grain(level_field)
                phases["coarse"] += time.perf_counter() - mark
            mark = time.perf_counter()
            dataset[first:first + args.chunk] = level_field
            phases["write"] += time.perf_counter() - mark
            written += level_field.nbytes
    mark = time.perf_counter()
    handle.close()
    phases["close"] = time.perf_counter() - mark
    if args.fsync:
        mark = time.perf_counter()
        descriptor = os.open(args.out, os.O_RDONLY)
        os.fsync(descriptor)
        os.close(descriptor)
        phases["fsync"] = time.perf_counter() - mark
    seconds = time.perf_counter() - start
    sites = args.samples * args.L * args.L
    return dict(seconds=seconds, bytes_written=written, file_bytes=os.path.getsize(args.out),
                sites_per_s=sites / seconds, MB_per_s=written / seconds / 1e6,
                phase_seconds=phases)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--L", type=int, default=1024, help="side of level 0 (default 1024)")
    parser.add_argument("--samples", type=int, default=256, help="fields S (default 256)")
    parser.add_argument("--levels", type=int, default=5,
                        help="coarse levels K: levels 0..K are written (default 5)")
    parser.add_argument("--out", default="ref.h5", help="output HDF5 file (default ref.h5)")
    parser.add_argument("--seed", type=int, default=7, help="Philox seed (default 7)")
    parser.add_argument("--chunk", type=int, default=8,
                        help="samples drawn and written at a time (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (default 3)")
    parser.add_argument("--fsync", action="store_true",
                        help="fsync the file after closing it, inside the timing")
    parser.add_argument("--json", default=None, help="write the figures to this JSON file")
    args = parser.parse_args()
    if args.L < 1 or args.levels < 0 or args.L % (1 << args.levels) != 0:
        parser.error("--L must be a positive multiple of 2^levels")
    if args.samples < 1 or args.chunk < 1 or args.samples % args.chunk != 0:
        parser.error("--samples must be a positive multiple of --chunk")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        parser.error("the folder of --out does not exist: " + out_dir)
    return args


def main():
    args = parse_arguments()
    runs = []
    for repeat in range(args.repeats):
        if repeat > 0:
            os.sync()  # the previous repeat's dirty pages must not be flushed inside this one
            time.sleep(1.0)
        run = generate_once(args)
        runs.append(run)
        phases = run["phase_seconds"]
        print("repeat %d: %.3f s, %.4g sites/s, %.1f MB/s (random %.2f s, coarse %.2f s, "
              "write %.2f s, close %.2f s, fsync %.2f s)" %
              (repeat, run["seconds"], run["sites_per_s"], run["MB_per_s"], phases["random"],
               phases["coarse"], phases["write"], phases["close"], phases["fsync"]), flush=True)
    median = {key: statistics.median(run[key] for run in runs)
              for key in ("seconds", "sites_per_s", "MB_per_s")}
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("median of %d: %.3f s, %.4g sites/s, %.1f MB/s; %d bytes written; peak RSS %.0f MiB" %
          (args.repeats, median["seconds"], median["sites_per_s"], median["MB_per_s"],
           runs[0]["bytes_written"], peak_rss))
    if args.json:
        workload = dict(d=2, L=args.L, b=2, levels=args.levels, samples=args.samples,
                        distribution="uniform", dtype="float32", seed=args.seed,
                        chunk=args.chunk, fsync=args.fsync)
        with open(args.json, "w") as handle:
            json.dump(dict(program="bench/reference/generate.py", argv=sys.argv,
                           workload=workload, repeats=runs, median=median,
                           peak_rss_MiB=peak_rss), handle, indent=1)


if __name__ == "__main__":
    main()

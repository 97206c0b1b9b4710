#!/usr/bin/python3
"""Reference for the cumulant part of `rgflow analyze`, written with numpy and h5py.

Reads one level of a dataset (/level_k/field, samples first, any number of spatial axes,
float32 or float64) a few samples at a time into a reused buffer and computes, per sample, the
mean and the central power sums M_p = sum (x - mean)^p for p = 2..order in float64, over
cache-sized blocks of --block values. The per-sample sums are then combined exactly by shifting
every piece's sums to a common centre (the binomial theorem), and converted to cumulants
kappa_1..kappa_order (docs/science.md section 3). Errors: delete-one jackknife over --groups
groups of consecutive samples (default: one group per sample). Exact values: the recursion
kappa_n(k) = (N b^(-n Delta))^k kappa_n(0) with the distribution's kappa_n(0), from the file's
attributes (distribution, d, b, scaling_dimension, gamma_shape; a file without them is taken to
be the uniform 2x2 CLT data of bench/reference/generate.py).

Timed, --repeats times: one pass over the chosen level, split into reading (h5py read_direct)
and computing (the power sums); the page cache is warm after the first pass. Also timed: the
memory read bandwidth numpy reaches on the level held in memory, x.sum() in float32 and with a
float64 accumulator. Untimed unless --no-levels: the cumulants of every other level.

    /usr/bin/python3 bench/reference/cumulants.py --file ref.h5 --dset level_0/field \\
        --repeats 3 [--json cumulants.json]

--json writes {"values", "bytes", "repeats": [{"seconds", "read_seconds", "compute_seconds"}],
"median": {"seconds", "read_seconds", "compute_seconds", "values_per_s",
"compute_values_per_s", "GB_per_s"}, "numpy_sum": {"float32_GB_per_s", "float64_GB_per_s"},
"cumulants": {"<level>": {"values", "groups", "rows": [{"n", "kappa", "error", "exact", "z"}]}}}.
"""
import argparse
import json
import os
import re
import statistics
import sys
import time
from fractions import Fraction
from math import comb, factorial

import h5py
import numpy as np


# ---------------------------------------------------------------- exact values (science.md §2)
def bernoulli_numbers(count):
    """B_0..B_count as fractions, from sum_{j=0}^{m} C(m+1, j) B_j = 0 for m >= 1."""
    numbers = [Fraction(1)]
    for m in range(1, count + 1):
        numbers.append(-sum(comb(m + 1, j) * numbers[j] for j in range(m)) / (m + 1))
    return numbers


BERNOULLI = bernoulli_numbers(12)


def level0_cumulant(distribution, n, gamma_shape):
    """kappa_n of the standardised (mean 0, variance 1) site distribution, n >= 1."""
    if n == 1:
        return 0.0
    even = n % 2 == 0
    if distribution == "gaussian":
        return 1.0 if n == 2 else 0.0
    if distribution == "uniform":  # on (-sqrt 3, sqrt 3): (2 sqrt 3)^n B_n / n
        return float(BERNOULLI[n] * 2**n * 3 ** (n // 2) / n) if even else 0.0
    if distribution == "rademacher":
        return float(BERNOULLI[n] * 2**n * (2**n - 1) / n) if even else 0.0
    if distribution == "laplace":
        return 2.0 * factorial(n - 1) * 2.0 ** (-n / 2) if even else 0.0
    if distribution == "exponential":
        return float(factorial(n - 1))
    if distribution == "gamma":
        return factorial(n - 1) * gamma_shape ** (1.0 - n / 2)
    raise ValueError("no exact cumulants for the distribution '%s'" % distribution)


def exact_cumulant(attrs, n, level):
    d, b = int(attrs.get("d", 2)), int(attrs.get("b", 2))
    delta = float(attrs.get("scaling_dimension", d / 2))
    eigenvalue = b**d * float(b) ** (-n * delta)
    return eigenvalue**level * level0_cumulant(attrs.get("distribution", "uniform"), n,
                                               float(attrs.get("gamma_shape", 1.0)))


# ---------------------------------------------------------------- central sums (science.md §3)
class Pieces:
    """Count, mean and central sums M_0..M_P (M_0 = count, M_1 = 0) of a list of pieces."""

    def __init__(self, count, order):
        self.count = np.zeros(count)
        self.mean = np.zeros(count)
        self.sums = np.zeros((count, order + 1))


def sample_sums(values, block, scratch, powers, row):
    """Central sums of one sample's values (1-D float32 or float64) into `row` (length P+1).

    The mean is taken first (float64 accumulator); each block of values is then widened to
    float64 minus the mean, and its powers summed one order at a time, so the block stays in
    cache while the orders are walked."""
    total = values.size
    mean = float(np.add.reduce(values, dtype=np.float64)) / total
    row[:] = 0.0
    row[0] = total
    for first in range(0, total, block):
        part = values[first:first + block]
        size = part.size
        deviation = scratch[:size]
        power = powers[:size]
        np.subtract(part, mean, out=deviation, dtype=np.float64)
        np.multiply(deviation, deviation, out=power)
        row[2] += power.sum()
        for p in range(3, row.size):
            power *= deviation
            row[p] += power.sum()
    return mean


def shifted_sums(mean, sums, centre):
    """Sum over pieces of their central sums moved to `centre`:
    sum_s sum_j C(p, j) M_j,s (mean_s - centre)^(p - j), for p = 0..P. Pieces along the last
    axis of `mean` and the second-last of `sums`; `centre` broadcasts against `mean`."""
    order = sums.shape[-1] - 1
    shift = mean - centre
    shift_powers = np.stack([shift**q for q in range(order + 1)], axis=-1)
    result = np.zeros(shift.shape[:-1] + (order + 1,))
    for p in range(order + 1):
        for j in range(p + 1):
            result[..., p] += comb(p, j) * (sums[..., j] * shift_powers[..., p - j]).sum(axis=-1)
    return result


def combine(count, mean, sums):
    """Merges pieces given as arrays: (total count, mean, central sums about that mean)."""
    total = count.sum()
    centre = (count * mean).sum() / total
    return total, centre, shifted_sums(mean, sums, centre)


def group(pieces, groups):
    """Pieces merged into `groups` runs of consecutive pieces."""
    merged = Pieces(groups, pieces.sums.shape[1] - 1)
    for g, members in enumerate(np.array_split(np.arange(pieces.count.size), groups)):
        merged.count[g], merged.mean[g], merged.sums[g] = combine(
            pieces.count[members], pieces.mean[members], pieces.sums[members])
    return merged


def cumulants(count, mean, sums):
    """kappa_1..kappa_P from central sums: kappa_n = mu_n - sum_{m=2}^{n-2} C(n-1, m-1)
    kappa_m mu_{n-m}; index 0 of the result is unused."""
    order = sums.shape[-1] - 1
    mu = sums / count[..., None] if np.ndim(count) else sums / count
    kappa = np.zeros(mu.shape)
    kappa[..., 1] = mean
    for n in range(2, order + 1):
        kappa[..., n] = mu[..., n] - sum(comb(n - 1, m - 1) * kappa[..., m] * mu[..., n - m]
                                         for m in range(2, n - 1))
    return kappa


def jackknife(groups):
    """Cumulants of all groups together and their delete-one jackknife errors."""
    count, mean, sums = combine(groups.count, groups.mean, groups.sums)
    full = cumulants(count, mean, sums)
    g = groups.count.size
    # Leaving group i out: its complement's count, mean, and sums about that mean.
    rest_count = count - groups.count
    rest_mean = (count * mean - groups.count * groups.mean) / rest_count
    keep = 1.0 - np.eye(g)
    rest_sums = shifted_sums(groups.mean[None, :], groups.sums[None, :, :] * keep[:, :, None],
                             rest_mean[:, None])
    left_out = cumulants(rest_count, rest_mean, rest_sums)
    spread = left_out - left_out.mean(axis=0)
    error = np.sqrt((g - 1) / g * (spread**2).sum(axis=0))
    return full, error


# ---------------------------------------------------------------- passes over the file
def read_level(path, name, chunk, block, order):
    """One pass over dataset `name`: per-sample central sums, read and compute seconds."""
    start = time.perf_counter()
    read_seconds = compute_seconds = 0.0
    with h5py.File(path, "r") as handle:
        dataset = handle[name]
        samples = dataset.shape[0]
        per_sample = int(np.prod(dataset.shape[1:]))
        buffer = np.empty((chunk,) + dataset.shape[1:], dtype=dataset.dtype)
        width = min(block, per_sample)
        scratch, powers = np.empty(width), np.empty(width)
        pieces = Pieces(samples, order)
        for first in range(0, samples, chunk):
            taken = min(chunk, samples - first)
            mark = time.perf_counter()
            dataset.read_direct(buffer, np.s_[first:first + taken], np.s_[0:taken])
            middle = time.perf_counter()
            rows = buffer[:taken].reshape(taken, per_sample)
            for i in range(taken):
                pieces.mean[first + i] = sample_sums(rows[i], width, scratch, powers,
                                                     pieces.sums[first + i])
            pieces.count[first:first + taken] = per_sample
            compute_seconds += time.perf_counter() - middle
            read_seconds += middle - mark
        nbytes = samples * per_sample * dataset.dtype.itemsize
    seconds = time.perf_counter() - start
    return dict(seconds=seconds, read_seconds=read_seconds, compute_seconds=compute_seconds,
                values=samples * per_sample, bytes=nbytes), pieces


def numpy_sum_bandwidth(path, name, repeats=3):
    """GB/s of x.sum() over the level held in memory, float32 and float64 accumulators."""
    with h5py.File(path, "r") as handle:
        values = handle[name][()].reshape(-1)
    float32_seconds, float64_seconds = [], []
    for _ in range(repeats):
        mark = time.perf_counter()
        values.sum()
        float32_seconds.append(time.perf_counter() - mark)
        mark = time.perf_counter()
        values.sum(dtype=np.float64)
        float64_seconds.append(time.perf_counter() - mark)
    return dict(float32_GB_per_s=values.nbytes / statistics.median(float32_seconds) / 1e9,
                float64_GB_per_s=values.nbytes / statistics.median(float64_seconds) / 1e9)


def level_of(name):
    found = re.match(r"/?level_(\d+)/", name)
    return int(found.group(1)) if found else 0


def cumulant_table(pieces, groups, attrs, level):
    """Rows n, kappa_n, jackknife error, exact value, z-score; printed and returned."""
    groups = min(groups, pieces.count.size) if groups > 0 else pieces.count.size
    kappa, error = jackknife(group(pieces, groups))
    values = int(pieces.count.sum())
    print("level %d: %d values, %d jackknife groups\n  n  kappa_n          error     exact"
          "            z" % (level, values, groups))
    rows = []
    for n in range(1, kappa.size):
        exact = exact_cumulant(attrs, n, level)
        z = (kappa[n] - exact) / error[n] if error[n] > 0 else float("nan")
        rows.append(dict(n=n, kappa=float(kappa[n]), error=float(error[n]), exact=exact,
                         z=float(z)))
        print("  %-2d % .7e  %.2e  % .7e  % .2f" % (n, kappa[n], error[n], exact, z))
    return dict(values=values, groups=groups, rows=rows)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", default="ref.h5", help="HDF5 dataset (default ref.h5)")
    parser.add_argument("--dset", default="level_0/field",
                        help="the level that is timed (default level_0/field)")
    parser.add_argument("--order", type=int, default=8, help="highest cumulant, 2..12 (8)")
    parser.add_argument("--chunk", type=int, default=8, help="samples per read (default 8)")
    parser.add_argument("--block", type=int, default=1 << 18,
                        help="values per float64 block (default 262144)")
    parser.add_argument("--groups", type=int, default=0,
                        help="jackknife groups (default 0: one per sample)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes (default 3)")
    parser.add_argument("--no-levels", action="store_true",
                        help="skip the untimed cumulants of the other levels")
    parser.add_argument("--json", default=None, help="write the figures to this JSON file")
    args = parser.parse_args()
    if not 2 <= args.order <= 12:
        parser.error("--order must be between 2 and 12")
    if args.chunk < 1 or args.block < 1 or args.repeats < 1 or args.groups < 0:
        parser.error("--chunk, --block and --repeats must be positive, --groups not negative")
    if not os.path.isfile(args.file):
        parser.error("no such file: " + args.file)
    with h5py.File(args.file, "r") as handle:
        if args.dset not in handle:
            parser.error("%s has no dataset %s" % (args.file, args.dset))
        if handle[args.dset].ndim < 2 or handle[args.dset].shape[0] < 2:
            parser.error("%s must have a sample axis of at least 2 samples" % args.dset)
    return args


def main():
    args = parse_arguments()
    runs = []
    pieces = None
    for repeat in range(args.repeats):
        run, pieces = read_level(args.file, args.dset, args.chunk, args.block, args.order)
        runs.append(run)
        print("repeat %d: %.3f s (read %.3f s, compute %.3f s), %.4g values/s, compute only "
              "%.4g values/s" % (repeat, run["seconds"], run["read_seconds"],
                                 run["compute_seconds"], run["values"] / run["seconds"],
                                 run["values"] / run["compute_seconds"]), flush=True)
    values, nbytes = runs[0]["values"], runs[0]["bytes"]
    median = {key: statistics.median(run[key] for run in runs)
              for key in ("seconds", "read_seconds", "compute_seconds")}
    median["values_per_s"] = statistics.median(values / run["seconds"] for run in runs)
    median["compute_values_per_s"] = statistics.median(values / run["compute_seconds"]
                                                       for run in runs)
    median["GB_per_s"] = statistics.median(nbytes / run["seconds"] / 1e9 for run in runs)
    print("median of %d: %.3f s (read %.3f s, compute %.3f s), %.4g values/s" %
          (args.repeats, median["seconds"], median["read_seconds"], median["compute_seconds"],
           median["values_per_s"]))
    bandwidth = numpy_sum_bandwidth(args.file, args.dset)
    print("numpy x.sum() in memory: %.2f GB/s (float32), %.2f GB/s (float64 accumulator)" %
          (bandwidth["float32_GB_per_s"], bandwidth["float64_GB_per_s"]))

    with h5py.File(args.file, "r") as handle:
        attrs = {key: (value.decode() if isinstance(value, bytes) else value)
                 for key, value in handle.attrs.items()}
        others = sorted(key for key in handle.keys() if re.fullmatch(r"level_\d+", key))
    timed_level = level_of(args.dset)
    tables = {str(timed_level): cumulant_table(pieces, args.groups, attrs, timed_level)}
    if not args.no_levels:
        for name in others:
            level = int(name.split("_")[1])
            if "%s/field" % name == args.dset.lstrip("/") or level == timed_level:
                continue
            _, level_pieces = read_level(args.file, name + "/field", args.chunk, args.block,
                                         args.order)
            tables[str(level)] = cumulant_table(level_pieces, args.groups, attrs, level)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(dict(program="bench/reference/cumulants.py", argv=sys.argv,
                           file=args.file, dataset=args.dset, values=values, bytes=nbytes,
                           repeats=runs, median=median, numpy_sum=bandwidth,
                           cumulants=tables), handle, indent=1)


if __name__ == "__main__":
    main()

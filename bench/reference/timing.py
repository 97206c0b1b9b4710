"""Timing shared by the numba reference programs: CPU time per site of a sweep, and the JSON record.

CPU time of the process (time.process_time): on a shared machine wall time counts the other jobs
too, and rgflow's own figures (Google Benchmark's items_per_second) are CPU time as well.
"""
import argparse
import json
import math
import statistics
import time

import numba
import numpy as np


def ns_per_site(sweep, sweeps, repeats, sites):
    """Runs sweep() `sweeps` times, `repeats` times over; returns ns per site of each repeat and
    their median, and the last sweep's return value."""
    values = []
    last = None
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(sweeps):
            last = sweep()
        values.append((time.process_time() - start) * 1e9 / (sweeps * sites))
    return values, statistics.median(values), last


def write_json(path, workload, key, values, median):
    """The figures of one run: the workload, every repeat under `key`, the median, numba's version."""
    with open(path, "w") as out:
        json.dump({"workload": workload, key: values, "median": median,
                   "numba": numba.__version__}, out, indent=1)


def lattice_run(description, sweeps, extra=()):
    """The options of an Ising reference run (--dim, --L, --sweeps with the program's default,
    --repeats, --seed, --json, and each (name, default) of `extra` as an int option), parsed; beta_c
    of the dimension; and a random start of int8 spins from --seed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--dim", type=int, choices=(2, 3), default=2)
    parser.add_argument("--L", type=int, default=1024)
    parser.add_argument("--sweeps", type=int, default=sweeps)
    for name, default in extra:
        parser.add_argument(name, type=int, default=default)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json")
    args = parser.parse_args()
    beta = 0.5 * math.log(1.0 + math.sqrt(2.0)) if args.dim == 2 else 0.2216546
    rng = np.random.default_rng(args.seed)
    spins = np.where(rng.random((args.L,) * args.dim) < 0.5, 1, -1).astype(np.int8)
    return args, beta, spins

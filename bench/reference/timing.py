"""Timing shared by the numba reference programs: CPU time per site of a sweep, and the JSON record.

CPU time of the process (time.process_time): on a shared machine wall time counts the other jobs
too, and rgflow's own figures (Google Benchmark's items_per_second) are CPU time as well.
"""
import json
import statistics
import time

import numba


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

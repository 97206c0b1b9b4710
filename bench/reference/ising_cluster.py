#!/usr/bin/python3
"""Reference for rgflow's Swendsen-Wang sweep, written as a researcher would with numba.

A periodic L x L (--dim 2) or L x L x L (--dim 3) lattice of int8 spins at beta_c of that
dimension. One sweep: every bond to the +1 neighbour along each axis between equal spins is active with probability p = 1 - exp(-2 beta) (one numba uniform,
np.random.random, per bond between equal spins), clusters by union-find (path halving, the smaller
root kept), one fair coin per cluster, the clusters whose coin is heads flipped. Single thread.

Timed: --sweeps sweeps after --warmup sweeps (the first also compiles), --repeats times, in CPU
time of the process (time.process_time: on a shared machine wall time counts the other jobs too);
prints ns per site per sweep (the median over repeats) and, with --json, writes the figures.

    /usr/bin/python3 bench/reference/ising_cluster.py [--dim 2] --L 1024 --sweeps 10 --repeats 5 \
        [--json F]
"""
import math

import numba
import numpy as np

import timing


@numba.njit(cache=False)
def find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@numba.njit(cache=False)
def union(parent, a, b):
    a = find(parent, a)
    b = find(parent, b)
    if a < b:
        parent[b] = a
    elif b < a:
        parent[a] = b


@numba.njit(cache=False)
def flip_clusters(flat, parent, heads):
    n = flat.shape[0]
    clusters = 0
    for i in range(n):
        if parent[i] == i:
            heads[i] = np.random.random() < 0.5
            clusters += 1
    for i in range(n):
        if heads[find(parent, i)]:
            flat[i] = -flat[i]
    return clusters


@numba.njit(cache=False)
def sweep(spins, p, parent, heads):
    side = spins.shape[0]
    n = side * side
    for i in range(n):
        parent[i] = i
    for y in range(side):
        yd = y + 1 if y < side - 1 else 0
        for x in range(side):
            xr = x + 1 if x < side - 1 else 0
            s = spins[y, x]
            i = y * side + x
            if spins[y, xr] == s and np.random.random() < p:
                union(parent, i, y * side + xr)
            if spins[yd, x] == s and np.random.random() < p:
                union(parent, i, yd * side + x)
    return flip_clusters(spins.reshape(n), parent, heads)


@numba.njit(cache=False)
def sweep3(spins, p, parent, heads):
    side = spins.shape[0]
    n = side * side * side
    for i in range(n):
        parent[i] = i
    for z in range(side):
        zd = z + 1 if z < side - 1 else 0
        for y in range(side):
            yd = y + 1 if y < side - 1 else 0
            for x in range(side):
                xr = x + 1 if x < side - 1 else 0
                s = spins[z, y, x]
                i = (z * side + y) * side + x
                if spins[z, y, xr] == s and np.random.random() < p:
                    union(parent, i, (z * side + y) * side + xr)
                if spins[z, yd, x] == s and np.random.random() < p:
                    union(parent, i, (z * side + yd) * side + x)
                if spins[zd, y, x] == s and np.random.random() < p:
                    union(parent, i, (zd * side + y) * side + x)
    return flip_clusters(spins.reshape(n), parent, heads)


def main():
    args, beta, spins = timing.lattice_run(__doc__.splitlines()[0], sweeps=10,
                                           extra=[("--warmup", 20)])
    d = args.dim
    p = 1.0 - math.exp(-2.0 * beta)
    sites = args.L**d
    parent = np.empty(sites, dtype=np.int64)
    heads = np.zeros(sites, dtype=np.bool_)
    step = sweep if d == 2 else sweep3
    numba.njit(lambda s: np.random.seed(s))(args.seed)  # seeds numba's own generator
    for _ in range(args.warmup):  # compile, then reach equilibrium (cluster sizes of beta_c)
        step(spins, p, parent, heads)

    ns_per_site, median, clusters = timing.ns_per_site(lambda: step(spins, p, parent, heads),
                                                       args.sweeps, args.repeats, sites)
    print(f"numba Swendsen-Wang, d = {d}, L = {args.L}: {median:.2f} ns per site per sweep (CPU) "
          f"(repeats {', '.join(f'{v:.2f}' for v in ns_per_site)}); "
          f"clusters per site {clusters / sites:.3f}, |m| {abs(spins.mean()):.4f}")
    if args.json:
        timing.write_json(args.json, {"dim": d, "L": args.L, "sweeps": args.sweeps, "beta": beta},
                          "ns_per_site", ns_per_site, median)

if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Reference for rgflow's Ising heat-bath kernel, written as a researcher would with numba.

A periodic L x L (--dim 2) or L x L x L (--dim 3) lattice of int8 spins, checkerboard heat-bath
sweeps at beta_c of that dimension: for each colour, every site of that parity gets +1 with
probability 1 / (1 + exp(-2 beta h)), h the sum of its 2d neighbours, from a table of the 2d + 1
values of h and one numba uniform per site (numba's own Mersenne Twister, np.random.random
inside the jitted loop). Single thread.

Timed: --sweeps sweeps after a warm-up sweep (which also compiles), --repeats times, in CPU time
of the process (time.process_time: on a shared machine wall time counts the other jobs too; Google
Benchmark's items_per_second, rgflow's figure, is CPU time as well); prints ns per spin update (the
median over repeats) and, with --json, writes the figures.

    /usr/bin/python3 bench/reference/ising.py [--dim 2] --L 1024 --sweeps 20 --repeats 5 \
        [--json ref.json]
"""
import math

import numba
import numpy as np

import timing


@numba.njit(cache=False)
def sweep(spins, p_up, colour_order):
    side = spins.shape[0]
    for colour in colour_order:
        for y in range(side):
            start = (y + colour) % 2
            yu = y - 1 if y > 0 else side - 1
            yd = y + 1 if y < side - 1 else 0
            for x in range(start, side, 2):
                xl = x - 1 if x > 0 else side - 1
                xr = x + 1 if x < side - 1 else 0
                h = spins[yu, x] + spins[yd, x] + spins[y, xl] + spins[y, xr]
                spins[y, x] = 1 if np.random.random() < p_up[(h + 4) // 2] else -1


@numba.njit(cache=False)
def sweep_3d(spins, p_up, colour_order):
    side = spins.shape[0]
    for colour in colour_order:
        for z in range(side):
            zu = z - 1 if z > 0 else side - 1
            zd = z + 1 if z < side - 1 else 0
            for y in range(side):
                start = (z + y + colour) % 2
                yu = y - 1 if y > 0 else side - 1
                yd = y + 1 if y < side - 1 else 0
                for x in range(start, side, 2):
                    xl = x - 1 if x > 0 else side - 1
                    xr = x + 1 if x < side - 1 else 0
                    h = (spins[zu, y, x] + spins[zd, y, x] + spins[z, yu, x] + spins[z, yd, x]
                         + spins[z, y, xl] + spins[z, y, xr])
                    spins[z, y, x] = 1 if np.random.random() < p_up[(h + 6) // 2] else -1


def main():
    args, beta, spins = timing.lattice_run(__doc__.splitlines()[0], sweeps=20)
    d = args.dim
    p_up = np.array([1.0 / (1.0 + math.exp(-2.0 * beta * h)) for h in range(-2 * d, 2 * d + 1, 2)])
    sweep = globals()["sweep" if d == 2 else "sweep_3d"]
    colour_order = np.array([0, 1])
    numba.njit(lambda s: np.random.seed(s))(args.seed)  # seeds numba's own generator
    sweep(spins, p_up, colour_order)  # compile and warm up

    ns_per_update, median, _ = timing.ns_per_site(lambda: sweep(spins, p_up, colour_order),
                                                  args.sweeps, args.repeats, args.L ** d)
    print(f"numba checkerboard heat-bath, d = {d}, L = {args.L}: {median:.2f} ns per spin update (CPU) "
          f"(repeats {', '.join(f'{v:.2f}' for v in ns_per_update)}); "
          f"<m> after the run {spins.mean():+.4f}")
    if args.json:
        timing.write_json(args.json, {"dim": d, "L": args.L, "sweeps": args.sweeps, "beta": beta},
                          "ns_per_update", ns_per_update, median)

if __name__ == "__main__":
    main()

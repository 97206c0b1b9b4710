#!/usr/bin/env python3
"""Coefficients of the Chebyshev series behind rgflow's vectorised normal CDF (src/nn/activation.cpp).

For a >= 0 let t = 2 / (2 + a) and s = 2 t - 1 (so s runs over (-1, 1] as a runs over [0, inf)).
The function g(s) = log(erfc(a) / t) + a^2 is smooth on [-1, 1] (it tends to -log(2 sqrt(pi)) as
a -> inf), so erfc(a) = t exp(g(s) - a^2) with g a short Chebyshev series in s. This program
interpolates g at N Chebyshev points in 40-digit arithmetic (mpmath) and prints the N
coefficients; the last ones (below 1e-18) bound the truncation error of g, which is the relative
error of erfc before rounding. Run: python3 scripts/fit_erfc.py [N]  (rgflow uses N = 32).
"""
import sys

import mpmath as mp


def g(s):
    t = (s + 1) / 2
    if t == 0:
        return -mp.log(2 * mp.sqrt(mp.pi))
    a = 2 / t - 2
    return mp.log(mp.erfc(a) / t) + a * a


def main():
    mp.mp.dps = 40
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / n) for k in range(n)]
    values = [g(x) for x in nodes]
    for j in range(n):
        c = 2 * mp.fsum(values[k] * mp.cos(mp.pi * j * (k + mp.mpf(1) / 2) / n) for k in range(n)) / n
        if j == 0:
            c /= 2
        print(f"    {mp.nstr(c, 17, min_fixed=0, max_fixed=0)},")


if __name__ == "__main__":
    main()

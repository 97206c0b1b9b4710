#!/usr/bin/env python3
"""An independent reference for rgflow's analysis, written from docs/schema.md alone.

It reads a dataset, the trained models and the results file of `rgflow analyze` and recomputes,
with numpy in double (and long double for the power sums):
  - each model's effective weights from /model/parameters (per tying mode) against the stored
    /model/layer_<l> arrays, and its forward pass (MLP or graph network, with its strategy);
  - the per-level cumulants with delete-one jackknife errors, k-statistics, exact values,
    z-scores, recursion differences and eigenvalues (/cumulants);
  - the generalisation table (/generalisation/mse) on every test set;
  - each model's learned flow (/flow/<model>);
  - the Monte Carlo output cumulants of the propagation (/propagation/<model>/output_mc) and the
    number of Monte Carlo blocks.
It prints a table of the largest deviation of each check against its tolerance and exits 1 if any
check fails. Where the file disagrees with a semantic that docs/schema.md states (a model's own
levels, a test set's own geometry, nothing held out, a flow that starts at the model's level), the
failing check says which semantic differs.

    rgflow_reference.py check RUN_DIR [--results results/results.h5]
    rgflow_reference.py selftest RUN_DIR [...]   # mutated copies must fail, see self_test()
    rgflow_reference.py both RUN_DIR [...]       # check, then selftest
    rgflow_reference.py e2e --rgflow EXE --pipeline FILE [...]   # run the pipeline, then both

RUN_DIR is an `rgflow run` output folder: data/<name>.h5, models/<name>.h5, results/<name>.h5,
e.g. `rgflow_reference.py check runs/quickstart` after scripts/quickstart.sh (about a minute).
--propagation-blocks must be the analysis's -propagation_blocks (default 32768, as rgflow's).

Tolerances (why): the data are float32 as stored; rgflow and this program both widen them
exactly to double, so the only differences are rounding in double arithmetic:
  - effective weights: exact (0): both are copies of the same stored parameters;
  - cumulants (data and learned levels): |difference| <= 1e-9 times the moment scale of order n,
    sigma^n (n-1)!! (sigma^2 = kappa_2 of that level), plus 1e-9 |value|: one-pass Pebay merges
    and our long-double two-pass sums differ by O(1e-16 sqrt(count)) of that scale, far below;
    errors, z-scores, ratios and differences with the tolerance propagated to first order;
  - generalisation MSE: a prediction differs from ours by delta times the predictions' rms;
    the MSE then by at most 2 sqrt(MSE) delta rms(prediction) + (delta rms(prediction))^2, plus
    1e-12 MSE. delta = 1e-12 where rgflow runs the network in double; delta = 1e-5 where it runs
    it in float32 (the schema's rule: model parameters and data both float32): float32 rounding
    (6e-8 per operation) grown over the layers; measured on this test's models, a float32
    forward pass moves a prediction by at most 1.1e-6 of the predictions' rms;
  - learned flows: as cumulants, plus 10 delta per application of the model (a learned level is
    rounded to float32 here too when rgflow keeps it in float32);
  - the propagation's Monte Carlo output cumulants: as cumulants (the network runs in double).
"""

import argparse
import fractions
import itertools
import math
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

# ----------------------------------------------------------------------------------------------
# Reading files


def text(value):
    """A text attribute as str (fixed-length strings arrive as bytes)."""
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode()
    return str(value)


def attr(obj, name, default=None):
    return obj.attrs[name] if name in obj.attrs else default


class Dataset:
    """dataset.h5: attributes and the fields of every level, widened to double."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        with h5py.File(path, "r") as f:
            a = f.attrs
            self.d, self.L, self.b, self.levels = (int(a[k]) for k in ("d", "L", "b", "levels"))
            self.samples = int(a["n_samples"])
            self.distribution = text(a["distribution"])
            self.gamma_shape = float(a["gamma_shape"]) if "gamma_shape" in a else None
            self.delta = float(a["scaling_dimension"])
            self.created = text(a["created"])
            self.dtype = text(a["dtype"])
            self.fields = [f["level_%d/field" % k][()].astype(np.float64)
                           for k in range(self.levels + 1)]
        self.N = self.b ** self.d

    def side(self, level):
        return self.L // self.b ** level


def blocks_of(field, d, b):
    """field (S, side, .., side) -> (S, blocks, N): blocks row-major, sites row-major."""
    S, side = field.shape[0], field.shape[1]
    n = side // b
    shape = [S]
    for _ in range(d):
        shape += [n, b]
    x = field.reshape(shape)
    order = [0] + [1 + 2 * a for a in range(d)] + [2 + 2 * a for a in range(d)]
    return x.transpose(order).reshape(S, n ** d, b ** d)


# ----------------------------------------------------------------------------------------------
# The block's geometry: coordinates, point group, neighbours, orbits (schema: Blocks and sites)


def coordinates(site, d, b):
    c = []
    for _ in range(d):
        c.append(site % b)
        site //= b
    return c[::-1]


def site_of(c, b):
    s = 0
    for v in c:
        s = s * b + v
    return s


def group_elements(d, b, permute_axes):
    """Site maps g (g[i] = image of site i) of the point group, or of the reflections."""
    orders = itertools.permutations(range(d)) if permute_axes else [tuple(range(d))]
    N = b ** d
    group = []
    for order in orders:
        for flips in range(2 ** d):
            g = []
            for i in range(N):
                p = coordinates(i, d, b)
                moved = [p[order[a]] for a in range(d)]
                moved = [b - 1 - v if (flips >> a) & 1 else v for a, v in enumerate(moved)]
                g.append(site_of(moved, b))
            group.append(g)
    return group


def orbit_labels(group, N):
    label = [-1] * N
    nxt = 0
    for i in range(N):
        if label[i] >= 0:
            continue
        for g in group:
            label[g[i]] = nxt
        nxt += 1
    return label


def adjacency(d, b, periodic):
    N = b ** d
    A = np.zeros((N, N))
    for i in range(N):
        p = coordinates(i, d, b)
        for a in range(d):
            for step in (-1, 1):
                q = list(p)
                q[a] += step
                if not 0 <= q[a] < b:
                    if not periodic:
                        continue
                    q[a] %= b
                j = site_of(q, b)
                if j != i:
                    A[i, j] = 1.0  # counted once, whichever way it is reached
    return A


# ----------------------------------------------------------------------------------------------
# Models (schema: model.h5)


def activation(name):
    erf = np.frompyfunc(math.erf, 1, 1)
    table = {
        "identity": lambda z: z,
        "relu": lambda z: np.maximum(z, 0.0),
        "tanh": np.tanh,
        "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
        "gelu": lambda z: z * (1.0 + erf(z / math.sqrt(2.0)).astype(np.float64)) / 2.0,
        "silu": lambda z: z / (1.0 + np.exp(-z)),
        "softplus": lambda z: np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z))),
        "quadratic": lambda z: z * z,
        "cubic": lambda z: z * z * z,
    }
    return table[name]


class Model:
    def __init__(self, path):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        with h5py.File(path, "r") as f:
            m = f["model"]
            a = {k: (text(v) if isinstance(v, (bytes, np.bytes_, str)) else v)
                 for k, v in m.attrs.items()}
            self.kind, self.tying, self.strategy = a["kind"], a["tying"], a["strategy"]
            self.d, self.b = int(a["block_dim"]), int(a["block_side"])
            self.hidden = [int(w) for w in a["hidden"].split(",")]
            self.activation = a["activation"]
            self.orbit_group = a["orbit_group"]
            self.bias = int(a["bias"]) == 1
            self.mean_aggregation = int(a["mean_aggregation"]) == 1
            self.mean_pooling = int(a["mean_pooling"]) == 1
            self.periodic = int(a["periodic"]) == 1
            self.tie_self_neighbour = int(a["tie_self_neighbour"]) == 1
            self.layer_count = int(a["layer_count"])
            self.scalar = a["scalar"]
            self.theta = m["parameters"][()].astype(np.float64)
            self.stored = []
            for l in range(self.layer_count):
                g = m["layer_%d" % l]
                self.stored.append({k: g[k][()].astype(np.float64) for k in g})
            self.level_input = int(attr(f, "level_input", 0))
            self.training_samples = attr(f, "training_samples")
            self.dataset_path = text(attr(f, "dataset_path", ""))
        self.N = self.b ** self.d
        self.phi = activation(self.activation)
        self.rebuild()

    def rebuild(self):
        """Effective arrays from theta, following the parameter layout of the schema."""
        gnn = self.kind == "gnn"
        L = self.layer_count
        widths = [1 if gnn else self.N] + self.hidden + [1]
        orbit, O = None, 0
        if self.tying == "orbits":
            if self.orbit_group == "full":
                orbit = [0] * self.N
            else:
                group = group_elements(self.d, self.b, self.orbit_group == "point")
                orbit = orbit_labels(group, self.N)
            O = max(orbit) + 1
        theta = self.theta
        base = 0

        def weight(l, R, C):
            nonlocal base
            feeds_hidden, reads_hidden = l < L - 1, l > 0
            W = np.empty((R, C))
            t = self.tying
            if t == "inputs" and l == 0:
                for r in range(R):
                    W[r, :] = theta[base + r]
                base += R
            elif t == "orbits" and l == 0:
                for r in range(R):
                    for c in range(C):
                        W[r, c] = theta[base + r * O + orbit[c]]
                base += R * O
            elif t == "units" and feeds_hidden and reads_hidden:
                W[:, :] = theta[base]
                base += 1
            elif t == "units" and feeds_hidden:
                for c in range(C):
                    W[:, c] = theta[base + c]
                base += C
            elif t == "units" and reads_hidden:
                for r in range(R):
                    W[r, :] = theta[base + r]
                base += R
            elif t == "symmetric" and R == C:
                for r in range(R):
                    for c in range(C):
                        h, m = max(r, c), min(r, c)
                        W[r, c] = theta[base + h * (h + 1) // 2 + m]
                base += R * (R + 1) // 2
            elif t == "scalar":
                W[:, :] = theta[base]
                base += 1
            else:  # untied, column-major
                for r in range(R):
                    for c in range(C):
                        W[r, c] = theta[base + c * R + r]
                base += R * C
            return W

        self.W, self.Wn, self.B = [], [], []
        for l in range(L):
            R, C = widths[l + 1], widths[l]
            self.W.append(weight(l, R, C))
            if gnn and l < L - 1:
                self.Wn.append(self.W[-1].copy() if self.tie_self_neighbour else weight(l, R, C))
            if self.bias:
                shared = self.tying == "scalar" or (self.tying == "units" and l < L - 1)
                if shared:
                    self.B.append(np.full(R, theta[base]))
                    base += 1
                else:
                    self.B.append(theta[base:base + R].copy())
                    base += R
            else:
                self.B.append(np.zeros(R))
        self.parameters_used = base
        if gnn:
            self.A = adjacency(self.d, self.b, self.periodic)
            if self.mean_aggregation:
                self.A = self.A / np.maximum(self.A.sum(axis=1, keepdims=True), 1.0)

    def weight_deviation(self):
        """Largest |rebuilt - stored| over every effective array; inf on a shape mismatch."""
        worst = 0.0 if self.parameters_used == self.theta.size else math.inf
        for l in range(self.layer_count):
            pairs = [(self.W[l], self.stored[l]["weight"]),
                     (self.B[l], self.stored[l]["bias"].reshape(-1))]
            if self.kind == "gnn" and l < self.layer_count - 1:
                pairs.append((self.Wn[l], self.stored[l]["neighbour_weight"]))
            for mine, theirs in pairs:
                if mine.shape != theirs.shape:
                    return math.inf
                worst = max(worst, float(np.max(np.abs(mine - theirs))))
        return worst

    def net(self, X):
        """f_net on blocks X (M, N) -> (M,)."""
        L = self.layer_count
        if self.kind == "mlp":
            H = X
            for l in range(L - 1):
                H = self.phi(H @ self.W[l].T + self.B[l])
            return (H @ self.W[L - 1].T + self.B[L - 1])[:, 0]
        H = X[:, :, None]  # (M, nodes, features)
        for l in range(L - 1):
            agg = np.einsum("ij,mjf->mif", self.A, H)
            H = self.phi(H @ self.W[l].T + agg @ self.Wn[l].T + self.B[l])
        p = H.sum(axis=1)
        if self.mean_pooling:
            p = p / self.N
        return (p @ self.W[L - 1].T + self.B[L - 1])[:, 0]

    def predict(self, X):
        """The model's f on blocks X (M, N): the strategy applied."""
        if self.strategy == "average":
            group = group_elements(self.d, self.b, True)
            total = np.zeros(X.shape[0])
            for g in group:
                moved = np.empty_like(X)
                moved[:, g] = X  # (g.x)_{g(i)} = x_i
                total += self.net(moved)
            return total / len(group)
        if self.strategy == "canonical":
            return self.net(np.sort(X, axis=1))
        return self.net(X)

    def coarse(self, field, d):
        """The model's coarse field of fields (S, side, ..): (S, side/b, ..)."""
        X = blocks_of(field, d, self.b)
        S, B, N = X.shape
        X = X.reshape(S * B, N)
        chunk = 1 << 16  # blocks per call: bounds the memory of the activations
        y = np.concatenate([self.predict(X[i:i + chunk]) for i in range(0, S * B, chunk)])
        y = y.reshape(S, B)
        n = field.shape[1] // self.b
        return y.reshape((S,) + (n,) * d)


# ----------------------------------------------------------------------------------------------
# Cumulants (schema: results.h5, Jackknife groups and Cumulants)


def group_ranges(S, G):
    q, r = divmod(S, G)
    return [(g * q + min(g, r), (g + 1) * q + min(g + 1, r)) for g in range(G)]


def power_sums(values, centre, P):
    """[sum (x - centre)^p for p = 0..P] in long double."""
    dx = values.astype(np.longdouble).reshape(-1) - np.longdouble(centre)
    sums, power = [np.longdouble(dx.size)], np.ones_like(dx)
    for _ in range(P):
        power = power * dx
        sums.append(power.sum())
    return np.array(sums)


def cumulants_from_sums(sums, centre, P):
    """kappa_1..P and k_1..k_4 from power sums about `centre` (re-centred on the mean)."""
    n = sums[0]
    shift = sums[1] / n
    M = [np.longdouble(0)] * (P + 1)
    for p in range(2, P + 1):
        M[p] = sum(math.comb(p, j) * (-shift) ** j * sums[p - j] for j in range(p + 1))
    mu = [float(M[p] / n) for p in range(P + 1)]
    mean = float(np.longdouble(centre) + shift)
    kappa = [0.0] * (P + 1)
    for k in range(2, P + 1):
        kappa[k] = mu[k] - sum(math.comb(k - 1, m - 1) * kappa[m] * mu[k - m]
                               for m in range(2, k - 1))
    kappa[1] = mean
    nf = float(n)
    kstat = [math.nan] * 4
    if P >= 4 and nf >= 4:
        M2, M3, M4 = (float(M[p]) for p in (2, 3, 4))
        kstat = [mean, M2 / (nf - 1), nf * M3 / ((nf - 1) * (nf - 2)),
                 (nf * (nf + 1) * M4 - 3 * (nf - 1) * M2 ** 2) / ((nf - 1) * (nf - 2) * (nf - 3))]
    return np.array(kappa[1:]), np.array(kstat)


def jackknife_error(left_out):
    G = left_out.shape[0]
    mean = left_out.mean(axis=0)
    return np.sqrt((G - 1) / G * ((left_out - mean) ** 2).sum(axis=0))


def exact_cumulants(distribution, gamma_shape, P):
    """kappa_1..P of the standardised distribution, from its moments (Fractions where exact)."""
    F = fractions.Fraction
    if distribution == "exponential":
        return np.array([0.0] + [float(math.factorial(n - 1)) for n in range(2, P + 1)])
    if distribution == "gamma":
        return np.array([0.0] + [math.factorial(n - 1) * gamma_shape ** (1 - n / 2)
                                 for n in range(2, P + 1)])
    moment = {  # raw moments m_n of the standardised distribution, odd ones 0
        "gaussian": lambda n: F(math.prod(range(n - 1, 0, -2))),
        "uniform": lambda n: F(3 ** (n // 2), n + 1),  # on [-sqrt3, sqrt3]
        "rademacher": lambda n: F(1),
        "laplace": lambda n: F(math.factorial(n), 2 ** (n // 2)),  # scale 1/sqrt2
    }[distribution]
    m = [F(1)] + [moment(n) if n % 2 == 0 else F(0) for n in range(1, P + 1)]
    kappa = [F(0)] * (P + 1)
    for n in range(1, P + 1):
        kappa[n] = m[n] - sum(math.comb(n - 1, j - 1) * kappa[j] * m[n - j] for j in range(1, n))
    return np.array([float(k) for k in kappa[1:]])


class Flow:
    """The tables of /cumulants for a list of levels (fields of the same samples)."""

    def __init__(self, fields, groups, P, N, b, delta, exact0, first_level):
        S = fields[0].shape[0]
        ranges = group_ranges(S, groups)
        self.kappa, self.error, self.kstat, self.scale, self.loo = [], [], [], [], []
        for field in fields:
            centre = float(np.mean(field))
            per_group = [power_sums(field[a:b_], centre, P) for a, b_ in ranges]
            total = sum(per_group)
            kappa, kstat = cumulants_from_sums(total, centre, P)
            loo = np.array([cumulants_from_sums(total - s, centre, P)[0] for s in per_group])
            self.kappa.append(kappa)
            self.kstat.append(kstat)
            self.loo.append(loo)
            self.error.append(jackknife_error(loo))
            sigma = math.sqrt(max(kappa[1], 1e-300))
            self.scale.append(np.array([sigma ** n * max(1, math.prod(range(n - 1, 0, -2)))
                                        for n in range(1, P + 1)]))
        self.kappa, self.error, self.kstat = map(np.array, (self.kappa, self.error, self.kstat))
        self.scale = np.array(self.scale)
        n = np.arange(1, P + 1)
        self.lam = N * float(b) ** (-n * delta)
        rows = len(fields)
        self.exact = np.array([self.lam ** (first_level + j) * exact0 for j in range(rows)])
        self.z = (self.kappa - self.exact) / self.error
        factor = np.array([self.lam ** j for j in range(rows)])
        self.rdiff = self.kappa - factor * self.kappa[0]
        self.rdiff_error = np.array([jackknife_error(self.loo[j] - factor[j] * self.loo[0])
                                     for j in range(rows)])
        self.eig = self.kappa[1:] / self.kappa[:-1]
        self.eig_error = np.array([jackknife_error(self.loo[j] / self.loo[j - 1])
                                   for j in range(1, rows)]).reshape(rows - 1, P)


# ----------------------------------------------------------------------------------------------
# Comparison


class Report:
    def __init__(self):
        self.rows = []  # (check, max |dev| / tolerance, worst detail, note)

    def add(self, check, ratio, detail="", note=""):
        self.rows.append((check, ratio, detail, note))

    def compare(self, check, mine, theirs, tolerance, note="", labels=None):
        """max |mine - theirs| / tolerance over entries; NaN must meet NaN."""
        mine, theirs = np.asarray(mine, float), np.asarray(theirs, float)
        tolerance = np.broadcast_to(np.asarray(tolerance, float), mine.shape)
        if mine.shape != theirs.shape:
            self.add(check, math.inf, "shape %s, file %s" % (mine.shape, theirs.shape), note)
            return math.inf
        nan_mismatch = np.isnan(mine) != np.isnan(theirs)
        both = ~np.isnan(mine) & ~np.isnan(theirs)
        ratio = np.zeros(mine.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio[both] = np.abs(mine[both] - theirs[both]) / tolerance[both]
        ratio[np.isnan(ratio)] = math.inf
        ratio[nan_mismatch] = math.inf
        worst = float(ratio.max()) if ratio.size else 0.0
        detail = ""
        if ratio.size:
            i = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
            where = labels(i) if labels else str(tuple(int(k) for k in i))
            detail = "%s: ref %.12g file %.12g" % (where, mine[i], theirs[i])
        self.add(check, worst, detail, note if worst > 1 else "")
        return worst

    def print(self):
        width = max(len(r[0]) for r in self.rows)
        print("%-*s  %12s  %s" % (width, "check", "dev/tol", "worst entry"))
        failed = []
        for check, ratio, detail, note in self.rows:
            status = "FAIL" if not ratio <= 1 else "ok"
            print("%-*s  %12.3g  %-4s %s" % (width, check, ratio, status, detail))
            if status == "FAIL":
                failed.append(check)
                if note:
                    print("%-*s  %12s  -> %s" % (width, "", "", note))
        return failed


def cumulant_tolerances(flow, rel):
    """Tolerances of every table of a Flow: rel times the moment scale, propagated to first order
    (a jackknife error moves by at most sqrt(G) times the rounding of its leave-one-out values)."""
    root_g = math.sqrt(flow.loo[0].shape[0])
    t_kappa = rel * (flow.scale + np.abs(flow.kappa))
    t_err = 2 * root_g * t_kappa + rel * flow.error
    t = {"kappa": t_kappa, "kappa_error": t_err}
    t["k_statistics"] = rel * (flow.scale[:, :4] + np.abs(flow.kstat))
    t["exact"] = 1e-12 * np.abs(flow.exact) + 1e-300
    with np.errstate(invalid="ignore", divide="ignore"):
        t["z_exact"] = (t_kappa + np.abs(flow.z) * t_err) / flow.error + 1e-9
        lam = np.array([flow.lam ** j for j in range(len(flow.kappa))])
        t["recursion_difference"] = t_kappa + lam * t_kappa[0]
        t["recursion_difference_error"] = 2 * root_g * t["recursion_difference"] + \
            rel * flow.rdiff_error
        t["eigenvalue"] = (t_kappa[1:] + np.abs(flow.eig) * t_kappa[:-1]) / np.abs(flow.kappa[:-1])
        # A jackknife error moves by at most sqrt((G-1)/G) times the 2-norm of the moves of its
        # leave-one-out values; a leave-one-out ratio moves with its own denominator.
        G = flow.loo[0].shape[0]
        moves = [(t_kappa[j][None, :] + np.abs(flow.loo[j] / flow.loo[j - 1]) *
                  t_kappa[j - 1][None, :]) / np.abs(flow.loo[j - 1])
                 for j in range(1, len(flow.kappa))]
        t["eigenvalue_error"] = np.array(
            [2 * np.sqrt((G - 1) / G * (m ** 2).sum(axis=0)) for m in moves]).reshape(
            flow.eig_error.shape) + rel * flow.eig_error
    t["expected_eigenvalue"] = 1e-14 * np.abs(flow.lam)[None, :]
    return t


def compare_flow(report, prefix, flow, group, rel, note=""):
    mine = {"kappa": flow.kappa, "kappa_error": flow.error, "k_statistics": flow.kstat,
            "exact": flow.exact, "z_exact": flow.z, "recursion_difference": flow.rdiff,
            "recursion_difference_error": flow.rdiff_error, "eigenvalue": flow.eig,
            "eigenvalue_error": flow.eig_error, "expected_eigenvalue": flow.lam[None, :]}
    tol = cumulant_tolerances(flow, rel)
    first = getattr(flow, "first_level", 0)
    for name, value in mine.items():
        if name not in group:
            report.add("%s/%s" % (prefix, name), math.inf, "missing in the file", note)
            continue
        theirs = group[name][()]
        if theirs.shape != np.shape(value):
            report.add("%s/%s" % (prefix, name), math.inf,
                       "shape %s, file %s" % (np.shape(value), theirs.shape), note)
            continue
        if name == "exact" and not np.all(np.isfinite(theirs)):
            # The file may leave exact values it does not tabulate as NaN: compare the others,
            # and report known values left out.
            known = ~np.isnan(theirs)
            if np.any(~known & ~np.isnan(value)):
                report.add("%s/exact (orders left NaN)" % prefix, math.inf,
                           "NaN where the exact value is known, orders %s" %
                           sorted(set(int(j) + 1 for j in np.argwhere(~known)[:, 1])),
                           "the exact cumulants must cover every order the table has")
            value = np.where(known, value, np.nan)
            tol_ = np.where(known, tol[name], 1.0)
            report.compare("%s/%s" % (prefix, name), value, theirs, tol_, note)
            continue
        if name in ("z_exact",):
            known = ~np.isnan(theirs)
            value = np.where(known, value, np.nan)
        row_offset = 1 if name.startswith("eigenvalue") else 0
        report.compare("%s/%s" % (prefix, name), value, theirs, tol[name], note,
                       labels=lambda i, o=row_offset: "level %d n=%d" % (first + i[0] + o, i[1] + 1)
                       if len(i) == 2 else str(i))


# ----------------------------------------------------------------------------------------------
# The checks


def mse_tolerance(mse, rms_prediction, delta):
    scale = delta * rms_prediction
    return 2 * math.sqrt(max(mse, 0.0)) * scale + scale ** 2 + 1e-12 * abs(mse) + 1e-300


def generalisation_entry(model, dataset, first_sample, level, scale):
    """MSE of the model's level -> level+1 predictions on samples [first_sample, S) of dataset."""
    if level + 1 > dataset.levels or first_sample >= dataset.samples:
        return math.nan, 0.0
    fine = dataset.fields[level][first_sample:] * scale
    coarse = dataset.fields[level + 1][first_sample:] * scale
    predicted = model.coarse(fine, dataset.d)
    mse = float(np.mean((predicted - coarse) ** 2))
    return mse, float(np.sqrt(np.mean(predicted ** 2)))


def network_precision(model, datasets, args):
    """float32 when the model's parameters and every dataset it reads are float32 (schema:
    Precision of the networks), unless --forward-precision says otherwise."""
    if args.forward_precision != "auto":
        return args.forward_precision
    single = model.scalar == "float32" and all(d.dtype == "float32" for d in datasets)
    return "float32" if single else "float64"


# Relative rounding of a prediction: double, or float32 (6e-8 per operation, grown over the
# layers and sums of these small networks; rgflow states about 1e-6 for its float32 kernels).
FORWARD_DELTA = {"float64": 1e-12, "float32": 1e-5}


def run_checks(run_dir, results_path, args):
    report = Report()
    rel_cumulants = 1e-9
    with h5py.File(results_path, "r") as res:
        data_path = text(res.attrs["dataset_path"])
        if not os.path.isabs(data_path) and not os.path.exists(data_path):
            data_path = os.path.join(run_dir, "data", os.path.basename(data_path))
        data = Dataset(data_path)
        G = int(res.attrs["jackknife_groups"])
        cum = res["cumulants"]
        P = cum["kappa"].shape[1]
        exact0 = exact_cumulants(data.distribution, data.gamma_shape, P)
        flow = Flow(data.fields, G, P, data.N, data.b, data.delta, exact0, 0)
        compare_flow(report, "cumulants", flow, cum, rel_cumulants)

        if "generalisation" not in res:
            return report
        gen = res["generalisation"]
        names = text(gen.attrs["models"]).split(",")
        tests = text(gen.attrs["test_sets"]).split(",")
        mse_file = gen["mse"][()]
        eval_sets = {t: Dataset(os.path.join(run_dir, "data", t + ".h5")) for t in tests[1:-2]}
        models = [Model(os.path.join(run_dir, "models", n + ".h5")) for n in names]
        if np.any(np.isnan(mse_file)):
            notes = text(gen.attrs.get("notes", ""))
            report.add("generalisation: attribute notes (NaN entries)", 0.0 if notes else math.inf,
                       "notes: %r" % notes[:60], "semantic (a): every NaN entry is explained "
                       "in the attribute notes of /generalisation")
        for m, model in enumerate(models):
            report.compare("model %s: effective weights from parameters" % model.name,
                           [model.weight_deviation()], [0.0], [1e-300])
            k = model.level_input
            trained_here = os.path.abspath(model.dataset_path) == os.path.abspath(data.path) or \
                model.dataset_path == text(res.attrs["dataset_path"])
            first = int(model.training_samples) if trained_here and \
                model.training_samples is not None else 0
            for t, test in enumerate(tests):
                if test in eval_sets:
                    source, start, c = eval_sets[test], 0, 1.0
                else:
                    source, start = data, first
                    c = {"data": 1.0, "data_x2": 2.0, "data_x0.5": 0.5}[test]
                mine, rms = generalisation_entry(model, source, start, k, c)
                delta_forward = FORWARD_DELTA[network_precision(model, [data, source], args)]
                notes = []
                if k != 0:
                    legacy, _ = generalisation_entry(model, source, start, 0, c)
                    if abs(legacy - mse_file[m, t]) <= mse_tolerance(legacy, rms, 1e-6):
                        notes.append("semantic (a): the file has the level 0 -> 1 MSE; the "
                                     "schema says the model's own levels %d -> %d" % (k, k + 1))
                    else:
                        notes.append("semantic (a): the model's own levels %d -> %d" % (k, k + 1))
                if source is not data and source.L != data.L:
                    notes.append("semantic (a): test set '%s' read with its own side L = %d "
                                 "(the data's is %d)" % (test, source.L, data.L))
                if math.isnan(mine) and start >= source.samples:
                    notes.append("semantic (a): nothing held out (training_samples = %d = all "
                                 "samples): NaN, not %g" % (start, mse_file[m, t]))
                report.compare("generalisation %s / %s" % (model.name, test), [mine],
                               [mse_file[m, t]], [mse_tolerance(mine, rms, delta_forward)],
                               "; ".join(notes))
            if "flow" in res and model.name in res["flow"]:
                group = res["flow"][model.name]
                stored_level = group.attrs.get("first_level")
                report.add("flow/%s: attribute first_level" % model.name,
                           0.0 if stored_level is not None and int(stored_level) == k else math.inf,
                           "ref %d file %s" % (k, stored_level),
                           "semantic (b): /flow/<model> has attribute first_level = the model's "
                           "level_input")
                if k >= data.levels:
                    report.add("flow/%s: no flow beyond the last level" % model.name,
                               0.0 if text(group.attrs.get("note", "")) and
                               "kappa" not in group else math.inf,
                               "note %r" % text(group.attrs.get("note", ""))[:50],
                               "semantic (b): a model with level_input >= the data's last level "
                               "has a note and no tables")
                    continue
                precision = network_precision(model, [data], args)
                delta_forward = FORWARD_DELTA[precision]
                fields = [data.fields[k]]
                for _ in range(k, data.levels):
                    coarse = model.coarse(fields[-1], data.d)
                    if precision == "float32":  # a learned level is a float32 field
                        coarse = coarse.astype(np.float32).astype(np.float64)
                    fields.append(coarse)
                learned = Flow(fields, G, P, data.N, data.b, data.delta, exact0, k)
                learned.first_level = k
                rows = group["kappa"].shape[0]
                note = ""
                if rows != len(fields):
                    note = ("semantic (b): the file's flow has %d rows (levels %d..%d); the schema "
                            "says it starts at the model's level_input %d: %d rows"
                            % (rows, data.levels + 1 - rows, data.levels, k, len(fields)))
                rel_flow = rel_cumulants + 10 * delta_forward * (data.levels - k)
                if rows == data.levels + 1 and k > 0:
                    # Say whether the file holds the flow started at level 0 instead.
                    legacy = [data.fields[0]]
                    for _ in range(data.levels):
                        legacy.append(model.coarse(legacy[-1], data.d))
                    old = Flow(legacy, G, P, data.N, data.b, data.delta, exact0, 0)
                    scratch = Report()
                    worst = scratch.compare("", old.kappa, group["kappa"][()],
                                            cumulant_tolerances(old, rel_flow)["kappa"])
                    note += "; its kappa %s the flow started at level 0 (deviation/tolerance " \
                            "%.3g)" % ("matches" if worst <= 1 else "does not match", worst)
                compare_flow(report, "flow/%s" % model.name, learned, group, rel_flow, note)
            if "propagation" in res and model.name in res["propagation"]:
                check_propagation(report, model, data, G, res["propagation"][model.name], args)
    return report


def check_propagation(report, model, data, G, group, args):
    """The Monte Carlo output cumulants and the number of Monte Carlo blocks."""
    if text(group.attrs["skipped"]):
        return
    k = int(group.attrs["input_level"])
    quota = -(-args.propagation_blocks // G)
    X = blocks_of(data.fields[k], data.d, data.b)  # (S, blocks, N)
    taken = []
    for a, b_ in group_ranges(data.samples, G):
        taken.append(X[a:b_].reshape(-1, data.N)[:quota])
    count = sum(t.shape[0] for t in taken)
    report.compare("propagation %s: monte_carlo_blocks" % model.name, [count],
                   [int(group.attrs["monte_carlo_blocks"])], [0.5])
    outputs = [model.net(t) for t in taken]
    centre = float(np.mean(np.concatenate(outputs)))
    sums = [power_sums(o, centre, 4) for o in outputs]
    total = sum(sums)
    kappa, _ = cumulants_from_sums(total, centre, 4)
    loo = np.array([cumulants_from_sums(total - s, centre, 4)[0] for s in sums])
    error = jackknife_error(loo)
    sigma = math.sqrt(max(kappa[1], 1e-300))
    scale = np.array([sigma, sigma ** 2, 2 * sigma ** 3, 3 * sigma ** 4])
    # The propagation's Monte Carlo runs the network in double (schema: Precision of the
    # networks covers generalisation and flows only).
    tol_k = 1e-9 * (scale + np.abs(kappa)) + 10 * FORWARD_DELTA["float64"] * scale
    stored = group["output_mc"][()]
    report.compare("propagation %s: output_mc kappa_1..4" % model.name, kappa, stored[0], tol_k)
    report.compare("propagation %s: output_mc errors" % model.name, error, stored[1],
                   10 * tol_k + 1e-9 * error)


# ----------------------------------------------------------------------------------------------
# Self-test: a mutated copy must fail where the original passed


def self_test(run_dir, results_rel, args):
    base = run_checks(run_dir, os.path.join(run_dir, results_rel), args)
    base_failed = {row[0] for row in base.rows if not row[1] <= 1}
    outcomes = []
    for mutation in ("weight", "cumulant"):
        with tempfile.TemporaryDirectory() as work:
            copy = os.path.join(work, "run")
            shutil.copytree(run_dir, copy)
            results = os.path.join(copy, results_rel)
            if mutation == "weight":
                with h5py.File(results, "r") as res:
                    name = text(res["generalisation"].attrs["models"]).split(",")[0]
                path = os.path.join(copy, "models", name + ".h5")
                with h5py.File(path, "r+") as f:
                    theta = f["model/parameters"]
                    values = theta[()]
                    values[0] = values[0] * (1 + 1e-3) + 1e-6
                    theta[...] = values
                # Keep the file self-consistent: the stored effective weights follow theta, so
                # only the forward pass can see the change.
                model = Model(path)
                with h5py.File(path, "r+") as f:
                    for l in range(model.layer_count):
                        g = f["model/layer_%d" % l]
                        g["weight"][...] = model.W[l]
                        g["bias"][...] = model.B[l].reshape(-1, 1)
                        if "neighbour_weight" in g:
                            g["neighbour_weight"][...] = model.Wn[l]
                what = "parameter 0 of model %s (x 1.001)" % name
            else:
                with h5py.File(results, "r+") as res:
                    kappa = res["cumulants/kappa"]
                    values = kappa[()]
                    values[1, 3] *= 1 + 1e-6
                    kappa[...] = values
                what = "kappa_4 of level 1 in /cumulants (x (1 + 1e-6))"
            mutated = run_checks(copy, results, args)
            failed = {row[0] for row in mutated.rows if not row[1] <= 1}
            new = sorted(failed - base_failed)
            print("self-test: mutated %s: %d new failing check(s)%s" %
                  (what, len(new), (": " + ", ".join(new[:4])) if new else ""))
            outcomes.append(bool(new))
    return all(outcomes)


def run_pipeline(args):
    """Runs the pipeline with the built rgflow on 2 ranks into a fresh folder; its path."""
    work = tempfile.mkdtemp(prefix="rgflow_reference_")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    command = [args.mpiexec, "--oversubscribe", "-n", "2", args.rgflow, "run", args.pipeline,
               "-outdir", os.path.join(work, "run")]
    print("$ " + " ".join(command), flush=True)
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if done.returncode != 0:
        print(done.stdout)
        shutil.rmtree(work, ignore_errors=True)
        raise SystemExit("the pipeline failed (exit %d)" % done.returncode)
    return work


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["check", "selftest", "both", "e2e"],
                        help="e2e: run --pipeline with --rgflow into a temporary folder, then "
                             "both (the checks and the self-test)")
    parser.add_argument("run_dir", nargs="?", help="an `rgflow run` output folder (not for e2e)")
    parser.add_argument("--results", help="one results file, relative to RUN_DIR (default: "
                                           "every results/*.h5)")
    parser.add_argument("--forward-precision", choices=["auto", "float64", "float32"],
                        default="auto", help="precision of rgflow's networks in generalisation "
                        "and flows (sets the tolerances); auto: the schema's rule")
    parser.add_argument("--propagation-blocks", type=int, default=32768,
                        help="the analysis's -propagation_blocks")
    parser.add_argument("--rgflow", help="e2e: the rgflow executable")
    parser.add_argument("--mpiexec", default="mpiexec", help="e2e: the MPI launcher")
    parser.add_argument("--pipeline", help="e2e: the pipeline file")
    args = parser.parse_args()
    np.seterr(all="ignore")
    work = None
    if args.mode == "e2e":
        if not (args.rgflow and args.pipeline):
            parser.error("e2e needs --rgflow and --pipeline")
        work = run_pipeline(args)
        args.run_dir, args.mode = os.path.join(work, "run"), "both"
    elif not args.run_dir:
        parser.error("RUN_DIR is needed")
    if args.results:
        results = [args.results]
    else:
        folder = os.path.join(args.run_dir, "results")
        results = sorted(os.path.join("results", f) for f in os.listdir(folder)
                         if f.endswith(".h5") and not f.endswith(".partial"))
    try:
        failed = []
        for rel in results:
            print("== %s" % rel)
            failed += run_checks(args.run_dir, os.path.join(args.run_dir, rel), args).print()
            print()
        print("%d check(s) failed" % len(failed) if failed else "all checks pass")
        if args.mode == "check":
            return 1 if failed else 0
        print("\n== self-test on mutated copies of %s and its files" % results[0])
        ok = self_test(args.run_dir, results[0], args)
        print("self-test %s" % ("passed: every mutation is caught" if ok else
                                "FAILED: a mutation went unnoticed"))
        if args.mode == "selftest":
            return 0 if ok else 1
        return 0 if ok and not failed else 1
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

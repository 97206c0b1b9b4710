#!/usr/bin/python3
"""The symmetry study's table and figures from the results of pipelines/symmetry-study.yaml.

    /usr/bin/python3 scripts/study_summary.py runs/study/results [--outdir docs/study]

Reads <lattice>.h5 for every analysis of the study (line, square) and writes, per lattice:
  summary_<lattice>.csv   one row per model: held-out MSE, worst MSE on the other distributions,
                          MSE on inputs x2, variance drift of the learned flow at the deepest
                          level, kappa_4 error of the first learned level, permutation error
  grid_<lattice>.png      MLPs: weight tying x activation heat maps of those measures
  others_<lattice>.png    graph networks (self/neighbour weights tied or not) and strategies
  flows_<lattice>.png     kappa_2 and |kappa_4| along the learned flows of representative models
  propagation_<lattice>.png  MLPs: relative error of the output's predicted kappa_2 and kappa_4
                          against Monte Carlo, per propagation mode (exact, taylor, gauss)
Needs python3-matplotlib and python3-h5py (Debian packages). A results file that is missing or
cannot be read (not HDF5, damaged, another format or schema version) ends the script with one
line `error: ...` naming it and exit status 1, before any output is written.
"""
import argparse
import csv
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rgflow_results import InputError, guarded, load_results  # noqa: E402

ACTIVATIONS = ["identity", "relu", "tanh", "sigmoid", "gelu", "silu", "softplus", "quadratic",
               "cubic"]
TYINGS = ["none", "inputs", "orbits", "units", "symmetric", "scalar"]
STRATEGIES = ["augment", "regularize", "average", "canonical"]
COLUMNS = ["held_out_mse", "worst_other_distribution_mse", "x2_mse", "variance_drift",
           "kappa4_error_level1", "permutation_error", "exact_kappa2_error", "exact_kappa4_error",
           "taylor_kappa2_error", "taylor_kappa4_error", "gauss_kappa2_error",
           "gauss_kappa4_error", "mc_kappa4_error"]
TITLES = {
    "held_out_mse": "held-out MSE",
    "worst_other_distribution_mse": "worst MSE, other distributions",
    "x2_mse": "MSE on inputs x 2",
    "variance_drift": "|kappa_2 drift| at the deepest level",
    "kappa4_error_level1": "kappa_4 error, first learned level",
    "permutation_error": "permutation output error",
}


def check_study(path, results):
    """The parts of a results file the study's measures need; InputError naming it otherwise."""
    def fail(problem):
        raise InputError("'%s': %s" % (path, problem))
    if "generalisation" not in results:
        fail("missing group /generalisation (analyze ran without -models)")
    tests = results["generalisation"]["test_sets"]
    for needed in ("data", "data_x2"):
        if needed not in tests:
            fail("/generalisation has no test set '%s'" % needed)
    if results["cumulants"]["kappa"].shape[1] < 4 or results["cumulants"]["kappa"].shape[0] < 2:
        fail("/cumulants/kappa needs two levels and orders up to 4")
    for model in results["generalisation"]["models"]:
        if model not in results["flow"]:
            fail("missing group /flow/" + model)
        if model not in results["symmetry"]:
            fail("missing group /symmetry/" + model)
        flow = results["flow"][model]
        if flow is not None and (flow["kappa"].shape[0] < 2 or flow["level"][0] != 0):
            fail("/flow/%s does not start at level 0 with two levels" % model)


def measures(results):
    """Per model, the measures of COLUMNS (docs/science.md section 7)."""
    group = results["generalisation"]
    mse, models, tests = group["mse"], group["models"], group["test_sets"]
    others = [i for i, name in enumerate(tests) if name not in ("data", "data_x2", "data_x0.5")]
    data_kappa = results["cumulants"]["kappa"]
    exact = results["cumulants"]["exact"]
    rows = {}
    for r, model in enumerate(models):
        flow = results["flow"][model]
        # A model without a learned flow (its `note` says why) has no flow measures.
        kappa = flow["kappa"] if flow is not None else np.full((2, data_kappa.shape[1]), np.nan)
        deepest = kappa.shape[0] - 1
        rows[model] = {
            "held_out_mse": mse[r, tests.index("data")],
            "worst_other_distribution_mse": max(mse[r, i] for i in others) if others else np.nan,
            "x2_mse": mse[r, tests.index("data_x2")],
            # The learned flow starts from the data's level 0, so at every level it is compared
            # with the data's own flow (the same noise), and kappa_2 should stay at 1.
            "variance_drift": abs(kappa[deepest, 1] / data_kappa[deepest, 1] - 1),
            "kappa4_error_level1": abs(kappa[1, 3] - data_kappa[1, 3]) / abs(exact[1, 3]),
            "permutation_error": results["symmetry"][model]["output_error_permutation"],
        }
        # Cumulant propagation: the output's kappa_2 and kappa_4 predicted by each mode, relative
        # to Monte Carlo (NaN where the mode did not apply), and Monte Carlo's own error.
        row = rows[model]
        for mode in ("exact", "taylor", "gauss"):
            row[mode + "_kappa2_error"] = row[mode + "_kappa4_error"] = np.nan
        row["mc_kappa4_error"] = np.nan
        group = results["propagation"].get(model)
        if group is not None and not group["skipped"]:
            mc = group["output_mc"]
            row["mc_kappa4_error"] = abs(mc[1, 3] / mc[0, 3]) if mc[0, 3] else np.nan
            for mode, tables in group["modes"].items():
                predicted = tables["output"]
                for n in (2, 4):
                    if np.isfinite(predicted[n - 1]) and mc[0, n - 1]:
                        row["%s_kappa%d_error" % (mode, n)] = abs(
                            predicted[n - 1] / mc[0, n - 1] - 1)
    return rows, deepest


def write_csv(rows, path):
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["model"] + COLUMNS)
        for model, row in rows.items():
            writer.writerow([model] + ["%.3e" % row[c] for c in COLUMNS])


def log_cell(value):
    return np.log10(max(value, 1e-30)) if np.isfinite(value) else np.nan


def plot_grid(rows, lattice, path):
    shown = ["held_out_mse", "worst_other_distribution_mse", "x2_mse", "variance_drift"]
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.8))
    for ax, column in zip(axes, shown):
        grid = np.full((len(TYINGS), len(ACTIVATIONS)), np.nan)
        for t, tying in enumerate(TYINGS):
            for a, activation in enumerate(ACTIVATIONS):
                row = rows.get("%s_mlp_%s_%s" % (lattice, tying, activation))
                if row is not None:
                    grid[t, a] = log_cell(row[column])
        image = ax.imshow(grid, cmap="viridis", aspect="auto", vmin=-16 if "mse" in column else -6,
                          vmax=0)
        ax.set_xticks(range(len(ACTIVATIONS)), ACTIVATIONS, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(TYINGS)), TYINGS, fontsize=8)
        for (r, c), value in np.ndenumerate(grid):
            if np.isfinite(value):
                ax.text(c, r, "%.0f" % value, ha="center", va="center", color="w", fontsize=7)
        ax.set_title("log10 " + TITLES[column], fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle("%s lattice: MLPs, weight tying (rows) x activation (columns)" % lattice)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_others(rows, lattice, path):
    names, labels = [], []
    for tied in ("gnn", "gnn_tied"):
        for activation in ACTIVATIONS:
            names.append("%s_%s_%s" % (lattice, tied, activation))
            labels.append("%s %s" % (tied.replace("_", " "), activation))
    names.append("%s_mlp_none_tanh" % lattice)
    labels.append("mlp untied tanh")
    for strategy in STRATEGIES:
        names.append("%s_strategy_%s" % (lattice, strategy))
        labels.append("mlp tanh + " + strategy)
    present = [(n, l) for n, l in zip(names, labels) if n in rows]
    if not present:
        present = [(n, n) for n in rows]  # not the study's models: show every model
    shown = ["held_out_mse", "worst_other_distribution_mse", "x2_mse", "variance_drift"]
    grid = np.array([[log_cell(rows[n][c]) for c in shown] for n, _ in present])
    fig, ax = plt.subplots(figsize=(7.5, 0.3 * len(present) + 1.6))
    image = ax.imshow(grid, cmap="viridis", aspect="auto", vmin=-16, vmax=0)
    ax.set_yticks(range(len(present)), [l for _, l in present], fontsize=8)
    ax.set_xticks(range(len(shown)), [TITLES[c] for c in shown], rotation=20, ha="right",
                  fontsize=8)
    for (r, c), value in np.ndenumerate(grid):
        ax.text(c, r, "%.1f" % value, ha="center", va="center", color="w", fontsize=7)
    fig.colorbar(image, ax=ax, label="log10")
    ax.set_title("%s lattice: graph networks and strategies" % lattice, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_flows(results, lattice, path):
    picks = ["mlp_inputs_identity", "mlp_none_tanh", "mlp_inputs_tanh", "mlp_units_tanh",
             "mlp_none_quadratic", "gnn_tanh", "strategy_canonical"]
    data_kappa = results["cumulants"]["kappa"]
    data_error = results["cumulants"]["kappa_error"]
    exact = results["cumulants"]["exact"]
    levels = results["cumulants"]["level"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, n in zip(axes, (2, 4)):
        i = n - 1
        ax.errorbar(levels, np.abs(data_kappa[:, i]), yerr=data_error[:, i], fmt="ko", capsize=3,
                    label="data", zorder=5)
        ax.plot(levels, np.abs(exact[:, i]), "k-", lw=1, label="exact recursion")
        for pick in picks:
            name = "%s_%s" % (lattice, pick)
            flow = results["flow"].get(name)
            if flow is not None:
                ax.plot(flow["level"], np.abs(flow["kappa"][:, i]), "--s", ms=4, label=pick)
        ax.set_yscale("log")
        ax.set_xlabel("level k")
        ax.set_ylabel("|kappa_%d|" % n)
        ax.set_title("learned flows: kappa_%d" % n)
    axes[0].legend(fontsize=7)
    fig.suptitle("%s lattice: the learned map applied again and again from level 0" % lattice)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_propagation(rows, lattice, path):
    panels = [("exact", 4), ("taylor", 2), ("taylor", 4), ("gauss", 2), ("gauss", 4)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.8))
    for ax, (mode, n) in zip(axes, panels):
        column = "%s_kappa%d_error" % (mode, n)
        grid = np.full((len(TYINGS), len(ACTIVATIONS)), np.nan)
        for t, tying in enumerate(TYINGS):
            for a, activation in enumerate(ACTIVATIONS):
                row = rows.get("%s_mlp_%s_%s" % (lattice, tying, activation))
                if row is not None and np.isfinite(row[column]):
                    grid[t, a] = log_cell(row[column])
        image = ax.imshow(grid, cmap="magma", aspect="auto", vmin=-4, vmax=0)
        ax.set_xticks(range(len(ACTIVATIONS)), ACTIVATIONS, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(TYINGS)), TYINGS, fontsize=8)
        for (r, c), value in np.ndenumerate(grid):
            if np.isfinite(value):
                ax.text(c, r, "%.1f" % value, ha="center", va="center", color="w", fontsize=6)
        ax.set_title("log10 |%s kappa_%d / MC - 1|" % (mode, n), fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle("%s lattice: the output's cumulants predicted by propagation against Monte Carlo"
                 % lattice)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="the results folder of the study's run")
    parser.add_argument("--outdir", default="docs/study")
    parser.add_argument("--lattices", default="line,square",
                        help="the analyses to summarise, <lattice>.h5 each (default line,square)")
    args = parser.parse_args()
    # Every file is read and checked before anything is written.
    studies = {}
    for lattice in [name for name in args.lattices.split(",") if name]:
        path = os.path.join(args.results, lattice + ".h5")
        studies[lattice] = load_results(path)
        check_study(path, studies[lattice])
    os.makedirs(args.outdir, exist_ok=True)
    for lattice, results in studies.items():
        rows, deepest = measures(results)
        outputs = [os.path.join(args.outdir, name % lattice) for name in
                   ("summary_%s.csv", "grid_%s.png", "others_%s.png", "flows_%s.png",
                    "propagation_%s.png")]
        write_csv(rows, outputs[0])
        plot_grid(rows, lattice, outputs[1])
        plot_others(rows, lattice, outputs[2])
        plot_flows(results, lattice, outputs[3])
        plot_propagation(rows, lattice, outputs[4])
        for output in outputs:
            print("wrote " + output)


if __name__ == "__main__":
    guarded(main)

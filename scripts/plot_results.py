#!/usr/bin/python3
"""Figures from an rgflow results file (rgflow analyze) and the model files it names.

    /usr/bin/python3 scripts/plot_results.py results.h5 [--models a.h5,b.h5] [--outdir DIR]

Writes, next to the results file unless --outdir is given:
  <stem>_cumulants.png       |kappa_n| against level (log scale), measured with errors, exact lines
  <stem>_flow.png            kappa_n of each model's learned levels against the data's flow
  <stem>_generalisation.png  heat map of log10 MSE, models x test sets
  <stem>_training.png        training and validation loss per epoch of each model (--models)
  <stem>_propagation.png     cumulant propagation: every unit's kappa_2 and kappa_4 predicted
                             (exact, Taylor, Gauss) against Monte Carlo, all models
Needs python3-matplotlib and python3-h5py (Debian packages); rgflow itself does not. A results or
model file that cannot be read (missing, not HDF5, damaged, another format or schema version)
ends the script with one line `error: ...` naming it and exit status 1, before any figure.
"""
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rgflow_results import guarded, load_history, load_results  # noqa: E402


def save_figure(fig, ax, path, title, legend=True):
    """Titles, lays out, writes and closes one single-axes figure."""
    ax.set_title(title)
    if legend:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_cumulants(results, path, orders=(2, 4, 6)):
    cumulants = results["cumulants"]
    kappa, error, exact = cumulants["kappa"], cumulants["kappa_error"], cumulants["exact"]
    levels = cumulants["level"]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for n in orders:
        if n > kappa.shape[1]:
            continue
        i = n - 1
        drawn = ax.errorbar(levels, np.abs(kappa[:, i]), yerr=error[:, i], fmt="o", capsize=3,
                            label="|kappa_%d| measured" % n)
        if np.all(np.isfinite(exact[:, i])) and np.any(exact[:, i] != 0):
            ax.plot(levels, np.abs(exact[:, i]), "-", color=drawn.lines[0].get_color(),
                    label="exact recursion, n=%d" % n)
    ax.set_yscale("log")
    ax.set_xlabel("level k")
    ax.set_ylabel("|kappa_n|")
    save_figure(fig, ax, path, "cumulants across scales (%s)" % cumulants["distribution"])


def plot_flows(results, path, n=4):
    if not results["flow"] or n > results["cumulants"]["kappa"].shape[1]:
        return False
    data = results["cumulants"]["kappa"][:, n - 1]
    exact = results["cumulants"]["exact"][:, n - 1]
    levels = results["cumulants"]["level"]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(levels, np.abs(exact), "k-", label="exact")
    ax.plot(levels, np.abs(data), "ko", label="data")
    for name, flow in results["flow"].items():
        if flow is None:
            continue  # no learned flow (its `note` says why)
        # Row j is level first_level + j (the model's input level k, then its applications).
        ax.plot(flow["level"], np.abs(flow["kappa"][:, n - 1]), "s--", label="learned: " + name)
    ax.set_yscale("log")
    ax.set_xlabel("level k")
    ax.set_ylabel("|kappa_%d|" % n)
    save_figure(fig, ax, path, "learned flows against the exact flow")
    return True


def plot_generalisation(results, path):
    if "generalisation" not in results:
        return False
    group = results["generalisation"]
    mse, models, tests = group["mse"], group["models"], group["test_sets"]
    fig, ax = plt.subplots(figsize=(1.5 + 1.3 * len(tests), 1.2 + 0.5 * len(models)))
    image = ax.imshow(np.log10(np.maximum(mse, 1e-300)), cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(tests)), tests, rotation=30, ha="right")
    ax.set_yticks(range(len(models)), models)
    for (r, c), value in np.ndenumerate(mse):
        ax.text(c, r, "%.1e" % value, ha="center", va="center", color="w", fontsize=8)
    fig.colorbar(image, ax=ax, label="log10 MSE")
    save_figure(fig, ax, path, "generalisation", legend=False)
    return True


def plot_training(histories, path):
    if not histories:
        return False
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for model, history in histories.items():
        name = os.path.splitext(os.path.basename(model))[0]
        ax.plot(history["epoch"], history["train_loss"], "-", label=name + " train")
        ax.plot(history["epoch"], history["val_loss"], "--", label=name + " validation")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE")
    save_figure(fig, ax, path, "training curves")
    return True


def plot_propagation(results, path):
    """Predicted against Monte Carlo kappa_n of every unit of every layer, per mode."""
    if not results["propagation"]:
        return False
    markers = {"exact": "o", "taylor": "s", "gauss": "^"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    drawn = False
    for ax, n in zip(axes, (2, 4)):
        low, high = np.inf, 0.0
        for model, group in results["propagation"].items():
            if group["skipped"]:
                continue
            mc = group["marginal_mc"][:, n - 1]
            error = group["marginal_mc_error"][:, n - 1]
            for mode, tables in group["modes"].items():
                predicted = tables["marginal"][:, n - 1]
                keep = np.isfinite(predicted) & (np.abs(mc) > 0)
                if not np.any(keep):
                    continue
                ax.errorbar(np.abs(mc[keep]), np.abs(predicted[keep]), xerr=error[keep], fmt=markers.get(mode, "x"),
                            ms=4, alpha=0.7, label="%s (%s)" % (model, mode))
                values = np.abs(np.concatenate([mc[keep], predicted[keep]]))
                values = values[values > 0]
                if values.size:
                    low, high = min(low, values.min()), max(high, values.max())
                drawn = True
        if np.isfinite(low) and high > 0:
            ax.plot([low, high], [low, high], "k-", lw=1, label="predicted = measured")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("|kappa_%d| Monte Carlo (network's own activations)" % n)
        ax.set_ylabel("|kappa_%d| predicted" % n)
        ax.set_title("every unit of every layer: kappa_%d" % n)
    if not drawn:
        plt.close(fig)
        return False
    axes[0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results")
    parser.add_argument("--models", default="")
    parser.add_argument("--outdir", default=None)
    args = parser.parse_args()
    outdir = args.outdir or os.path.dirname(os.path.abspath(args.results))
    stem = os.path.join(outdir, os.path.splitext(os.path.basename(args.results))[0])
    # Every file is read and checked before the first figure is drawn.
    results = load_results(args.results)
    histories = {model: load_history(model) for model in args.models.split(",") if model}
    written = []
    plot_cumulants(results, stem + "_cumulants.png")
    written.append(stem + "_cumulants.png")
    if plot_flows(results, stem + "_flow.png"):
        written.append(stem + "_flow.png")
    if plot_generalisation(results, stem + "_generalisation.png"):
        written.append(stem + "_generalisation.png")
    if plot_propagation(results, stem + "_propagation.png"):
        written.append(stem + "_propagation.png")
    if plot_training(histories, stem + "_training.png"):
        written.append(stem + "_training.png")
    for path in written:
        print("figure: " + path)


if __name__ == "__main__":
    guarded(main)

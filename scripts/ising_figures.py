#!/usr/bin/python3
"""The Ising study's figure and tables from the results of pipelines/ising.yaml (docs/ising.md).

    /usr/bin/python3 scripts/ising_figures.py runs/ising/results [--outdir docs] [--markdown FILE]

Reads every results file <name>.h5 of the folder that holds spin observables (analyses of Ising
datasets; docs/schema.md, "Spin observables"), and for each the dataset it analysed (its
`dataset_path`, or else data/<stem>.h5 beside the results folder) for beta, d, L, b and the
chain's tau_int. Writes
  OUTDIR/ising-Uk.png  the Binder cumulant U_k against level k: one row of panels per block side
                       b, one panel per model; in each, the data's U_k (dashed, open markers) and
                       the model's learned flow from the data's level 0 (solid) at every
                       temperature, with jackknife errors, U* and the limits 0 (hot) and 2/3
                       (cold)
  OUTDIR/ising-Uk-critical.png  the same at beta_c only, one panel per b, on a close scale
                       (written when an analysis of beta_c data is there)
  markdown tables      (stdout, or the file --markdown): the datasets (beta, L, samples, sweeps,
                       tau_int); U_k per level of the data and of every learned flow, with errors
                       and, at beta_c, z = (U_k - U*) / error; the generalisation MSE of every
                       model on each test set of the analyses that hold one.
Needs python3-matplotlib and python3-h5py (Debian packages). A folder without such results, or a
file that cannot be read, ends the script with one line `error: ...` and exit status 1 before
anything is written.
"""
import argparse
import glob
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rgflow_results import (InputError, _open, _Reader, guarded, load_results,  # noqa: E402
                            one_line)

BETA_C_2D = math.log(1.0 + math.sqrt(2.0)) / 2.0
BETA_C_3D = 0.2216546
PHASE_COLOURS = {"hot": "tab:red", "critical": "black", "cold": "tab:blue"}
PHASE_ORDER = {"hot": 0, "critical": 1, "cold": 2}
MODEL_COLOURS = ["tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:cyan", "tab:olive"]


def phase_of(beta, d):
    """hot (beta < beta_c), critical (within 1e-6 of beta_c, as analyze's exact values) or cold."""
    beta_c = BETA_C_2D if d == 2 else BETA_C_3D
    if abs(beta - beta_c) <= 1e-6:
        return "critical"
    return "hot" if beta < beta_c else "cold"


def read_spin_observables(r, group):
    """The table `group`/spin_observables as {observable: (value, error, exact, z)} per level."""
    name = group + "/spin_observables"
    value = r.table(name + "/value")
    error = r.shape(name + "/error", r.table(name + "/error"), *value.shape)
    exact = r.shape(name + "/exact", r.table(name + "/exact"), *value.shape)
    observables = r.coordinate(name, "observable", lambda: r.fail("no /%s/observable" % name))
    levels = r.coordinate(name, "level", lambda: r.fail("no /%s/level" % name))
    if len(observables) != value.shape[1] or len(levels) != value.shape[0]:
        r.fail("/%s/value does not match its level and observable coordinates" % name)
    if "binder" not in observables:
        r.fail("/%s has no observable 'binder'" % name)
    columns = {o: i for i, o in enumerate(observables)}
    return {"level": np.array(levels), "value": value, "error": error, "exact": exact,
            "columns": columns}


def read_dataset_attributes(results_path, dataset_path):
    """beta, d, L, b, levels, samples, sweeps and tau_int of the dataset an analysis read."""
    candidates = [dataset_path, os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(results_path))), "data", os.path.basename(dataset_path))]
    path = next((p for p in candidates if p and os.path.isfile(p)), None)
    if path is None:
        raise InputError("'%s': its dataset '%s' is not there (nor data/%s beside the results "
                         "folder)" % (results_path, dataset_path,
                                      os.path.basename(dataset_path)))
    try:
        with _open(path, "dataset") as handle:
            r = _Reader(path, handle)
            if r.attribute("", "field") != "ising":
                r.fail("not an Ising dataset (field '%s')" % r.attribute("", "field"))
            out = {"path": path, "update": r.attribute("", "update")}
            for key in ("beta", "tau_int_abs_m", "tau_int_energy"):
                out[key] = r.attribute("", key, float)
            for key in ("d", "L", "b", "levels", "n_samples", "thermalize", "sweeps_between"):
                out[key] = r.attribute("", key, int)
            return out
    except InputError:
        raise
    except Exception as problem:
        raise InputError("'%s' cannot be read (damaged?): %s" % (path, one_line(problem)))


def read_analysis(path):
    """One analysis: its dataset's attributes, the data's spin observables, every learned flow's,
    and the generalisation table when it has one."""
    name = os.path.splitext(os.path.basename(path))[0]
    try:
        with _open(path, "results file") as handle:
            r = _Reader(path, handle)
            if not r.has("spin_observables"):
                return None  # not an analysis of Ising data
            dataset_path = r.attribute("", "dataset_path")
            data = read_spin_observables(r, "")
            flows = {}
            if r.has("flow"):
                for model in r.group("flow"):
                    if r.has("flow/%s/spin_observables" % model):
                        flows[model] = read_spin_observables(r, "flow/" + model)
    except InputError:
        raise
    except Exception as problem:
        raise InputError("'%s' cannot be read (damaged?): %s" % (path, one_line(problem)))
    dataset = read_dataset_attributes(path, dataset_path)
    return {"name": name, "path": path, "dataset": dataset, "data": data, "flows": flows,
            "phase": phase_of(dataset["beta"], dataset["d"]),
            "generalisation": load_results(path).get("generalisation")}


def binder(table):
    column = table["columns"]["binder"]
    return table["level"], table["value"][:, column], table["error"][:, column]


def critical_value(analyses):
    """U* as analyze stores it (the exact binder of level 0 at beta_c), NaN if no such row."""
    for a in analyses:
        column = a["data"]["columns"]["binder"]
        if a["phase"] == "critical" and np.isfinite(a["data"]["exact"][0, column]):
            return float(a["data"]["exact"][0, column])
    return float("nan")


def by_block_side(analyses):
    """{b: analyses of that b, hot to cold}, the sides in decreasing order."""
    groups = {}
    for a in analyses:
        groups.setdefault(a["dataset"]["b"], []).append(a)
    for members in groups.values():
        members.sort(key=lambda a: (PHASE_ORDER[a["phase"]], a["dataset"]["beta"], a["name"]))
    return dict(sorted(groups.items(), reverse=True))


def model_order(members):
    seen = []
    for a in members:
        for model in a["flows"]:
            if model not in seen:
                seen.append(model)
    return seen


def temperature_label(a):
    return "beta_c" if a["phase"] == "critical" else "beta = %g" % a["dataset"]["beta"]


def draw(analyses, u_star, path):
    groups = by_block_side(analyses)
    columns = max(1, max(len(model_order(m)) for m in groups.values()))
    fig, axes = plt.subplots(len(groups), columns, figsize=(4.2 * columns, 3.6 * len(groups)),
                             squeeze=False, sharey=True)
    for row, (b, members) in enumerate(groups.items()):
        models = model_order(members)
        for col in range(columns):
            ax = axes[row][col]
            if col >= len(models):
                ax.axis("off")
                continue
            model = models[col]
            for a in members:
                colour = PHASE_COLOURS[a["phase"]]
                level, value, error = binder(a["data"])
                ax.errorbar(level - 0.04, value, yerr=error, color=colour, ls="--", marker="o",
                            mfc="none", capsize=2, lw=1, label="data, " + temperature_label(a))
                if model in a["flows"]:
                    level, value, error = binder(a["flows"][model])
                    ax.errorbar(level + 0.04, value, yerr=error, color=colour, ls="-",
                                marker="s", capsize=2, lw=1.6,
                                label="learned, " + temperature_label(a))
            if np.isfinite(u_star):
                ax.axhline(u_star, color="grey", lw=0.8, ls=":")
                ax.text(0.0, u_star, " U*", va="bottom", ha="left", fontsize=8, color="grey")
            for limit in (0.0, 2.0 / 3.0):
                ax.axhline(limit, color="grey", lw=0.5, ls="-", alpha=0.5)
            sides = ", ".join("%d" % (members[0]["dataset"]["L"] // b ** k)
                              for k in range(members[0]["dataset"]["levels"] + 1))
            ax.set_title("b = %d, %s" % (b, model), fontsize=10)
            ax.set_xlabel("level k (L_k = %s)" % sides, fontsize=8)
            ax.set_xticks(range(members[0]["dataset"]["levels"] + 1))
            if col == 0:
                ax.set_ylabel("Binder cumulant U_k")
            ax.grid(alpha=0.3)
        axes[row][0].legend(fontsize=6.5, loc="lower left")
    fig.suptitle("U_k along the data's block-spin levels (dashed) and the learned flows (solid); "
                 "models trained at beta_c", fontsize=10)
    fig.tight_layout()
    partial = path + ".partial.png"
    fig.savefig(partial, dpi=110)
    plt.close(fig)
    os.replace(partial, path)


def draw_critical(analyses, u_star, path):
    """U_k at beta_c only, one panel per b, the data and every learned flow on a close scale."""
    groups = {b: [a for a in members if a["phase"] == "critical"]
              for b, members in by_block_side(analyses).items()}
    groups = {b: members for b, members in groups.items() if members}
    if not groups:
        return False
    fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 3.8), squeeze=False)
    for ax, (b, members) in zip(axes[0], groups.items()):
        for a in members:
            models = list(a["flows"])
            level, value, error = binder(a["data"])
            ax.errorbar(level, value, yerr=error, color="black", ls="--", marker="o", mfc="none",
                        capsize=2, lw=1, zorder=5, label="data (%s)" % a["name"])
            for i, model in enumerate(models):
                level, value, error = binder(a["flows"][model])
                shift = 0.06 * (i + 1) - 0.03 * (len(models) + 1)
                ax.errorbar(level[1:] + shift, value[1:], yerr=error[1:],
                            color=MODEL_COLOURS[i % len(MODEL_COLOURS)], ls="-", marker="s",
                            capsize=2, lw=1.4, label="learned, " + model)
            levels = a["dataset"]["levels"]
            sides = ", ".join("%d" % (a["dataset"]["L"] // b ** k) for k in range(levels + 1))
            ax.set_xticks(range(levels + 1))
            ax.set_xlabel("level k (L_k = %s)" % sides, fontsize=8)
        if np.isfinite(u_star):
            ax.axhline(u_star, color="grey", lw=1, ls=":", label="U* = %.5f" % u_star)
        ax.set_title("beta_c, b = %d" % b, fontsize=10)
        ax.set_ylabel("Binder cumulant U_k")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    partial = path + ".partial.png"
    fig.savefig(partial, dpi=110)
    plt.close(fig)
    os.replace(partial, path)
    return True


def with_error(value, error):
    """value(error) with two significant digits of the error, 0.6107(21); at most 6 decimals
    (an error below 5e-7, e.g. a level whose samples are all fully magnetised, shows as (0))."""
    if not np.isfinite(value):
        return "NaN"
    if not np.isfinite(error) or error <= 0:
        return "%.4f" % value
    digits = min(6, max(0, 1 - int(math.floor(math.log10(error)))))
    scaled = int(round(error * 10 ** digits))
    return "%.*f(%d)" % (digits, value, scaled)


def datasets_table(analyses):
    lines = ["| dataset | beta | L | b | levels | samples | thermalise | sweeps between "
             "| tau_int abs(m) | tau_int energy | sweeps between / 2 tau_int | update |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for members in by_block_side(analyses).values():
        for a in members:
            s = a["dataset"]
            lines.append("| %s | %.6g | %d | %d | %d | %d | %d | %d | %.3g | %.3g | %.2g | %s |"
                         % (a["name"], s["beta"], s["L"], s["b"], s["levels"], s["n_samples"],
                            s["thermalize"], s["sweeps_between"], s["tau_int_abs_m"],
                            s["tau_int_energy"],
                            s["sweeps_between"] / (2.0 * s["tau_int_abs_m"]),
                            s["update"].split(" (")[0].split(",")[0]))
    return "\n".join(lines)


def binder_table(analyses, u_star):
    lines = []
    for b, members in by_block_side(analyses).items():
        levels = members[0]["dataset"]["levels"]
        lines.append("")
        lines.append("b = %d (L_k = %s):" % (b, ", ".join(
            "%d" % (members[0]["dataset"]["L"] // b ** k) for k in range(levels + 1))))
        lines.append("")
        lines.append("| temperature | U_k of | " + " | ".join("k = %d" % k
                                                            for k in range(levels + 1)) + " |")
        lines.append("|---|---|" + "---|" * (levels + 1))
        for a in members:
            sources = [("data", a["data"])] + [(m, a["flows"][m]) for m in model_order(members)
                                                if m in a["flows"]]
            for source, table in sources:
                level, value, error = binder(table)
                cells = [""] * (levels + 1)
                for k, v, e in zip(level, value, error):
                    cell = with_error(v, e)
                    if a["phase"] == "critical" and np.isfinite(u_star) and e > 0:
                        cell += ", z %.1f" % ((v - u_star) / e)
                    cells[int(k)] = cell
                lines.append("| %s | %s | %s |" % (temperature_label(a), source,
                                                   " | ".join(cells)))
    return "\n".join(lines[1:])


def generalisation_table(analyses):
    lines = []
    for a in [a for members in by_block_side(analyses).values() for a in members]:
        g = a["generalisation"]
        if g is None or a["phase"] != "critical":
            continue
        titles = {"data": "held out (%s)" % a["name"]}
        lines.append("")
        lines.append("%s (models x test sets; `data` is the held-out part of %s):" % (
            a["name"], a["name"]))
        lines.append("")
        lines.append("| model | " + " | ".join(titles.get(t, t) for t in g["test_sets"]) + " |")
        lines.append("|---|" + "---|" * len(g["test_sets"]))
        for model, row in zip(g["models"], g["mse"]):
            lines.append("| %s | %s |" % (model, " | ".join("%.2e" % v for v in row)))
    return "\n".join(lines[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", help="the study's results folder (OUTDIR/results)")
    parser.add_argument("--outdir", default="docs", help="folder of ising-Uk.png (docs)")
    parser.add_argument("--markdown", help="write the tables to this file instead of stdout")
    args = parser.parse_args()
    if not os.path.isdir(args.results):
        raise InputError("results folder '%s' does not exist" % args.results)
    if not os.path.isdir(args.outdir):
        raise InputError("output folder '%s' does not exist" % args.outdir)
    analyses = [a for a in map(read_analysis, sorted(glob.glob(
        os.path.join(args.results, "*.h5")))) if a is not None]
    if not analyses:
        raise InputError("'%s' holds no results file with spin observables (analyses of Ising "
                         "datasets)" % args.results)
    u_star = critical_value(analyses)
    text = "\n\n".join([
        "Datasets:\n\n" + datasets_table(analyses),
        "Binder cumulant U_k, value(error in the last digits); at beta_c z = (U_k - U*) / error "
        "with U* = %.5f:\n\n" % u_star + binder_table(analyses, u_star),
        "Generalisation, MSE:\n\n" + generalisation_table(analyses)]) + "\n"
    draw(analyses, u_star, os.path.join(args.outdir, "ising-Uk.png"))
    draw_critical(analyses, u_star, os.path.join(args.outdir, "ising-Uk-critical.png"))
    if args.markdown:
        partial = args.markdown + ".partial"
        with open(partial, "w") as out:
            out.write(text)
        os.replace(partial, args.markdown)
    else:
        print(text, end="")


if __name__ == "__main__":
    guarded(main)

#!/usr/bin/env python3
"""rgflow's datasets, models and results files read by name with xarray (h5netcdf engine).

Runs a small pipeline on 2 ranks into a temporary folder: two datasets (d = 2, and d = 3 for a
third site axis), an MLP with identity activations (the propagation's exact mode and linear
diagnostic) and a graph network (equivariance errors), a graph network with tuned penalties and
SGD (/history/tuning, an empty second moment) that the analysis does not use, and an analysis
with one -eval_data test set. Then opens every group of every file with
xarray.open_dataset(engine="h5netcdf") without phony_dims (h5netcdf refuses any axis without a
dimension scale) and checks, against h5py reading the same file by path: each variable's
dimension names and shape, the coordinate values (indices, levels, orders, layers, model and
test-set names), and the values of one variable per group. Files without dimensions (data/schema1,
made by rgflow 0.1.0) open with phony_dims="sort" and give h5py's values.

    xarray_test.py --rgflow EXE [--mpiexec mpiexec]
Needs python3-xarray, python3-h5netcdf and python3-h5py (Debian packages).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import xarray as xr

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def open_group(path, group=None):
    return xr.open_dataset(path, engine="h5netcdf", group=group)


def h5_groups(path):
    """Every group of the file, as xarray's `group` argument (None for the root)."""
    names = [None]
    with h5py.File(path, "r") as f:
        f.visit(lambda name: names.append(name) if isinstance(f[name], h5py.Group) else None)
    return names


def check_named(path, group, expected):
    """Every array variable of `group` has the dimension names of `expected` (variable -> names;
    variables not listed: any names, but none phony) and h5py's shape."""
    ds = open_group(path, group)
    label = "%s:%s" % (os.path.basename(path), group or "/")
    with h5py.File(path, "r") as f:
        node = f[group] if group else f
        arrays = [k for k in node if isinstance(node[k], h5py.Dataset) and node[k].ndim > 0]
        for name in arrays:
            var = ds[name]
            check(var.shape == node[name].shape,
                  "%s %s shape %s = h5py %s" % (label, name, var.shape, node[name].shape))
            check(not any(d.startswith("phony_dim") for d in var.dims),
                  "%s %s dims %s named" % (label, name, var.dims))
            if name in expected:
                check(var.dims == expected[name],
                      "%s %s dims %s == %s" % (label, name, var.dims, expected[name]))
        missing = [name for name in expected if name not in arrays]
        check(not missing, "%s holds %s" % (label, ", ".join(expected)))
    return ds


def check_values(ds, path, name, what):
    with h5py.File(path, "r") as f:
        truth = f[name][()]
    mine = ds[name.split("/")[-1]].values
    check(mine.shape == truth.shape and np.array_equal(mine, truth, equal_nan=True),
          "%s: %s equals h5py" % (what, name))


def check_dataset(path, d, samples, side, b, levels):
    root = check_named(path, None, {"sample_complete": ("sample",)})
    check(list(root["sample"].values) == list(range(samples)), "dataset sample = 0..S-1")
    check_values(root, path, "sample_complete", "dataset root")
    axes = tuple("x%d" % a for a in range(d))
    for level in range(levels + 1):
        group = "level_%d" % level
        ds = check_named(path, group, {"field": ("sample",) + axes})
        side_k = side // b ** level
        check(ds["field"].shape == (samples,) + (side_k,) * d,
              "%s field shape %s" % (group, ds["field"].shape))
        for axis in axes:
            check(list(ds[axis].values) == list(range(side_k)), "%s %s = 0..%d" % (group, axis,
                                                                                 side_k - 1))
        check(list(ds["sample"].values) == list(range(samples)), "%s sample = 0..S-1" % group)
        # One site by name against h5py by position, and the whole field.
        site = {"sample": samples - 1}
        site.update({axis: side_k - 1 - a % side_k for a, axis in enumerate(axes)})
        with h5py.File(path, "r") as f:
            truth = f[group + "/field"][tuple(site[k] for k in ("sample",) + axes)]
        check(ds["field"].sel(site).item() == truth, "%s field at %s = h5py" % (group, site))
        check_values(ds, path, group + "/field", group)


def check_model(path, tuned=False):
    """A model.h5 written by rgflow train: /model, its layers, /history (and /history/tuning when
    `tuned`) and /checkpoint by name."""
    with h5py.File(path, "r") as f:
        attrs = f["model"].attrs
        parameters, layers = int(attrs["parameter_count"]), int(attrs["layer_count"])
        hidden = len(attrs["hidden"].decode().split(","))
        graph = attrs["kind"].decode() == "gnn"
        optimizer = f["checkpoint"].attrs["optimizer"].decode()
    label = os.path.basename(path)
    model = check_named(path, "model", {"parameters": ("parameter",)})
    check(list(model["parameter"].values) == list(range(parameters)),
          "%s model parameter = 0..%d" % (label, parameters - 1))
    check_values(model, path, "model/parameters", label + " /model")
    matrix = ("output", "input")
    for layer in range(layers):
        group = "model/layer_%d" % layer
        expected = {"weight": matrix, "bias": ("output", "column")}
        if graph and layer + 1 < layers:
            expected["neighbour_weight"] = matrix
        ds = check_named(path, group, expected)
        with h5py.File(path, "r") as f:
            weight = f[group + "/weight"][()]
        rows, columns = weight.shape
        check(list(ds["output"].values) == list(range(rows)) and
              list(ds["input"].values) == list(range(columns)) and
              list(ds["column"].values) == [0],
              "%s %s output = 0..%d, input = 0..%d, column = 0" % (label, group, rows - 1,
                                                                   columns - 1))
        check(ds["weight"].sel(output=rows - 1, input=0).item() == weight[rows - 1, 0],
              "%s %s weight by name = h5py [%d, 0]" % (label, group, rows - 1))
        check_values(ds, path, group + "/bias", "%s %s" % (label, group))

    by_record = ("record",)
    history = check_named(path, "history", {
        "epoch": by_record, "step": by_record, "train_loss": by_record, "val_loss": by_record,
        "penalty": by_record, "learning_rate": by_record,
        "order_parameter": ("record", "hidden_layer")})
    with h5py.File(path, "r") as f:
        epochs = f["history/epoch"][()]
        order = f["history/order_parameter"][()]
    check(list(history["record"].values) == list(range(len(epochs))),
          "%s history record = 0..%d" % (label, len(epochs) - 1))
    names = ["hidden_%d" % (l + 1) for l in range(hidden)]
    check([str(v) for v in history["hidden_layer"].values] == names,
          "%s history hidden_layer = %s" % (label, names))
    check(history["order_parameter"].sel(record=len(epochs) - 1, hidden_layer=names[-1]).item()
          == order[-1, -1], "%s order_parameter by names = h5py [-1, -1]" % label)
    check_values(history, path, "history/val_loss", label + " /history")

    if tuned:
        tuning = check_named(path, "history/tuning", {
            "candidates": ("candidate",), "val_loss": ("trial",), "chosen": ("penalty_type",)})
        with h5py.File(path, "r") as f:
            types = f["history/tuning"].attrs["types"].decode().split(",")
        check([str(v) for v in tuning["penalty_type"].values] == types,
              "%s tuning penalty_type = %s" % (label, types))
        check_values(tuning, path, "history/tuning/chosen", label + " /history/tuning")

    moment = ("parameter",) if optimizer == "adam" else ("empty",)
    checkpoint = check_named(path, "checkpoint", {
        "first_moment": ("parameter",), "second_moment": moment,
        "best_parameters": ("parameter",)})
    check(list(checkpoint["parameter"].values) == list(range(parameters)),
          "%s checkpoint parameter = 0..%d" % (label, parameters - 1))
    check_values(checkpoint, path, "checkpoint/first_moment", label + " /checkpoint")


def check_golden(folder):
    """Files of schema version 1 made by rgflow 0.1.0, without dimensions: every group opens with
    phony_dims="sort", and every array gives h5py's shape and values."""
    for name in ("dataset.h5", "model.h5", "results.h5"):
        path = os.path.join(folder, name)
        arrays = 0
        for group in h5_groups(path):
            ds = xr.open_dataset(path, engine="h5netcdf", group=group, phony_dims="sort")
            with h5py.File(path, "r") as f:
                node = f[group] if group else f
                for key in node:
                    if isinstance(node[key], h5py.Dataset) and node[key].ndim > 0:
                        arrays += 1
                        truth = node[key][()]
                        mine = ds[key].values
                        if truth.dtype.kind in "fiu":
                            same = np.array_equal(mine, truth, equal_nan=truth.dtype.kind == "f")
                        else:
                            same = mine.shape == truth.shape
                        if not same:
                            check(False, "0.1.0 %s:%s %s equals h5py" % (name, group or "/", key))
        check(arrays > 0, "0.1.0 %s: %d arrays open with phony_dims and equal h5py" % (name, arrays))


def check_results(path, models, tests, levels, orders):
    by_level = ("level", "order")
    cumulants = check_named(path, "cumulants", {
        "kappa": by_level, "kappa_error": by_level, "exact": by_level, "z_exact": by_level,
        "recursion_difference": by_level, "recursion_difference_error": by_level,
        "k_statistics": ("level", "k_order"), "eigenvalue": ("ratio_level", "order"),
        "eigenvalue_error": ("ratio_level", "order"), "expected_eigenvalue": ("row", "order")})
    check(list(cumulants["level"].values) == list(range(levels + 1)), "cumulants level = 0..K")
    check(list(cumulants["order"].values) == list(range(1, orders + 1)), "cumulants order = 1..P")
    check(list(cumulants["ratio_level"].values) == list(range(1, levels + 1)),
          "cumulants ratio_level = 1..K")
    check_values(cumulants, path, "cumulants/kappa", "cumulants")
    with h5py.File(path, "r") as f:
        kappa_4_level_1 = f["cumulants/kappa"][1, 3]
        mse = f["generalisation/mse"][()]
    check(cumulants["kappa"].sel(level=1, order=4).item() == kappa_4_level_1,
          "cumulants kappa at level 1, order 4 by name = h5py [1, 3]")

    general = check_named(path, "generalisation", {"mse": ("model", "test_set")})
    check(list(general["model"].values) == models, "generalisation model = %s" % models)
    check(list(general["test_set"].values) == tests, "generalisation test_set = %s" % tests)
    check(general["mse"].sel(model=models[-1], test_set="data_x2").item() ==
          mse[len(models) - 1, tests.index("data_x2")], "mse by names = h5py")

    for model in models:
        flow = check_named(path, "flow/" + model, {"kappa": by_level,
                                                    "eigenvalue": ("ratio_level", "order")})
        with h5py.File(path, "r") as f:
            first = int(f["flow/" + model].attrs["first_level"])
        check(list(flow["level"].values) == list(range(first, levels + 1)),
              "flow/%s level = %d..K" % (model, first))
        check_values(flow, path, "flow/%s/kappa" % model, "flow/" + model)

        symmetry = check_named(path, "symmetry/" + model, {
            "invariant_fraction": ("row", "hidden_layer"),
            "order_parameter": ("row", "hidden_layer"),
            "order_parameter_history": ("record", "history_column")})
        check(str(symmetry["history_column"].values[0]) == "epoch",
              "symmetry/%s history_column starts with epoch" % model)
        check_values(symmetry, path, "symmetry/%s/order_parameter" % model, "symmetry/" + model)

        with h5py.File(path, "r") as f:
            attrs = f["propagation/" + model].attrs
            layers = attrs["layers"].decode().split(",")
            modes = attrs["modes"].decode().split(",")
            linear = "linear_diagnostic" in f["propagation/" + model]
        expected = {"widths": ("row", "layer"), "output_mc": ("estimate", "order"),
                    "marginal_mc": ("unit", "order"), "marginal_layer": ("row", "unit"),
                    "mc_relative_error": ("layer", "order")}
        for mode in modes:
            expected["relative_error_" + mode] = ("layer", "order")
            expected["marginal_" + mode] = ("unit", "order")
            expected["output_" + mode] = ("row", "order")
        if linear:
            expected["linear_diagnostic"] = ("linear_quantity", "power")
        propagation = check_named(path, "propagation/" + model, expected)
        check(list(propagation["layer"].values) == layers,
              "propagation/%s layer = %s" % (model, layers))
        check_values(propagation, path, "propagation/%s/output_mc" % model,
                     "propagation/" + model)
    return general


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rgflow", required=True)
    parser.add_argument("--mpiexec", default="mpiexec")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        def rgflow(*words):
            command = [args.mpiexec, "--oversubscribe", "-n", "2", args.rgflow] + list(words)
            subprocess.run(command, check=True)

        data, other, cube = (os.path.join(work, n) for n in ("data.h5", "gauss.h5", "cube.h5"))
        rgflow("generate", "-quiet", "-L", "16", "-levels", "2", "-samples", "12", "-o", data)
        rgflow("generate", "-quiet", "-L", "8", "-levels", "1", "-samples", "4",
               "-distribution", "gaussian", "-o", other)
        rgflow("generate", "-quiet", "-d", "3", "-L", "8", "-levels", "1", "-samples", "3",
               "-dtype", "float64", "-o", cube)
        linear, graph = os.path.join(work, "linear.h5"), os.path.join(work, "graph.h5")
        rgflow("train", "-quiet", "-data", data, "-hidden", "4,3", "-activation", "identity",
               "-epochs", "2", "-batch", "32", "-o", linear)
        rgflow("train", "-quiet", "-data", data, "-model", "gnn", "-hidden", "3", "-epochs", "2",
               "-batch", "32", "-o", graph)
        tuned = os.path.join(work, "tuned.h5")
        rgflow("train", "-quiet", "-data", data, "-model", "gnn", "-hidden", "3,2", "-epochs",
               "2", "-batch", "32", "-optimizer", "sgd", "-strategy", "regularize",
               "-tune_penalties", "permutation,sign", "-tune_grid", "0,0.1", "-o", tuned)
        results = os.path.join(work, "results.h5")
        rgflow("analyze", "-quiet", "-data", data, "-models", linear + "," + graph,
               "-eval_data", other, "-groups", "4", "-propagation_blocks", "200", "-o", results)

        check_dataset(data, 2, 12, 16, 2, 2)
        check_dataset(other, 2, 4, 8, 2, 1)
        check_dataset(cube, 3, 3, 8, 2, 1)
        check_model(linear)
        check_model(graph)
        check_model(tuned, tuned=True)
        check_results(results, ["linear", "graph"], ["data", "gauss", "data_x2", "data_x0.5"],
                      2, 8)
        # Every group of every file opens without phony dimensions (h5netcdf would refuse).
        for path in (data, cube, linear, graph, tuned, results):
            for group in h5_groups(path):
                ds = open_group(path, group)
                check(not any(str(d).startswith("phony_dim") for d in ds.dims),
                      "%s:%s opens with named dimensions %s" % (
                          os.path.basename(path), group or "/", sorted(ds.dims)))
    check_golden(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data",
                              "schema1"))
    if failures:
        print("%d checks failed" % len(failures))
        return 1
    print("every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

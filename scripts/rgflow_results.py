"""Reading rgflow results files (rgflow analyze, docs/schema.md) for the figure scripts.

load_results(path) reads everything the scripts draw into plain numpy arrays, by name: the axes
through the coordinate variables (netCDF-4 dimension scales: `level`, `model`, `test_set`, ..)
where the file has them, through the attributes in older files, which have none. Every problem
of the file (missing, not HDF5, truncated or damaged, another format or schema version, a missing
or mistyped table) raises InputError naming the file before anything is drawn; guarded(main)
turns it into one line `error: ...` and exit status 1.
Needs python3-h5py and python3-numpy (Debian packages).
"""
import os
import sys

import numpy as np

RESULTS_FORMAT = "rgflow results"
RESULTS_SCHEMA = 1


class InputError(Exception):
    """A file the scripts cannot read; the message names the file and the problem."""


def guarded(main):
    """Runs main(); an InputError ends the program with one line on stderr and exit status 1."""
    try:
        main()
    except InputError as problem:
        print("error: " + " ".join(str(problem).split()), file=sys.stderr)
        sys.exit(1)


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def one_line(problem):
    # h5py's messages can span lines and carry HDF5's error stack: the first line says it.
    lines = str(problem).strip().splitlines()
    return lines[0] if lines else type(problem).__name__


class _Reader:
    """Checked access by name to one open HDF5 file; every failure is an InputError."""

    def __init__(self, path, handle):
        self.path, self.handle = path, handle

    def fail(self, problem):
        raise InputError("'%s': %s" % (self.path, problem))

    def has(self, name):
        return name in self.handle

    def group(self, name):
        import h5py
        if name not in self.handle:
            self.fail("missing group /" + name)
        if not isinstance(self.handle[name], h5py.Group):
            self.fail("/%s is not a group" % name)
        return self.handle[name]

    def attribute(self, name, attribute, kind=str):
        node = self.handle[name] if name else self.handle
        if attribute not in node.attrs:
            self.fail("/%s has no attribute %s" % (name, attribute))
        value = node.attrs[attribute]
        try:
            if kind is str:
                if not isinstance(value, (bytes, str)):
                    raise TypeError
                return text(value)
            if np.ndim(value) != 0:
                raise TypeError
            return kind(value)
        except (TypeError, ValueError):
            self.fail("attribute %s of /%s is not a %s" % (attribute, name, kind.__name__))

    def table(self, name, rank=2):
        """The float table `name`, checked: a dataset of numbers of the given rank."""
        import h5py
        if name not in self.handle:
            self.fail("missing dataset /" + name)
        node = self.handle[name]
        if not isinstance(node, h5py.Dataset):
            self.fail("/%s is not a dataset" % name)
        if node.dtype.kind not in "fiu":
            self.fail("/%s holds %s, not numbers" % (name, node.dtype))
        if node.ndim != rank:
            self.fail("/%s has %d axes, not %d" % (name, node.ndim, rank))
        return np.asarray(node[()], dtype=float)

    def coordinate(self, group, name, fallback):
        """Coordinate variable `name` of `group` (a 1-D dataset) or, in files without one,
        `fallback()`: the values along one of the group's axes."""
        path = group + "/" + name
        if path not in self.handle:
            return fallback()
        node = self.handle[path]
        if getattr(node, "ndim", None) != 1:
            self.fail("coordinate /%s is not a 1-D dataset" % path)
        values = node[()]
        if node.dtype.kind in "OSU":
            return [text(v) for v in values]
        if node.dtype.kind not in "iu":
            self.fail("coordinate /%s holds %s, not integers or text" % (path, node.dtype))
        return [int(v) for v in values]

    def shape(self, name, array, rows=None, columns=None):
        if (rows is not None and array.shape[0] != rows) or (
                columns is not None and array.shape[1] != columns):
            self.fail("/%s has shape %s, expected (%s, %s)" % (
                name, "x".join(map(str, array.shape)), "any" if rows is None else rows,
                "any" if columns is None else columns))
        return array


def _open(path, what):
    import h5py
    if not os.path.exists(path):
        raise InputError("%s '%s' does not exist" % (what, path))
    if os.path.isdir(path):
        raise InputError("%s '%s' is a folder, not a file" % (what, path))
    try:
        if not h5py.is_hdf5(path):
            raise InputError("'%s' is not an HDF5 file" % path)
        return h5py.File(path, "r")
    except OSError as problem:
        raise InputError("'%s' cannot be read (damaged or truncated?): %s"
                         % (path, one_line(problem)))


def load_results(path):
    """Everything the figure scripts read from results file `path`, as a dict of numpy arrays,
    lists and dicts (see the keys below). InputError naming the file on any problem."""
    try:
        with _open(path, "results file") as handle:
            return _load(_Reader(path, handle))
    except InputError:
        raise
    except Exception as problem:  # HDF5 failing on a damaged file, in any form h5py gives it
        raise InputError("'%s' cannot be read (damaged?): %s" % (path, one_line(problem)))


def _load(r):
    if "format" not in r.handle.attrs or r.attribute("", "format") != RESULTS_FORMAT:
        r.fail("not an rgflow results file (no format attribute '%s')" % RESULTS_FORMAT)
    version = r.attribute("", "schema_version", int)
    if version != RESULTS_SCHEMA:
        r.fail("results schema version %d; these scripts read version %d"
               % (version, RESULTS_SCHEMA))
    out = {}
    r.group("cumulants")
    kappa = r.table("cumulants/kappa")
    if kappa.shape[0] < 1 or kappa.shape[1] < 1:
        r.fail("/cumulants/kappa is empty")
    out["cumulants"] = {
        "kappa": kappa,
        "kappa_error": r.shape("cumulants/kappa_error", r.table("cumulants/kappa_error"),
                               *kappa.shape),
        "exact": r.shape("cumulants/exact", r.table("cumulants/exact"), *kappa.shape),
        "level": np.array(r.coordinate("cumulants", "level", lambda: range(kappa.shape[0]))),
        "distribution": r.attribute("cumulants", "distribution"),
    }
    if len(out["cumulants"]["level"]) != kappa.shape[0]:
        r.fail("coordinate /cumulants/level does not match /cumulants/kappa")

    if r.has("generalisation"):
        r.group("generalisation")
        models = r.coordinate("generalisation", "model",
                              lambda: r.attribute("generalisation", "models").split(","))
        tests = r.coordinate("generalisation", "test_set",
                             lambda: r.attribute("generalisation", "test_sets").split(","))
        mse = r.shape("generalisation/mse", r.table("generalisation/mse"), len(models), len(tests))
        out["generalisation"] = {"mse": mse, "models": models, "test_sets": tests}

    out["flow"] = {}
    if r.has("flow"):
        for model in r.group("flow"):
            name = "flow/" + model
            r.group(name)
            if not r.has(name + "/kappa"):
                out["flow"][model] = None  # no learned flow (its `note` says why)
                continue
            learned = r.shape(name + "/kappa", r.table(name + "/kappa"), None, kappa.shape[1])
            # Without first_level (0.1.0 development builds) a flow is drawn from level 0.
            has_first = "first_level" in r.handle[name].attrs
            first = r.attribute(name, "first_level", int) if has_first else 0
            levels = r.coordinate(name, "level", lambda: range(first, first + learned.shape[0]))
            if len(levels) != learned.shape[0]:
                r.fail("coordinate /%s/level does not match /%s/kappa" % (name, name))
            out["flow"][model] = {"kappa": learned, "level": np.array(levels)}

    out["symmetry"] = {}
    if r.has("symmetry"):
        for model in r.group("symmetry"):
            r.group("symmetry/" + model)
            out["symmetry"][model] = {
                "output_error_permutation":
                    r.attribute("symmetry/" + model, "output_error_permutation", float)}

    out["propagation"] = {}
    if r.has("propagation"):
        for model in r.group("propagation"):
            name = "propagation/" + model
            r.group(name)
            skipped = r.attribute(name, "skipped")
            entry = {"skipped": skipped, "modes": {}}
            if not skipped:
                entry["marginal_mc"] = r.shape(name + "/marginal_mc",
                                               r.table(name + "/marginal_mc"), None, 4)
                units = entry["marginal_mc"].shape[0]
                entry["marginal_mc_error"] = r.shape(
                    name + "/marginal_mc_error", r.table(name + "/marginal_mc_error"), units, 4)
                entry["output_mc"] = r.shape(name + "/output_mc", r.table(name + "/output_mc"),
                                             2, 4)
                for mode in r.attribute(name, "modes").split(","):
                    if mode and r.has("%s/marginal_%s" % (name, mode)):
                        entry["modes"][mode] = {
                            "marginal": r.shape("%s/marginal_%s" % (name, mode),
                                                r.table("%s/marginal_%s" % (name, mode)), units,
                                                4),
                            "output": r.shape("%s/output_%s" % (name, mode),
                                              r.table("%s/output_%s" % (name, mode)), 1, 4)[0],
                        }
            out["propagation"][model] = entry
    return out


def load_history(path):
    """Training history (epoch, train_loss, val_loss) of a model file written by rgflow train."""
    try:
        with _open(path, "model file") as handle:
            r = _Reader(path, handle)
            epoch = r.table("history/epoch", rank=1)
            history = {"epoch": epoch}
            for name in ("train_loss", "val_loss"):
                values = r.table("history/" + name, rank=1)
                if values.shape != epoch.shape:
                    r.fail("/history/%s has %d entries, /history/epoch %d" % (
                        name, values.shape[0], epoch.shape[0]))
                history[name] = values
            return history
    except InputError:
        raise
    except Exception as problem:
        raise InputError("'%s' cannot be read (damaged?): %s" % (path, one_line(problem)))

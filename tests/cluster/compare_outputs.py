#!/usr/bin/env python3
"""Compares two pipeline output folders bit for bit.

    compare_outputs.py DIR_A DIR_B FILE...

Each FILE (relative to both folders, e.g. data/uniform.h5) must exist in both with the same
objects: every dataset with the same type, shape and bytes, every attribute equal, except the
provenance attributes that name the run itself (when and from which folder and command line it
ran). Prints one line per file and a closing summary; exit status 1 on any difference.
"""
import sys

import h5py
import numpy

# Attributes that record the run, not its results: they differ between any two runs.
PROVENANCE = {"created", "dataset_created", "command_line", "dataset_path"}


def objects(path):
    """Every group and dataset of an HDF5 file by name (the root group as '/')."""
    found = {}
    with h5py.File(path, "r") as handle:
        found["/"] = ("group", None, None, attributes(handle))

        def visit(name, item):
            if isinstance(item, h5py.Dataset):
                values = numpy.asarray(item[()])
                # Variable-length strings (coordinate names) read as objects: their bytes would be
                # pointers; compared by value.
                raw = repr(values.tolist()).encode() if values.dtype.kind == "O" else values.tobytes()
                found[name] = ("dataset", (str(item.dtype), item.shape), raw, attributes(item))
            else:
                found[name] = ("group", None, None, attributes(item))

        handle.visititems(visit)
    return found


def attributes(item):
    found = {}
    for key, value in item.attrs.items():
        if key in PROVENANCE:
            continue
        if key == "DIMENSION_LIST":
            # Dimension scales attached to a dataset: object references, whose addresses depend
            # on the file's layout; compared by the names of the scales they point to.
            found[key] = repr([[scale.name for scale in dim.values()] for dim in item.dims]).encode()
        elif key == "REFERENCE_LIST":
            # A scale's list of (dataset, axis) it is attached to: the same, by name.
            found[key] = repr(sorted((item.file[entry[0]].name, int(entry[1])) for entry in value)).encode()
        else:
            found[key] = numpy.asarray(value).tobytes() + str(numpy.asarray(value).dtype).encode()
    return found


def compare(path_a, path_b):
    """The differences between two files, as messages (empty when identical), and the number of
    datasets of the first."""
    a, b = objects(path_a), objects(path_b)
    problems = []
    for name in sorted(set(a) ^ set(b)):
        problems.append(f"{name}: only in {'the first' if name in a else 'the second'} file")
    for name in sorted(set(a) & set(b)):
        kind_a, layout_a, raw_a, attrs_a = a[name]
        kind_b, layout_b, raw_b, attrs_b = b[name]
        if kind_a != kind_b:
            problems.append(f"{name}: a {kind_a} in one file, a {kind_b} in the other")
            continue
        if layout_a != layout_b:
            problems.append(f"{name}: type and shape {layout_a} against {layout_b}")
        elif raw_a != raw_b:
            problems.append(f"{name}: the values differ")
        for key in sorted(set(attrs_a) | set(attrs_b)):
            if attrs_a.get(key) != attrs_b.get(key):
                problems.append(f"{name}: attribute '{key}' differs")
    return problems, sum(1 for item in a.values() if item[0] == "dataset")


def main():
    if len(sys.argv) < 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    first, second, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    failed = 0
    datasets = 0
    for name in files:
        problems, count = compare(f"{first}/{name}", f"{second}/{name}")
        datasets += count
        if problems:
            failed += 1
            print(f"compare: {name}: {len(problems)} difference(s): " + "; ".join(problems[:5]))
        else:
            print(f"compare: {name}: identical ({count} datasets)")
    print(f"compare: {len(files) - failed} of {len(files)} files identical, {datasets} datasets")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# The plotting script on real outputs: generate, train, analyze, plot; every figure must be a
# PNG file. Arguments: the rgflow executable, the repository root.
set -euo pipefail
exe=$1
root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run() { mpiexec --oversubscribe -n 2 "$exe" "$@"; }
run generate -quiet -L 32 -levels 2 -samples 16 -o "$work/data.h5"
run train -quiet -data "$work/data.h5" -hidden 4 -epochs 2 -batch 32 -o "$work/m.h5"
run analyze -quiet -data "$work/data.h5" -models "$work/m.h5" -o "$work/results.h5"
/usr/bin/python3 "$root/scripts/plot_results.py" "$work/results.h5" --models "$work/m.h5"
for figure in cumulants flow generalisation training propagation; do
  file="$work/results_$figure.png"
  [[ $(head -c 8 "$file" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] ||
    { echo "not a PNG: $file"; exit 1; }
done
echo "all figures written"

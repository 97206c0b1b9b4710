#!/usr/bin/env bash
# The figure scripts on real outputs: generate, train, analyze, plot; every figure must be a PNG
# file. The same for the results file of schema 1 without coordinates (data/schema1), also read
# by the study's summary. Damaged inputs: plots_bad_input_test.sh.
# Arguments: the rgflow executable, the repository root.
set -euo pipefail
exe=$1
root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
python=/usr/bin/python3
run() { mpiexec --oversubscribe -n 2 "$exe" "$@"; }
run generate -quiet -L 32 -levels 2 -samples 16 -o "$work/data.h5"
run train -quiet -data "$work/data.h5" -hidden 4 -epochs 2 -batch 32 -o "$work/m.h5"
run analyze -quiet -data "$work/data.h5" -models "$work/m.h5" -o "$work/results.h5"

is_png() {
  [[ $(head -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] ||
    { echo "not a PNG: $1"; exit 1; }
}
"$python" "$root/scripts/plot_results.py" "$work/results.h5" --models "$work/m.h5"
for figure in cumulants flow generalisation training propagation; do
  is_png "$work/results_$figure.png"
done
mkdir "$work/golden"
"$python" "$root/scripts/plot_results.py" "$root/data/schema1/results.h5" \
  --models "$root/data/schema1/model.h5" --outdir "$work/golden"
for figure in cumulants flow generalisation training propagation; do
  is_png "$work/golden/results_$figure.png"
done
# The study's summary of this run (coordinates) and of the golden file (none), as two lattices.
mkdir -p "$work/study" "$work/summary"
cp "$work/results.h5" "$work/study/line.h5"
cp "$root/data/schema1/results.h5" "$work/study/square.h5"
"$python" "$root/scripts/study_summary.py" "$work/study" --outdir "$work/summary"
for lattice in line square; do
  for figure in grid others flows propagation; do
    is_png "$work/summary/${figure}_$lattice.png"
  done
  [[ $(wc -l < "$work/summary/summary_$lattice.csv") == 2 ]] ||
    { echo "summary_$lattice.csv: not one row per model"; exit 1; }
done
echo "all figures written"

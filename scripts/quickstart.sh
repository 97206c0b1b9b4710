#!/usr/bin/env bash
# The main job on a workstation: set up, generate a small dataset on 2 ranks, and print its
# summary (cumulants of every level against the exact recursion).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build_dir=${RGFLOW_BUILD_DIR:-build}
outdir=${1:-runs/quick}
mkdir -p "$outdir"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpiexec --oversubscribe -n 2 "$build_dir/rgflow" generate -o "$outdir/clt.h5" -d 2 -L 256 -b 2 \
  -levels 4 -samples 512 -distribution uniform -seed 7 -resume
mpiexec --oversubscribe -n 2 "$build_dir/rgflow" info -data "$outdir/clt.h5"
# A linear MLP with tied input weights learns the exact map (effective weights N^(-1/2)).
mpiexec --oversubscribe -n 2 "$build_dir/rgflow" train -data "$outdir/clt.h5" -level 0 -model mlp \
  -hidden 4 -activation identity -tying inputs -epochs 3 -batch 256 -lr 3e-3 -schedule cosine \
  -o "$outdir/linear.h5" -resume
mpiexec --oversubscribe -n 2 "$build_dir/rgflow" analyze -data "$outdir/clt.h5" -models "$outdir/linear.h5" \
  -o "$outdir/results.h5" \
  -force
/usr/bin/python3 scripts/plot_results.py "$outdir/results.h5" --models "$outdir/linear.h5"

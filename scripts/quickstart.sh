#!/usr/bin/env bash
# The main job on a workstation: set up (Debian packages, build), then run the quickstart
# pipeline on 2 ranks (pipelines/quickstart.yaml: three datasets, four models, the analysis) and
# draw its figures. Outputs: runs/quickstart/ (or the folder given as the first argument).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build_dir=${RGFLOW_BUILD_DIR:-build}
outdir=${1:-runs/quickstart}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpiexec --oversubscribe -n 2 "$build_dir/rgflow" run pipelines/quickstart.yaml -outdir "$outdir"
models=$(find "$outdir/models" -maxdepth 1 -name '*.h5' | sort | paste -sd, -)
/usr/bin/python3 scripts/plot_results.py "$outdir/results/results.h5" --models "$models"
echo "quickstart: datasets in $outdir/data, models in $outdir/models, results, tables and figures in $outdir/results"

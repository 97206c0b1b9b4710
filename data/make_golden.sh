#!/usr/bin/env bash
# Makes the golden files of data/schema1/ with the rgflow executable: a dataset, a model trained
# on it and the analysis of both, small enough to keep in the repository (about 100 KiB in all).
# Tests (tests/unit/test_golden_files.cpp, tests/install/) read them with the current readers, so
# every later version is proven to read the files users already share.
#
#   data/make_golden.sh [RGFLOW_EXECUTABLE [OUTPUT_FOLDER]]
#
# (defaults build/rgflow and data/schema1; run from anywhere). data/schema1 was made by rgflow
# 0.1.0. Run it again only when a new schema version is introduced, into a new folder
# (data/schemaN), and keep the old ones: the point of these files is that they are old. The
# values the tests assert are recomputed from the files themselves, except the model's
# prediction on one block, written in the test from the run recorded here.
set -euo pipefail
repository=$(cd "$(dirname "$0")/.." && pwd)
rgflow=$(realpath "${1:-$repository/build/rgflow}")
out=${2:-$repository/data/schema1}
mkdir -p "$out"
out=$(realpath "$out")
cd "$out"
rm -f dataset.h5 model.h5 results.h5 results_*.csv
# The executable is called by name (PATH), so the files' command_line attributes read "rgflow ..."
# and hold no path of the machine that made them; relative file names for the same reason.
export PATH="$(dirname "$rgflow"):$PATH"
# 16 samples of a 16x16 uniform lattice, 2x2 blocks, levels 0..3, float32.
rgflow generate -quiet -o dataset.h5 -d 2 -L 16 -b 2 -levels 3 -samples 16 \
  -distribution uniform -seed 11 -dtype float32
# A tanh MLP 4-4-1 trained on level 0 -> 1 (12 training and 4 validation samples), bit-identical
# for any rank count (-reproducible).
rgflow train -quiet -data dataset.h5 -level 0 -model mlp -hidden 4 -activation tanh \
  -tying none -strategy none -epochs 2 -batch 64 -lr 3e-3 -seed 1 -val_fraction 0.25 \
  -reproducible -o model.h5
# Cumulants up to order 6 in 4 jackknife groups, the model's generalisation, flow, symmetry
# metrics and cumulant propagation (Taylor and Gauss closures, Monte Carlo on 256 blocks).
rgflow analyze -quiet -data dataset.h5 -models model.h5 -order 6 -groups 4 \
  -propagation_blocks 256 -o results.h5
rm -f results_*.csv
ls -l "$out"

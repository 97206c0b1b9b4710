#!/usr/bin/env bash
# Makes the mutation test's seed files with the rgflow executable: a small dataset and a model
# trained on it for one epoch (with /history and /checkpoint), in folder $2.
set -euo pipefail
rgflow=$1
out=$2
mkdir -p "$out"
rm -f "$out"/data.h5 "$out"/model.h5
"$rgflow" generate -quiet -d 2 -L 8 -b 2 -levels 2 -samples 8 -seed 3 -o "$out/data.h5"
"$rgflow" train -quiet -data "$out/data.h5" -hidden 3 -epochs 1 -batch 8 -o "$out/model.h5"

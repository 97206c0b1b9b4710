#!/usr/bin/env bash
# Makes the mutation test's seed files with the rgflow executable, in folder $2: a small dataset,
# a model trained on it for one epoch (with /history and /checkpoint; Adam), and the checkpoint of
# an interrupted run (SGD, early stopping on so best_parameters is kept, tuned penalty strengths
# under /history/tuning; stopped in its second epoch, so its position is checked on resume).
set -euo pipefail
rgflow=$1
out=$2
mkdir -p "$out"
rm -f "$out"/data.h5 "$out"/model.h5 "$out"/interrupted.h5 "$out"/interrupted.h5.partial
"$rgflow" generate -quiet -d 2 -L 8 -b 2 -levels 2 -samples 8 -seed 3 -o "$out/data.h5"
"$rgflow" train -quiet -data "$out/data.h5" -hidden 3 -epochs 1 -batch 8 -o "$out/model.h5"
# -test_stop_after_steps ends the run as a crash would (exit status 3), after its checkpoint.
status=0
"$rgflow" train -quiet -data "$out/data.h5" -hidden 3,2 -epochs 3 -batch 8 -optimizer sgd \
  -patience 5 -strategy regularize -tune_penalties sign -tune_grid 0,0.1 -checkpoint_every 1 \
  -test_stop_after_steps 17 -o "$out/interrupted.h5" || status=$?
if [ "$status" -ne 3 ] || [ ! -f "$out/interrupted.h5.partial" ]; then
  echo "make_seeds.sh: the interrupted run did not leave its checkpoint (status $status)" >&2
  exit 1
fi

#!/usr/bin/env bash
# The figure scripts on real outputs: generate, train, analyze, plot; every figure must be a PNG
# file. The same for a results file of schema 1 without coordinates (data/schema1). Then damaged
# inputs (missing, not HDF5, truncated, another format or schema version, a missing group, a
# table of strings, a damaged model file): each script must print exactly one line
# `error: ...` naming the file, exit 1, print nothing else and write no output.
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
mkdir -p "$work/study/golden" "$work/summary"
cp "$root/data/schema1/results.h5" "$work/study/golden/line.h5"
"$python" "$root/scripts/study_summary.py" "$work/study/golden" --lattices line \
  --outdir "$work/summary"
for figure in grid others flows propagation; do is_png "$work/summary/${figure}_line.png"; done
[[ $(wc -l < "$work/summary/summary_line.csv") == 2 ]] || { echo "summary_line.csv: not 2 lines"; exit 1; }
echo "all figures written"

# Damaged copies of the results file, each in a folder of its own (as line.h5 for the summary).
bad=$work/bad
mkdir "$bad"
damage() {  # damage NAME PYTHON-CODE: a copy of results.h5 changed by h5py code acting on `f`
  mkdir "$bad/$1"
  cp "$work/results.h5" "$bad/$1/line.h5"
  "$python" -c "import h5py, numpy as np
with h5py.File('$bad/$1/line.h5', 'r+') as f:
    $2"
}
mkdir "$bad/missing" "$bad/not_hdf5" "$bad/truncated" "$bad/dataset"
echo "rgflow results, but as text" > "$bad/not_hdf5/line.h5"
size=$(stat -c %s "$work/results.h5")
head -c $((size / 2)) "$work/results.h5" > "$bad/truncated/line.h5"
cp "$work/data.h5" "$bad/dataset/line.h5"
damage missing_group 'del f["cumulants"]'
damage missing_table 'del f["generalisation/mse"]'
damage string_table 'del f["cumulants/kappa"]; f["cumulants/kappa"] = np.array([b"a", b"b"])'
damage group_as_table 'del f["cumulants/kappa_error"]; f.create_group("cumulants/kappa_error")'
damage wrong_shape 'del f["cumulants/exact"]; f["cumulants/exact"] = np.zeros((1, 2))'
damage schema 'f.attrs["schema_version"] = np.int64(2)'
damage format 'f.attrs["format"] = np.bytes_("rgflow model")'
damage no_format 'del f.attrs["format"]'

failures=0
# expect_error WHAT FILE OUTDIR COMMAND..: one line "error: ..." naming FILE on stderr, nothing
# on stdout, exit status 1, nothing written in OUTDIR.
expect_error() {
  local what=$1 file=$2 outdir=$3
  shift 3
  local status=0
  "$@" > "$work/stdout" 2> "$work/stderr" || status=$?
  local problem=""
  if [[ $status != 1 ]]; then
    problem="exit status $status"
  elif [[ -s "$work/stdout" ]]; then
    problem="printed on stdout: $(head -c 200 "$work/stdout")"
  elif [[ $(wc -l < "$work/stderr") != 1 ]]; then
    problem="$(wc -l < "$work/stderr") lines on stderr: $(head -c 400 "$work/stderr")"
  elif ! grep -q "^error: .*$file" "$work/stderr"; then
    problem="the line does not name $file: $(cat "$work/stderr")"
  elif [[ -n $(ls -A "$outdir" 2> /dev/null) ]]; then
    problem="wrote $(ls "$outdir")"
  fi
  if [[ -n $problem ]]; then
    echo "FAIL $what: $problem"
    failures=$((failures + 1))
  else
    echo "ok   $what: $(cat "$work/stderr")"
  fi
}
for case in missing not_hdf5 truncated dataset missing_group missing_table string_table \
  group_as_table wrong_shape schema format no_format; do
  file=$bad/$case/line.h5
  mkdir "$work/out_plot_$case"
  expect_error "plot_results.py, $case" "$file" "$work/out_plot_$case" \
    "$python" "$root/scripts/plot_results.py" "$file" --outdir "$work/out_plot_$case"
  expect_error "study_summary.py, $case" "$file" "$work/out_summary_$case" \
    "$python" "$root/scripts/study_summary.py" "$bad/$case" --lattices line \
    --outdir "$work/out_summary_$case"
done
# A damaged model file beside a good results file, and a missing lattice of the study.
head -c 3000 "$work/m.h5" > "$bad/m_truncated.h5"
mkdir "$work/out_plot_model"
expect_error "plot_results.py, truncated model" "$bad/m_truncated.h5" "$work/out_plot_model" \
  "$python" "$root/scripts/plot_results.py" "$work/results.h5" --models "$bad/m_truncated.h5" \
  --outdir "$work/out_plot_model"
expect_error "study_summary.py, no square.h5" "$work/study/golden/square.h5" \
  "$work/out_summary_square" \
  "$python" "$root/scripts/study_summary.py" "$work/study/golden" --outdir "$work/out_summary_square"
if ((failures)); then
  echo "$failures damaged-input cases failed"
  exit 1
fi
echo "every damaged input: one line, exit 1"

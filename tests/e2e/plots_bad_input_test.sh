#!/usr/bin/env bash
# The figure scripts (plot_results.py, study_summary.py) on damaged inputs, made from the files of
# data/schema1: missing, not HDF5, truncated, a dataset instead of results, another format or
# schema version, a missing group or table, a table of strings, a group where a table belongs, a
# table of the wrong shape, a coordinate of floats or of the wrong length, a damaged model file,
# a missing lattice of the study. Each script must print exactly one line `error: ...` naming
# the file on stderr, nothing on stdout, exit 1 and write no output.
# Argument: the repository root.
set -euo pipefail
root=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python=/usr/bin/python3
golden=$root/data/schema1

# Damaged copies of the results file, each in a folder of its own (as line.h5 for the summary).
bad=$work/bad
mkdir "$bad"
damage() {  # damage NAME PYTHON-CODE: a copy of results.h5 changed by h5py code acting on `f`
  mkdir "$bad/$1"
  cp "$golden/results.h5" "$bad/$1/line.h5"
  "$python" -c "import h5py, numpy as np
with h5py.File('$bad/$1/line.h5', 'r+') as f:
    $2"
}
mkdir "$bad/missing" "$bad/not_hdf5" "$bad/truncated" "$bad/dataset"
echo "rgflow results, but as text" > "$bad/not_hdf5/line.h5"
size=$(stat -c %s "$golden/results.h5")
head -c $((size / 2)) "$golden/results.h5" > "$bad/truncated/line.h5"
cp "$golden/dataset.h5" "$bad/dataset/line.h5"
damage missing_group 'del f["cumulants"]'
damage missing_table 'del f["generalisation/mse"]'
damage string_table 'del f["cumulants/kappa"]; f["cumulants/kappa"] = np.array([b"a", b"b"])'
damage group_as_table 'del f["cumulants/kappa_error"]; f.create_group("cumulants/kappa_error")'
damage wrong_shape 'del f["cumulants/exact"]; f["cumulants/exact"] = np.zeros((1, 2))'
damage schema 'f.attrs["schema_version"] = np.int64(2)'
damage format 'f.attrs["format"] = np.bytes_("rgflow model")'
damage no_format 'del f.attrs["format"]'
damage float_coordinate 'f["cumulants/level"] = np.arange(4) + 0.5'
damage coordinate_length \
  'f["generalisation/model"] = np.array([b"a", b"b"], dtype=h5py.string_dtype())'

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
  group_as_table wrong_shape schema format no_format float_coordinate coordinate_length; do
  file=$bad/$case/line.h5
  mkdir "$work/out_plot_$case"
  expect_error "plot_results.py, $case" "$file" "$work/out_plot_$case" \
    "$python" "$root/scripts/plot_results.py" "$file" --outdir "$work/out_plot_$case"
  expect_error "study_summary.py, $case" "$file" "$work/out_summary_$case" \
    "$python" "$root/scripts/study_summary.py" "$bad/$case" --lattices line \
    --outdir "$work/out_summary_$case"
done
# A damaged model file beside a good results file, and a missing lattice of the study.
head -c 3000 "$golden/model.h5" > "$bad/m_truncated.h5"
mkdir "$work/out_plot_model"
expect_error "plot_results.py, truncated model" "$bad/m_truncated.h5" "$work/out_plot_model" \
  "$python" "$root/scripts/plot_results.py" "$golden/results.h5" --models "$bad/m_truncated.h5" \
  --outdir "$work/out_plot_model"
mkdir "$work/study"
cp "$golden/results.h5" "$work/study/line.h5"
expect_error "study_summary.py, no square.h5" "$work/study/square.h5" "$work/out_summary_square" \
  "$python" "$root/scripts/study_summary.py" "$work/study" --outdir "$work/out_summary_square"
if ((failures)); then
  echo "$failures damaged-input cases failed"
  exit 1
fi
echo "every damaged input: one line, exit 1"

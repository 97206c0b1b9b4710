#!/usr/bin/env bash
# The sanitizer build: compiles everything with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DRGFLOW_SANITIZE=ON, -O1 -g) in build-asan/ (or $RGFLOW_SANITIZE_BUILD_DIR) and runs the test
# suite with CTest, which sets ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS (suppressions:
# tests/sanitizer/lsan.supp) for every test and every rgflow process the tests start. Any
# sanitizer report fails its test. Extra arguments go to ctest. CI (.ci/run) runs it without
# arguments: every unit, mpi, e2e and mutation entry. Figures: docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${RGFLOW_SANITIZE_BUILD_DIR:-build-asan}
launcher=()
if command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DRGFLOW_SANITIZE=ON -DRGFLOW_BUILD_BENCH=OFF \
  "${launcher[@]}"
cmake --build "$build_dir" -j "$(nproc)"
# Left out, as they test nothing of rgflow's own code that the entries run here do not:
# - slurm and cluster: the same rgflow commands through SLURM batch jobs (and across simulated
#   nodes); what they add is the job scripts and the scheduler, which the normal suite covers;
# - plots: the Python plotting script on outputs of the small pipeline (Python is not instrumented);
# - plots_bad_input, reference_xarray: Python scripts reading files (the same);
# - reference: the independent Python recomputation of a pipeline's outputs (the same: its subject
#   is the Python reference and the file contents, checked by the normal suite);
# - install: not defined in this build (an installed library needs the sanitizer runtime to link).
ctest --test-dir "$build_dir" --output-on-failure -j 2 -LE 'slurm|cluster' -E '^(plots|plots_bad_input|reference|reference_xarray)$' "$@"

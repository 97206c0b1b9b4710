#!/usr/bin/env bash
# The sanitizer build: compiles everything with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DRGFLOW_SANITIZE=ON, -O1 -g) in build-asan/ (or $RGFLOW_SANITIZE_BUILD_DIR) and runs the test
# suite with CTest, which sets ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS (suppressions:
# tests/sanitizer/lsan.supp) for every test and every rgflow process the tests start. Any
# sanitizer report fails its test. Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${RGFLOW_SANITIZE_BUILD_DIR:-build-asan}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DRGFLOW_SANITIZE=ON -DRGFLOW_BUILD_BENCH=OFF
cmake --build "$build_dir" -j "$(nproc)"
# The SLURM test runs the same rgflow commands through batch jobs: the normal suite covers it.
ctest --test-dir "$build_dir" --output-on-failure -j 2 -LE slurm "$@"

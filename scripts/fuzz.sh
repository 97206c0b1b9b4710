#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer) in
# build-fuzz/ (or $RGFLOW_FUZZ_BUILD_DIR) and runs each for SECONDS (default 60) from the seed
# corpora: tests/fuzz/seeds/<target> plus, for the pipeline parser, pipelines/*.yaml. A finding
# (crash, sanitizer report, leak, timeout, out-of-memory) stops the run with libFuzzer's report,
# the input saved as build-fuzz/findings/<target>/crash-*, and exit status 1.
#   scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
build_dir=${RGFLOW_FUZZ_BUILD_DIR:-build-fuzz}
mkdir -p "$build_dir"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DRGFLOW_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 > "$build_dir/configure.log"
cmake --build "$build_dir" -j "$(nproc)" --target fuzz_pipeline_file fuzz_options
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export LSAN_OPTIONS=suppressions=$PWD/tests/sanitizer/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for target in fuzz_pipeline_file fuzz_options; do
  name=${target#fuzz_}
  corpus=$build_dir/corpus/$name
  findings=$build_dir/findings/$name
  mkdir -p "$corpus" "$findings"
  cp tests/fuzz/seeds/"$name"/* "$corpus"/
  if [[ $name == pipeline_file ]]; then cp pipelines/*.yaml "$corpus"/; fi
  # PETSc's YAML option reader (-options_string_yaml) leaks its libyaml parser when the YAML is
  # malformed: PETSc's leak, found by this fuzzer. Unwinding every allocation fully (slower) puts
  # PETSc's frames on those stacks, so that lsan.supp's libpetsc entry matches them.
  unwind=1
  if [[ $name == options ]]; then unwind=0; fi
  export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:allocator_may_return_null=1:fast_unwind_on_malloc=$unwind
  echo "fuzz: $target for ${seconds} s"
  # 64 KiB inputs, 1 GiB of memory and 10 s per input: beyond these an input is a finding.
  if ! "$build_dir/tests/fuzz/$target" -max_total_time="$seconds" -max_len=65536 \
      -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/" "$@" \
      "$corpus" 2> "$build_dir/$target.log"; then
    tail -n 60 "$build_dir/$target.log" >&2
    echo "fuzz: $target found a problem; inputs in $findings" >&2
    status=1
  fi
  grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)" "$build_dir/$target.log" |
    sed "s/^/fuzz: $target /"
done
exit $status

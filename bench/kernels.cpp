// Single-thread kernel throughput: field generation per distribution and the block map, in
// items (sites) per second. Run: build/bench/rgflow_bench_kernels --benchmark_repetitions=5
// --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <vector>

#include "rgflow/coarse/block_map.hpp"
#include "rgflow/field/generator.hpp"

namespace {

using rgflow::field::Distribution;
using rgflow::field::DistributionKind;

void GenerateRow(benchmark::State& state) {
  Distribution distribution;
  distribution.kind = static_cast<DistributionKind>(state.range(0));
  distribution.gamma_shape = 2.0;
  const int64_t count = 1 << 16;
  std::vector<float> out(count);
  uint32_t sample = 0;
  for (auto _ : state) {
    rgflow::field::fill_run(distribution, 7, sample++, 0, count, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * count);
  state.SetLabel(distribution.name());
}
BENCHMARK(GenerateRow)->DenseRange(0, 5);

void BlockMap2d(benchmark::State& state) {
  const int64_t side = 1024;
  std::vector<float> in(side * side, 1.0f), out(side * side / 4);
  for (auto _ : state) {
    rgflow::coarse::block_sum_map(in.data(), 2, {side, side, 1}, 2, 0.5, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * side * side);
}
BENCHMARK(BlockMap2d);

}  // namespace

BENCHMARK_MAIN();

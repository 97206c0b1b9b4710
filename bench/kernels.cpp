// Single-thread kernel throughput: field generation per distribution, the block map, and the
// batch activations in double and float against libm's scalar definition (activation_value, the
// baseline), and the Ising updates, in items (sites, values, spin updates) per second. Run:
// build/bench/rgflow_bench_kernels
// --benchmark_repetitions=5
// --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <vector>

#include "ising_bench.hpp"
#include "rgflow/coarse/block_map.hpp"
#include "rgflow/field/generator.hpp"
#include "rgflow/field/ising.hpp"
#include "rgflow/field/ising_cluster.hpp"
#include "rgflow/nn/activation.hpp"

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

// One checkerboard heat-bath sweep (both colours, periodic halo refills included) at beta_c of
// the lattice's dimension: range(0) = d, range(1) = side. Items are spin updates, so
// 1e9 / items_per_second is ns per spin update.
void IsingHeatBathSweep(benchmark::State& state) {
  const int dim = static_cast<int>(state.range(0));
  const int64_t side = state.range(1);
  const double beta =
      dim == 2 ? rgflow::field::beta_critical_2d() : rgflow::field::beta_critical_3d();
  const rgflow::field::HeatBathTable table = rgflow::field::heat_bath_table(dim, beta);
  rgflow::field::IsingLattice lattice(dim, side);
  lattice.randomise(7, 0);
  uint32_t sweep = 0;
  for (auto _ : state) {
    lattice.heat_bath_sweep(table, 7, 0, sweep++);
    benchmark::DoNotOptimize(lattice.padded());
  }
  state.SetItemsProcessed(state.iterations() * lattice.box().interior_sites());
}
BENCHMARK(IsingHeatBathSweep)->Args({2, 1024})->Args({3, 128})->Unit(benchmark::kMillisecond);

// Wolff updates at beta_c on a 256^2 lattice; items are sites flipped (cluster sizes summed).
void IsingWolff2d(benchmark::State& state) {
  const double beta = rgflow::field::beta_critical_2d();
  rgflow::field::IsingLattice lattice(2, 256);
  lattice.randomise(7, 0);
  uint32_t step = 0;
  for (; step < 200; ++step) rgflow::field::wolff_update(lattice, beta, 7, 0, step);
  int64_t flipped = 0;
  for (auto _ : state) flipped += rgflow::field::wolff_update(lattice, beta, 7, 0, step++);
  state.SetItemsProcessed(flipped);
}
BENCHMARK(IsingWolff2d);

// One Swendsen-Wang sweep (bonds, labels, coins, flips; the periodic halo refilled) of the whole
// lattice at beta_c: range(0) = d, range(1) = side. Items are sites, so 1e9 / items_per_second
// is ns per site per sweep (the numba reference: bench/reference/ising_cluster.py).
void IsingSwendsenWangSweep(benchmark::State& state) {
  const int dim = static_cast<int>(state.range(0));
  const int64_t side = state.range(1);
  const double beta =
      dim == 2 ? rgflow::field::beta_critical_2d() : rgflow::field::beta_critical_3d();
  rgflow::field::IsingLattice lattice(dim, side);
  rgflow::field::BoxClusters clusters;
  uint32_t sweep = 20;
  rgflow::bench::thermalise_swendsen_wang(lattice, beta, sweep, clusters);
  for (auto _ : state) {
    rgflow::field::swendsen_wang_sweep(lattice, beta, 7, 0, sweep++, clusters);
    benchmark::DoNotOptimize(lattice.padded());
  }
  state.SetItemsProcessed(state.iterations() * lattice.box().interior_sites());
}
BENCHMARK(IsingSwendsenWangSweep)
    ->Args({2, 256})
    ->Args({2, 1024})
    ->Args({2, 4096})
    ->Args({3, 64})
    ->Args({3, 128})
    ->Unit(benchmark::kMillisecond);
// 4096 values spread over [-4, 4], where a network's pre-activations and a quadrature grid lie.
template <typename Scalar>
std::vector<Scalar> activation_inputs() {
  std::vector<Scalar> values(4096);
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = static_cast<Scalar>(-4.0 + 8.0 * static_cast<double>(i) / values.size());
  }
  return values;
}

template <typename Scalar>
void ActivationBatch(benchmark::State& state) {
  const auto activation = static_cast<rgflow::nn::Activation>(state.range(0));
  const std::vector<Scalar> inputs = activation_inputs<Scalar>();
  std::vector<Scalar> values(inputs.size());
  for (auto _ : state) {
    values = inputs;
    rgflow::nn::apply_activation<Scalar>(activation, values.data(), nullptr,
                                         static_cast<Eigen::Index>(values.size()));
    benchmark::DoNotOptimize(values.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(inputs.size()));
  state.SetLabel(rgflow::nn::activation_name(activation));
}
BENCHMARK_TEMPLATE(ActivationBatch, double)->DenseRange(2, 6);
BENCHMARK_TEMPLATE(ActivationBatch, float)->DenseRange(2, 6);

void ActivationScalarReference(benchmark::State& state) {
  const auto activation = static_cast<rgflow::nn::Activation>(state.range(0));
  const std::vector<double> inputs = activation_inputs<double>();
  std::vector<double> values(inputs.size());
  for (auto _ : state) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      values[i] = rgflow::nn::activation_value(activation, inputs[i]);
    }
    benchmark::DoNotOptimize(values.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(inputs.size()));
  state.SetLabel(rgflow::nn::activation_name(activation));
}
BENCHMARK(ActivationScalarReference)->DenseRange(2, 6);

}  // namespace

BENCHMARK_MAIN();

// One training step (forward, backward, Adam) per batch, single thread, in samples/s: the
// networks of issue 3's benchmark, in float32. Also measures the core's float32 FMA peak so the
// achieved GFLOP/s can be put next to it.
//
//   build/bench/rgflow_bench_nn --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <random>

#include "rgflow/nn/network.hpp"
#include "rgflow/nn/optimizer.hpp"

namespace {

using namespace rgflow::nn;

// Multiply-adds per sample of one training step: forward W h, backward G h^T and W^T G
// (the first layer's W^T G is skipped, as the trainer needs no input gradient).
double mlp_flops_per_sample(const std::vector<int>& widths) {
  double macs = 0;
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    const double layer = double(widths[l]) * widths[l + 1];
    macs += layer * (l == 0 ? 2 : 3);
  }
  return 2 * macs;
}

double gnn_flops_per_sample(int nodes, const std::vector<int>& widths) {
  double macs = 0;
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    const double layer = 2.0 * widths[l] * widths[l + 1] * nodes;  // self and neighbour
    macs += layer * (l == 0 ? 2 : 3);
  }
  macs += 2.0 * widths.back();  // readout
  return 2 * macs;
}

void train_steps(benchmark::State& state, const ModelSpec& spec, double flops_per_sample) {
  const int batch = 256;
  Network<float> net(spec);
  std::mt19937_64 random(1);
  std::uniform_real_distribution<float> uniform(-1.7320508f, 1.7320508f);
  Matrix<float> x(net.inputs(), batch);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = uniform(random);
  const Matrix<float> y = x.colwise().sum() / std::sqrt(float(net.inputs()));
  Optimizer<float> adam(OptimizerSettings{}, static_cast<size_t>(net.parameter_count()));
  std::vector<float> gradient(static_cast<size_t>(net.parameter_count()));
  Network<float>::Tape tape;
  Matrix<float> dy;
  for (auto _ : state) {
    net.forward(x, tape);
    benchmark::DoNotOptimize(mse_loss<float>(tape.output, y, &dy));
    std::fill(gradient.begin(), gradient.end(), 0.0f);
    net.backward(tape, dy, gradient.data());
    adam.step(net.parameters(), gradient.data(), 1e-3);  // -lr's default
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["GFLOPs"] = benchmark::Counter(flops_per_sample * batch * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void MlpSmall(benchmark::State& state) {  // (a) 4-64-64-1 tanh
  ModelSpec spec;
  spec.hidden = {64, 64};
  train_steps(state, spec, mlp_flops_per_sample({4, 64, 64, 1}));
}
BENCHMARK(MlpSmall);

void GnnBlock(benchmark::State& state) {  // (b) 2x2 block, 3 graph layers of 32, tanh, sum pool
  ModelSpec spec;
  spec.kind = ModelKind::kGnn;
  spec.hidden = {32, 32, 32};
  train_steps(state, spec, gnn_flops_per_sample(4, {1, 32, 32, 32}));
}
BENCHMARK(GnnBlock);

void MlpWide(benchmark::State& state) {  // (c) 4x4 block, 16-128-128-1 tanh
  ModelSpec spec;
  spec.block = {2, 4};
  spec.hidden = {128, 128};
  train_steps(state, spec, mlp_flops_per_sample({16, 128, 128, 1}));
}
BENCHMARK(MlpWide);

// Peak: independent fused multiply-adds on full vector registers.
void FmaPeak(benchmark::State& state) {
#if defined(__AVX512F__)
  using Vec = __m512;
  auto fma = [](Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); };
  auto splat = [](float v) { return _mm512_set1_ps(v); };
  constexpr int lanes = 16;
#elif defined(__FMA__)
  using Vec = __m256;
  auto fma = [](Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); };
  auto splat = [](float v) { return _mm256_set1_ps(v); };
  constexpr int lanes = 8;
#else
  state.SkipWithError("no FMA instructions in this build");
  return;
#endif
#if defined(__AVX512F__) || defined(__FMA__)
  Vec acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = splat(float(i));
  const Vec b = splat(0.999f), c = splat(0.001f);
  const int64_t inner = 1 << 16;
  for (auto _ : state) {
    for (int64_t k = 0; k < inner; ++k) {
      for (int i = 0; i < 12; ++i) acc[i] = fma(acc[i], b, c);
    }
    benchmark::DoNotOptimize(acc);
  }
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * lanes * 12 * inner * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
#endif
}
BENCHMARK(FmaPeak);

}  // namespace

BENCHMARK_MAIN();

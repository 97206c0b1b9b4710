// A network applied to a whole field inside rgflow analyze (analysis::FieldModel: every block of
// the field through the training kernels, in batches), single thread, in blocks (samples) per
// second: the MLP 4-64-64-1 tanh of the train benchmark (docs/performance.md, "Train") in float32
// and in double, and the quickstart's models in float32.
//
//   build/bench/rgflow_bench_analyze --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "rgflow/analysis/field_model.hpp"

namespace {

using namespace rgflow;

template <typename Scalar>
void coarse_grain(benchmark::State& state, const nn::ModelSpec& spec) {
  const int64_t side = 1024;  // 262,144 blocks of 2 x 2
  std::vector<Scalar> field(static_cast<size_t>(side * side));
  std::mt19937_64 random(1);
  std::uniform_real_distribution<double> uniform(-1.7320508, 1.7320508);
  for (auto& v : field) v = static_cast<Scalar>(uniform(random));
  const nn::Network<double> net(spec);
  analysis::FieldModel<Scalar> model(net);
  std::vector<Scalar> out;
  for (auto _ : state) {
    model.coarse_grain(2, side, field.data(), out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["samples/s"] = benchmark::Counter(double(out.size()) * double(state.iterations()),
                                                   benchmark::Counter::kIsRate);
}

nn::ModelSpec mlp(const std::vector<int>& hidden, nn::Activation activation,
                  nn::Tying tying = nn::Tying::kNone) {
  nn::ModelSpec spec;
  spec.block = {2, 2};
  spec.hidden = hidden;
  spec.activation = activation;
  spec.tying = tying;
  return spec;
}

void BM_Mlp64x64TanhFloat(benchmark::State& state) {
  coarse_grain<float>(state, mlp({64, 64}, nn::Activation::kTanh));
}
void BM_Mlp64x64TanhDouble(benchmark::State& state) {
  coarse_grain<double>(state, mlp({64, 64}, nn::Activation::kTanh));
}
void BM_QuickstartTanhFloat(benchmark::State& state) {
  coarse_grain<float>(state, mlp({16, 16}, nn::Activation::kTanh));
}
void BM_QuickstartGnnFloat(benchmark::State& state) {
  nn::ModelSpec spec = mlp({8, 8}, nn::Activation::kTanh);
  spec.kind = nn::ModelKind::kGnn;
  coarse_grain<float>(state, spec);
}
BENCHMARK(BM_Mlp64x64TanhFloat)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Mlp64x64TanhDouble)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_QuickstartTanhFloat)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_QuickstartGnnFloat)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

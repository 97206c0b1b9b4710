// The batch activations against the definitions evaluated in long double: values and derivatives,
// over a grid reaching far into both tails, with counts that cut the vector chunks anywhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "rgflow/nn/activation.hpp"

namespace rgflow::nn {
namespace {

struct Exact {
  long double value;
  long double derivative;
};

Exact exact(Activation activation, long double x) {
  const long double logistic = 1.0L / (1.0L + std::exp(-x));
  switch (activation) {
    case Activation::kIdentity:
      return {x, 1.0L};
    case Activation::kRelu:
      return {x > 0 ? x : 0.0L, x > 0 ? 1.0L : 0.0L};
    case Activation::kTanh: {
      const long double t = std::tanh(x);
      return {t, 1.0L - t * t};
    }
    case Activation::kSigmoid:
      return {logistic, logistic * (1.0L - logistic)};
    case Activation::kGelu: {
      const long double cdf = 0.5L * std::erfc(-x / std::sqrt(2.0L));
      const long double pdf = std::exp(-0.5L * x * x) / std::sqrt(2.0L * 3.14159265358979323846L);
      return {x * cdf, cdf + x * pdf};
    }
    case Activation::kSilu:
      return {x * logistic, logistic + x * logistic * (1.0L - logistic)};
    case Activation::kSoftplus:
      return {std::max(x, 0.0L) + std::log1p(std::exp(-std::fabs(x))), logistic};
    case Activation::kQuadratic:
      return {x * x, 2.0L * x};
    case Activation::kCubic:
      return {x * x * x, 3.0L * x * x};
  }
  return {x, 1.0L};
}

// 1001 points on [-30, 30], and values near 0 and at the series' switch points.
std::vector<double> grid() {
  std::vector<double> x;
  for (int i = 0; i <= 1000; ++i) x.push_back(-30.0 + 0.06 * i);
  for (double v : {0.0, -0.0, 1e-300, -1e-300, 1e-9, -1e-9, 0.125, -0.125, 0.12499999, 0.7, -0.7,
                   2.0, -2.0, 1e-3, -1e-3}) {
    x.push_back(v);
  }
  return x;
}

TEST(Activation, DoubleBatchesMatchTheDefinitionsInValuesAndDerivatives) {
  const std::vector<double> x = grid();
  for (const auto& name : activation_names()) {
    const Activation activation = *parse_activation(name);
    // The lower tail of gelu keeps its relative accuracy up to the rounding of x^2 in the
    // exponent: x^2 / 2 ulp, 5e-14 at |x| = 30.
    const double relative = activation == Activation::kGelu ? 1e-13 : 4e-15;
    // tanh' = 1 - tanh^2 and sigmoid' = s (1 - s) come from the value (what the backward pass
    // keeps): accurate to an ulp of 1, not relative to their tails.
    const double derivative_floor =
        activation == Activation::kTanh || activation == Activation::kSigmoid ? 2.3e-16 : 1e-300;
    std::vector<double> values = x, derivatives(x.size());
    apply_activation<double>(activation, values.data(), derivatives.data(),
                             static_cast<Eigen::Index>(values.size()));
    std::vector<double> values_only = x;
    apply_activation<double>(activation, values_only.data(), nullptr,
                             static_cast<Eigen::Index>(values_only.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const Exact want = exact(activation, x[i]);
      const double scale_value = std::fabs(static_cast<double>(want.value));
      const double scale_derivative = std::fabs(static_cast<double>(want.derivative));
      EXPECT_NEAR(values[i], static_cast<double>(want.value), relative * scale_value + 1e-300)
          << name << " at " << x[i];
      EXPECT_NEAR(derivatives[i], static_cast<double>(want.derivative),
                  relative * scale_derivative + derivative_floor)
          << name << "' at " << x[i];
      EXPECT_EQ(values_only[i], values[i]) << name << " values only, at " << x[i];
    }
  }
}

// Float keeps libm's scalar functions (1 + erf for gelu): float accuracy relative to the value or
// absolute on the scale of x, whichever is larger.
TEST(Activation, FloatBatchesMatchTheDefinitions) {
  const std::vector<double> x = grid();
  for (const auto& name : activation_names()) {
    const Activation activation = *parse_activation(name);
    std::vector<float> values(x.begin(), x.end()), derivatives(x.size());
    apply_activation<float>(activation, values.data(), derivatives.data(),
                            static_cast<Eigen::Index>(values.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const Exact want = exact(activation, static_cast<float>(x[i]));
      const double v = static_cast<double>(want.value), d = static_cast<double>(want.derivative);
      const double floor = 2e-7 * std::max(1.0, std::fabs(x[i]));
      EXPECT_NEAR(values[i], v, 4e-6 * std::fabs(v) + floor) << name << " at " << x[i];
      EXPECT_NEAR(derivatives[i], d, 4e-6 * std::fabs(d) + floor) << name << "' at " << x[i];
    }
  }
}

TEST(Activation, ScalarReferenceAgreesWithTheBatches) {
  for (const auto& name : activation_names()) {
    const Activation activation = *parse_activation(name);
    for (double x = -8.0; x <= 8.0; x += 0.37) {
      double value = x;
      apply_activation<double>(activation, &value, nullptr, 1);
      EXPECT_NEAR(activation_value(activation, x), value, 1e-14 * std::max(1.0, std::fabs(x)))
          << name << " at " << x;
    }
  }
}

TEST(Activation, EveryChunkLengthIsComputed) {
  // Lengths around the vector chunks: every value must be transformed, none beyond the count.
  for (Eigen::Index count : {0, 1, 7, 255, 256, 257, 513}) {
    std::vector<double> values(static_cast<size_t>(count) + 1, -1.5);
    values.back() = 123.0;
    apply_activation<double>(Activation::kGelu, values.data(), nullptr, count);
    for (Eigen::Index i = 0; i < count; ++i) {
      EXPECT_DOUBLE_EQ(values[static_cast<size_t>(i)],
                       static_cast<double>(exact(Activation::kGelu, -1.5L).value));
    }
    EXPECT_EQ(values.back(), 123.0);
  }
}

}  // namespace
}  // namespace rgflow::nn

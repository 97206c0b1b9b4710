// Symmetry metrics on models whose answers are known by construction or by hand.
#include <gtest/gtest.h>

#include "nn_test_util.hpp"

#include <random>

#include "rgflow/nn/metrics.hpp"

namespace rgflow::nn {
namespace {

using MatrixD = Matrix<double>;

using testing::random_matrix;

void jitter(Network<double>& net) {  // off the zero biases, which make tanh networks odd
  for (Eigen::Index i = 0; i < net.parameter_count(); ++i)
    net.parameters()[i] += 0.1 * std::sin(i + 1.0);
}

TEST(Metrics, InvariantModelsScoreZeroErrorAndFullInvariantFraction) {
  ModelSpec spec;
  spec.block = {2, 3};
  spec.hidden = {6, 5};
  spec.tying = Tying::kInputs;
  Network<double> tied(spec);
  jitter(tied);
  const MatrixD x = random_matrix(9, 40, 1);
  const auto errors = output_symmetry_errors(tied, x, 8, 3);
  EXPECT_LT(errors.permutation, 1e-20);
  EXPECT_LT(errors.point_group, 1e-20);
  std::vector<Permutation> sampled;
  for (uint64_t k = 0; k < 8; ++k) sampled.push_back(random_permutation(9, 4, k));
  for (double fraction : invariant_fraction(tied, x, sampled)) EXPECT_NEAR(fraction, 1.0, 1e-12);

  spec.tying = Tying::kNone;
  Network<double> untied(spec);
  jitter(untied);
  const auto loose = output_symmetry_errors(untied, x, 8, 3);
  EXPECT_GT(loose.permutation, 1e-6);
  EXPECT_GT(loose.point_group, 1e-6);
  for (double fraction : invariant_fraction(untied, x, sampled)) EXPECT_LT(fraction, 0.999);
}

TEST(Metrics, SignAndScaleErrors) {
  ModelSpec spec;
  spec.activation = Activation::kIdentity;
  spec.bias = false;
  Network<double> linear(spec);
  const MatrixD x = random_matrix(4, 30, 2);
  const auto errors = output_symmetry_errors(linear, x, 0, 0, 3.0);
  EXPECT_LT(errors.sign, 1e-20);
  EXPECT_LT(errors.scale, 1e-20);

  spec.activation = Activation::kQuadratic;
  spec.bias = true;
  Network<double> quadratic(spec);
  jitter(quadratic);
  const auto even = output_symmetry_errors(quadratic, x, 0, 0, 2.0);
  // Direct transcription of E[f(-x) + f(x)]^2 / Var f.
  Network<double>::Tape tape;
  quadratic.forward(x, tape);
  const MatrixD f = tape.output;
  quadratic.forward(-x, tape);
  const MatrixD g = tape.output;
  const double mean = f.mean();
  const double variance = (f.array() - mean).square().mean();
  const double expected = (f + g).array().square().mean() / variance;
  EXPECT_GT(even.sign, 1e-3);
  EXPECT_NEAR(even.sign, expected, 1e-12 * expected);
}

TEST(Metrics, OrderParameterByHand) {
  // N = 2, one hidden layer of 2 units: u_0 = (1, 0 | 0 | 1), u_1 = (0, 1 | 0 | 1):
  // |u_0 - u_1|^2 = 2 and mean |u_a|^2 = 2, so D = 1.
  ModelSpec spec;
  spec.block = {1, 2};
  spec.hidden = {2};
  Network<double> net(spec);
  ASSERT_EQ(net.parameter_count(), 9);
  const double values[9] = {1, 0, 0, 1, 0, 0, 1, 1, 0.5};  // W0 (column-major), b0, W1, b1
  std::copy(values, values + 9, net.parameters());
  const auto order = unit_order_parameter(net);
  ASSERT_EQ(order.size(), 1u);
  EXPECT_DOUBLE_EQ(order[0], 1.0);

  spec.hidden = {5, 4};
  spec.tying = Tying::kUnits;
  Network<double> identical(spec);
  jitter(identical);
  for (double d : unit_order_parameter(identical)) EXPECT_EQ(d, 0.0);
  spec.tying = Tying::kNone;
  for (double d : unit_order_parameter(Network<double>(spec))) EXPECT_GT(d, 0.1);
}

TEST(Metrics, GraphLayersAreEquivariantUnderAutomorphisms) {
  for (int dim = 1; dim <= 3; ++dim) {
    ModelSpec spec;
    spec.kind = ModelKind::kGnn;
    spec.block = {dim, 3};
    spec.hidden = {4, 4, 3};
    Network<double> net(spec);
    jitter(net);
    const MatrixD x = random_matrix(spec.block.sites(), 10, 5);
    for (double e : equivariance_error(net, x, point_group(spec.block))) EXPECT_LT(e, 1e-20);
    Permutation swap(static_cast<size_t>(spec.block.sites()));
    for (int i = 0; i < spec.block.sites(); ++i) swap[static_cast<size_t>(i)] = i;
    std::swap(swap[0], swap[static_cast<size_t>(spec.block.sites() / 2)]);
    for (double e : equivariance_error(net, x, {swap})) EXPECT_GT(e, 1e-4) << "d=" << dim;
  }
  ModelSpec mlp;
  EXPECT_THROW(equivariance_error(Network<double>(mlp), random_matrix(4, 2, 1), {}),
               std::invalid_argument);
}

}  // namespace
}  // namespace rgflow::nn

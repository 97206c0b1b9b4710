// Symmetry metrics (docs/science.md section 5) on models whose answers are known by construction,
// by hand, or by a direct transcription of the definition that does not share the metric's code.
#include <gtest/gtest.h>

#include "nn_test_util.hpp"

#include <algorithm>
#include <cmath>

#include "rgflow/nn/metrics.hpp"

namespace rgflow::nn {
namespace {

using MatrixD = Matrix<double>;

using testing::random_matrix;

// Moves every parameter off its initial value, in particular off the zero biases (a tanh network
// with zero biases is odd, which would hide a wrong sign error).
template <typename Scalar>
void jitter(Network<Scalar>& net) {
  for (Eigen::Index i = 0; i < net.parameter_count(); ++i) {
    net.parameters()[i] += static_cast<Scalar>(0.1 * std::sin(i + 1.0));
  }
}

template <typename Scalar>
MatrixD outputs(const Network<Scalar>& net, const MatrixD& x) {
  typename Network<Scalar>::Tape tape;
  net.forward(x.cast<Scalar>(), tape);
  return tape.output.template cast<double>();
}

double population_variance(const Eigen::VectorXd& values) {
  return (values.array() - values.mean()).square().mean();
}

void set_parameters(Network<double>& net, const std::vector<double>& values) {
  ASSERT_EQ(net.parameter_count(), static_cast<Eigen::Index>(values.size()));
  std::copy(values.begin(), values.end(), net.parameters());
}

// E|v - E v|^2 over the blocks of node features h (width x (B N), column s N + i), with v the
// block's N width values; population normalisation.
double block_variance(const MatrixD& h, int nodes) {
  const Eigen::Index blocks = h.cols() / nodes;
  MatrixD mean = MatrixD::Zero(h.rows(), nodes);
  for (Eigen::Index s = 0; s < blocks; ++s) mean += h.middleCols(s * nodes, nodes);
  mean /= double(blocks);
  double sum = 0;
  for (Eigen::Index s = 0; s < blocks; ++s) {
    sum += (h.middleCols(s * nodes, nodes) - mean).squaredNorm();
  }
  return sum / double(blocks);
}

std::vector<Permutation> sampled_permutations(int sites, uint64_t seed, int count) {
  std::vector<Permutation> group;
  for (int k = 0; k < count; ++k) group.push_back(random_permutation(sites, seed, uint64_t(k)));
  return group;
}

TEST(Metrics, InputTiedModelIsInvariantInOutputAndEveryHiddenLayer) {
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
  const auto fractions = invariant_fraction(tied, x, sampled_permutations(9, 4, 8));
  ASSERT_EQ(fractions.size(), 2u);
  for (double fraction : fractions) EXPECT_NEAR(fraction, 1.0, 1e-12);

  // The float instantiation: invariant up to single-precision rounding.
  Network<float> tied_float(spec);
  jitter(tied_float);
  const auto float_errors =
      output_symmetry_errors(tied_float, Matrix<float>(x.cast<float>()), 8, 3);
  EXPECT_LT(float_errors.permutation, 1e-10);
  EXPECT_LT(float_errors.point_group, 1e-10);
}

TEST(Metrics, UntiedTanhModelBreaksPermutationSymmetry) {
  ModelSpec spec;
  spec.block = {2, 3};
  spec.hidden = {6, 5};
  Network<double> untied(spec);
  jitter(untied);
  const MatrixD x = random_matrix(9, 40, 1);
  const auto errors = output_symmetry_errors(untied, x, 8, 3);
  EXPECT_GT(errors.permutation, 1e-6);
  EXPECT_GT(errors.point_group, 1e-6);
  const auto fractions = invariant_fraction(untied, x, sampled_permutations(9, 4, 8));
  ASSERT_EQ(fractions.size(), 2u);
  for (double fraction : fractions) EXPECT_LT(fraction, 0.99);

  // The same model in float gives the same metrics to single precision.
  Network<float> untied_float(spec);
  jitter(untied_float);
  const auto float_errors =
      output_symmetry_errors(untied_float, Matrix<float>(x.cast<float>()), 8, 3);
  EXPECT_NEAR(float_errors.permutation, errors.permutation, 1e-4 * errors.permutation);
  EXPECT_NEAR(float_errors.sign, errors.sign, 1e-4 * errors.sign);
}

TEST(Metrics, InvarianceErrorsOfLinearModelMatchEffectiveWeights) {
  // f(x) = w.x with w = W2 W1 W0, so f(g.x) - f(x) = sum_i (w_{g[i]} - w_i) x_i: the errors
  // follow from w alone, without permuting any block.
  ModelSpec spec;
  spec.activation = Activation::kIdentity;
  spec.bias = false;
  spec.hidden = {5, 3};
  Network<double> linear(spec);
  const MatrixD w = linear.weight(2) * linear.weight(1) * linear.weight(0);  // 1 x 4
  const MatrixD x = random_matrix(4, 50, 6);
  const double variance = population_variance((w * x).row(0).transpose());
  auto expected_error = [&](const std::vector<Permutation>& group) {
    double sum = 0;
    for (const auto& g : group) {
      MatrixD moved_w(1, 4);
      for (int i = 0; i < 4; ++i) moved_w(0, i) = w(0, g[size_t(i)]);
      sum += ((moved_w - w) * x).squaredNorm() / double(x.cols()) / variance;
    }
    return sum / double(group.size());
  };
  const auto errors = output_symmetry_errors(linear, x, 5, 11);
  EXPECT_NEAR(errors.permutation, expected_error(sampled_permutations(4, 11, 5)), 1e-12);
  EXPECT_NEAR(errors.point_group, expected_error(point_group(spec.block)), 1e-12);
  EXPECT_GT(errors.point_group, 1e-3);
}

TEST(Metrics, LinearModelIsOddAndHomogeneous) {
  ModelSpec spec;
  spec.activation = Activation::kIdentity;
  spec.bias = false;
  Network<double> linear(spec);
  const MatrixD x = random_matrix(4, 30, 2);
  const auto errors = output_symmetry_errors(linear, x, 0, 0, 3.0);
  EXPECT_LT(errors.sign, 1e-20);
  EXPECT_LT(errors.scale, 1e-20);
  EXPECT_EQ(errors.permutation, 0.0);  // no permutations sampled
}

TEST(Metrics, HomogeneousQuadraticModelHasKnownSignAndScaleErrors) {
  // One quadratic hidden layer and no biases: f(-x) = f(x) and f(c x) = c^2 f(x), so
  // sign = E[(2 f)^2] / Var f and scale = (c^2 - c)^2 E f^2 / (c^2 Var f) = (c - 1)^2 E f^2 / Var
  // f.
  ModelSpec spec;
  spec.activation = Activation::kQuadratic;
  spec.bias = false;
  spec.hidden = {7};
  Network<double> quadratic(spec);
  const MatrixD x = random_matrix(4, 60, 8);
  const Eigen::VectorXd f = outputs(quadratic, x).row(0).transpose();
  const double ratio = f.squaredNorm() / double(f.size()) / population_variance(f);
  const double c = 3.0;
  const auto errors = output_symmetry_errors(quadratic, x, 0, 0, c);
  EXPECT_NEAR(errors.sign, 4 * ratio, 1e-12 * ratio);
  EXPECT_NEAR(errors.scale, (c - 1) * (c - 1) * ratio, 1e-12 * ratio);
}

TEST(Metrics, SignErrorMatchesDirectComputation) {
  ModelSpec spec;
  spec.activation = Activation::kQuadratic;
  spec.block = {1, 3};
  spec.hidden = {3};
  Network<double> quadratic(spec);
  jitter(quadratic);  // non-zero biases: f is neither odd nor even
  const MatrixD x = random_matrix(3, 25, 2);
  // E_x [f(-x) + f(x)]^2 / Var_x f, written out from the definition.
  const MatrixD f = outputs(quadratic, x);
  const MatrixD f_negated = outputs(quadratic, MatrixD(-x));
  const double variance = population_variance(f.row(0).transpose());
  const double expected = (f + f_negated).squaredNorm() / double(x.cols()) / variance;
  const auto errors = output_symmetry_errors(quadratic, x, 0, 0);
  EXPECT_GT(errors.sign, 1e-3);
  EXPECT_NEAR(errors.sign, expected, 1e-12 * expected);
}

TEST(Metrics, InvariantFractionOfHandBuiltLinearLayer) {
  // N = 2 (d = 1, b = 2), point group {identity, swap}. Hidden features h = (x_0, x_0 - x_1) have
  // group averages hbar = ((x_0 + x_1) / 2, 0), so the fraction is
  // Var((x_0 + x_1) / 2) / (Var x_0 + Var(x_0 - x_1)).
  ModelSpec spec;
  spec.block = {1, 2};
  spec.hidden = {2};
  spec.activation = Activation::kIdentity;
  spec.bias = false;
  Network<double> net(spec);
  set_parameters(net, {1, 1, 0, -1, /* W1 */ 1, 1});  // W0 = [[1, 0], [1, -1]] column-major
  const MatrixD x = random_matrix(2, 30, 9);
  const Eigen::VectorXd x0 = x.row(0).transpose(), x1 = x.row(1).transpose();
  const double expected = population_variance(0.5 * (x0 + x1)) /
                          (population_variance(x0) + population_variance(x0 - x1));
  const auto fraction = invariant_fraction(net, x, point_group(spec.block));
  ASSERT_EQ(fraction.size(), 1u);
  EXPECT_NEAR(fraction[0], expected, 1e-12);
  EXPECT_LT(fraction[0], 0.9);
}

TEST(Metrics, OrderParameterByHand) {
  // MLP, N = 2, 3 hidden units: W0 = [[1, 2], [3, 4], [0, 1]], b0 = (1, -1, 0), W1 = (2, 0, 1):
  // u_0 = (1, 2, 1, 2), u_1 = (3, 4, -1, 0), u_2 = (0, 1, 0, 1); |u_a|^2 = 10, 26, 2 (mean 38/3),
  // |u_0 - u_1|^2 = 16, |u_0 - u_2|^2 = 4, |u_1 - u_2|^2 = 20 (mean 40/3): D = 40/38.
  ModelSpec mlp;
  mlp.block = {1, 2};
  mlp.hidden = {3};
  Network<double> net(mlp);
  set_parameters(net, {1, 3, 0, 2, 4, 1, /* b0 */ 1, -1, 0, /* W1 */ 2, 0, 1, /* b1 */ 0.5});
  auto order = unit_order_parameter(net);
  ASSERT_EQ(order.size(), 1u);
  EXPECT_NEAR(order[0], 40.0 / 38.0, 1e-15);

  // Two hidden layers, W0 = I, W1 = [[1, 2], [0, 0]], biases and W2 zero: layer 0 takes its
  // outgoing weights from the columns of W1, layer 1 its incoming ones from the rows.
  // Layer 0: u_0 = (1, 0, 0, 1, 0), u_1 = (0, 1, 0, 2, 0): D = 3 / (7/2) = 6/7.
  // Layer 1: u_0 = (1, 2, 0, 0), u_1 = 0: D = 5 / (5/2) = 2.
  mlp.hidden = {2, 2};
  Network<double> deep(mlp);
  set_parameters(deep, {1, 0, 0, 1, 0, 0, /* W1 */ 1, 0, 2, 0, 0, 0, /* W2 */ 0, 0, 0});
  order = unit_order_parameter(deep);
  ASSERT_EQ(order.size(), 2u);
  EXPECT_NEAR(order[0], 6.0 / 7.0, 1e-15);
  EXPECT_NEAR(order[1], 2.0, 1e-15);

  // Graph network, 2 units of width-1 input: W_self = (1, 2), W_nbr = (3, 0), b = (0, 1),
  // readout (1, -1): u_0 = (1, 3, 0, 1), u_1 = (2, 0, 1, -1); |u_a|^2 = 11, 6 (mean 17/2),
  // |u_0 - u_1|^2 = 15: D = 30/17.
  ModelSpec gnn;
  gnn.kind = ModelKind::kGnn;
  gnn.block = {1, 2};
  gnn.hidden = {2};
  Network<double> graph(gnn);
  set_parameters(graph, {1, 2, /* W_nbr */ 3, 0, /* b0 */ 0, 1, /* readout */ 1, -1, 0.5});
  order = unit_order_parameter(graph);
  ASSERT_EQ(order.size(), 1u);
  EXPECT_NEAR(order[0], 30.0 / 17.0, 1e-15);
}

TEST(Metrics, GraphOrderParameterCountsTheNextGraphLayersNeighbourWeights) {
  // Graph network on 2 nodes, two graph layers of 2 units. Layer 0: W_self = (1, 2),
  // W_nbr = (0, 1), b = (1, 0); layer 1: W_self = [[1, 0], [2, 1]], W_nbr = [[0, 3], [1, 0]],
  // b = (0, 1); readout (1, -1). A unit of layer 0 feeds layer 1 through both of its matrices:
  // u_0 = (1, 0, 1, 1, 2, 0, 1), u_1 = (2, 1, 0, 0, 1, 3, 0); |u_a|^2 = 8, 15 (mean 23/2),
  // |u_0 - u_1|^2 = 15: D = 30/23 (10/13 without the neighbour columns).
  // Layer 1 feeds the readout only: u_0 = (1, 0, 0, 3, 0, 1), u_1 = (2, 1, 1, 0, 1, -1);
  // |u_a|^2 = 11, 8 (mean 19/2), |u_0 - u_1|^2 = 17: D = 34/19.
  ModelSpec gnn;
  gnn.kind = ModelKind::kGnn;
  gnn.block = {1, 2};
  gnn.hidden = {2, 2};
  Network<double> graph(gnn);
  set_parameters(graph, {1, 2, /* W_nbr */ 0, 1, /* b0 */ 1, 0,
                         /* W_self 1, column-major */ 1, 2, 0, 1, /* W_nbr 1 */ 0, 1, 3, 0,
                         /* b1 */ 0, 1, /* readout */ 1, -1, 0.5});
  const auto order = unit_order_parameter(graph);
  ASSERT_EQ(order.size(), 2u);
  EXPECT_NEAR(order[0], 30.0 / 23.0, 1e-15);
  EXPECT_NEAR(order[1], 34.0 / 19.0, 1e-15);
}

TEST(Metrics, InvariantFractionOfHandBuiltGraphLayers) {
  // Linear graph layers without bias, h_i = s x_i + t sum_{j ~ i} x_j, written out by hand.
  // 2 nodes, group {identity, swap}: h(x) = (s x0 + t x1, s x1 + t x0) and h(swap.x) is h(x)
  // with its nodes swapped, so hbar = ((s + t)(x0 + x1) / 2) on both nodes.
  const double s = 0.7, t = -1.3;
  ModelSpec spec;
  spec.kind = ModelKind::kGnn;
  spec.block = {1, 2};
  spec.hidden = {1};
  spec.activation = Activation::kIdentity;
  spec.bias = false;
  Network<double> pair(spec);
  set_parameters(pair, {s, t, /* readout */ 1});
  const MatrixD x2 = random_matrix(2, 40, 3);
  const Eigen::VectorXd a = x2.row(0).transpose(), b = x2.row(1).transpose();
  double expected = 2 * population_variance(0.5 * (s + t) * (a + b)) /
                    (population_variance(s * a + t * b) + population_variance(s * b + t * a));
  auto fraction = invariant_fraction(pair, x2, point_group(spec.block));
  ASSERT_EQ(fraction.size(), 1u);
  EXPECT_NEAR(fraction[0], expected, 1e-12);
  EXPECT_LT(fraction[0], 0.9);

  // 3 nodes in a line (0 - 1 - 2), group {identity, reversal}: h = (s x0 + t x1,
  // s x1 + t (x0 + x2), s x2 + t x1); hbar = ((s (x0 + x2) + 2 t x1) / 2, s x1 + t (x0 + x2),
  // the first again).
  spec.block = {1, 3};
  Network<double> line(spec);
  set_parameters(line, {s, t, /* readout */ 1});
  const MatrixD x3 = random_matrix(3, 40, 4);
  const Eigen::VectorXd x0 = x3.row(0).transpose(), x1 = x3.row(1).transpose(),
                        x2_ = x3.row(2).transpose();
  const Eigen::VectorXd end_average = 0.5 * (s * (x0 + x2_) + 2 * t * x1);
  const Eigen::VectorXd middle = s * x1 + t * (x0 + x2_);
  expected = (2 * population_variance(end_average) + population_variance(middle)) /
             (population_variance(s * x0 + t * x1) + population_variance(middle) +
              population_variance(s * x2_ + t * x1));
  fraction = invariant_fraction(line, x3, point_group(spec.block));
  ASSERT_EQ(fraction.size(), 1u);
  EXPECT_NEAR(fraction[0], expected, 1e-12);
  EXPECT_LT(fraction[0], 0.99);
}

TEST(Metrics, OrderParameterVanishesExactlyForIdenticalUnits) {
  for (ModelKind kind : {ModelKind::kMlp, ModelKind::kGnn}) {
    ModelSpec spec;
    spec.kind = kind;
    spec.block = {2, 3};
    spec.hidden = {5, 4};
    spec.tying = Tying::kUnits;
    Network<double> identical(spec);
    jitter(identical);
    auto order = unit_order_parameter(identical);
    ASSERT_EQ(order.size(), 2u);
    for (double d : order) EXPECT_EQ(d, 0.0);

    spec.tying = Tying::kNone;
    order = unit_order_parameter(Network<double>(spec));
    ASSERT_EQ(order.size(), 2u);
    for (double d : order) EXPECT_GT(d, 0.1);

    spec.hidden = {1};  // one unit: no pairs
    EXPECT_EQ(unit_order_parameter(Network<double>(spec)).at(0), 0.0);
    Network<double> zero(spec);
    std::fill(zero.parameters(), zero.parameters() + zero.parameter_count(), 0.0);
    EXPECT_EQ(unit_order_parameter(zero).at(0), 0.0);
  }
}

TEST(Metrics, GraphLayersAreEquivariantUnderAutomorphismsOnly) {
  for (int dim = 1; dim <= 3; ++dim) {
    ModelSpec spec;
    spec.kind = ModelKind::kGnn;
    spec.block = {dim, 3};
    spec.hidden = {4, 4, 3};
    Network<double> net(spec);
    jitter(net);
    const int sites = spec.block.sites();
    const MatrixD x = random_matrix(sites, 10, 5);
    const auto group = point_group(spec.block);
    const auto errors = equivariance_error(net, x, group);
    ASSERT_EQ(errors.size(), 3u);
    for (double e : errors) EXPECT_LT(e, 1e-20) << "d=" << dim;
    // Then h(g.x) = g.h(x), so hbar is each block's node features averaged with their images
    // under the group: the invariant fraction is that average's share of the variance, here
    // transcribed from the node features of x alone (and below 1: features differ by node).
    typename Network<double>::Tape tape;
    net.forward(x, tape);
    const auto fractions = invariant_fraction(net, x, group);
    ASSERT_EQ(fractions.size(), 3u);
    for (size_t layer = 0; layer < 3; ++layer) {
      const MatrixD& h = tape.h[layer + 1];  // width x (B N), column s N + i
      MatrixD averaged = MatrixD::Zero(h.rows(), h.cols());
      for (const auto& g : group) {
        for (Eigen::Index s = 0; s < x.cols(); ++s) {
          for (int i = 0; i < sites; ++i) {
            averaged.col(s * sites + g[size_t(i)]) += h.col(s * sites + i) / double(group.size());
          }
        }
      }
      const double expected = block_variance(averaged, sites) / block_variance(h, sites);
      EXPECT_NEAR(fractions[layer], expected, 1e-12 * expected) << "d=" << dim;
      EXPECT_LT(fractions[layer], 1.0 - 1e-6) << "d=" << dim;
    }

    // Corner 0 and the centre have different numbers of neighbours: not an automorphism.
    Permutation swap(static_cast<size_t>(sites));
    for (int i = 0; i < sites; ++i) swap[static_cast<size_t>(i)] = i;
    std::swap(swap[0], swap[static_cast<size_t>(sites / 2)]);
    for (double e : equivariance_error(net, x, {swap})) EXPECT_GT(e, 1e-4) << "d=" << dim;
  }
}

TEST(Metrics, RejectsMlpForEquivarianceAndMisshapenInputs) {
  ModelSpec mlp;
  const Network<double> net(mlp);
  const auto group = point_group(mlp.block);
  EXPECT_THROW(equivariance_error(net, random_matrix(4, 2, 1), group), std::invalid_argument);
  EXPECT_THROW(output_symmetry_errors(net, random_matrix(5, 2, 1), 1, 0), std::invalid_argument);
  EXPECT_THROW(output_symmetry_errors(net, MatrixD(4, 0), 1, 0), std::invalid_argument);
  EXPECT_THROW(invariant_fraction(net, random_matrix(4, 2, 1), {}), std::invalid_argument);
  EXPECT_THROW(invariant_fraction(net, random_matrix(4, 2, 1), {Permutation{0, 1, 2}}),
               std::invalid_argument);
}

}  // namespace
}  // namespace rgflow::nn

// Networks: exact gradients (finite differences), symmetry by construction, and learning the
// exact CLT map.
#include <gtest/gtest.h>

#include "nn_test_util.hpp"

#include <cmath>
#include <random>

#include "rgflow/nn/network.hpp"
#include "rgflow/nn/optimizer.hpp"

namespace rgflow::nn {
namespace {

using MatrixD = Matrix<double>;

using testing::random_matrix;

double loss_at(Network<double>& net, const MatrixD& x, const MatrixD& t) {
  Network<double>::Tape tape;
  net.forward(x, tape);
  return mse_loss<double>(tape.output, t, nullptr);
}

// Relative error of the analytic gradient against central differences, over all parameters.
double gradient_error(const ModelSpec& spec) {
  Network<double> net(spec);
  // Biases start at zero; a relu unit whose inputs are all dead then sits exactly on its kink,
  // where no finite difference is valid. Perturb every parameter off such points.
  std::mt19937_64 random(17);
  std::uniform_real_distribution<double> jitter(-0.1, 0.1);
  for (Eigen::Index i = 0; i < net.parameter_count(); ++i) net.parameters()[i] += jitter(random);
  const MatrixD x = random_matrix(net.inputs(), 7, 3);
  const MatrixD t = random_matrix(1, 7, 4);
  Network<double>::Tape tape;
  net.forward(x, tape);
  MatrixD dy;
  mse_loss<double>(tape.output, t, &dy);
  std::vector<double> analytic(static_cast<size_t>(net.parameter_count()), 0.0);
  net.backward(tape, dy, analytic.data());
  double difference = 0, norm = 0;
  for (Eigen::Index i = 0; i < net.parameter_count(); ++i) {
    double* p = net.parameters() + i;
    const double saved = *p, h = 1e-6 * std::max(1.0, std::abs(saved));
    *p = saved + h;
    const double up = loss_at(net, x, t);
    *p = saved - h;
    const double down = loss_at(net, x, t);
    *p = saved;
    const double numeric = (up - down) / (2 * h);
    difference += std::pow(numeric - analytic[static_cast<size_t>(i)], 2);
    norm += std::pow(numeric, 2);
  }
  return std::sqrt(difference / std::max(norm, 1e-300));
}

TEST(Network, GradientsMatchFiniteDifferencesForEveryKindActivationAndTying) {
  int checked = 0;
  for (const auto& kind_name : model_kind_names()) {
    for (const auto& activation_name_ : activation_names()) {
      for (const auto& tying_name_ : tying_names()) {
        ModelSpec spec;
        spec.kind = *parse_model_kind(kind_name);
        spec.activation = *parse_activation(activation_name_);
        spec.tying = *parse_tying(tying_name_);
        spec.block = {2, 3};  // 3x3 block: point-group orbits are corners, edges, centre
        spec.hidden = {4, 4};
        spec.seed = 5;
        if (!spec.validate().empty()) continue;
        for (bool tie : {false, true}) {
          if (tie && spec.kind != ModelKind::kGnn) continue;
          spec.tie_self_neighbour = tie;
          spec.mean_aggregation = tie;  // cover both aggregations and poolings
          spec.mean_pooling = !tie;
          EXPECT_LT(gradient_error(spec), 1e-6)
              << kind_name << " " << activation_name_ << " " << tying_name_ << " tie " << tie;
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 9 * 6 + 9 * 4 * 2);
}

TEST(Network, InputGradientMatchesFiniteDifferences) {
  for (ModelKind kind : {ModelKind::kMlp, ModelKind::kGnn}) {
    ModelSpec spec;
    spec.kind = kind;
    spec.hidden = {5, 3};
    Network<double> net(spec);
    MatrixD x = random_matrix(net.inputs(), 3, 8);
    const MatrixD t = random_matrix(1, 3, 9);
    Network<double>::Tape tape;
    net.forward(x, tape);
    MatrixD dy, dx;
    mse_loss<double>(tape.output, t, &dy);
    std::vector<double> unused(static_cast<size_t>(net.parameter_count()), 0.0);
    net.backward(tape, dy, unused.data(), &dx);
    for (Eigen::Index i = 0; i < x.size(); ++i) {
      const double saved = x.data()[i];
      x.data()[i] = saved + 1e-6;
      const double up = loss_at(net, x, t);
      x.data()[i] = saved - 1e-6;
      const double down = loss_at(net, x, t);
      x.data()[i] = saved;
      EXPECT_NEAR(dx.data()[i], (up - down) / 2e-6, 1e-7);
    }
  }
}

// Largest |f(g.x) - f(x)| over a batch and the given permutations.
double invariance_error(const Network<double>& net, const std::vector<Permutation>& group) {
  const MatrixD x = random_matrix(net.inputs(), 16, 21);
  Network<double>::Tape tape;
  net.forward(x, tape);
  const MatrixD reference = tape.output;
  double worst = 0;
  for (const auto& g : group) {
    MatrixD moved(x.rows(), x.cols());
    for (Eigen::Index s = 0; s < x.cols(); ++s)
      permute_block(g, x.col(s).data(), moved.col(s).data());
    net.forward(moved, tape);
    worst = std::max(worst, (tape.output - reference).cwiseAbs().maxCoeff());
  }
  return worst;
}

TEST(Network, TyingMakesModelsInvariantAndUntiedModelsAreNot) {
  const BlockShape block{2, 3};
  std::vector<Permutation> all_sites;
  for (uint64_t i = 0; i < 20; ++i) all_sites.push_back(random_permutation(9, 77, i));
  const auto points = point_group(block);
  ModelSpec spec;
  spec.block = block;
  spec.hidden = {8, 8};
  spec.tying = Tying::kInputs;
  EXPECT_LT(invariance_error(Network<double>(spec), all_sites), 1e-12);
  spec.tying = Tying::kOrbits;
  EXPECT_LT(invariance_error(Network<double>(spec), points), 1e-12);
  EXPECT_GT(invariance_error(Network<double>(spec), all_sites), 1e-3)
      << "orbit tying is not invariant under all permutations";
  spec.tying = Tying::kNone;
  EXPECT_GT(invariance_error(Network<double>(spec), points), 1e-3);
}

TEST(Network, GraphNetworksAreInvariantUnderBlockAutomorphismsOnly) {
  for (int dim = 1; dim <= 3; ++dim) {
    ModelSpec spec;
    spec.kind = ModelKind::kGnn;
    spec.block = {dim, 3};
    spec.hidden = {6, 6};
    const Network<double> net(spec);
    EXPECT_LT(invariance_error(net, point_group(spec.block)), 1e-12) << "d=" << dim;
    // Swapping a corner with the centre breaks the graph's structure.
    Permutation swap(static_cast<size_t>(spec.block.sites()));
    for (int i = 0; i < spec.block.sites(); ++i) swap[static_cast<size_t>(i)] = i;
    std::swap(swap[0], swap[static_cast<size_t>(spec.block.sites() / 2)]);
    EXPECT_GT(invariance_error(net, {swap}), 1e-3) << "d=" << dim;
  }
}

TEST(Network, TiedParameterCounts) {
  ModelSpec spec;  // 2x2 block, hidden 64, 64
  spec.tying = Tying::kNone;
  EXPECT_EQ(Network<double>(spec).parameter_count(), 4 * 64 + 64 + 64 * 64 + 64 + 64 + 1);
  spec.tying = Tying::kInputs;
  EXPECT_EQ(Network<double>(spec).parameter_count(), 64 + 64 + 64 * 64 + 64 + 64 + 1);
  spec.tying = Tying::kSymmetric;
  EXPECT_EQ(Network<double>(spec).parameter_count(), 4 * 64 + 64 + 64 * 65 / 2 + 64 + 64 + 1);
  spec.tying = Tying::kUnits;  // W0 rows equal (4), b0 (1), W1 (1), b1 (1), W2 (1), b2 (1)
  EXPECT_EQ(Network<double>(spec).parameter_count(), 4 + 1 + 1 + 1 + 1 + 1);
  spec.tying = Tying::kScalar;
  EXPECT_EQ(Network<double>(spec).parameter_count(), 6);
  spec.kind = ModelKind::kGnn;
  spec.tying = Tying::kNone;
  spec.hidden = {32, 32, 32};
  EXPECT_EQ(Network<double>(spec).parameter_count(), 4289) << "the reference graph network";
}

// The sizes computed from a spec alone (what a model file is checked against before anything is
// allocated) are those of the network built from it, for every kind, tying and option.
TEST(Network, SizesFromTheSpecMatchTheBuiltNetwork) {
  int checked = 0;
  for (const ModelKind kind : {ModelKind::kMlp, ModelKind::kGnn}) {
    for (size_t tying = 0; tying < tying_names().size(); ++tying) {
      for (const std::string group : {"point", "reflections", "full"}) {
        for (const bool bias : {true, false}) {
          for (const bool tie_self : {false, true}) {
            for (const BlockShape block : {BlockShape{1, 3}, BlockShape{2, 2}, BlockShape{3, 2}}) {
              ModelSpec spec;
              spec.kind = kind;
              spec.tying = static_cast<Tying>(tying);
              spec.orbit_group = group;
              spec.bias = bias;
              spec.tie_self_neighbour = tie_self;
              spec.block = block;
              spec.hidden = {5, 5, 3};
              if (!spec.validate().empty()) continue;
              EXPECT_EQ(spec.free_parameters(), Network<double>(spec).parameter_count())
                  << model_kind_name(kind) << " " << tying_name(spec.tying) << " " << group
                  << " bias " << bias << " tie " << tie_self << " block " << block.side << "^"
                  << block.dim;
              ++checked;
            }
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 100);
  // Effective entries by hand: mlp 4-5-5-3-1 with biases.
  ModelSpec spec;
  spec.hidden = {5, 5, 3};
  EXPECT_EQ(spec.effective_entries(), 4 + (4 * 5 + 5) + (5 * 5 + 5) + (5 * 3 + 3) + (3 + 1));
}

TEST(Network, NetworksBeyondTheMemoryLimitAreRefusedBySize) {
  ModelSpec spec;
  spec.hidden = {1 << 20, 1 << 20};
  const std::string problem = spec.validate();
  EXPECT_NE(problem.find("is too large"), std::string::npos) << problem;
  EXPECT_GT(spec.memory_bytes(), 1e12);
  spec.hidden = {1024, 1024};  // about 1M weights: some tens of MB
  EXPECT_EQ(spec.validate(), "");
  EXPECT_LT(spec.memory_bytes(), ModelSpec::kMaxMemoryBytes);
  spec.hidden = {40000, 40000};  // 1.6e9 weights: fits int indices, not the memory limit
  EXPECT_NE(spec.validate().find("limit of 4 GiB"), std::string::npos);
}

// Trains on exact CLT pairs y = N^(-1/2) sum x; returns the final full-batch MSE.
double train_clt(Network<double>& net, int steps, double rate) {
  const int n = net.inputs();
  const MatrixD x = random_matrix(n, 256, 31);
  const MatrixD y = x.colwise().sum() / std::sqrt(double(n));
  Optimizer<double> adam(OptimizerSettings{}, static_cast<size_t>(net.parameter_count()));
  std::vector<double> gradient(static_cast<size_t>(net.parameter_count()));
  Network<double>::Tape tape;
  MatrixD dy;
  for (int step = 0; step < steps; ++step) {
    net.forward(x, tape);
    mse_loss<double>(tape.output, y, &dy);
    std::fill(gradient.begin(), gradient.end(), 0.0);
    net.backward(tape, dy, gradient.data());
    // Cosine decay to zero: Adam settles instead of hovering at the noise floor of its step.
    const double schedule = 0.5 * (1 + std::cos(M_PI * step / steps));
    adam.step(net.parameters(), gradient.data(), rate * schedule);
  }
  net.forward(x, tape);
  return mse_loss<double>(tape.output, y, nullptr);
}

TEST(Network, LinearInputsTiedMlpLearnsTheExactMap) {
  ModelSpec spec;
  spec.activation = Activation::kIdentity;
  spec.tying = Tying::kInputs;
  spec.hidden = {4};
  Network<double> net(spec);
  EXPECT_LT(train_clt(net, 4000, 1e-2), 1e-12);
  // Effective weight of every site: sum_a v_a u_a, which must be N^(-1/2) = 1/2.
  const MatrixD effective = net.weight(1) * net.weight(0);
  for (Eigen::Index i = 0; i < effective.size(); ++i) EXPECT_NEAR(effective(0, i), 0.5, 1e-6);
}

TEST(Network, IdentityGraphNetworkLearnsTheExactMap) {
  ModelSpec spec;
  spec.kind = ModelKind::kGnn;
  spec.activation = Activation::kIdentity;
  spec.hidden = {4, 4};
  Network<double> net(spec);
  EXPECT_LT(train_clt(net, 4000, 1e-2), 1e-12);
}

TEST(Optimizer, AdamAndSgdMinimiseAQuadratic) {
  // f(p) = sum_i c_i (p_i - m_i)^2 with minimum at m.
  const std::vector<double> c{1.0, 3.0, 0.5}, m{2.0, -1.0, 0.25};
  for (const std::string kind : {"adam", "sgd"}) {
    OptimizerSettings settings;
    settings.kind = kind;
    const double rate = 0.05;
    Optimizer<double> optimizer(settings, 3);
    std::vector<double> p{0, 0, 0}, g(3);
    for (int step = 0; step < 3000; ++step) {
      for (int i = 0; i < 3; ++i) g[i] = 2 * c[i] * (p[i] - m[i]);
      optimizer.step(p.data(), g.data(), rate * (kind == "adam" ? 1.0 / (1 + step / 100.0) : 1.0));
    }
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(p[i], m[i], 1e-6) << kind;
  }
}

}  // namespace
}  // namespace rgflow::nn

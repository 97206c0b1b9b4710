// Symmetry strategies: exact invariance where promised, and exact gradients of every loss.
#include <gtest/gtest.h>

#include "nn_test_util.hpp"

#include <cmath>
#include <numeric>
#include <random>

#include "rgflow/nn/symmetric_model.hpp"

namespace rgflow::nn {
namespace {

using MatrixD = Matrix<double>;

using testing::random_matrix;

double worst_change(const SymmetricModel<double>& model, const std::vector<Permutation>& group) {
  const MatrixD x = random_matrix(model.network().inputs(), 12, 2);
  const MatrixD reference = model.predict(x);
  double worst = 0;
  for (const auto& g : group) {
    MatrixD moved(x.rows(), x.cols());
    for (Eigen::Index s = 0; s < x.cols(); ++s)
      permute_block(g, x.col(s).data(), moved.col(s).data());
    worst = std::max(worst, (model.predict(moved) - reference).cwiseAbs().maxCoeff());
  }
  return worst;
}

TEST(Strategies, AveragingAndCanonicalisationAreExactlyInvariant) {
  for (int dim = 1; dim <= 3; ++dim) {
    ModelSpec spec;
    spec.block = {dim, dim == 3 ? 2 : 3};
    spec.hidden = {6, 5};
    std::vector<Permutation> all_sites;
    for (uint64_t i = 0; i < 10; ++i)
      all_sites.push_back(random_permutation(spec.block.sites(), 5, i));
    const auto points = point_group(spec.block);
    spec.strategy = Strategy::kAverage;
    EXPECT_LT(worst_change(SymmetricModel<double>(spec), points), 1e-12) << "d=" << dim;
    spec.strategy = Strategy::kCanonical;
    EXPECT_LT(worst_change(SymmetricModel<double>(spec), all_sites), 1e-12) << "d=" << dim;
    spec.strategy = Strategy::kNone;
    EXPECT_GT(worst_change(SymmetricModel<double>(spec), points), 1e-3) << "d=" << dim;
  }
}

double total_loss(SymmetricModel<double>& model, const MatrixD& x, const MatrixD& y,
                  const std::vector<uint64_t>& ids, const SymmetryPenalty& penalty,
                  std::vector<double>* gradient) {
  std::vector<double> scratch(static_cast<size_t>(model.network().parameter_count()), 0.0);
  const auto loss = model.loss_and_gradient(x, y, ids, 3, penalty, 10.0,
                                            gradient ? gradient->data() : scratch.data());
  return loss.mse + loss.penalty;
}

TEST(Strategies, LossGradientsMatchFiniteDifferences) {
  const std::vector<std::pair<Strategy, SymmetryPenalty>> cases{
      {Strategy::kNone, {}},
      {Strategy::kAugment, {}},
      {Strategy::kAverage, {}},
      {Strategy::kCanonical, {}},
      {Strategy::kRegularize, {0.2, 0.4, 0.6, 0.8, 0.5}},
  };
  int checked = 0;
  for (ModelKind kind : {ModelKind::kMlp, ModelKind::kGnn}) {
    for (const auto& activation : activation_names()) {
      for (const auto& tying : tying_names()) {
        for (const auto& [strategy, penalty] : cases) {
          ModelSpec spec;
          spec.kind = kind;
          spec.block = {2, 2};
          spec.hidden = {4, 4};  // square: symmetric tying applies
          spec.strategy = strategy;
          spec.activation = *parse_activation(activation);
          spec.tying = *parse_tying(tying);
          if (!spec.validate().empty()) continue;
          SymmetricModel<double> model(spec);
          // Off the zero biases, where relu units can sit on their kinks.
          for (Eigen::Index i = 0; i < model.network().parameter_count(); ++i) {
            model.network().parameters()[i] += 0.05 * std::cos(double(i));
          }
          const MatrixD x = random_matrix(4, 6, 7), y = random_matrix(1, 6, 8);
          std::vector<uint64_t> ids(6);
          std::iota(ids.begin(), ids.end(), 100);
          std::vector<double> analytic(static_cast<size_t>(model.network().parameter_count()), 0.0);
          total_loss(model, x, y, ids, penalty, &analytic);
          double difference = 0, norm = 0;
          for (Eigen::Index i = 0; i < model.network().parameter_count(); ++i) {
            double* p = model.network().parameters() + i;
            const double saved = *p;
            *p = saved + 1e-6;
            const double up = total_loss(model, x, y, ids, penalty, nullptr);
            *p = saved - 1e-6;
            const double down = total_loss(model, x, y, ids, penalty, nullptr);
            *p = saved;
            const double numeric = (up - down) / 2e-6;
            difference += std::pow(numeric - analytic[static_cast<size_t>(i)], 2);
            norm += numeric * numeric;
          }
          EXPECT_LT(std::sqrt(difference / norm), 1e-6)
              << model_kind_name(kind) << " " << activation << " " << tying << " "
              << strategy_name(strategy);
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, (6 + 4) * 9 * 5);  // mlp: 6 tyings, gnn: 4
}

TEST(Strategies, PenaltiesVanishForSymmetricModels) {
  // An inputs-tied linear model without bias is invariant, odd and homogeneous: every penalty 0.
  ModelSpec spec;
  spec.tying = Tying::kInputs;
  spec.activation = Activation::kIdentity;
  spec.bias = false;
  spec.strategy = Strategy::kRegularize;
  SymmetricModel<double> model(spec);
  const MatrixD x = random_matrix(4, 8, 1);
  const MatrixD y = model.predict(x);
  std::vector<uint64_t> ids(8);
  std::iota(ids.begin(), ids.end(), 0);
  std::vector<double> gradient(static_cast<size_t>(model.network().parameter_count()), 0.0);
  const auto loss = model.loss_and_gradient(x, y, ids, 0, {1, 1, 1, 1, 2}, 8, gradient.data());
  EXPECT_LT(loss.mse, 1e-28);
  EXPECT_LT(loss.penalty, 1e-28);
  // An untied tanh model pays for every symmetry.
  spec.tying = Tying::kNone;
  spec.activation = Activation::kTanh;
  spec.bias = true;
  SymmetricModel<double> untied(spec);
  // With its biases at their initial zero a tanh network is odd; move them off zero.
  for (Eigen::Index i = 0; i < untied.network().parameter_count(); ++i) {
    untied.network().parameters()[i] += 0.05 * std::sin(double(i));
  }
  gradient.assign(static_cast<size_t>(untied.network().parameter_count()), 0.0);
  for (const SymmetryPenalty& one :
       {SymmetryPenalty{1, 0, 0, 0, 2}, SymmetryPenalty{0, 1, 0, 0, 2},
        SymmetryPenalty{0, 0, 1, 0, 2}, SymmetryPenalty{0, 0, 0, 1, 2}}) {
    EXPECT_GT(untied.loss_and_gradient(x, y, ids, 0, one, 8, gradient.data()).penalty, 1e-6)
        << one.permutation << one.point_group << one.sign << one.scale;
  }
}

TEST(Strategies, AugmentationDrawsDependOnSampleIdsNotOnBatchSplit) {
  // The loss of a batch equals the sum of the losses of its halves with the same ids.
  ModelSpec spec;
  spec.strategy = Strategy::kAugment;
  SymmetricModel<double> model(spec);
  const MatrixD x = random_matrix(4, 10, 3), y = random_matrix(1, 10, 4);
  std::vector<uint64_t> ids(10);
  std::iota(ids.begin(), ids.end(), 50);
  std::vector<double> whole(static_cast<size_t>(model.network().parameter_count()), 0.0);
  std::vector<double> parts(whole.size(), 0.0);
  const SymmetryPenalty none;
  const double full = model.loss_and_gradient(x, y, ids, 2, none, 10, whole.data()).mse;
  const std::vector<uint64_t> first(ids.begin(), ids.begin() + 4),
      second(ids.begin() + 4, ids.end());
  const double split =
      model.loss_and_gradient(x.leftCols(4), y.leftCols(4), first, 2, none, 10, parts.data()).mse +
      model.loss_and_gradient(x.rightCols(6), y.rightCols(6), second, 2, none, 10, parts.data())
          .mse;
  EXPECT_NEAR(full, split, 1e-14);
  for (size_t i = 0; i < whole.size(); ++i) EXPECT_NEAR(whole[i], parts[i], 1e-13);
}

}  // namespace
}  // namespace rgflow::nn

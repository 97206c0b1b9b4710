// The analysis layer of rgflow analyze: grouped moments (rank-count independent), the
// generalisation plan (level pairs, held-out samples, notes), networks applied to whole fields
// (float32 against double, strategies), the learned levels, the tuple sums of the Monte Carlo and
// the propagation driver's jackknife.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "nn_test_util.hpp"
#include "rgflow/analysis/field_model.hpp"
#include "rgflow/analysis/generalisation.hpp"
#include "rgflow/analysis/grouped_moments.hpp"
#include "rgflow/analysis/jackknife.hpp"
#include "rgflow/analysis/model_propagation.hpp"
#include "rgflow/nn/symmetric_model.hpp"

namespace rgflow::analysis {
namespace {

using nn::Matrix;

std::vector<double> random_values(size_t count, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> uniform(-1.7, 1.7);
  std::vector<double> values(count);
  for (double& v : values) v = uniform(random);
  return values;
}

// Space groups: each group holds its slab of whole top-level block rows of every sample, the same
// region at every level, merged in sample order; any rank count gives the same bits.
TEST(GroupedMoments, SpaceGroupsHoldTheirSlabsOfEverySample) {
  const int64_t samples = 3, groups = 3, side0 = 12, side1 = 6;  // top level: 6 rows
  auto field = [](int64_t sample, int level) {
    return random_values(static_cast<size_t>(level == 0 ? side0 * side0 : side1 * side1),
                         static_cast<uint64_t>(sample * 10 + level));
  };
  auto add = [&](int64_t sample, LevelSink& sink) {
    for (int level = 0; level < 2; ++level) {
      const auto values = field(sample, level);
      sink.add(level, level == 0 ? side0 : side1, values.data(), values.size());
    }
  };
  GroupedMoments one(2, groups, 6, side1, samples);
  one.fill_owned(samples, 0, 1, add);
  for (int ranks = 2; ranks <= 4; ++ranks) {
    std::vector<double> sum(one.buffer().size(), 0.0);
    for (int rank = 0; rank < ranks; ++rank) {
      GroupedMoments part(2, groups, 6, side1, samples);
      part.fill_owned(samples, rank, ranks, add);
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += part.buffer()[i];
    }
    EXPECT_EQ(sum, one.buffer()) << ranks << " ranks";
  }
  // Group 1 = top rows 2 and 3: rows 4..7 of level 0 (12 values each), rows 2..3 of level 1.
  const auto by_level = one.by_level();
  for (int level = 0; level < 2; ++level) {
    const int64_t side = level == 0 ? side0 : side1, per_top_row = side / side1;
    CentralMoments direct(6);
    for (int64_t sample = 0; sample < samples; ++sample) {
      const auto values = field(sample, level);
      CentralMoments part(6);
      part.add(values.data() + 2 * per_top_row * side, static_cast<size_t>(2 * per_top_row * side));
      direct.merge(part);
    }
    EXPECT_EQ(by_level[static_cast<size_t>(level)][1].to_buffer(), direct.to_buffer());
    double count = 0;
    for (const auto& m : by_level[static_cast<size_t>(level)]) count += m.count();
    EXPECT_EQ(count, double(samples * side * side));  // every site in one group
  }
  EXPECT_THROW(GroupedMoments(2, 7, 6, side1, samples), std::invalid_argument);
}

// The space groups' jackknife errors are calibrated at a fine level and at the coarse level made
// from it: over independent seeds, the spread of kappa_2 and kappa_4 matches the typical error
// within a factor 1.5 (two samples, 16 groups).
TEST(GroupedMoments, SpaceGroupErrorsMatchTheSpreadOverSeeds) {
  const int seeds = 24, groups = 16;
  const int64_t side = 128, samples = 2;
  std::vector<std::vector<double>> values(4), errors(4);  // (level, kappa_2 / kappa_4)
  for (int seed = 0; seed < seeds; ++seed) {
    std::mt19937_64 random(500 + static_cast<uint64_t>(seed));
    std::uniform_real_distribution<double> uniform(-std::sqrt(3.0), std::sqrt(3.0));
    GroupedMoments table(2, groups, 4, side / 2, samples);
    table.fill_owned(samples, 0, 1, [&](int64_t, LevelSink& sink) {
      std::vector<double> fine(static_cast<size_t>(side * side)), coarse;
      for (double& x : fine) x = uniform(random);
      for (int64_t I = 0; I < side / 2; ++I)
        for (int64_t J = 0; J < side / 2; ++J)
          coarse.push_back(0.5 * (fine[static_cast<size_t>(2 * I * side + 2 * J)] +
                                  fine[static_cast<size_t>(2 * I * side + 2 * J + 1)] +
                                  fine[static_cast<size_t>((2 * I + 1) * side + 2 * J)] +
                                  fine[static_cast<size_t>((2 * I + 1) * side + 2 * J + 1)]));
      sink.add(0, side, fine.data(), fine.size());
      sink.add(1, side / 2, coarse.data(), coarse.size());
    });
    const auto by_level = table.by_level();
    for (int level = 0; level < 2; ++level) {
      const auto estimates = jackknife_cumulants(by_level[static_cast<size_t>(level)]);
      for (int k = 0; k < 2; ++k) {
        values[static_cast<size_t>(2 * level + k)].push_back(estimates[k == 0 ? 1 : 3].value);
        errors[static_cast<size_t>(2 * level + k)].push_back(estimates[k == 0 ? 1 : 3].error);
      }
    }
  }
  for (size_t i = 0; i < 4; ++i) {
    double mean = 0, square = 0, error = 0;
    for (double x : values[i]) mean += x / seeds;
    for (double x : values[i]) square += (x - mean) * (x - mean);
    for (double e : errors[i]) error += e / seeds;
    const double ratio = std::sqrt(square / (seeds - 1)) / error;
    EXPECT_GT(ratio, 1 / 1.5) << "level " << i / 2 << (i % 2 ? " kappa_4" : " kappa_2");
    EXPECT_LT(ratio, 1.5) << "level " << i / 2 << (i % 2 ? " kappa_4" : " kappa_2");
  }
}

TEST(GroupedMoments, SumOverRanksReproducesOneRankBitForBit) {
  const int64_t samples = 11, groups = 4;
  const int levels = 2;
  // value(sample, level): 50 values per sample and level.
  auto add = [](int64_t sample, LevelSink& sink) {
    for (int level = 0; level < 2; ++level) {
      const auto values = random_values(50, static_cast<uint64_t>(sample * 7 + level));
      sink.add(level, 50, values.data(), values.size());
    }
  };
  GroupedMoments one(levels, groups, 6);
  one.fill_owned(samples, 0, 1, add);
  for (int ranks = 2; ranks <= 3; ++ranks) {
    std::vector<double> sum(one.buffer().size(), 0.0);
    for (int rank = 0; rank < ranks; ++rank) {
      GroupedMoments part(levels, groups, 6);
      part.fill_owned(samples, rank, ranks, add);
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += part.buffer()[i];
    }
    EXPECT_EQ(sum, one.buffer()) << ranks << " ranks";
  }
  // Group g holds its own samples: its moments equal those of its values added directly.
  const auto by_level = one.by_level();
  ASSERT_EQ(by_level.size(), 2u);
  ASSERT_EQ(by_level[1].size(), 4u);
  const auto range = group_samples(samples, groups, 1);
  CentralMoments direct(6);
  for (int64_t s = range[0]; s < range[1]; ++s) {
    const auto values = random_values(50, static_cast<uint64_t>(s * 7 + 1));
    direct.add(values.data(), values.size());
  }
  EXPECT_EQ(by_level[1][1].to_buffer(), direct.to_buffer());
  // Groups cover the samples once, in order.
  int64_t next = 0;
  for (int64_t g = 0; g < groups; ++g) {
    const auto r = group_samples(samples, groups, g);
    EXPECT_EQ(r[0], next);
    next = r[1];
  }
  EXPECT_EQ(next, samples);
}

TEST(Generalisation, PlanUsesEachModelsLevelPairAndSaysWhyAnEntryIsMissing) {
  const std::vector<GeneralisationModel> models{
      {"held", 0, true, 90},   // trained on the data, samples 90..99 held out
      {"all", 0, true, 100},   // -val_fraction 0: nothing held out
      {"deep", 2, false, 10},  // trained on level 2 of another dataset
  };
  const GeneralisationData data{"data", 4, 100};
  const std::vector<GeneralisationData> tests{{"wide", 4, 8}, {"shallow", 2, 8}};
  const auto plan = plan_generalisation(models, data, tests);
  EXPECT_EQ(plan.tests,
            (std::vector<std::string>{"data", "wide", "shallow", "data_x2", "data_x0.5"}));
  const auto& held = plan.cells[0];
  EXPECT_EQ(held[0].first_sample, 90);
  EXPECT_EQ(held[0].count, 10);
  EXPECT_EQ(held[0].source, 0);
  EXPECT_EQ(held[1].source, 1);
  EXPECT_EQ(held[1].count, 8);
  EXPECT_EQ(held[2].source, 2);
  EXPECT_EQ(held[3].scale, 2.0);
  EXPECT_EQ(held[3].first_sample, 90);
  EXPECT_EQ(held[4].scale, 0.5);
  for (const auto& cell : held) EXPECT_TRUE(cell.note.empty()) << cell.note;
  const auto& all = plan.cells[1];
  for (size_t t : {0u, 3u, 4u}) {
    EXPECT_EQ(all[t].count, 0);
    EXPECT_NE(all[t].note.find("trained on every sample"), std::string::npos);
  }
  EXPECT_TRUE(all[1].note.empty());
  const auto& deep = plan.cells[2];
  for (const auto& cell : deep) EXPECT_EQ(cell.level, 2);
  EXPECT_EQ(deep[0].first_sample, 0);  // not trained on the data: every sample tests it
  EXPECT_EQ(deep[0].count, 100);
  EXPECT_TRUE(deep[1].note.empty());
  EXPECT_NE(deep[2].note.find("'shallow' has no level 3"), std::string::npos) << deep[2].note;
}

nn::Network<double> tanh_network(uint64_t seed, nn::Strategy strategy = nn::Strategy::kNone) {
  nn::ModelSpec spec;
  spec.block = {2, 2};
  spec.hidden = {16, 16};
  spec.activation = nn::Activation::kTanh;
  spec.strategy = strategy;
  spec.seed = seed;
  nn::Network<double> net(spec);
  // Parameters exactly representable in float32, as a float32 model read back as double is.
  for (Eigen::Index i = 0; i < net.parameter_count(); ++i) {
    net.parameters()[i] = static_cast<float>(net.parameters()[i] * 1.5);
  }
  return net;
}

// Blocks of a 2-D field of side L, b = 2, gathered here site by site: column p is coarse site p.
Matrix<double> blocks_of(const std::vector<double>& field, int64_t side) {
  const int64_t half = side / 2;
  Matrix<double> x(4, half * half);
  for (int64_t I = 0; I < half; ++I)
    for (int64_t J = 0; J < half; ++J)
      for (int p = 0; p < 2; ++p)
        for (int q = 0; q < 2; ++q)
          x(p * 2 + q, I * half + J) = field[static_cast<size_t>((2 * I + p) * side + 2 * J + q)];
  return x;
}

TEST(FieldModel, DoubleEqualsTheNetworkOnEveryBlockAndFloatAgreesTo1e6) {
  const int64_t side = 128;  // 4096 blocks: two batches
  const auto field = random_values(static_cast<size_t>(side * side), 3);
  for (auto strategy : {nn::Strategy::kNone, nn::Strategy::kAverage, nn::Strategy::kCanonical}) {
    const auto net = tanh_network(5, strategy);
    nn::SymmetricModel<double> reference(net.spec());
    std::copy(net.parameters(), net.parameters() + net.parameter_count(),
              reference.network().parameters());
    const Matrix<double> expected = reference.predict(blocks_of(field, side));
    FieldModel<double> in_double(net);
    std::vector<double> out;
    in_double.coarse_grain(2, side, field.data(), out);
    ASSERT_EQ(out.size(), static_cast<size_t>(expected.cols()));
    double scale = 0;
    for (size_t p = 0; p < out.size(); ++p) {
      EXPECT_NEAR(out[p], expected(0, static_cast<Eigen::Index>(p)), 1e-13) << p;
      scale = std::max(scale, std::abs(out[p]));
    }
    // The float32 kernels on the float32 field: stated accuracy 1e-6 relative to the largest
    // output (float32 rounding of inputs, weights and every intermediate).
    std::vector<float> single_field(field.begin(), field.end());
    FieldModel<float> in_float(net);
    std::vector<float> single;
    in_float.coarse_grain(2, side, single_field.data(), single);
    double worst = 0;
    for (size_t p = 0; p < out.size(); ++p) {
      worst = std::max(worst, std::abs(double(single[p]) - out[p]));
    }
    EXPECT_LT(worst, 1e-6 * scale) << nn::strategy_name(strategy);
    EXPECT_GT(worst, 0.0);  // it really ran in float32
  }
  EXPECT_EQ(analysis_precision("float32", "float32"), "float32");
  EXPECT_EQ(analysis_precision("float32", "float64"), "float64");
  EXPECT_EQ(analysis_precision("float64", "float32"), "float64");
}

// y = (1/2) sum of the block: the CLT map for d = 2, b = 2, as a linear network (W0 = [1/2 ...],
// W1 = [1], no biases).
nn::Network<double> clt_linear_network() {
  nn::ModelSpec spec;
  spec.block = {2, 2};
  spec.hidden = {1};
  spec.activation = nn::Activation::kIdentity;
  spec.bias = false;
  nn::Network<double> net(spec);
  for (Eigen::Index i = 0; i < net.parameter_count(); ++i) net.parameters()[i] = 0;
  const Eigen::Index weights = net.weight(0).size();
  for (Eigen::Index i = 0; i < weights; ++i) net.parameters()[i] = 0.5;
  net.parameters()[weights] = 1.0;
  return net;
}

TEST(Generalisation, SquaredErrorAndLearnedLevelsOfTheExactLinearMap) {
  const nn::Network<double> net = clt_linear_network();
  ASSERT_EQ(net.weight(1)(0, 0), 1.0);
  const int64_t side = 16;
  const auto fine = random_values(256, 9);
  std::vector<double> coarse(64);
  for (int64_t I = 0; I < 8; ++I)
    for (int64_t J = 0; J < 8; ++J)
      coarse[static_cast<size_t>(I * 8 + J)] =
          0.5 * (fine[static_cast<size_t>(2 * I * 16 + 2 * J)] +
                 fine[static_cast<size_t>(2 * I * 16 + 2 * J + 1)] +
                 fine[static_cast<size_t>((2 * I + 1) * 16 + 2 * J)] +
                 fine[static_cast<size_t>((2 * I + 1) * 16 + 2 * J + 1)]);
  FieldModel<double> model(net);
  EXPECT_LT(sample_squared_error(model, 2, side, fine.data(), coarse.data(), 1.0), 1e-26);
  EXPECT_LT(sample_squared_error(model, 2, side, fine.data(), coarse.data(), 2.0), 1e-26);
  // Against targets shifted by 0.1: 64 residuals of 0.1.
  std::vector<double> shifted(coarse);
  for (double& v : shifted) v += 0.1;
  EXPECT_NEAR(sample_squared_error(model, 2, side, fine.data(), shifted.data(), 1.0), 0.64, 1e-12);
  EXPECT_NEAR(mean_squared_error({0.64, 0.0}, 64), 0.005, 1e-15);
  EXPECT_TRUE(std::isnan(mean_squared_error({}, 64)));
  // Learned levels: row 0 the field, row 1 its block map, row 2 the map applied twice.
  GroupedMoments table(3, 1, 4);
  table.fill_owned(1, 0, 1, [&](int64_t, LevelSink& sink) {
    add_learned_levels(model, 2, side, 2, fine, 3, sink);
  });
  std::vector<CentralMoments> levels;
  for (const auto& level : table.by_level()) levels.push_back(level[0]);
  CentralMoments first(4);
  first.add(coarse.data(), coarse.size());
  EXPECT_EQ(levels[0].count(), 256);
  EXPECT_EQ(levels[1].count(), 64);
  EXPECT_EQ(levels[2].count(), 16);
  EXPECT_NEAR(levels[1].mean(), first.mean(), 1e-15);
  EXPECT_NEAR(levels[1].central_sum(2), first.central_sum(2), 1e-12);
  // The exact value at level k of a flow that starts there: lambda_4^k kappa_4.
  const auto exact =
      exact_cumulant_at_level([](int n) { return n == 4 ? -1.2 : 0.0; }, 2, 4, 2, 1.0);
  EXPECT_NEAR(exact(4), -1.2 / 16, 1e-15);
}

TEST(Propagation, TupleSumsEqualTheProductsSummedDirectly) {
  const Matrix<double> units = nn::testing::random_matrix(5, 37, 11);
  std::vector<double> sums;
  add_tuple_sums(units, 4, sums);
  const auto tuples = sorted_tuples(5, 4);
  ASSERT_EQ(sums.size(), tuples.size());
  for (size_t k = 0; k < tuples.size(); ++k) {
    double expected = 0;
    for (Eigen::Index s = 0; s < units.cols(); ++s) {
      double product = 1;
      for (int a : tuples[k]) product *= units(a, s);
      expected += product;
    }
    EXPECT_NEAR(sums[k], expected, 1e-12 * (1 + std::abs(expected))) << k;
  }
}

TEST(Propagation, MonteCarloOfTheExactLinearMapMatchesItsOwnCumulantsAndJackknife) {
  // A linear network y = (1/2) sum of the block on i.i.d. uniform data: the Monte Carlo output
  // cumulants equal the cumulants of the outputs computed directly, and the driver's errors are
  // the delete-one jackknife over groups of those outputs.
  const nn::Network<double> net = clt_linear_network();
  PropagationData data;
  data.geometry = {2, 16, 2, 1};
  data.distribution.kind = field::DistributionKind::kUniform;
  data.samples = 6;
  PropagationOptions options;
  options.blocks = 6 * 64;  // every block of every sample
  const int64_t groups = 3;
  auto field_of = [](int64_t sample) { return random_values(256, 100 + uint64_t(sample)); };
  // Rows of top-level blocks (2 x 16 sites each) of a sample, as the Monte Carlo reads them.
  auto read_rows = [&](int64_t s, int64_t first, int64_t rows, std::vector<double>& f) {
    const auto field = field_of(s);
    f.assign(field.begin() + first * 32, field.begin() + (first + rows) * 32);
  };
  ModelPropagation one(net, 0, data, options, groups);
  ASSERT_FALSE(one.skipped());
  ASSERT_EQ(one.mode_count(), 1u);  // exact
  one.predict(0);
  one.prepare_monte_carlo();
  one.fill_owned_groups(0, 1, read_rows);
  // Two ranks: the prediction made by one, handed to the other as bytes.
  ModelPropagation two_a(net, 0, data, options, groups), two_b(net, 0, data, options, groups);
  two_a.predict(0);
  two_b.set_prediction(0, two_a.prediction_bytes(0));
  EXPECT_EQ(two_b.prediction_bytes(0), one.prediction_bytes(0));
  two_a.prepare_monte_carlo();
  two_b.prepare_monte_carlo();
  two_a.fill_owned_groups(0, 2, read_rows);
  two_b.fill_owned_groups(1, 2, read_rows);
  for (size_t i = 0; i < two_a.buffer().size(); ++i) two_a.buffer()[i] += two_b.buffer()[i];
  EXPECT_EQ(two_a.buffer(), one.buffer());
  // Four ranks, the groups dealt from rank 2 on (as after an earlier model's groups): ranks 2, 3
  // and 0 own one group each, rank 1 none; the same sums.
  std::vector<double> four(one.buffer().size(), 0.0);
  for (int rank = 0; rank < 4; ++rank) {
    ModelPropagation part(net, 0, data, options, groups);
    part.set_prediction(0, two_a.prediction_bytes(0));
    part.prepare_monte_carlo();
    part.fill_owned_groups(rank, 4, read_rows, 2);
    const bool owns =
        std::any_of(part.buffer().begin(), part.buffer().end(), [](double v) { return v != 0; });
    EXPECT_EQ(owns, rank != 1) << rank;
    for (size_t i = 0; i < four.size(); ++i) four[i] += part.buffer()[i];
  }
  EXPECT_EQ(four, one.buffer());
  const PropagationReport report = one.finish();
  EXPECT_EQ(report.blocks, 6 * 64);
  // Direct: the outputs of each group, cumulants of all and with each group left out.
  FieldModel<double> model(net);
  std::vector<CentralMoments> by_group;
  for (int64_t g = 0; g < groups; ++g) {
    CentralMoments m(4);
    const auto range = group_samples(6, groups, g);
    for (int64_t s = range[0]; s < range[1]; ++s) {
      std::vector<double> out;
      const auto f = field_of(s);
      model.coarse_grain(2, 16, f.data(), out);
      m.add(out.data(), out.size());
    }
    by_group.push_back(m);
  }
  const auto expected = jackknife_cumulants(by_group);
  for (size_t n = 0; n < 4; ++n) {
    EXPECT_NEAR(report.output_mc[n], expected[n].value, 1e-12) << "kappa_" << n + 1;
    EXPECT_NEAR(report.output_mc_error[n], expected[n].error, 1e-10) << "kappa_" << n + 1;
  }
}

}  // namespace
}  // namespace rgflow::analysis

// rgflow analyze (dataset part): identical results on any rank count, cumulants against the exact
// values, and bad inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "e2e_util.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/io/model_file.hpp"
#include "rgflow/nn/network.hpp"

namespace rgflow::e2e {
namespace {

std::string text_attribute(const std::string& path, const std::string& object,
                           const std::string& name) {
  h5::Hid file = h5::file_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  h5::Hid group = h5::Hid(H5Oopen(file.get(), object.c_str(), H5P_DEFAULT), H5Oclose);
  return h5::read_string_attribute(group.get(), name);
}

int64_t int_attribute(const std::string& path, const std::string& object, const std::string& name) {
  h5::Hid file = h5::file_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  h5::Hid group = h5::Hid(H5Oopen(file.get(), object.c_str(), H5P_DEFAULT), H5Oclose);
  return h5::read_int_attribute(group.get(), name);
}

// The mean squared error of a model on level `level` -> level + 1 of samples [first, end) of a
// float64 dataset, computed here from the files alone: the blocks gathered site by site, the
// network applied by nn::Network<double> (a d = 2, b = 2 dataset).
double independent_mse(const std::string& model_path, const std::string& data_path, int level,
                       int64_t first) {
  h5::Hid model_file = h5::open_read_only(model_path);
  const nn::Network<double> net = io::read_model<double>(model_file.get(), model_path, true);
  const std::string fine_name = "/level_" + std::to_string(level) + "/field";
  const std::string coarse_name = "/level_" + std::to_string(level + 1) + "/field";
  const auto fine = table(data_path, fine_name), coarse = table(data_path, coarse_name);
  const int64_t samples = int_attribute(data_path, "/", "n_samples");
  const int64_t side = int_attribute(data_path, "/level_" + std::to_string(level), "L_k");
  const int64_t half = side / 2;
  double sum = 0;
  int64_t count = 0;
  for (int64_t s = first; s < samples; ++s) {
    nn::Matrix<double> x(4, half * half);
    for (int64_t I = 0; I < half; ++I) {
      for (int64_t J = 0; J < half; ++J) {
        for (int p = 0; p < 2; ++p) {
          for (int q = 0; q < 2; ++q) {
            x(p * 2 + q, I * half + J) =
                fine[static_cast<size_t>((s * side + 2 * I + p) * side + 2 * J + q)];
          }
        }
      }
    }
    nn::Network<double>::Tape tape;
    net.forward(x, tape);
    for (int64_t c = 0; c < half * half; ++c, ++count) {
      const double r = tape.output(0, c) - coarse[static_cast<size_t>(s * half * half + c)];
      sum += r * r;
    }
  }
  return sum / double(count);
}

TEST(Analyze, ResultsAreIdenticalOnOneToFourRanks) {
  TempFolder folder;
  const std::string data = folder.file("data.h5");
  ASSERT_EQ(
      run_rgflow(2, "generate -quiet -L 64 -levels 3 -samples 24 -distribution laplace -o " + data)
          .status,
      0);
  const std::string reference = folder.file("r1.h5");
  auto result = run_rgflow(1, "analyze -quiet -data " + data + " -o " + reference);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(file_exists(folder.file("r1_cumulants.csv")));
  for (int ranks = 2; ranks <= 4; ++ranks) {
    const std::string output = folder.file("r" + std::to_string(ranks) + ".h5");
    result = run_rgflow(ranks, "analyze -quiet -data " + data + " -o " + output);
    ASSERT_EQ(result.status, 0) << result.err;
    for (const std::string name :
         {"/cumulants/kappa", "/cumulants/kappa_error", "/cumulants/eigenvalue"}) {
      EXPECT_EQ(table(output, name), table(reference, name)) << name << " on " << ranks << " ranks";
    }
  }
}

// Fewer samples than jackknife groups: the groups are slabs of top-level block rows (the default
// -jackknife auto picks them, and says so in results.h5), the results are identical on 1 and 3
// ranks, and the cumulants agree with the exact recursion within their errors. Asking for sample
// groups, or more groups than the top level has rows, is refused in one line with no output.
TEST(Analyze, FewSamplesUseSpaceGroupsIdenticallyOnAnyRankCount) {
  TempFolder folder;
  const std::string data = folder.file("few.h5");
  ASSERT_EQ(run_rgflow(2, "generate -quiet -L 128 -levels 3 -samples 3 -seed 4 -o " + data).status,
            0);  // top level: 16 rows of blocks, 16 groups by default
  const std::string reference = folder.file("r1.h5");
  auto result = run_rgflow(1, "analyze -quiet -data " + data + " -o " + reference);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(text_attribute(reference, "/", "jackknife"), "space");
  const std::string three = folder.file("r3.h5");
  result = run_rgflow(3, "analyze -quiet -data " + data + " -o " + three);
  ASSERT_EQ(result.status, 0) << result.err;
  for (const std::string name : {"/cumulants/kappa", "/cumulants/kappa_error", "/cumulants/z_exact",
                                 "/cumulants/eigenvalue"}) {
    EXPECT_EQ(table(three, name), table(reference, name)) << name;
  }
  const auto z = table(reference, "/cumulants/z_exact");
  int finite = 0;
  for (double v : z) {
    if (!std::isfinite(v)) continue;
    ++finite;
    EXPECT_LT(std::abs(v), 4.5);
  }
  EXPECT_GT(finite, 20);
  for (const std::string& options :
       {std::string("-jackknife samples"), std::string("-groups 17")}) {
    const std::string refused = folder.file("refused.h5");
    result = run_rgflow(2, "analyze -quiet -data " + data + " " + options + " -o " + refused);
    EXPECT_NE(result.status, 0) << options;
    const auto lines = result.rgflow_error_lines();
    ASSERT_EQ(lines.size(), 1u) << options << ": " << result.err;
    EXPECT_NE(lines[0].find("option -groups"), std::string::npos) << lines[0];
    EXPECT_FALSE(file_exists(refused)) << options;
  }
}

TEST(Analyze, CumulantsAgreeWithExactValuesForEveryDistribution) {
  TempFolder folder;
  for (const std::string distribution :
       {"gaussian", "uniform", "rademacher", "laplace", "exponential", "gamma"}) {
    const std::string data = folder.file(distribution + ".h5");
    const std::string extra = distribution == "gamma" ? " -gamma_shape 3" : "";
    ASSERT_EQ(run_rgflow(2,
                         "generate -quiet -L 128 -levels 2 -samples 32 -seed 21 -dtype float64 "
                         "-distribution " +
                             distribution + extra + " -o " + data)
                  .status,
              0);
    const std::string output = folder.file(distribution + "_r.h5");
    ASSERT_EQ(run_rgflow(2, "analyze -quiet -data " + data + " -o " + output).status, 0);
    const auto kappa = table(output, "/cumulants/kappa");
    const auto error = table(output, "/cumulants/kappa_error");
    const auto exact = table(output, "/cumulants/exact");
    for (int level = 0; level <= 2; ++level) {
      for (int n = 2; n <= 6; ++n) {
        const size_t i = static_cast<size_t>(level * 8 + n - 1);
        EXPECT_NEAR(kappa[i], exact[i], 4 * error[i])
            << distribution << " level " << level << " kappa_" << n;
      }
    }
  }
}

TEST(Analyze, ModelsGeneraliseAsExpectedAndLearnedFlows) {
  TempFolder folder;
  const std::string data = folder.file("uniform.h5"), other = folder.file("laplace.h5");
  ASSERT_EQ(
      run_rgflow(2, "generate -quiet -L 64 -levels 3 -samples 32 -seed 5 -dtype float64 -o " + data)
          .status,
      0);
  ASSERT_EQ(run_rgflow(2,
                       "generate -quiet -L 64 -levels 3 -samples 16 -seed 6 -dtype float64 "
                       "-distribution laplace -o " +
                           other)
                .status,
            0);
  const std::string linear = folder.file("linear.h5"), tanh = folder.file("tanh.h5");
  ASSERT_EQ(run_rgflow(
                2, "train -quiet -data " + data +
                       " -hidden 2 -activation identity -tying "
                       "inputs -dtype float64 -epochs 10 -batch 64 -lr 0.003 -schedule cosine -o " +
                       linear)
                .status,
            0);
  ASSERT_EQ(
      run_rgflow(2, "train -quiet -data " + data + " -hidden 16,16 -epochs 2 -batch 64 -o " + tanh)
          .status,
      0);
  const std::string models = " -models " + linear + "," + tanh + " -eval_data " + other;
  const std::string reference = folder.file("r1.h5");
  auto result =
      run_rgflow(1, "analyze -quiet -data " + data + models + " -groups 8 -o " + reference);
  ASSERT_EQ(result.status, 0) << result.err;
  // Columns: data (held-out), laplace, data_x2, data_x0.5.
  const auto mse = table(reference, "/generalisation/mse");
  ASSERT_EQ(mse.size(), 8u);
  for (size_t t = 0; t < 4; ++t) EXPECT_LT(mse[t], 1e-10) << "the exact linear map, test " << t;
  EXPECT_LT(mse[4], 1e-2);         // tanh fits its own distribution,
  EXPECT_GT(mse[5], 2 * mse[4]);   // drifts on another one
  EXPECT_GT(mse[6], 10 * mse[4]);  // and on larger inputs.
  // The linear model's learned flow is the data's own flow.
  const auto data_kappa = table(reference, "/cumulants/kappa");
  const auto learned = table(reference, "/flow/linear/kappa");
  for (int level = 0; level <= 3; ++level) {
    for (int n : {2, 4}) {
      const size_t i = static_cast<size_t>(level * 8 + n - 1);
      EXPECT_NEAR(learned[i], data_kappa[i], 1e-6 + 1e-5 * std::abs(data_kappa[i]))
          << "level " << level << " kappa_" << n;
    }
  }
  EXPECT_TRUE(file_exists(folder.file("r1_generalisation.csv")));
  // Symmetry metrics: the tied linear model is invariant, the untied tanh model is not; the
  // order parameter's course over training comes from the model's /history (one row per epoch).
  {
    h5::Hid file = h5::file_id(H5Fopen(reference.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    h5::Hid tied = h5::group_id(H5Gopen2(file.get(), "/symmetry/linear", H5P_DEFAULT));
    h5::Hid untied = h5::group_id(H5Gopen2(file.get(), "/symmetry/tanh", H5P_DEFAULT));
    EXPECT_LT(h5::read_double_attribute(tied.get(), "output_error_permutation"), 1e-20);
    EXPECT_GT(h5::read_double_attribute(untied.get(), "output_error_permutation"), 1e-8);
  }
  EXPECT_EQ(table(reference, "/symmetry/tanh/order_parameter_history").size(), 2u * 3u);
  const auto fraction = table(reference, "/symmetry/linear/invariant_fraction");
  ASSERT_EQ(fraction.size(), 1u);
  EXPECT_NEAR(fraction[0], 1.0, 1e-12);
  // The same table on three ranks, to the last bit.
  const std::string three = folder.file("r3.h5");
  ASSERT_EQ(
      run_rgflow(3, "analyze -quiet -data " + data + models + " -groups 8 -o " + three).status, 0);
  EXPECT_EQ(table(three, "/generalisation/mse"), mse);
  EXPECT_EQ(table(three, "/flow/tanh/kappa"), table(reference, "/flow/tanh/kappa"));
  // Cumulant propagation: the exact mode's prediction for the exact linear model agrees with the
  // Monte Carlo estimate from its own outputs (the level-1 cumulants of uniform data:
  // kappa_2 = 1, kappa_4 = -1.2 / 4), and its effective weights give sum_i w_i^n = N^(1-n/2).
  const auto predicted = table(reference, "/propagation/linear/output_exact");
  const auto monte_carlo = table(reference, "/propagation/linear/output_mc");
  ASSERT_EQ(predicted.size(), 4u);
  ASSERT_EQ(monte_carlo.size(), 8u);  // kappa_1..4, then their errors
  EXPECT_NEAR(predicted[1], 1.0, 1e-4);
  EXPECT_NEAR(predicted[3], -0.3, 1e-4);
  for (size_t n : {1u, 3u}) {
    EXPECT_NEAR(predicted[n], monte_carlo[n], 4 * monte_carlo[4 + n]) << "kappa_" << n + 1;
  }
  const auto diagnostic = table(reference, "/propagation/linear/linear_diagnostic");
  ASSERT_EQ(diagnostic.size(), 16u);
  for (size_t n = 0; n < 8; ++n) EXPECT_NEAR(diagnostic[n], diagnostic[8 + n], 1e-5) << n + 1;
  // The tanh model gets both closures, every layer compared; the same numbers on three ranks.
  EXPECT_EQ(table(reference, "/propagation/tanh/relative_error_taylor").size(), 3u * 4u);
  EXPECT_EQ(table(reference, "/propagation/tanh/relative_error_gauss").size(), 3u * 4u);
  for (const std::string name : {"marginal_mc", "marginal_mc_error", "output_taylor",
                                 "output_gauss", "relative_error_gauss", "mc_relative_error"}) {
    EXPECT_EQ(table(three, "/propagation/tanh/" + name),
              table(reference, "/propagation/tanh/" + name))
        << name;
  }
  EXPECT_EQ(table(three, "/propagation/linear/output_exact"), predicted);
  EXPECT_TRUE(file_exists(folder.file("r1_propagation.csv")));
  // A model for other blocks is refused.
  const std::string line = folder.file("line.h5"), line_model = folder.file("line_model.h5");
  ASSERT_EQ(run_rgflow(1, "generate -quiet -d 1 -L 64 -levels 1 -samples 8 -o " + line).status, 0);
  ASSERT_EQ(run_rgflow(
                1, "train -quiet -data " + line + " -hidden 2 -epochs 1 -batch 16 -o " + line_model)
                .status,
            0);
  result = run_rgflow(2, "analyze -quiet -data " + data + " -models " + line_model + " -o " +
                             folder.file("bad.h5"));
  EXPECT_NE(result.status, 0);
  ASSERT_EQ(result.rgflow_error_lines().size(), 1u) << result.err;
  EXPECT_NE(result.rgflow_error_lines()[0].find("works on blocks of side 2 in 1D"),
            std::string::npos);
}

// Test sets of another side than -data: each read with its own geometry (a 16x16 set read with
// the data's 64x64 geometry ran past its buffer, a 128x128 one used part of each sample); the MSE
// equals the model applied here to each file's own blocks.
TEST(Analyze, TestSetsOfAnySideAreReadWithTheirOwnGeometry) {
  TempFolder folder;
  const std::string data = folder.file("data.h5"), small = folder.file("small.h5"),
                    large = folder.file("large.h5"), model = folder.file("tanh.h5");
  ASSERT_EQ(
      run_rgflow(2, "generate -quiet -L 64 -levels 2 -samples 8 -seed 3 -dtype float64 -o " + data)
          .status,
      0);
  ASSERT_EQ(run_rgflow(2,
                       "generate -quiet -L 16 -levels 2 -samples 4 -seed 4 -dtype float64 "
                       "-distribution laplace -o " +
                           small)
                .status,
            0);
  ASSERT_EQ(run_rgflow(2,
                       "generate -quiet -L 128 -levels 2 -samples 4 -seed 5 -dtype float64 "
                       "-distribution laplace -o " +
                           large)
                .status,
            0);
  ASSERT_EQ(
      run_rgflow(2, "train -quiet -data " + data + " -hidden 8 -epochs 1 -batch 64 -o " + model)
          .status,
      0);
  const std::string output = folder.file("r.h5");
  const auto result =
      run_rgflow(2, "analyze -quiet -groups 2 -propagation none -data " + data + " -models " +
                        model + " -eval_data " + small + "," + large + " -o " + output);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(text_attribute(output, "/generalisation", "test_sets"),
            "data,small,large,data_x2,data_x0.5");
  const auto mse = table(output, "/generalisation/mse");
  ASSERT_EQ(mse.size(), 5u);
  for (double v : mse) EXPECT_TRUE(std::isfinite(v));
  EXPECT_NEAR(mse[1], independent_mse(model, small, 0, 0), 1e-12 * mse[1]);
  EXPECT_NEAR(mse[2], independent_mse(model, large, 0, 0), 1e-12 * mse[2]);
  // The held-out samples of the data (val_fraction 0.1 of 8: the last one).
  EXPECT_NEAR(mse[0], independent_mse(model, data, 0, 7), 1e-12 * mse[0]);
}

// A model trained on level 1 -> 2 is tested on that pair (its `data` column equals its own
// validation loss), its flow starts at the data's level 1, and a test set without level 2 gets
// NaN with a note.
TEST(Analyze, ModelsAreTestedOnTheirOwnLevelPair) {
  TempFolder folder;
  const std::string data = folder.file("data.h5"), shallow = folder.file("shallow.h5"),
                    model = folder.file("level1.h5");
  ASSERT_EQ(
      run_rgflow(2, "generate -quiet -L 64 -levels 3 -samples 10 -seed 3 -dtype float64 -o " + data)
          .status,
      0);
  ASSERT_EQ(run_rgflow(1, "generate -quiet -L 32 -levels 1 -samples 4 -seed 4 -dtype float64 -o " +
                              shallow)
                .status,
            0);
  ASSERT_EQ(run_rgflow(2, "train -quiet -data " + data +
                              " -level 1 -hidden 8 -dtype float64 -epochs 2 -batch 64 -o " + model)
                .status,
            0);
  const std::string output = folder.file("r.h5");
  const auto result = run_rgflow(2, "analyze -quiet -groups 2 -data " + data + " -models " + model +
                                        " -eval_data " + shallow + " -o " + output);
  ASSERT_EQ(result.status, 0) << result.err;
  const auto mse = table(output, "/generalisation/mse");
  ASSERT_EQ(mse.size(), 4u);  // data, shallow, data_x2, data_x0.5
  const auto val_loss = table(model, "/history/val_loss");
  EXPECT_NEAR(mse[0], val_loss.back(), 1e-9 * val_loss.back());
  EXPECT_NEAR(mse[0], independent_mse(model, data, 1, 9), 1e-12 * mse[0]);
  EXPECT_TRUE(std::isnan(mse[1]));
  EXPECT_NE(text_attribute(output, "/generalisation", "notes")
                .find("level1/shallow: 'shallow' has no level 2"),
            std::string::npos);
  EXPECT_TRUE(std::isfinite(mse[2]) && std::isfinite(mse[3]));
  // The learned flow: row 0 is the data's level 1, rows 1..2 the model's levels 2 and 3.
  EXPECT_EQ(int_attribute(output, "/flow/level1", "first_level"), 1);
  const auto learned = table(output, "/flow/level1/kappa");
  const auto data_kappa = table(output, "/cumulants/kappa");
  ASSERT_EQ(learned.size(), 3u * 8u);
  for (size_t n = 0; n < 8; ++n) EXPECT_EQ(learned[n], data_kappa[8 + n]) << n;
  // Its exact column is the recursion at levels 1, 2, 3: kappa_4 = -1.2 / 4^k.
  const auto exact = table(output, "/flow/level1/exact");
  for (int row = 0; row < 3; ++row) {
    EXPECT_NEAR(exact[static_cast<size_t>(row * 8 + 3)], -1.2 / std::pow(4.0, row + 1), 1e-12);
  }
}

// -val_fraction 0 leaves nothing held out of the data: the data columns are NaN with a note,
// never 0; the other test sets keep their values. Train refuses it together with -patience.
TEST(Analyze, NothingHeldOutGivesNaNWithANote) {
  TempFolder folder;
  const std::string data = folder.file("data.h5"), other = folder.file("other.h5"),
                    model = folder.file("all.h5");
  ASSERT_EQ(run_rgflow(2, "generate -quiet -L 32 -levels 2 -samples 6 -seed 3 -o " + data).status,
            0);
  ASSERT_EQ(run_rgflow(2, "generate -quiet -L 32 -levels 2 -samples 4 -seed 4 -o " + other).status,
            0);
  ASSERT_EQ(run_rgflow(2, "train -quiet -data " + data +
                              " -val_fraction 0 -hidden 4 -epochs 1 -batch 64 -o " + model)
                .status,
            0);
  const std::string output = folder.file("r.h5");
  // The data named by another path to the same file is still the training data.
  const std::string same_data = folder.path() + "/./data.h5";
  const auto result = run_rgflow(2, "analyze -quiet -groups 2 -data " + same_data + " -models " +
                                        model + " -eval_data " + other + " -o " + output);
  ASSERT_EQ(result.status, 0) << result.err;
  const auto mse = table(output, "/generalisation/mse");
  ASSERT_EQ(mse.size(), 4u);
  EXPECT_TRUE(std::isnan(mse[0]));
  EXPECT_TRUE(std::isfinite(mse[1]) && mse[1] > 0);
  EXPECT_TRUE(std::isnan(mse[2]));
  EXPECT_TRUE(std::isnan(mse[3]));
  const std::string notes = text_attribute(output, "/generalisation", "notes");
  for (const std::string column : {"all/data:", "all/data_x2:", "all/data_x0.5:"}) {
    EXPECT_NE(notes.find(column + " 'all' was trained on every sample of the data"),
              std::string::npos)
        << notes;
  }
  const auto refused =
      run_rgflow(1, "train -quiet -data " + data + " -val_fraction 0 -patience 1 -o " +
                        folder.file("refused.h5"));
  EXPECT_EQ(refused.status, 1);
  ASSERT_EQ(refused.rgflow_error_lines().size(), 1u) << refused.err;
  EXPECT_NE(refused.rgflow_error_lines()[0].find("-patience and -val_fraction 0"),
            std::string::npos);
}

// Exact cumulants of every order up to 12 (docs/science.md section 2): gaussian kappa_9..12 = 0,
// uniform kappa_10 = (2 sqrt3)^10 B_10 / 10 with B_10 = 5/66.
TEST(Analyze, ExactCumulantsUpToOrderTwelve) {
  TempFolder folder;
  for (const std::string distribution : {"gaussian", "uniform"}) {
    const std::string data = folder.file(distribution + ".h5");
    ASSERT_EQ(run_rgflow(1, "generate -quiet -L 16 -levels 1 -samples 4 -distribution " +
                                distribution + " -o " + data)
                  .status,
              0);
    const std::string output = folder.file(distribution + "_r.h5");
    const auto result =
        run_rgflow(1, "analyze -quiet -order 12 -groups 2 -data " + data + " -o " + output);
    ASSERT_EQ(result.status, 0) << result.err;
    const auto exact = table(output, "/cumulants/exact");
    ASSERT_EQ(exact.size(), 2u * 12u);
    if (distribution == "gaussian") {
      for (size_t n = 9; n <= 12; ++n) EXPECT_EQ(exact[n - 1], 0.0) << "kappa_" << n;
    } else {
      const double kappa10 = std::pow(12.0, 5) * (5.0 / 66.0) / 10.0;
      EXPECT_NEAR(exact[9], kappa10, 1e-9 * kappa10);
      EXPECT_NEAR(exact[12 + 9], kappa10 * std::pow(4.0, 1 - 5), 1e-9 * kappa10);
    }
  }
}

// Every rank-local phase: a failure on rank 1 ends both ranks with one line, exit status 1, no
// results file, no hang (run_rgflow bounds the run by a timeout).
TEST(Analyze, AFailureInAnyPhaseOnOneRankEndsEveryRank) {
  TempFolder folder;
  const std::string data = folder.file("data.h5"), other = folder.file("other.h5"),
                    model = folder.file("m.h5");
  ASSERT_EQ(run_rgflow(2, "generate -quiet -L 16 -levels 2 -samples 4 -o " + data).status, 0);
  ASSERT_EQ(run_rgflow(1, "generate -quiet -L 16 -levels 2 -samples 4 -seed 9 -o " + other).status,
            0);
  ASSERT_EQ(
      run_rgflow(1, "train -quiet -data " + data + " -hidden 2 -epochs 1 -batch 16 -o " + model)
          .status,
      0);
  for (const std::string phase : {"inputs", "cumulants", "generalisation", "flows", "propagation",
                                  "monte carlo", "symmetry", "write"}) {
    const std::string output = folder.file("r.h5");
    setenv("RGFLOW_INJECT_FAILURE", ("analyze: " + phase + "@1").c_str(), 1);
    const auto result = run_rgflow(2, "analyze -quiet -groups 2 -data " + data + " -models " +
                                          model + " -eval_data " + other + " -o " + output);
    unsetenv("RGFLOW_INJECT_FAILURE");
    EXPECT_EQ(result.status, 1) << phase << "\n" << result.err;
    const auto lines = result.rgflow_error_lines();
    ASSERT_EQ(lines.size(), 1u) << phase << "\n" << result.err;
    EXPECT_NE(lines[0].find("injected failure in analyze: " + phase + " on rank 1"),
              std::string::npos)
        << lines[0];
    EXPECT_FALSE(file_exists(output)) << phase;
    EXPECT_FALSE(file_exists(output + ".partial")) << phase;
  }
  for (const std::string phase : {"inputs", "cumulants"}) {
    setenv("RGFLOW_INJECT_FAILURE", ("info: " + phase + "@1").c_str(), 1);
    const auto result = run_rgflow(2, "info -groups 2 -data " + data);
    unsetenv("RGFLOW_INJECT_FAILURE");
    EXPECT_EQ(result.status, 1) << phase << "\n" << result.err;
    ASSERT_EQ(result.rgflow_error_lines().size(), 1u) << phase << "\n" << result.err;
  }
}

// Two models of the same file name would collide in the results: refused before any work.
TEST(Analyze, ModelsOfTheSameNameAreRefused) {
  TempFolder folder;
  const std::string data = folder.file("data.h5");
  ASSERT_EQ(run_rgflow(1, "generate -quiet -L 16 -levels 1 -samples 4 -o " + data).status, 0);
  ASSERT_EQ(system(("mkdir -p " + folder.file("a") + " " + folder.file("b")).c_str()), 0);
  for (const std::string dir : {"a", "b"}) {
    ASSERT_EQ(run_rgflow(1, "train -quiet -data " + data + " -hidden 2 -epochs 1 -batch 16 -o " +
                                folder.file(dir + "/m.h5"))
                  .status,
              0);
  }
  const std::string output = folder.file("r.h5");
  const auto result =
      run_rgflow(2, "analyze -quiet -groups 2 -data " + data + " -models " + folder.file("a/m.h5") +
                        "," + folder.file("b/m.h5") + " -o " + output);
  EXPECT_EQ(result.status, 1);
  ASSERT_EQ(result.rgflow_error_lines().size(), 1u) << result.err;
  EXPECT_NE(result.rgflow_error_lines()[0].find("have the same name 'm'"), std::string::npos)
      << result.rgflow_error_lines()[0];
  EXPECT_FALSE(file_exists(output));
  EXPECT_FALSE(file_exists(output + ".partial"));
}

// Samples of several tiles (L = 1024: four tiles of 32 top-level block rows each), read in
// pieces: every result (cumulants, learned flows, generalisation on the data and on a test set of
// several tiles) is bit-identical on 1-4 ranks and with a budget of exactly one tile against one
// that holds whole samples, for sample and for space jackknife groups. A budget below one tile is
// refused in one line, with no output.
TEST(Analyze, PiecesGiveTheSameBitsForAnyRankCountAndBudget) {
  TempFolder folder;
  const std::string data = folder.file("big.h5"), other = folder.file("other.h5"),
                    small = folder.file("small.h5"), model = folder.file("m.h5");
  ASSERT_EQ(run_rgflow(2, "generate -quiet -L 1024 -levels 3 -samples 2 -o " + data).status, 0);
  ASSERT_EQ(run_rgflow(2,
                       "generate -quiet -L 1024 -levels 3 -samples 1 -seed 3 -distribution "
                       "laplace -o " +
                           other)
                .status,
            0);
  ASSERT_EQ(run_rgflow(1, "generate -quiet -L 16 -levels 3 -samples 4 -o " + small).status, 0);
  ASSERT_EQ(run_rgflow(1, "train -quiet -data " + small +
                              " -hidden 3 -activation tanh -epochs 1 -batch 16 -o " + model)
                .status,
            0);
  // One tile at every level (32 rows of 8 x 1024 sites, float32) and the models' work space.
  const int64_t one_tile = 32 * (8 * 1024 + 4 * 512 + 2 * 256 + 128) * 4 + 24 * 32 * 8 * 1024;
  const std::vector<std::string> names{"/cumulants/kappa",        "/cumulants/kappa_error",
                                       "/cumulants/k_statistics", "/flow/m/kappa",
                                       "/flow/m/kappa_error",     "/generalisation/mse"};
  for (const std::string groups : {"-jackknife samples -groups 2", "-jackknife space -groups 2"}) {
    const std::string common = "analyze -quiet -propagation none " + groups + " -data " + data +
                               " -models " + model + " -eval_data " + other;
    const std::string reference = folder.file("r.h5");
    auto result = run_rgflow(1, common + " -o " + reference);
    ASSERT_EQ(result.status, 0) << result.err;
    const auto mse = table(reference, "/generalisation/mse");
    for (double v : mse) EXPECT_TRUE(std::isfinite(v) && v > 0) << groups;
    for (int ranks = 1; ranks <= 4; ++ranks) {
      for (const bool one_tile_budget : {false, true}) {
        if (ranks == 1 && !one_tile_budget) continue;
        const std::string output = folder.file("p.h5");
        const std::string budget =
            one_tile_budget ? " -test_memory_bytes " + std::to_string(one_tile) : "";
        result = run_rgflow(ranks, common + budget + " -o " + output);
        ASSERT_EQ(result.status, 0) << result.err;
        for (const auto& name : names) {
          EXPECT_EQ(table(output, name), table(reference, name))
              << name << ", " << groups << ", " << ranks << " ranks" << budget;
        }
        std::remove(output.c_str());
      }
    }
    std::remove(reference.c_str());
  }
  const std::string refused = folder.file("refused.h5");
  const auto result =
      run_rgflow(2, "analyze -quiet -groups 2 -data " + data + " -models " + model +
                        " -test_memory_bytes " + std::to_string(one_tile - 1) + " -o " + refused);
  EXPECT_EQ(result.status, 1);
  const auto lines = result.rgflow_error_lines();
  ASSERT_EQ(lines.size(), 1u) << result.err;
  EXPECT_NE(lines[0].find("option -test_memory_bytes"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("cannot hold one tile"), std::string::npos) << lines[0];
  EXPECT_FALSE(file_exists(refused));
  EXPECT_FALSE(file_exists(refused + ".partial"));
}

TEST(Analyze, BadInputs) {
  TempFolder folder;
  const std::string data = folder.file("small.h5");
  ASSERT_EQ(run_rgflow(1, "generate -quiet -L 16 -levels 1 -samples 8 -o " + data).status, 0);
  const std::vector<std::pair<std::string, std::string>> cases{
      {"-data " + data + " -order 1", "-order: 1 is out of range"},
      {"-data " + data + " -order 13", "-order: 13 is out of range"},
      {"-data " + data, "16 jackknife groups need at least as many samples"},
      {"-data " + folder.file("none.h5"), "does not exist"},
      {"-data " + data + " -groups 4 -models " + folder.file("missing.h5"), "does not exist"},
      {"-data " + data + " -groups 4 -eval_data " + data, "needs -models"},
      {"-groups 4", "-data is required"},
      {"-data " + data + " -groups 4 -propagation sideways", "-propagation: unknown value"},
      {"-data " + data + " -groups 4 -taylor_order 4", "-taylor_order: 4 is out of range"},
      {"-data " + data + " -groups 4 -quadrature_points 1", "-quadrature_points: 1 is out of"},
  };
  for (const auto& [options, expected] : cases) {
    const std::string output = folder.file("r.h5");
    const auto result = run_rgflow(2, "analyze -quiet " + options + " -o " + output);
    EXPECT_NE(result.status, 0) << options;
    const auto lines = result.rgflow_error_lines();
    ASSERT_EQ(lines.size(), 1u) << options << "\n" << result.err;
    EXPECT_NE(lines[0].find(expected), std::string::npos) << lines[0];
    EXPECT_FALSE(file_exists(output)) << options;
  }
}

}  // namespace
}  // namespace rgflow::e2e

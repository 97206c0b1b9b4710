// rgflow analyze (dataset part): identical results on any rank count, cumulants against the exact
// values, and bad inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "e2e_util.hpp"
#include "rgflow/core/hdf5.hpp"

namespace rgflow::e2e {
namespace {

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
  EXPECT_EQ(table(three, "/propagation/tanh/marginal_mc"),
            table(reference, "/propagation/tanh/marginal_mc"));
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

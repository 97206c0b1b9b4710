// The cumulant flow table on data whose answer is known exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "rgflow/analysis/cumulant_flow.hpp"

namespace rgflow::analysis {
namespace {

TEST(CumulantFlow, ScaledLevelGivesEigenvaluesCToTheN) {
  // Level 1 holds the level-0 values times c: kappa_n(1) = c^n kappa_n(0) exactly, so the
  // measured eigenvalues are c^n for every group left out (jackknife error 0 up to rounding).
  std::mt19937_64 random(4);
  std::exponential_distribution<double> exponential;
  const double c = 0.5;
  std::vector<std::vector<CentralMoments>> groups(2);
  for (int g = 0; g < 6; ++g) {
    CentralMoments level0(6), level1(6);
    for (int i = 0; i < 500; ++i) {
      const double x = exponential(random) - 1;
      level0.add(x);
      level1.add(c * x);
    }
    groups[0].push_back(level0);
    groups[1].push_back(level1);
  }
  // b = 2, d = 1, Delta = 1: lambda_n = 2 * 2^(-n); with c = 1/2 that is 2 c^n.
  const auto flow = cumulant_flow(groups, 2.0, 2.0, 1.0, [](int n) { return n == 2 ? 1.0 : NAN; });
  ASSERT_EQ(flow.eigenvalue.size(), 1u);
  for (int n = 2; n <= 6; ++n) {
    const size_t i = static_cast<size_t>(n - 1);
    EXPECT_NEAR(flow.eigenvalue[0][i].value, std::pow(c, n), 1e-12 * std::pow(c, n));
    EXPECT_LT(flow.eigenvalue[0][i].error, 1e-10);
    EXPECT_DOUBLE_EQ(flow.expected_eigenvalue[i], 2 * std::pow(0.5, n));
    // kappa(1) - lambda kappa(0) = (c^n - 2 c^n) kappa(0) = -c^n kappa(0).
    EXPECT_NEAR(flow.recursion_difference[1][i].value, -std::pow(c, n) * flow.kappa[0][i].value,
                1e-12);
  }
  EXPECT_DOUBLE_EQ(flow.exact[1][1], 0.5);  // lambda_2 * 1
  EXPECT_TRUE(std::isnan(flow.exact[0][2]));
  EXPECT_NEAR(flow.k_statistics[0][1], flow.kappa[0][1].value * 3000.0 / 2999.0, 1e-12);
}

}  // namespace
}  // namespace rgflow::analysis

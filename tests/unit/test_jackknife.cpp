// Jackknife errors: calibrated against the known standard error of the mean.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "rgflow/analysis/jackknife.hpp"

namespace rgflow::analysis {
namespace {

TEST(Jackknife, ErrorOfMeanMatchesSigmaOverRootN) {
  std::mt19937_64 random(5);
  std::normal_distribution<double> normal(0.0, 2.0);
  const int groups = 50, per_group = 2000;
  std::vector<CentralMoments> parts;
  for (int g = 0; g < groups; ++g) {
    CentralMoments part(4);
    for (int i = 0; i < per_group; ++i) part.add(normal(random));
    parts.push_back(part);
  }
  const auto estimates = jackknife_cumulants(parts);
  const double expected = 2.0 / std::sqrt(groups * per_group);
  EXPECT_NEAR(estimates[0].error, expected, 0.25 * expected);
  // var(k2) = (k4 + 2 k2^2) / n = 2 * 16 / n for a gaussian of variance 4.
  const double expected2 = std::sqrt(32.0 / (groups * per_group));
  EXPECT_NEAR(estimates[1].error, expected2, 0.25 * expected2);
  EXPECT_NEAR(estimates[1].value, 4.0, 5 * expected2);
}

TEST(Jackknife, NeedsTwoGroups) {
  EXPECT_THROW(jackknife_cumulants({CentralMoments(4)}), std::invalid_argument);
}

}  // namespace
}  // namespace rgflow::analysis

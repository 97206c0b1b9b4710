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

namespace rgflow::analysis {
namespace {

// The jackknife errors are calibrated: over independent seeds, the spread of the estimates
// matches the typical jackknife error within a factor 1.5 (docs/science.md section 3).
TEST(Jackknife, ErrorsMatchTheSpreadOverIndependentSeeds) {
  const int seeds = 24, groups = 16, per_group = 4096;
  std::vector<double> kappa2, kappa4, error2, error4;
  for (int seed = 0; seed < seeds; ++seed) {
    std::mt19937_64 random(1000 + seed);
    std::uniform_real_distribution<double> uniform(-std::sqrt(3.0), std::sqrt(3.0));
    std::vector<CentralMoments> parts;
    for (int g = 0; g < groups; ++g) {
      CentralMoments part(4);
      for (int i = 0; i < per_group; ++i) part.add(uniform(random));
      parts.push_back(part);
    }
    const auto estimates = jackknife_cumulants(parts);
    kappa2.push_back(estimates[1].value);
    kappa4.push_back(estimates[3].value);
    error2.push_back(estimates[1].error);
    error4.push_back(estimates[3].error);
  }
  auto spread = [](const std::vector<double>& v) {
    double mean = 0, square = 0;
    for (double x : v) mean += x / double(v.size());
    for (double x : v) square += (x - mean) * (x - mean);
    return std::sqrt(square / double(v.size() - 1));
  };
  auto average = [](const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return sum / double(v.size());
  };
  for (const auto& [values, errors] : {std::pair{kappa2, error2}, std::pair{kappa4, error4}}) {
    const double ratio = spread(values) / average(errors);
    EXPECT_GT(ratio, 1 / 1.5);
    EXPECT_LT(ratio, 1.5);
  }
}

}  // namespace
}  // namespace rgflow::analysis

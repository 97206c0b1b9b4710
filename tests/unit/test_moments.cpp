// Central moments and Pebay merges against independent long-double two-pass sums.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "rgflow/analysis/moments.hpp"

namespace rgflow::analysis {
namespace {

std::vector<long double> two_pass_sums(const std::vector<double>& x, int order) {
  long double mean = 0;
  for (double v : x) mean += v;
  mean /= x.size();
  std::vector<long double> sums(static_cast<size_t>(order) + 1, 0.0L);
  for (double v : x) {
    long double power = 1;
    for (int p = 1; p <= order; ++p) {
      power *= (v - mean);
      sums[static_cast<size_t>(p)] += power;
    }
  }
  return sums;
}

TEST(CentralMoments, SmallDataByHand) {
  CentralMoments m(4);
  for (double v : {1.0, 2.0, 3.0, 4.0}) m.add(v);
  // mean 2.5, deviations +-0.5, +-1.5: mu2 = 1.25, mu3 = 0, mu4 = (2*0.0625 + 2*5.0625)/4 = 2.5625
  EXPECT_DOUBLE_EQ(m.mean(), 2.5);
  const auto kappa = m.cumulants();
  EXPECT_DOUBLE_EQ(kappa[1], 1.25);
  EXPECT_NEAR(kappa[2], 0.0, 1e-15);
  EXPECT_DOUBLE_EQ(kappa[3], 2.5625 - 3 * 1.25 * 1.25);
}

TEST(CentralMoments, PebayMergeOfRandomSplitsMatchesLongDoubleSinglePass) {
  std::mt19937_64 random(3);
  std::exponential_distribution<double> exponential(1.0);
  std::vector<double> x(100000);
  for (auto& v : x) v = 10 + exponential(random);  // offset: raw power sums would fail here
  const auto exact = two_pass_sums(x, 8);
  for (int trial = 0; trial < 10; ++trial) {
    // Random cut points, including empty pieces, merged in a random tree order.
    std::vector<size_t> cuts{0, x.size()};
    for (int i = 0; i < 6; ++i) cuts.push_back(random() % (x.size() + 1));
    cuts.push_back(cuts[2]);  // an empty piece
    std::sort(cuts.begin(), cuts.end());
    std::vector<CentralMoments> parts;
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      CentralMoments part(8);
      if (trial % 2) {
        part.add(x.data() + cuts[i], cuts[i + 1] - cuts[i]);
      } else {
        for (size_t j = cuts[i]; j < cuts[i + 1]; ++j) part.add(x[j]);
      }
      parts.push_back(part);
    }
    while (parts.size() > 1) {
      const size_t i = random() % (parts.size() - 1);
      parts[i].merge(parts[i + 1]);
      parts.erase(parts.begin() + static_cast<long>(i) + 1);
    }
    const CentralMoments& total = parts[0];
    EXPECT_EQ(total.count(), 100000.0);
    for (int p = 2; p <= 8; ++p) {
      const double expected = static_cast<double>(exact[static_cast<size_t>(p)]);
      EXPECT_NEAR(total.central_sum(p), expected, 1e-12 * std::abs(expected)) << "p=" << p;
    }
  }
}

TEST(CentralMoments, KnownDistributions) {
  std::mt19937_64 random(8);
  std::uniform_real_distribution<double> uniform(-std::sqrt(3.0), std::sqrt(3.0));
  std::exponential_distribution<double> exponential(1.0);
  CentralMoments u(8), e(8);
  for (int i = 0; i < 2000000; ++i) {
    u.add(uniform(random));
    e.add(exponential(random) - 1);
  }
  const auto ku = u.cumulants(), ke = e.cumulants();
  EXPECT_NEAR(ku[3], -1.2, 0.01);
  EXPECT_NEAR(ku[5], 48.0 / 7.0, 0.1);
  EXPECT_NEAR(ke[2], 2.0, 0.05);
  EXPECT_NEAR(ke[3], 6.0, 0.3);
}

TEST(CentralMoments, KStatisticsAreUnbiased) {
  // Laplace with unit variance: kappa_2 = 1, kappa_4 = 3. Average over many samples of 5.
  std::mt19937_64 random(13);
  std::exponential_distribution<double> exponential(std::sqrt(2.0));
  std::bernoulli_distribution coin;
  const int trials = 400000;
  double k2 = 0, k4 = 0, naive2 = 0;
  for (int t = 0; t < trials; ++t) {
    CentralMoments m(4);
    for (int i = 0; i < 5; ++i) m.add(coin(random) ? exponential(random) : -exponential(random));
    const auto k = k_statistics(m);
    k2 += k[1];
    k4 += k[3];
    naive2 += m.central_moment(2);
  }
  EXPECT_NEAR(k2 / trials, 1.0, 0.01);
  EXPECT_NEAR(naive2 / trials, 0.8, 0.01);  // biased by (n-1)/n
  EXPECT_NEAR(k4 / trials, 3.0, 0.15);
}

TEST(CentralMoments, BufferRoundTripAndBadOrders) {
  CentralMoments m(6);
  for (double v : {0.5, -1.0, 2.0}) m.add(v);
  const auto back = CentralMoments::from_buffer(m.to_buffer());
  EXPECT_EQ(back.to_buffer(), m.to_buffer());
  EXPECT_THROW(CentralMoments(1), std::invalid_argument);
  EXPECT_THROW(CentralMoments(13), std::invalid_argument);
  CentralMoments other(4);
  EXPECT_THROW(m.merge(other), std::invalid_argument);
}

}  // namespace
}  // namespace rgflow::analysis

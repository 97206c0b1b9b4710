// CentralMoments against independent truth: exact cumulants of small data sets (from the cumulant
// generating function of their empirical distribution), two-pass sums in long double straight from
// the data, closed forms of kappa_n in central moments, the exact cumulants of docs/science.md
// section 2, and Fisher's k-statistics written in raw power sums.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "rgflow/analysis/moments.hpp"

namespace rgflow::analysis {
namespace {

// Count, mean and M_0..M_order of `x` by the two-pass definition, in long double.
struct LongDoubleMoments {
  long double mean = 0;
  std::vector<long double> sums;  // sums[p] = sum (x - mean)^p
};

template <typename T>
LongDoubleMoments two_pass(const std::vector<T>& x, int order) {
  LongDoubleMoments result;
  for (T v : x) result.mean += v;
  result.mean /= static_cast<long double>(x.size());
  result.sums.assign(static_cast<std::size_t>(order) + 1, 0.0L);
  for (T v : x) {
    const long double deviation = static_cast<long double>(v) - result.mean;
    long double power = 1;
    for (int p = 0; p <= order; ++p) {
      result.sums[static_cast<std::size_t>(p)] += power;
      power *= deviation;
    }
  }
  return result;
}

// Central moments mu_0..mu_8 of `x`, in long double (mu_1 is zero up to rounding).
std::array<long double, 9> central_moments_of(const std::vector<double>& x) {
  const LongDoubleMoments m = two_pass(x, 8);
  std::array<long double, 9> mu{};
  for (std::size_t p = 0; p < mu.size(); ++p) mu[p] = m.sums[p] / x.size();
  return mu;
}

void expect_relative(double actual, double expected, double tolerance, const std::string& what,
                     int p) {
  EXPECT_NEAR(actual, expected, tolerance * std::abs(expected)) << what << " p=" << p;
}

// The three ways of feeding values must agree on small sets, so each small-set test runs all.
std::vector<CentralMoments> fed_three_ways(const std::vector<double>& x, int order) {
  CentralMoments single(order), block(order), halves(order);
  for (double v : x) single.add(v);
  block.add(x.data(), x.size());
  CentralMoments second(order);
  halves.add(x.data(), x.size() / 2);
  second.add(x.data() + x.size() / 2, x.size() - x.size() / 2);
  halves.merge(second);
  return {single, block, halves};
}

TEST(CentralMoments, CumulantsOfSmallDataSetsAreExact) {
  // Cumulants of the empirical distribution, n! [t^n] log((1/N) sum_i exp(t x_i)), worked out in
  // exact rational arithmetic. {1,2,3,4}: mean 5/2, deviations +-1/2, +-3/2, so mu_2 = 5/4,
  // mu_4 = 41/16, kappa_4 = 41/16 - 3 (5/4)^2 = -17/8. {0,0,0,1} is Bernoulli(1/4), whose
  // cumulants follow kappa_{n+1} = p (1 - p) d kappa_n / dp.
  struct Case {
    std::vector<double> data;
    std::array<double, 8> kappa;
  };
  const std::vector<Case> cases = {
      {{1, 2, 3, 4}, {2.5, 5.0 / 4, 0, -17.0 / 8, 0, 65.0 / 4, 0, -4369.0 / 16}},
      {{0, 0, 0, 1},
       {0.25, 3.0 / 16, 3.0 / 32, -3.0 / 128, -15.0 / 128, -39.0 / 512, 231.0 / 1024,
        2469.0 / 4096}},
      {{-2, 0, 1, 5}, {1, 13.0 / 2, 9, -169.0 / 4, -390, 793.0 / 2, 60333.0 / 2, 959647.0 / 8}},
  };
  for (const Case& c : cases) {
    for (const CentralMoments& m : fed_three_ways(c.data, 8)) {
      EXPECT_EQ(m.count(), static_cast<double>(c.data.size()));
      const std::vector<double> kappa = m.cumulants();
      ASSERT_EQ(kappa.size(), 8u);
      for (std::size_t i = 0; i < 8; ++i) {
        EXPECT_NEAR(kappa[i], c.kappa[i], 1e-13 * std::max(1.0, std::abs(c.kappa[i])))
            << "kappa_" << i + 1 << " of data set starting " << c.data[0];
      }
    }
  }
}

TEST(CentralMoments, CumulantsMatchClosedFormsInCentralMoments) {
  // Closed forms of kappa_2..kappa_8 in central moments (mu_1 = 0), expanded from
  // log(1 + sum_k mu_k t^k / k!); mu_p straight from the data.
  std::mt19937_64 random(21);
  std::gamma_distribution<double> gamma(0.7, 2.0);  // skewed: every cumulant is non-zero
  std::vector<double> x(1000);
  for (double& v : x) v = gamma(random) - 3;
  const auto mu = central_moments_of(x);
  const std::array<long double, 9> expected = {
      0,
      0,  // kappa_1 checked separately
      mu[2],
      mu[3],
      mu[4] - 3 * mu[2] * mu[2],
      mu[5] - 10 * mu[3] * mu[2],
      mu[6] - 15 * mu[4] * mu[2] - 10 * mu[3] * mu[3] + 30 * mu[2] * mu[2] * mu[2],
      mu[7] - 21 * mu[5] * mu[2] - 35 * mu[4] * mu[3] + 210 * mu[3] * mu[2] * mu[2],
      mu[8] - 28 * mu[6] * mu[2] - 56 * mu[5] * mu[3] - 35 * mu[4] * mu[4] +
          420 * mu[4] * mu[2] * mu[2] + 560 * mu[3] * mu[3] * mu[2] -
          630 * mu[2] * mu[2] * mu[2] * mu[2],
  };
  // The closed forms cancel heavily (kappa_8 is a difference of terms far larger than itself),
  // so the tolerance is relative to a bound on the largest term, 630 mu_2^4 + mu_8.
  const double scale = static_cast<double>(mu[8] + 630 * mu[2] * mu[2] * mu[2] * mu[2]);
  long double mean = 0;
  for (double v : x) mean += v;
  mean /= x.size();
  for (const CentralMoments& m : fed_three_ways(x, 8)) {
    const std::vector<double> kappa = m.cumulants();
    EXPECT_NEAR(kappa[0], static_cast<double>(mean), 1e-14 * std::abs(static_cast<double>(mean)));
    for (int n = 2; n <= 8; ++n) {
      EXPECT_NEAR(kappa[static_cast<std::size_t>(n - 1)],
                  static_cast<double>(expected[static_cast<std::size_t>(n)]), 1e-12 * scale)
          << "kappa_" << n;
    }
  }
}

// Shapes of the merge tree; the result must not depend on the shape.
enum class Tree { kLeftFold, kRightFold, kBalanced, kRandomPairs };

// Merges all of `parts` into one in the given shape (`random` picks the pairs of kRandomPairs).
CentralMoments merge_tree(std::vector<CentralMoments> parts, Tree shape, std::mt19937_64& random) {
  switch (shape) {
    case Tree::kLeftFold:
      for (std::size_t i = 1; i < parts.size(); ++i) parts[0].merge(parts[i]);
      return parts[0];
    case Tree::kRightFold:
      for (std::size_t i = parts.size() - 1; i-- > 0;) parts[i].merge(parts[i + 1]);
      return parts[0];
    case Tree::kBalanced:
      while (parts.size() > 1) {
        std::vector<CentralMoments> next;
        for (std::size_t i = 0; i < parts.size(); i += 2) {
          next.push_back(parts[i]);
          if (i + 1 < parts.size()) next.back().merge(parts[i + 1]);
        }
        parts = next;
      }
      return parts[0];
    case Tree::kRandomPairs:
      // Any two parts, not only neighbours: the moments are symmetric in the values.
      while (parts.size() > 1) {
        const std::size_t i = random() % parts.size();
        std::size_t j = random() % (parts.size() - 1);
        if (j >= i) ++j;
        parts[i].merge(parts[j]);
        parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(j));
      }
      return parts[0];
  }
  throw std::logic_error("unknown tree shape");
}

TEST(CentralMoments, PebayMergeOfRandomSplitsMatchesLongDoubleTwoPass) {
  constexpr int kOrder = 8;
  constexpr std::size_t kValues = 100000;
  std::mt19937_64 random(3);
  std::exponential_distribution<double> exponential(1.0);
  // An offset of 0 and one of 1000: the central sums must not depend on where the data sit.
  for (const double offset : {0.0, 1000.0}) {
    std::vector<double> x(kValues);
    for (double& v : x) v = offset + exponential(random);
    const LongDoubleMoments exact = two_pass(x, kOrder);
    for (int trial = 0; trial < 16; ++trial) {
      // Cut points: random ones, the two ends (empty first and last parts), a repeated cut (an
      // empty part in the middle) and a one-value part.
      std::vector<std::size_t> cuts{0, 0, kValues, kValues, 17, 18};
      for (int i = 0; i < 5 + trial; ++i) cuts.push_back(random() % (kValues + 1));
      cuts.push_back(cuts.back());
      std::sort(cuts.begin(), cuts.end());
      std::vector<CentralMoments> parts;
      for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
        CentralMoments part(kOrder);
        const std::size_t begin = cuts[i], length = cuts[i + 1] - cuts[i];
        if ((static_cast<std::size_t>(trial) + i) % 3 == 0) {
          for (std::size_t j = begin; j < begin + length; ++j) part.add(x[j]);
        } else {
          part.add(x.data() + begin, length);
        }
        parts.push_back(part);
      }
      const Tree shape = static_cast<Tree>(trial % 4);
      const CentralMoments total = merge_tree(parts, shape, random);
      ASSERT_EQ(total.count(), static_cast<double>(kValues));
      // Each single-value update rounds the running mean once, a random walk of a few tens of
      // ulps over 10^5 updates.
      expect_relative(total.mean(), static_cast<double>(exact.mean), 1e-14, "mean", 1);
      for (int p = 2; p <= kOrder; ++p) {
        expect_relative(total.central_sum(p),
                        static_cast<double>(exact.sums[static_cast<std::size_t>(p)]), 1e-12,
                        "central sum, trial " + std::to_string(trial) + ",", p);
      }
    }
  }
}

TEST(CentralMoments, BlockFarFromZeroIsCentredOnItsExactMean) {
  // One chunk of values at 1000 +- 1: the sum of pass 1 rounds at ~1e-13 of 2e6, so sums taken
  // about that pivot alone would be off by ~1e-13 relative in M_3..M_8; re-centring by the
  // residual of pass 2 brings them to a few ulps.
  std::mt19937_64 random(1);
  std::exponential_distribution<double> exponential(1.0);
  std::vector<double> x(2000);
  for (double& v : x) v = 1000 + exponential(random);
  const LongDoubleMoments exact = two_pass(x, 8);
  CentralMoments m(8);
  m.add(x.data(), x.size());
  for (int p = 2; p <= 8; ++p) {
    expect_relative(m.central_sum(p), static_cast<double>(exact.sums[static_cast<std::size_t>(p)]),
                    2e-14, "one block", p);
  }
}

TEST(CentralMoments, FloatBlocksAgreeWithTheirDoubleValues) {
  std::mt19937_64 random(5);
  std::exponential_distribution<float> exponential(1.0f);
  std::vector<float> x(10000);
  for (float& v : x) v = 5 + exponential(random);
  const std::vector<double> widened(x.begin(), x.end());
  const LongDoubleMoments exact = two_pass(x, 8);
  CentralMoments from_float(8), from_double(8);
  from_float.add(x.data(), x.size());
  from_double.add(widened.data(), widened.size());
  EXPECT_EQ(from_float.to_buffer(), from_double.to_buffer());
  for (int p = 2; p <= 8; ++p) {
    expect_relative(from_float.central_sum(p),
                    static_cast<double>(exact.sums[static_cast<std::size_t>(p)]), 1e-12,
                    "float central sum", p);
  }
}

// sum |x - mean|^p for p = 0..order in long double: the natural scale of M_p, against which the
// error of an odd central sum (near zero for symmetric data) is measured.
template <typename T>
std::vector<long double> absolute_sums(const std::vector<T>& x, long double mean, int order) {
  std::vector<long double> sums(static_cast<std::size_t>(order) + 1, 0.0L);
  for (T v : x) {
    const long double deviation = std::abs(static_cast<long double>(v) - mean);
    long double power = 1;
    for (int p = 0; p <= order; ++p) {
      sums[static_cast<std::size_t>(p)] += power;
      power *= deviation;
    }
  }
  return sums;
}

// Every central sum of `m` against the long double two-pass sums of `x`, to `tolerance` relative
// to sum |x - mean|^p.
template <typename T>
void expect_central_sums(const CentralMoments& m, const std::vector<T>& x, double tolerance,
                         const std::string& what) {
  const int order = m.max_order();
  const LongDoubleMoments exact = two_pass(x, order);
  const std::vector<long double> scale = absolute_sums(x, exact.mean, order);
  ASSERT_EQ(m.count(), static_cast<double>(x.size())) << what;
  EXPECT_NEAR(m.mean(), static_cast<double>(exact.mean),
              1e-15 * std::abs(static_cast<double>(exact.mean)) +
                  1e-15 * std::sqrt(static_cast<double>(scale[2] / x.size())))
      << what;
  for (int p = 2; p <= order; ++p) {
    const std::size_t pu = static_cast<std::size_t>(p);
    EXPECT_NEAR(m.central_sum(p), static_cast<double>(exact.sums[pu]),
                tolerance * static_cast<double>(scale[pu]))
        << what << ", order " << order << ", M_" << p;
  }
}

TEST(CentralMoments, EveryOrderOfFloatInputFarFromZeroMatchesLongDouble) {
  // Float32 data at 10^4 +- 1, as a dataset written in float32 far from zero: several segments
  // of the block kernel and a tail that fills no vector, for every supported order (each has its
  // own compiled kernel).
  std::mt19937_64 random(17);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::exponential_distribution<float> exponential(1.0f);
  std::vector<float> x(600003);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = 10000.0f + (i % 2 ? uniform(random) : exponential(random));
  }
  for (int order = 2; order <= CentralMoments::kMaxOrder; ++order) {
    CentralMoments m(order);
    m.add(x.data(), x.size());
    expect_central_sums(m, x, 1e-12, "float32 at 1e4");
  }
}

TEST(CentralMoments, DriftingDataAreSummedAboutTheirOwnMean) {
  // The block kernel sums powers about the running mean; these data move away from it: a ramp
  // that climbs a hundred standard deviations of its noise per segment, and a jump from 0 to 10^6
  // (noise 1) inside a segment and then a segment far from the running mean. Both must come out
  // as accurate as stationary data.
  std::mt19937_64 random(23);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> ramp(1000000), jump(600000);
  for (std::size_t i = 0; i < ramp.size(); ++i) {
    ramp[i] = 4e-4 * static_cast<double>(i) + normal(random);
  }
  for (std::size_t i = 0; i < jump.size(); ++i) jump[i] = (i < 300000 ? 0.0 : 1e6) + normal(random);
  for (const auto& [name, x] :
       {std::pair<std::string, const std::vector<double>&>{"ramp", ramp}, {"jump", jump}}) {
    CentralMoments whole(8), in_calls(8);
    whole.add(x.data(), x.size());
    expect_central_sums(whole, x, 1e-12, name + " in one call");
    // One call per 100000 values, as analyze feeds samples: each call starts from the running
    // mean of the calls before.
    for (std::size_t begin = 0; begin < x.size(); begin += 100000) {
      in_calls.add(x.data() + begin, std::min<std::size_t>(100000, x.size() - begin));
    }
    expect_central_sums(in_calls, x, 1e-12, name + " in calls of 100000");
  }
}

TEST(CentralMoments, ConstantBlocksHaveZeroCentralSums) {
  const std::vector<float> x(300001, 3.7f);
  CentralMoments m(8);
  m.add(x.data(), x.size());
  m.add(x.data(), 1000);
  EXPECT_EQ(m.mean(), static_cast<double>(3.7f));
  for (int p = 2; p <= 8; ++p) EXPECT_EQ(m.central_sum(p), 0.0) << "M_" << p;
}

TEST(CentralMoments, NonFiniteValuesInBlocksGiveNaN) {
  for (const double bad : {std::nan(""), HUGE_VAL, -HUGE_VAL}) {
    std::vector<double> x(5000, 1.5);
    x[4321] = bad;
    CentralMoments m(8);
    m.add(x.data(), x.size());
    for (int p = 2; p <= 8; ++p) EXPECT_TRUE(std::isnan(m.central_sum(p))) << bad << " M_" << p;
  }
}

TEST(CentralMoments, MergingEmptyAccumulatorsOnEitherSideChangesNothing) {
  const std::vector<double> x = {0.5, -1.25, 3.0, 2.0, 7.5};
  CentralMoments filled(6);
  filled.add(x.data(), x.size());
  const std::vector<double> reference = filled.to_buffer();

  CentralMoments empty(6);
  filled.merge(empty);
  EXPECT_EQ(filled.to_buffer(), reference);

  CentralMoments into_empty(6);
  into_empty.merge(filled);
  EXPECT_EQ(into_empty.to_buffer(), reference);

  CentralMoments both_empty(6);
  both_empty.merge(CentralMoments(6));
  EXPECT_EQ(both_empty.count(), 0.0);
  both_empty.add(x.data(), 0);
  EXPECT_EQ(both_empty.to_buffer(), std::vector<double>(7, 0.0));

  // A rank with no data contributes an all-zero buffer to the caller's reduction.
  CentralMoments from_zeros = CentralMoments::from_buffer(std::vector<double>(7, 0.0));
  from_zeros.merge(filled);
  EXPECT_EQ(from_zeros.to_buffer(), reference);
}

TEST(CentralMoments, CumulantsOfLargeSamplesOfKnownDistributions) {
  // Exact values from docs/science.md section 2. Tolerances are 5 standard deviations of the sample
  // cumulant for 10^6 values, from the delta method: n Var = 72/35 (uniform kappa_3),
  // 1728/175 (uniform kappa_4), 817.96 (uniform kappa_6), 216 (exponential kappa_3),
  // 11520 (exponential kappa_4).
  constexpr std::size_t kValues = 1000000;
  std::mt19937_64 random(8);
  std::uniform_real_distribution<double> uniform(-std::sqrt(3.0), std::sqrt(3.0));
  std::exponential_distribution<double> exponential(1.0);
  std::vector<double> u(kValues), e(kValues);
  for (double& v : u) v = uniform(random);
  for (double& v : e) v = exponential(random) - 1;
  CentralMoments mu(8), me(8);
  mu.add(u.data(), u.size());
  me.add(e.data(), e.size());
  const auto ku = mu.cumulants(), ke = me.cumulants();
  EXPECT_NEAR(ku[0], 0.0, 5 * std::sqrt(1.0 / kValues));
  EXPECT_NEAR(ku[1], 1.0, 5 * std::sqrt(0.8 / kValues));  // n Var(kappa_2) = kappa_4 + 2
  EXPECT_NEAR(ku[2], 0.0, 5 * std::sqrt(72.0 / 35 / kValues));
  EXPECT_NEAR(ku[3], -6.0 / 5, 5 * std::sqrt(1728.0 / 175 / kValues));
  EXPECT_NEAR(ku[5], 48.0 / 7, 5 * std::sqrt(817.96 / kValues));
  EXPECT_NEAR(ke[1], 1.0, 5 * std::sqrt(8.0 / kValues));
  EXPECT_NEAR(ke[2], 2.0, 5 * std::sqrt(216.0 / kValues));
  EXPECT_NEAR(ke[3], 6.0, 5 * std::sqrt(11520.0 / kValues));
}

TEST(CentralMoments, KStatisticsOfSmallDataSetsMatchPowerSumFormulas) {
  // Fisher's k-statistics in raw power sums S_r = sum x^r (exact in double for small integers):
  //   k_2 = (n S_2 - S_1^2) / (n (n-1)),  k_3 = (2 S_1^3 - 3 n S_1 S_2 + n^2 S_3) / (n (n-1)(n-2)),
  //   k_4 = (-6 S_1^4 + 12 n S_1^2 S_2 - 3 n (n-1) S_2^2 - 4 n (n+1) S_1 S_3 + n^2 (n+1) S_4)
  //         / (n (n-1)(n-2)(n-3)).
  // {1,2,3,4} gives k_2 = 5/3, k_3 = 0, k_4 = -10/3.
  for (const std::vector<double>& x :
       {std::vector<double>{1, 2, 3, 4}, std::vector<double>{-2, 0, 1, 5, 5, 9},
        std::vector<double>{3, 1, 4, 1, 5, 9, 2, 6, 5}}) {
    const double n = static_cast<double>(x.size());
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
    for (double v : x) {
      s1 += v;
      s2 += v * v;
      s3 += v * v * v;
      s4 += v * v * v * v;
    }
    const std::array<double, 4> expected = {
        s1 / n, (n * s2 - s1 * s1) / (n * (n - 1)),
        (2 * s1 * s1 * s1 - 3 * n * s1 * s2 + n * n * s3) / (n * (n - 1) * (n - 2)),
        (-6 * s1 * s1 * s1 * s1 + 12 * n * s1 * s1 * s2 - 3 * n * (n - 1) * s2 * s2 -
         4 * n * (n + 1) * s1 * s3 + n * n * (n + 1) * s4) /
            (n * (n - 1) * (n - 2) * (n - 3))};
    for (const CentralMoments& m : fed_three_ways(x, 4)) {
      const auto k = k_statistics(m);
      for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_NEAR(k[i], expected[i], 1e-13 * std::max(1.0, std::abs(expected[i])))
            << "k_" << i + 1 << " of " << x.size() << " values";
      }
    }
  }
  CentralMoments one_two_three_four(4);
  for (double v : {1.0, 2.0, 3.0, 4.0}) one_two_three_four.add(v);
  const auto k = k_statistics(one_two_three_four);
  EXPECT_NEAR(k[1], 5.0 / 3, 1e-15);
  EXPECT_NEAR(k[3], -10.0 / 3, 1e-14);
}

TEST(CentralMoments, KStatisticsAreUnbiasedWhereCentralMomentsAreNot) {
  // Samples of n = 5 values; the averages of k_2, k_3, k_4 over many samples approach kappa_2,
  // kappa_3, kappa_4, while the average of mu_2 approaches (n-1)/n kappa_2. Tolerances are 5
  // standard errors measured from the spread over the samples themselves.
  constexpr int kSampleSize = 5;
  constexpr int kSamples = 400000;
  struct Distribution {
    const char* name;
    std::function<double(std::mt19937_64&)> draw;
    double kappa2, kappa3, kappa4;
  };
  const double root3 = std::sqrt(3.0);
  const std::vector<Distribution> distributions = {
      {"uniform",
       [root3](std::mt19937_64& r) {
         return std::uniform_real_distribution<double>(-root3, root3)(r);
       },
       1, 0, -6.0 / 5},
      {"laplace",
       [](std::mt19937_64& r) {
         const double magnitude = std::exponential_distribution<double>(std::sqrt(2.0))(r);
         return std::bernoulli_distribution()(r) ? magnitude : -magnitude;
       },
       1, 0, 3},
      {"exponential",
       [](std::mt19937_64& r) { return std::exponential_distribution<double>(1.0)(r) - 1; }, 1, 2,
       6},
  };
  std::mt19937_64 random(13);
  for (const Distribution& d : distributions) {
    // Running sums of each estimator and of its square, for the mean and its standard error.
    std::array<double, 4> sum{}, sum_squares{};  // k_2, k_3, k_4, mu_2
    for (int s = 0; s < kSamples; ++s) {
      CentralMoments m(4);
      for (int i = 0; i < kSampleSize; ++i) m.add(d.draw(random));
      const auto k = k_statistics(m);
      const std::array<double, 4> estimate = {k[1], k[2], k[3], m.central_moment(2)};
      for (std::size_t j = 0; j < 4; ++j) {
        sum[j] += estimate[j];
        sum_squares[j] += estimate[j] * estimate[j];
      }
    }
    std::array<double, 4> average{}, error{};
    for (std::size_t j = 0; j < 4; ++j) {
      average[j] = sum[j] / kSamples;
      error[j] = std::sqrt((sum_squares[j] / kSamples - average[j] * average[j]) / kSamples);
    }
    const double biased2 = d.kappa2 * (kSampleSize - 1) / kSampleSize;
    EXPECT_NEAR(average[0], d.kappa2, 5 * error[0]) << d.name << " k_2";
    EXPECT_NEAR(average[1], d.kappa3, 5 * error[1]) << d.name << " k_3";
    EXPECT_NEAR(average[2], d.kappa4, 5 * error[2]) << d.name << " k_4";
    EXPECT_NEAR(average[3], biased2, 5 * error[3]) << d.name << " mu_2";
    // The test can tell the two apart: the bias is many standard errors wide.
    EXPECT_GT(std::abs(average[3] - d.kappa2), 20 * error[3]) << d.name << " mu_2";
  }
}

TEST(CentralMoments, BufferRoundTripIsExact) {
  std::mt19937_64 random(34);
  std::normal_distribution<double> normal(0.3, 2.0);
  for (int order = 2; order <= CentralMoments::kMaxOrder; ++order) {
    CentralMoments m(order);
    for (int i = 0; i < 37; ++i) m.add(normal(random));
    const std::vector<double> buffer = m.to_buffer();
    ASSERT_EQ(buffer.size(), static_cast<std::size_t>(order) + 1);
    EXPECT_EQ(buffer[0], 37.0);
    EXPECT_EQ(buffer[1], m.mean());
    for (int p = 2; p <= order; ++p) {
      EXPECT_EQ(buffer[static_cast<std::size_t>(p)], m.central_sum(p));
    }
    const CentralMoments back = CentralMoments::from_buffer(buffer);
    EXPECT_EQ(back.max_order(), order);
    EXPECT_EQ(back.to_buffer(), buffer);
    EXPECT_EQ(back.cumulants(), m.cumulants());
  }
}

TEST(CentralMoments, InvalidOrdersAndArgumentsThrow) {
  for (int order : {-1, 0, 1, 13, 100}) {
    EXPECT_THROW(CentralMoments{order}, std::invalid_argument) << "order " << order;
  }
  EXPECT_NO_THROW(CentralMoments{2});
  EXPECT_NO_THROW(CentralMoments{12});

  CentralMoments six(6), four(4);
  EXPECT_THROW(six.merge(four), std::invalid_argument);
  EXPECT_THROW(four.merge(six), std::invalid_argument);

  EXPECT_THROW(CentralMoments::from_buffer({1.0, 2.0}), std::invalid_argument);
  EXPECT_THROW(CentralMoments::from_buffer(std::vector<double>(14, 0.0)), std::invalid_argument);
  EXPECT_THROW(CentralMoments::from_buffer({-1.0, 0.0, 0.0}), std::invalid_argument);
  EXPECT_THROW(CentralMoments::from_buffer({NAN, 0.0, 0.0}), std::invalid_argument);

  // Empty accumulators have no moments; orders outside 1..P are not kept.
  EXPECT_THROW(six.cumulants(), std::domain_error);
  EXPECT_THROW(six.central_moment(2), std::domain_error);
  six.add(1.0);
  EXPECT_EQ(six.central_sum(1), 0.0);
  EXPECT_THROW(six.central_sum(0), std::out_of_range);
  EXPECT_THROW(six.central_sum(7), std::out_of_range);

  // k-statistics need four values and moments up to order 4.
  for (double v : {2.0, 3.0}) six.add(v);
  EXPECT_THROW(k_statistics(six), std::invalid_argument);
  six.add(5.0);
  EXPECT_NO_THROW(k_statistics(six));
  CentralMoments three(3);
  for (double v : {1.0, 2.0, 3.0, 4.0, 5.0}) three.add(v);
  EXPECT_THROW(k_statistics(three), std::invalid_argument);
}

}  // namespace
}  // namespace rgflow::analysis

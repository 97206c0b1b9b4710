// Exact cumulants and raw moments of the site distributions (docs/science.md section 2) against
// independent truth: closed forms written out by hand, the moment-cumulant recursion applied (in
// long double) to raw moments computed here from their own closed forms, and the exact
// distributions of small block sums.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "rgflow/field/distribution.hpp"

namespace rgflow::field {
namespace {

constexpr int kOrders = Distribution::kMaxCumulantOrder;

std::vector<Distribution> every_distribution() {
  return {{DistributionKind::kGaussian},    {DistributionKind::kUniform},
          {DistributionKind::kRademacher},  {DistributionKind::kLaplace},
          {DistributionKind::kExponential}, {DistributionKind::kGamma, 0.5},
          {DistributionKind::kGamma, 2.0},  {DistributionKind::kGamma, 7.5}};
}

std::string label(const Distribution& d) {
  return d.name() + (d.kind == DistributionKind::kGamma ? " " + std::to_string(d.gamma_shape) : "");
}

// E[x^k], k = 0..max_power, written out per distribution without the code under test: the
// gaussian's (k-1)!!, the uniform's integral 3^(k/2) / (k + 1), the Laplace's k! b^k with
// b = 2^(-1/2), and for gamma(a) the binomial expansion of ((G - a) / sqrt a)^k with
// E[G^j] = a (a + 1) ... (a + j - 1) (long double carries the digits that expansion cancels).
std::vector<long double> hand_raw_moments(const Distribution& d, int max_power) {
  std::vector<long double> m(static_cast<size_t>(max_power) + 1, 0.0L);
  for (int k = 0; k <= max_power; ++k) {
    long double value = 0;
    const bool even = k % 2 == 0;
    long double factorial = 1, double_factorial = 1;
    for (int j = 2; j <= k; ++j) factorial *= j;
    for (int j = k - 1; j > 1; j -= 2) double_factorial *= j;
    switch (d.kind) {
      case DistributionKind::kGaussian:
        value = even ? double_factorial : 0.0L;
        break;
      case DistributionKind::kUniform:
        value = even ? std::pow(3.0L, k / 2) / (k + 1) : 0.0L;
        break;
      case DistributionKind::kRademacher:
        value = even ? 1.0L : 0.0L;
        break;
      case DistributionKind::kLaplace:
        value = even ? factorial / std::pow(2.0L, k / 2) : 0.0L;
        break;
      case DistributionKind::kExponential:
      case DistributionKind::kGamma: {
        const long double a = d.kind == DistributionKind::kGamma ? d.gamma_shape : 1.0L;
        long double binomial = 1, rising = 1;
        for (int j = 0; j <= k; ++j) {
          if (j > 0) {
            binomial = binomial * (k - j + 1) / j;
            rising *= a + (j - 1);
          }
          value += binomial * rising * std::pow(-a, static_cast<long double>(k - j));
        }
        value /= std::pow(a, 0.5L * k);
        break;
      }
    }
    m[static_cast<size_t>(k)] = value;
  }
  return m;
}

// kappa_n = m_n - sum_{j=1}^{n-1} C(n-1, j-1) kappa_j m_{n-j}, in long double.
std::vector<long double> hand_cumulants(const std::vector<long double>& m, int orders) {
  std::vector<long double> kappa(static_cast<size_t>(orders) + 1, 0.0L);  // kappa[n], n >= 1
  for (int n = 1; n <= orders; ++n) {
    long double value = m[static_cast<size_t>(n)], binomial = 1;
    for (int j = 1; j < n; ++j) {
      value -= binomial * kappa[static_cast<size_t>(j)] * m[static_cast<size_t>(n - j)];
      binomial = binomial * (n - j) / j;
    }
    kappa[static_cast<size_t>(n)] = value;
  }
  return kappa;
}

TEST(Distribution, ExactCumulantsMatchClosedFormsToOrder12) {
  // kappa_1..kappa_12 worked out by hand: uniform (2 sqrt 3)^n B_n / n with B_10 = 5/66,
  // B_12 = -691/2730; rademacher n! [t^n] log cosh t; laplace 2 (n-1)! 2^(-n/2); exponential
  // (n-1)!; gamma(4) (n-1)! 4^(1 - n/2). Orders 3..8 are docs/science.md's table.
  struct Row {
    Distribution distribution;
    std::vector<double> kappa;
  };
  const std::vector<Row> rows = {
      {{DistributionKind::kGaussian}, {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
      {{DistributionKind::kUniform},
       {0, 1, 0, -6.0 / 5, 0, 48.0 / 7, 0, -86.4, 0, 20736.0 / 11, 0, -28657152.0 / 455}},
      {{DistributionKind::kRademacher}, {0, 1, 0, -2, 0, 16, 0, -272, 0, 7936, 0, -353792}},
      {{DistributionKind::kLaplace}, {0, 1, 0, 3, 0, 30, 0, 630, 0, 22680, 0, 1247400}},
      {{DistributionKind::kExponential},
       {0, 1, 2, 6, 24, 120, 720, 5040, 40320, 362880, 3628800, 39916800}},
      {{DistributionKind::kGamma, 4.0},
       {0, 1, 1, 1.5, 3, 7.5, 22.5, 78.75, 315, 1417.5, 7087.5, 38981.25}},
  };
  for (const auto& row : rows) {
    for (int n = 1; n <= kOrders; ++n) {
      const double expected = row.kappa[static_cast<size_t>(n - 1)];
      EXPECT_NEAR(row.distribution.exact_cumulant(n), expected, 1e-14 * std::abs(expected))
          << label(row.distribution) << " n = " << n;
    }
  }
  const Distribution uniform;
  EXPECT_THROW(uniform.exact_cumulant(0), std::invalid_argument);
  EXPECT_THROW(uniform.exact_cumulant(kOrders + 1), std::invalid_argument);
}

TEST(Distribution, ExactCumulantsFollowFromRawMomentsToOrder12) {
  for (const auto& d : every_distribution()) {
    const auto kappa = hand_cumulants(hand_raw_moments(d, kOrders), kOrders);
    for (int n = 1; n <= kOrders; ++n) {
      const double expected = static_cast<double>(kappa[static_cast<size_t>(n)]);
      // Relative to the cumulant, or to 1 where it vanishes (the recursion leaves rounding).
      EXPECT_NEAR(d.exact_cumulant(n), expected, 1e-12 * std::max(1.0, std::abs(expected)))
          << label(d) << " n = " << n;
    }
  }
}

TEST(Distribution, RawMomentsMatchClosedFormsAndTheCumulants) {
  const int max_power = 24;
  for (const auto& d : every_distribution()) {
    const auto moments = d.raw_moments(max_power);
    const auto expected = hand_raw_moments(d, max_power);
    ASSERT_EQ(moments.size(), static_cast<size_t>(max_power) + 1);
    for (int k = 0; k <= max_power; ++k) {
      const double value = static_cast<double>(expected[static_cast<size_t>(k)]);
      EXPECT_NEAR(moments[static_cast<size_t>(k)], value, 1e-13 * std::max(1.0, std::abs(value)))
          << label(d) << " k = " << k;
    }
    // The conversions both ways in double: cumulants of the moments are the exact cumulants,
    // and the moments of the exact cumulants are the moments.
    const auto kappa = cumulants_from_raw_moments(moments, kOrders);
    std::vector<double> exact;
    for (int n = 1; n <= kOrders; ++n) exact.push_back(d.exact_cumulant(n));
    const auto back = raw_moments_from_cumulants(exact, kOrders);
    for (int n = 1; n <= kOrders; ++n) {
      const size_t i = static_cast<size_t>(n - 1);
      const double scale = std::max(1.0, std::abs(exact[i]));
      EXPECT_NEAR(kappa[i], exact[i], 1e-12 * scale) << label(d) << " n = " << n;
      EXPECT_NEAR(back[static_cast<size_t>(n)], moments[static_cast<size_t>(n)],
                  1e-12 * std::max(1.0, std::abs(moments[static_cast<size_t>(n)])))
          << label(d) << " n = " << n;
    }
  }
  EXPECT_THROW(cumulants_from_raw_moments({1.0, 0.0}, 2), std::invalid_argument);
}

TEST(Distribution, SiteMomentsOfSmallBlockSumsAreExactAtHighOrder) {
  // d = 1, b = 2, CLT map (delta = 1/2). Uniform sites: (x_1 + x_2) / sqrt 2 has the triangular
  // density, E[y^k] = 2 6^(k/2) / ((k + 1) (k + 2)) for even k. Rademacher sites: y is
  // +-sqrt 2 with probability 1/4 each, else 0, E[y^k] = 2^(k/2) / 2; one level further,
  // (sum of 4) / 2 takes -2..2 with weights 1 4 6 4 1 over 16, E[y^k] = (2^(k+1) + 8) / 16.
  const int max_power = 40;
  const auto triangle = site_raw_moments({DistributionKind::kUniform}, 1, 2, 1, 0.5, max_power);
  const auto pair = site_raw_moments({DistributionKind::kRademacher}, 1, 2, 1, 0.5, max_power);
  const auto four = site_raw_moments({DistributionKind::kRademacher}, 2, 2, 1, 0.5, max_power);
  for (int k = 0; k <= max_power; ++k) {
    const size_t i = static_cast<size_t>(k);
    const bool even = k % 2 == 0;
    const double t = even ? 2 * std::pow(6.0, k / 2) / ((k + 1) * (k + 2)) : 0.0;
    const double p = k == 0 ? 1.0 : even ? std::pow(2.0, k / 2) / 2 : 0.0;
    const double f = k == 0 ? 1.0 : even ? (std::pow(2.0, k + 1) + 8) / 16 : 0.0;
    EXPECT_NEAR(triangle[i], t, 1e-13 * std::abs(t)) << "uniform k = " << k;
    EXPECT_NEAR(pair[i], p, 1e-13 * std::abs(p)) << "rademacher k = " << k;
    EXPECT_NEAR(four[i], f, 1e-13 * std::abs(f)) << "rademacher level 2 k = " << k;
  }
}

TEST(Distribution, SiteMomentsFollowTheCumulantRecursion) {
  // kappa_n(level k) = (N b^(-n delta))^k kappa_n(level 0) (docs/science.md section 1): the CLT map
  // on 3 x 3 blocks (delta = 1), delta = 1 on 2 x 2 x 2 blocks and delta = 0.8 on 3 x 3 blocks.
  struct Case {
    int block_side, dim;
    double delta;
  };
  for (const Case c : {Case{3, 2, 1.0}, Case{2, 3, 1.0}, Case{3, 2, 0.8}}) {
    const double sites = std::pow(c.block_side, c.dim);
    for (const auto& d : every_distribution()) {
      for (int level = 0; level <= 2; ++level) {
        const auto moments = site_raw_moments(d, level, c.block_side, c.dim, c.delta, 8);
        const auto kappa = cumulants_from_raw_moments(moments, 8);
        for (int n = 1; n <= 8; ++n) {
          const double factor = std::pow(sites * std::pow(c.block_side, -n * c.delta), level);
          const double expected = factor * d.exact_cumulant(n);
          // The conversion in double cancels digits of the moments (far larger than kappa_n
          // once the sites are nearly gaussian): tolerances relative to the moments.
          const double scale = std::max({1.0, std::abs(expected), moments[static_cast<size_t>(n)],
                                         moments[static_cast<size_t>(n - 1)]});
          EXPECT_NEAR(kappa[static_cast<size_t>(n - 1)], expected, 1e-13 * scale)
              << label(d) << " level " << level << " n = " << n << " b = " << c.block_side;
        }
      }
    }
  }
}

}  // namespace
}  // namespace rgflow::field

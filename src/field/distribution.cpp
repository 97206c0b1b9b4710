#include "rgflow/field/distribution.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "rgflow/core/text.hpp"

namespace rgflow::field {
namespace {

// Bernoulli numbers B_0..B_12 as numerator / denominator (B_1 = -1/2; the odd ones above it
// vanish).
constexpr double kBernoulliNumerator[] = {1, -1, 1, 0, -1, 0, 1, 0, -1, 0, 5, 0, -691};
constexpr double kBernoulliDenominator[] = {1, 2, 6, 1, 30, 1, 42, 1, 30, 1, 66, 1, 2730};
static_assert(sizeof(kBernoulliNumerator) / sizeof(double) == Distribution::kMaxCumulantOrder + 1);

double bernoulli(int n) {
  return kBernoulliNumerator[n] / kBernoulliDenominator[n];
}

// n! in double: exact up to 22!, correctly rounded products beyond.
double factorial(int n) {
  double value = 1;
  for (int k = 2; k <= n; ++k) value *= k;
  return value;
}

}  // namespace

const std::vector<std::string>& distribution_names() {
  static const std::vector<std::string> names{"gaussian", "uniform",     "rademacher",
                                              "laplace",  "exponential", "gamma"};
  return names;
}

std::optional<DistributionKind> parse_distribution(const std::string& name) {
  return parse_name<DistributionKind>(distribution_names(), name);
}

std::string Distribution::name() const {
  return distribution_names()[static_cast<size_t>(kind)];
}

double Distribution::exact_cumulant(int n) const {
  if (n < 1 || n > kMaxCumulantOrder) {
    throw std::invalid_argument("exact cumulants are known for n = 1.." +
                                std::to_string(kMaxCumulantOrder) + ", not " + std::to_string(n));
  }
  // Every distribution is standardised: kappa_1 = 0, and kappa_2 = 1 follows from the formulas.
  if (n == 1) return 0;
  const bool odd = n % 2 == 1;
  switch (kind) {
    case DistributionKind::kGaussian:
      return n == 2 ? 1.0 : 0.0;
    case DistributionKind::kUniform:
      // On [-sqrt 3, sqrt 3]: kappa_n = (2 sqrt 3)^n B_n / n, and (2 sqrt 3)^n = 12^(n/2) for even
      // n (B_n = 0 for odd n >= 3).
      return odd ? 0.0 : std::pow(12.0, n / 2) * bernoulli(n) / n;
    case DistributionKind::kRademacher: {
      // n! times the coefficient of t^n in log cosh t = sum_n 2^n (2^n - 1) B_n t^n / (n n!).
      if (odd) return 0;
      const double two_n = std::ldexp(1.0, n);
      return two_n * (two_n - 1) * bernoulli(n) / n;
    }
    case DistributionKind::kLaplace:
      // Scale 2^(-1/2): kappa_n = 2 (n-1)! 2^(-n/2) for even n.
      return odd ? 0.0 : 2 * factorial(n - 1) * std::ldexp(1.0, -n / 2);
    case DistributionKind::kExponential:
      return factorial(n - 1);
    case DistributionKind::kGamma:
      // Standardised gamma(a): kappa_n = (n-1)! a^(1 - n/2) for n >= 2.
      return factorial(n - 1) * std::pow(gamma_shape, 1.0 - n / 2.0);
  }
  return 0;
}

std::vector<double> Distribution::raw_moments(int max_power) const {
  if (max_power < 0) throw std::invalid_argument("raw moments need max_power >= 0");
  std::vector<double> m(static_cast<size_t>(max_power) + 1, 0.0);
  m[0] = 1;
  // Exponential(1) - 1 is the standardised gamma of shape 1.
  const double shape = kind == DistributionKind::kExponential ? 1.0 : gamma_shape;
  for (int k = 1; k <= max_power; ++k) {
    const size_t i = static_cast<size_t>(k);
    const bool even = k % 2 == 0;
    switch (kind) {
      case DistributionKind::kGaussian:  // (k - 1)!!
        m[i] = even ? double(k - 1) * m[i - 2] : 0.0;
        break;
      case DistributionKind::kUniform:  // on [-sqrt 3, sqrt 3]: 3^(k/2) / (k + 1)
        m[i] = even ? std::pow(3.0, k / 2) / double(k + 1) : 0.0;
        break;
      case DistributionKind::kRademacher:
        m[i] = even ? 1.0 : 0.0;
        break;
      case DistributionKind::kLaplace:  // scale 2^(-1/2): k! / 2^(k/2) = m_{k-2} k (k - 1) / 2
        m[i] = even ? m[i - 2] * double(k) * double(k - 1) / 2 : 0.0;
        break;
      case DistributionKind::kExponential:
      case DistributionKind::kGamma:
        // The central moments of gamma(a) obey mu_k = (k - 1) (mu_{k-1} + a mu_{k-2}); for
        // m_k = mu_k / a^(k/2) that is m_k = (k - 1) (m_{k-1} / sqrt a + m_{k-2}), a sum of
        // non-negative terms (no cancellation, unlike the binomial expansion of (G - a)^k).
        m[i] = k == 1 ? 0.0 : double(k - 1) * (m[i - 1] / std::sqrt(shape) + m[i - 2]);
        break;
    }
  }
  return m;
}

std::vector<double> cumulants_from_raw_moments(const std::vector<double>& moments, int orders) {
  if (orders < 0 || static_cast<int>(moments.size()) <= orders) {
    throw std::invalid_argument("cumulants to order " + std::to_string(orders) +
                                " need raw moments up to that order");
  }
  std::vector<double> kappa(static_cast<size_t>(orders), 0.0);
  for (int n = 1; n <= orders; ++n) {
    double value = moments[static_cast<size_t>(n)];
    double binomial = 1;  // C(n-1, j-1)
    for (int j = 1; j < n; ++j) {
      value -= binomial * kappa[static_cast<size_t>(j - 1)] * moments[static_cast<size_t>(n - j)];
      binomial = binomial * double(n - j) / double(j);
    }
    kappa[static_cast<size_t>(n - 1)] = value;
  }
  return kappa;
}

std::vector<double> raw_moments_from_cumulants(const std::vector<double>& kappa, int max_power) {
  std::vector<double> m(static_cast<size_t>(max_power) + 1, 0.0);
  m[0] = 1;
  for (int n = 1; n <= max_power; ++n) {
    double value = 0, binomial = 1;  // C(n-1, j-1)
    for (int j = 1; j <= n; ++j) {
      const double k =
          j - 1 < static_cast<int>(kappa.size()) ? kappa[static_cast<size_t>(j - 1)] : 0.0;
      value += binomial * k * m[static_cast<size_t>(n - j)];
      binomial = binomial * double(n - j) / double(j);
    }
    m[static_cast<size_t>(n)] = value;
  }
  return m;
}

std::vector<double> site_raw_moments(const Distribution& distribution, int level, int block_side,
                                     int dim, double scaling_dimension, int max_power) {
  if (level < 0 || block_side < 1 || dim < 1) {
    throw std::invalid_argument("site moments need level >= 0, block side >= 1 and dim >= 1");
  }
  const std::vector<double> site = distribution.raw_moments(max_power);
  if (level == 0) return site;
  // The moments of a block sum by convolution, E[(S + x)^k] = sum_j C(k, j) E[S^j] E[x^(k-j)]
  // for independent S and x. Every odd moment here is 0 (symmetric sites) or positive (gamma),
  // so all terms are non-negative and no digits cancel even at high orders, unlike a detour
  // through the cumulants.
  const size_t size = site.size();
  std::vector<std::vector<double>> binomial(size);
  for (size_t k = 0; k < size; ++k) {
    binomial[k].assign(k + 1, 1.0);
    for (size_t j = 1; j < k; ++j) binomial[k][j] = binomial[k - 1][j - 1] + binomial[k - 1][j];
  }
  int sites = 1;
  for (int axis = 0; axis < dim; ++axis) sites *= block_side;
  const double scale = std::pow(double(block_side), -scaling_dimension);
  std::vector<double> current = site, sum(size);
  for (int l = 0; l < level; ++l) {
    std::vector<double> block = current;  // one site of the block
    for (int s = 1; s < sites; ++s) {
      for (size_t k = 0; k < size; ++k) {
        double value = 0;
        for (size_t j = 0; j <= k; ++j) value += binomial[k][j] * block[j] * current[k - j];
        sum[k] = value;
      }
      block.swap(sum);
    }
    double factor = 1;
    for (size_t k = 0; k < size; ++k, factor *= scale) current[k] = block[k] * factor;
  }
  return current;
}

}  // namespace rgflow::field

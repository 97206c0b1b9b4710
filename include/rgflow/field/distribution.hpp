// The site distributions of docs/science.md section 2, each standardised to mean 0 and variance 1,
// their exact cumulants and raw moments (what the tests and the analysis compare against), and
// the raw moments of a site of any coarse-grained level of i.i.d. sites.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rgflow::field {

enum class DistributionKind { kGaussian, kUniform, kRademacher, kLaplace, kExponential, kGamma };

struct Distribution {
  /// The highest order of exact_cumulant (the highest the moment accumulators estimate).
  static constexpr int kMaxCumulantOrder = 12;

  DistributionKind kind = DistributionKind::kUniform;
  double gamma_shape = 0;  // a > 0, used by kGamma only

  std::string name() const;
  /// Exact cumulant kappa_n of the standardised distribution (kappa_1 = 0, kappa_2 = 1), for
  /// 1 <= n <= kMaxCumulantOrder; std::invalid_argument for other n.
  double exact_cumulant(int n) const;
  /// Exact raw moments E[x^k], k = 0..max_power (max_power >= 0), of the standardised
  /// distribution, from closed forms (not from the cumulants).
  std::vector<double> raw_moments(int max_power) const;
};

/// The names accepted by -distribution, in a fixed order.
const std::vector<std::string>& distribution_names();
/// Parses a name from distribution_names(); nullopt if unknown.
std::optional<DistributionKind> parse_distribution(const std::string& name);

/// Cumulants kappa_1..kappa_orders (index n - 1) from raw moments E[x^k], k = 0..orders, by
/// kappa_n = m_n - sum_{j=1}^{n-1} C(n-1, j-1) kappa_j m_{n-j}.
std::vector<double> cumulants_from_raw_moments(const std::vector<double>& moments, int orders);

/// Raw moments E[x^k], k = 0..max_power, of a variable with the given cumulants kappa[n - 1]
/// (missing ones taken as zero): m_n = sum_{j=1}^{n} C(n-1, j-1) kappa_j m_{n-j}.
std::vector<double> raw_moments_from_cumulants(const std::vector<double>& kappa, int max_power);

/// Raw moments E[x^k], k = 0..max_power, of one site of level `level` of a dataset whose level-0
/// sites are i.i.d. with `distribution`: each coarse-graining y = b^(-delta) sum of the
/// N = b^d values of a block (b = block_side, d = dim, delta = scaling_dimension) takes the
/// moments of an N-fold sum of independent copies, then scales E[y^k] by b^(-k delta).
std::vector<double> site_raw_moments(const Distribution& distribution, int level, int block_side,
                                     int dim, double scaling_dimension, int max_power);

}  // namespace rgflow::field

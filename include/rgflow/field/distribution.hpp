// The site distributions of SCIENCE.md section 2, each standardised to mean 0 and variance 1,
// and the exact cumulants the tests and the analysis compare against.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rgflow::field {

enum class DistributionKind { kGaussian, kUniform, kRademacher, kLaplace, kExponential, kGamma };

struct Distribution {
  DistributionKind kind = DistributionKind::kUniform;
  double gamma_shape = 0;  // a > 0, used by kGamma only

  std::string name() const;
  /// Exact cumulant kappa_n of the standardised distribution (kappa_1 = 0, kappa_2 = 1), for
  /// 1 <= n <= 8.
  double exact_cumulant(int n) const;
};

/// The names accepted by -distribution, in a fixed order.
const std::vector<std::string>& distribution_names();
/// Parses a name from distribution_names(); nullopt if unknown.
std::optional<DistributionKind> parse_distribution(const std::string& name);

}  // namespace rgflow::field

#include "rgflow/field/distribution.hpp"

#include <cmath>
#include <stdexcept>

namespace rgflow::field {
namespace {

// Cumulants kappa_1..kappa_8 (index 0 is kappa_1) of the distributions with no parameter, as
// tabulated in SCIENCE.md section 2.
constexpr double kGaussian[8] = {0, 1, 0, 0, 0, 0, 0, 0};
constexpr double kUniform[8] = {0, 1, 0, -6.0 / 5.0, 0, 48.0 / 7.0, 0, -86.4};
constexpr double kRademacher[8] = {0, 1, 0, -2, 0, 16, 0, -272};
constexpr double kLaplace[8] = {0, 1, 0, 3, 0, 30, 0, 630};
constexpr double kExponential[8] = {0, 1, 2, 6, 24, 120, 720, 5040};

}  // namespace

const std::vector<std::string>& distribution_names() {
  static const std::vector<std::string> names{"gaussian", "uniform",     "rademacher",
                                              "laplace",  "exponential", "gamma"};
  return names;
}

std::optional<DistributionKind> parse_distribution(const std::string& name) {
  const auto& names = distribution_names();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<DistributionKind>(i);
  }
  return std::nullopt;
}

std::string Distribution::name() const {
  return distribution_names()[static_cast<size_t>(kind)];
}

double Distribution::exact_cumulant(int n) const {
  if (n < 1 || n > 8) throw std::invalid_argument("exact cumulants are tabulated for n = 1..8");
  const size_t i = static_cast<size_t>(n - 1);
  switch (kind) {
    case DistributionKind::kGaussian:
      return kGaussian[i];
    case DistributionKind::kUniform:
      return kUniform[i];
    case DistributionKind::kRademacher:
      return kRademacher[i];
    case DistributionKind::kLaplace:
      return kLaplace[i];
    case DistributionKind::kExponential:
      return kExponential[i];
    case DistributionKind::kGamma: {
      // Standardised gamma(a): kappa_n = (n-1)! a^(1 - n/2) for n >= 2.
      if (n == 1) return 0;
      double factorial = 1;
      for (int m = 2; m < n; ++m) factorial *= m;
      return factorial * std::pow(gamma_shape, 1.0 - n / 2.0);
    }
  }
  return 0;
}

}  // namespace rgflow::field

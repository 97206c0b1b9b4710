// Cumulants across scales (docs/science.md sections 1 and 3): per level, kappa_1..kappa_P with
// jackknife errors, the k-statistics, and the checks against the exact recursion
// kappa_n(k+1) = lambda_n kappa_n(k), lambda_n = N b^(-n Delta) (= N^(1 - n/2) for the CLT map).
#pragma once

#include <array>
#include <functional>
#include <vector>

#include "rgflow/analysis/jackknife.hpp"
#include "rgflow/field/distribution.hpp"

namespace rgflow::analysis {

struct CumulantFlow {
  // [level][n - 1] for n = 1..P.
  std::vector<std::vector<Estimate>> kappa;
  std::vector<std::array<double, 4>> k_statistics;  // k_1..k_4 (NaN when P < 4)
  std::vector<std::vector<double>> exact;    // lambda_n^k kappa_n(distribution), NaN if unknown
  std::vector<std::vector<double>> z_exact;  // (kappa - exact) / error
  /// kappa_n(k) - lambda_n^k kappa_n(0), both measured, with its jackknife error.
  std::vector<std::vector<Estimate>> recursion_difference;
  /// [k - 1][n - 1]: measured eigenvalue kappa_n(k) / kappa_n(k - 1), k >= 1.
  std::vector<std::vector<Estimate>> eigenvalue;
  std::vector<double> expected_eigenvalue;  // lambda_n
};

/// `groups[level][g]`: moments of jackknife group g at that level (the same samples at every
/// level). `exact_cumulant(n)`: kappa_n of the level-0 distribution, or NaN if unknown.
CumulantFlow cumulant_flow(const std::vector<std::vector<CentralMoments>>& groups,
                           double sites_per_block, double block_side, double scaling_dimension,
                           const std::function<double(int)>& exact_cumulant);

/// kappa_n of `distribution` where it is known (Distribution::exact_cumulant), NaN elsewhere
/// (orders beyond its tables): the `exact_cumulant` of a flow of data drawn from it.
std::function<double(int)> known_exact_cumulants(const field::Distribution& distribution);

}  // namespace rgflow::analysis

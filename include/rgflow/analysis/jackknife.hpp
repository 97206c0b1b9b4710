// Delete-one jackknife errors for quantities estimated from groups of samples.
#pragma once

#include <vector>

#include "rgflow/analysis/moments.hpp"

namespace rgflow::analysis {

struct Estimate {
  double value = 0;
  double error = 0;
};

/// For each group i, kappa_1..kappa_P of all groups but i merged (the merges use prefix and
/// suffix sums: O(G) merges). Needs at least 2 groups of the same order.
std::vector<std::vector<double>> leave_one_out_cumulants(const std::vector<CentralMoments>& groups);

/// Value `full[n]` with the jackknife error sqrt((G-1)/G sum_i (theta_(i) - mean theta_(.))^2)
/// from the G leave-one-out values `left_out[i][n]`.
std::vector<Estimate> jackknife(const std::vector<double>& full,
                                const std::vector<std::vector<double>>& left_out);

/// kappa_1..kappa_P of all groups merged (index 0 holds kappa_1) with jackknife errors.
std::vector<Estimate> jackknife_cumulants(const std::vector<CentralMoments>& groups);

}  // namespace rgflow::analysis

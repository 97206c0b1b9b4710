// Delete-one jackknife errors for cumulants estimated from groups of samples.
#pragma once

#include <vector>

#include "rgflow/analysis/moments.hpp"

namespace rgflow::analysis {

struct Estimate {
  double value = 0;
  double error = 0;
};

/// kappa_1..kappa_P of all groups merged (index 0 holds kappa_1), each with the delete-one
/// jackknife error over the groups: sqrt((G-1)/G sum_i (theta_(i) - mean theta_(.))^2), where
/// theta_(i) leaves group i out. Needs at least 2 groups, all of the same order.
std::vector<Estimate> jackknife_cumulants(const std::vector<CentralMoments>& groups);

}  // namespace rgflow::analysis

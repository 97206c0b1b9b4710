#include "rgflow/analysis/cumulant_flow.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace rgflow::analysis {

CumulantFlow cumulant_flow(const std::vector<std::vector<CentralMoments>>& groups,
                           double sites_per_block, double block_side, double scaling_dimension,
                           const std::function<double(int)>& exact_cumulant) {
  CumulantFlow flow;
  const size_t levels = groups.size();
  const int order = groups.front().front().max_order();
  for (int n = 1; n <= order; ++n) {
    flow.expected_eigenvalue.push_back(sites_per_block *
                                       std::pow(block_side, -n * scaling_dimension));
  }
  std::vector<std::vector<double>> full(levels);
  std::vector<std::vector<std::vector<double>>> left_out(levels);
  for (size_t k = 0; k < levels; ++k) {
    CentralMoments all(order);
    for (const auto& group : groups[k]) all.merge(group);
    full[k] = all.cumulants();
    left_out[k] = leave_one_out_cumulants(groups[k]);
    flow.kappa.push_back(jackknife(full[k], left_out[k]));
    std::array<double, 4> k_stats{NAN, NAN, NAN, NAN};
    if (order >= 4 && all.count() >= 4) k_stats = k_statistics(all);
    flow.k_statistics.push_back(k_stats);
  }
  const size_t g_count = left_out[0].size();
  for (size_t k = 0; k < levels; ++k) {
    std::vector<double> exact(static_cast<size_t>(order)), z(static_cast<size_t>(order));
    std::vector<double> difference(static_cast<size_t>(order));
    std::vector<std::vector<double>> difference_left(g_count, std::vector<double>(order));
    for (int n = 1; n <= order; ++n) {
      const size_t i = static_cast<size_t>(n - 1);
      const double factor = std::pow(flow.expected_eigenvalue[i], double(k));
      exact[i] = factor * exact_cumulant(n);
      z[i] = (full[k][i] - exact[i]) / flow.kappa[k][i].error;
      difference[i] = full[k][i] - factor * full[0][i];
      for (size_t g = 0; g < g_count; ++g) {
        difference_left[g][i] = left_out[k][g][i] - factor * left_out[0][g][i];
      }
    }
    flow.exact.push_back(exact);
    flow.z_exact.push_back(z);
    flow.recursion_difference.push_back(jackknife(difference, difference_left));
    if (k == 0) continue;
    std::vector<double> ratio(static_cast<size_t>(order));
    std::vector<std::vector<double>> ratio_left(g_count, std::vector<double>(order));
    for (size_t i = 0; i < static_cast<size_t>(order); ++i) {
      ratio[i] = full[k][i] / full[k - 1][i];
      for (size_t g = 0; g < g_count; ++g)
        ratio_left[g][i] = left_out[k][g][i] / left_out[k - 1][g][i];
    }
    flow.eigenvalue.push_back(jackknife(ratio, ratio_left));
  }
  return flow;
}

std::function<double(int)> known_exact_cumulants(const field::Distribution& distribution) {
  return [distribution](int n) {
    try {
      return distribution.exact_cumulant(n);
    } catch (const std::invalid_argument&) {
      return std::numeric_limits<double>::quiet_NaN();
    }
  };
}

}  // namespace rgflow::analysis

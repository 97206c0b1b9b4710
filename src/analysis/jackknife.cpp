#include "rgflow/analysis/jackknife.hpp"

#include <cmath>
#include <stdexcept>

namespace rgflow::analysis {

std::vector<std::vector<double>> leave_one_out_cumulants(
    const std::vector<CentralMoments>& groups) {
  const size_t count = groups.size();
  if (count < 2) throw std::invalid_argument("the jackknife needs at least 2 groups");
  const int order = groups.front().max_order();
  // prefix[i] merges groups [0, i), suffix[i] merges [i, count).
  std::vector<CentralMoments> prefix(count + 1, CentralMoments(order));
  std::vector<CentralMoments> suffix(count + 1, CentralMoments(order));
  for (size_t i = 0; i < count; ++i) {
    prefix[i + 1] = prefix[i];
    prefix[i + 1].merge(groups[i]);
  }
  for (size_t i = count; i-- > 0;) {
    suffix[i] = groups[i];
    suffix[i].merge(suffix[i + 1]);
  }
  std::vector<std::vector<double>> left_out;
  for (size_t i = 0; i < count; ++i) {
    CentralMoments without = prefix[i];
    without.merge(suffix[i + 1]);
    left_out.push_back(without.cumulants());
  }
  return left_out;
}

std::vector<Estimate> jackknife(const std::vector<double>& full,
                                const std::vector<std::vector<double>>& left_out) {
  const double g = static_cast<double>(left_out.size());
  std::vector<Estimate> result(full.size());
  for (size_t n = 0; n < full.size(); ++n) {
    double mean = 0;
    for (const auto& values : left_out) mean += values[n];
    mean /= g;
    double spread = 0;
    for (const auto& values : left_out) spread += (values[n] - mean) * (values[n] - mean);
    result[n] = {full[n], std::sqrt((g - 1) / g * spread)};
  }
  return result;
}

std::vector<Estimate> jackknife_cumulants(const std::vector<CentralMoments>& groups) {
  const auto left_out = leave_one_out_cumulants(groups);
  CentralMoments all(groups.front().max_order());
  for (const auto& group : groups) all.merge(group);
  return jackknife(all.cumulants(), left_out);
}

}  // namespace rgflow::analysis

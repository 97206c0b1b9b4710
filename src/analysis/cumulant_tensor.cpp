#include "rgflow/analysis/cumulant_tensor.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace rgflow::analysis {

int64_t tensor_size(int width, int order) {
  int64_t value = 1;
  for (int k = 0; k < order; ++k) value *= width;
  return value;
}

bool next_sorted_tuple(int* tuple, int order, int width) {
  int i = order - 1;
  while (i >= 0 && tuple[i] == width - 1) --i;
  if (i < 0) return false;
  ++tuple[i];
  for (int j = i + 1; j < order; ++j) tuple[j] = tuple[i];
  return true;
}

void append_sorted_tuples(int width, int order, std::vector<std::vector<int>>& out) {
  std::vector<int> tuple(static_cast<size_t>(order), 0);
  do {
    out.push_back(tuple);
  } while (next_sorted_tuple(tuple.data(), order, width));
}

std::vector<std::vector<int>> sorted_tuples(int width, int max_order) {
  std::vector<std::vector<int>> tuples;
  for (int n = 1; n <= max_order; ++n) append_sorted_tuples(width, n, tuples);
  return tuples;
}

void scatter_symmetric(std::vector<double>& tensor, std::vector<int> tuple, int width,
                       double value) {
  std::sort(tuple.begin(), tuple.end());
  do {
    tensor[static_cast<size_t>(flat_index(tuple, width))] = value;
  } while (std::next_permutation(tuple.begin(), tuple.end()));
}

double cumulant_from_central(const std::vector<int>& t, const CentralMoment& central) {
  switch (t.size()) {
    case 2:
    case 3:
      return central(t);
    case 4:
      return central(t) - central({t[0], t[1]}) * central({t[2], t[3]}) -
             central({t[0], t[2]}) * central({t[1], t[3]}) -
             central({t[0], t[3]}) * central({t[1], t[2]});
    default:
      throw std::invalid_argument("cumulant_from_central: order 2 to 4");
  }
}

JointCumulants joint_cumulants_from_central(const std::vector<double>& mean, int max_order,
                                            const CentralMoment& central) {
  const int w = static_cast<int>(mean.size());
  JointCumulants out;
  out.width = w;
  out.kappa.resize(static_cast<size_t>(max_order));
  out.kappa[0] = mean;
  for (int n = 2; n <= max_order; ++n) {
    auto& tensor = out.kappa[static_cast<size_t>(n - 1)];
    tensor.assign(static_cast<size_t>(tensor_size(w, n)), 0.0);
    std::vector<std::vector<int>> tuples;
    append_sorted_tuples(w, n, tuples);
    for (const auto& t : tuples) scatter_symmetric(tensor, t, w, cumulant_from_central(t, central));
  }
  return out;
}

JointCumulants iid_cumulants(int width, const std::vector<double>& kappa, int max_order) {
  JointCumulants in;
  in.width = width;
  in.kappa.resize(static_cast<size_t>(max_order));
  for (int n = 1; n <= max_order; ++n) {
    auto& tensor = in.kappa[static_cast<size_t>(n - 1)];
    tensor.assign(static_cast<size_t>(tensor_size(width, n)), 0.0);
    for (int i = 0; i < width; ++i) {
      tensor[static_cast<size_t>(flat_index(std::vector<int>(static_cast<size_t>(n), i), width))] =
          n - 1 < static_cast<int>(kappa.size()) ? kappa[static_cast<size_t>(n - 1)] : 0.0;
    }
  }
  return in;
}

double relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw std::invalid_argument("relative_difference: sizes differ");
  double difference = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return norm > 0 ? std::sqrt(difference / norm) : std::sqrt(difference);
}

}  // namespace rgflow::analysis

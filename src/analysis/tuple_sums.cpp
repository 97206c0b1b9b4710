#include "rgflow/analysis/tuple_sums.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace rgflow::analysis {

using nn::Matrix;

namespace {

// Sum of a[s] * b[s] (b = nullptr: of a[s]) over s < count in kLanes fixed lanes, lane j taking
// s = j mod kLanes, then the lanes added pairwise: the order of the additions is fixed, so the
// result is reproducible, and the lanes are independent, so the loop runs at the machine's vector
// throughput instead of the latency of one chain of additions.
constexpr size_t kLanes = 32;

double lane_sum(const double* a, const double* b, size_t count) {
  double lanes[kLanes] = {};
  size_t s = 0;
  if (b == nullptr) {
    for (; s + kLanes <= count; s += kLanes)
      for (size_t j = 0; j < kLanes; ++j) lanes[j] += a[s + j];
    for (size_t j = 0; s + j < count; ++j) lanes[j] += a[s + j];
  } else {
    for (; s + kLanes <= count; s += kLanes)
      for (size_t j = 0; j < kLanes; ++j) lanes[j] += a[s + j] * b[s + j];
    for (size_t j = 0; s + j < count; ++j) lanes[j] += a[s + j] * b[s + j];
  }
  for (size_t width = kLanes / 2; width > 0; width /= 2)
    for (size_t j = 0; j < width; ++j) lanes[j] += lanes[j + width];
  return lanes[0];
}

}  // namespace

void add_tuple_sums(const Matrix<double>& centered, int max_order, std::vector<double>& sums) {
  const int width = static_cast<int>(centered.rows());
  const size_t tuple_count = sorted_tuples(width, max_order).size();
  if (sums.size() != tuple_count) sums.assign(tuple_count, 0.0);
  // Each tuple's product ((x_a1 x_a2) x_a3) x_a4 over the samples, summed in fixed lanes
  // (lane_sum), so the sums are reproducible. Lexicographic tuples of one order share their
  // prefixes: the product of a prefix is formed once (prefix[depth]), and the last factor is
  // multiplied in inside the sum.
  const size_t count = static_cast<size_t>(centered.cols());
  const Matrix<double> transposed = centered.transpose();  // samples x units: columns contiguous
  std::vector<std::vector<double>> prefix(static_cast<size_t>(max_order),
                                          std::vector<double>(count));
  size_t k = 0;  // the next tuple, in the order of sorted_tuples
  for (int order = 1; order <= max_order; ++order) {
    auto extend = [&](auto& self, int depth, int first) -> void {
      const double* shorter = depth == 0 ? nullptr : prefix[static_cast<size_t>(depth - 1)].data();
      for (int a = first; a < width; ++a) {
        const double* column = transposed.col(a).data();
        if (depth + 1 == order) {
          sums[k++] += shorter == nullptr ? lane_sum(column, nullptr, count)
                                          : lane_sum(shorter, column, count);
          continue;
        }
        double* product = prefix[static_cast<size_t>(depth)].data();
        if (shorter == nullptr) {
          std::copy(column, column + count, product);
        } else {
          for (size_t s = 0; s < count; ++s) product[s] = shorter[s] * column[s];
        }
        self(self, depth + 1, a);
      }
    };
    extend(extend, 0, 0);
  }
}

std::vector<double> tuple_cumulants_from_sums(const std::vector<double>& sums, double count,
                                              const std::vector<double>& centre, int max_order) {
  const int w = static_cast<int>(centre.size());
  // The sorted tuples in the order of the sums, flat (this runs once per jackknife group: no
  // allocation per tuple), with their lengths.
  struct Tuple {
    std::array<int, 4> t;
    int n;
  };
  std::vector<Tuple> tuples;
  for (int n = 1; n <= max_order; ++n) {
    std::array<int, 4> t{0, 0, 0, 0};
    do {
      tuples.push_back({t, n});
    } while (next_sorted_tuple(t.data(), n, w));
  }
  if (sums.size() != tuples.size()) throw std::invalid_argument("tuple sums: wrong size");
  // Moments about the centre, one per sorted tuple; a sorted tuple's sub-tuples are sorted, so
  // the moments they need are found through tables from flat (a, b) and (a, b, c) to the tuple's
  // position. Then central moments by the binomial expansion of prod ((x - c) - d),
  // d = E[x - c], and cumulants from those.
  std::vector<double> raw(sums.size());
  for (size_t k = 0; k < sums.size(); ++k) raw[k] = sums[k] / count;
  std::vector<size_t> at2(static_cast<size_t>(tensor_size(w, 2)), 0);
  std::vector<size_t> at3(max_order >= 3 ? static_cast<size_t>(tensor_size(w, 3)) : 0, 0);
  for (size_t k = 0; k < tuples.size(); ++k) {
    const auto& [t, n] = tuples[k];
    if (n == 2) at2[static_cast<size_t>(t[0] * w + t[1])] = k;
    if (n == 3) at3[static_cast<size_t>((t[0] * w + t[1]) * w + t[2])] = k;
  }
  const double* d = raw.data();  // order 1 comes first: d[a] for unit a
  auto r2 = [&](int a, int b) { return raw[at2[static_cast<size_t>(a * w + b)]]; };
  auto r3 = [&](int a, int b, int c) { return raw[at3[static_cast<size_t>((a * w + b) * w + c)]]; };
  auto c2 = [&](int a, int b) {
    return r2(a, b) - d[static_cast<size_t>(a)] * d[static_cast<size_t>(b)];
  };
  std::vector<double> out(tuples.size());
  for (size_t k = 0; k < tuples.size(); ++k) {
    const auto& [t, n] = tuples[k];
    const size_t a = static_cast<size_t>(t[0]), b = static_cast<size_t>(t[1]);
    const size_t c = static_cast<size_t>(t[2]), e = static_cast<size_t>(t[3]);
    if (n == 1) {
      out[k] = centre[a] + d[k];
    } else if (n == 2) {
      out[k] = c2(t[0], t[1]);
    } else if (n == 3) {
      out[k] = raw[k] - r2(t[0], t[1]) * d[c] - r2(t[0], t[2]) * d[b] - r2(t[1], t[2]) * d[a] +
               2 * d[a] * d[b] * d[c];
    } else {
      const double central = raw[k] - r3(t[0], t[1], t[2]) * d[e] - r3(t[0], t[1], t[3]) * d[c] -
                             r3(t[0], t[2], t[3]) * d[b] - r3(t[1], t[2], t[3]) * d[a] +
                             r2(t[0], t[1]) * d[c] * d[e] + r2(t[0], t[2]) * d[b] * d[e] +
                             r2(t[0], t[3]) * d[b] * d[c] + r2(t[1], t[2]) * d[a] * d[e] +
                             r2(t[1], t[3]) * d[a] * d[c] + r2(t[2], t[3]) * d[a] * d[b] -
                             3 * d[a] * d[b] * d[c] * d[e];
      out[k] = central - c2(t[0], t[1]) * c2(t[2], t[3]) - c2(t[0], t[2]) * c2(t[1], t[3]) -
               c2(t[0], t[3]) * c2(t[1], t[2]);
    }
  }
  return out;
}

JointCumulants scatter_tuple_values(const std::vector<double>& values, int width, int max_order) {
  const auto tuples = sorted_tuples(width, max_order);
  if (values.size() != tuples.size()) throw std::invalid_argument("tuple values: wrong size");
  JointCumulants out;
  out.width = width;
  out.kappa.resize(static_cast<size_t>(max_order));
  for (int n = 1; n <= max_order; ++n) {
    out.kappa[static_cast<size_t>(n - 1)].assign(static_cast<size_t>(tensor_size(width, n)), 0.0);
  }
  for (size_t k = 0; k < tuples.size(); ++k) {
    scatter_symmetric(out.kappa[tuples[k].size() - 1], tuples[k], width, values[k]);
  }
  return out;
}

JointCumulants cumulants_from_tuple_sums(const std::vector<double>& sums, double count,
                                         const std::vector<double>& centre, int max_order) {
  return scatter_tuple_values(tuple_cumulants_from_sums(sums, count, centre, max_order),
                              static_cast<int>(centre.size()), max_order);
}

}  // namespace rgflow::analysis

#include "rgflow/analysis/tuple_sums.hpp"

#include <algorithm>
#include <stdexcept>

namespace rgflow::analysis {

using nn::Matrix;

void add_tuple_sums(const Matrix<double>& centered, int max_order, std::vector<double>& sums) {
  const int width = static_cast<int>(centered.rows());
  const size_t tuple_count = sorted_tuples(width, max_order).size();
  if (sums.size() != tuple_count) sums.assign(tuple_count, 0.0);
  // Each tuple's product ((x_a1 x_a2) x_a3) x_a4 over the samples, summed in sample order, so the
  // sums are reproducible. Lexicographic tuples of one order share their prefixes: the product of
  // a prefix is formed once (prefix[depth]) and extended by one column per tuple.
  const size_t count = static_cast<size_t>(centered.cols());
  const Matrix<double> transposed = centered.transpose();  // samples x units: columns contiguous
  std::vector<std::vector<double>> prefix(static_cast<size_t>(max_order),
                                          std::vector<double>(count));
  size_t k = 0;  // the next tuple, in the order of sorted_tuples
  for (int order = 1; order <= max_order; ++order) {
    auto extend = [&](auto& self, int depth, int first) -> void {
      std::vector<double>& product = prefix[static_cast<size_t>(depth)];
      for (int a = first; a < width; ++a) {
        const double* column = transposed.col(a).data();
        if (depth == 0) {
          std::copy(column, column + count, product.begin());
        } else {
          const std::vector<double>& shorter = prefix[static_cast<size_t>(depth - 1)];
          for (size_t s = 0; s < count; ++s) product[s] = shorter[s] * column[s];
        }
        if (depth + 1 == order) {
          double sum = 0;
          for (double v : product) sum += v;
          sums[k++] += sum;
        } else {
          self(self, depth + 1, a);
        }
      }
    };
    extend(extend, 0, 0);
  }
}

JointCumulants cumulants_from_tuple_sums(const std::vector<double>& sums, double count,
                                         const std::vector<double>& centre, int max_order) {
  const int w = static_cast<int>(centre.size());
  const auto tuples = sorted_tuples(w, max_order);
  if (sums.size() != tuples.size()) throw std::invalid_argument("tuple sums: wrong size");
  // Full tensors of the moments about the centre, then central moments by the binomial
  // expansion of prod ((x - c) - d), d = E[x - c], and cumulants from those.
  std::vector<std::vector<double>> raw(static_cast<size_t>(max_order));
  for (int n = 1; n <= max_order; ++n)
    raw[static_cast<size_t>(n - 1)].assign(static_cast<size_t>(tensor_size(w, n)), 0.0);
  for (size_t k = 0; k < tuples.size(); ++k) {
    scatter_symmetric(raw[tuples[k].size() - 1], tuples[k], w, sums[k] / count);
  }
  const std::vector<double>& d = raw[0];
  auto r2 = [&](int a, int b) { return raw[1][static_cast<size_t>(a * w + b)]; };
  auto r3 = [&](int a, int b, int c) { return raw[2][static_cast<size_t>((a * w + b) * w + c)]; };
  auto c2 = [&](int a, int b) {
    return r2(a, b) - d[static_cast<size_t>(a)] * d[static_cast<size_t>(b)];
  };
  auto central = [&](const std::vector<int>& t) {
    const size_t a = static_cast<size_t>(t[0]), b = static_cast<size_t>(t[1]);
    if (t.size() == 2) return c2(t[0], t[1]);
    const size_t c = static_cast<size_t>(t[2]);
    if (t.size() == 3) {
      return r3(t[0], t[1], t[2]) - r2(t[0], t[1]) * d[c] - r2(t[0], t[2]) * d[b] -
             r2(t[1], t[2]) * d[a] + 2 * d[a] * d[b] * d[c];
    }
    const size_t e = static_cast<size_t>(t[3]);
    const double r4 = raw[3][static_cast<size_t>(flat_index(t, w))];
    return r4 - r3(t[0], t[1], t[2]) * d[e] - r3(t[0], t[1], t[3]) * d[c] -
           r3(t[0], t[2], t[3]) * d[b] - r3(t[1], t[2], t[3]) * d[a] +
           r2(t[0], t[1]) * d[c] * d[e] + r2(t[0], t[2]) * d[b] * d[e] +
           r2(t[0], t[3]) * d[b] * d[c] + r2(t[1], t[2]) * d[a] * d[e] +
           r2(t[1], t[3]) * d[a] * d[c] + r2(t[2], t[3]) * d[a] * d[b] -
           3 * d[a] * d[b] * d[c] * d[e];
  };
  JointCumulants out;
  out.width = w;
  out.kappa.resize(static_cast<size_t>(max_order));
  out.kappa[0].resize(static_cast<size_t>(w));
  for (int a = 0; a < w; ++a) {
    out.kappa[0][static_cast<size_t>(a)] =
        centre[static_cast<size_t>(a)] + d[static_cast<size_t>(a)];
  }
  for (int n = 2; n <= max_order; ++n) {
    auto& tensor = out.kappa[static_cast<size_t>(n - 1)];
    tensor.assign(static_cast<size_t>(tensor_size(w, n)), 0.0);
    std::vector<std::vector<int>> order_tuples;
    append_sorted_tuples(w, n, order_tuples);
    for (const auto& t : order_tuples) {
      const double value = n < 4 ? central(t)
                                 : central(t) - c2(t[0], t[1]) * c2(t[2], t[3]) -
                                       c2(t[0], t[2]) * c2(t[1], t[3]) -
                                       c2(t[0], t[3]) * c2(t[1], t[2]);
      scatter_symmetric(tensor, t, w, value);
    }
  }
  return out;
}

}  // namespace rgflow::analysis

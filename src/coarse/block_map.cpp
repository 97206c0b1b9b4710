#include "rgflow/coarse/block_map.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rgflow::coarse {

namespace {

// sums[j] += line[j b], .., line[j b + b - 1], in that order. A compile-time block side lets the
// compiler unroll the inner loop and vectorise across j; the order of additions is unchanged.
template <int B, typename T>
void add_fixed_block_rows(const T* line, int64_t count, double* sums) {
  for (int64_t j = 0; j < count; ++j) {
    double sum = sums[j];
    for (int q = 0; q < B; ++q) sum += static_cast<double>(line[j * B + q]);
    sums[j] = sum;
  }
}

template <typename T>
void add_block_rows(const T* line, int64_t b, int64_t count, double* sums) {
  switch (b) {
    case 2:
      return add_fixed_block_rows<2>(line, count, sums);
    case 3:
      return add_fixed_block_rows<3>(line, count, sums);
    case 4:
      return add_fixed_block_rows<4>(line, count, sums);
    default:
      for (int64_t j = 0; j < count; ++j) {
        double sum = sums[j];
        for (int64_t q = 0; q < b; ++q) sum += static_cast<double>(line[j * b + q]);
        sums[j] = sum;
      }
  }
}

}  // namespace

double block_map_scale(int64_t block_side, double scaling_dimension) {
  return std::pow(static_cast<double>(block_side), -scaling_dimension);
}

template <typename T>
void block_sum_map(const T* in, int dim, const std::array<int64_t, 3>& extent, int64_t block_side,
                   double scale, T* out) {
  const int64_t b = block_side;
  if (dim == 1) {
    for (int64_t i = 0; i < extent[0] / b; ++i) {
      double sum = 0;
      for (int64_t p = 0; p < b; ++p) sum += in[i * b + p];
      out[i] = static_cast<T>(scale * sum);
    }
    return;
  }
  // Accumulate a whole output row at once, visiting the input row by row (contiguous reads);
  // every output element still receives its block's sites in lexicographic order.
  const int64_t row_in = extent[dim - 1], row_out = row_in / b;
  std::vector<double> sums(static_cast<size_t>(row_out));
  const int64_t planes = dim == 3 ? extent[0] / b : 1;
  const int64_t rows = extent[dim - 2] / b;
  for (int64_t plane = 0; plane < planes; ++plane) {
    for (int64_t row = 0; row < rows; ++row) {
      std::fill(sums.begin(), sums.end(), 0.0);
      for (int64_t dp = 0; dp < (dim == 3 ? b : 1); ++dp) {
        for (int64_t dr = 0; dr < b; ++dr) {
          const int64_t in_plane = plane * (dim == 3 ? b : 0) + dp;
          const T* line = in + (in_plane * extent[dim - 2] + row * b + dr) * row_in;
          add_block_rows(line, b, row_out, sums.data());
        }
      }
      T* target = out + (plane * rows + row) * row_out;
      for (int64_t j = 0; j < row_out; ++j) {
        target[j] = static_cast<T>(scale * sums[static_cast<size_t>(j)]);
      }
    }
  }
}

template void block_sum_map<float>(const float*, int, const std::array<int64_t, 3>&, int64_t,
                                   double, float*);
template void block_sum_map<double>(const double*, int, const std::array<int64_t, 3>&, int64_t,
                                    double, double*);

}  // namespace rgflow::coarse

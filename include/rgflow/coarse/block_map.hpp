// The RG block map of docs/science.md section 1 as a kernel on a local array:
//   y_I = b^(-Delta) * sum_{i in block I} x_i,
// with Delta = d/2 for the CLT map. Each block sum is accumulated in double, in the lexicographic
// order of the sites inside the block (slowest axis first), then scaled and rounded once to T; any
// independent reimplementation with that order reproduces it bit for bit.
#pragma once

#include <array>
#include <cstdint>

namespace rgflow::coarse {

/// b^(-Delta), the factor applied to every block sum.
double block_map_scale(int64_t block_side, double scaling_dimension);

/// `in` has shape extent[0] x .. x extent[dim-1] (row-major, last axis fastest), every extent a
/// multiple of `block_side`; `out` receives shape extent / block_side. T is float or double.
template <typename T>
void block_sum_map(const T* in, int dim, const std::array<int64_t, 3>& extent, int64_t block_side,
                   double scale, T* out);

}  // namespace rgflow::coarse

#include "rgflow/coarse/block_pairs.hpp"

namespace rgflow::coarse {

int64_t pairs_per_sample(int dim, int64_t fine_side, int64_t block_side) {
  int64_t count = 1;
  for (int axis = 0; axis < dim; ++axis) count *= fine_side / block_side;
  return count;
}

template <typename Scalar>
void extract_pairs(int dim, int64_t fine_side, int64_t block_side, const double* fine,
                   const double* coarse, Scalar* inputs, Scalar* targets) {
  extract_blocks(dim, fine_side, block_side, fine, inputs);
  const int64_t pairs = pairs_per_sample(dim, fine_side, block_side);
  for (int64_t pair = 0; pair < pairs; ++pair) targets[pair] = static_cast<Scalar>(coarse[pair]);
}

template <typename Scalar, typename Value>
void extract_blocks(int dim, int64_t fine_side, int64_t block_side, const Value* fine,
                    Scalar* inputs) {
  extract_slab_blocks(dim, fine_side, fine_side, block_side, fine, inputs);
}

template <typename Scalar, typename Value>
void extract_slab_blocks(int dim, int64_t rows, int64_t fine_side, int64_t block_side,
                         const Value* fine, Scalar* inputs) {
  // Row by row of the fine slab along its last axis, so the field is read in memory order:
  // a row at prefix coordinates (x_0 .. x_{d-2}) feeds the blocks of one row of the block grid
  // (pair_base + K) at the sites site_base + r of each, where x_a = X_a b + p_a.
  const int64_t b = block_side, side = fine_side / b;
  const int64_t last = dim == 1 ? rows : fine_side;  // sites along the last axis
  const int64_t blocks_last = last / b;
  int64_t sites = 1;
  for (int axis = 0; axis < dim; ++axis) sites *= b;
  const int64_t lines = dim == 1 ? 1 : dim == 2 ? rows : rows * fine_side;
  for (int64_t line = 0; line < lines; ++line) {
    int64_t pair_base = 0, site_base = 0;
    if (dim >= 2) {
      const int64_t x0 = dim == 2 ? line : line / fine_side;
      pair_base = x0 / b;
      site_base = x0 % b;
      if (dim == 3) {
        const int64_t x1 = line % fine_side;
        pair_base = pair_base * side + x1 / b;
        site_base = site_base * b + x1 % b;
      }
    }
    pair_base *= blocks_last;
    site_base *= b;
    const Value* source = fine + line * last;
    Scalar* target = inputs + pair_base * sites + site_base;
    for (int64_t K = 0; K < blocks_last; ++K, target += sites, source += b) {
      for (int64_t r = 0; r < b; ++r) target[r] = static_cast<Scalar>(source[r]);
    }
  }
}

template void extract_blocks(int, int64_t, int64_t, const double*, float*);
template void extract_blocks(int, int64_t, int64_t, const double*, double*);
template void extract_blocks(int, int64_t, int64_t, const float*, float*);
template void extract_blocks(int, int64_t, int64_t, const float*, double*);
template void extract_slab_blocks(int, int64_t, int64_t, int64_t, const double*, float*);
template void extract_slab_blocks(int, int64_t, int64_t, int64_t, const double*, double*);
template void extract_slab_blocks(int, int64_t, int64_t, int64_t, const float*, float*);
template void extract_slab_blocks(int, int64_t, int64_t, int64_t, const float*, double*);
template void extract_pairs<float>(int, int64_t, int64_t, const double*, const double*, float*,
                                   float*);
template void extract_pairs<double>(int, int64_t, int64_t, const double*, const double*, double*,
                                    double*);

}  // namespace rgflow::coarse

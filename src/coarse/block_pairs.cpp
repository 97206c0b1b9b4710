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
  const int64_t b = block_side, side = fine_side / b;
  const int64_t n0 = side, n1 = dim >= 2 ? side : 1, n2 = dim >= 3 ? side : 1;
  const int64_t b1 = dim >= 2 ? b : 1, b2 = dim >= 3 ? b : 1;
  int64_t pair = 0;
  for (int64_t I = 0; I < n0; ++I) {
    for (int64_t J = 0; J < n1; ++J) {
      for (int64_t K = 0; K < n2; ++K, ++pair) {
        Scalar* column = inputs + pair * b * b1 * b2;
        int64_t site = 0;
        for (int64_t p = 0; p < b; ++p) {
          for (int64_t q = 0; q < b1; ++q) {
            for (int64_t r = 0; r < b2; ++r, ++site) {
              int64_t index = I * b + p;
              if (dim >= 2) index = index * fine_side + J * b + q;
              if (dim >= 3) index = index * fine_side + K * b + r;
              column[site] = static_cast<Scalar>(fine[index]);
            }
          }
        }
      }
    }
  }
}

template void extract_blocks(int, int64_t, int64_t, const double*, float*);
template void extract_blocks(int, int64_t, int64_t, const double*, double*);
template void extract_blocks(int, int64_t, int64_t, const float*, float*);
template void extract_blocks(int, int64_t, int64_t, const float*, double*);
template void extract_pairs<float>(int, int64_t, int64_t, const double*, const double*, float*,
                                   float*);
template void extract_pairs<double>(int, int64_t, int64_t, const double*, const double*, double*,
                                    double*);

}  // namespace rgflow::coarse

// Blocks and training pairs of the RG map, used by training and by analysis: the N = b^d
// values of a block of level k (input) and that block's value at level k+1 (target), read from
// the dataset. Pairs of one sample are numbered by the coarse site, row-major; global pair
// id = sample * pairs_per_sample + pair.
#pragma once

#include <cstdint>

namespace rgflow::coarse {

/// Pairs per sample: L_{k+1}^d.
int64_t pairs_per_sample(int dim, int64_t fine_side, int64_t block_side);

/// The blocks of one sample's field (fine_side^d values, row-major) as the columns of `inputs`
/// (N x pairs), in coarse-site order. Value and Scalar are float or double.
template <typename Scalar, typename Value>
void extract_blocks(int dim, int64_t fine_side, int64_t block_side, const Value* fine,
                    Scalar* inputs);

/// The same for a slab of a field: `rows` sites along axis 0 (a multiple of block_side) and
/// `fine_side` along the others, row-major; pairs (rows / b) (fine_side / b)^(d-1), numbered
/// row-major over the slab's coarse sites, so a slab of whole rows of blocks gives a contiguous
/// run of the whole field's block order. For d = 1 the slab is `rows` sites.
template <typename Scalar, typename Value>
void extract_slab_blocks(int dim, int64_t rows, int64_t fine_side, int64_t block_side,
                         const Value* fine, Scalar* inputs);

/// From one sample's fine field (L_k^d values, row-major) and coarse field (L_{k+1}^d values),
/// writes inputs (N x pairs, column-major: column p holds block p's sites in block order, the
/// network's site order) and targets (pairs).
template <typename Scalar>
void extract_pairs(int dim, int64_t fine_side, int64_t block_side, const double* fine,
                   const double* coarse, Scalar* inputs, Scalar* targets);

}  // namespace rgflow::coarse

// The symmetries of a block of N = b^d sites as permutations of its sites, and the block's
// lattice graph. Sites are numbered row-major, last axis fastest (the order of the block's
// values in the lattice arrays), so site (c_0, .., c_{d-1}) is ((c_0 b + c_1) b + c_2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rgflow::nn {

/// image[i] is where site i goes: (g.x)_{image[i]} = x_i.
using Permutation = std::vector<int>;

struct BlockShape {
  int dim = 2;   // d
  int side = 2;  // b
  int sites() const;
};

/// The block's point group: every permutation and reflection of the axes (order 2^d d!:
/// 2, 8, 48 in d = 1, 2, 3). The identity comes first.
std::vector<Permutation> point_group(const BlockShape& block);
/// Reflections of each axis only (order 2^d).
std::vector<Permutation> reflection_group(const BlockShape& block);
/// A uniformly random element of the full permutation group S_N, drawn by Fisher-Yates from the
/// counter-based generator keyed by (seed, index): reproducible without hidden state.
Permutation random_permutation(int sites, uint64_t seed, uint64_t index);

/// Orbit label of every site under `group` (labels 0, 1, .. in order of first site).
std::vector<int> site_orbits(const std::vector<Permutation>& group, int sites);

/// Nearest neighbours of every site on the block's graph; `periodic` wraps each axis (for b = 2
/// the wrapped neighbour is the same site as the direct one and is counted once).
std::vector<std::vector<int>> block_neighbours(const BlockShape& block, bool periodic);

/// y = g.x for one block's values.
template <typename Scalar>
void permute_block(const Permutation& g, const Scalar* x, Scalar* y) {
  for (std::size_t i = 0; i < g.size(); ++i) y[g[i]] = x[i];
}

}  // namespace rgflow::nn

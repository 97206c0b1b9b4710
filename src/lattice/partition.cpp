#include "rgflow/lattice/partition.hpp"

#include <limits>

namespace rgflow::lattice {

std::vector<int64_t> split_evenly(int64_t count, int parts) {
  std::vector<int64_t> sizes(static_cast<size_t>(parts), count / parts);
  for (int64_t i = 0; i < count % parts; ++i) ++sizes[static_cast<size_t>(i)];
  return sizes;
}

std::array<int64_t, 2> piece_range(int64_t count, int parts, int index) {
  const int64_t base = count / parts, extra = count % parts;
  const int64_t begin = index * base + std::min<int64_t>(index, extra);
  return {begin, begin + base + (index < extra ? 1 : 0)};
}

std::optional<std::array<int, kMaxDim>> choose_process_grid(int dim, int64_t blocks_per_axis,
                                                            int ranks) {
  std::optional<std::array<int, kMaxDim>> best;
  int64_t best_cost = std::numeric_limits<int64_t>::max();
  // Enumerate ordered factorisations p0 * p1 * p2 = ranks; tiny, since ranks per group is small.
  for (int p0 = 1; p0 <= ranks; ++p0) {
    if (ranks % p0) continue;
    for (int p1 = 1; p1 <= ranks / p0; ++p1) {
      if ((ranks / p0) % p1) continue;
      const int p2 = ranks / p0 / p1;
      const std::array<int, kMaxDim> grid{p0, p1, p2};
      bool fits = true;
      int64_t largest = 1;
      for (int axis = 0; axis < kMaxDim; ++axis) {
        if (axis >= dim) {
          fits = fits && grid[axis] == 1;
          continue;
        }
        fits = fits && grid[axis] <= blocks_per_axis;
        largest *= (blocks_per_axis + grid[axis] - 1) / grid[axis];
      }
      // Ties go to the grid found first, which splits the slow axes most: whole rows stay on a
      // rank, so its part of each sample is fewer, longer contiguous runs in the file.
      if (fits && largest < best_cost) {
        best_cost = largest;
        best = grid;
      }
    }
  }
  return best;
}

Box owned_box(const Geometry& geometry, const std::array<int, kMaxDim>& grid, int lattice_rank) {
  Box box;
  box.dim = geometry.dim;
  const int64_t block = geometry.top_block_side();
  int remaining = lattice_rank;
  for (int axis = geometry.dim - 1; axis >= 0; --axis) {
    const int coordinate = remaining % grid[axis];
    remaining /= grid[axis];
    const auto range = piece_range(geometry.top_blocks_per_axis(), grid[axis], coordinate);
    box.begin[axis] = range[0] * block;
    box.extent[axis] = (range[1] - range[0]) * block;
  }
  return box;
}

int default_lattice_ranks(const Geometry& geometry, int world_size, int64_t samples,
                          int64_t bytes_per_sample, int64_t memory_budget) {
  int fallback = 1;
  for (int ranks = 1; ranks <= world_size; ++ranks) {
    if (world_size % ranks) continue;
    if (!choose_process_grid(geometry.dim, geometry.top_blocks_per_axis(), ranks)) continue;
    fallback = ranks;
    const bool every_group_has_a_sample = world_size / ranks <= samples;
    const bool sample_fits = bytes_per_sample / ranks <= memory_budget;
    if (every_group_has_a_sample && sample_fits) return ranks;
  }
  return fallback;  // the most ranks over space that the lattice allows
}

}  // namespace rgflow::lattice

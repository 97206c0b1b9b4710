#include "rgflow/lattice/partition.hpp"

#include <algorithm>
#include <limits>

namespace rgflow::lattice {

std::vector<int64_t> split_evenly(int64_t count, int parts) {
  std::vector<int64_t> sizes(static_cast<size_t>(parts), count / parts);
  for (int64_t i = 0; i < count % parts; ++i) ++sizes[static_cast<size_t>(i)];
  return sizes;
}

std::array<int64_t, 2> piece_range(int64_t count, int64_t parts, int64_t index) {
  const int64_t base = count / parts, extra = count % parts;
  const int64_t begin = index * base + std::min<int64_t>(index, extra);
  return {begin, begin + base + (index < extra ? 1 : 0)};
}

int64_t largest_box_blocks(int dim, int64_t blocks_per_axis, const std::array<int, kMaxDim>& grid) {
  int64_t largest = 1;
  for (int axis = 0; axis < dim; ++axis) {
    largest *= (blocks_per_axis + grid[axis] - 1) / grid[axis];
  }
  return largest;
}

std::optional<std::array<int, kMaxDim>> choose_process_grid(int dim, int64_t blocks_per_axis,
                                                            int ranks) {
  std::optional<std::array<int, kMaxDim>> best;
  int64_t best_cost = std::numeric_limits<int64_t>::max();
  // Enumerate ordered factorisations p0 * p1 * p2 = ranks, most ranks on axis 0 first, so that
  // ties go to the grid that splits the slow axes most; tiny, since ranks per group is small.
  for (int p0 = ranks; p0 >= 1; --p0) {
    if (ranks % p0) continue;
    for (int p1 = ranks / p0; p1 >= 1; --p1) {
      if ((ranks / p0) % p1) continue;
      const std::array<int, kMaxDim> grid{p0, p1, ranks / p0 / p1};
      bool fits = true;
      for (int axis = 0; axis < kMaxDim; ++axis) {
        fits = fits && (axis < dim ? grid[axis] <= blocks_per_axis : grid[axis] == 1);
      }
      if (!fits) continue;
      const int64_t cost = largest_box_blocks(dim, blocks_per_axis, grid);
      if (cost < best_cost) {
        best_cost = cost;
        best = grid;
      }
    }
  }
  return best;
}

bool boxes_are_slabs(const std::array<int, kMaxDim>& grid) {
  return grid[1] == 1 && grid[2] == 1;
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

DecompositionChoice choose_decomposition(const Geometry& geometry, int world_size, int64_t samples,
                                         int requested_lattice_ranks) {
  DecompositionChoice choice;
  const int64_t blocks_per_axis = geometry.top_blocks_per_axis();
  choice.top_blocks = 1;
  for (int axis = 0; axis < geometry.dim; ++axis) choice.top_blocks *= blocks_per_axis;
  auto decomposition_of = [&](int lattice_ranks) -> std::optional<Decomposition> {
    if (world_size % lattice_ranks != 0) return std::nullopt;
    const auto grid = choose_process_grid(geometry.dim, blocks_per_axis, lattice_ranks);
    if (!grid) return std::nullopt;
    return Decomposition{lattice_ranks, world_size / lattice_ranks, *grid};
  };
  if (requested_lattice_ranks > 0) {
    const int ranks = requested_lattice_ranks;
    if (world_size % ranks != 0) {
      choice.problem = DecompositionProblem::kRanksDoNotDivide;
    } else if (ranks > choice.top_blocks) {
      choice.problem = DecompositionProblem::kMoreRanksThanBlocks;
    } else if (const auto decomposition = decomposition_of(ranks)) {
      choice.decomposition = *decomposition;
    } else {
      choice.problem = DecompositionProblem::kNoGrid;
    }
    return choice;
  }
  // Sites per rank of the busiest rank, in units of top-level blocks: up to 2^32 samples times
  // 2^58 sites, so compared in 128 bits.
  unsigned __int128 best_cost = ~static_cast<unsigned __int128>(0);
  for (int ranks = 1; ranks <= world_size; ++ranks) {
    const auto decomposition = decomposition_of(ranks);
    if (!decomposition) continue;
    const int64_t samples_per_group = (samples + decomposition->groups - 1) / decomposition->groups;
    const unsigned __int128 cost = static_cast<unsigned __int128>(samples_per_group) *
                                   static_cast<unsigned __int128>(largest_box_blocks(
                                       geometry.dim, blocks_per_axis, decomposition->grid));
    if (cost < best_cost) {
      best_cost = cost;
      choice.decomposition = *decomposition;
    }
  }
  return choice;  // ranks = 1 always has a grid
}

int64_t Tiling::count() const {
  int64_t tiles = pieces;
  for (int axis = 0; axis < split_axis; ++axis) tiles *= box.extent[axis] / block_side;
  return tiles;
}

Box Tiling::tile(int64_t index) const {
  Box tile = box;
  const int64_t blocks = box.extent[split_axis] / block_side;
  const auto range = piece_range(blocks, pieces, index % pieces);
  tile.begin[split_axis] = box.begin[split_axis] + range[0] * block_side;
  tile.extent[split_axis] = (range[1] - range[0]) * block_side;
  int64_t rest = index / pieces;
  for (int axis = split_axis - 1; axis >= 0; --axis) {
    const int64_t axis_blocks = box.extent[axis] / block_side;
    tile.begin[axis] = box.begin[axis] + (rest % axis_blocks) * block_side;
    tile.extent[axis] = block_side;
    rest /= axis_blocks;
  }
  return tile;
}

std::optional<Tiling> plan_tiling(const Geometry& geometry, const Box& box, int64_t value_bytes,
                                  int64_t budget_bytes) {
  Tiling tiling;
  tiling.box = box;
  tiling.block_side = geometry.top_block_side();
  // The smallest split axis whose unit (one block on the axes before it and on it, the whole
  // box after it) fits; then as many blocks of that axis per tile as fit.
  for (int axis = 0; axis < box.dim; ++axis) {
    Box unit = box;
    for (int before = 0; before <= axis; ++before) unit.extent[before] = tiling.block_side;
    const int64_t unit_bytes = box_bytes_all_levels(geometry, unit, value_bytes);
    if (unit_bytes > budget_bytes) continue;
    const int64_t blocks = box.extent[axis] / tiling.block_side;
    const int64_t per_tile = std::min(blocks, budget_bytes / unit_bytes);
    tiling.split_axis = axis;
    tiling.pieces = (blocks + per_tile - 1) / per_tile;  // 1 on axis 0: the whole box fits
    return tiling;
  }
  return std::nullopt;
}

}  // namespace rgflow::lattice

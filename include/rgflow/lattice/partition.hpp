// How work is split over ranks, as pure functions of sizes (no MPI): the same answer on every
// rank, and unit-testable. Ranks are split into sample groups of `lattice_ranks` consecutive
// ranks; inside a group the lattice is split over a process grid in units of top-level blocks
// (side b^K), so every block at every level lies on one rank; inside a rank its box is processed
// in tiles of whole top-level blocks, so memory is bounded whatever the box's size.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "rgflow/lattice/geometry.hpp"

namespace rgflow::lattice {

/// Sizes of `parts` near-equal consecutive pieces of `count` (the first count % parts get one
/// more).
std::vector<int64_t> split_evenly(int64_t count, int parts);

/// [begin, end) of piece `index` of split_evenly(count, parts) (any int64 number of parts).
std::array<int64_t, 2> piece_range(int64_t count, int64_t parts, int64_t index);

/// Ranks per axis (product = `ranks`, each at most `blocks_per_axis`) minimising the largest
/// local box, ties going to the grid that splits the slowest axes most (a rank's share of each
/// sample is then fewer, longer contiguous runs in the file); nullopt if `ranks` cannot be
/// arranged so. Entries beyond `dim` are 1.
std::optional<std::array<int, kMaxDim>> choose_process_grid(int dim, int64_t blocks_per_axis,
                                                            int ranks);

/// Top-level blocks of the largest box of `grid`.
int64_t largest_box_blocks(int dim, int64_t blocks_per_axis, const std::array<int, kMaxDim>& grid);

/// True when `grid` splits axis 0 only: every rank's box is then whole rows of the lattice (a
/// slab), so its part of a sample, and each tile of block rows, is one contiguous run in the file.
bool boxes_are_slabs(const std::array<int, kMaxDim>& grid);

/// The box of level-0 sites owned by `lattice_rank` on `grid`, ranks numbered with the last axis
/// fastest.
Box owned_box(const Geometry& geometry, const std::array<int, kMaxDim>& grid, int lattice_rank);

/// How the ranks are arranged: `groups` sample groups of `lattice_ranks` consecutive ranks, each
/// group splitting the lattice over `grid` (ranks per axis).
struct Decomposition {
  int lattice_ranks = 1;
  int groups = 1;
  std::array<int, kMaxDim> grid{1, 1, 1};
};

enum class DecompositionProblem {
  kNone,
  kRanksDoNotDivide,     // lattice_ranks does not divide the rank count
  kMoreRanksThanBlocks,  // lattice_ranks exceeds the number of top-level blocks
  kNoGrid,               // lattice_ranks cannot be arranged on the blocks per axis
};

struct DecompositionChoice {
  Decomposition decomposition;  // valid when problem is kNone
  DecompositionProblem problem = DecompositionProblem::kNone;
  int64_t top_blocks = 0;  // top-level blocks of the lattice (for messages)
};

/// The decomposition of `world_size` ranks for `samples` samples of `geometry` (one that
/// check_geometry accepts, so its block count fits int64). With
/// `requested_lattice_ranks` > 0 that many ranks share each lattice (or a problem says why they
/// cannot). With 0 the choice is automatic: the divisor of `world_size` that minimises the
/// sites per rank, ceil(samples / groups) x the largest box, ties going to fewer lattice ranks
/// (whole samples per rank, written without collective I/O). Memory plays no part: tiles bound
/// it whatever the box.
DecompositionChoice choose_decomposition(const Geometry& geometry, int world_size, int64_t samples,
                                         int requested_lattice_ranks);

/// A box of whole top-level blocks cut into tiles of whole top-level blocks, in file order
/// (row-major over the tiles). Axes before `split_axis` are cut into single blocks, axis
/// `split_axis` into `pieces` near-equal runs of blocks (split_evenly), axes after it are whole:
/// tiles are slabs of block rows when a block row fits, and smaller only when it does not.
struct Tiling {
  Box box;
  int64_t block_side = 1;  // b^K
  int split_axis = 0;
  int64_t pieces = 1;

  /// Number of tiles.
  int64_t count() const;
  /// Tile `index` (0 <= index < count()); tile 0 is a largest one.
  Box tile(int64_t index) const;
};

/// The tiling of `box` with the fewest tiles whose values at every level (value_bytes each) fit
/// `budget_bytes` per tile: the whole box if it fits; nullopt if one top-level block does not.
std::optional<Tiling> plan_tiling(const Geometry& geometry, const Box& box, int64_t value_bytes,
                                  int64_t budget_bytes);

}  // namespace rgflow::lattice

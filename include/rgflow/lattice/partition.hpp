// How work is split over ranks, as pure functions of sizes (no MPI): the same answer on every
// rank, and unit-testable. Ranks are split into sample groups of `lattice_ranks` consecutive
// ranks; inside a group the lattice is split over a process grid in units of top-level blocks
// (side b^K), so every block at every level lies on one rank.
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

/// [begin, end) of piece `index` of split_evenly(count, parts).
std::array<int64_t, 2> piece_range(int64_t count, int parts, int index);

/// Ranks per axis (product = `ranks`, each at most `blocks_per_axis`) minimising the largest
/// local box; nullopt if `ranks` cannot be arranged so. Entries beyond `dim` are 1.
std::optional<std::array<int, kMaxDim>> choose_process_grid(int dim, int64_t blocks_per_axis,
                                                            int ranks);

/// The box of level-0 sites owned by `lattice_rank` on `grid`, ranks numbered with the last axis
/// fastest (the DMDA's x axis is our last axis).
Box owned_box(const Geometry& geometry, const std::array<int, kMaxDim>& grid, int lattice_rank);

/// The default number of ranks per sample group: all ranks over samples when the lattice is
/// small, more ranks over space only as needed so that one sample's share of the lattice
/// (`bytes_per_sample`, all levels) fits in `memory_budget` bytes per rank, or so that every
/// group has a sample. Returns a divisor of `world_size` that choose_process_grid accepts.
int default_lattice_ranks(const Geometry& geometry, int world_size, int64_t samples,
                          int64_t bytes_per_sample, int64_t memory_budget);

}  // namespace rgflow::lattice

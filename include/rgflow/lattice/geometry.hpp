// Lattice geometry: a periodic hypercubic lattice of side L in d = 1..3 dimensions, coarse-grained
// K times by blocks of side b. Axis 0 is the slowest-varying index of every array (row-major), so
// the global linear index of site (x_0, .., x_{d-1}) is ((x_0 L + x_1) L + x_2).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace rgflow::lattice {

constexpr int kMaxDim = 3;

struct Geometry {
  int dim = 2;             // d
  int64_t side = 256;      // L, sites per axis at level 0
  int64_t block_side = 2;  // b
  int levels = 4;          // K: levels 1..K are coarse-grained, level 0 is the fine field

  /// N = b^d, sites per block.
  int64_t sites_per_block() const;
  /// b^K, the side of a top-level block in level-0 sites.
  int64_t top_block_side() const;
  /// L / b^K, top-level blocks per axis.
  int64_t top_blocks_per_axis() const { return side / top_block_side(); }
  /// L_k = L / b^k.
  int64_t level_side(int level) const;
  /// L_k^d.
  int64_t level_sites(int level) const;
};

/// An axis-aligned box of sites: begin and extent per axis (entries beyond dim are 0 and 1).
struct Box {
  int dim = 1;
  std::array<int64_t, kMaxDim> begin{0, 0, 0};
  std::array<int64_t, kMaxDim> extent{1, 1, 1};

  int64_t size() const { return extent[0] * extent[1] * extent[2]; }
  /// The same box on a lattice coarsened by `factor` per axis (begin and extent divisible).
  Box coarsened(int64_t factor) const;
  bool operator==(const Box& other) const {
    return dim == other.dim && begin == other.begin && extent == other.extent;
  }
};

/// The whole lattice of side `side` as a box.
Box full_box(int dim, int64_t side);

/// The most values of one level, over all samples (n_samples x L^d), that rgflow handles: their
/// bytes, and every index into them, fit a signed 64-bit integer with room to spare. The dataset
/// reader refuses larger files, so generate refuses to write them.
constexpr int64_t kMaxLevelValues = int64_t{1} << 58;

/// What is wrong with sizes that are fine alone but not together.
enum class GeometryProblem {
  kNone,
  kTooManyLevels,     // b^K > L
  kSideNotDivisible,  // L not divisible by b^K
  kBeyondIndexRange,  // n_samples x L^d > kMaxLevelValues
};

struct GeometryCheck {
  GeometryProblem problem = GeometryProblem::kNone;
  /// b^K when the levels fit; for kTooManyLevels, b^k for the first k whose next power exceeds L.
  int64_t top_block_side = 1;
};

/// Checks the geometry of `samples` configurations (dim, side >= 1, block_side >= 2 and
/// 0 <= levels are assumed): b^K <= L, L divisible by b^K, and n_samples x L^d within
/// kMaxLevelValues, all without overflow (powers are compared by division).
GeometryCheck check_geometry(const Geometry& geometry, int64_t samples);

/// `box` (level-0 sites, whole top-level blocks) at every level 0..K: entry k is its sites at
/// level k.
std::vector<Box> boxes_at_levels(const Geometry& geometry, const Box& box);

/// Bytes of one sample's values on `box` (level-0 sites, whole top-level blocks) at every level
/// 0..K together, with `value_bytes` per value.
int64_t box_bytes_all_levels(const Geometry& geometry, const Box& box, int64_t value_bytes);

}  // namespace rgflow::lattice

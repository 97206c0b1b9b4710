// Work splitting: pieces cover exactly, boxes are block-aligned and tile the lattice.
#include <gtest/gtest.h>

#include <vector>

#include "rgflow/lattice/partition.hpp"

namespace rgflow::lattice {
namespace {

TEST(Partition, SplitEvenlyCoversAndBalances) {
  for (int64_t count : {0, 1, 7, 64, 1000}) {
    for (int parts : {1, 2, 3, 7}) {
      const auto sizes = split_evenly(count, parts);
      int64_t total = 0, begin = 0;
      for (int i = 0; i < parts; ++i) {
        const auto range = piece_range(count, parts, i);
        EXPECT_EQ(range[0], begin);
        EXPECT_EQ(range[1] - range[0], sizes[static_cast<size_t>(i)]);
        EXPECT_LE(sizes.front() - sizes[static_cast<size_t>(i)], 1);
        begin = range[1];
        total += sizes[static_cast<size_t>(i)];
      }
      EXPECT_EQ(total, count);
    }
  }
}

TEST(Partition, ProcessGridRespectsBlocksPerAxis) {
  EXPECT_FALSE(choose_process_grid(1, 2, 3).has_value());
  EXPECT_FALSE(choose_process_grid(2, 2, 5).has_value());
  const auto grid = choose_process_grid(2, 8, 4);
  ASSERT_TRUE(grid.has_value());
  EXPECT_EQ((*grid)[0] * (*grid)[1], 4);
  EXPECT_EQ((*grid)[2], 1);
  const auto line = choose_process_grid(1, 8, 3);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ((*line)[0], 3);
  const auto cube = choose_process_grid(3, 2, 8);
  ASSERT_TRUE(cube.has_value());
  EXPECT_EQ(*cube, (std::array<int, 3>{2, 2, 2}));
}

TEST(Partition, OwnedBoxesTileTheLatticeAlignedToTopBlocks) {
  for (int dim = 1; dim <= 3; ++dim) {
    Geometry geometry{dim, 24, 2, 2};  // top blocks of side 4, 6 per axis
    for (int ranks : {1, 2, 3, 4, 6}) {
      const auto grid = choose_process_grid(dim, geometry.top_blocks_per_axis(), ranks);
      ASSERT_TRUE(grid.has_value());
      std::vector<int> owner(static_cast<size_t>(geometry.level_sites(0)), -1);
      for (int rank = 0; rank < ranks; ++rank) {
        const Box box = owned_box(geometry, *grid, rank);
        for (int axis = 0; axis < dim; ++axis) {
          EXPECT_EQ(box.begin[axis] % 4, 0);
          EXPECT_EQ(box.extent[axis] % 4, 0);
          EXPECT_GT(box.extent[axis], 0);
        }
        for (int64_t x = 0; x < box.extent[0]; ++x)
          for (int64_t y = 0; y < box.extent[1]; ++y)
            for (int64_t z = 0; z < box.extent[2]; ++z) {
              int64_t site = box.begin[0] + x;
              if (dim >= 2) site = site * 24 + box.begin[1] + y;
              if (dim >= 3) site = site * 24 + box.begin[2] + z;
              EXPECT_EQ(owner[static_cast<size_t>(site)], -1) << "site owned twice";
              owner[static_cast<size_t>(site)] = rank;
            }
      }
      for (int o : owner) ASSERT_GE(o, 0) << "site owned by nobody";
    }
  }
}

TEST(Partition, DefaultPrefersSampleGroupsForSmallLattices) {
  Geometry small{2, 64, 2, 3};
  EXPECT_EQ(default_lattice_ranks(small, 4, 100, 64 * 64 * 4, int64_t{64} << 20), 1);
  // One sample only: the ranks must share the lattice.
  EXPECT_EQ(default_lattice_ranks(small, 4, 1, 64 * 64 * 4, int64_t{64} << 20), 4);
  // A sample too large for the budget on one rank: split until it fits.
  Geometry large{2, 4096, 2, 2};
  const int64_t bytes = int64_t{4096} * 4096 * 4;
  EXPECT_EQ(default_lattice_ranks(large, 4, 100, bytes, bytes / 2), 2);
}

TEST(Geometry, LevelsAndBlocks) {
  Geometry geometry{3, 48, 2, 3};
  EXPECT_EQ(geometry.sites_per_block(), 8);
  EXPECT_EQ(geometry.top_block_side(), 8);
  EXPECT_EQ(geometry.top_blocks_per_axis(), 6);
  EXPECT_EQ(geometry.level_side(2), 12);
  EXPECT_EQ(geometry.level_sites(3), 216);
  Box box{3, {8, 16, 0}, {16, 8, 48}};
  const Box coarse = box.coarsened(8);
  EXPECT_EQ(coarse.begin, (std::array<int64_t, 3>{1, 2, 0}));
  EXPECT_EQ(coarse.extent, (std::array<int64_t, 3>{2, 1, 6}));
}

}  // namespace
}  // namespace rgflow::lattice

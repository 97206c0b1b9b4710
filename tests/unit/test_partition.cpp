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

TEST(Partition, ProcessGridTiesSplitTheSlowestAxes) {
  // Equal largest boxes: the slow axes take the ranks, so a rank's share of a sample is whole
  // rows of the file (slabs), not half rows.
  EXPECT_EQ(*choose_process_grid(2, 256, 2), (std::array<int, 3>{2, 1, 1}));
  EXPECT_EQ(*choose_process_grid(3, 8, 4), (std::array<int, 3>{4, 1, 1}));
  // 3 blocks per axis cannot take 4 ranks on one axis.
  EXPECT_EQ(*choose_process_grid(2, 3, 4), (std::array<int, 3>{2, 2, 1}));
  // 6 ranks over 4 blocks per axis: {3,2} leaves boxes of 2x2 blocks; {6,1} does not fit.
  EXPECT_EQ(*choose_process_grid(2, 4, 6), (std::array<int, 3>{3, 2, 1}));
  EXPECT_EQ(largest_box_blocks(2, 4, {3, 2, 1}), 4);
  EXPECT_TRUE(boxes_are_slabs(*choose_process_grid(3, 8, 4)));
  EXPECT_FALSE(boxes_are_slabs(*choose_process_grid(2, 3, 4)));
}

TEST(Decomposition, AutomaticMinimisesTheBusiestRanksSites) {
  const Geometry lattice{2, 64, 2, 3};  // 8 x 8 top-level blocks
  // Enough samples: every rank owns whole samples.
  auto choice = choose_decomposition(lattice, 4, 100, 0);
  ASSERT_EQ(choice.problem, DecompositionProblem::kNone);
  EXPECT_EQ(choice.decomposition.lattice_ranks, 1);
  EXPECT_EQ(choice.decomposition.groups, 4);
  // One sample: all ranks share it, split along axis 0.
  choice = choose_decomposition(lattice, 4, 1, 0);
  EXPECT_EQ(choice.decomposition.lattice_ranks, 4);
  EXPECT_EQ(choice.decomposition.groups, 1);
  EXPECT_EQ(choice.decomposition.grid, (std::array<int, 3>{4, 1, 1}));
  // 3 samples on 2 ranks: 2 whole samples on one rank (cost 2) against 3 half samples (1.5).
  EXPECT_EQ(choose_decomposition(lattice, 2, 3, 0).decomposition.lattice_ranks, 2);
  // 4 samples on 2 ranks: a tie (2 against 2) goes to whole samples.
  EXPECT_EQ(choose_decomposition(lattice, 2, 4, 0).decomposition.lattice_ranks, 1);
  // The memory needed per sample plays no part (tiles bound it): a huge lattice, many samples.
  const Geometry huge{3, 65536, 2, 4};
  EXPECT_EQ(choose_decomposition(huge, 4, 8, 0).decomposition.lattice_ranks, 1);
  EXPECT_EQ(choose_decomposition(huge, 4, 2, 0).decomposition.lattice_ranks, 2);
}

TEST(Decomposition, RequestedLatticeRanksAreCheckedInOrder) {
  const Geometry line{1, 8, 2, 2};  // 2 top-level blocks
  auto choice = choose_decomposition(line, 4, 10, 3);
  EXPECT_EQ(choice.problem, DecompositionProblem::kRanksDoNotDivide);
  choice = choose_decomposition(line, 4, 10, 4);
  EXPECT_EQ(choice.problem, DecompositionProblem::kMoreRanksThanBlocks);
  EXPECT_EQ(choice.top_blocks, 2);
  const Geometry square{2, 12, 2, 2};  // 3 x 3 blocks: 9 blocks, but 6 ranks need 3 x 2 or 6 x 1
  choice = choose_decomposition(square, 6, 10, 6);
  EXPECT_EQ(choice.problem, DecompositionProblem::kNone);
  EXPECT_EQ(choice.decomposition.grid, (std::array<int, 3>{3, 2, 1}));
  choice = choose_decomposition(Geometry{2, 8, 2, 2}, 4, 10, 4);  // 2 x 2 blocks: {2,2}
  EXPECT_EQ(choice.problem, DecompositionProblem::kNone);
  const Geometry tall{2, 20, 2, 2};  // 5 x 5 blocks: 7 ranks fit 25 blocks but no grid
  choice = choose_decomposition(tall, 7, 10, 7);
  EXPECT_EQ(choice.problem, DecompositionProblem::kNoGrid);
  // The largest lattice check_geometry accepts: 2^57 blocks, counted without overflow.
  choice = choose_decomposition(Geometry{3, int64_t{1} << 19, 2, 0}, 2, 1, 2);
  EXPECT_EQ(choice.problem, DecompositionProblem::kNone);
  EXPECT_EQ(choice.top_blocks, int64_t{1} << 57);
  EXPECT_EQ(choice.decomposition.grid, (std::array<int, 3>{2, 1, 1}));
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

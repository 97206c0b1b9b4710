// The DMDA's ownership equals the planned block-aligned decomposition on every rank count.
#include <gtest/gtest.h>

#include <vector>

#include "rgflow/lattice/dmda.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::lattice {
namespace {

TEST(BlockDecomposition, DmdaOwnershipMatchesPlanAndTiles) {
  const Comm world(MPI_COMM_WORLD);
  for (int dim = 1; dim <= 3; ++dim) {
    const Geometry geometry{dim, 48, 2, 3};  // 6 top-level blocks of side 8 per axis
    const auto grid = choose_process_grid(dim, geometry.top_blocks_per_axis(), world.size());
    ASSERT_TRUE(grid.has_value());
    const BlockDecomposition decomposition(world, geometry, *grid);
    const Box& owned = decomposition.owned();
    EXPECT_EQ(owned, owned_box(geometry, *grid, world.rank())) << "d=" << dim;
    for (int axis = 0; axis < dim; ++axis) {
      EXPECT_EQ(owned.begin[axis] % 8, 0);
      EXPECT_EQ(owned.extent[axis] % 8, 0);
    }
    EXPECT_EQ(world.sum(owned.size()), geometry.level_sites(0));
  }
}

TEST(BlockDecomposition, AGridBeyondPetscIntIsRefusedBeforeAnyCollective) {
  const Comm world(MPI_COMM_WORLD);
  const Geometry geometry{3, 4096, 2, 0};  // 4096^3 = 2^36 blocks
  const auto grid = choose_process_grid(3, geometry.top_blocks_per_axis(), world.size());
  ASSERT_TRUE(grid.has_value());
  EXPECT_THROW(BlockDecomposition(world, geometry, *grid), LibraryError);
}

TEST(BlockDecomposition, SampleGroupsSplitTheWorld) {
  const Comm world(MPI_COMM_WORLD);
  if (world.size() % 2 != 0) GTEST_SKIP() << "needs an even number of ranks";
  const int lattice_ranks = 2;
  const Comm group = world.split(world.rank() / lattice_ranks, world.rank());
  EXPECT_EQ(group.size(), lattice_ranks);
  const Geometry geometry{2, 16, 2, 2};
  const auto grid = choose_process_grid(2, geometry.top_blocks_per_axis(), lattice_ranks);
  ASSERT_TRUE(grid.has_value());
  const BlockDecomposition decomposition(group, geometry, *grid);
  EXPECT_EQ(group.sum(decomposition.owned().size()), geometry.level_sites(0));
}

}  // namespace
}  // namespace rgflow::lattice

// The distributed Ising chain against the same chain on one whole lattice (field::IsingLattice):
// every spin and every measurement equal, for every process grid of this rank count, d = 2 and 3,
// boxes of unequal sizes included.
#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <vector>

#include "rgflow/field/ising_chain.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::lattice {
namespace {

// Every grid of `ranks` over `dim` axes with at most `blocks` ranks per axis.
std::vector<std::array<int, kMaxDim>> grids_of(int dim, int64_t blocks, int ranks) {
  std::vector<std::array<int, kMaxDim>> grids;
  for (int a = 1; a <= ranks; ++a) {
    for (int b = 1; b <= ranks; ++b) {
      for (int c = 1; c <= ranks; ++c) {
        const std::array<int, kMaxDim> grid{a, dim >= 2 ? b : 1, dim >= 3 ? c : 1};
        if ((dim < 2 && b > 1) || (dim < 3 && c > 1)) continue;
        if (a * grid[1] * grid[2] != ranks) continue;
        if (a > blocks || grid[1] > blocks || grid[2] > blocks) continue;
        grids.push_back(grid);
      }
    }
  }
  return grids;
}

void expect_chain_matches_whole_lattice(int dim, int64_t side, double beta) {
  const Comm world(MPI_COMM_WORLD);
  const Geometry geometry{dim, side, 2, 1};  // top-level blocks of side 2: many grids fit
  const uint64_t seed = 11;
  const auto grids = grids_of(dim, geometry.top_blocks_per_axis(), world.size());
  ASSERT_FALSE(grids.empty());
  field::IsingLattice whole(dim, side);
  whole.set_all(1);
  const field::HeatBathTable table = field::heat_bath_table(dim, beta);
  std::vector<std::vector<int8_t>> reference;
  std::vector<field::IsingMeasurement> measured;
  const int sweeps = 6;
  for (int sweep = 0; sweep < sweeps; ++sweep) {
    whole.heat_bath_sweep(table, seed, /*sample=*/3, static_cast<uint32_t>(sweep));
    reference.push_back(whole.spins());
    const double sites = static_cast<double>(geometry.level_sites(0));
    measured.push_back({std::abs(static_cast<double>(whole.magnetisation_sum())) / sites,
                        -static_cast<double>(whole.bond_sum()) / sites});
  }
  for (const auto& grid : grids) {
    field::IsingChain chain(world, geometry, grid, beta, seed);
    const field::IsingBox& box = chain.ising_box();
    std::vector<int8_t> mine(static_cast<size_t>(box.interior_sites()));
    std::vector<int8_t> expected(static_cast<size_t>(box.padded_sites()));
    std::vector<int8_t> expected_interior(mine.size());
    for (int sweep = 0; sweep < sweeps; ++sweep) {
      chain.sweep(3, static_cast<uint32_t>(sweep));
      chain.copy_spins(mine.data());
      // The reference's spins on this rank's box, through the kernels' own box load.
      field::load_box(reference[static_cast<size_t>(sweep)].data(), box, expected.data());
      int64_t mismatches = 0;
      const auto padded_extent = box.padded_extent();
      size_t next = 0;
      for (int64_t z = 1; z <= (dim == 3 ? box.extent[0] : 1); ++z) {
        for (int64_t y = 1; y <= box.extent[dim - 2]; ++y) {
          for (int64_t x = 1; x <= box.extent[dim - 1]; ++x) {
            const int64_t offset = dim == 3 ? (z * padded_extent[1] + y) * padded_extent[2] + x
                                            : y * padded_extent[1] + x;
            mismatches += mine[next++] != expected[static_cast<size_t>(offset)];
          }
        }
      }
      EXPECT_EQ(mismatches, 0) << "d=" << dim << " grid " << grid[0] << "x" << grid[1] << "x"
                               << grid[2] << " sweep " << sweep;
      const field::IsingMeasurement m = chain.measure();
      EXPECT_EQ(m.abs_magnetisation, measured[static_cast<size_t>(sweep)].abs_magnetisation);
      EXPECT_EQ(m.energy, measured[static_cast<size_t>(sweep)].energy);
    }
  }
}

TEST(IsingChain, SameSpinsAsTheWholeLatticeOnEveryGrid2D) {
  expect_chain_matches_whole_lattice(2, 12, 0.44);
}

TEST(IsingChain, SameSpinsAsTheWholeLatticeOnEveryGrid3D) {
  expect_chain_matches_whole_lattice(3, 6, 0.22);
}

TEST(IsingChain, SetSpinsThenCopySpinsGivesThemBack) {
  const Comm world(MPI_COMM_WORLD);
  const Geometry geometry{2, 12, 2, 1};
  const auto grid = choose_process_grid(2, geometry.top_blocks_per_axis(), world.size());
  ASSERT_TRUE(grid.has_value());
  field::IsingChain chain(world, geometry, *grid, 0.3, 1);
  std::vector<int8_t> spins(static_cast<size_t>(chain.box().size()));
  for (size_t i = 0; i < spins.size(); ++i) spins[i] = (i * 7 + world.rank()) % 3 == 0 ? 1 : -1;
  chain.set_spins(spins.data());
  std::vector<int8_t> back(spins.size());
  chain.copy_spins(back.data());
  EXPECT_EQ(back, spins);
}

}  // namespace
}  // namespace rgflow::lattice

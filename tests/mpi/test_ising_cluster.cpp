// The distributed Swendsen-Wang sweep (field/cluster_merge) against the same sweep of the whole
// lattice on one rank: the same spins on every decomposition of the ranks (every grid of the rank
// count, d = 2 and 3), and a failure on one rank ending every rank.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "rgflow/core/error.hpp"
#include "rgflow/core/mpi.hpp"
#include "rgflow/field/cluster_merge.hpp"
#include "rgflow/field/ising.hpp"
#include "rgflow/field/ising_cluster.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::lattice {
namespace {

// Every grid of `ranks` ranks over the `dim` axes (ranks per axis multiply to `ranks`).
std::vector<std::array<int, kMaxDim>> every_grid(int dim, int ranks) {
  std::vector<std::array<int, kMaxDim>> grids;
  for (int a = 1; a <= ranks; ++a) {
    for (int b = 1; b <= ranks; ++b) {
      const int c = dim == 3 ? ranks / (a * b) : 1;
      if (a * b * c != ranks) continue;
      grids.push_back({a, b, c});
    }
  }
  return grids;
}

// The spins of every rank's box put together on every rank (each rank fills its own sites, the
// sum is exact): what the test compares, and the lattice the next halo is read from, as a halo
// exchange would deliver it.
std::vector<int8_t> assemble(const Comm& comm, const field::IsingBox& box,
                             const std::vector<int8_t>& padded, int64_t sites) {
  std::vector<int8_t> mine(static_cast<size_t>(sites), 0);
  field::store_box(padded.data(), box, mine.data());
  std::vector<uint64_t> sum(mine.size());
  for (size_t i = 0; i < mine.size(); ++i)
    sum[i] = mine[i] == 0 ? 0 : static_cast<uint64_t>(mine[i] + 2);
  comm.sum(sum);
  std::vector<int8_t> lattice(mine.size());
  for (size_t i = 0; i < sum.size(); ++i)
    lattice[i] = static_cast<int8_t>(static_cast<int>(sum[i]) - 2);
  return lattice;
}

TEST(SwendsenWangMpi, SameSpinsOnEveryDecomposition) {
  const Comm world(MPI_COMM_WORLD);
  const uint64_t seed = 77;
  const uint32_t sample = 4;
  for (int dim : {2, 3}) {
    const int64_t side = dim == 2 ? 12 : 6;
    const double beta = dim == 2 ? field::beta_critical_2d() : field::beta_critical_3d();
    const Geometry geometry{dim, side, 2, 0};  // top-level blocks of one site
    for (const auto& grid : every_grid(dim, world.size())) {
      const field::IsingBox box =
          field::ising_box_of(owned_box(geometry, grid, world.rank()), side);
      field::IsingLattice whole(dim, side);
      whole.randomise(seed, sample);
      std::vector<int8_t> lattice = whole.spins();
      std::vector<int8_t> padded(static_cast<size_t>(box.padded_sites()));
      field::BoxClusters clusters, whole_clusters;
      long long links = 0;
      for (uint32_t sweep = 0; sweep < 5; ++sweep) {
        field::swendsen_wang_sweep(whole, beta, seed, sample, sweep, whole_clusters);
        field::load_box(lattice.data(), box, padded.data());
        field::swendsen_wang_sweep(world, box, padded.data(), beta, seed, sample, sweep, clusters);
        links += world.sum(static_cast<long long>(clusters.links.size()));
        lattice = assemble(world, box, padded, whole.box().interior_sites());
        ASSERT_EQ(lattice, whole.spins()) << "d " << dim << " grid " << grid[0] << "x" << grid[1]
                                          << "x" << grid[2] << " sweep " << sweep;
      }
      // With more than one rank clusters crossed the boxes: the merge was exercised.
      if (world.size() > 1) {
        EXPECT_GT(links, 0) << "d " << dim;
      }
    }
  }
}

TEST(SwendsenWangMpi, GatherKeepsEveryRanksLinksInRankOrder) {
  const Comm world(MPI_COMM_WORLD);
  std::vector<field::ClusterLink> mine;
  for (int k = 0; k < world.rank(); ++k) {  // rank r holds r links
    mine.push_back({static_cast<uint64_t>(world.rank()), static_cast<uint64_t>(k)});
  }
  const std::vector<field::ClusterLink> all = field::gather_cluster_links(world, mine);
  std::vector<field::ClusterLink> expected;
  for (int r = 0; r < world.size(); ++r) {
    for (int k = 0; k < r; ++k)
      expected.push_back({static_cast<uint64_t>(r), static_cast<uint64_t>(k)});
  }
  EXPECT_EQ(all, expected);
}

TEST(SwendsenWangMpi, ABoxTooLargeOnOneRankEndsEveryRank) {
  const Comm world(MPI_COMM_WORLD);
  field::IsingBox box = field::IsingBox::whole(3, 2048);  // 2^33 sites: refused before allocating
  std::vector<int8_t> padded;
  if (world.rank() != world.size() - 1) {
    box = field::IsingBox::whole(2, 4);
    padded.assign(static_cast<size_t>(box.padded_sites()), int8_t{1});
  }
  field::BoxClusters clusters;
  EXPECT_THROW(field::swendsen_wang_sweep(world, box, padded.data(), 0.4, 1, 0, 0, clusters),
               UsageError);
}

}  // namespace
}  // namespace rgflow::lattice

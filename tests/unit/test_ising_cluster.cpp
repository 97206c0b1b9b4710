// The Swendsen-Wang kernels against independent truth: bonds, clusters and flips recomputed here
// from Philox called directly and a breadth-first search; the same bits when the lattice is cut
// into boxes whose clusters are joined by their links; the chain's energy and |M| histograms
// against exact enumeration (and a wrong beta rejected, for every update of ising.hpp); the
// Binder cumulant at beta_c.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ising_test_util.hpp"
#include "rgflow/field/ising.hpp"
#include "rgflow/field/ising_cluster.hpp"
#include "rgflow/field/philox.hpp"

namespace rgflow::field {
namespace {

using namespace ising_test;

// The documented word of a keyed stream: lane index % 4 of Philox((index / 4 low, index / 4 high |
// tag << 24, sample, sweep)).
uint32_t documented_word(uint64_t seed, uint64_t index, uint32_t tag, uint32_t sample,
                         uint32_t sweep) {
  const uint64_t group = index / 4;
  const PhiloxCounter w =
      philox4x32_10({static_cast<uint32_t>(group), static_cast<uint32_t>(group >> 32) | (tag << 24),
                     sample, sweep},
                    philox_key(seed));
  return w[index % 4];
}

// The documented 32-bit word of cluster bond q: half-word q of stream 3 (bits 16 (q % 2) .. + 15
// of the stream's word q / 2) leading, half-word q of stream 8 trailing.
uint32_t documented_bond_word(uint64_t seed, uint64_t q, uint32_t sample, uint32_t sweep) {
  auto half = [&](uint32_t tag) {
    return documented_word(seed, q / 2, tag, sample, sweep) >> (16 * (q % 2)) & 0xffffu;
  };
  return half(3) << 16 | half(8);
}

// The documented coin of the cluster whose smallest site is r: bit r % 128 of the 128 bits of
// Philox((r / 128 low, r / 128 high | 7 << 24, sample, sweep)), bit b being bit b % 32 of word
// b / 32.
bool documented_coin(uint64_t seed, uint64_t r, uint32_t sample, uint32_t sweep) {
  const uint64_t block = r / 128;
  const PhiloxCounter w =
      philox4x32_10({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32) | (7u << 24),
                     sample, sweep},
                    philox_key(seed));
  return (w[(r % 128) / 32] >> (r % 32) & 1) == 1;
}

// One Swendsen-Wang sweep written from the definition: every bond tested with the documented
// word against p = 1 - exp(-2 beta) in double, clusters by breadth-first search, each flipped by
// the coin of its smallest site.
std::vector<int8_t> reference_sweep(int dim, int64_t side, const std::vector<int8_t>& spins,
                                    double beta, uint64_t seed, uint32_t sample, uint32_t sweep,
                                    std::vector<int64_t>& cluster_min) {
  const int64_t sites = static_cast<int64_t>(spins.size());
  const double p = 1 - std::exp(-2 * beta);
  auto coords = [&](int64_t g) {
    std::vector<int64_t> c(static_cast<size_t>(dim));
    for (int a = dim - 1; a >= 0; --a, g /= side) c[a] = g % side;
    return c;
  };
  auto index = [&](const std::vector<int64_t>& c) {
    int64_t g = 0;
    for (int a = 0; a < dim; ++a) g = g * side + c[a];
    return g;
  };
  // adjacency over active bonds
  std::vector<std::vector<int64_t>> joined(static_cast<size_t>(sites));
  for (int64_t g = 0; g < sites; ++g) {
    for (int a = 0; a < dim; ++a) {
      std::vector<int64_t> c = coords(g);
      c[a] = (c[a] + 1) % side;
      const int64_t h = index(c);
      const uint64_t bond = static_cast<uint64_t>(dim * g + a);
      if (spins[g] == spins[h] &&
          uniform_open01(documented_bond_word(seed, bond, sample, sweep)) < p) {
        joined[g].push_back(h);
        joined[h].push_back(g);
      }
    }
  }
  cluster_min.assign(static_cast<size_t>(sites), -1);
  std::vector<int8_t> out = spins;
  for (int64_t start = 0; start < sites; ++start) {
    if (cluster_min[start] >= 0) continue;
    // `start` is the smallest site of its cluster: every smaller one is already labelled.
    const bool flip = documented_coin(seed, static_cast<uint64_t>(start), sample, sweep);
    std::deque<int64_t> queue{start};
    cluster_min[start] = start;
    while (!queue.empty()) {
      const int64_t g = queue.front();
      queue.pop_front();
      if (flip) out[g] = static_cast<int8_t>(-out[g]);
      for (int64_t h : joined[g]) {
        if (cluster_min[h] < 0) {
          cluster_min[h] = start;
          queue.push_back(h);
        }
      }
    }
  }
  return out;
}

TEST(IsingSwendsenWang, SweepFollowsTheDocumentedBondsClustersAndCoins) {
  struct Case {
    int dim;
    int64_t side;
    double beta;
  };
  // Rows of several 64-bit words (130, 128: whole words and a partial last one) as well as short
  // ones: the runs and flip bits carry across words.
  for (const Case& test : {Case{2, 10, 0.44}, Case{2, 6, 0.2}, Case{3, 4, 0.22}, Case{3, 2, 0.3},
                           Case{2, 130, 0.4407}, Case{2, 128, 0.5}, Case{3, 66, 0.2217}}) {
    IsingLattice lattice(test.dim, test.side);
    lattice.randomise(21, 2);
    BoxClusters clusters;
    int flipped_total = 0, clusters_total = 0;
    for (uint32_t sweep = 0; sweep < 4; ++sweep) {
      const std::vector<int8_t> before = lattice.spins();
      std::vector<int64_t> cluster_min;
      const std::vector<int8_t> expected =
          reference_sweep(test.dim, test.side, before, test.beta, 21, 2, sweep, cluster_min);
      swendsen_wang_sweep(lattice, test.beta, 21, 2, sweep, clusters);
      ASSERT_EQ(lattice.spins(), expected) << "d " << test.dim << " L " << test.side;
      // The whole lattice is one box: local roots are the clusters' smallest sites, no links.
      EXPECT_TRUE(clusters.links.empty());
      for (size_t g = 0; g < cluster_min.size(); ++g) {
        ASSERT_EQ(clusters.local_root(static_cast<uint32_t>(g)),
                  static_cast<uint32_t>(cluster_min[g]))
            << g;
        clusters_total += cluster_min[g] == static_cast<int64_t>(g);
        flipped_total += before[g] != expected[g];
      }
    }
    // Clusters of several sizes and some flipped: the comparison saw real work.
    const int sites = static_cast<int>(lattice.box().interior_sites());
    EXPECT_GT(flipped_total, 0);
    EXPECT_LT(clusters_total, 4 * sites);
    EXPECT_GT(clusters_total, 4);
  }
}

TEST(IsingSwendsenWang, RootsAreComponentMinimaWhateverTheOrder) {
  std::vector<ClusterLink> links = {{40, 17}, {9, 40}, {17, 33}, {5, 8}, {8, 5}, {70, 71}};
  const ClusterRoots roots(links);
  for (uint64_t node : {40, 17, 9, 33}) EXPECT_EQ(roots.root(node), 9u) << node;
  EXPECT_EQ(roots.root(5), 5u);
  EXPECT_EQ(roots.root(8), 5u);
  EXPECT_EQ(roots.root(71), 70u);
  EXPECT_EQ(roots.root(12), 12u);  // in no link: its own root
  EXPECT_EQ(roots.nodes(), 8u);
  std::mt19937 shuffle(3);
  for (int trial = 0; trial < 5; ++trial) {
    std::shuffle(links.begin(), links.end(), shuffle);
    links.push_back(links.front());  // repeats change nothing
    const ClusterRoots again(links);
    for (uint64_t node : {40, 17, 9, 33, 5, 8, 70, 71})
      EXPECT_EQ(again.root(node), roots.root(node));
  }
}

// The lattice cut into boxes, each labelled alone from its halo, the links of all boxes joined:
// the same spins as the whole-lattice sweep. Without the links (each box's clusters ending at
// its boundary) the spins differ: the merge is what makes the split exact.
TEST(IsingSwendsenWang, BoxByBoxIsBitIdenticalToWholeLatticeSweep) {
  std::vector<BoxSplit> splits = box_splits();
  splits.push_back({2, 4, {{0, 1, 2, 3, 4}, {0, 1, 2, 3, 4}}});  // 16 single sites
  splits.push_back({3, 2, {{0, 1, 2}, {0, 2}, {0, 1, 2}}});      // side 2: both neighbours across
  splits.push_back({2, 140, {{0, 60, 140}, {0, 67, 140}}});      // rows of several 64-bit words
  const uint64_t seed = 5;
  const uint32_t sample = 1;
  for (const BoxSplit& split : splits) {
    const double beta = split.dim == 2 ? beta_critical_2d() : beta_critical_3d();
    IsingLattice whole(split.dim, split.side);
    whole.randomise(seed, sample);
    std::vector<int8_t> lattice = whole.spins(), unmerged = lattice;
    const std::vector<IsingBox> boxes = grid_boxes(split.dim, split.side, split.cuts);
    BoxClusters whole_clusters;
    std::vector<BoxClusters> box_clusters(boxes.size());
    std::vector<std::vector<int8_t>> padded(boxes.size());
    bool unmerged_differs = false;
    size_t links = 0;
    for (uint32_t sweep = 0; sweep < 6; ++sweep) {
      swendsen_wang_sweep(whole, beta, seed, sample, sweep, whole_clusters);
      std::vector<ClusterLink> all_links;
      for (size_t i = 0; i < boxes.size(); ++i) {
        padded[i].resize(static_cast<size_t>(boxes[i].padded_sites()));
        load_box(lattice.data(), boxes[i], padded[i].data());
        label_box_clusters(boxes[i], padded[i].data(), beta, seed, sample, sweep, box_clusters[i]);
        all_links.insert(all_links.end(), box_clusters[i].links.begin(),
                         box_clusters[i].links.end());
      }
      links += all_links.size();
      const ClusterRoots roots(all_links);
      for (size_t i = 0; i < boxes.size(); ++i) {
        flip_box_clusters(boxes[i], padded[i].data(), box_clusters[i], roots, seed, sample, sweep);
        store_box(padded[i].data(), boxes[i], lattice.data());
      }
      ASSERT_EQ(whole.spins(), lattice)
          << "d " << split.dim << " boxes " << boxes.size() << " sweep " << sweep;
      // Each box alone, through the callback interface with no gather.
      for (size_t i = 0; i < boxes.size(); ++i) {
        load_box(unmerged.data(), boxes[i], padded[i].data());
        swendsen_wang_sweep(boxes[i], padded[i].data(), beta, seed, sample, sweep, {},
                            box_clusters[i]);
        store_box(padded[i].data(), boxes[i], unmerged.data());
      }
      unmerged_differs = unmerged_differs || unmerged != lattice;
      unmerged = lattice;
    }
    EXPECT_GT(links, 0u) << "d " << split.dim << " boxes " << boxes.size();
    EXPECT_TRUE(unmerged_differs) << "d " << split.dim << " boxes " << boxes.size();
  }
}

TEST(IsingSwendsenWang, OversizedBoxIsRejected) {
  IsingBox box;
  box.dim = 3;
  box.side = 2048;
  box.extent = {2048, 2048, 1024};  // 2^32 sites
  EXPECT_THROW(check_cluster_box(box), std::invalid_argument);
  box.extent = {2048, 2048, 1023};
  EXPECT_NO_THROW(check_cluster_box(box));
  IsingBox odd = IsingBox::whole(2, 7);
  EXPECT_THROW(check_cluster_box(odd), std::invalid_argument);
}

// ---------------------------------------------------------------- exact distribution

using Update = std::function<void(IsingLattice&, uint32_t step)>;

struct ChainHistograms {
  std::vector<int> bonds, abs_m;
  double tau = 0;
};

// `samples` measurements of the bond sum and |M|, thinned by ceil(4 tau_int) updates, tau_int of
// a pilot run of the same chain, so they are close to independent.
ChainHistograms sample_chain(int dim, int side, const Update& update, int samples) {
  IsingLattice lattice(dim, side);
  lattice.randomise(2027, 0);
  uint32_t step = 0;
  for (; step < 100; ++step) update(lattice, step);
  std::vector<double> pilot_bonds, pilot_m;
  for (int i = 0; i < 10000; ++i, ++step) {
    update(lattice, step);
    pilot_bonds.push_back(static_cast<double>(lattice.bond_sum()));
    pilot_m.push_back(std::abs(static_cast<double>(lattice.magnetisation_sum())));
  }
  ChainHistograms chain;
  chain.tau = std::max(integrated_autocorrelation_time(pilot_bonds),
                       integrated_autocorrelation_time(pilot_m));
  const int thinning = static_cast<int>(std::ceil(4 * chain.tau));
  for (int i = 0; i < samples; ++i) {
    for (int t = 0; t < thinning; ++t, ++step) update(lattice, step);
    chain.bonds.push_back(static_cast<int>(lattice.bond_sum()));
    chain.abs_m.push_back(static_cast<int>(std::abs(lattice.magnetisation_sum())));
  }
  return chain;
}

// True when both histograms pass the chi-square test at significance 0.001 against `exact`.
bool matches(const ChainHistograms& chain, const ExactDistribution& exact,
             const std::string& what) {
  const ChiSquare bond_test = histogram_test(exact.bonds, chain.bonds);
  const ChiSquare m_test = histogram_test(exact.abs_magnetisation, chain.abs_m);
  ::testing::Test::RecordProperty(
      what, "chi2 bonds " + std::to_string(bond_test.statistic) + " dof " +
                std::to_string(bond_test.dof) + ", |M| " + std::to_string(m_test.statistic) +
                " dof " + std::to_string(m_test.dof) + ", tau " + std::to_string(chain.tau));
  EXPECT_GE(bond_test.dof, 3) << what;
  return bond_test.statistic < chi_square_critical_0001(bond_test.dof) &&
         m_test.statistic < chi_square_critical_0001(m_test.dof);
}

Update swendsen_wang(double beta) {
  auto clusters = std::make_shared<BoxClusters>();
  return [beta, clusters](IsingLattice& lattice, uint32_t step) {
    swendsen_wang_sweep(lattice, beta, 2027, 0, step, *clusters);
  };
}

// The chain at beta matches the exact distribution at beta and is rejected against the exact
// distribution at `wrong_beta` (the test can fail).
void check_stationary(int dim, int side, double beta, double wrong_beta, const Update& update,
                      int samples) {
  const ChainHistograms chain = sample_chain(dim, side, update, samples);
  EXPECT_TRUE(matches(chain, enumerate_states(dim, side, beta), "at_beta"))
      << "d " << dim << " L " << side << " beta " << beta;
  EXPECT_FALSE(matches(chain, enumerate_states(dim, side, wrong_beta), "at_wrong_beta"))
      << "d " << dim << " L " << side << " beta " << beta << " wrong beta " << wrong_beta;
}

TEST(IsingSwendsenWangBalance, Square4x4AtBeta03) {
  check_stationary(2, 4, 0.3, 0.33, swendsen_wang(0.3), 40000);
}
TEST(IsingSwendsenWangBalance, Square4x4AtBetaC) {
  const double beta = beta_critical_2d();
  check_stationary(2, 4, beta, 1.1 * beta, swendsen_wang(beta), 40000);
}
TEST(IsingSwendsenWangBalance, Cube2x2x2AtBetaC3d) {
  const double beta = beta_critical_3d();
  check_stationary(3, 2, beta, 1.1 * beta, swendsen_wang(beta), 40000);
}

// The heat-bath and Wolff detailed-balance tests (test_ising.cpp) only ever pass; here the same
// kind of chain is shown to fail against a 10% wrong beta.
TEST(IsingSwendsenWangBalance, HeatBathAndWolffRejectAWrongBeta) {
  const double beta = beta_critical_2d();
  const HeatBathTable table = heat_bath_table(2, beta);
  check_stationary(
      2, 4, beta, 1.1 * beta,
      [&](IsingLattice& lattice, uint32_t step) { lattice.heat_bath_sweep(table, 2027, 0, step); },
      30000);
  check_stationary(
      2, 4, beta, 1.1 * beta,
      [&](IsingLattice& lattice, uint32_t step) { wolff_update(lattice, beta, 2027, 0, step); },
      30000);
}

// 2D, L = 16 at beta_c: U within 1% of U* = 0.61069, as the Wolff test asks.
TEST(IsingSwendsenWangBalance, BinderCumulantAtBetaC2d) {
  const double beta = beta_critical_2d();
  IsingLattice lattice(2, 16);
  lattice.randomise(31, 0);
  BoxClusters clusters;
  uint32_t sweep = 0;
  for (; sweep < 200; ++sweep) swendsen_wang_sweep(lattice, beta, 31, 0, sweep, clusters);
  std::vector<double> m2, m4;
  for (int i = 0; i < 40000; ++i, ++sweep) {
    swendsen_wang_sweep(lattice, beta, 31, 0, sweep, clusters);
    const double m = static_cast<double>(lattice.magnetisation_sum()) / 256.0;
    m2.push_back(m * m);
    m4.push_back(m * m * m * m);
  }
  const MeanError u = binder_cumulant(m2, m4, 50);
  ::testing::Test::RecordProperty("binder",
                                  std::to_string(u.mean) + " +- " + std::to_string(u.error));
  EXPECT_LT(u.error, 0.003);
  EXPECT_NEAR(u.mean, binder_critical(2), 0.01 * binder_critical(2)) << "error " << u.error;
}

}  // namespace
}  // namespace rgflow::field

// The Ising kernels against independent truth: exact enumeration (detailed balance), Onsager and
// Yang (2D), Philox called directly (keying), hand-made blocks (block-spin maps), and the same
// bits when a lattice is swept box by box (the property the distributed generator relies on).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "ising_test_util.hpp"
#include "rgflow/field/ising.hpp"
#include "rgflow/field/philox.hpp"

namespace rgflow::field {
namespace {

using namespace ising_test;

// ---------------------------------------------------------------- exact references

TEST(IsingExact, CriticalCouplings) {
  EXPECT_NEAR(beta_critical_2d(), 0.44068679350977151, 1e-15);
  // Kramers-Wannier self-duality: sinh(2 beta_c) = 1.
  EXPECT_NEAR(std::sinh(2 * beta_critical_2d()), 1.0, 1e-14);
  EXPECT_DOUBLE_EQ(beta_critical_3d(), 0.2216546);
  EXPECT_DOUBLE_EQ(binder_critical(2), 0.61069);
  EXPECT_DOUBLE_EQ(binder_critical(3), 0.4655);
  EXPECT_THROW(binder_critical(4), std::invalid_argument);
}

TEST(IsingExact, EllipticKByAgmMatchesQuadratureAndKnownValues) {
  EXPECT_NEAR(elliptic_k(0), M_PI / 2, 1e-15);
  EXPECT_NEAR(elliptic_k(1 / std::sqrt(2.0)), 1.8540746773013719,
              1e-14);  // Gamma(1/4)^2/(4 sqrt pi)
  for (double k : {0.1, 0.5, 0.9, 0.99}) {
    EXPECT_NEAR(elliptic_k(k), elliptic_k_simpson(k), 1e-10) << "k = " << k;
  }
  EXPECT_TRUE(std::isinf(elliptic_k(1)));
  EXPECT_THROW(elliptic_k(1.5), std::invalid_argument);
}

TEST(IsingExact, OnsagerEnergyAtTheQuotedValues) {
  EXPECT_NEAR(onsager_energy(0.3), -0.70450, 5e-6);
  EXPECT_NEAR(onsager_energy(0.5), -1.74556, 5e-6);
  EXPECT_NEAR(onsager_energy(beta_critical_2d()), -std::sqrt(2.0), 1e-12);
  // Continuous through beta_c (K diverges only logarithmically there).
  EXPECT_NEAR(onsager_energy(beta_critical_2d() - 1e-9), -std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(onsager_energy(beta_critical_2d() + 1e-9), -std::sqrt(2.0), 1e-6);
  // High temperature series: ln Z / N = ln 2 + 2 ln cosh(beta) + t^4 + O(t^6), t = tanh(beta)
  // (one plaquette per site), so u = -2 t - 4 t^3 (1 - t^2) + O(t^5).
  const double t = std::tanh(0.01);
  EXPECT_NEAR(onsager_energy(0.01), -2 * t - 4 * t * t * t, 1e-8);
  // Low temperature: u -> -2 with corrections O(exp(-8 beta)).
  EXPECT_NEAR(onsager_energy(3.0), -2.0, 1e-9);
}

TEST(IsingExact, YangMagnetisation) {
  EXPECT_NEAR(yang_magnetisation(0.5), 0.911319, 1e-6);
  EXPECT_EQ(yang_magnetisation(beta_critical_2d()), 0.0);
  EXPECT_EQ(yang_magnetisation(0.3), 0.0);
  EXPECT_NEAR(yang_magnetisation(5.0), 1.0, 1e-15);
}

TEST(IsingExact, AutocorrelationTimeOfAnAr1Process) {
  // x_t = rho x_{t-1} + noise: rho(t) = rho^t, tau_int = (1 + rho) / (2 (1 - rho)).
  const double rho = 0.8;
  std::vector<double> series(200000);
  double x = 0;
  for (size_t t = 0; t < series.size(); ++t) {
    const PhiloxCounter w = philox4x32_10({static_cast<uint32_t>(t), 0, 0, 0}, philox_key(3));
    const double noise =
        std::sqrt(-2 * std::log(uniform_open01(w[0]))) * std::cos(2 * M_PI * uniform_open01(w[1]));
    x = rho * x + noise;
    series[t] = x;
  }
  EXPECT_NEAR(integrated_autocorrelation_time(series), (1 + rho) / (2 * (1 - rho)), 0.3);
  EXPECT_DOUBLE_EQ(integrated_autocorrelation_time(std::vector<double>(10, 1.0)), 0.5);
  EXPECT_THROW(integrated_autocorrelation_time({1.0}), std::invalid_argument);
}

// ---------------------------------------------------------------- boxes and keying

TEST(IsingKernel, BadBoxesAreRejected) {
  EXPECT_THROW(IsingLattice(4, 8), std::invalid_argument);
  EXPECT_THROW(IsingLattice(2, 7), std::invalid_argument);
  IsingBox box = IsingBox::whole(2, 8);
  box.origin[0] = 4;
  EXPECT_THROW(check_box(box), std::invalid_argument);
  box = IsingBox::whole(2, 8);
  box.extent[2] = 2;
  EXPECT_THROW(check_box(box), std::invalid_argument);
  EXPECT_NO_THROW(check_box(IsingBox::whole(3, 2)));
}

TEST(IsingKernel, ThresholdsAreTheUniformComparison) {
  for (int dim : {2, 3}) {
    for (double beta : {0.0, 0.2216546, 0.44, 1.0, 20.0}) {
      const HeatBathTable table = heat_bath_table(dim, beta);
      for (int k = 0; k <= 2 * dim; ++k) {
        const int h = 2 * k - 2 * dim;
        const double p = 1 / (1 + std::exp(-2 * beta * h));
        const uint64_t t = table.threshold[static_cast<size_t>(k)];
        // w < t exactly when the uniform of w is below p, checked on both sides of t.
        for (uint64_t w : {t - 1, t, t + 1}) {
          if (w > 0xffffffffu) continue;
          EXPECT_EQ(w < t, uniform_open01(static_cast<uint32_t>(w)) < p)
              << "beta " << beta << " h " << h << " w " << w;
        }
      }
    }
  }
}

// Site g's leading half, as documented in ising.hpp, from Philox called directly; `tag` 1 is the
// heat-bath stream, 6 its tie stream (the trailing half).
uint32_t documented_half(uint64_t seed, uint32_t sample, uint32_t sweep, uint32_t colour,
                         uint64_t g, uint32_t tag) {
  const uint64_t q = g / 2;
  const PhiloxCounter w =
      philox4x32_10({static_cast<uint32_t>(q / 8), static_cast<uint32_t>(q / 8 >> 32) | (tag << 24),
                     sample, 2 * sweep + colour},
                    philox_key(seed));
  return (w[(q / 2) % 4] >> (16 * (q % 2))) & 0xffffu;
}

// The documented 32-bit word of site g: leading half then trailing half.
uint64_t documented_word(uint64_t seed, uint32_t sample, uint32_t sweep, uint32_t colour,
                         uint64_t g) {
  return (uint64_t{documented_half(seed, sample, sweep, colour, g, 1)} << 16) |
         documented_half(seed, sample, sweep, colour, g, 6);
}

// Runs `body` once with each heat-bath kernel this CPU has (the same bits are required of both),
// leaving the default selected.
template <typename Body>
void for_each_kernel(Body body) {
  for (HeatBathKernel kernel : {HeatBathKernel::kAvx2, HeatBathKernel::kPortable}) {
    if (!heat_bath_kernel_available(kernel)) continue;
    select_heat_bath_kernel(kernel);
    SCOPED_TRACE(kernel == HeatBathKernel::kAvx2 ? "AVX2 kernel" : "portable kernel");
    body();
  }
  select_heat_bath_kernel(heat_bath_kernel_available(HeatBathKernel::kAvx2)
                              ? HeatBathKernel::kAvx2
                              : HeatBathKernel::kPortable);
}

// At beta = 0 every threshold is 2^31: a site is +1 exactly when its documented word is below
// 2^31. Checked against Philox called directly, on a side that is not a multiple of 8 (rows
// straddle counter groups) and a box with odd origins.
TEST(IsingKernel, HeatBathWordsAreKeyedByGlobalSite) {
  const int64_t side = 6;
  const uint64_t seed = 0x123456789abcull;
  const uint32_t sample = 5, sweep = 7;
  const HeatBathTable table = heat_bath_table(3, 0.0);
  IsingBox box;
  box.dim = 3;
  box.side = side;
  box.origin = {1, 3, 1};
  box.extent = {4, 3, 5};
  for_each_kernel([&] {
    std::vector<int8_t> padded(static_cast<size_t>(box.padded_sites()), int8_t{0});
    for (int colour = 0; colour < 2; ++colour) {
      heat_bath_colour(box, padded.data(), table, seed, sample, sweep, colour);
    }
    const auto p = box.padded_extent();
    int checked = 0;
    for (int64_t z = 0; z < box.extent[0]; ++z) {
      for (int64_t y = 0; y < box.extent[1]; ++y) {
        for (int64_t x = 0; x < box.extent[2]; ++x) {
          const int64_t gz = box.origin[0] + z, gy = box.origin[1] + y, gx = box.origin[2] + x;
          const uint64_t g = static_cast<uint64_t>((gz * side + gy) * side + gx);
          const uint32_t colour = static_cast<uint32_t>((gz + gy + gx) & 1);
          const int8_t expected =
              documented_word(seed, sample, sweep, colour, g) < 0x80000000u ? 1 : -1;
          EXPECT_EQ(padded[((z + 1) * p[1] + y + 1) * p[2] + x + 1], expected) << g;
          ++checked;
        }
      }
    }
    EXPECT_EQ(checked, 60);
  });
}

// At beta = 20 a threshold is 2^32 (p rounds to 1), whose leading half 2^16 does not fit the
// kernels' 16-bit comparisons: a site with h > 0 becomes +1, h < 0 -1, and h = 0 follows its
// word (below 2^31: +1), the word from Philox.
TEST(IsingKernel, ThresholdOf2To32AtLargeBetaFollowsTheRule) {
  const int64_t side = 6;
  const HeatBathTable table = heat_bath_table(2, 20.0);
  ASSERT_EQ(table.threshold[4], uint64_t{1} << 32);
  for_each_kernel([&] {
    IsingLattice lattice(2, side);
    lattice.randomise(4, 0);
    const std::vector<int8_t> before = lattice.spins();
    fill_periodic_halo(lattice.box(), lattice.padded());
    heat_bath_colour(lattice.box(), lattice.padded(), table, 4, 0, 9, 1);
    const std::vector<int8_t> after = lattice.spins();
    int ties = 0;
    for (int64_t y = 0; y < side; ++y) {
      for (int64_t x = 0; x < side; ++x) {
        const int64_t g = y * side + x;
        if ((x + y) % 2 == 0) {
          EXPECT_EQ(after[g], before[g]);  // the other colour is untouched
          continue;
        }
        const int h = before[((y + 1) % side) * side + x] + before[((y + 5) % side) * side + x] +
                      before[y * side + (x + 1) % side] + before[y * side + (x + 5) % side];
        const uint64_t word = documented_word(4, 0, 9, 1, static_cast<uint64_t>(g));
        const int8_t expected = h > 0 ? 1 : (h < 0 ? -1 : (word < 0x80000000u ? 1 : -1));
        ties += h == 0;
        EXPECT_EQ(after[g], expected) << "site " << g << " h " << h;
      }
    }
    EXPECT_GT(ties, 0);
  });
}

// The whole-lattice sweep against the same sweep done box by box: for each colour every box is
// loaded with its halo from the lattice (what the exchange delivers), updated, and written back.
void boxed_sweep(std::vector<int8_t>& lattice, const std::vector<IsingBox>& boxes,
                 const HeatBathTable& table, uint64_t seed, uint32_t sample, uint32_t sweep) {
  for (int colour = 0; colour < 2; ++colour) {
    std::vector<std::vector<int8_t>> padded;
    for (const IsingBox& box : boxes) {
      padded.emplace_back(static_cast<size_t>(box.padded_sites()));
      load_box(lattice.data(), box, padded.back().data());
    }
    for (size_t i = 0; i < boxes.size(); ++i) {
      heat_bath_colour(boxes[i], padded[i].data(), table, seed, sample, sweep, colour);
    }
    for (size_t i = 0; i < boxes.size(); ++i) store_box(padded[i].data(), boxes[i], lattice.data());
  }
}

TEST(IsingKernel, BoxBySweepIsBitIdenticalToWholeLatticeSweep) {
  const uint64_t seed = 99;
  const uint32_t sample = 3;
  for (const BoxSplit& split : box_splits()) {
    const HeatBathTable table = heat_bath_table(split.dim, split.dim == 2 ? 0.44 : 0.22);
    IsingLattice whole(split.dim, split.side);
    whole.randomise(seed, sample);
    std::vector<int8_t> lattice = whole.spins();
    const std::vector<IsingBox> boxes = grid_boxes(split.dim, split.side, split.cuts);
    for (uint32_t sweep = 0; sweep < 5; ++sweep) {
      whole.heat_bath_sweep(table, seed, sample, sweep);
      boxed_sweep(lattice, boxes, table, seed, sample, sweep);
      ASSERT_EQ(whole.spins(), lattice)
          << "d " << split.dim << " boxes " << boxes.size() << " sweep " << sweep;
    }
    // Bonds summed box by box count every bond once: the same total as the whole lattice.
    int64_t bonds = 0, magnetisation = 0;
    for (const IsingBox& box : boxes) {
      std::vector<int8_t> padded(static_cast<size_t>(box.padded_sites()));
      load_box(lattice.data(), box, padded.data());
      bonds += box_bond_sum(box, padded.data());
      magnetisation += box_magnetisation_sum(box, padded.data());
    }
    EXPECT_EQ(bonds, whole.bond_sum());
    EXPECT_EQ(magnetisation, whole.magnetisation_sum());
  }
}

// A colour updated layer range by layer range (the distributed chain's interior layers, then its
// first and last) equals the whole update, with either kernel, on boxes with odd origins and rows
// of whole AVX2 chunks and tails.
TEST(IsingKernel, ColourInLayerPiecesEqualsTheWholeColour) {
  const uint64_t seed = 5;
  for (HeatBathKernel kernel : {HeatBathKernel::kAvx2, HeatBathKernel::kPortable}) {
    if (!heat_bath_kernel_available(kernel)) continue;
    select_heat_bath_kernel(kernel);
    for (const IsingBox& box :
         {IsingBox{2, 200, {3, 5, 0}, {7, 150, 1}}, IsingBox{3, 80, {1, 2, 3}, {5, 4, 70}},
          IsingBox{2, 200, {10, 0, 0}, {2, 200, 1}}}) {
      const HeatBathTable table = heat_bath_table(box.dim, box.dim == 2 ? 0.44 : 0.22);
      IsingLattice whole(box.dim, box.side);
      whole.randomise(seed, 1);
      const std::vector<int8_t> lattice = whole.spins();
      std::vector<int8_t> at_once(static_cast<size_t>(box.padded_sites()));
      load_box(lattice.data(), box, at_once.data());
      std::vector<int8_t> in_pieces = at_once;
      const int64_t layers = box.extent[0];
      for (int colour = 0; colour < 2; ++colour) {
        heat_bath_colour(box, at_once.data(), table, seed, 1, 4, colour);
        heat_bath_colour_layers(box, in_pieces.data(), table, seed, 1, 4, colour, 1, layers - 1);
        heat_bath_colour_layers(box, in_pieces.data(), table, seed, 1, 4, colour, layers - 1,
                                layers);
        heat_bath_colour_layers(box, in_pieces.data(), table, seed, 1, 4, colour, 0, 1);
        EXPECT_EQ(at_once, in_pieces) << "d " << box.dim << " colour " << colour;
      }
    }
  }
  select_heat_bath_kernel(heat_bath_kernel_available(HeatBathKernel::kAvx2)
                              ? HeatBathKernel::kAvx2
                              : HeatBathKernel::kPortable);
}

// One colour of the documented update, site by site on the unpadded periodic lattice with Philox
// called directly and the whole 32-bit word always formed (the kernels form the trailing half
// only on ties): the independent truth for the kernels' vector paths. Returns how many sites were
// ties (leading half equal to the threshold's), so a test can make sure it met some.
int reference_colour(std::vector<int8_t>& lattice, int dim, int64_t side,
                     const HeatBathTable& table, uint64_t seed, uint32_t sample, uint32_t sweep,
                     int colour) {
  const int64_t depth = dim == 3 ? side : 1;
  auto at = [&](int64_t z, int64_t y, int64_t x) {
    return lattice[static_cast<size_t>((((z + depth) % depth) * side + (y + side) % side) * side +
                                       (x + side) % side)];
  };
  int ties = 0;
  for (int64_t z = 0; z < depth; ++z) {
    for (int64_t y = 0; y < side; ++y) {
      for (int64_t x = 0; x < side; ++x) {
        if ((z + y + x) % 2 != colour) continue;
        int h = at(z, y, x - 1) + at(z, y, x + 1) + at(z, y - 1, x) + at(z, y + 1, x);
        if (dim == 3) h += at(z - 1, y, x) + at(z + 1, y, x);
        const uint64_t g = static_cast<uint64_t>((z * side + y) * side + x);
        const uint64_t threshold = table.threshold[static_cast<size_t>((h + 2 * dim) / 2)];
        const uint64_t word =
            documented_word(seed, sample, sweep, static_cast<uint32_t>(colour), g);
        ties += (word >> 16) == (threshold >> 16);
        lattice[static_cast<size_t>(g)] = word < threshold ? 1 : -1;
      }
    }
  }
  return ties;
}

// Both kernels against the site-by-site definition: rows of whole chunks and a tail, rows that
// start anywhere modulo 16, boxes with odd origins and extents, 2D and 3D, at beta_c; and on
// lattices large enough that ties (one site in 65536) occur, in chunks and at rows' ends.
TEST(IsingKernel, SweepsEqualTheSiteBySiteDefinition) {
  struct Case {
    int dim;
    int64_t side;
    std::vector<std::vector<int64_t>> cuts;
    uint32_t sweeps;
  };
  const std::vector<Case> cases = {
      {2, 136, {{0, 136}, {0, 136}}, 3},               // rows of whole chunks and a tail
      {2, 70, {{0, 70}, {0, 70}}, 3},                  // rows starting anywhere modulo 16
      {2, 70, {{0, 33, 70}, {0, 3, 41, 70}}, 3},       // boxes with odd origins and extents
      {3, 38, {{0, 38}, {0, 38}, {0, 38}}, 2},         // 3D whole lattice
      {3, 38, {{0, 19, 38}, {0, 38}, {0, 5, 38}}, 2},  // 3D boxes
      {2, 256, {{0, 256}, {0, 256}}, 4},               // ties, 2D
      {3, 44, {{0, 44}, {0, 44}, {0, 7, 44}}, 3},      // ties, 3D, boxes
  };
  const uint64_t seed = 0xfeedbeefcafeull;
  const uint32_t sample = 9;
  int ties_2d = 0, ties_3d = 0;
  for (const Case& c : cases) {
    const HeatBathTable table =
        heat_bath_table(c.dim, c.dim == 2 ? beta_critical_2d() : beta_critical_3d());
    IsingLattice start(c.dim, c.side);
    start.randomise(seed, sample);
    std::vector<int8_t> reference = start.spins();
    std::vector<std::vector<int8_t>> after_sweep;
    for (uint32_t sweep = 0; sweep < c.sweeps; ++sweep) {
      for (int colour = 0; colour < 2; ++colour) {
        const int ties =
            reference_colour(reference, c.dim, c.side, table, seed, sample, sweep, colour);
        (c.dim == 2 ? ties_2d : ties_3d) += ties;
      }
      after_sweep.push_back(reference);
    }
    const std::vector<IsingBox> boxes = grid_boxes(c.dim, c.side, c.cuts);
    for_each_kernel([&] {
      IsingLattice whole(c.dim, c.side);
      whole.set_spins(start.spins());
      std::vector<int8_t> boxed = start.spins();
      for (uint32_t sweep = 0; sweep < c.sweeps; ++sweep) {
        whole.heat_bath_sweep(table, seed, sample, sweep);
        ASSERT_EQ(whole.spins(), after_sweep[sweep])
            << "d " << c.dim << " side " << c.side << " sweep " << sweep;
        if (boxes.size() > 1) {
          boxed_sweep(boxed, boxes, table, seed, sample, sweep);
          ASSERT_EQ(boxed, after_sweep[sweep])
              << "d " << c.dim << " boxes " << boxes.size() << " sweep " << sweep;
        }
      }
    });
  }
  RecordProperty("ties", std::to_string(ties_2d) + " in 2D, " + std::to_string(ties_3d) + " in 3D");
  EXPECT_GT(ties_2d, 0);
  EXPECT_GT(ties_3d, 0);
}

TEST(IsingKernel, ObservablesOnHandMadeLattices) {
  IsingLattice lattice(2, 4);
  lattice.set_all(1);
  EXPECT_EQ(lattice.magnetisation_sum(), 16);
  EXPECT_EQ(lattice.bond_sum(), 32);  // 2 bonds per site
  // Columns alternating: every x bond -1, every y bond +1.
  std::vector<int8_t> stripes(16);
  for (int i = 0; i < 16; ++i) stripes[i] = (i % 2) ? -1 : 1;
  lattice.set_spins(stripes);
  EXPECT_EQ(lattice.magnetisation_sum(), 0);
  EXPECT_EQ(lattice.bond_sum(), 0);
  // Checkerboard (antiferromagnet): every bond -1.
  IsingLattice cube(3, 4);
  std::vector<int8_t> neel(64);
  for (int z = 0; z < 4; ++z)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) neel[(z * 4 + y) * 4 + x] = ((x + y + z) % 2) ? -1 : 1;
  cube.set_spins(neel);
  EXPECT_EQ(cube.bond_sum(), -3 * 64);
  EXPECT_EQ(cube.spins(), neel);
}

// ---------------------------------------------------------------- detailed balance

// The chain's histograms of B and |M| against exact enumeration, chi-square at significance
// 0.001 (fixed seed: deterministic). Samples are thinned by ceil(4 tau_int) sweeps, tau_int
// measured on a pilot run of the same chain, so they are close to independent.
void check_detailed_balance(int dim, int side, double beta, int samples) {
  const ExactDistribution exact = enumerate_states(dim, side, beta);
  const HeatBathTable table = heat_bath_table(dim, beta);
  IsingLattice lattice(dim, side);
  const uint64_t seed = 2026;
  lattice.randomise(seed, 0);
  uint32_t sweep = 0;
  for (; sweep < 100; ++sweep) lattice.heat_bath_sweep(table, seed, 0, sweep);
  std::vector<double> pilot_bonds, pilot_m;
  for (int i = 0; i < 20000; ++i, ++sweep) {
    lattice.heat_bath_sweep(table, seed, 0, sweep);
    pilot_bonds.push_back(static_cast<double>(lattice.bond_sum()));
    pilot_m.push_back(std::abs(static_cast<double>(lattice.magnetisation_sum())));
  }
  const double tau = std::max(integrated_autocorrelation_time(pilot_bonds),
                              integrated_autocorrelation_time(pilot_m));
  const int thinning = static_cast<int>(std::ceil(4 * tau));
  std::vector<int> bonds, abs_m;
  for (int i = 0; i < samples; ++i) {
    for (int t = 0; t < thinning; ++t, ++sweep) lattice.heat_bath_sweep(table, seed, 0, sweep);
    bonds.push_back(static_cast<int>(lattice.bond_sum()));
    abs_m.push_back(static_cast<int>(std::abs(lattice.magnetisation_sum())));
  }
  const ChiSquare bond_test = histogram_test(exact.bonds, bonds);
  const ChiSquare m_test = histogram_test(exact.abs_magnetisation, abs_m);
  ::testing::Test::RecordProperty("tau_int", std::to_string(tau));
  ::testing::Test::RecordProperty(
      "chi2_bonds", std::to_string(bond_test.statistic) + " dof " + std::to_string(bond_test.dof));
  ::testing::Test::RecordProperty(
      "chi2_abs_m", std::to_string(m_test.statistic) + " dof " + std::to_string(m_test.dof));
  EXPECT_GE(bond_test.dof, 3);
  EXPECT_LT(bond_test.statistic, chi_square_critical_0001(bond_test.dof))
      << "bond sum, d " << dim << " beta " << beta << " tau " << tau;
  EXPECT_LT(m_test.statistic, chi_square_critical_0001(m_test.dof))
      << "|M|, d " << dim << " beta " << beta << " tau " << tau;
}

TEST(IsingDetailedBalance, Square4x4AtBeta03) {
  check_detailed_balance(2, 4, 0.3, 100000);
}
TEST(IsingDetailedBalance, Square4x4AtBetaC) {
  check_detailed_balance(2, 4, beta_critical_2d(), 100000);
}
TEST(IsingDetailedBalance, Cube2x2x2AtBetaC3d) {
  check_detailed_balance(3, 2, beta_critical_3d(), 100000);
}

// ---------------------------------------------------------------- against Onsager and Yang

struct ChainRun {
  MeanError energy, abs_magnetisation;
  double tau_energy;
};

ChainRun heat_bath_run(int64_t side, double beta, bool cold_start, int thermalise, int measure) {
  const HeatBathTable table = heat_bath_table(2, beta);
  IsingLattice lattice(2, side);
  const uint64_t seed = 11;
  if (cold_start) {
    lattice.set_all(1);
  } else {
    lattice.randomise(seed, 0);
  }
  uint32_t sweep = 0;
  for (; sweep < static_cast<uint32_t>(thermalise); ++sweep) {
    lattice.heat_bath_sweep(table, seed, 0, sweep);
  }
  const double sites = static_cast<double>(side * side);
  std::vector<double> energy, abs_m;
  for (int i = 0; i < measure; ++i, ++sweep) {
    lattice.heat_bath_sweep(table, seed, 0, sweep);
    energy.push_back(-static_cast<double>(lattice.bond_sum()) / sites);
    abs_m.push_back(std::abs(static_cast<double>(lattice.magnetisation_sum())) / sites);
  }
  const ChainRun run{binned_mean(energy, 50), binned_mean(abs_m, 50),
                     integrated_autocorrelation_time(energy)};
  ::testing::Test::RecordProperty(
      "energy", std::to_string(run.energy.mean) + " +- " + std::to_string(run.energy.error));
  ::testing::Test::RecordProperty("abs_m", std::to_string(run.abs_magnetisation.mean) + " +- " +
                                               std::to_string(run.abs_magnetisation.error));
  ::testing::Test::RecordProperty("tau_energy", std::to_string(run.tau_energy));
  return run;
}

TEST(IsingOnsager, EnergyAtBeta03) {
  const ChainRun run = heat_bath_run(128, 0.3, false, 200, 4000);
  EXPECT_LT(run.energy.error, 1e-3);
  EXPECT_NEAR(run.energy.mean, onsager_energy(0.3), 3 * run.energy.error)
      << "error " << run.energy.error << " tau " << run.tau_energy;
}

TEST(IsingOnsager, EnergyAndYangMagnetisationAtBeta05) {
  // Cold start: in the ordered phase a hot start can freeze into long-lived stripes.
  const ChainRun run = heat_bath_run(128, 0.5, true, 200, 4000);
  EXPECT_LT(run.energy.error, 1e-3);
  EXPECT_NEAR(run.energy.mean, onsager_energy(0.5), 3 * run.energy.error)
      << "error " << run.energy.error << " tau " << run.tau_energy;
  // At beta = 0.5 the correlation length is about a site: finite-size corrections to <|m|> at
  // L = 128 are exponentially small, far below the error.
  EXPECT_NEAR(run.abs_magnetisation.mean, yang_magnetisation(0.5), 3 * run.abs_magnetisation.error)
      << "error " << run.abs_magnetisation.error;
}

// ---------------------------------------------------------------- block-spin maps

TEST(IsingBlockMaps, MajorityAndDecimationOnHandMadeBlocks) {
  // 6 x 6, b = 3: four blocks with sums +9, -3, +1, -9.
  const int8_t u = 1, d = -1;
  const std::vector<int8_t> in = {
      u, u, u, d, d, u,  //
      u, u, u, u, d, d,  //
      u, u, u, d, u, d,  //
      d, u, u, d, d, d,  //
      u, d, d, d, d, d,  //
      u, u, d, d, d, d,  //
  };
  const IsingBox box = IsingBox::whole(2, 6);
  std::vector<int8_t> out(4);
  majority_map(in.data(), box, 3, 1, 0, 0, out.data());
  EXPECT_EQ(out, (std::vector<int8_t>{u, d, u, d}));
  decimation_map(in.data(), box, 3, out.data());
  EXPECT_EQ(out, (std::vector<int8_t>{u, d, d, d}));
  // 3D, b = 2, 4^3 lattice (8 blocks): block 0 sums to +4, the others to -8.
  std::vector<int8_t> cube(64, d);
  for (int i : {0, 1, 4, 16, 21, 20}) cube[i] = u;  // block 0 holds sites 0 1 4 5 16 17 20 21
  std::vector<int8_t> blocks(8);
  majority_map(cube.data(), IsingBox::whole(3, 4), 2, 1, 0, 0, blocks.data());
  EXPECT_EQ(blocks, (std::vector<int8_t>{u, d, d, d, d, d, d, d}));
  decimation_map(cube.data(), IsingBox::whole(3, 4), 2, blocks.data());
  EXPECT_EQ(blocks[0], u);
  EXPECT_THROW(majority_map(cube.data(), IsingBox::whole(3, 4), 3, 1, 0, 0, blocks.data()),
               std::invalid_argument);
}

TEST(IsingBlockMaps, MajorityTiesAreKeyedFairAndDecompositionFree) {
  // 64 x 64, b = 2, every block a tie (two up, two down): 1024 ties.
  const int64_t side = 64, blocks_side = 32;
  std::vector<int8_t> in(static_cast<size_t>(side * side));
  for (int64_t y = 0; y < side; ++y)
    for (int64_t x = 0; x < side; ++x) in[y * side + x] = (y % 2) ? 1 : -1;
  const IsingBox whole = IsingBox::whole(2, side);
  std::vector<int8_t> out(static_cast<size_t>(blocks_side * blocks_side)), again(out.size()),
      other_level(out.size());
  majority_map(in.data(), whole, 2, 42, 1, 2, out.data());
  majority_map(in.data(), whole, 2, 42, 1, 2, again.data());
  majority_map(in.data(), whole, 2, 42, 1, 3, other_level.data());
  EXPECT_EQ(out, again);
  EXPECT_NE(out, other_level);
  int up = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    up += out[i] == 1;
    // The documented word, from Philox directly.
    const uint64_t block = i;
    const PhiloxCounter w =
        philox4x32_10({static_cast<uint32_t>(block / 4), 2u << 24, 1, 2}, philox_key(42));
    ASSERT_EQ(out[i], (w[block % 4] >> 31) == 0 ? 1 : -1) << i;
  }
  // Fair coin: 1024 draws, 4 standard deviations (16).
  EXPECT_NEAR(up, 512, 64);
  // A box of the lattice (origin a multiple of b) maps to the same blocks as the whole.
  IsingBox box;
  box.dim = 2;
  box.side = side;
  box.origin = {16, 8, 0};
  box.extent = {8, 48, 1};
  std::vector<int8_t> box_in(static_cast<size_t>(8 * 48)), box_out(4 * 24);
  for (int64_t y = 0; y < 8; ++y)
    for (int64_t x = 0; x < 48; ++x) box_in[y * 48 + x] = in[(16 + y) * side + 8 + x];
  majority_map(box_in.data(), box, 2, 42, 1, 2, box_out.data());
  for (int64_t by = 0; by < 4; ++by)
    for (int64_t bx = 0; bx < 24; ++bx)
      EXPECT_EQ(box_out[by * 24 + bx], out[(8 + by) * blocks_side + 4 + bx]);
}

// ---------------------------------------------------------------- cluster update

TEST(IsingWolff, DetailedBalanceOn4x4) {
  const double beta = beta_critical_2d();
  const ExactDistribution exact = enumerate_states(2, 4, beta);
  IsingLattice lattice(2, 4);
  lattice.randomise(5, 0);
  std::vector<int> bonds, abs_m;
  uint32_t step = 0;
  for (; step < 100; ++step) wolff_update(lattice, beta, 5, 0, step);
  for (int i = 0; i < 100000; ++i) {
    for (int t = 0; t < 3; ++t, ++step) wolff_update(lattice, beta, 5, 0, step);
    bonds.push_back(static_cast<int>(lattice.bond_sum()));
    abs_m.push_back(static_cast<int>(std::abs(lattice.magnetisation_sum())));
  }
  const ChiSquare bond_test = histogram_test(exact.bonds, bonds);
  const ChiSquare m_test = histogram_test(exact.abs_magnetisation, abs_m);
  EXPECT_LT(bond_test.statistic, chi_square_critical_0001(bond_test.dof));
  EXPECT_LT(m_test.statistic, chi_square_critical_0001(m_test.dof));
}

TEST(IsingWolff, ClusterIsKeyedAndFlipsOneSign) {
  IsingLattice a(3, 6), b(3, 6);
  a.randomise(8, 1);
  b.randomise(8, 1);
  const std::vector<int8_t> before = a.spins();
  const int64_t size = wolff_update(a, 0.3, 8, 1, 4);
  EXPECT_EQ(wolff_update(b, 0.3, 8, 1, 4), size);
  EXPECT_EQ(a.spins(), b.spins());
  const std::vector<int8_t> after = a.spins();
  int64_t flipped = 0;
  int8_t sign = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i] != after[i]) {
      ++flipped;
      if (sign == 0) sign = before[i];
      EXPECT_EQ(before[i], sign);  // a cluster holds spins of one sign
    }
  }
  EXPECT_EQ(flipped, size);
}

// Binder cumulant U = 1 - <m^4> / (3 <m^2>^2) at beta_c from Wolff updates, the error by
// jackknife over 50 blocks of measurements.
MeanError wolff_binder(int dim, int64_t side, int measurements, int updates_between) {
  const double beta = dim == 2 ? beta_critical_2d() : beta_critical_3d();
  IsingLattice lattice(dim, side);
  const uint64_t seed = 17;
  lattice.randomise(seed, 0);
  uint32_t step = 0;
  for (; step < 1000; ++step) wolff_update(lattice, beta, seed, 0, step);
  const double sites = static_cast<double>(lattice.box().interior_sites());
  std::vector<double> m2, m4;
  for (int i = 0; i < measurements; ++i) {
    for (int t = 0; t < updates_between; ++t, ++step) wolff_update(lattice, beta, seed, 0, step);
    const double m = static_cast<double>(lattice.magnetisation_sum()) / sites;
    m2.push_back(m * m);
    m4.push_back(m * m * m * m);
  }
  const MeanError u = binder_cumulant(m2, m4, 50);
  ::testing::Test::RecordProperty("binder",
                                  std::to_string(u.mean) + " +- " + std::to_string(u.error));
  return u;
}

// 2D, L = 16: U within 1% of U* = 0.61069 (the tolerance). The finite-size shift at L = 16
// is small: three seeds gave 0.6104, 0.6112 and 0.6123, each +- 0.001.
TEST(IsingWolff, BinderCumulantAtBetaC2d) {
  const MeanError u = wolff_binder(2, 16, 20000, 2);
  EXPECT_LT(u.error, 0.002);
  EXPECT_NEAR(u.mean, binder_critical(2), 0.01 * binder_critical(2)) << "error " << u.error;
}

// 3D, L = 16 (several seconds: CTest entry unit_ising_long, label long): U within 3 errors plus
// 1% (corrections to scaling at L = 16) of U* = 0.4655.
TEST(IsingWolff, DISABLED_BinderCumulantAtBetaC3d) {
  const MeanError u = wolff_binder(3, 16, 30000, 3);
  EXPECT_LT(u.error, 0.006);
  EXPECT_NEAR(u.mean, binder_critical(3), 3 * u.error + 0.01 * binder_critical(3))
      << "error " << u.error;
}

}  // namespace
}  // namespace rgflow::field

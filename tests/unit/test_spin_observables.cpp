// The spin observables against independent truth: the Ising kernels' own whole-lattice sums
// (box_magnetisation_sum, box_bond_sum) and a coordinate-loop energy, every state of a 4 x 4
// periodic lattice enumerated with Boltzmann weights (<e> also as -d ln Z / d beta / N by finite
// differences), and the Binder cumulant and susceptibility of i.i.d. +-1 spins, known in closed
// form, with the jackknife errors checked against the spread over independent replicas.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "rgflow/analysis/spin_observables.hpp"
#include "rgflow/field/ising.hpp"

namespace rgflow::analysis {
namespace {

double at(const std::vector<double>& values, SpinObservable o) {
  return values[static_cast<size_t>(o)];
}
const Estimate& at(const std::vector<Estimate>& values, SpinObservable o) {
  return values[static_cast<size_t>(o)];
}

// The sum of s_i s_j over nearest-neighbour bonds of a 2D periodic lattice by coordinates, each
// bond once (right and down neighbours).
int64_t bond_sum_2d(const std::vector<int8_t>& s, int64_t side) {
  int64_t sum = 0;
  for (int64_t y = 0; y < side; ++y) {
    for (int64_t x = 0; x < side; ++x) {
      const int64_t here = s[static_cast<size_t>(y * side + x)];
      sum += here * s[static_cast<size_t>(y * side + (x + 1) % side)];
      sum += here * s[static_cast<size_t>(((y + 1) % side) * side + x)];
    }
  }
  return sum;
}

// The sums of a whole lattice cut into tiles at the row boundaries `cuts` (0 < cut < side,
// increasing), each tile given the row after it (row 0 after the last).
template <typename Value>
SpinSums tiled_sums(int dim, int64_t side, const std::vector<Value>& lattice,
                    const std::vector<int64_t>& cuts) {
  int64_t row = 1;
  for (int axis = 1; axis < dim; ++axis) row *= side;
  std::vector<int64_t> bounds{0};
  bounds.insert(bounds.end(), cuts.begin(), cuts.end());
  bounds.push_back(side);
  SpinSums total;
  for (size_t t = 0; t + 1 < bounds.size(); ++t) {
    const int64_t begin = bounds[t], end = bounds[t + 1];
    const SpinSums tile = tile_spin_sums(dim, side, end - begin, lattice.data() + begin * row,
                                         lattice.data() + (end % side) * row);
    total.magnetisation += tile.magnetisation;
    total.bond += tile.bond;
  }
  return total;
}

TEST(SpinObservables, TileSumsAddUpToTheIsingKernelsWholeLatticeSums) {
  struct Case {
    int dim;
    int64_t side;
    std::vector<int64_t> cuts;
  };
  for (const Case& c : {Case{2, 6, {1, 4, 5}}, Case{2, 8, {3}}, Case{3, 4, {1, 2, 3}},
                        Case{3, 6, {5}}, Case{2, 2, {1}}}) {
    for (uint32_t sample = 0; sample < 3; ++sample) {
      field::IsingLattice lattice(c.dim, c.side);
      lattice.randomise(11, sample);
      const std::vector<int8_t> spins = lattice.spins();
      const double magnetisation = static_cast<double>(lattice.magnetisation_sum());
      const double bond = static_cast<double>(lattice.bond_sum());
      SCOPED_TRACE("dim " + std::to_string(c.dim) + " side " + std::to_string(c.side));
      const SpinSums whole = tile_spin_sums(c.dim, c.side, c.side, spins.data(), spins.data());
      EXPECT_EQ(whole.magnetisation, magnetisation);
      EXPECT_EQ(whole.bond, bond);
      const SpinSums tiled = tiled_sums(c.dim, c.side, spins, c.cuts);
      EXPECT_EQ(tiled.magnetisation, magnetisation);
      EXPECT_EQ(tiled.bond, bond);
      // The same values as float and double (a learned map's outputs are real): the same sums.
      const SpinSums as_float =
          tiled_sums(c.dim, c.side, std::vector<float>(spins.begin(), spins.end()), c.cuts);
      const SpinSums as_double =
          tiled_sums(c.dim, c.side, std::vector<double>(spins.begin(), spins.end()), c.cuts);
      EXPECT_EQ(as_float.bond, bond);
      EXPECT_EQ(as_double.bond, bond);
      EXPECT_EQ(as_double.magnetisation, magnetisation);
      if (c.dim == 2) {
        EXPECT_EQ(whole.bond, static_cast<double>(bond_sum_2d(spins, c.side)));
      }
    }
  }
}

TEST(SpinObservables, TileSumsOfHandMadeLattices) {
  // 1D ring + + - +: bonds (+)(+) + (+)(-) + (-)(+) + (+)(+) = 0.
  const std::vector<int8_t> ring{1, 1, -1, 1};
  const SpinSums sums = tile_spin_sums(1, 4, 4, ring.data(), ring.data());
  EXPECT_EQ(sums.magnetisation, 2);
  EXPECT_EQ(sums.bond, 0);
  // All-up 2D and 3D lattices: d bonds per site.
  const std::vector<int8_t> up(64, 1);
  EXPECT_EQ(tile_spin_sums(2, 8, 8, up.data(), up.data()).bond, 128);
  EXPECT_EQ(tile_spin_sums(3, 4, 4, up.data(), up.data()).bond, 192);
  // The checkerboard (the antiferromagnetic ground state): every bond -1.
  std::vector<int8_t> board(36);
  for (int64_t i = 0; i < 36; ++i) board[static_cast<size_t>(i)] = (i / 6 + i % 6) % 2 ? -1 : 1;
  EXPECT_EQ(tile_spin_sums(2, 6, 6, board.data(), board.data()).bond, -72);
  // A real tile whose next row is held in double (a learned level's next row): the same sums.
  const std::vector<float> top(board.begin(), board.begin() + 18);
  const std::vector<double> next(board.begin() + 18, board.begin() + 24);
  const SpinSums mixed = tile_spin_sums(2, 6, 3, top.data(), next.data());
  const SpinSums spins = tile_spin_sums(2, 6, 3, board.data(), board.data() + 18);
  EXPECT_EQ(mixed.bond, spins.bond);
  EXPECT_EQ(mixed.bond, -36);
  EXPECT_EQ(mixed.magnetisation, 0);
  EXPECT_THROW(tile_spin_sums(4, 4, 4, up.data(), up.data()), std::invalid_argument);
}

// Every state of the 4 x 4 periodic lattice: the exact Boltzmann averages of <e>, <|m|>, <m^2>,
// <m^4> from coordinate loops, against the observables made from the tile kernel's sums (two
// tiles of two rows each) with the same weights.
struct Enumerated {
  SpinMoments kernel;                       // weighted sums from tile_spin_sums
  double e = 0, abs_m = 0, m2 = 0, m4 = 0;  // exact averages
  double log_z = 0;
};

Enumerated enumerate_4x4(double beta) {
  constexpr int64_t side = 4, sites = 16;
  Enumerated out;
  double z = 0, sum_e = 0, sum_abs = 0, sum_m2 = 0, sum_m4 = 0;
  std::vector<int8_t> s(sites);
  for (uint32_t state = 0; state < (1u << sites); ++state) {
    int64_t magnetisation = 0;
    for (int64_t i = 0; i < sites; ++i) {
      s[static_cast<size_t>(i)] = (state >> i) & 1u ? 1 : -1;
      magnetisation += s[static_cast<size_t>(i)];
    }
    const int64_t bond = bond_sum_2d(s, side);
    const double weight = std::exp(beta * static_cast<double>(bond));  // exp(-beta H), H = -bond
    const double m = static_cast<double>(magnetisation) / sites;
    z += weight;
    sum_e += weight * -static_cast<double>(bond) / sites;
    sum_abs += weight * std::fabs(m);
    sum_m2 += weight * m * m;
    sum_m4 += weight * m * m * m * m;
    const SpinSums top = tile_spin_sums(2, side, 2, s.data(), s.data() + 8);
    const SpinSums bottom = tile_spin_sums(2, side, 2, s.data() + 8, s.data());
    const double km = (top.magnetisation + bottom.magnetisation) / sites;
    out.kernel.count += weight;
    out.kernel.m += weight * km;
    out.kernel.abs_m += weight * std::fabs(km);
    out.kernel.m2 += weight * km * km;
    out.kernel.m4 += weight * km * km * km * km;
    out.kernel.e -= weight * (top.bond + bottom.bond) / sites;
  }
  out.e = sum_e / z;
  out.abs_m = sum_abs / z;
  out.m2 = sum_m2 / z;
  out.m4 = sum_m4 / z;
  out.log_z = std::log(z);
  return out;
}

TEST(SpinObservables, EnumeratedFourByFourLatticeGivesTheExactBoltzmannAverages) {
  for (double beta : {0.0, 0.3, field::beta_critical_2d(), 0.6}) {
    SCOPED_TRACE("beta " + std::to_string(beta));
    const Enumerated exact = enumerate_4x4(beta);
    const std::vector<double> o = spin_observables(exact.kernel, 16);
    EXPECT_NEAR(at(o, SpinObservable::kMagnetisation), 0, 1e-12);  // up-down symmetry
    EXPECT_NEAR(at(o, SpinObservable::kEnergy), exact.e, 1e-12);
    EXPECT_NEAR(at(o, SpinObservable::kAbsMagnetisation), exact.abs_m, 1e-12);
    EXPECT_NEAR(at(o, SpinObservable::kMagnetisation2), exact.m2, 1e-12);
    EXPECT_NEAR(at(o, SpinObservable::kMagnetisation4), exact.m4, 1e-12);
    EXPECT_NEAR(at(o, SpinObservable::kBinder), 1 - exact.m4 / (3 * exact.m2 * exact.m2), 1e-12);
    EXPECT_NEAR(at(o, SpinObservable::kSusceptibility), 16 * (exact.m2 - exact.abs_m * exact.abs_m),
                1e-11);
    // <e> = -(1/N) d ln Z / d beta, by a central difference (error ~ h^2).
    const double h = 1e-4;
    const double derivative =
        (enumerate_4x4(beta + h).log_z - enumerate_4x4(beta - h).log_z) / (2 * h);
    EXPECT_NEAR(at(o, SpinObservable::kEnergy), -derivative / 16, 1e-7);
  }
  // Infinite temperature: i.i.d. fair spins, U = 2 / (3N) (see the next test), e = 0, m^2 = 1/N.
  const std::vector<double> free = spin_observables(enumerate_4x4(0).kernel, 16);
  EXPECT_NEAR(at(free, SpinObservable::kBinder), 2.0 / 48, 1e-14);
  EXPECT_NEAR(at(free, SpinObservable::kEnergy), 0, 1e-14);
  EXPECT_NEAR(at(free, SpinObservable::kMagnetisation2), 1.0 / 16, 1e-14);
}

// For N i.i.d. fair spins, M = sum s_i has <M^2> = N and <M^4> = N + 3N(N-1) = 3N^2 - 2N (the
// terms s_i^4 and, for the 3 pairings of i != j, s_i^2 s_j^2), so <m^4>/<m^2>^2 = 3 - 2/N and
// U = 1 - (3 - 2/N)/3 = 2/(3N). <|M|> = sum_k |2k - N| C(N, k) / 2^N.
TEST(SpinObservables, BinderAndSusceptibilityOfIidSpinsWithJackknifeErrorsThatMatchTheSpread) {
  constexpr int64_t side = 6, sites = side * side;
  constexpr int replicas = 200, samples = 2000, groups = 20;
  const double binder = 2.0 / (3.0 * sites);
  double abs_magnetisation = 0, binomial = 1;  // C(N, k) / 2^N by the recurrence
  for (int k = 0; k < sites; ++k) binomial /= 2;
  for (int k = 0; k <= sites; ++k) {
    abs_magnetisation += std::fabs(2.0 * k - sites) / sites * binomial;
    binomial = binomial * (sites - k) / (k + 1);
  }
  const double susceptibility = sites * (1.0 / sites - abs_magnetisation * abs_magnetisation);
  std::mt19937_64 random(2026);
  std::vector<int8_t> spins(sites);
  double z_binder_sum = 0, z_binder_squares = 0, z_chi_squares = 0;
  for (int r = 0; r < replicas; ++r) {
    SpinSumTable table({sites}, samples, 1);
    for (int64_t n = 0; n < samples; ++n) {
      for (auto& s : spins) s = (random() >> 63) ? 1 : -1;
      table.add(0, n, 0, tile_spin_sums(2, side, side, spins.data(), spins.data()));
    }
    const SpinObservableFlow flow = table.flow(groups, {});
    const auto& u = at(flow.estimates[0], SpinObservable::kBinder);
    const auto& chi = at(flow.estimates[0], SpinObservable::kSusceptibility);
    const double z_binder = (u.value - binder) / u.error;
    const double z_chi = (chi.value - susceptibility) / chi.error;
    z_binder_sum += z_binder;
    z_binder_squares += z_binder * z_binder;
    z_chi_squares += z_chi * z_chi;
    EXPECT_NEAR(at(flow.estimates[0], SpinObservable::kEnergy).value, 0,
                5 * at(flow.estimates[0], SpinObservable::kEnergy).error);
  }
  // Unbiased to within the error of the mean z (1 / sqrt(replicas) = 0.07; the plain ratio
  // estimate of U has a bias of order 1/samples, about 0.15 errors here), and jackknife errors the
  // size of the spread: the mean squared z near 1 (19/17 for a t with 19 degrees of freedom; its
  // spread over seeds here is about 0.15). A wrong jackknife factor is off by a factor of 19.
  EXPECT_NEAR(z_binder_sum / replicas, 0, 0.45);
  EXPECT_NEAR(z_binder_squares / replicas, 1, 0.45);
  EXPECT_NEAR(z_chi_squares / replicas, 1, 0.45);
}

TEST(SpinSumTable, PiecesFilledByDifferentRanksGiveTheSameFlowAsOneRank) {
  constexpr int64_t samples = 7, pieces = 3;
  std::mt19937_64 random(5);
  std::vector<SpinSums> sums(2 * samples * pieces);
  for (auto& s : sums) s = {static_cast<double>(random() % 9) - 4.0, 0.5 * (random() % 13)};
  SpinSumTable one({16, 4}, samples, pieces);
  std::vector<SpinSumTable> ranks(3, SpinSumTable({16, 4}, samples, pieces));
  for (int level = 0; level < 2; ++level) {
    for (int64_t n = 0; n < samples; ++n) {
      for (int64_t p = 0; p < pieces; ++p) {
        const SpinSums& s = sums[static_cast<size_t>((level * samples + n) * pieces + p)];
        one.add(level, n, p, s);
        ranks[static_cast<size_t>((n * pieces + p) % 3)].add(level, n, p, s);
      }
    }
  }
  SpinSumTable reduced({16, 4}, samples, pieces);
  for (auto& rank : ranks) {
    for (size_t i = 0; i < rank.buffer().size(); ++i) reduced.buffer()[i] += rank.buffer()[i];
  }
  const std::vector<double> exact = ising_exact_observables(2, 0.5);
  const SpinObservableFlow a = one.flow(3, exact), b = reduced.flow(3, exact);
  ASSERT_EQ(a.estimates.size(), 2u);
  for (size_t level = 0; level < 2; ++level) {
    for (int o = 0; o < kSpinObservables; ++o) {
      EXPECT_EQ(a.estimates[level][static_cast<size_t>(o)].value,
                b.estimates[level][static_cast<size_t>(o)].value);
      EXPECT_EQ(a.estimates[level][static_cast<size_t>(o)].error,
                b.estimates[level][static_cast<size_t>(o)].error);
    }
  }
  // Level 1 (4 sites): the samples' pieces added, then <e> over all 7 samples by hand.
  double energy = 0;
  for (int64_t n = 0; n < samples; ++n) {
    double bond = 0;
    for (int64_t p = 0; p < pieces; ++p)
      bond += sums[static_cast<size_t>((samples + n) * pieces + p)].bond;
    energy -= bond / 4;
  }
  EXPECT_DOUBLE_EQ(at(a.estimates[1], SpinObservable::kEnergy).value, energy / samples);
  // Exact values at the first level only, and z = (value - exact) / error.
  EXPECT_EQ(at(a.exact[0], SpinObservable::kEnergy), field::onsager_energy(0.5));
  EXPECT_TRUE(std::isnan(at(a.exact[1], SpinObservable::kEnergy)));
  const Estimate& e0 = at(a.estimates[0], SpinObservable::kEnergy);
  EXPECT_DOUBLE_EQ(at(a.z_exact[0], SpinObservable::kEnergy),
                   (e0.value - field::onsager_energy(0.5)) / e0.error);
  // One sample: no jackknife, errors NaN.
  SpinSumTable single({16}, 1, 1);
  single.add(0, 0, 0, {4, 8});
  const auto lone = single.flow(10, {});
  EXPECT_EQ(at(lone.estimates[0], SpinObservable::kAbsMagnetisation).value, 0.25);
  EXPECT_TRUE(std::isnan(at(lone.estimates[0], SpinObservable::kAbsMagnetisation).error));
}

TEST(SpinObservables, ExactValuesWhereTheyExist) {
  const double beta_c = field::beta_critical_2d();
  const auto below = ising_exact_observables(2, 0.3);
  EXPECT_NEAR(at(below, SpinObservable::kEnergy), -0.70450, 1e-5);
  EXPECT_TRUE(std::isnan(at(below, SpinObservable::kAbsMagnetisation)));  // 0 only as L -> inf
  EXPECT_TRUE(std::isnan(at(below, SpinObservable::kBinder)));
  const auto above = ising_exact_observables(2, 0.5);
  EXPECT_NEAR(at(above, SpinObservable::kAbsMagnetisation), 0.91132, 1e-5);
  EXPECT_NEAR(at(above, SpinObservable::kEnergy), -1.74556, 1e-5);
  const auto critical = ising_exact_observables(2, beta_c);
  EXPECT_NEAR(at(critical, SpinObservable::kBinder), 0.61069, 1e-5);
  EXPECT_NEAR(at(critical, SpinObservable::kEnergy), -std::sqrt(2.0), 1e-6);
  const auto cubic = ising_exact_observables(3, field::beta_critical_3d());
  EXPECT_NEAR(at(cubic, SpinObservable::kBinder), 0.4655, 1e-4);
  EXPECT_TRUE(std::isnan(at(cubic, SpinObservable::kEnergy)));  // no closed form in 3D
  for (double v : ising_exact_observables(1, 0.5)) EXPECT_TRUE(std::isnan(v));
  EXPECT_EQ(spin_observable_names().size(), size_t{kSpinObservables});
}

}  // namespace
}  // namespace rgflow::analysis

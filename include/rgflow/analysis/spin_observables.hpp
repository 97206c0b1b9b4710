// Spin observables of every level (docs/science.md section 8): per sample the magnetisation per
// site m = M / N and the nearest-neighbour energy per site e = -B / N (M the sum of the values, B
// the sum of s_i s_j over the bonds from each site to its +1 neighbour along every axis, periodic,
// N the sites of the level); over samples <m>, <|m|>, <m^2>, <m^4>, the Binder cumulant, the
// susceptibility and <e>, with delete-one jackknife errors over groups of samples, and the exact
// values where they exist (level 0 of the 2D and 3D Ising model) with z-scores.
//
// The values may be spins (+1 or -1, stored as int8) or real numbers (a learned map's outputs):
// the same formulas apply. Sums are in double in a fixed order: exact for spins (integers below
// 2^53), and the same bits on any rank count for real values.
//
// Pure kernels: no MPI, no files. The caller sums SpinSumTable::buffer() over ranks (each slot
// filled by one rank, zeros elsewhere: exact).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rgflow/analysis/jackknife.hpp"
#include "rgflow/lattice/geometry.hpp"

namespace rgflow::analysis {

/// Sum of the values (magnetisation) and of s_i s_j over bonds (bond) of a piece of a lattice.
struct SpinSums {
  double magnetisation = 0;
  double bond = 0;
};

/// The sums of a tile of `rows` site rows along axis 0 of a periodic lattice of side `side` in
/// `dim` = 1, 2 or 3 dimensions (row-major, a row is side^(dim-1) values): every value, and the
/// bonds from each tile site to its +1 neighbour along every axis. Along axes 1.. the neighbours
/// wrap inside the row; along axis 0 the tile's last row bonds to `next_row`, the lattice's row
/// after the tile (its row 0 when the tile ends the lattice, so the tile's own first row when it
/// is the whole lattice). Over tiles that cut the lattice into runs of rows, the sums add up to
/// the whole lattice's, each bond counted once. Instantiated for (Value, Next) = (int8_t,
/// int8_t), (float, float), (double, double) and (float, double).
template <typename Value, typename Next = Value>
SpinSums tile_spin_sums(int dim, int64_t side, int64_t rows, const Value* tile,
                        const Next* next_row);

/// The observables, in this order (the `observable` axis of results.h5).
enum class SpinObservable {
  kMagnetisation,     // <m>
  kAbsMagnetisation,  // <|m|>
  kMagnetisation2,    // <m^2>
  kMagnetisation4,    // <m^4>
  kBinder,            // U = 1 - <m^4> / (3 <m^2>^2)
  kSusceptibility,    // chi = N (<m^2> - <|m|>^2)
  kEnergy,            // <e>
  kCount
};
constexpr int kSpinObservables = static_cast<int>(SpinObservable::kCount);
/// magnetisation, abs_magnetisation, magnetisation2, magnetisation4, binder, susceptibility,
/// energy.
std::vector<std::string> spin_observable_names();

/// Per-sample m and e summed over a set of samples: count, sum m, sum |m|, sum m^2, sum m^4,
/// sum e. Public so that exact weighted sums (enumerated lattices) can be formed the same way.
struct SpinMoments {
  double count = 0, m = 0, abs_m = 0, m2 = 0, m4 = 0, e = 0;
  /// One sample of `sites` sites whose sums are `sums`: m = magnetisation / sites,
  /// e = -bond / sites.
  void add(const SpinSums& sums, double sites);
  SpinMoments& operator+=(const SpinMoments& other);
};

/// The observables (SpinObservable order) of a lattice of `sites` sites from the sums over its
/// samples; NaN where undefined (no samples; U when <m^2> = 0).
std::vector<double> spin_observables(const SpinMoments& moments, double sites);

/// The observables of all groups merged, with the delete-one jackknife errors over the groups
/// (jackknife()); errors NaN for fewer than 2 groups.
std::vector<Estimate> spin_observable_estimates(const std::vector<SpinMoments>& groups,
                                                double sites);

/// Exact values of the observables at level 0 of the nearest-neighbour Ising model at coupling
/// `beta` in `dim` dimensions (NaN where none is known): in 2D the energy is Onsager's and, for
/// beta > beta_c, <|m|> is Yang's spontaneous magnetisation, both of the infinite lattice; at
/// beta_c (within 1e-6) U is the critical Binder cumulant U*, the limit of large periodic
/// lattices (a finite lattice approaches it with corrections in L).
std::vector<double> ising_exact_observables(int dim, double beta);

/// The observables of every level of a flow with their errors, exact values and z-scores.
struct SpinObservableFlow {
  std::vector<int64_t> sites;                    // [level]: N_k
  std::vector<std::vector<Estimate>> estimates;  // [level][observable]
  std::vector<std::vector<double>> exact;        // [level][observable], NaN if unknown
  std::vector<std::vector<double>> z_exact;      // (value - exact) / error
};

/// The per-(level, sample, piece) sums of a pass: a sample's tiles add their SpinSums to the slot
/// of the piece that holds them (piece: the space jackknife group, or 0 when a sample is read
/// whole by one rank), in tile order; one rank fills each slot.
class SpinSumTable {
 public:
  /// `sites[level]`: N of each table level; `samples` samples of `pieces` pieces each.
  SpinSumTable(std::vector<int64_t> sites, int64_t samples, int64_t pieces);
  /// The table of levels first_level..K of `geometry`.
  static SpinSumTable of_levels(const lattice::Geometry& geometry, int first_level, int64_t samples,
                                int64_t pieces);
  /// Bytes of such a table (for a budget check before making it).
  static int64_t bytes(const lattice::Geometry& geometry, int first_level, int64_t samples,
                       int64_t pieces);

  int levels() const { return static_cast<int>(sites_.size()); }
  int64_t samples() const { return samples_; }
  /// Adds `sums` to slot (level, sample, piece).
  void add(int level, int64_t sample, int64_t piece, const SpinSums& sums);
  /// Every slot (level-major, then sample, then piece; magnetisation then bond), for the sum over
  /// ranks.
  std::vector<double>& buffer() { return buffer_; }

  /// After the sum over ranks: each sample's pieces added in piece order, the samples cut into
  /// min(groups, samples) groups of consecutive samples (group_samples), and per level the
  /// observables with jackknife errors. `exact_first_level` (ising_exact_observables, or empty
  /// when none applies) are the exact values of table level 0; the other levels have none.
  SpinObservableFlow flow(int64_t groups, const std::vector<double>& exact_first_level) const;

 private:
  std::vector<int64_t> sites_;
  int64_t samples_, pieces_;
  std::vector<double> buffer_;
};

}  // namespace rgflow::analysis

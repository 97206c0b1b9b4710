// The Ising model of docs/science.md section 8 as pure kernels (no MPI, no HDF5): a checkerboard
// heat-bath update on a box of the lattice with a halo of one site, observables, block-spin maps
// and the exact references (Onsager, Yang, critical couplings, Binder U*).
//
// Every random number is a pure function of (seed, sample, sweep, colour, global site) through
// Philox, never of the order in which sites are visited or of the box that holds them: a sweep
// done box by box, halos refreshed between the two colours, gives the same bits as a sweep of the
// whole lattice. That is what lets the distributed generator split a lattice any way it likes.
//
// Layout: row-major, axis d-1 fastest, as everywhere in rgflow; extent[0..d-1] are used and the
// rest must be 1. Spins are int8 (+1 or -1).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace rgflow::field {

/// Stream tags, in the top byte of the second Philox counter word, that keep the Ising streams
/// apart from each other and from the i.i.d. field stream (tag 0) under the same seed.
enum class IsingStream : uint32_t {
  kHeatBath = 1,
  kMajorityTie = 2,
  kClusterBond = 3,
  kClusterSeed = 4,
  kHotStart = 5,
  kHeatBathTie = 6,
  kClusterFlip = 7,    // Swendsen-Wang: a cluster's flip, keyed by its smallest global site
  kClusterBondTie = 8  // a cluster bond whose leading half ties the threshold's
};

/// A box of a periodic lattice of side `side`: the sites origin[a] <= x_a < origin[a] + extent[a]
/// (global coordinates, axis d-1 fastest). `side` must be even, so the checkerboard colouring
/// (parity of the sum of global coordinates) is consistent across the periodic boundary.
struct IsingBox {
  int dim = 2;
  int64_t side = 0;
  std::array<int64_t, 3> origin{0, 0, 0};
  std::array<int64_t, 3> extent{1, 1, 1};

  /// The whole lattice as one box.
  static IsingBox whole(int dim, int64_t side);
  int64_t interior_sites() const;
  /// The padded shape: extent + 2 along the used axes (halo of one site each side), 1 beyond.
  std::array<int64_t, 3> padded_extent() const;
  int64_t padded_sites() const;
};

/// Throws std::invalid_argument with one line naming the problem (dim not 2 or 3, odd or small
/// side, a box that leaves the lattice or is empty, unused axes not of extent 1).
void check_box(const IsingBox& box);

/// Heat-bath acceptance as integer thresholds: for local field h = sum of the 2d neighbours
/// (h = -2d, -2d+2, .., 2d: 2d+1 values), index (h + 2d) / 2 holds T(h) such that a site becomes
/// +1 exactly when its Philox word w < T(h). T(h) = ceil(p 2^32 - 1/2), p = 1 / (1 + exp(-2 beta
/// h)), which is the same event as uniform_open01(w) < p, with no floating point per site.
struct HeatBathTable {
  int dim = 2;
  double beta = 0;
  std::array<uint64_t, 7> threshold{};
};
HeatBathTable heat_bath_table(int dim, double beta);

/// Update every site of `colour` (0 or 1: parity of the sum of global coordinates) inside the
/// box; `padded` holds the box with its halo (padded_extent(), row-major), the halo filled with the
/// neighbouring spins. Site g (the global row-major index) becomes +1 exactly when the 32-bit word
/// U = lead 2^16 + trail is below T(h). With q = g / 2 (the pair of sites g belongs to: one of each
/// colour), lead is half q % 2 (bits 16 (q % 2) .. 16 (q % 2) + 15) of lane (q / 2) % 4 of
/// Philox(counter = (q / 8 low word, q / 8 high word | kHeatBath << 24, sample, 2 sweep + colour),
/// philox_key(seed)): the 8 sites of one colour among 16 consecutive sites share one Philox call.
/// trail is the same half of the kHeatBathTie stream (same counter, tag 6); it is computed only
/// when lead equals T(h) / 2^16 (about one site in 65536), since otherwise lead decides alone.
/// U is a uniform 32-bit word, so the update is the heat bath of HeatBathTable exactly.
/// The box must pass check_box (not checked again here: this is the inner loop of a run).
void heat_bath_colour(const IsingBox& box, int8_t* padded, const HeatBathTable& table,
                      uint64_t seed, uint32_t sample, uint32_t sweep, int colour);
/// heat_bath_colour on the layers first_layer <= x_0 < end_layer of the box's slowest axis only
/// (interior coordinates from 0; 0 <= first_layer <= end_layer <= extent[0], not checked). Each
/// site gets the bits the whole update gives it (the update is keyed by site), so a colour may be
/// updated in pieces: the layers that read no halo along axis 0 while that halo is in flight, then
/// the first and last layer (field::IsingChain).
void heat_bath_colour_layers(const IsingBox& box, int8_t* padded, const HeatBathTable& table,
                             uint64_t seed, uint32_t sample, uint32_t sweep, int colour,
                             int64_t first_layer, int64_t end_layer);

/// The kernels heat_bath_colour can run: AVX2 (x86-64 CPUs that have it, detected at run time
/// whatever the build's -march) and portable (plain C++ the compiler vectorises). They give the
/// same bits; the process uses AVX2 where available unless told otherwise (tests and the benchmark
/// run both).
enum class HeatBathKernel { kAvx2, kPortable };
bool heat_bath_kernel_available(HeatBathKernel kernel);
/// Selects the kernel for the whole process; throws std::invalid_argument if it is not available.
void select_heat_bath_kernel(HeatBathKernel kernel);

/// Copy the halo of a box that is the whole lattice from its own opposite faces (periodic).
void fill_periodic_halo(const IsingBox& whole, int8_t* padded);

/// Interior and halo of `box` read from a full unpadded lattice (side^dim, periodic): what a
/// distributed run obtains by exchange, done here on one array (tests, one-rank runs).
void load_box(const int8_t* lattice, const IsingBox& box, int8_t* padded);
/// The interior of `box` written back into the full unpadded lattice.
void store_box(const int8_t* padded, const IsingBox& box, int8_t* lattice);

/// A whole lattice held by one rank, in padded form, and the sweeps on it.
class IsingLattice {
 public:
  IsingLattice(int dim, int64_t side);
  const IsingBox& box() const { return box_; }
  int8_t* padded() { return padded_.data(); }
  const int8_t* padded() const { return padded_.data(); }
  /// Every site +1 (cold start).
  void set_all(int8_t spin);
  /// Independent fair spins keyed by (seed, sample) (hot start): site g is +1 when the top bit of
  /// lane g % 4 of Philox((g / 4 low, g / 4 high | kHotStart << 24, sample, 0)) is 0.
  void randomise(uint64_t seed, uint32_t sample);
  /// The unpadded spins (side^dim, row-major).
  std::vector<int8_t> spins() const;
  void set_spins(const std::vector<int8_t>& spins);
  /// One checkerboard sweep: colour 0 then colour 1, periodic halo refreshed before each.
  void heat_bath_sweep(const HeatBathTable& table, uint64_t seed, uint32_t sample, uint32_t sweep);
  /// Sum of spins and sum over bonds of s_i s_j (each bond once), whole lattice.
  int64_t magnetisation_sum() const;
  int64_t bond_sum();

 private:
  IsingBox box_;
  std::vector<int8_t> padded_;
};

/// Sum of the interior spins of a box.
int64_t box_magnetisation_sum(const IsingBox& box, const int8_t* padded);
/// Sum of s_i s_j over the bonds from each interior site to its +1 neighbour along every axis
/// (halo filled): over a partition of the lattice into boxes, every bond counted exactly once.
/// The energy per site is -(sum over boxes) / side^dim.
int64_t box_bond_sum(const IsingBox& box, const int8_t* padded);

/// Block-spin maps on an unpadded box (interior only, row-major, extent[a] and origin[a]
/// multiples of b): `out` receives extent / b blocks. Majority: the sign of the block sum; a tie
/// (even b) is +1 exactly when the top bit of the block's word is 0, the word being lane I % 4 of
/// Philox(counter = (I / 4 low, I / 4 high | kMajorityTie << 24, sample, level),
/// philox_key(seed)) with I the block's global row-major index on the (side / b)^d block lattice:
/// a fair coin, the same on any decomposition. Decimation: the block's first site (lowest
/// coordinates).
void majority_map(const int8_t* in, const IsingBox& box, int64_t block_side, uint64_t seed,
                  uint32_t sample, uint32_t level, int8_t* out);
void decimation_map(const int8_t* in, const IsingBox& box, int64_t block_side, int8_t* out);

/// Wolff single-cluster update on a whole lattice held by one rank; returns the cluster size.
/// The seed site is (word0 | word1 << 32) % side^d of Philox((step, kClusterSeed << 24, sample,
/// 0)); the bond from site g to its +1 neighbour along axis a (index q = d g + a) is active, when
/// both spins agree, if its 32-bit word is below the threshold T of p = 1 - exp(-2 beta) (T/2^32
/// rounds p to the nearest 2^-32). The word's leading 16 bits are half-word q of the kClusterBond
/// stream (bits 16 (q % 2) .. + 15 of lane q / 2 % 4 of Philox((q / 8 low, q / 8 high |
/// kClusterBond << 24, sample, step))); its trailing 16 bits, needed only when the leading ones
/// equal T's (one bond in 65536), are half-word q of the kClusterBondTie stream. Every bond has
/// its own fixed word, so the cluster does not depend on the order in which it is grown.
int64_t wolff_update(IsingLattice& lattice, double beta, uint64_t seed, uint32_t sample,
                     uint32_t step);

/// Integrated autocorrelation time tau_int = 1/2 + sum_{t=1}^{W} rho(t) of a time series, the
/// window W the smallest with W >= c tau_int(W) (Sokal's self-consistent window, c = 5 by
/// default). Samples 2 tau_int apart are about independent: the error of the mean is the naive
/// one times sqrt(2 tau_int). Throws for fewer than 2 values; 1/2 for a constant series.
double integrated_autocorrelation_time(const std::vector<double>& series, double window_factor = 5);

// Exact references (docs/science.md section 8).
double beta_critical_2d();  // ln(1 + sqrt 2) / 2
double beta_critical_3d();  // 0.2216546 (simple cubic, numerical)
/// K(k) = pi / (2 AGM(1, sqrt(1 - k^2))), 0 <= k <= 1 (infinite at k = 1).
double elliptic_k(double k);
/// Onsager's energy per site of the infinite square lattice (J = 1).
double onsager_energy(double beta);
/// Yang's spontaneous magnetisation, 0 for beta <= beta_c.
double yang_magnetisation(double beta);
/// Critical Binder cumulant on periodic squares (d = 2) and cubes (d = 3).
double binder_critical(int dim);

}  // namespace rgflow::field

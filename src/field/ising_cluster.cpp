#include "rgflow/field/ising_cluster.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#ifdef __BMI2__
#include <immintrin.h>
#endif
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "ising_detail.hpp"
#include "rgflow/field/philox.hpp"

namespace rgflow::field {

namespace {

using namespace ising_detail;

// Union-find in which every root is the smallest index of its set: parent[i] <= i always, so
// after all unions one pass in increasing order leaves every entry pointing at its root.
template <typename Index>
Index find_root(Index* parent, Index i) {
  while (parent[i] != i) {
    parent[i] = parent[parent[i]];  // path halving
    i = parent[i];
  }
  return i;
}

template <typename Index>
void unite(Index* parent, Index a, Index b) {
  a = find_root(parent, a);
  b = find_root(parent, b);
  if (a < b) {
    parent[b] = a;
  } else if (b < a) {
    parent[a] = b;
  }
}

template <typename Index>
void point_at_roots(std::vector<Index>& parent) {
  for (size_t i = 0; i < parent.size(); ++i) parent[i] = parent[parent[i]];
}

// Global row-major index of the interior site at box coordinates c (three axes).
uint64_t global_site(const Geometry& g, const int64_t* c) {
  return static_cast<uint64_t>(
      ((g.origin[0] + c[0]) * g.global[1] + g.origin[1] + c[1]) * g.global[2] + g.origin[2] + c[2]);
}

// Global index of the site one step from box coordinates c along axis a (periodic).
uint64_t global_neighbour(const Geometry& g, const int64_t* c, int a, int64_t step) {
  int64_t shifted[3] = {c[0], c[1], c[2]};
  shifted[a] = wrap(g.origin[a] + c[a] + step, g.global[a]) - g.origin[a];
  return global_site(g, shifted);
}

uint64_t global_of_local(const Geometry& g, uint64_t local) {
  const int64_t i = static_cast<int64_t>(local);
  const int64_t c[3] = {i / (g.extent[1] * g.extent[2]), i / g.extent[2] % g.extent[1],
                        i % g.extent[2]};
  return global_site(g, c);
}

// The box index of global site `site` (in the box).
uint32_t local_of_global(const Geometry& g, uint64_t site) {
  const int64_t i = static_cast<int64_t>(site);
  const int64_t c0 = i / (g.global[1] * g.global[2]), c1 = i / g.global[2] % g.global[1],
                c2 = i % g.global[2];
  return static_cast<uint32_t>(((c0 - g.origin[0]) * g.extent[1] + c1 - g.origin[1]) * g.extent[2] +
                               c2 - g.origin[2]);
}

// Sites share a Philox call for their clusters' coins in blocks of 128, one bit each.
constexpr uint64_t kCoinBlock = 128;

// The coin of the cluster whose smallest global site is `root`: bit root % 128 of the 128 bits
// of Philox((root / 128 low, root / 128 high | kClusterFlip << 24, sample, sweep)), word after
// word (bit b is bit b % 32 of word b / 32).
bool cluster_coin(PhiloxKey key, uint64_t root, uint32_t sample, uint32_t sweep) {
  const uint64_t block = root / kCoinBlock;
  const PhiloxCounter w = philox4x32_10(
      {static_cast<uint32_t>(block), tagged_high(block, IsingStream::kClusterFlip), sample, sweep},
      key);
  const uint64_t bit = root % kCoinBlock;
  return (w[bit / 32] >> (bit % 32) & 1) != 0;
}

}  // namespace

void check_cluster_box(const IsingBox& box) {
  check_box(box);
  if (box.interior_sites() > int64_t{std::numeric_limits<uint32_t>::max()}) {
    throw std::invalid_argument("Swendsen-Wang: a box of " + std::to_string(box.interior_sites()) +
                                " sites exceeds the 2^32 - 1 of one rank's labels; use more ranks");
  }
}

namespace {

constexpr int kWordBits = 64;

int64_t words_per_row(int64_t nx) {
  return (nx + kWordBits - 1) / kWordBits;
}

#ifndef __AVX512BW__
// Sites 0 .. n-1 of the 0/1 flags as bits, 64 per word (8 bytes to 8 bits by one multiply: the
// products of flag j land on bit 56 + j, with no carry into the top byte).
void pack_flags(const uint8_t* flags, int64_t n, uint64_t* out) {
  for (int64_t w = 0; w < words_per_row(n); ++w) {
    const uint8_t* f = flags + kWordBits * w;
    const int64_t m = std::min<int64_t>(kWordBits, n - kWordBits * w);
    uint64_t bits = 0;
    if (m == kWordBits) {
      for (int j = 0; j < 8; ++j) {
        uint64_t eight;
        std::memcpy(&eight, f + 8 * j, 8);
        bits |= ((eight * 0x0102040810204080ull) >> 56) << (8 * j);
      }
    } else {
      for (int64_t j = 0; j < m; ++j) bits |= uint64_t{f[j]} << j;
    }
    out[w] = bits;
  }
}
#endif

inline uint32_t count_ones(uint64_t w) {
  return static_cast<uint32_t>(__builtin_popcountll(w));
}

// The bits of x at the set bits of mask, packed (BMI2's pext where the build has it).
inline uint64_t extract_bits(uint64_t x, uint64_t mask) {
#ifdef __BMI2__
  return _pext_u64(x, mask);
#else
  uint64_t out = 0;
  for (int n = 0; mask != 0; mask &= mask - 1, ++n) out |= (x >> __builtin_ctzll(mask) & 1) << n;
  return out;
#endif
}

// The bits of x, low first, placed at the set bits of mask (BMI2's pdep where the build has it).
inline uint64_t deposit_bits(uint64_t x, uint64_t mask) {
#ifdef __BMI2__
  return _pdep_u64(x, mask);
#else
  uint64_t out = 0;
  for (; mask != 0; mask &= mask - 1, x >>= 1) out |= (x & 1) << __builtin_ctzll(mask);
  return out;
#endif
}

// Bits first .. first + count - 1 (count <= 64) of a bit array (one spare word at its end).
inline uint64_t bits_from(const uint64_t* bits, uint32_t first, uint32_t count) {
  const uint64_t* word = bits + first / 64;
  const uint32_t shift = first % 64;
  const uint64_t low = word[0] >> shift;
  const uint64_t high = shift == 0 ? 0 : word[1] << (64 - shift);
  return count == 64 ? (low | high) : (low | high) & ((uint64_t{1} << count) - 1);
}

// Bits first .. first + 63 of a bit array held in 32-bit words (two spare words at its end).
inline uint64_t word_bits_from(const uint32_t* words, uint64_t first) {
  const uint32_t* at = words + 2 * (first / 64);
  uint64_t low, high;
  std::memcpy(&low, at, 8);
  std::memcpy(&high, at + 2, 8);
  const uint32_t shift = first % 64;
  return shift == 0 ? low : (low >> shift) | (high << (64 - shift));
}

// Ors `value` (count <= 64 bits, none above) into a zeroed bit array at bit `first`.
inline void append_bits(uint64_t* bits, uint32_t first, uint64_t value) {
  const uint32_t shift = first % 64;
  bits[first / 64] |= value << shift;
  if (shift != 0) bits[first / 64 + 1] |= value >> (64 - shift);
}

// Bits Dim i + k (i = 0 .. 63) of the Dim words at `bits`: the bonds along axis k of 64 sites
// from bits in bond order (Dim bonds per site).
template <int Dim>
inline uint64_t axis_bits(const uint64_t* bits, int k) {
  if constexpr (Dim == 2) {
    constexpr uint64_t kEven = 0x5555555555555555ull;
    return extract_bits(bits[0], kEven << k) | extract_bits(bits[1], kEven << k) << 32;
  } else {
    // Bit j of the 192 is taken when j % 3 == k; word m starts at bit 64 m, 64 % 3 == 1.
    constexpr uint64_t kThirds = 0x9249249249249249ull;  // bits 0, 3, .., 63
    const uint64_t m0 = kThirds << k, m1 = kThirds << (k + 2) % 3, m2 = kThirds << (k + 1) % 3;
    return extract_bits(bits[0], m0) | extract_bits(bits[1], m1) << count_ones(m0) |
           extract_bits(bits[2], m2) << (count_ones(m0) + count_ones(m1));
  }
}

// Bits 0 .. b of a word (b < 64).
inline uint64_t bits_through(int b) {
  return (uint64_t{2} << b) - 1;
}

// Bit i of the result: the xor of bits 0 .. i of t.
inline uint64_t prefix_xor(uint64_t t) {
  t ^= t << 1;
  t ^= t << 2;
  t ^= t << 4;
  t ^= t << 8;
  t ^= t << 16;
  t ^= t << 32;
  return t;
}

// The row-major box as rows along axis 2 (the last): row r = z ny + y, each of nx sites in nw
// words of bits. Bond bits of used axis k (k = a - first axis) of row r: bonds + (k rows + r) nw.
struct Rows {
  int64_t nx, ny, nz, nw, rows;
  int first_axis;
  explicit Rows(const Geometry& g)
      : nx(g.extent[2]),
        ny(g.extent[1]),
        nz(g.extent[0]),
        nw(words_per_row(g.extent[2])),
        rows(g.extent[0] * g.extent[1]),
        first_axis(3 - g.dim) {}
  size_t bond_row(int axis, int64_t r) const {
    return static_cast<size_t>(((axis - first_axis) * rows + r) * nw);
  }
  // Moves the coordinates (y, z) of a row to the next row's (counted: no division per row).
  void step(int64_t& y, int64_t& z) const {
    if (++y == ny) {
      y = 0;
      ++z;
    }
  }
};

// Bit j of `bits` (j < n) set when bond first_bond + j is active by the documented rule, its
// leading half halves[j]. With AVX-512 a compare gives 32 bits at a time, and the ties (one bond
// in 65536) are decided one by one; otherwise byte flags are packed, `flags` holding n bytes.
void active_bonds(const uint16_t* __restrict halves, int64_t n, uint64_t first_bond,
                  uint64_t threshold, PhiloxKey key, uint32_t sample, uint32_t sweep,
                  uint64_t* bits, uint8_t* __restrict flags) {
  if (threshold > 0xffffffffu) {  // p rounds to 1: every bond
    for (int64_t w = 0; w < words_per_row(n); ++w) {
      bits[w] =
          n - kWordBits * w >= kWordBits ? ~uint64_t{0} : (uint64_t{1} << (n - kWordBits * w)) - 1;
    }
    return;
  }
#ifdef __AVX512BW__
  (void)flags;
  const __m512i bound = _mm512_set1_epi16(static_cast<int16_t>(threshold >> 16));
  for (int64_t w = 0; w < words_per_row(n); ++w) {
    uint64_t below = 0, tied = 0;
    for (int64_t i = 0; i < 2 && kWordBits * w + 32 * i < n; ++i) {
      const int64_t first = kWordBits * w + 32 * i, left = n - first;
      const __mmask32 lanes = left >= 32 ? ~__mmask32{0} : (__mmask32{1} << left) - 1;
      const __m512i v = _mm512_maskz_loadu_epi16(lanes, halves + first);
      below |= uint64_t{_mm512_mask_cmplt_epu16_mask(lanes, v, bound)} << (32 * i);
      tied |= uint64_t{_mm512_mask_cmpeq_epu16_mask(lanes, v, bound)} << (32 * i);
    }
    for (; tied != 0; tied &= tied - 1) {
      const int64_t j = kWordBits * w + __builtin_ctzll(tied);
      const uint64_t active = cluster_bond_active(key, first_bond + static_cast<uint64_t>(j),
                                                  halves[j], sample, sweep, threshold);
      below |= active << __builtin_ctzll(tied);
    }
    bits[w] = below;
  }
#else
  for (int64_t j = 0; j < n; ++j) {
    flags[j] = static_cast<uint8_t>(
        cluster_bond_active(key, first_bond + j, halves[j], sample, sweep, threshold));
  }
  pack_flags(flags, n, bits);
#endif
}

// Bit x of `bits` (x < n) set when a[x] == b[x]: one AVX-512 compare per 64 sites, or byte flags
// packed.
void equal_bytes(const int8_t* __restrict a, const int8_t* __restrict b, int64_t n, uint64_t* bits,
                 uint8_t* __restrict flags) {
#ifdef __AVX512BW__
  (void)flags;
  for (int64_t w = 0; w < words_per_row(n); ++w) {
    const int64_t left = n - kWordBits * w;
    const __mmask64 lanes = left >= kWordBits ? ~__mmask64{0} : (__mmask64{1} << left) - 1;
    bits[w] = _mm512_mask_cmpeq_epi8_mask(lanes, _mm512_maskz_loadu_epi8(lanes, a + kWordBits * w),
                                          _mm512_maskz_loadu_epi8(lanes, b + kWordBits * w));
  }
#else
  for (int64_t x = 0; x < n; ++x) flags[x] = static_cast<uint8_t>(a[x] == b[x]);
  pack_flags(flags, n, bits);
#endif
}

// Pass 1: the bonds of the box as bits, bit x of row r of axis a set when the bond from site x
// of row r to its +1 neighbour along axis a is active. Row by row: the row's Philox words compared
// with the threshold in bond order, split by axis; the spin agreements per axis; the bonds where
// both hold.
template <int Dim>
void draw_bonds(const Geometry& g, const Rows& rows, const int8_t* padded, uint64_t threshold,
                PhiloxKey key, uint32_t sample, uint32_t sweep, BoxClusters& clusters) {
  const int64_t nx = rows.nx;
  // A Philox call gives the leading halves of 8 bonds. Short rows are drawn a batch at a time,
  // so that the vector rounds run on full registers (3D, L = 64: 24 calls a row).
  constexpr uint64_t kBondsPerCall = 8;
  constexpr int64_t kBatchCalls = 256;
  const int64_t row_calls = Dim * nx / static_cast<int64_t>(kBondsPerCall) + 2;  // at most
  const int64_t batch_rows = row_calls > kBatchCalls / 2 ? 1 : kBatchCalls / row_calls;
  clusters.words.resize(static_cast<size_t>(4 * row_calls * batch_rows));
  clusters.flags.resize(static_cast<size_t>(Dim * nx));
  clusters.below.assign(static_cast<size_t>(Dim * rows.nw), 0);
  std::vector<uint16_t>& halves = clusters.halves;
  halves.resize(static_cast<size_t>(Dim * nx));
  const int64_t step[3] = {Dim == 3 ? g.stride[0] : 0, g.stride[1], 1};
  for (int64_t r0 = 0, y = 0, z = 0; r0 < rows.rows; r0 += batch_rows) {
    const int64_t r1 = std::min(rows.rows, r0 + batch_rows);
    // The batch's counters, row after row: row r's from first_group[r - r0], its words from
    // call_start[r - r0].
    uint64_t first_group[kBatchCalls / 2];
    int64_t call_start[kBatchCalls / 2 + 1];
    int64_t calls = 0;
    for (int64_t r = r0; r < r1; ++r) {
      const uint64_t first_bond = Dim * clusters.row_sites[static_cast<size_t>(r)];
      const uint64_t last = (first_bond + Dim * static_cast<uint64_t>(nx) - 1) / kBondsPerCall;
      first_group[r - r0] = first_bond / kBondsPerCall;
      call_start[r - r0] = calls;
      calls += static_cast<int64_t>(last - first_group[r - r0] + 1);
    }
    call_start[r1 - r0] = calls;
    if (batch_rows == 1) {
      philox_row(key, first_group[0], calls, IsingStream::kClusterBond, sample, sweep,
                 clusters.words.data());
    } else {
      uint64_t groups[kBatchCalls];
      for (int64_t b = 0; b < r1 - r0; ++b) {
        for (int64_t i = call_start[b]; i < call_start[b + 1]; ++i) {
          groups[i] = first_group[b] + static_cast<uint64_t>(i - call_start[b]);
        }
      }
      philox_groups(
          key, calls, [&](int64_t i) { return groups[i]; }, IsingStream::kClusterBond, sample,
          sweep, clusters.words.data());
    }
    for (int64_t r = r0; r < r1; ++r, rows.step(y, z)) {
      const uint64_t first_bond = Dim * clusters.row_sites[static_cast<size_t>(r)];
      // Half-word j of the row's words (low half first): the leading half of bond
      // kBondsPerCall first_group[r - r0] + j. halves[Dim x + k]: the bond from site x of the row
      // along used axis k (k = Dim - 1 fastest).
      std::memcpy(
          halves.data(),
          reinterpret_cast<const unsigned char*>(clusters.words.data() + 4 * call_start[r - r0]) +
              2 * (first_bond - kBondsPerCall * first_group[r - r0]),
          halves.size() * sizeof(uint16_t));
      const int8_t* row = padded + g.row_offset(y, z);
      uint64_t* below = clusters.below.data();
      active_bonds(halves.data(), Dim * nx, first_bond, threshold, key, sample, sweep, below,
                   clusters.flags.data());
      for (int k = 0; k < Dim; ++k) {
        uint64_t* out = clusters.bonds.data() + rows.bond_row(3 - Dim + k, r);
        equal_bytes(row + step[3 - Dim + k], row, nx, out, clusters.flags.data());
        for (int64_t w = 0; w < rows.nw; ++w) out[w] &= axis_bits<Dim>(below + Dim * w, k);
      }
    }
  }
}

// Joins the runs of row `to` with those of row `from` through the bonds from each site of `from`
// to the same site of `to` (bits `across`). A bond at x + 1 is skipped when the bond at x exists
// and both rows join x to x + 1 along the row: the runs are already joined. The root of the run
// of `to` being joined is kept in a register: while its bonds are taken in order, only these
// unions change it.
//
// Nearly every bond joins two different sets, and the link's address (the larger root) is known
// only at the end of a chain of loads. Stored at once, it would hold up the next bond's loads
// (the core cannot tell whether they read it), so the link is kept pending in registers and
// stored after the next bond's loads: their walks stop at the pending link's upper root (still a
// root in memory) and are redirected to its lower one.
void join_rows(const Rows& rows, BoxClusters& clusters, int64_t from, int64_t to,
               const uint64_t* across) {
  const uint64_t* along = clusters.bonds.data() + rows.bond_row(2, 0);
  const uint64_t* along_from = along + from * rows.nw;
  const uint64_t* along_to = along + to * rows.nw;
  const uint64_t* starts_from = clusters.starts.data() + from * rows.nw;
  const uint64_t* starts_to = clusters.starts.data() + to * rows.nw;
  uint32_t* parent = clusters.parent.data();
  uint32_t base_from = clusters.row_runs[from], base_to = clusters.row_runs[to];
  uint32_t run = std::numeric_limits<uint32_t>::max(), root = 0;
  // The pending link, upper -> lower; 0 -> 0 changes nothing (run 0 is always a root).
  uint32_t upper = 0, lower = 0;
  uint64_t carry = 0;
  for (int64_t w = 0; w < rows.nw; ++w) {
    const uint64_t joined_before = across[w] & along_from[w] & along_to[w];
    uint64_t useful = across[w] & ~((joined_before << 1) | carry);
    carry = joined_before >> 63;
    // Base - 1 plus the starts up to and including the bit: the run that holds the site.
    const uint32_t before_from = base_from - 1, before_to = base_to - 1;
    while (useful != 0) {
      const int b = __builtin_ctzll(useful);
      useful &= useful - 1;
      const uint64_t through = bits_through(b);
      const uint32_t run_to = before_to + count_ones(starts_to[w] & through);
      const uint32_t run_from = before_from + count_ones(starts_from[w] & through);
      // Two hops reach the root almost always; the loops below are the rare deeper paths. No
      // branch on the bonds themselves: they are coin flips no predictor learns.
      uint32_t root_to = find_root(parent, parent[parent[run_to]]);
      root_to = root_to == upper ? lower : root_to;
      root = run_to == run ? root : root_to;
      run = run_to;
      uint32_t other = parent[parent[run_from]];
      if (parent[other] != other) other = find_root(parent, run_from);
      other = other == upper ? lower : other;
      parent[upper] = lower;
      parent[run_from] = other;
      upper = other < root ? root : other;
      lower = other < root ? other : root;
      root = lower;
    }
    base_from += count_ones(starts_from[w]);
    base_to += count_ones(starts_to[w]);
  }
  parent[upper] = lower;
}

// Pass 2: the runs of every row and their union-find: each row's runs joined to those of the row
// before along y (and z), the periodic wraps of axes the box spans joined last.
void label_runs(const Geometry& g, const Rows& rows, BoxClusters& clusters) {
  const int64_t nw = rows.nw;
  const uint64_t last_word =
      rows.nx % kWordBits == 0 ? ~uint64_t{0} : (uint64_t{1} << (rows.nx % kWordBits)) - 1;
  const uint64_t* along = clusters.bonds.data() + rows.bond_row(2, 0);
  uint32_t* parent = clusters.parent.data();
  const bool spans_x = rows.nx == g.global[2];
  uint32_t runs = 0;
  int64_t y = 0, z = 0;  // of row r
  for (int64_t r = 0; r < rows.rows; ++r, rows.step(y, z)) {
    clusters.row_runs[r] = runs;
    uint64_t carry = 0;  // a bond along the row from the last site of the previous word
    for (int64_t w = 0; w < nw; ++w) {
      const uint64_t bonded = along[r * nw + w];
      uint64_t starts = ~((bonded << 1) | carry);
      carry = bonded >> 63;
      if (w == nw - 1) starts &= last_word;
      clusters.starts[r * nw + w] = starts;
      runs += count_ones(starts);
    }
    std::iota(parent + clusters.row_runs[r], parent + runs, clusters.row_runs[r]);
    if (y > 0) join_rows(rows, clusters, r - 1, r, clusters.bonds.data() + rows.bond_row(1, r - 1));
    if (g.dim == 3 && z > 0) {
      join_rows(rows, clusters, r - rows.ny, r,
                clusters.bonds.data() + rows.bond_row(0, r - rows.ny));
    }
    if (spans_x && (along[r * nw + (rows.nx - 1) / kWordBits] >> ((rows.nx - 1) % kWordBits) & 1)) {
      unite(parent, clusters.row_runs[r], runs - 1);
    }
  }
  clusters.row_runs[rows.rows] = runs;
  if (rows.ny == g.global[1]) {
    for (int64_t z = 0; z < rows.nz; ++z) {
      const int64_t last = z * rows.ny + rows.ny - 1;
      join_rows(rows, clusters, last, z * rows.ny, clusters.bonds.data() + rows.bond_row(1, last));
    }
  }
  if (g.dim == 3 && rows.nz == g.global[0]) {
    for (int64_t y = 0; y < rows.ny; ++y) {
      const int64_t last = (rows.nz - 1) * rows.ny + y;
      join_rows(rows, clusters, last, y, clusters.bonds.data() + rows.bond_row(0, last));
    }
  }
}

// The run that holds box site `site`.
uint32_t run_of_site(const BoxClusters& clusters, uint32_t site) {
  const int64_t nx = clusters.row_length, nw = words_per_row(nx);
  const int64_t r = site / nx, x = site % nx;
  const uint64_t* starts = clusters.starts.data() + r * nw;
  uint32_t run = clusters.row_runs[r] - 1;
  for (int64_t w = 0; w < x / kWordBits; ++w) run += count_ones(starts[w]);
  return run + count_ones(starts[x / kWordBits] & bits_through(static_cast<int>(x % kWordBits)));
}

// The box site where run `run` starts.
uint32_t first_site_of_run(const BoxClusters& clusters, uint32_t run) {
  const int64_t nx = clusters.row_length, nw = words_per_row(nx);
  const int64_t r = std::upper_bound(clusters.row_runs.begin(), clusters.row_runs.end(), run) -
                    clusters.row_runs.begin() - 1;
  uint32_t skip = run - clusters.row_runs[r];
  const uint64_t* starts = clusters.starts.data() + r * nw;
  int64_t w = 0;
  while (count_ones(starts[w]) <= skip) skip -= count_ones(starts[w++]);
  uint64_t word = starts[w];
  for (; skip > 0; --skip) word &= word - 1;
  return static_cast<uint32_t>(r * nx + w * kWordBits + __builtin_ctzll(word));
}

// The root of `run` without compressing paths.
uint32_t root_of_run(const BoxClusters& clusters, uint32_t run) {
  while (clusters.parent[run] != run) run = clusters.parent[run];
  return run;
}

bool bond_active(const BoxClusters& clusters, const Rows& rows, int axis, uint32_t site) {
  const int64_t r = site / rows.nx, x = site % rows.nx;
  return clusters.bonds[rows.bond_row(axis, r) + static_cast<size_t>(x / kWordBits)] >>
             (x % kWordBits) &
         1;
}

// Calls visit(c, i) for every interior site on layer `layer` of axis a (c: box coordinates,
// i: local index).
template <typename Visit>
void for_each_on_layer(const Geometry& g, int a, int64_t layer, Visit&& visit) {
  int64_t c[3] = {0, 0, 0};
  const int64_t begin[3] = {a == 0 ? layer : 0, a == 1 ? layer : 0, a == 2 ? layer : 0};
  const int64_t end[3] = {a == 0 ? layer + 1 : g.extent[0], a == 1 ? layer + 1 : g.extent[1],
                          a == 2 ? layer + 1 : g.extent[2]};
  for (c[0] = begin[0]; c[0] < end[0]; ++c[0]) {
    for (c[1] = begin[1]; c[1] < end[1]; ++c[1]) {
      for (c[2] = begin[2]; c[2] < end[2]; ++c[2]) {
        visit(c, static_cast<uint32_t>((c[0] * g.extent[1] + c[1]) * g.extent[2] + c[2]));
      }
    }
  }
}

// The 8 flip masks of a byte of flip bits: byte j is 0xfe when bit j is set (-s = s ^ 0xfe for
// s = +-1).
struct FlipBytes {
  uint64_t mask[256];
  constexpr FlipBytes() : mask() {
    for (int bits = 0; bits < 256; ++bits) {
      uint64_t m = 0;
      for (int j = 0; j < 8; ++j) m |= static_cast<uint64_t>((bits >> j & 1) * 0xfe) << (8 * j);
      mask[bits] = m;
    }
  }
};
constexpr FlipBytes kFlipBytes;

}  // namespace

uint32_t BoxClusters::local_root(uint32_t site) const {
  return first_site_of_run(*this, root_of_run(*this, run_of_site(*this, site)));
}

void label_box_clusters(const IsingBox& box, const int8_t* padded, double beta, uint64_t seed,
                        uint32_t sample, uint32_t sweep, BoxClusters& clusters) {
  check_cluster_box(box);
  const Geometry g = geometry_of(box);
  const Rows rows(g);
  const PhiloxKey key = philox_key(seed);
  const uint64_t threshold = word_threshold(1.0 - std::exp(-2.0 * beta));
  const size_t sites = static_cast<size_t>(box.interior_sites());
  clusters.row_length = rows.nx;
  clusters.bonds.resize(static_cast<size_t>(g.dim * rows.rows * rows.nw));
  clusters.starts.resize(static_cast<size_t>(rows.rows * rows.nw));
  clusters.row_runs.resize(static_cast<size_t>(rows.rows + 1));
  clusters.parent.resize(sites);
  // The global site each row starts at.
  clusters.row_sites.resize(static_cast<size_t>(rows.rows));
  {
    int64_t c[3] = {0, 0, 0};
    size_t r = 0;
    for (c[0] = 0; c[0] < rows.nz; ++c[0]) {
      for (c[1] = 0; c[1] < rows.ny; ++c[1]) clusters.row_sites[r++] = global_site(g, c);
    }
  }
  if (g.dim == 3) {
    draw_bonds<3>(g, rows, padded, threshold, key, sample, sweep, clusters);
  } else {
    draw_bonds<2>(g, rows, padded, threshold, key, sample, sweep, clusters);
  }
  label_runs(g, rows, clusters);
  // The bonds of the last layer along an axis the box does not span cross to another box (a
  // link, once the labels are known); the wraps of spanned axes were joined in label_runs. The
  // bonds entering the first layer from the halo belong to the box below, which draws the same
  // word and links its cluster to the site entered: this box links that site to its own
  // cluster, so the two clusters meet at the site.
  std::vector<ClusterLink>& links = clusters.links;
  links.clear();
  auto link = [&](uint32_t local, uint64_t across) {
    links.push_back({global_of_local(g, local), across});
  };
  uint32_t* parent = clusters.parent.data();
  auto local_root = [&](uint32_t site) {
    return first_site_of_run(clusters, find_root(parent, run_of_site(clusters, site)));
  };
  for (int a = rows.first_axis; a < 3; ++a) {
    if (g.extent[a] == g.global[a]) continue;
    const int bit = a - rows.first_axis;
    for_each_on_layer(g, a, g.extent[a] - 1, [&](const int64_t* c, uint32_t i) {
      if (bond_active(clusters, rows, a, i)) link(local_root(i), global_neighbour(g, c, a, 1));
    });
    for_each_on_layer(g, a, 0, [&](const int64_t* c, uint32_t i) {
      const int8_t* site = padded + g.row_offset(c[1], c[0]) + c[2];
      if (site[-g.stride[a]] != site[0]) return;
      const uint64_t bond =
          static_cast<uint64_t>(g.dim) * global_neighbour(g, c, a, -1) + static_cast<uint64_t>(bit);
      if (cluster_bond_active(key, bond, sample, sweep, threshold)) {
        link(local_root(i), global_site(g, c));
      }
    });
  }
  std::sort(links.begin(), links.end());
  links.erase(std::unique(links.begin(), links.end()), links.end());
}

ClusterRoots::ClusterRoots(const std::vector<ClusterLink>& links) {
  nodes_.reserve(2 * links.size());
  for (const ClusterLink& link : links) {
    nodes_.push_back(link.label);
    nodes_.push_back(link.site);
  }
  std::sort(nodes_.begin(), nodes_.end());
  nodes_.erase(std::unique(nodes_.begin(), nodes_.end()), nodes_.end());
  auto index_of = [&](uint64_t node) {
    return static_cast<size_t>(std::lower_bound(nodes_.begin(), nodes_.end(), node) -
                               nodes_.begin());
  };
  // Indices follow node order, so the smallest index of a set is its smallest global site.
  std::vector<size_t> parent(nodes_.size());
  std::iota(parent.begin(), parent.end(), size_t{0});
  for (const ClusterLink& link : links) {
    unite(parent.data(), index_of(link.label), index_of(link.site));
  }
  point_at_roots(parent);
  root_.resize(nodes_.size());
  for (size_t k = 0; k < nodes_.size(); ++k) root_[k] = nodes_[parent[k]];
}

uint64_t ClusterRoots::root(uint64_t label) const {
  const auto found = std::lower_bound(nodes_.begin(), nodes_.end(), label);
  if (found == nodes_.end() || *found != label) return label;
  return root_[static_cast<size_t>(found - nodes_.begin())];
}

void flip_box_clusters(const IsingBox& box, int8_t* padded, BoxClusters& clusters,
                       const ClusterRoots& roots, uint64_t seed, uint32_t sample, uint32_t sweep) {
  const Geometry g = geometry_of(box);
  const Rows rows(g);
  const PhiloxKey key = philox_key(seed);
  uint32_t* parent = clusters.parent.data();
  const uint32_t runs = clusters.row_runs[rows.rows];
  // The coin of every site a run starts at, as bits in run order. The rows' blocks of 128 sites
  // come in increasing order (box order is global order), each drawn once although short rows
  // share one: one batch of Philox calls for the box, then per row word the bits at the run
  // starts extracted. A local cluster's coin is then the bit of its root run.
  std::vector<uint64_t>& blocks = clusters.coin_blocks;
  blocks.clear();
  const std::vector<uint64_t>& row_sites = clusters.row_sites;
  for (const uint64_t site : row_sites) {
    const uint64_t first = site / kCoinBlock;
    const uint64_t last = (site + static_cast<uint64_t>(rows.nx) - 1) / kCoinBlock;
    for (uint64_t b = blocks.empty() ? first : std::max(first, blocks.back() + 1); b <= last; ++b) {
      blocks.push_back(b);
    }
  }
  std::vector<uint32_t>& words = clusters.words;
  words.resize(4 * blocks.size() + 4);  // the last word_bits_from may read two words past them
  philox_groups(
      key, static_cast<int64_t>(blocks.size()), [&](int64_t i) { return blocks[i]; },
      IsingStream::kClusterFlip, sample, sweep, words.data());
  std::vector<uint64_t>& run_bits = clusters.run_bits;
  run_bits.assign(runs / kWordBits + 2, 0);
  const uint64_t* starts = clusters.starts.data();
  uint32_t run = 0;
  size_t block = 0;  // the position in `blocks` of the row's first block
  for (int64_t r = 0; r < rows.rows; ++r) {
    const uint64_t site = row_sites[static_cast<size_t>(r)];
    while (blocks[block] != site / kCoinBlock) ++block;
    const uint32_t* row_words = words.data() + 4 * block;
    const uint64_t offset = site - kCoinBlock * blocks[block];
    for (int64_t w = 0; w < rows.nw; ++w) {
      const uint64_t s = *starts++;
      const uint64_t coins = extract_bits(word_bits_from(row_words, offset + kWordBits * w), s);
      append_bits(run_bits.data(), run, coins);
      run += count_ones(s);
    }
  }
  // A local cluster that is part of a larger one takes the coin of that cluster's root. Only the
  // labels of this box's links can be (a bond into the box is recorded by this box too, as a link
  // of the entered site's cluster).
  const std::vector<ClusterLink>& links = clusters.links;
  for (size_t k = 0; k < links.size(); ++k) {
    if (k > 0 && links[k].label == links[k - 1].label) continue;
    const uint64_t root = roots.root(links[k].label);
    if (root == links[k].label) continue;
    const uint32_t root_run = run_of_site(clusters, local_of_global(g, links[k].label));
    const uint64_t bit = uint64_t{1} << (root_run % kWordBits);
    run_bits[root_run / kWordBits] = cluster_coin(key, root, sample, sweep)
                                         ? run_bits[root_run / kWordBits] | bit
                                         : run_bits[root_run / kWordBits] & ~bit;
  }
  // Every run pointed at its root (parent[k] < k is already done: one pass in increasing order)
  // and given its root's coin, 64 runs to a word.
  std::vector<uint64_t>& run_heads = clusters.run_heads;
  run_heads.assign(runs / kWordBits + 2, 0);
  {
    uint32_t* __restrict compressed = parent;
    const uint64_t* __restrict heads = run_bits.data();
    for (uint32_t first = 0; first < runs; first += kWordBits) {
      const uint32_t end = std::min<uint32_t>(runs, first + kWordBits);
      uint64_t word = 0;
      for (uint32_t k = first; k < end; ++k) {
        const uint32_t root = compressed[compressed[k]];
        compressed[k] = root;
        word |= (heads[root / kWordBits] >> (root % kWordBits) & 1) << (k - first);
      }
      run_heads[first / kWordBits] = word;
    }
  }
  // A row's flip bits, a word at a time: the coin changes between consecutive runs deposited at
  // the run starts, then a prefix xor; applied 8 sites at a time.
  starts = clusters.starts.data();
  run = 0;
  for (int64_t r = 0, y = 0, z = 0; r < rows.rows; ++r, rows.step(y, z)) {
    int8_t* row = padded + g.row_offset(y, z);
    uint64_t previous = 0;  // the coin of the run in progress
    for (int64_t w = 0; w < rows.nw; ++w, row += kWordBits) {
      const uint64_t s = *starts++;
      const uint32_t count = count_ones(s);
      const uint64_t heads = bits_from(run_heads.data(), run, count);
      run += count;
      const uint64_t changes = deposit_bits(heads ^ ((heads << 1) | previous), s);
      const uint64_t flip = prefix_xor(changes) ^ (uint64_t{0} - previous);
      previous = count == 0 ? previous : heads >> (count - 1) & 1;
      const int64_t m = std::min<int64_t>(kWordBits, rows.nx - kWordBits * w);
      if (m == kWordBits) {
        for (int j = 0; j < 8; ++j) {
          uint64_t eight;
          std::memcpy(&eight, row + 8 * j, 8);
          eight ^= kFlipBytes.mask[flip >> (8 * j) & 0xff];
          std::memcpy(row + 8 * j, &eight, 8);
        }
      } else {
        for (int64_t x = 0; x < m; ++x) {
          row[x] = static_cast<int8_t>(row[x] ^ ((flip >> x & 1) * 0xfe));
        }
      }
    }
  }
}

void swendsen_wang_sweep(const IsingBox& box, int8_t* padded, double beta, uint64_t seed,
                         uint32_t sample, uint32_t sweep, const GatherClusterLinks& gather_links,
                         BoxClusters& clusters) {
  label_box_clusters(box, padded, beta, seed, sample, sweep, clusters);
  const ClusterRoots roots(gather_links ? gather_links(clusters.links) : clusters.links);
  flip_box_clusters(box, padded, clusters, roots, seed, sample, sweep);
}

void swendsen_wang_sweep(IsingLattice& lattice, double beta, uint64_t seed, uint32_t sample,
                         uint32_t sweep, BoxClusters& clusters) {
  fill_periodic_halo(lattice.box(), lattice.padded());
  swendsen_wang_sweep(lattice.box(), lattice.padded(), beta, seed, sample, sweep, {}, clusters);
}

}  // namespace rgflow::field

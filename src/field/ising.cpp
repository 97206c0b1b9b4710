#include "rgflow/field/ising.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "ising_detail.hpp"
#include "rgflow/field/philox.hpp"

namespace rgflow::field {

namespace {

constexpr double kPi = 3.14159265358979323846;

// The shared geometry and stream helpers of the Ising kernels (ising_detail.hpp).
using namespace ising_detail;

}  // namespace

IsingBox IsingBox::whole(int dim, int64_t side) {
  IsingBox box;
  box.dim = dim;
  box.side = side;
  for (int a = 0; a < 3; ++a) box.extent[a] = a < dim ? side : 1;
  return box;
}

int64_t IsingBox::interior_sites() const {
  return extent[0] * extent[1] * extent[2];
}

std::array<int64_t, 3> IsingBox::padded_extent() const {
  std::array<int64_t, 3> p{1, 1, 1};
  for (int a = 0; a < dim; ++a) p[a] = extent[a] + 2;
  return p;
}

int64_t IsingBox::padded_sites() const {
  const auto p = padded_extent();
  return p[0] * p[1] * p[2];
}

void check_box(const IsingBox& box) {
  if (box.dim != 2 && box.dim != 3) {
    throw std::invalid_argument("Ising lattice: dimension " + std::to_string(box.dim) +
                                " is not 2 or 3");
  }
  if (box.side < 2 || box.side % 2 != 0) {
    throw std::invalid_argument(
        "Ising lattice: side " + std::to_string(box.side) +
        " must be even and at least 2 (checkerboard on a periodic lattice)");
  }
  for (int a = 0; a < 3; ++a) {
    if (a < box.dim) {
      if (box.extent[a] < 1 || box.origin[a] < 0 || box.origin[a] + box.extent[a] > box.side) {
        throw std::invalid_argument(
            "Ising box: axis " + std::to_string(a) + " [" + std::to_string(box.origin[a]) + ", " +
            std::to_string(box.origin[a] + box.extent[a]) +
            ") is empty or leaves the lattice of side " + std::to_string(box.side));
      }
    } else if (box.extent[a] != 1 || box.origin[a] != 0) {
      throw std::invalid_argument("Ising box: unused axis " + std::to_string(a) +
                                  " must have extent 1 and origin 0");
    }
  }
}

HeatBathTable heat_bath_table(int dim, double beta) {
  HeatBathTable table;
  table.dim = dim;
  table.beta = beta;
  for (int k = 0; k <= 2 * dim; ++k) {
    const int h = 2 * k - 2 * dim;
    table.threshold[static_cast<size_t>(k)] =
        word_threshold(1.0 / (1.0 + std::exp(-2.0 * beta * h)));
  }
  return table;
}

namespace {

// Row (z, y) of a box's interior: its first site's global index, its first spin in the padded
// array, and the parity of the global indices of the colour's sites in it (the side is even, so
// a row's global indices and x coordinates have the same parity).
struct BoxRow {
  uint64_t start;
  int8_t* spins;
  uint64_t site_parity;
};

BoxRow box_row(const Geometry& g, int8_t* padded, int64_t z, int64_t y, int colour) {
  const int64_t gz = g.origin[0] + z, gy = g.origin[1] + y;
  return {static_cast<uint64_t>((gz * g.global[1] + gy) * g.global[2] + g.origin[2]),
          padded + g.row_offset(y, z), static_cast<uint64_t>(colour + gz + gy) & 1};
}

// The rows (z, y) one update visits: layers [first_layer, end_layer) of the box's slowest axis
// (z in 3D, y in 2D, whose geometry has a single z), the other axis whole.
struct RowSpan {
  int64_t z_begin, z_end, y_begin, y_end;
};

RowSpan layer_rows(const Geometry& g, int64_t first_layer, int64_t end_layer) {
  if (g.dim == 3) return {first_layer, end_layer, 0, g.extent[1]};
  return {0, 1, first_layer, end_layer};
}

// Everything one colour's update of a box needs besides the spins.
struct ColourUpdate {
  PhiloxKey key;
  uint32_t sample;
  uint32_t counter3;          // 2 sweep + colour
  const uint64_t* threshold;  // by table index, up to 2^32
  uint32_t leading[7];        // min(threshold >> 16, 0xffff): what the leading half meets
};

// The documented rule for site g once its leading half is known: the leading half decides unless
// it equals the threshold's leading half; then the trailing half, from the tie stream, does.
int8_t heat_bath_decision(const ColourUpdate& u, uint64_t g, uint32_t lead, uint64_t threshold) {
  return word_below(u.key, g >> 1, lead, IsingStream::kHeatBathTie, u.sample, u.counter3, threshold)
             ? int8_t{1}
             : int8_t{-1};
}

int heat_bath_index(const int8_t* site, int64_t sy, int64_t sz, int dim) {
  int h = site[-1] + site[1] + site[-sy] + site[sy];
  if (dim == 3) h += site[-sz] + site[sz];
  return (h + 2 * dim) >> 1;
}

// The new spin of site g alone (its leading half from its own Philox call): rows' ends, ties.
int8_t heat_bath_spin(const ColourUpdate& u, const int8_t* site, uint64_t g, int64_t sy, int64_t sz,
                      int dim) {
  const uint32_t lead = stream_half(u.key, g >> 1, IsingStream::kHeatBath, u.sample, u.counter3);
  return heat_bath_decision(u, g, lead, u.threshold[heat_bath_index(site, sy, sz, dim)]);
}

// The sites of the colour (global indices of parity site_parity) in [from, to) of a row whose
// x = 0 is global site row_start, one at a time.
void update_sites(const ColourUpdate& u, int8_t* row, uint64_t row_start, uint64_t site_parity,
                  uint64_t from, uint64_t to, int64_t sy, int64_t sz, int dim) {
  for (uint64_t g = from + ((from ^ site_parity) & 1); g < to; g += 2) {
    int8_t* site = row + (g - row_start);
    *site = heat_bath_spin(u, site, g, sy, sz, dim);
  }
}

// One row of the portable path: every site's new value is computed from its leading half
// (contiguous, so it vectorises with no gathers: the threshold's leading half is picked by a
// telescoping sum of steps), then only the sites of the colour being updated take it; the rare
// ties (leading halves equal) are redone one at a time. `next` is separate so the compiler sees
// no dependence between sites.
template <int Dim>
void heat_bath_row(const ColourUpdate& u, int8_t* __restrict row, uint64_t row_start, int64_t sy,
                   int64_t sz, int64_t nx, const uint32_t* __restrict site_lead,
                   int64_t update_parity, int8_t* __restrict next) {
  uint32_t step[7] = {};
  for (int k = 1; k <= 2 * Dim; ++k) step[k] = u.leading[k] - u.leading[k - 1];
  const uint32_t t0 = u.leading[0], d1 = step[1], d2 = step[2], d3 = step[3], d4 = step[4],
                 d5 = step[5], d6 = step[6];
  int ties = 0;
  for (int64_t x = 0; x < nx; ++x) {
    int h = row[x - 1] + row[x + 1] + row[x - sy] + row[x + sy];
    if constexpr (Dim == 3) h += row[x - sz] + row[x + sz];
    const int index = (h + 2 * Dim) >> 1;
    uint32_t limit =
        t0 + d1 * static_cast<uint32_t>(index >= 1) + d2 * static_cast<uint32_t>(index >= 2) +
        d3 * static_cast<uint32_t>(index >= 3) + d4 * static_cast<uint32_t>(index >= 4);
    if constexpr (Dim == 3) {
      limit += d5 * static_cast<uint32_t>(index >= 5) + d6 * static_cast<uint32_t>(index >= 6);
    }
    const int8_t old = row[x];
    const int fresh = site_lead[x] < limit ? 1 : -1;
    const int update = static_cast<int>((x & 1) == update_parity);
    ties |= update & static_cast<int>(site_lead[x] == limit);
    next[x] = static_cast<int8_t>(update * fresh + (1 - update) * old);
  }
  std::copy(next, next + nx, row);
  if (!ties) return;
  for (int64_t x = update_parity; x < nx; x += 2) {
    const uint64_t threshold = u.threshold[heat_bath_index(row + x, sy, sz, Dim)];
    if (site_lead[x] == std::min<uint64_t>(threshold >> 16, 0xffffu)) {
      row[x] = heat_bath_decision(u, row_start + static_cast<uint64_t>(x), site_lead[x], threshold);
    }
  }
}

#if RGFLOW_HAVE_AVX2_KERNELS
// The AVX2 kernel. A row is cut at global sites that are multiples of 16 into chunks of 64 sites:
// 4 Philox counters, whose 32 leading halves belong to the chunk's 32 sites of the colour. Loaded
// from the chunk's first site of the colour, two vectors of 32 spins hold those sites in their
// even bytes, each 128-bit lane the 8 sites of one counter in the order of its half-words: so
// after a 4 x 4 transpose of philox4x32_10_avx2's output (counters placed (0, 2, 1, 3) in the
// lanes so the transpose needs no cross-lane step), 16-bit lane j of the words is the leading half
// of the site in byte 2 j. The threshold's leading half is looked up by a byte shuffle from the
// neighbour sum and compared as signed after flipping top bits. The neighbour sums of the other
// colour's bytes are computed and discarded (32 sites per add). Ties (about one site in 65536)
// are redone one at a time after the chunk, as are the sites before a row's first chunk and after
// its last. (No lambdas here: they would not inherit the AVX2 target.)
struct ChunkConstants {
  __m128i leading_bytes;  // bytes 0-7: low bytes of the flipped leading thresholds, 8-15: high
  __m256i index_mask, index_to_shuffle, high_byte_table, sign16;
  __m256i tag, word2, word3;  // counter words 1 (stream tag), 2 (sample), 3 (2 sweep + colour)
  __m256i twice_index_offset, other_colour, low_bytes, plus_one, chunk_groups;
  int64_t sy, sz;
};

RGFLOW_TARGET_AVX2 inline __m256i load32(const int8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// 32 spins from `spins` (16 sites of the colour in the even bytes) updated with the leading
// halves `lead` (16-bit lane j for byte 2 j); returns the tie mask (16-bit lanes).
template <int Dim>
RGFLOW_TARGET_AVX2 inline __m256i update_spins(const ChunkConstants& c, int8_t* spins,
                                               __m256i lead) {
  __m256i sum = _mm256_add_epi8(_mm256_add_epi8(load32(spins - 1), load32(spins + 1)),
                                _mm256_add_epi8(load32(spins - c.sy), load32(spins + c.sy)));
  if constexpr (Dim == 3) {
    sum = _mm256_add_epi8(sum, _mm256_add_epi8(load32(spins - c.sz), load32(spins + c.sz)));
  }
  // Table index (h + 2d) / 2 in each 16-bit lane, from its low byte, then a shuffle control that
  // picks the threshold's low byte (index) and high byte (index + 8).
  const __m256i index = _mm256_and_si256(
      _mm256_srli_epi16(_mm256_add_epi8(sum, c.twice_index_offset), 1), c.index_mask);
  const __m256i control =
      _mm256_add_epi16(_mm256_mullo_epi16(index, c.index_to_shuffle), c.high_byte_table);
  const __m256i limit = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(c.leading_bytes), control);
  const __m256i flipped_lead = _mm256_xor_si256(lead, c.sign16);
  const __m256i up = _mm256_cmpgt_epi16(limit, flipped_lead);
  // Even bytes: +1 where up, -1 (0xff) where not; odd bytes (the other colour) kept.
  const __m256i fresh = _mm256_or_si256(_mm256_andnot_si256(up, c.low_bytes), c.plus_one);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(spins),
                      _mm256_or_si256(_mm256_and_si256(load32(spins), c.other_colour), fresh));
  return _mm256_cmpeq_epi16(limit, flipped_lead);
}

// N consecutive chunks from `base` (the first chunk's first site of the colour, global index
// `first_site`); `groups` holds the first chunk's counters and moves past the last.
template <int Dim>
RGFLOW_TARGET_AVX2 inline void update_chunk(const ColourUpdate& u, const ChunkConstants& c,
                                            int8_t* base, uint64_t first_site, __m256i& groups) {
  PhiloxLanesAvx2 words[1];
  words[0].x[0] = groups;
  words[0].x[1] = _mm256_or_si256(_mm256_srli_epi64(groups, 32), c.tag);
  words[0].x[2] = c.word2;
  words[0].x[3] = c.word3;
  groups = _mm256_add_epi64(groups, c.chunk_groups);
  philox4x32_10_avx2<1>(words, u.key);
  const __m256i* x = words[0].x;
  // Lanes hold counters (0, 2 | 1, 3): unpacking within 128-bit lanes gives counters 0 | 1 and
  // 2 | 3, words 0-3 in order.
  const __m256i low01 = _mm256_unpacklo_epi32(x[0], x[1]),
                high01 = _mm256_unpackhi_epi32(x[0], x[1]);
  const __m256i low23 = _mm256_unpacklo_epi32(x[2], x[3]),
                high23 = _mm256_unpackhi_epi32(x[2], x[3]);
  const __m256i ties =
      _mm256_or_si256(update_spins<Dim>(c, base, _mm256_unpacklo_epi64(low01, low23)),
                      update_spins<Dim>(c, base + 32, _mm256_unpacklo_epi64(high01, high23)));
  if (_mm256_testz_si256(ties, ties)) return;
  for (int j = 0; j < 64; j += 2) {
    int8_t* site = base + j;
    const uint64_t threshold = u.threshold[heat_bath_index(site, c.sy, c.sz, Dim)];
    const uint64_t g = first_site + static_cast<uint64_t>(j);
    const uint32_t lead = stream_half(u.key, g >> 1, IsingStream::kHeatBath, u.sample, u.counter3);
    if (lead == std::min<uint64_t>(threshold >> 16, 0xffffu)) {
      *site = heat_bath_decision(u, g, lead, threshold);
    }
  }
}

template <int Dim>
RGFLOW_TARGET_AVX2 void heat_bath_colour_avx2(const Geometry& g, int8_t* padded,
                                              const ColourUpdate& u, int colour,
                                              const RowSpan& rows) {
  const int64_t nx = g.extent[2];
  alignas(16) uint8_t leading_bytes[16] = {};
  for (int k = 0; k <= 2 * Dim; ++k) {
    const uint32_t flipped = u.leading[k] ^ 0x8000u;
    leading_bytes[k] = static_cast<uint8_t>(flipped);
    leading_bytes[k + 8] = static_cast<uint8_t>(flipped >> 8);
  }
  ChunkConstants c;
  c.leading_bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(leading_bytes));
  c.index_mask = _mm256_set1_epi16(7);
  c.index_to_shuffle = _mm256_set1_epi16(0x0101);
  c.high_byte_table = _mm256_set1_epi16(0x0800);
  c.sign16 = _mm256_set1_epi16(static_cast<int16_t>(0x8000));
  c.tag =
      _mm256_set1_epi64x(static_cast<int64_t>(static_cast<uint32_t>(IsingStream::kHeatBath) << 24));
  c.word2 = _mm256_set1_epi64x(u.sample);
  c.word3 = _mm256_set1_epi64x(u.counter3);
  c.twice_index_offset = _mm256_set1_epi8(2 * Dim);
  c.other_colour = _mm256_set1_epi16(static_cast<int16_t>(0xFF00));
  c.low_bytes = _mm256_set1_epi16(0x00FF);
  c.plus_one = _mm256_set1_epi16(1);
  c.chunk_groups = _mm256_set1_epi64x(4);
  c.sy = g.stride[1];
  c.sz = g.stride[0];
  const __m256i lane_groups = _mm256_setr_epi64x(0, 2, 1, 3);
  for (int64_t z = rows.z_begin; z < rows.z_end; ++z) {
    for (int64_t y = rows.y_begin; y < rows.y_end; ++y) {
      const BoxRow r = box_row(g, padded, z, y, colour);
      const uint64_t row_start = r.start, row_end = row_start + static_cast<uint64_t>(nx);
      const uint64_t site_parity = r.site_parity;
      int8_t* row = r.spins;
      uint64_t chunk = (row_start + 15) & ~uint64_t{15};
      update_sites(u, row, row_start, site_parity, row_start, std::min(chunk, row_end), c.sy, c.sz,
                   Dim);
      __m256i groups =
          _mm256_add_epi64(_mm256_set1_epi64x(static_cast<int64_t>(chunk >> 4)), lane_groups);
      for (; chunk + 64 <= row_end; chunk += 64) {
        update_chunk<Dim>(u, c, row + (chunk - row_start) + site_parity, chunk + site_parity,
                          groups);
      }
      update_sites(u, row, row_start, site_parity, std::max(chunk, row_start), row_end, c.sy, c.sz,
                   Dim);
    }
  }
}
#endif

}  // namespace

namespace {
// Set by select_heat_bath_kernel; AVX2 where available otherwise (decided at the first call, not
// in a static initialiser: the CPU feature check must not run before the runtime's own set-up).
bool portable_selected = false;
}  // namespace

bool heat_bath_kernel_available(HeatBathKernel kernel) {
  if (kernel == HeatBathKernel::kPortable) return true;
#if RGFLOW_HAVE_AVX2_KERNELS
  return cpu_has_avx2();
#else
  return false;
#endif
}

void select_heat_bath_kernel(HeatBathKernel kernel) {
  if (!heat_bath_kernel_available(kernel)) {
    throw std::invalid_argument("Ising heat bath: the AVX2 kernel is not available on this CPU");
  }
  portable_selected = kernel == HeatBathKernel::kPortable;
}

void heat_bath_colour(const IsingBox& box, int8_t* padded, const HeatBathTable& table,
                      uint64_t seed, uint32_t sample, uint32_t sweep, int colour) {
  heat_bath_colour_layers(box, padded, table, seed, sample, sweep, colour, 0, box.extent[0]);
}

void heat_bath_colour_layers(const IsingBox& box, int8_t* padded, const HeatBathTable& table,
                             uint64_t seed, uint32_t sample, uint32_t sweep, int colour,
                             int64_t first_layer, int64_t end_layer) {
  const Geometry g = geometry_of(box);
  const RowSpan rows = layer_rows(g, first_layer, end_layer);
  ColourUpdate u;
  u.key = philox_key(seed);
  u.sample = sample;
  u.counter3 = 2 * sweep + static_cast<uint32_t>(colour);
  u.threshold = table.threshold.data();
  // A threshold of 2^32 (p within 2^-33 of 1) has leading half 2^16: clamped to 0xffff, a leading
  // half of 0xffff counts as a tie and the exact rule decides it.
  for (int k = 0; k < 7; ++k) {
    u.leading[k] = static_cast<uint32_t>(std::min<uint64_t>(u.threshold[k] >> 16, 0xffffu));
  }
#if RGFLOW_HAVE_AVX2_KERNELS
  if (!portable_selected && cpu_has_avx2()) {
    if (g.dim == 3) {
      heat_bath_colour_avx2<3>(g, padded, u, colour, rows);
    } else {
      heat_bath_colour_avx2<2>(g, padded, u, colour, rows);
    }
    return;
  }
#endif
  const int64_t nx = g.extent[2];
  const int64_t max_groups = nx / 16 + 2;
  std::vector<uint32_t> words(static_cast<size_t>(4 * max_groups));
  std::vector<uint32_t> site_lead(static_cast<size_t>(16 * max_groups));
  std::vector<int8_t> next(static_cast<size_t>(nx));
  const int64_t sz = g.stride[0], sy = g.stride[1];
  for (int64_t z = rows.z_begin; z < rows.z_end; ++z) {
    for (int64_t y = rows.y_begin; y < rows.y_end; ++y) {
      const BoxRow r = box_row(g, padded, z, y, colour);
      const uint64_t row_start = r.start;
      const uint64_t first_group = row_start >> 4;
      const uint64_t last_group = (row_start + static_cast<uint64_t>(nx) - 1) >> 4;
      const int64_t groups = static_cast<int64_t>(last_group - first_group + 1);
      philox_row(u.key, first_group, groups, IsingStream::kHeatBath, sample, u.counter3,
                 words.data());
      // Site g's leading half is half (g / 2) % 2 of words[g / 4 - 4 first_group]: spread to one
      // per site (each pair of sites shares it; only the colour's site uses it).
      for (int64_t j = 0; j < 16 * groups; ++j) {
        site_lead[j] = (words[j >> 2] >> (16 * ((j >> 1) & 1))) & 0xffffu;
      }
      int8_t* row = r.spins;
      // x and the global index have the same parity (the side is even).
      const int64_t first_x = static_cast<int64_t>((r.site_parity ^ row_start) & 1);
      const uint32_t* lead = site_lead.data() + (row_start - 16 * first_group);
      if (g.dim == 3) {
        heat_bath_row<3>(u, row, row_start, sy, sz, nx, lead, first_x, next.data());
      } else {
        heat_bath_row<2>(u, row, row_start, sy, sz, nx, lead, first_x, next.data());
      }
    }
  }
}

void fill_periodic_halo(const IsingBox& whole, int8_t* padded) {
  const Geometry g = geometry_of(whole);
  // Axis by axis over the full padded range of the other axes, so edges and corners are filled
  // too (from halos already filled along earlier axes).
  for (int a = 0; a < 3; ++a) {
    if (g.halo[a] == 0) continue;
    const int64_t outer = a == 0 ? 1 : (a == 1 ? g.padded[0] : g.padded[0] * g.padded[1]);
    const int64_t inner = g.stride[a];
    const int64_t n = g.padded[a];
    if (inner == 1) {
      // Along the last axis the faces are single spins: assigned, not copied (a library call per
      // row cost about 6% of a 3D sweep of 128^3).
      for (int64_t o = 0; o < outer; ++o) {
        int8_t* base = padded + o * n;
        base[0] = base[n - 2];
        base[n - 1] = base[1];
      }
      continue;
    }
    for (int64_t o = 0; o < outer; ++o) {
      int8_t* base = padded + o * n * inner;
      std::copy(base + (n - 2) * inner, base + (n - 1) * inner, base);
      std::copy(base + inner, base + 2 * inner, base + (n - 1) * inner);
    }
  }
}

void load_box(const int8_t* lattice, const IsingBox& box, int8_t* padded) {
  const Geometry g = geometry_of(box);
  for (int64_t z = 0; z < g.padded[0]; ++z) {
    const int64_t gz = wrap(g.origin[0] + z - g.halo[0], g.global[0]);
    for (int64_t y = 0; y < g.padded[1]; ++y) {
      const int64_t gy = wrap(g.origin[1] + y - 1, g.global[1]);
      for (int64_t x = 0; x < g.padded[2]; ++x) {
        const int64_t gx = wrap(g.origin[2] + x - 1, g.global[2]);
        padded[z * g.stride[0] + y * g.stride[1] + x] =
            lattice[(gz * g.global[1] + gy) * g.global[2] + gx];
      }
    }
  }
}

void store_box(const int8_t* padded, const IsingBox& box, int8_t* lattice) {
  const Geometry g = geometry_of(box);
  for (int64_t z = 0; z < g.extent[0]; ++z) {
    for (int64_t y = 0; y < g.extent[1]; ++y) {
      const int8_t* row = padded + g.row_offset(y, z);
      int8_t* dst =
          lattice + ((g.origin[0] + z) * g.global[1] + g.origin[1] + y) * g.global[2] + g.origin[2];
      std::copy(row, row + g.extent[2], dst);
    }
  }
}

int64_t box_magnetisation_sum(const IsingBox& box, const int8_t* padded) {
  const Geometry g = geometry_of(box);
  int64_t sum = 0;
  for (int64_t z = 0; z < g.extent[0]; ++z) {
    for (int64_t y = 0; y < g.extent[1]; ++y) {
      const int8_t* row = padded + g.row_offset(y, z);
      int64_t row_sum = 0;
      for (int64_t x = 0; x < g.extent[2]; ++x) row_sum += row[x];
      sum += row_sum;
    }
  }
  return sum;
}

int64_t box_bond_sum(const IsingBox& box, const int8_t* padded) {
  const Geometry g = geometry_of(box);
  const int64_t sz = g.halo[0] ? g.stride[0] : 0;  // no bond along the unused axis
  const int64_t sy = g.stride[1];
  int64_t sum = 0;
  for (int64_t z = 0; z < g.extent[0]; ++z) {
    for (int64_t y = 0; y < g.extent[1]; ++y) {
      const int8_t* row = padded + g.row_offset(y, z);
      int64_t row_sum = 0;
      for (int64_t x = 0; x < g.extent[2]; ++x) {
        const int neighbours = row[x + 1] + row[x + sy] + (sz ? row[x + sz] : 0);
        row_sum += row[x] * neighbours;
      }
      sum += row_sum;
    }
  }
  return sum;
}

IsingLattice::IsingLattice(int dim, int64_t side) : box_(IsingBox::whole(dim, side)) {
  check_box(box_);
  padded_.assign(static_cast<size_t>(box_.padded_sites()), int8_t{1});
}

void IsingLattice::set_all(int8_t spin) {
  std::fill(padded_.begin(), padded_.end(), spin);
}

void IsingLattice::randomise(uint64_t seed, uint32_t sample) {
  const PhiloxKey key = philox_key(seed);
  std::vector<int8_t> spins(static_cast<size_t>(box_.interior_sites()));
  for (size_t site = 0; site < spins.size(); ++site) {
    const uint32_t w = stream_word(key, site, IsingStream::kHotStart, sample, 0);
    spins[site] = (w >> 31) == 0 ? int8_t{1} : int8_t{-1};
  }
  set_spins(spins);
}

std::vector<int8_t> IsingLattice::spins() const {
  std::vector<int8_t> out(static_cast<size_t>(box_.interior_sites()));
  store_box(padded_.data(), box_, out.data());
  return out;
}

void IsingLattice::set_spins(const std::vector<int8_t>& spins) {
  if (static_cast<int64_t>(spins.size()) != box_.interior_sites()) {
    throw std::invalid_argument("Ising lattice: " + std::to_string(spins.size()) +
                                " spins given for " + std::to_string(box_.interior_sites()) +
                                " sites");
  }
  load_box(spins.data(), box_, padded_.data());
}

void IsingLattice::heat_bath_sweep(const HeatBathTable& table, uint64_t seed, uint32_t sample,
                                   uint32_t sweep) {
  for (int colour = 0; colour < 2; ++colour) {
    fill_periodic_halo(box_, padded_.data());
    heat_bath_colour(box_, padded_.data(), table, seed, sample, sweep, colour);
  }
}

int64_t IsingLattice::magnetisation_sum() const {
  return box_magnetisation_sum(box_, padded_.data());
}

int64_t IsingLattice::bond_sum() {
  fill_periodic_halo(box_, padded_.data());
  return box_bond_sum(box_, padded_.data());
}

namespace {

template <typename Reduce>
void block_map(const int8_t* in, const IsingBox& box, int64_t block_side, int8_t* out,
               Reduce reduce) {
  check_box(box);
  const Geometry g = geometry_of(box);
  if (block_side < 1) throw std::invalid_argument("block map: block side must be at least 1");
  int64_t b[3], blocks[3];
  for (int a = 0; a < 3; ++a) {
    b[a] = g.halo[a] ? block_side : 1;
    if (g.extent[a] % b[a] != 0 || g.origin[a] % b[a] != 0 || g.global[a] % b[a] != 0) {
      throw std::invalid_argument(
          "block map: box and lattice must be multiples of the block side " +
          std::to_string(block_side));
    }
    blocks[a] = g.extent[a] / b[a];
  }
  const int64_t rs = g.extent[2], ps = g.extent[1] * g.extent[2];
  for (int64_t bz = 0; bz < blocks[0]; ++bz) {
    for (int64_t by = 0; by < blocks[1]; ++by) {
      for (int64_t bx = 0; bx < blocks[2]; ++bx) {
        const int8_t* first = in + bz * b[0] * ps + by * b[1] * rs + bx * b[2];
        int sum = 0;
        for (int64_t z = 0; z < b[0]; ++z) {
          for (int64_t y = 0; y < b[1]; ++y) {
            for (int64_t x = 0; x < b[2]; ++x) sum += first[z * ps + y * rs + x];
          }
        }
        const uint64_t global_block = static_cast<uint64_t>(
            ((g.origin[0] / b[0] + bz) * (g.global[1] / b[1]) + g.origin[1] / b[1] + by) *
                (g.global[2] / b[2]) +
            g.origin[2] / b[2] + bx);
        out[(bz * blocks[1] + by) * blocks[2] + bx] = reduce(first, sum, global_block);
      }
    }
  }
}

}  // namespace

void majority_map(const int8_t* in, const IsingBox& box, int64_t block_side, uint64_t seed,
                  uint32_t sample, uint32_t level, int8_t* out) {
  const PhiloxKey key = philox_key(seed);
  block_map(in, box, block_side, out, [&](const int8_t*, int sum, uint64_t block) {
    if (sum > 0) return int8_t{1};
    if (sum < 0) return int8_t{-1};
    const uint32_t w = stream_word(key, block, IsingStream::kMajorityTie, sample, level);
    return (w >> 31) == 0 ? int8_t{1} : int8_t{-1};
  });
}

void decimation_map(const int8_t* in, const IsingBox& box, int64_t block_side, int8_t* out) {
  block_map(in, box, block_side, out, [](const int8_t* first, int, uint64_t) { return first[0]; });
}

int64_t wolff_update(IsingLattice& lattice, double beta, uint64_t seed, uint32_t sample,
                     uint32_t step) {
  const Geometry g = geometry_of(lattice.box());
  const PhiloxKey key = philox_key(seed);
  const int64_t sites = lattice.box().interior_sites();
  const uint64_t threshold = word_threshold(1.0 - std::exp(-2.0 * beta));
  // The cluster grows in the interior of the padded array (the halo goes stale; every sweep and
  // bond_sum refills it). A site is flipped when it joins, which also marks it visited.
  int8_t* padded = lattice.padded();
  const int first_axis = 3 - g.dim;
  auto padded_index = [&](const int64_t* c) {
    return ((c[0] + g.halo[0]) * g.padded[1] + c[1] + 1) * g.padded[2] + c[2] + 1;
  };
  const PhiloxCounter start = philox4x32_10(
      {step, static_cast<uint32_t>(IsingStream::kClusterSeed) << 24, sample, 0u}, key);
  const uint64_t start_site =
      ((uint64_t{start[1]} << 32) | start[0]) % static_cast<uint64_t>(sites);
  const int64_t start_coord[3] = {static_cast<int64_t>(start_site) / (g.global[1] * g.global[2]),
                                  static_cast<int64_t>(start_site) / g.global[2] % g.global[1],
                                  static_cast<int64_t>(start_site) % g.global[2]};
  const int8_t cluster_spin = padded[padded_index(start_coord)];
  const int8_t flipped = static_cast<int8_t>(-cluster_spin);
  padded[padded_index(start_coord)] = flipped;
  std::vector<std::array<int64_t, 3>> stack{{start_coord[0], start_coord[1], start_coord[2]}};
  int64_t size = 1;
  const int64_t side = g.side;
  while (!stack.empty()) {
    const std::array<int64_t, 3> site = stack.back();
    stack.pop_back();
    for (int a = first_axis; a < 3; ++a) {
      for (int direction = -1; direction <= 1; direction += 2) {
        std::array<int64_t, 3> next = site;
        next[a] += direction;
        if (next[a] < 0) next[a] += side;
        if (next[a] == side) next[a] = 0;
        int8_t& spin = padded[padded_index(next.data())];
        if (spin != cluster_spin) continue;
        // The bond is named by the site it leaves along +a: q = d g + axis.
        const std::array<int64_t, 3>& lower = direction > 0 ? site : next;
        const uint64_t lower_site =
            static_cast<uint64_t>((lower[0] * g.global[1] + lower[1]) * g.global[2] + lower[2]);
        const uint64_t bond =
            lower_site * static_cast<uint64_t>(g.dim) + static_cast<uint64_t>(a - first_axis);
        if (!cluster_bond_active(key, bond, sample, step, threshold)) continue;
        spin = flipped;
        stack.push_back(next);
        ++size;
      }
    }
  }
  return size;
}

double integrated_autocorrelation_time(const std::vector<double>& series, double window_factor) {
  const size_t n = series.size();
  if (n < 2) throw std::invalid_argument("autocorrelation time: fewer than 2 values");
  double mean = 0;
  for (double v : series) mean += v;
  mean /= static_cast<double>(n);
  double variance = 0;
  for (double v : series) variance += (v - mean) * (v - mean);
  variance /= static_cast<double>(n);
  if (variance == 0) return 0.5;
  double tau = 0.5;
  for (size_t lag = 1; lag < n; ++lag) {
    double c = 0;
    for (size_t i = 0; i + lag < n; ++i) c += (series[i] - mean) * (series[i + lag] - mean);
    tau += c / (static_cast<double>(n - lag) * variance);
    if (static_cast<double>(lag) >= window_factor * tau) break;
  }
  return tau;
}

double beta_critical_2d() {
  return 0.5 * std::log(1.0 + std::sqrt(2.0));
}

double beta_critical_3d() {
  return 0.2216546;
}

double elliptic_k(double k) {
  if (!(k >= 0 && k <= 1)) throw std::invalid_argument("elliptic_k: modulus outside [0, 1]");
  double a = 1.0, b = std::sqrt((1.0 - k) * (1.0 + k));
  if (b == 0) return HUGE_VAL;
  // The AGM converges quadratically: a handful of steps reach machine precision.
  for (int i = 0; i < 64 && std::abs(a - b) > 1e-16 * a; ++i) {
    const double mean = 0.5 * (a + b);
    b = std::sqrt(a * b);
    a = mean;
  }
  return kPi / (2.0 * a);
}

double onsager_energy(double beta) {
  const double c = std::cosh(2.0 * beta), t = std::tanh(2.0 * beta);
  const double kappa = std::min(1.0, 2.0 * std::sinh(2.0 * beta) / (c * c));
  const double factor = 2.0 * t * t - 1.0;
  // At beta_c, kappa = 1 and K diverges only logarithmically while factor vanishes linearly: the
  // product tends to 0.
  const double elliptic_term = kappa >= 1.0 ? 0.0 : factor * elliptic_k(kappa);
  return -(1.0 / t) * (1.0 + (2.0 / kPi) * elliptic_term);
}

double yang_magnetisation(double beta) {
  if (beta <= beta_critical_2d()) return 0.0;
  const double s = std::sinh(2.0 * beta);
  return std::pow(1.0 - 1.0 / (s * s * s * s), 0.125);
}

double binder_critical(int dim) {
  if (dim == 2) return 0.61069;
  if (dim == 3) return 0.4655;
  throw std::invalid_argument("binder_critical: dimension " + std::to_string(dim) +
                              " is not 2 or 3");
}

}  // namespace rgflow::field

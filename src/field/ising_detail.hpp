// Helpers shared by the Ising kernels (ising.cpp, ising_cluster.cpp), private to src/field: a box
// seen as three axes, the word thresholds and the keyed Philox streams of ising.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "rgflow/field/ising.hpp"
#include "rgflow/field/philox.hpp"

namespace rgflow::field::ising_detail {

// The box as three axes: a 2D box is a 3D one with a leading axis of extent 1, no halo along it.
struct Geometry {
  int dim;
  int64_t side;
  int64_t extent[3];  // interior
  int64_t origin[3];  // global coordinates of the first interior site
  int64_t halo[3];    // 1 along used axes, 0 along the leading axis of a 2D box
  int64_t padded[3];  // extent + 2 halo
  int64_t stride[3];  // of the padded array
  int64_t global[3];  // lattice side along the axis (1 along the unused axis)

  // Offset in the padded array of the first interior site of row (y, z) (box coordinates).
  int64_t row_offset(int64_t y, int64_t z) const {
    return (z + halo[0]) * stride[0] + (y + 1) * stride[1] + 1;
  }
};

inline Geometry geometry_of(const IsingBox& box) {
  Geometry g{};
  g.dim = box.dim;
  g.side = box.side;
  const int shift = 3 - box.dim;  // leading unused axes
  for (int a = 0; a < 3; ++a) {
    const bool used = a >= shift;
    g.extent[a] = used ? box.extent[a - shift] : 1;
    g.origin[a] = used ? box.origin[a - shift] : 0;
    g.halo[a] = used ? 1 : 0;
    g.padded[a] = g.extent[a] + 2 * g.halo[a];
    g.global[a] = used ? box.side : 1;
  }
  g.stride[2] = 1;
  g.stride[1] = g.padded[2];
  g.stride[0] = g.padded[2] * g.padded[1];
  return g;
}

// Threshold T with (w < T) <=> uniform_open01(w) < p, i.e. w + 1/2 < p 2^32. p 2^32 is exact in
// double and, below 2^32, subtracting 1/2 is exact too (ulp <= 2^-21).
inline uint64_t word_threshold(double p) {
  if (!(p > 0)) return 0;
  if (p >= 1) return uint64_t{1} << 32;
  return static_cast<uint64_t>(std::ceil(p * 0x1p32 - 0.5));
}

inline uint32_t tagged_high(uint64_t group, IsingStream stream) {
  return static_cast<uint32_t>(group >> 32) | (static_cast<uint32_t>(stream) << 24);
}

// Philox for counters (group_of(i), tag, c2, c3), i < count, words stored lane-interleaved:
// out[4 i + lane]. The loop runs across counters so the rounds vectorise.
template <typename GroupOf>
void philox_groups(PhiloxKey key, int64_t count, GroupOf group_of, IsingStream stream, uint32_t c2,
                   uint32_t c3, uint32_t* out) {
  constexpr int kChunk = 64;
  uint32_t x0[kChunk], x1[kChunk], x2[kChunk], x3[kChunk];
  for (int64_t start = 0; start < count; start += kChunk) {
    const int n = static_cast<int>(std::min<int64_t>(kChunk, count - start));
    for (int i = 0; i < n; ++i) {
      const uint64_t group = group_of(start + i);
      x0[i] = static_cast<uint32_t>(group);
      x1[i] = tagged_high(group, stream);
      x2[i] = c2;
      x3[i] = c3;
    }
    philox4x32_10_batch(x0, x1, x2, x3, n, key);
    uint32_t* dst = out + 4 * start;
    for (int i = 0; i < n; ++i) {
      dst[4 * i + 0] = x0[i];
      dst[4 * i + 1] = x1[i];
      dst[4 * i + 2] = x2[i];
      dst[4 * i + 3] = x3[i];
    }
  }
}

// philox_groups for the consecutive counters first, first + 1, ...
inline void philox_row(PhiloxKey key, uint64_t first, int64_t count, IsingStream stream,
                       uint32_t c2, uint32_t c3, uint32_t* out) {
  philox_groups(
      key, count, [first](int64_t i) { return first + static_cast<uint64_t>(i); }, stream, c2, c3,
      out);
}

// One word of a keyed stream: lane index % 4 of the counter (index / 4, tag, c2, c3).
inline uint32_t stream_word(PhiloxKey key, uint64_t index, IsingStream stream, uint32_t c2,
                            uint32_t c3) {
  const uint64_t group = index / 4;
  const PhiloxCounter w =
      philox4x32_10({static_cast<uint32_t>(group), tagged_high(group, stream), c2, c3}, key);
  return w[index % 4];
}

// Half-word q of a keyed stream: bits 16 (q % 2) .. 16 (q % 2) + 15 of word q / 2 (lane q / 2 % 4
// of counter q / 8).
inline uint32_t stream_half(PhiloxKey key, uint64_t q, IsingStream stream, uint32_t c2,
                            uint32_t c3) {
  return (stream_word(key, q >> 1, stream, c2, c3) >> (16 * (q & 1))) & 0xffffu;
}

// Whether the 32-bit word whose leading half is `lead` and whose trailing half is half-word q of
// `tie_stream` lies below `threshold` (at most 2^32): the leading half decides unless it equals
// the threshold's, and only then, one time in 65536, is the trailing half drawn. The heat bath's
// updates and the cluster bonds both decide so.
inline bool word_below(PhiloxKey key, uint64_t q, uint32_t lead, IsingStream tie_stream,
                       uint32_t c2, uint32_t c3, uint64_t threshold) {
  if (lead != threshold >> 16) return lead < threshold >> 16;
  const uint32_t trail = stream_half(key, q, tie_stream, c2, c3);
  return ((uint64_t{lead} << 16) | trail) < threshold;
}

// Whether cluster bond q (Swendsen-Wang and Wolff), its leading half `lead` known, is active
// under `threshold` (ising.hpp, wolff_update).
inline bool cluster_bond_active(PhiloxKey key, uint64_t q, uint32_t lead, uint32_t sample,
                                uint32_t step, uint64_t threshold) {
  return word_below(key, q, lead, IsingStream::kClusterBondTie, sample, step, threshold);
}

inline bool cluster_bond_active(PhiloxKey key, uint64_t q, uint32_t sample, uint32_t step,
                                uint64_t threshold) {
  const uint32_t lead = stream_half(key, q, IsingStream::kClusterBond, sample, step);
  return cluster_bond_active(key, q, lead, sample, step, threshold);
}

inline int64_t wrap(int64_t x, int64_t side) {
  const int64_t r = x % side;
  return r < 0 ? r + side : r;
}

}  // namespace rgflow::field::ising_detail

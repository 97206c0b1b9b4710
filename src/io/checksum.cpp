#include "rgflow/io/checksum.hpp"

#include <array>
#include <cstring>

namespace rgflow::io {
namespace {

// The odd constant 2^64 / golden ratio: consecutive sites get well-separated keys.
constexpr uint64_t kSiteStep = 0x9e3779b97f4a7c15ULL;

template <typename T>
uint64_t value_bits(T value) {
  if constexpr (sizeof(T) == 1) {
    uint8_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
  } else if constexpr (sizeof(T) == 4) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
  } else {
    uint64_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
  }
}

}  // namespace

uint64_t mix64(uint64_t word) {
  word ^= word >> 30;
  word *= 0xbf58476d1ce4e5b9ULL;
  word ^= word >> 27;
  word *= 0x94d049bb133111ebULL;
  word ^= word >> 31;
  return word;
}

uint64_t checksum_key(int level, int64_t sample) {
  return mix64((static_cast<uint64_t>(level) << 56) + static_cast<uint64_t>(sample));
}

template <typename T>
uint64_t box_checksum(const T* values, const lattice::Box& box, int64_t side, uint64_t key) {
  // The box as three axes, missing leading axes of extent 1, so the last axis is contiguous.
  std::array<int64_t, 3> begin{0, 0, 0}, extent{1, 1, 1};
  for (int axis = 0; axis < box.dim; ++axis) {
    begin[static_cast<size_t>(3 - box.dim + axis)] = box.begin[static_cast<size_t>(axis)];
    extent[static_cast<size_t>(3 - box.dim + axis)] = box.extent[static_cast<size_t>(axis)];
  }
  const uint64_t stride1 = static_cast<uint64_t>(side);
  const uint64_t stride0 = box.dim == 3 ? stride1 * stride1 : 0;
  uint64_t sum = 0;
  const T* value = values;
  for (int64_t i0 = 0; i0 < extent[0]; ++i0) {
    for (int64_t i1 = 0; i1 < extent[1]; ++i1) {
      const uint64_t row_start =
          static_cast<uint64_t>(begin[0] + i0) * stride0 +
          (box.dim >= 2 ? static_cast<uint64_t>(begin[1] + i1) * stride1 : 0) +
          static_cast<uint64_t>(begin[2]);
      uint64_t site_key = key + row_start * kSiteStep;
      for (int64_t i2 = 0; i2 < extent[2]; ++i2) {
        sum += mix64(value_bits(value[i2]) ^ site_key);
        site_key += kSiteStep;
      }
      value += extent[2];
    }
  }
  return sum;
}

template uint64_t box_checksum<float>(const float*, const lattice::Box&, int64_t, uint64_t);
template uint64_t box_checksum<double>(const double*, const lattice::Box&, int64_t, uint64_t);
template uint64_t box_checksum<int8_t>(const int8_t*, const lattice::Box&, int64_t, uint64_t);

}  // namespace rgflow::io

// The dataset checksum kernel (include/rgflow/io/checksum.hpp, docs/schema.md "/checksums"):
// the published splitmix64 values, the definition written out site by site, and the property
// generate and info -verify rely on: any split of a sample into boxes sums to the same checksum.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "rgflow/io/checksum.hpp"

namespace rgflow::io {
namespace {

// splitmix64 (Steele, Lea, Flood 2014) seeded with 0 yields mix64(k * 0x9e3779b97f4a7c15) as its
// k-th output; the first two outputs of the reference generator.
TEST(Checksum, Mix64IsSplitmix64sFinaliser) {
  EXPECT_EQ(mix64(0x9e3779b97f4a7c15ULL), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(mix64(2 * 0x9e3779b97f4a7c15ULL), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(mix64(0), 0u);
}

// A float's 32 bits, zero-extended.
uint64_t bits_of(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  return bits;
}

TEST(Checksum, IsTheSumOfTheDocumentedSiteTerms) {
  // A 2-d level of side 3, sample 5, level 1: every site by its (x0, x1) coordinates.
  const int64_t side = 3;
  std::vector<float> values(9);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.25f * static_cast<float>(i) - 1.0f;
  const uint64_t key = mix64((uint64_t{1} << 56) + 5);
  EXPECT_EQ(checksum_key(1, 5), key);
  uint64_t expected = 0;
  for (int64_t x0 = 0; x0 < side; ++x0) {
    for (int64_t x1 = 0; x1 < side; ++x1) {
      const uint64_t g = static_cast<uint64_t>(x0 * side + x1);
      expected +=
          mix64(bits_of(values[static_cast<size_t>(g)]) ^ (key + g * 0x9e3779b97f4a7c15ULL));
    }
  }
  EXPECT_EQ(box_checksum(values.data(), lattice::full_box(2, side), side, key), expected);
}

// The values of `box` cut out of a whole row-major lattice of side `side` in `dim` dimensions.
template <typename T>
std::vector<T> cut(const std::vector<T>& whole, int dim, int64_t side, const lattice::Box& box) {
  std::vector<T> part;
  const int64_t e0 = box.extent[0], e1 = dim > 1 ? box.extent[1] : 1,
                e2 = dim > 2 ? box.extent[2] : 1;
  for (int64_t i = 0; i < e0; ++i)
    for (int64_t j = 0; j < e1; ++j)
      for (int64_t k = 0; k < e2; ++k) {
        int64_t index = box.begin[0] + i;
        if (dim > 1) index = index * side + box.begin[1] + j;
        if (dim > 2) index = index * side + box.begin[2] + k;
        part.push_back(whole[static_cast<size_t>(index)]);
      }
  return part;
}

TEST(Checksum, AnySplitIntoBoxesSumsToTheWholeChecksum) {
  for (int dim = 1; dim <= 3; ++dim) {
    const int64_t side = 6;
    const lattice::Box whole_box = lattice::full_box(dim, side);
    std::vector<double> whole(static_cast<size_t>(whole_box.size()));
    for (size_t i = 0; i < whole.size(); ++i) whole[i] = 1.0 / (1.0 + static_cast<double>(i));
    const uint64_t key = checksum_key(2, 7);
    const uint64_t expected = box_checksum(whole.data(), whole_box, side, key);
    // Boxes of 2 x 3 x 6 (cut along the first axes), in an arbitrary order.
    uint64_t sum = 0;
    for (int64_t a = 4; a >= 0; a -= 2) {
      for (int64_t b = 0; b < (dim > 1 ? side : 1); b += 3) {
        lattice::Box box = whole_box;
        box.begin[0] = a;
        box.extent[0] = 2;
        if (dim > 1) {
          box.begin[1] = b;
          box.extent[1] = 3;
        }
        const auto part = cut(whole, dim, side, box);
        sum += box_checksum(part.data(), box, side, key);
      }
    }
    EXPECT_EQ(sum, expected) << "d = " << dim;
  }
}

TEST(Checksum, OneChangedValueASwapOrAnotherKeyChangesIt) {
  const int64_t side = 16;
  const lattice::Box box = lattice::full_box(2, side);
  std::vector<float> values(static_cast<size_t>(box.size()));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 7) - 3.0f;
  const uint64_t key = checksum_key(0, 0);
  const uint64_t original = box_checksum(values.data(), box, side, key);
  EXPECT_NE(box_checksum(values.data(), box, side, checksum_key(0, 1)), original);
  EXPECT_NE(box_checksum(values.data(), box, side, checksum_key(1, 0)), original);
  for (size_t i = 0; i < values.size(); i += 37) {
    std::vector<float> changed = values;
    uint32_t bits;
    std::memcpy(&bits, &changed[i], 4);
    bits ^= 1u;  // the lowest mantissa bit
    std::memcpy(&changed[i], &bits, 4);
    EXPECT_NE(box_checksum(changed.data(), box, side, key), original) << "site " << i;
  }
  std::vector<float> swapped = values;
  std::swap(swapped[1], swapped[2]);  // different values (1 - 3 and 2 - 3)
  EXPECT_NE(box_checksum(swapped.data(), box, side, key), original);
}

}  // namespace
}  // namespace rgflow::io

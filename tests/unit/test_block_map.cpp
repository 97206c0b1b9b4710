// The block map against a direct transcription of y_I = b^(-Delta) sum_{i in I} x_i.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "rgflow/coarse/block_map.hpp"
#include "rgflow/coarse/block_pairs.hpp"

namespace rgflow::coarse {
namespace {

// Direct definition: for each output site, sum its block's sites in lexicographic order.
template <typename T>
std::vector<T> reference_map(const std::vector<T>& in, int dim, int64_t side, int64_t b,
                             double scale) {
  const int64_t out_side = side / b;
  const int64_t d1 = dim >= 2 ? 1 : 0, d2 = dim >= 3 ? 1 : 0;
  const int64_t n0 = out_side, n1 = d1 ? out_side : 1, n2 = d2 ? out_side : 1;
  std::vector<T> out(static_cast<size_t>(n0 * n1 * n2));
  for (int64_t I = 0; I < n0; ++I)
    for (int64_t J = 0; J < n1; ++J)
      for (int64_t K = 0; K < n2; ++K) {
        double sum = 0;
        for (int64_t p = 0; p < b; ++p)
          for (int64_t q = 0; q < (d1 ? b : 1); ++q)
            for (int64_t r = 0; r < (d2 ? b : 1); ++r) {
              int64_t index = I * b + p;
              if (dim >= 2) index = index * side + J * b + q;
              if (dim >= 3) index = index * side + K * b + r;
              sum += in[static_cast<size_t>(index)];
            }
        out[static_cast<size_t>((I * n1 + J) * n2 + K)] = static_cast<T>(scale * sum);
      }
  return out;
}

template <typename T>
void check_against_reference(int dim, int64_t side, int64_t b) {
  std::mt19937_64 random(static_cast<uint64_t>(dim * 100 + side + b));
  std::normal_distribution<double> normal;
  int64_t sites = 1;
  for (int axis = 0; axis < dim; ++axis) sites *= side;
  std::vector<T> in(static_cast<size_t>(sites));
  for (auto& x : in) x = static_cast<T>(normal(random));
  const double scale = block_map_scale(b, dim / 2.0);
  std::array<int64_t, 3> extent{1, 1, 1};
  for (int axis = 0; axis < dim; ++axis) extent[static_cast<size_t>(axis)] = side;
  std::vector<T> out(static_cast<size_t>(sites / static_cast<int64_t>(std::pow(b, dim))));
  block_sum_map(in.data(), dim, extent, b, scale, out.data());
  const auto expected = reference_map(in, dim, side, b, scale);
  ASSERT_EQ(out.size(), expected.size());
  for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], expected[i]) << "index " << i;
}

TEST(BlockMap, EqualsDefinitionBitForBit) {
  for (int dim = 1; dim <= 3; ++dim) {
    for (int64_t b : {2, 3}) {
      SCOPED_TRACE("d=" + std::to_string(dim) + " b=" + std::to_string(b));
      check_against_reference<float>(dim, b * 4, b);
      check_against_reference<double>(dim, b * 3, b);
    }
  }
}

TEST(BlockMap, SiteIndexFieldGivesKnownBlockSums) {
  // x_i = global index on a 4x4 lattice, b = 2: block (I,J) holds 8I+2J + {0,1,4,5}, whose sum
  // is 4(8I+2J) + 10; with Delta = 1 the scale is 1/2.
  std::vector<double> in(16);
  for (int i = 0; i < 16; ++i) in[static_cast<size_t>(i)] = i;
  std::vector<double> out(4);
  block_sum_map(in.data(), 2, {4, 4, 1}, 2, block_map_scale(2, 1.0), out.data());
  for (int I = 0; I < 2; ++I)
    for (int J = 0; J < 2; ++J)
      EXPECT_EQ(out[static_cast<size_t>(2 * I + J)], (4 * (8 * I + 2 * J) + 10) / 2.0);
}

TEST(BlockMap, ScaleIsBToMinusDelta) {
  EXPECT_EQ(block_map_scale(2, 1.0), 0.5);
  EXPECT_DOUBLE_EQ(block_map_scale(3, 1.5), 1.0 / std::sqrt(27.0));
  EXPECT_EQ(block_map_scale(4, 0.5), 0.5);
}

// Block extraction: column `pair` (the coarse site, row-major) holds its block's sites in
// lexicographic order, as the block map sums them.
TEST(BlockPairs, ExtractBlocksFollowsTheDefinition) {
  // 4x4 lattice of x_i = i, b = 2: block (I, J) holds 8I + 2J + {0, 1, 4, 5}.
  std::vector<double> in(16);
  for (int i = 0; i < 16; ++i) in[static_cast<size_t>(i)] = i;
  std::vector<float> blocks(16);
  extract_blocks(2, 4, 2, in.data(), blocks.data());
  for (int I = 0; I < 2; ++I)
    for (int J = 0; J < 2; ++J)
      for (int site = 0; site < 4; ++site)
        EXPECT_EQ(blocks[static_cast<size_t>((2 * I + J) * 4 + site)],
                  8 * I + 2 * J + (site / 2) * 4 + site % 2);
  for (int dim = 1; dim <= 3; ++dim) {
    for (int64_t b : {2, 3}) {
      const int64_t side = b * 3, coarse = 3;
      int64_t sites = 1, per_block = 1;
      for (int axis = 0; axis < dim; ++axis) sites *= side, per_block *= b;
      std::vector<float> field(static_cast<size_t>(sites));
      for (int64_t i = 0; i < sites; ++i) field[static_cast<size_t>(i)] = float(i);
      std::vector<double> out(static_cast<size_t>(sites));
      extract_blocks(dim, side, b, field.data(), out.data());
      const int64_t n1 = dim >= 2 ? coarse : 1, n2 = dim >= 3 ? coarse : 1;
      int64_t pair = 0;
      for (int64_t I = 0; I < coarse; ++I)
        for (int64_t J = 0; J < n1; ++J)
          for (int64_t K = 0; K < n2; ++K, ++pair) {
            int64_t site = 0;
            for (int64_t p = 0; p < b; ++p)
              for (int64_t q = 0; q < (dim >= 2 ? b : 1); ++q)
                for (int64_t r = 0; r < (dim >= 3 ? b : 1); ++r, ++site) {
                  int64_t index = I * b + p;
                  if (dim >= 2) index = index * side + J * b + q;
                  if (dim >= 3) index = index * side + K * b + r;
                  ASSERT_EQ(out[static_cast<size_t>(pair * per_block + site)], double(index))
                      << "d=" << dim << " b=" << b << " pair " << pair << " site " << site;
                }
          }
    }
  }
}

}  // namespace
}  // namespace rgflow::coarse

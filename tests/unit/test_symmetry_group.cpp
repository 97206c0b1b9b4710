// The block's symmetry groups and graph.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "rgflow/nn/symmetry_group.hpp"

namespace rgflow::nn {
namespace {

Permutation compose(const Permutation& a, const Permutation& b) {  // first b, then a
  Permutation c(b.size());
  for (size_t i = 0; i < b.size(); ++i) c[i] = a[static_cast<size_t>(b[i])];
  return c;
}

TEST(SymmetryGroup, PointGroupsHaveOrders2_8_48AndAreGroups) {
  const size_t orders[] = {2, 8, 48};
  for (int dim = 1; dim <= 3; ++dim) {
    for (int side : {2, 3}) {
      const BlockShape block{dim, side};
      const auto group = point_group(block);
      ASSERT_EQ(group.size(), orders[dim - 1]);
      const std::set<Permutation> elements(group.begin(), group.end());
      EXPECT_EQ(elements.size(), group.size()) << "distinct elements";
      for (const auto& g : group) {
        auto sorted = g;
        std::sort(sorted.begin(), sorted.end());
        for (int i = 0; i < block.sites(); ++i) ASSERT_EQ(sorted[static_cast<size_t>(i)], i);
        for (const auto& h : group) EXPECT_TRUE(elements.count(compose(g, h))) << "closure";
      }
      EXPECT_EQ(reflection_group(block).size(), size_t{1} << dim);
    }
  }
}

TEST(SymmetryGroup, OrbitsOfTheThreeByThreeBlock) {
  // Corners, edge midpoints and the centre.
  const auto orbit = site_orbits(point_group({2, 3}), 9);
  EXPECT_EQ(orbit, (std::vector<int>{0, 1, 0, 1, 2, 1, 0, 1, 0}));
  EXPECT_EQ(site_orbits(point_group({2, 2}), 4), (std::vector<int>(4, 0)));
}

TEST(SymmetryGroup, RandomPermutationsAreReproducibleAndUniform) {
  EXPECT_EQ(random_permutation(9, 3, 17), random_permutation(9, 3, 17));
  EXPECT_NE(random_permutation(9, 3, 17), random_permutation(9, 3, 18));
  // Where site 0 goes: uniform over the 4 sites of a 2x2 block.
  std::vector<int> counts(4, 0);
  for (uint64_t k = 0; k < 40000; ++k)
    ++counts[static_cast<size_t>(random_permutation(4, 1, k)[0])];
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);  // 4 standard deviations
}

TEST(SymmetryGroup, BlockGraphs) {
  const auto open = block_neighbours({2, 3}, false);
  EXPECT_EQ(open[4], (std::vector<int>{1, 3, 5, 7}));  // centre
  EXPECT_EQ(open[0], (std::vector<int>{1, 3}));        // corner
  const auto periodic = block_neighbours({2, 3}, true);
  for (const auto& list : periodic) EXPECT_EQ(list.size(), 4u);
  const auto square = block_neighbours({2, 2}, true);  // wrapping adds nothing for b = 2
  EXPECT_EQ(square, block_neighbours({2, 2}, false));
  EXPECT_EQ(square[0], (std::vector<int>{1, 2}));
}

}  // namespace
}  // namespace rgflow::nn

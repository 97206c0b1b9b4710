// Training-pair extraction and the seeded schedule.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "rgflow/coarse/block_pairs.hpp"
#include "rgflow/field/philox.hpp"
#include "rgflow/train/schedule.hpp"

namespace rgflow::train {
namespace {

using coarse::extract_pairs;
using coarse::pairs_per_sample;

TEST(Pairs, BlocksAndTargetsLineUp) {
  // 3D, side 4, b = 2: site value = its global index; block (I,J,K) holds
  // ((2I+p) 4 + 2J+q) 4 + 2K+r in (p,q,r) order; the target is the coarse index.
  const int64_t side = 4, b = 2;
  std::vector<double> fine(64), coarse(8);
  for (int i = 0; i < 64; ++i) fine[static_cast<size_t>(i)] = i;
  for (int i = 0; i < 8; ++i) coarse[static_cast<size_t>(i)] = 1000 + i;
  ASSERT_EQ(pairs_per_sample(3, side, b), 8);
  std::vector<float> inputs(64), targets(8);
  extract_pairs(3, side, b, fine.data(), coarse.data(), inputs.data(), targets.data());
  for (int I = 0; I < 2; ++I)
    for (int J = 0; J < 2; ++J)
      for (int K = 0; K < 2; ++K) {
        const int pair = (I * 2 + J) * 2 + K;
        EXPECT_EQ(targets[static_cast<size_t>(pair)], 1000 + pair);
        int site = 0;
        for (int p = 0; p < 2; ++p)
          for (int q = 0; q < 2; ++q)
            for (int r = 0; r < 2; ++r, ++site) {
              EXPECT_EQ(inputs[static_cast<size_t>(pair * 8 + site)],
                        ((2 * I + p) * 4 + 2 * J + q) * 4 + 2 * K + r);
            }
      }
}

TEST(Schedule, EpochOrderIsASeededPermutation) {
  const auto a = epoch_order(1000, 7, 0), b = epoch_order(1000, 7, 0), c = epoch_order(1000, 7, 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (uint32_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
}

// The order is plain Fisher-Yates from the top with the j of step t from Philox block t / 2 of
// (seed, epoch): the same permutation as this direct loop (the implementation draws the j a
// chunk ahead), for counts around the chunk size and odd and even ones.
TEST(Schedule, EpochOrderIsFisherYatesWithPhiloxDraws) {
  for (uint64_t count : {0, 1, 2, 3, 255, 256, 257, 258, 1000, 100003}) {
    std::vector<uint32_t> expected(count);
    std::iota(expected.begin(), expected.end(), 0u);
    const field::PhiloxKey key = field::philox_key(11);
    for (uint64_t t = 0; t + 1 < count; ++t) {
      const uint64_t i = count - 1 - t, block = t / 2, slot = t % 2;
      const field::PhiloxCounter words = field::philox4x32_10(
          {static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 5u, 0x4F524452u}, key);
      const uint64_t bits = (uint64_t{words[2 * slot]} << 32) | words[2 * slot + 1];
      std::swap(
          expected[i],
          expected[static_cast<uint64_t>((static_cast<unsigned __int128>(bits) * (i + 1)) >> 64)]);
    }
    EXPECT_EQ(epoch_order(count, 11, 5), expected) << count;
  }
}

TEST(Schedule, LearningRates) {
  LearningRateSchedule constant;
  EXPECT_EQ(constant.at(50, 100, 3), 1e-3);
  LearningRateSchedule cosine{"cosine", 1.0};
  EXPECT_DOUBLE_EQ(cosine.at(0, 100, 0), 1.0);
  EXPECT_NEAR(cosine.at(50, 100, 0), 0.5, 1e-15);
  LearningRateSchedule step{"step", 1.0, 0.5, 2};
  EXPECT_EQ(step.at(0, 10, 3), 0.5);
  EXPECT_EQ(step.at(0, 10, 4), 0.25);
}

}  // namespace
}  // namespace rgflow::train

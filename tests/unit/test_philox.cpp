// Philox4x32-10 against the known-answer vectors published with Random123 (tests/kat_vectors):
// counter (4 words), key (2 words) -> output (4 words).
#include <gtest/gtest.h>

#include "rgflow/field/philox.hpp"

namespace rgflow::field {
namespace {

TEST(Philox, KnownAnswerZeros) {
  const PhiloxCounter expected{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}), expected);
}

TEST(Philox, KnownAnswerOnes) {
  const PhiloxCounter expected{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu};
  EXPECT_EQ(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                          {0xffffffffu, 0xffffffffu}),
            expected);
}

TEST(Philox, KnownAnswerPiDigits) {
  const PhiloxCounter expected{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u};
  EXPECT_EQ(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                          {0xa4093822u, 0x299f31d0u}),
            expected);
}

TEST(Philox, UniformOpenIntervalIsSymmetricAndExclusive) {
  EXPECT_GT(uniform_open01(0), 0.0);
  EXPECT_LT(uniform_open01(0xffffffffu), 1.0);
  EXPECT_EQ(uniform_open01(0) + uniform_open01(0xffffffffu), 1.0);
}

// Every batch length from 0 to 80, so the batch's blocks of 32 and 16 counters and its partial
// tail are all taken (AVX-512 builds; the compiler's loops elsewhere): each counter's words equal
// philox4x32_10 on it, and nothing past the n-th counter is touched.
TEST(Philox, BatchEqualsTheScalarOnEveryLength) {
  const PhiloxKey key{0xa4093822u, 0x299f31d0u};
  constexpr int kMax = 80;
  for (int n = 0; n <= kMax; ++n) {
    uint32_t x[4][kMax + 1];
    PhiloxCounter in[kMax + 1];
    for (int i = 0; i <= kMax; ++i) {
      const uint32_t u = static_cast<uint32_t>(i);
      in[i] = {0xffffffe0u + u, 0x243f6a88u * u, 0x85a308d3u ^ u, 0xffffffffu - u};
      for (int k = 0; k < 4; ++k) x[k][i] = in[i][k];
    }
    philox4x32_10_batch(x[0], x[1], x[2], x[3], n, key);
    for (int i = 0; i <= kMax; ++i) {
      const PhiloxCounter expected = i < n ? philox4x32_10(in[i], key) : in[i];
      for (int k = 0; k < 4; ++k) {
        ASSERT_EQ(x[k][i], expected[k]) << "n " << n << ", counter " << i << ", word " << k;
      }
    }
  }
}

#if RGFLOW_HAVE_AVX2_KERNELS
// Two groups of 4 counters through the AVX2 rounds, garbage in the ignored high halves, counters
// with carries in every word: the words equal philox4x32_10 on each counter.
RGFLOW_TARGET_AVX2 void avx2_rounds(const PhiloxCounter (&in)[8], PhiloxKey key,
                                    uint32_t (&out)[8][4]) {
  PhiloxLanesAvx2 lanes[2];
  for (int j = 0; j < 2; ++j) {
    for (int k = 0; k < 4; ++k) {
      alignas(32) uint64_t v[4];
      for (int i = 0; i < 4; ++i) v[i] = (uint64_t{0xdeadbeefu} << 32) | in[4 * j + i][k];
      lanes[j].x[k] = _mm256_load_si256(reinterpret_cast<const __m256i*>(v));
    }
  }
  philox4x32_10_avx2<2>(lanes, key);
  for (int j = 0; j < 2; ++j) {
    for (int k = 0; k < 4; ++k) {
      alignas(32) uint64_t v[4];
      _mm256_store_si256(reinterpret_cast<__m256i*>(v), lanes[j].x[k]);
      for (int i = 0; i < 4; ++i) out[4 * j + i][k] = static_cast<uint32_t>(v[i]);
    }
  }
}

TEST(Philox, Avx2RoundsEqualTheScalarOnes) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  const PhiloxKey key{0xa4093822u, 0x299f31d0u};
  PhiloxCounter in[8];
  for (uint32_t i = 0; i < 8; ++i) {
    in[i] = {0xfffffffcu + i, 0x243f6a88u * i, 0x85a308d3u ^ i, 0xffffffffu - i};
  }
  uint32_t out[8][4];
  avx2_rounds(in, key, out);
  for (int i = 0; i < 8; ++i) {
    const PhiloxCounter expected = philox4x32_10(in[i], key);
    for (int k = 0; k < 4; ++k)
      EXPECT_EQ(out[i][k], expected[k]) << "counter " << i << " word " << k;
  }
}
#endif

}  // namespace
}  // namespace rgflow::field
